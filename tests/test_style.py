"""Stylometry and rare-phrase features on hand-written and synthetic texts."""

from __future__ import annotations

import numpy as np
import pytest

from forensics.features.style import (
    STYLE_FEATURES,
    characteristic_phrases,
    phrase_overlap,
    phrase_overlaps,
    shared_rare_ngrams,
    style_matrix,
    style_vector,
    tokenize,
    word_ngrams,
)

MARKDOWN = """Certainly! Here is an overview.

## Steps

- **Preheat** the oven.
- Mix the batter.

1. Pour it.
2. Bake it.

```python
print("done")
```

I hope this helps! Let me know if you have any other questions."""

PLAIN = "The oven should be preheated before the batter is mixed and poured."


def feature(text: str, name: str) -> float:
    return float(style_vector(text)[STYLE_FEATURES.index(name)])


def test_vector_shape_and_names():
    assert len(STYLE_FEATURES) == len(set(STYLE_FEATURES))
    for text in (MARKDOWN, PLAIN, "", None):
        vec = style_vector(text)
        assert vec.shape == (len(STYLE_FEATURES),) and np.all(np.isfinite(vec))
    assert style_matrix([MARKDOWN, PLAIN]).shape == (2, len(STYLE_FEATURES))
    assert style_matrix([]).shape == (0, len(STYLE_FEATURES))


@pytest.mark.parametrize(
    "name",
    [
        "log_headers",
        "log_bullets",
        "log_numbered",
        "log_bold",
        "log_code_fences",
        "opener_affirmative",
        "closer_hope_helps",
        "closer_offer",
    ],
)
def test_markdown_habits_are_detected(name):
    assert feature(MARKDOWN, name) > 0
    assert feature(PLAIN, name) == 0


def test_counts_are_log_scaled_and_openers_are_flags():
    assert feature(MARKDOWN, "log_bullets") == pytest.approx(np.log1p(2))
    assert feature(MARKDOWN, "log_code_fences") == pytest.approx(np.log1p(1))
    assert feature("Great question! Cats purr.", "opener_praise") == 1.0
    assert feature("As an AI language model, I think so.", "opener_as_ai") == 1.0
    assert feature("Wow! Amazing! Really great.", "exclamation_rate") == pytest.approx(2 / 3)
    assert feature("Go 🚀🎉 now", "log_emoji") == pytest.approx(np.log1p(2))
    assert feature(PLAIN, "log_words") == pytest.approx(np.log1p(12))


def test_tokenize_keeps_contractions_and_splits_cjk():
    assert tokenize("It\u2019s a TEST, isn't it?") == ["it's", "a", "test", "isn't", "it"]
    assert tokenize("我是模型") == ["我", "是", "模", "型"]
    assert word_ngrams("a b c d", n=3) == {"a b c", "b c d"}


def _synthetic_panel(rng: np.random.Generator, n_docs: int, planted: str | None) -> list[str]:
    vocabulary = [f"w{i}" for i in range(300)]
    docs = []
    for _ in range(n_docs):
        words = list(rng.choice(vocabulary, size=40))
        if planted is not None and rng.random() < 0.6:
            words.insert(int(rng.integers(0, len(words))), planted)
        docs.append(" ".join(words))
    return docs


def test_characteristic_phrases_find_the_planted_phrase(rng):
    planted = "delve into the rich tapestry"
    ref = _synthetic_panel(rng, 200, planted)
    others = [_synthetic_panel(rng, 200, None) for _ in range(3)]
    phrases = characteristic_phrases(ref, others, n=(2, 4), top_k=10)
    assert phrases, "no characteristic phrase found"
    assert all(p in planted for p in phrases[:3]), phrases
    assert "rich tapestry" in phrases and "delve into the rich" in phrases
    # a model that uses the planted phrase overlaps far more than one that does not
    student = _synthetic_panel(rng, 100, planted)
    stranger = _synthetic_panel(rng, 100, None)
    assert phrase_overlaps(phrases, student).mean() > 3 * phrase_overlaps(phrases, stranger).mean() + 1
    assert phrase_overlap(phrases, f"w1 {planted} w2") >= 5
    assert phrase_overlap(phrases, "w1 w2 w3") == phrase_overlap([], "anything") == 0


def test_characteristic_phrases_degenerate_inputs():
    assert characteristic_phrases([], [["a b c"]]) == []
    assert characteristic_phrases(["a b c"], []) == []
    assert characteristic_phrases(["", None], [["x y z"]]) == []


def test_shared_rare_ngrams_ranks_near_copy_above_unrelated():
    ref = (
        "To reverse a list in Python, call my_list.reverse() to flip it in place, "
        "or use slicing with my_list[::-1] to obtain a reversed copy without mutation."
    )
    near_copy = (
        "To reverse a list in Python, call my_list.reverse() to flip it in place, "
        "or use slicing with my_list[::-1] to get a reversed copy without mutation."
    )
    paraphrase = (
        "To reverse a list in Python you can use the built-in reversed() function, "
        "which returns an iterator over the items in reverse order."
    )
    unrelated = "Paris is the capital of France and is known for the Eiffel Tower and its museums."
    background = [
        paraphrase,
        "To reverse a list in Python, use list.reverse() or reversed().",
        "You can reverse a list in Python with slicing.",
    ]
    copy_score = shared_rare_ngrams(ref, near_copy, background)
    para_score = shared_rare_ngrams(ref, paraphrase, background)
    assert copy_score > para_score > shared_rare_ngrams(ref, unrelated, background) == 0.0
    assert 0.0 < copy_score < 1.0
    assert shared_rare_ngrams(ref, ref, background) == pytest.approx(1.0)
    assert shared_rare_ngrams("", "", background) == 0.0


def test_background_discounts_common_wording():
    ref = "in order to win you must practise every day and rest well"
    cand = "in order to win you must sleep early and eat well"
    quiet = shared_rare_ngrams(ref, cand, [])
    crowded = shared_rare_ngrams(ref, cand, ["in order to win you must try"] * 5)
    assert crowded < quiet
