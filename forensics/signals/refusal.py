"""``refusal``: agreement on which prompts are refused, weighted by refusal phrasing."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from forensics.features import Features
from forensics.features.refusal import phrase_tokens, token_jaccard
from forensics.signals.registry import closeness_signal
from forensics.signals.scores import Measured


@closeness_signal(
    "refusal",
    title="Refusals",
    plain=(
        "Whether the suspect refuses the same prompts as the reference, and in the same words. A student "
        "trained on a teacher's outputs inherits its refusals and its stock refusal phrases."
    ),
    description="agreement on which prompts are refused, weighted by refusal phrasing",
    standardise=False,
    order=50,
)
def refusal_signal(features: Features, reference: str, models: Sequence[str], prompt_ids: Sequence[str]):
    """Refusal agreement weighted by phrasing similarity (see docs/methods.md)."""
    ref = features.refusals(reference, prompt_ids)
    values = np.full((len(models), len(prompt_ids)), np.nan)
    for i, m in enumerate(models):
        for j, (a, b) in enumerate(zip(ref, features.refusals(m, prompt_ids))):
            if a is None or b is None or not (a[0] or b[0]):
                continue
            if a[0] and b[0]:
                values[i, j] = 0.5 + 0.5 * token_jaccard(phrase_tokens(a[1]), phrase_tokens(b[1]))
            else:
                values[i, j] = 0.0
    return Measured(values, {"reference_refusals": sum(1 for a in ref if a and a[0])})
