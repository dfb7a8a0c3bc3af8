"""Attribution ranks candidate teachers fairly: a reference every model resembles wins nothing for it."""

from __future__ import annotations

import numpy as np
from test_signals import LookupEmbedder, make_corpus

from forensics.features import Features
from forensics.signals import raw_cosines
from forensics.verdict import attribute


def _central_reference_case(rng, n_prompts=60, dim=24):
    """R_central answers with the topic alone, so every model is close to it; the student learned
    R_teacher's habits. Vectors are made up here; no model wrote anything."""
    topics = rng.standard_normal((n_prompts, dim)) * 1.5
    base = {m: rng.standard_normal(dim) for m in ["R_teacher", "I1", "I2", "I3", "I4", "student"]}
    table, texts = {}, {}
    for m in ["R_central", "R_teacher", "I1", "I2", "I3", "I4", "student"]:
        texts[m] = {}
        for p in range(n_prompts):
            if m == "R_central":
                v = topics[p] + 0.3 * rng.standard_normal(dim)
            elif m == "student":
                v = topics[p] + 0.6 * base["R_teacher"] + 0.4 * base["student"] + 0.9 * rng.standard_normal(dim)
            else:
                v = topics[p] + 0.9 * base[m] + 0.9 * rng.standard_normal(dim)
            text = f"made-up answer of {m} to q{p}"
            table[text] = v
            texts[m][f"q{p}"] = text
    return make_corpus(texts), LookupEmbedder(table, dim)


def test_the_central_reference_is_closest_but_the_teacher_is_attributed(rng):
    corpus, emb = _central_reference_case(rng)
    features = Features(corpus, embedder=emb)
    panel = ["I1", "I2", "I3", "I4"]
    raw = {
        r: float(np.nanmean(raw_cosines(corpus, r, ["student"], features).values)) for r in ("R_central", "R_teacher")
    }
    assert raw["R_central"] > raw["R_teacher"]  # the premise: raw closeness would pick the wrong one
    result = attribute(
        corpus,
        "student",
        ["R_central", "R_teacher"],
        panel,
        rng=np.random.default_rng(1),
        features=features,
        n_resamples=299,
    )
    assert result.top == "R_teacher"
    margins = {c.candidate: c.closeness_margin for c in result.ranking}
    assert margins["R_teacher"] > margins["R_central"]


def test_an_independent_suspect_gets_none(rng):
    corpus, emb = _central_reference_case(rng)
    features = Features(corpus, embedder=emb)
    result = attribute(
        corpus,
        "I4",
        ["R_central", "R_teacher"],
        ["I1", "I2", "I3"],
        rng=np.random.default_rng(2),
        features=features,
        n_resamples=299,
    )
    assert result.best is None and result.answer == "none"
