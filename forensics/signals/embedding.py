"""``embedding``: cosine similarity of the two responses' embeddings."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from forensics.features import Features
from forensics.signals.registry import closeness_signal


@closeness_signal(
    "embedding",
    title="Meaning of answers",
    plain=(
        "How similar in meaning the suspect's answer is to the reference's answer to the same prompt, after "
        "subtracting what every model says to that prompt (so that agreeing on the obvious does not count). "
        "Measured with sentence embeddings."
    ),
    description="cosine similarity of response embeddings (standardised per prompt against the panel)",
    standardise=True,
    order=10,
)
def embedding_signal(features: Features, reference: str, models: Sequence[str], prompt_ids: Sequence[str]):
    """Cosine similarity of the two responses' embeddings (see docs/methods.md).

    The values are raw cosines; the statistics centre and scale them per prompt across the
    compared models (``standardise=True``), which removes "everyone says similar things on this
    prompt" in similarity space."""
    X = np.stack([features.embeddings(m, prompt_ids) for m in models]).astype(np.float64)  # M x P x d
    r = features.embeddings(reference, prompt_ids).astype(np.float64)
    return np.einsum("mpd,pd->mp", X, r)
