"""``lexical``: cosine similarity of the two responses' TF-IDF word 1-2-gram vectors."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from forensics.corpus import Corpus
from forensics.features import Features
from forensics.signals.registry import register
from forensics.signals.scores import SignalScores, check_models, make_scores, present_matrix, prompts_for

DESCRIPTION = "cosine similarity of TF-IDF word 1-2-gram vectors (standardised per prompt against the panel)"


@register(
    "lexical",
    title="Shared wording",
    plain=(
        "How much of the reference's wording the suspect's answer to the same prompt reuses: words and word pairs, "
        "weighted so that words every answer uses count little. Distillation copies phrasing, which a sentence "
        "embedding that mostly sees the topic can miss."
    ),
    description=DESCRIPTION,
    standardise=True,
    order=15,
)
def lexical_signal(
    corpus: Corpus,
    reference: str,
    models: Sequence[str],
    features: Features | None = None,
    prompt_ids: Sequence[str] | None = None,
) -> SignalScores:
    """Per prompt, the cosine of the suspect's and the reference's TF-IDF vectors (see docs/methods.md)."""
    models = check_models(reference, models)
    features = features or Features(corpus)
    pids = prompts_for(corpus, reference, prompt_ids)
    present = present_matrix(features, models, pids)
    ref_ok = features.present(reference, pids)
    values = np.zeros((len(models), len(pids)))
    for i, m in enumerate(models):
        values[i] = features.lexical_cosines(reference, m, pids)
    values = np.where(present & ref_ok[None], values, np.nan)
    return make_scores("lexical", features, reference, models, pids, values, True, DESCRIPTION)
