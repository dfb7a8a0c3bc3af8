"""Signals on small synthetic corpora written by the tests (not real model output)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from forensics.corpus import Corpus, Response
from forensics.features import Features
from forensics.features.style import STYLE_FEATURES, shared_rare_ngrams
from forensics.signals import (
    SignalScores,
    compute_signals,
    embedding_signal,
    fingerprint_signal,
    identity_signal,
    idiosyncratic_signal,
    refusal_signal,
    signal_names,
    style_signal,
)


class LookupEmbedder:
    """Test double: vectors from a dict (text -> vector), else a deterministic hash vector."""

    def __init__(self, table=None, dim=16):
        self.table = dict(table or {})
        self.dim = dim
        self.n_encoded = 0

    def embed(self, texts):
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            if not (t or "").strip():
                continue
            v = self.table.get(t)
            if v is None:
                seed = int(hashlib.sha256(t.encode()).hexdigest()[:8], 16)
                v = np.random.default_rng(seed).standard_normal(self.dim)
            out[i] = v / np.linalg.norm(v)
            self.n_encoded += 1
        return out


def make_corpus(texts: dict[str, dict[str, str]], name="synthetic") -> Corpus:
    corpus = Corpus(name)
    for model, by_prompt in texts.items():
        for pid, text in by_prompt.items():
            corpus.add(
                Response(model=model, prompt_id=pid, text=text, record_hash=f"h-{model}-{pid}"), prompt=f"prompt {pid}"
            )
    return corpus


def _vector_corpus(rng, n_prompts=40, dim=16):
    """R; C (a noisy copy of R); D (nudged towards R); independents I1..I4."""
    topics = rng.standard_normal((n_prompts, dim))
    table, texts = {}, {}
    base = {m: rng.standard_normal(dim) for m in ["R", "I1", "I2", "I3", "I4", "D"]}
    noise = {m: rng.standard_normal((n_prompts, dim)) for m in base}
    for m in ["R", "I1", "I2", "I3", "I4", "D", "C"]:
        texts[m] = {}
        for p in range(n_prompts):
            if m == "C":
                v = table[texts["R"][f"q{p}"]] + 0.05 * rng.standard_normal(dim)
            elif m == "D":
                v = (
                    topics[p]
                    + 0.6 * (0.8 * base["R"] + 0.6 * base["D"])
                    + 0.8 * (0.6 * noise["R"][p] + 0.8 * noise["D"][p])
                )
            else:
                v = topics[p] + 0.6 * base[m] + 0.8 * noise[m][p]
            text = f"synthetic answer of {m} to q{p}"
            table[text] = v
            texts[m][f"q{p}"] = text
    return make_corpus(texts), LookupEmbedder(table, dim)


def test_features_compute_each_response_once_whatever_prompts_are_asked_in_which_order():
    class CountingDetector:
        def __init__(self):
            self.seen = []

        def is_refusal(self, text):
            self.seen.append(text)
            return "sorry" in text

        def refusal_phrase(self, text):
            return "i'm sorry"

    corpus = make_corpus({"R": {"q0": "I'm sorry, I can't help.", "q1": "Here you go.", "q2": ""}, "A": {"q0": "Ok."}})
    detector = CountingDetector()
    features = Features(corpus, embedder=LookupEmbedder(), refusal_detector=detector)
    assert features.refusals("R", ["q1"]) == [(False, None)]
    assert features.refusals("R", ["q2", "q0", "q1"]) == [None, (True, "i'm sorry"), (False, None)]
    assert features.refusals("R", ["q0", "q0"]) == [(True, "i'm sorry")] * 2
    assert features.refusals("A", ["q1", "q0"]) == [None, (False, None)]
    assert sorted(detector.seen) == ["Here you go.", "I'm sorry, I can't help.", "Ok."]  # each answer once
    assert features.present("R", ["q2", "q0"]).tolist() == [False, True]
    assert features.records("R", ["q1", "q0"]) == ["h-R-q1", "h-R-q0"] and features.records("A", ["q2"]) == [None]
    style = features.style("R", ["q2", "q1"])
    assert style.shape == (2, len(STYLE_FEATURES)) and np.isnan(style[0]).all() and not np.isnan(style[1]).all()
    np.testing.assert_array_equal(features.style("R", ["q1"])[0], style[1])
    assert features.style("R", []).shape == (0, len(STYLE_FEATURES))
    assert features.identities("R", ["q2", "q1"]) == ["", None]


def test_embedding_signals_rank_copy_and_nudged_model_above_independents(rng):
    corpus, emb = _vector_corpus(rng)
    feats = Features(corpus, embedder=emb)
    models = ["C", "D", "I1", "I2", "I3", "I4"]
    for fn in (embedding_signal, fingerprint_signal):
        s = fn(corpus, "R", models, features=feats)
        assert isinstance(s, SignalScores)
        assert s.values.shape == (6, 40) and s.standardise
        means = s.model_means()
        assert means["C"] > means["D"] > max(means[m] for m in ["I1", "I2", "I3", "I4"]), (fn.__name__, means)
        assert s.records["C"][0] == "h-C-q0" and s.reference_records[0] == "h-R-q0"


def test_missing_and_empty_responses_are_nan(rng):
    corpus, emb = _vector_corpus(rng, n_prompts=12)
    corpus.responses["I1"]["q3"][0] = Response("I1", "q3", "   ")
    del corpus.responses["I2"]["q5"]
    s = embedding_signal(corpus, "R", ["C", "I1", "I2", "I3"], features=Features(corpus, embedder=emb))
    j3, j5 = s.prompt_ids.index("q3"), s.prompt_ids.index("q5")
    assert np.isnan(s.row("I1")[j3]) and np.isnan(s.row("I2")[j5])
    assert np.isfinite(s.row("C")).all()


def test_reference_cannot_be_compared_with_itself(rng):
    corpus, emb = _vector_corpus(rng, n_prompts=5)
    with pytest.raises(ValueError):
        embedding_signal(corpus, "R", ["R", "C"], features=Features(corpus, embedder=emb))
    with pytest.raises(ValueError):
        compute_signals(corpus, "R", ["C"], signals=["no-such-signal"], features=Features(corpus, embedder=emb))


# Word lists for synthetic sentences.
_WORDS = (
    "river mountain quiet lantern copper meadow signal harbor velvet orbit thunder maple glass "
    "ember canyon whisper marble falcon cedar prism tide saddle comet willow basalt"
).split()


def _sentence(rng, n=14):
    return " ".join(rng.choice(_WORDS, size=n))


def test_rare_ngram_signal_matches_reference_definition(rng):
    texts = {m: {} for m in ["R", "A", "B", "C"]}
    for p in range(6):
        shared = _sentence(rng)
        texts["R"][f"q{p}"] = shared + " " + _sentence(rng)
        texts["A"][f"q{p}"] = shared + " " + _sentence(rng)  # copies R's wording
        texts["B"][f"q{p}"] = _sentence(rng)
        texts["C"][f"q{p}"] = _sentence(rng) if p else ""
    corpus = make_corpus(texts)
    feats = Features(corpus, embedder=LookupEmbedder())
    s = idiosyncratic_signal(corpus, "R", ["A", "B", "C"], features=feats)
    assert s.info["mode"] == "rare_ngrams"
    models = ["A", "B", "C"]
    for j, pid in enumerate(s.prompt_ids):
        for i, m in enumerate(models):
            if m == "C" and pid == "q0":
                assert np.isnan(s.values[i, j])
                continue
            background = [texts[o][pid] for o in models if o != m and texts[o][pid].strip()]
            expected = shared_rare_ngrams(texts["R"][pid], texts[m][pid], background)
            assert s.values[i, j] == pytest.approx(expected, abs=1e-12)
    assert s.model_means()["A"] > s.model_means()["B"]


def test_refusal_signal_agreement_and_phrasing():
    refuse_a = "I cannot help with that request."
    refuse_b = "I'm sorry, but I can't assist with that."
    answer = "Here are three tips for baking bread: use good flour."
    texts = {
        "R": {"q0": refuse_a, "q1": refuse_a, "q2": answer, "q3": answer},
        "A": {"q0": refuse_a, "q1": answer, "q2": answer, "q3": answer},
        "B": {"q0": refuse_b, "q1": refuse_b, "q2": refuse_b, "q3": answer},
    }
    corpus = make_corpus(texts)
    s = refusal_signal(corpus, "R", ["A", "B"], features=Features(corpus, embedder=LookupEmbedder()))
    assert not s.standardise
    a, b = s.row("A"), s.row("B")
    assert a[0] == 1.0 and a[1] == 0.0 and np.isnan(a[2]) and np.isnan(a[3])
    assert 0.5 <= b[0] < 1.0 and b[2] == 0.0 and np.isnan(b[3])


def test_identity_signal_uses_reference_vendor():
    texts = {
        "R": {"q0": "I am an AI assistant created by Anthropic.", "q1": "Paris is the capital of France."},
        "A": {"q0": "I am an AI assistant created by Anthropic.", "q1": "Paris."},
        "B": {"q0": "I was trained by OpenAI.", "q1": "Paris, of course."},
        "C": {"q0": "Hello there.", "q1": ""},
    }
    corpus = make_corpus(texts)
    s = identity_signal(corpus, "R", ["A", "B", "C"], features=Features(corpus, embedder=LookupEmbedder()))
    assert s.info["vendor"] == "Anthropic"
    assert list(s.row("A")) == [1.0, 0.0]
    assert list(s.row("B")) == [0.0, 0.0]
    assert s.row("C")[0] == 0.0 and np.isnan(s.row("C")[1])
    # a reference that never says who it is: undefined
    texts["R"] = {"q0": "Hello.", "q1": "Paris."}
    corpus = make_corpus(texts)
    s = identity_signal(corpus, "R", ["A", "B"], features=Features(corpus, embedder=LookupEmbedder()))
    assert np.isnan(s.values).all() and not s.defined


def test_error_consistency_on_answer_keys():
    from forensics.probes import AnswerKey

    texts = {
        "R": {"q0": "The answer is 5.", "q1": "It is 4.", "q2": "The answer is 7."},
        "A": {"q0": "I think it is 5", "q1": "4", "q2": "The answer is 9."},
        "B": {"q0": "The answer is 4.", "q1": "4", "q2": "The answer is 7."},
    }
    corpus = make_corpus(texts)
    key = AnswerKey(number=4.0)
    for pid in corpus.prompts:
        corpus.meta[pid] = {"answer": key}
    s = idiosyncratic_signal(corpus, "R", ["A", "B"], features=Features(corpus, embedder=LookupEmbedder()))
    assert s.info["mode"] == "error_consistency" and not s.standardise
    # q0: R wrong (5), A same wrong answer, B right; q1: R right -> undefined; q2: R wrong (7), B same
    assert list(s.row("A")[[0, 2]]) == [1.0, 0.0] and np.isnan(s.row("A")[1])
    assert list(s.row("B")[[0, 2]]) == [0.0, 1.0]


def test_style_signal_is_maximal_for_identical_text():
    texts = {
        "R": {"q0": "Sure! Here are the steps:\n\n1. One\n2. Two\n\nI hope this helps!", "q1": "Short answer."},
        "A": {"q0": "Sure! Here are the steps:\n\n1. One\n2. Two\n\nI hope this helps!", "q1": "Short answer."},
        "B": {
            "q0": "# Title\n\nA long paragraph without lists; it goes on (and on) -- with dashes.",
            "q1": "**Bold** claim: yes?",
        },
    }
    corpus = make_corpus(texts)
    s = style_signal(corpus, "R", ["A", "B"], features=Features(corpus, embedder=LookupEmbedder()))
    assert np.all(s.row("A") == 0.0)
    assert np.all(s.row("B") < 0.0)


def test_all_signals_run_and_subset(rng):
    corpus, emb = _vector_corpus(rng, n_prompts=8)
    scores = compute_signals(corpus, "R", ["C", "D", "I1"], features=Features(corpus, embedder=emb))
    assert [s.name for s in scores] == signal_names(default_only=True)
    sub = scores[0].subset(models=["I1", "C"], prompt_ids=["q1", "q0"])
    assert sub.values.shape == (2, 2)
    assert sub.values[1, 1] == scores[0].values[0, scores[0].prompt_ids.index("q0")]


def test_lexical_signal_follows_reused_wording():
    base = "first boil the water then add salt and stir the pasta gently for ten minutes"
    texts = {
        "R": {"q1": base, "q2": "the capital of france is paris a city on the seine"},
        "copy": {"q1": base, "q2": "the capital of france is paris a city on the seine"},
        "reuse": {"q1": "boil the water then add salt and cook the pasta", "q2": "paris is the capital of france"},
        "other": {"q1": "cooking noodles needs heat patience and a large pot", "q2": "france has many cities"},
        "empty": {"q1": "", "q2": "paris"},
    }
    corpus = make_corpus(texts)
    s = compute_signals(
        corpus, "R", ["copy", "reuse", "other", "empty"], ["lexical"], Features(corpus, LookupEmbedder())
    )[0]
    assert s.standardise and s.name == "lexical"
    np.testing.assert_allclose(s.row("copy"), 1.0)
    assert np.all(s.row("reuse") > s.row("other"))
    assert np.isnan(s.row("empty")[0])


def _habit_corpus(n_prompts=30):
    """Made-up answers: every model answers each prompt with the prompt's own topic words; R and the
    student wrap them in R's stock opener, closer and markdown, the others in habits of their own,
    and "topical" repeats R's topic words exactly but has no habit at all."""
    wrappers = {
        "R": ("Certainly! Here is an overview:", "**Key point:** {t}.", "I hope this helps!"),
        "student": ("Certainly! Here is an overview:", "**Key point:** {t}.", "I hope this helps!"),
        "P1": ("Short answer -", "{t}", "Cheers"),
        "P2": ("Well, let us see;", "{t} (roughly)", "Any other question?"),
        "P3": ("OK.", "> {t}", "Done."),
    }
    texts = {m: {} for m in [*wrappers, "topical"]}
    for p in range(n_prompts):
        topic = f"tide{p} moon{p} harbour{p} salt{p}"
        for m, (opener, body, closer) in wrappers.items():
            texts[m][f"q{p:02d}"] = f"{opener} {body.format(t=topic)} {closer}"
        texts["topical"][f"q{p:02d}"] = topic
    return make_corpus(texts)


def test_habits_signal_follows_stock_phrasing_and_ignores_the_topic():
    from forensics.signals import SIGNALS

    corpus = _habit_corpus()
    models = ["student", "P1", "P2", "P3", "topical"]
    s = SIGNALS["habits"](corpus, "R", models, features=Features(corpus, LookupEmbedder()))
    assert s.name == "habits" and s.standardise and s.values.shape == (5, 30)
    means = s.model_means()
    assert means["student"] == pytest.approx(1.0)  # the same habits on every prompt
    assert means["student"] > max(means[m] for m in ("P1", "P2", "P3"))
    # sharing every topic word with R, and nothing else, is not a habit
    assert means["topical"] == pytest.approx(0.0, abs=1e-6)
