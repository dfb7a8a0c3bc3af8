"""``identity``: does the model claim the reference's vendor as its own?"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

from forensics.corpus import Corpus
from forensics.features import Features
from forensics.features.identity import IdentityClaim, claimed_identity
from forensics.signals.registry import closeness_signal
from forensics.signals.scores import Measured


def vendor_from_name(name: str) -> str | None:
    """The vendor a model's *name* points to ("gpt4_0314" -> OpenAI, "claude-2" -> Anthropic), using
    the identity module's alias table; None when the name names no known model or vendor."""
    words = [w for w in re.split(r"[\s_/]+", name) if w]
    cased = [w[:1].upper() + w[1:] for w in words]
    for candidate in [" ".join(cased)] + cased + [p for w in cased for p in w.split("-")[:1]]:
        claim = claimed_identity(f"I am {candidate}")
        if claim is not None and claim.vendor:
            return claim.vendor
    return None


def reference_vendor(
    corpus: Corpus, reference: str, features: Features | None = None, prompt_ids: Sequence[str] | None = None
) -> str | None:
    """The vendor the reference most often claims to be; if it never self-identifies, the vendor
    its name points to (:func:`vendor_from_name`); None when neither is known."""
    features = features or Features(corpus)
    pids = list(prompt_ids) if prompt_ids is not None else sorted(corpus.prompts)
    vendors = Counter(c.vendor for c in features.identities(reference, pids) if c and c.vendor)
    if vendors:
        return vendors.most_common(1)[0][0]
    return vendor_from_name(reference)


@closeness_signal(
    "identity",
    title="Claimed identity",
    plain=(
        "Whether the suspect, asked who it is, claims to be made by the reference's vendor. Students often "
        "repeat their teacher's self-description."
    ),
    description="claims the reference's vendor as its own",
    standardise=False,
    order=70,
    pairwise=False,
)
def identity_signal(
    features: Features, reference: str, models: Sequence[str], prompt_ids: Sequence[str], vendor: str | None = None
):
    """1 where the model claims the reference's vendor as its own (see docs/methods.md).

    The reference's vendor is ``vendor`` if given, else :func:`reference_vendor`; when it is
    unknown the signal is undefined (all NaN). Defined on every answered prompt, whether or not the
    reference answered it: the claim is the model's alone."""
    vendor = vendor or reference_vendor(features.corpus, reference, features)
    values = np.full((len(models), len(prompt_ids)), np.nan)
    if vendor is not None:
        for i, m in enumerate(models):
            values[i] = [
                isinstance(c, IdentityClaim) and c.vendor == vendor for c in features.identities(m, prompt_ids)
            ]
    return Measured(values, {"vendor": vendor})
