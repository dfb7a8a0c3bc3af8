"""Published-style peer methods, computed on exactly the benchmark's pairs so the engine is compared fairly.

Each peer scores one (R, S) pair from response embeddings alone and declares its own decision
threshold; none of them has a calibrated error rate, which is what the engine adds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression

from forensics.features import Features

__all__ = ["PEERS", "Peer", "raw_closeness", "panel_z", "classifier_score"]


def raw_closeness(features: Features, reference: str, model: str, prompt_ids: Sequence[str]) -> float:
    """Mean per-prompt cosine of the two models' response embeddings (prompts both answered)."""
    both = features.present(reference, prompt_ids) & features.present(model, prompt_ids)
    if not both.any():
        return float("nan")
    a = features.embeddings(reference, prompt_ids)[both]
    b = features.embeddings(model, prompt_ids)[both]
    return float(np.mean(np.sum(a * b, axis=1)))


def panel_z(features: Features, reference: str, suspect: str, panel: Sequence[str], prompt_ids: Sequence[str]) -> float:
    """Raw closeness of S to R as a z-score against the panel members' closeness to R."""
    x = raw_closeness(features, reference, suspect, prompt_ids)
    k = np.array([raw_closeness(features, reference, m, prompt_ids) for m in panel])
    k = k[np.isfinite(k)]
    if k.size < 2 or not np.isfinite(x) or k.std(ddof=1) == 0:
        return float("nan")
    return float((x - k.mean()) / k.std(ddof=1))


def classifier_score(
    features: Features,
    reference: str,
    suspect: str,
    panel: Sequence[str],
    prompt_ids: Sequence[str],
    *,
    rng: np.random.Generator | None = None,
) -> float:
    """ "Idiosyncrasies"-style: logistic regression R vs panel on half of the prompts, mean P(R) for S on the rest.

    The split is a random permutation of the prompts drawn from ``rng`` (default: seed 0, the
    setting that reproduces the baseline figures of the shared benchmark README).
    """
    rng = np.random.default_rng(0) if rng is None else rng
    pids = list(prompt_ids)
    perm = rng.permutation(len(pids))
    train = [pids[i] for i in perm[: len(pids) // 2]]
    test = [pids[i] for i in perm[len(pids) // 2 :]]

    def rows(model: str, ids: list[str]) -> np.ndarray:
        return features.embeddings(model, ids)[features.present(model, ids)]

    positives = rows(reference, train)
    negatives = np.concatenate([rows(m, train) for m in panel]) if panel else np.empty((0, positives.shape[1]))
    scored = rows(suspect, test)
    if not len(positives) or not len(negatives) or not len(scored):
        return float("nan")
    X = np.concatenate([positives, negatives])
    y = np.r_[np.ones(len(positives)), np.zeros(len(negatives))]
    clf = LogisticRegression(max_iter=3000, class_weight="balanced").fit(X, y)
    return float(clf.predict_proba(scored)[:, 1].mean())


@dataclass(frozen=True)
class Peer:
    """A peer method: its score for a pair, and the threshold at which it declares "distilled"."""

    name: str
    title: str
    score: Callable[..., float]
    threshold: Callable[[float, dict], bool]  # (score, context with "panel_max") -> declares "distilled"
    threshold_text: str


PEERS: dict[str, Peer] = {
    "raw": Peer(
        "raw",
        "raw mean cosine",
        lambda f, r, s, panel, pids, rng: raw_closeness(f, r, s, pids),
        lambda score, ctx: bool(np.isfinite(score) and score > ctx["panel_max"]),
        "closer to R than every panel member",
    ),
    "panelz": Peer(
        "panelz",
        "panel z-score",
        lambda f, r, s, panel, pids, rng: panel_z(f, r, s, panel, pids),
        lambda score, ctx: bool(np.isfinite(score) and score > 1.6449),
        "z > 1.645 (one-sided 5% under a normal panel)",
    ),
    "classifier": Peer(
        "classifier",
        "idiosyncrasies classifier",
        lambda f, r, s, panel, pids, rng: classifier_score(f, r, s, panel, pids, rng=rng),
        lambda score, ctx: bool(np.isfinite(score) and score > 0.5),
        "mean P(R) > 0.5",
    ),
}
