"""``habits``: cosine similarity of the two responses' recurring phrasing and formatting."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from forensics.features import Features
from forensics.signals.registry import closeness_signal


@closeness_signal(
    "habits",
    title="Shared habits",
    plain=(
        "Whether the suspect answers with the reference's recurring habits: the stock phrases, openers, "
        "closers, punctuation and markdown a model uses whatever it is asked, leaving out the words of each "
        "prompt's topic that every answer shares. A student copies its teacher's habits."
    ),
    description="cosine similarity of recurring word, punctuation and markdown n-grams (the prompt's topic left out)",
    standardise=True,
    order=16,
)
def habits_signal(features: Features, reference: str, models: Sequence[str], prompt_ids: Sequence[str]):
    """Per prompt, the cosine of the two responses' habit vectors (see docs/methods.md)."""
    values = np.zeros((len(models), len(prompt_ids)))
    for i, m in enumerate(models):
        values[i] = features.habit_cosines(reference, m, prompt_ids)
    return values
