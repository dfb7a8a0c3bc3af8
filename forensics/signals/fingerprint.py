"""``fingerprint``: projection on the reference's whitened house-style direction in embedding space."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.linalg import cho_factor, cho_solve

from forensics.features import Features
from forensics.signals.registry import closeness_signal
from forensics.signals.scores import present_matrix


def _ledoit_wolf_solve(X: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Solve (Ledoit-Wolf shrunk covariance of the centred rows X) @ x = b.

    The shrinkage towards a scaled identity is the analytic Ledoit & Wolf (2004) estimate
    (as in ``sklearn.covariance.ledoit_wolf``); with fewer rows than dimensions the solve uses
    the Woodbury identity on the n x n Gram matrix."""
    n, d = X.shape
    X = np.asarray(X, dtype=np.float64)
    sq = np.einsum("ij,ij->i", X, X)
    mu = sq.sum() / (n * d)
    G = (X.T @ X) if n >= d else (X @ X.T)
    s_fro = float(np.sum(G * G)) / n**2  # ||S||_F^2 with S = X'X / n (same from the n x n Gram)
    delta = (s_fro - 2 * mu * sq.sum() / n + d * mu**2) / d  # ||S - mu I||_F^2 / d
    beta = (np.sum(sq**2) / n - s_fro) / (n * d)
    shrink = 1.0 if delta <= 0 else float(np.clip(min(beta, delta) / delta, 0.0, 1.0))
    a_coef, b_coef = (1.0 - shrink) / n, max(shrink * mu, 1e-12 * max(mu, 1e-12))
    if a_coef == 0:
        return b / b_coef
    if n >= d:
        return cho_solve(cho_factor(a_coef * G + b_coef * np.eye(d)), b)
    inner = (b_coef / a_coef) * np.eye(n) + G
    return (b - X.T @ cho_solve(cho_factor(inner), X @ b)) / b_coef


@closeness_signal(
    "fingerprint",
    title="House-style fingerprint",
    plain=(
        "Whether the suspect's answers carry the reference's consistent 'house style' in meaning space: the "
        "direction in which the reference's answers differ from other models' answers across all prompts, and"
        " how far the suspect's answers lean the same way."
    ),
    description="projection on the reference's whitened consistent embedding direction",
    standardise=True,
    order=20,
)
def fingerprint_signal(features: Features, reference: str, models: Sequence[str], prompt_ids: Sequence[str]):
    """Projection on the reference's whitened mean centred-embedding direction (see docs/methods.md)."""
    present = present_matrix(features, models, prompt_ids)
    ref_ok = features.present(reference, prompt_ids)
    X = np.stack([features.embeddings(m, prompt_ids) for m in models]).astype(np.float64)
    r = features.embeddings(reference, prompt_ids).astype(np.float64)
    w = present[:, :, None].astype(float)
    with np.errstate(all="ignore"):
        centroid = np.nan_to_num((X * w).sum(0) / w.sum(0))
    xr = X - centroid[None]
    usable = ref_ok & (present.sum(0) >= 2)
    values = np.full((len(models), len(prompt_ids)), np.nan)
    if usable.sum() >= 2:
        mu_r = (r - centroid)[usable].mean(0)
        # within-prompt covariance of the comparison set, after removing each model's mean
        rows = []
        for i in range(len(models)):
            sel = present[i] & usable
            if sel.sum() >= 2:
                rows.append(xr[i, sel] - xr[i, sel].mean(0))
        if rows:
            direction = _ledoit_wolf_solve(np.concatenate(rows), mu_r)
            norm = math.sqrt(max(float(mu_r @ direction), 1e-18))
            values = np.where(usable[None], (xr @ direction) / norm, np.nan)
    return values
