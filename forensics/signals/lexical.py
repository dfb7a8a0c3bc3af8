"""``lexical``: cosine similarity of the two responses' TF-IDF word 1-2-gram vectors."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from forensics.features import Features
from forensics.signals.registry import closeness_signal


@closeness_signal(
    "lexical",
    title="Shared wording",
    plain=(
        "How much of the reference's wording the suspect's answer to the same prompt reuses: words and word pairs, "
        "weighted so that words every answer uses count little. Distillation copies phrasing, which a sentence "
        "embedding that mostly sees the topic can miss."
    ),
    description="cosine similarity of TF-IDF word 1-2-gram vectors (standardised per prompt against the panel)",
    standardise=True,
    order=15,
)
def lexical_signal(features: Features, reference: str, models: Sequence[str], prompt_ids: Sequence[str]):
    """Per prompt, the cosine of the suspect's and the reference's TF-IDF vectors (see docs/methods.md)."""
    values = np.zeros((len(models), len(prompt_ids)))
    for i, m in enumerate(models):
        values[i] = features.lexical_cosines(reference, m, prompt_ids)
    return values
