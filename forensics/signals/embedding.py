"""``embedding``: cosine similarity of the two responses' embeddings."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from forensics.corpus import Corpus
from forensics.features import Features
from forensics.signals.registry import register
from forensics.signals.scores import SignalScores, check_models, make_scores, present_matrix, prompts_for


@register(
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
def embedding_signal(
    corpus: Corpus,
    reference: str,
    models: Sequence[str],
    features: Features | None = None,
    prompt_ids: Sequence[str] | None = None,
) -> SignalScores:
    """Cosine similarity of the two responses' embeddings (see docs/methods.md).

    The values are raw cosines; the statistics centre and scale them per prompt across the
    compared models (``standardise=True``), which removes "everyone says similar things on this
    prompt" in similarity space."""
    models = check_models(reference, models)
    features = features or Features(corpus)
    pids = prompts_for(corpus, reference, prompt_ids)
    present = present_matrix(features, models, pids)
    ref_ok = features.present(reference, pids)
    X = np.stack([features.embeddings(m, pids) for m in models]).astype(np.float64)  # M x P x d
    r = features.embeddings(reference, pids).astype(np.float64)
    values = np.einsum("mpd,pd->mp", X, r)
    values = np.where(present & ref_ok[None], values, np.nan)
    return make_scores(
        "embedding",
        features,
        reference,
        models,
        pids,
        values,
        True,
        "cosine similarity of response embeddings (standardised per prompt against the panel)",
    )
