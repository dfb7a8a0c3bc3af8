"""Attribution ranks candidate teachers by score and names none that every model resembles."""

from __future__ import annotations

import numpy as np
from test_signals import LookupEmbedder, make_corpus

from forensics.features import Features
from forensics.signals import ClosenessStore, raw_cosines
from forensics.verdict import AnalysisSettings, Answer, CandidateResult, EngineParams, attribute, rank_candidates

# the synthetic answers are vectors only: the embedding signal, with weights fixed here
SETTINGS = AnalysisSettings(signals=("embedding",), n_resamples=299, params=EngineParams(weights={"embedding": 1.0}))
FAMILIES = {"R_central": "centralco-c", "R_teacher": "teacherco-t"}


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


def test_a_central_reference_ranked_first_is_not_named_and_the_teacher_shows_beyond_the_panel(rng):
    """The known cost of ranking by the suspect's own contrast (docs/methods.md says why it is
    still the better ranking on real models): a reference every model resembles can rank first.
    It must not be named, because the selection test draws the ranking around the independent
    models' means; and the teacher's lean beyond the independent models is there to read."""
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
        families=FAMILIES,
        settings=SETTINGS,
        store=ClosenessStore(corpus, features),
    )
    ranking = {c.candidate: c for c in result.ranking}
    assert [c.candidate for c in result.ranking] == sorted(ranking, key=lambda c: -ranking[c].score)
    assert ranking["R_teacher"].excess > ranking["R_central"].excess
    assert result.teacher != "R_central" and result.vendor != "centralco", result.summary()
    if result.top == "R_central":
        assert result.kind in (Answer.INCONCLUSIVE, Answer.NO_EVIDENCE), result.summary()
    # each candidate's pair verdict is contrasted with the other vendor's candidate
    assert {c.candidate: c.verdict.anchors for c in result.ranking} == {
        "R_teacher": ["R_central"],
        "R_central": ["R_teacher"],
    }


def test_an_independent_suspect_gets_no_teacher(rng):
    corpus, emb = _central_reference_case(rng)
    features = Features(corpus, embedder=emb)
    result = attribute(
        corpus,
        "I4",
        ["R_central", "R_teacher"],
        ["I1", "I2", "I3"],
        rng=np.random.default_rng(2),
        families=FAMILIES,
        settings=SETTINGS,
        store=ClosenessStore(corpus, features),
    )
    assert result.best is None and result.kind in (Answer.INCONCLUSIVE, Answer.NO_EVIDENCE)
    assert result.answer.startswith(str(result.kind)) and result.vendor is None


def test_given_verdicts_are_reused_not_recomputed(rng):
    corpus, emb = _central_reference_case(rng)
    store = ClosenessStore(corpus, Features(corpus, embedder=emb))
    args = (corpus, "student", ["R_central", "R_teacher"], ["I1", "I2", "I3", "I4"])
    kw = dict(families=FAMILIES, settings=SETTINGS, store=store)
    first = attribute(*args, rng=np.random.default_rng(3), **kw)
    reused = attribute(
        *args, rng=np.random.default_rng(3), verdicts={c.candidate: c.verdict for c in first.ranking}, **kw
    )
    assert [c.verdict for c in reused.ranking] == [c.verdict for c in first.ranking]
    assert all(a.verdict is b.verdict for a, b in zip(reused.ranking, first.ranking))


def test_rank_candidates_orders_by_score_with_undefined_scores_last():
    def cand(name, score):
        return CandidateResult(name, name, name, score, 0.0, 0.0, 1.0, None)

    ranked = rank_candidates([cand("b", 0.1), cand("c", float("nan")), cand("a", 0.1), cand("d", 0.7)])
    assert [c.candidate for c in ranked] == ["d", "a", "b", "c"]
