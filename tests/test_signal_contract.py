"""One contract, run over every registered signal: a new signal module is checked without new test code."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import numpy as np
import pytest
from test_signals import LookupEmbedder

from forensics.corpus import Corpus, Response
from forensics.features import Features
from forensics.signals import SIGNALS, ClosenessStore, SignalSpec, register, signal_names
from forensics.verdict.design import contrasts, pair_design

WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda sure certainly here steps".split()
MODELS = ["R", "S", "P1", "P2", "P3"]


def _corpus(rng: np.random.Generator, n_prompts: int = 24) -> Corpus:
    """Made-up answers: S reuses R's words, the panel draws its own; P2 skips prompt q3 and answers q5 empty."""
    corpus = Corpus("contract")
    for p in range(n_prompts):
        pid = f"q{p:02d}"
        base = rng.choice(WORDS, size=12).tolist()
        for m in MODELS:
            if m == "P2" and p == 3:
                continue
            if m in ("R", "S"):
                words = base if m == "R" else base[:9] + rng.choice(WORDS, size=3).tolist()
            else:
                words = rng.choice(WORDS, size=12).tolist()
            text = "" if (m == "P2" and p == 5) else " ".join(words) + ("." if p % 2 else "!")
            if p % 4 == 0 and m in ("R", "S"):
                text = "I'm sorry, but I can't help with that. I am an AI assistant made by OpenAI."
            corpus.add(Response(m, pid, text, record_hash=f"h-{m}-{pid}"), prompt=f"question {pid}?")
    return corpus


def _run(name: str, corpus: Corpus, models: list[str], features: Features | None = None):
    features = features or Features(corpus, embedder=LookupEmbedder())
    return SIGNALS[name](corpus, "R", models, features=features)


@pytest.fixture(params=signal_names())
def signal(request) -> str:
    return request.param


def test_registry_entries_are_complete(signal):
    spec = SIGNALS[signal]
    assert isinstance(spec, SignalSpec) and spec.name == signal
    assert spec.title and spec.plain and spec.description
    assert spec.standardise in (True, False, None)


def test_output_shape_records_and_missing_responses(signal, rng):
    corpus = _corpus(rng)
    models = ["S", "P1", "P2", "P3"]
    scores = _run(signal, corpus, models)
    assert scores.name == signal
    assert scores.values.shape == (len(models), len(scores.prompt_ids))
    assert scores.models == models
    p2 = scores.row("P2")
    for missing in ("q03", "q05"):  # no answer, and an empty answer
        if missing in scores.prompt_ids:
            assert np.isnan(p2[scores.prompt_ids.index(missing)])
    assert scores.records["S"][0] == f"h-S-{scores.prompt_ids[0]}"
    if SIGNALS[signal].standardise is not None:
        assert scores.standardise == SIGNALS[signal].standardise


def test_panel_order_does_not_change_any_model_value(signal, rng):
    corpus = _corpus(rng)
    a = _run(signal, corpus, ["S", "P1", "P2", "P3"])
    b = _run(signal, corpus, ["P3", "P1", "S", "P2"])
    for m in ("S", "P1", "P2", "P3"):
        np.testing.assert_allclose(a.row(m), b.row(m), equal_nan=True)


def test_reference_cannot_be_in_the_panel(signal, rng):
    corpus = _corpus(rng)
    with pytest.raises(ValueError, match="reference"):
        _run(signal, corpus, ["S", "R", "P1"])


def test_second_run_on_the_cached_features_is_identical(signal, rng):
    corpus = _corpus(rng)
    embedder = LookupEmbedder()
    features = Features(corpus, embedder=embedder)
    first = _run(signal, corpus, ["S", "P1", "P2"], features)
    encoded = embedder.n_encoded
    second = _run(signal, corpus, ["S", "P1", "P2"], features)
    np.testing.assert_array_equal(first.values, second.values)
    assert embedder.n_encoded == encoded  # nothing was embedded again


def test_the_store_returns_what_the_signal_returns_for_the_same_models(signal, rng):
    corpus = _corpus(rng)
    features = Features(corpus, embedder=LookupEmbedder())
    store = ClosenessStore(corpus, features)
    others = [m for m in store.models if m != "R"]
    direct = SIGNALS[signal](corpus, "R", others, features=features, prompt_ids=store.prompt_ids)
    for m in others:
        np.testing.assert_allclose(store.row(signal, "R", m), direct.row(m), equal_nan=True)
    pids = store.prompt_ids[2:9]
    np.testing.assert_allclose(store.row(signal, "R", "S", pids), direct.row("S")[2:9], equal_nan=True)
    view = store.scores(signal, "R", ["P1", "S"], pids)
    assert view.name == signal and view.models == ["P1", "S"] and view.prompt_ids == list(pids)
    np.testing.assert_allclose(view.row("S"), direct.row("S")[2:9], equal_nan=True)
    with pytest.raises(ValueError, match="itself"):
        store.row(signal, "R", "R")


def test_a_columns_values_do_not_depend_on_who_is_the_suspect(signal, rng):
    """Role-blindness: P3's contrast towards R is the same whether S or P1 is the suspect, and
    whichever models the comparison names as controls."""
    corpus = _corpus(rng)
    store = ClosenessStore(corpus, Features(corpus, embedder=LookupEmbedder()))
    pids = store.prompt_ids
    as_suspect_s, _ = pair_design("R", "S", ["P1", "P2", "P3"], {})
    as_suspect_p1, _ = pair_design("R", "P1", ["S", "P3"], {})
    a = contrasts(store, as_suspect_s, [signal], pids)[signal]
    b = contrasts(store, as_suspect_p1, [signal], pids)[signal]
    rows_a = {m: a[i] for i, m in enumerate([as_suspect_s.suspect, *as_suspect_s.units])}
    rows_b = {m: b[i] for i, m in enumerate([as_suspect_p1.suspect, *as_suspect_p1.units])}
    for m in ("S", "P1", "P3"):
        np.testing.assert_array_equal(rows_a[m][0], rows_b[m][0])


