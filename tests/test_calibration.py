"""End-to-end calibration of the verdict's test under the null, with every default signal (lexical included).

Models are exchangeable by construction: each writes made-up answers from the prompt's topic words
and its own habits, so no suspect is closer to R than an independent model is (H0 true).
"""

from __future__ import annotations

import numpy as np
from test_bench import BagEmbedder
from test_signals import make_corpus

from forensics.features import Features
from forensics.signals import ClosenessStore, signal_names
from forensics.verdict import AnalysisSettings, EngineParams, analyse

# every default signal weighs the same here: the shipped weights may leave some out, this test does not
EVERY_SIGNAL = AnalysisSettings(n_resamples=199, params=EngineParams(weights=dict.fromkeys(signal_names(True), 1.0)))


def _exchangeable_corpus(rng: np.random.Generator, n_models: int, n_prompts: int):
    names = ["R", "S"] + [f"P{i}" for i in range(n_models - 2)]
    texts = {m: {} for m in names}
    habits = {m: [f"h{rng.integers(10**5, 10**6)}" for _ in range(20)] for m in names}  # same length for all
    shared = [f"common{j}" for j in range(30)]
    # models differ systematically (a "strong" one keeps to the topic), all drawn from one population
    on_topic = {m: int(rng.integers(4, 16)) for m in names}
    for p in range(n_prompts):
        topic = [f"q{p}t{j}" for j in range(15)]
        for m in names:
            words = list(rng.choice(topic, on_topic[m])) + list(rng.choice(habits[m], 5)) + list(rng.choice(shared, 5))
            texts[m][f"q{p:03d}"] = " ".join(rng.permutation(words))
    return make_corpus(texts), names


def test_combined_test_with_every_default_signal_is_calibrated_under_the_null(rng):
    n_sets, alpha = 150, 0.05
    p_values, lexical_weights = [], []
    for _ in range(n_sets):
        corpus, names = _exchangeable_corpus(rng, n_models=7, n_prompts=24)
        features = Features(corpus, embedder=BagEmbedder(16))
        store = ClosenessStore(corpus, features)
        v = analyse(corpus, "R", "S", names[2:], rng=rng, settings=EVERY_SIGNAL, store=store)
        p_values.append(v.p_value)
        lexical_weights.append(v.test.weights.get("lexical", 0.0))
    p = np.asarray(p_values)
    assert np.all(np.isfinite(p))
    rate = float(np.mean(p < alpha))
    assert rate <= alpha + 3 * np.sqrt(alpha * (1 - alpha) / n_sets)
    assert np.mean(p < 0.5) > 0.25  # the p-values are spread, not stuck at 1 (the test is not vacuous)
    assert np.mean(np.asarray(lexical_weights) > 0) > 0.5  # the lexical signal took part
