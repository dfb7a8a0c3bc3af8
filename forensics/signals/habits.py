"""``habits``: cosine similarity of the two responses' recurring phrasing and formatting."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from forensics.corpus import Corpus
from forensics.features import Features
from forensics.signals.registry import register
from forensics.signals.scores import SignalScores, check_models, make_scores, present_matrix, prompts_for

DESCRIPTION = "cosine similarity of recurring word, punctuation and markdown n-grams (the prompt's topic left out)"


@register(
    "habits",
    title="Shared habits",
    plain=(
        "Whether the suspect answers with the reference's recurring habits: the stock phrases, openers, "
        "closers, punctuation and markdown a model uses whatever it is asked, leaving out the words of each "
        "prompt's topic that every answer shares. A student copies its teacher's habits."
    ),
    description=DESCRIPTION,
    standardise=True,
    order=16,
)
def habits_signal(
    corpus: Corpus,
    reference: str,
    models: Sequence[str],
    features: Features | None = None,
    prompt_ids: Sequence[str] | None = None,
) -> SignalScores:
    """Per prompt, the cosine of the two responses' habit vectors (see docs/methods.md)."""
    models = check_models(reference, models)
    features = features or Features(corpus)
    pids = prompts_for(corpus, reference, prompt_ids)
    present = present_matrix(features, models, pids)
    ref_ok = features.present(reference, pids)
    values = np.zeros((len(models), len(pids)))
    for i, m in enumerate(models):
        values[i] = features.habit_cosines(reference, m, pids)
    values = np.where(present & ref_ok[None], values, np.nan)
    return make_scores("habits", features, reference, models, pids, values, True, DESCRIPTION)
