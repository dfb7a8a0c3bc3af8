"""``style``: closeness of the two responses' stylometric vectors."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from forensics.features import Features
from forensics.signals.registry import closeness_signal


@closeness_signal(
    "style",
    title="Formatting and wording habits",
    plain=(
        "How close the suspect's formatting and wording habits are to the reference's on the same prompt: "
        "length, markdown, lists, stock openers (“Certainly!”) and closers (“I hope this helps”)."
    ),
    description="closeness of formatting and wording habits (style vectors)",
    standardise=True,
    order=40,
)
def style_signal(
    features: Features, reference: str, models: Sequence[str], prompt_ids: Sequence[str], clip: float = 4.0
):
    """Negative RMS standardised distance between stylometric vectors of the two responses.

    Each style feature is scaled by its standard deviation over the comparison set's responses
    (features that never vary are dropped) and per-feature differences are clipped at ``clip``
    standard deviations so that one rare habit cannot dominate a prompt."""
    S = np.stack([features.style(m, prompt_ids) for m in models])  # M x P x F
    r = features.style(reference, prompt_ids)
    flat = S.reshape(-1, S.shape[-1])
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        sd = np.nanstd(flat, axis=0)
    keep = np.isfinite(sd) & (sd > 1e-9)
    values = np.full((len(models), len(prompt_ids)), np.nan)
    if keep.any():
        d = np.abs(S[..., keep] - r[None, :, keep]) / sd[keep]
        d = np.minimum(d, clip)
        with np.errstate(all="ignore"):
            values = -np.sqrt(np.mean(d**2, axis=-1))
    return values