def test_the_store_refuses_unknown_models_and_signals(rng):
    corpus = _corpus(rng)
    store = ClosenessStore(corpus, Features(corpus, embedder=LookupEmbedder()), models=["R", "S", "P1"])
    with pytest.raises(ValueError, match="unknown signal"):
        store.row("no-such-signal", "R", "S")
    with pytest.raises(ValueError, match="not among the store's models"):
        store.row("embedding", "P2", "S")
    with pytest.raises(ValueError, match="without responses"):
        ClosenessStore(corpus, models=["R", "nobody"])


def test_a_registered_module_is_picked_up_and_a_clash_refused():
    def fake(corpus, reference, models, features=None, prompt_ids=None):  # pragma: no cover - never run
        raise AssertionError

    try:
        register("contract-probe", title="t", plain="p", description="d", standardise=True, default=False)(fake)
        assert "contract-probe" in signal_names() and "contract-probe" not in signal_names(default_only=True)
        with pytest.raises(ValueError, match="registered twice"):
            register("contract-probe", title="t", plain="p", description="d", standardise=True)(lambda *a: None)
    finally:
        SIGNALS.pop("contract-probe", None)


def test_readme_signal_table_is_the_registry():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([^`]+)` \| ([^|]+) \| ([^|]+) \|$", readme, flags=re.M)
    assert [(n, t.strip(), d.strip()) for n, t, d in rows] == [
        (n, SIGNALS[n].title, SIGNALS[n].description) for n in signal_names()
    ]


def test_closeness_signal_owns_the_shared_preamble(rng):
    """A signal written as values alone gets the checks, default prompts, NaN masking, records and
    description from :func:`closeness_signal`; a signal that is not pairwise ignores the reference's gaps."""
    from forensics.signals import Measured, closeness_signal

    calls = []

    def ones(features, reference, models, prompt_ids, scale: float = 1.0):
        calls.append((reference, list(models), list(prompt_ids)))
        return np.full((len(models), len(prompt_ids)), scale)

    def own(features, reference, models, prompt_ids):
        return Measured(np.zeros((len(models), len(prompt_ids))), {"seen": len(models)}, False, "said otherwise")

    corpus = _corpus(rng)
    corpus.add(Response("S", "q99", "only the suspect answered this", record_hash="h-S-q99"), prompt="question q99?")
    features = Features(corpus, embedder=LookupEmbedder())
    try:
        pairwise = closeness_signal("contract-ones", title="t", plain="p", description="d", standardise=True)(ones)
        alone = closeness_signal(
            "contract-alone", title="t", plain="p", description="d", standardise=None, pairwise=False
        )(own)
        assert SIGNALS["contract-ones"].compute is pairwise and pairwise.__name__ == "ones"
        assert list(inspect.signature(pairwise).parameters) == [
            "corpus", "reference", "models", "features", "prompt_ids", "scale"
        ]  # fmt: skip
        with pytest.raises(ValueError, match="reference"):
            pairwise(corpus, "R", ["S", "R"], features)
        scores = pairwise(corpus, "R", ["S", "P2"], features, None, 2.0)
        assert calls[-1][1] == ["S", "P2"] and "q99" not in scores.prompt_ids  # default: what R answered
        assert scores.prompt_ids == [p for p in features.prompt_ids if p != "q99"]
        p2 = scores.row("P2")
        assert np.isnan(p2[scores.prompt_ids.index("q03")]) and np.isnan(p2[scores.prompt_ids.index("q05")])
        assert np.nansum(p2) == 2.0 * (len(scores.prompt_ids) - 2) and np.all(scores.row("S") == 2.0)
        assert scores.description == "d" and scores.standardise is True
        assert scores.records["S"][:2] == ["h-S-q00", "h-S-q01"] and scores.reference_records[0] == "h-R-q00"
        everything = pairwise(corpus, "R", ["S"], features, features.prompt_ids).row("S")
        assert np.isnan(everything[features.prompt_ids.index("q99")])  # R did not answer: undefined
        solo = alone(corpus, "R", ["S", "P2"], features, features.prompt_ids)
        assert solo.row("S")[features.prompt_ids.index("q99")] == 0.0  # defined without R's answer
        assert np.isnan(solo.row("P2")[features.prompt_ids.index("q03")])
        assert solo.standardise is False and solo.description == "said otherwise" and solo.info == {"seen": 2}
        wrong = closeness_signal("contract-wrong", title="t", plain="p", description="d", standardise=True)(
            lambda features, reference, models, prompt_ids: np.zeros(len(prompt_ids))
        )
        with pytest.raises(ValueError, match="shape"):
            wrong(corpus, "R", ["S", "P1"], features)
        undecided = closeness_signal("contract-undecided", title="t", plain="p", description="d", standardise=None)(
            lambda features, reference, models, prompt_ids: np.zeros((len(models), len(prompt_ids)))
        )
        with pytest.raises(ValueError, match="standardised"):
            undecided(corpus, "R", ["S"], features)
    finally:
        for name in ("contract-ones", "contract-alone", "contract-wrong", "contract-undecided"):
            SIGNALS.pop(name, None)
