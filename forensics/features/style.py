"""Stylometry and rare-phrase features: the formatting and wording habits a student copies.

Distillation transfers more than content: a student trained on a teacher's outputs picks up
its markdown habits, stock openers and closers ("Certainly! ... I hope this helps!") and its
pet phrases. ``style_vector`` turns one response into interpretable habit measurements;
``characteristic_phrases`` finds the reference's pet phrases against a panel of other
models; ``shared_rare_ngrams`` scores agreement on wording that the panel does not share.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence

import numpy as np
from sklearn.feature_extraction.text import CountVectorizer

_LINE = re.MULTILINE
_HEADER = re.compile(r"^\s{0,3}#{1,6}\s+\S", _LINE)
_BULLET = re.compile(r"^\s*[-*•+]\s+\S", _LINE)
_NUMBERED = re.compile(r"^\s*\d{1,3}[.)]\s+\S", _LINE)
_BOLD = re.compile(r"\*\*[^*\n]+\*\*|__[^_\n]+__")
_FENCE = re.compile(r"^\s*(?:```|~~~)", _LINE)
_INLINE_CODE = re.compile(r"(?<!`)`[^`\n]+`(?!`)")
_TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$", _LINE)
_EMOJI = re.compile("[\U0001f300-\U0001faff\U00002600-\U000027bf\U0001f000-\U0001f02f\U0001f1e6-\U0001f1ff]")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_SENTENCE = re.compile(r"[^.!?。！？\n]+[.!?。！？]*")
_WORD = re.compile(r"\w+(?:'\w+)*")

_OPENERS = {
    "opener_affirmative": r"(?:sure|certainly|of course|absolutely|definitely|yes|okay|ok|alright)\b",
    "opener_praise": r"(?:(?:what an?|that's an?|that is an?|this is an?)\s+)?(?:great|good|excellent|interesting|"
    r"fascinating|wonderful)\s+(?:question|idea|point)",
    "opener_apology": r"(?:i'm sorry|i am sorry|sorry|i apologi[sz]e|unfortunately)\b",
    "opener_as_ai": r"as an? (?:ai|language model|ai language model|artificial intelligence)\b",
    "opener_here": r"here(?:'s| is| are)\b",
}
_CLOSERS = {
    "closer_hope_helps": r"\bhope (?:this|that|it) (?:helps|was helpful|is helpful)|\bhope you (?:find|enjoy)",
    "closer_offer": r"\b(?:let me know if|feel free to|if you have any (?:other|more|further)? ?questions|"
    r"don't hesitate to|happy to help)",
    "closer_summary": r"(?:^|\n)\s*(?:in conclusion|in summary|to summari[sz]e|overall|ultimately|in short)\b",
}
_HEDGES = re.compile(
    r"\b(?:may|might|could|perhaps|possibly|generally|typically|usually|often|likely|somewhat|"
    r"it depends|it's important to note|it is important to note|keep in mind)\b",
    re.IGNORECASE,
)
_FIRST_PERSON = re.compile(r"\b(?:i|i'm|i've|i'd|i'll|me|my)\b", re.IGNORECASE)
_SECOND_PERSON = re.compile(r"\b(?:you|your|you're|you'll|you've|yours)\b", re.IGNORECASE)
_CLOSER_WINDOW = 300  # closers live in the last few sentences

STYLE_FEATURES: tuple[str, ...] = (
    "log_words",
    "log_chars",
    "log_paragraphs",
    "log_headers",
    "log_bullets",
    "log_numbered",
    "log_bold",
    "log_code_fences",
    "log_inline_code",
    "log_table_rows",
    "log_emoji",
    "exclamation_rate",
    "question_rate",
    "log_mean_sentence_words",
    "mean_word_chars",
    "type_token_ratio",
    "hedge_rate",
    "first_person_rate",
    "second_person_rate",
    "dash_rate",
    "semicolon_rate",
    "colon_rate",
    "parenthesis_rate",
    *_OPENERS,
    *_CLOSERS,
)


def _per_100_words(count: int, n_words: int) -> float:
    return 100.0 * count / max(n_words, 1)


def style_vector(text: str | None) -> np.ndarray:
    """Interpretable habit measurements of one response, ordered as ``STYLE_FEATURES``.

    Counts are log1p-scaled and rates are per 100 words, so that long answers do not dominate;
    openers and closers are 0/1 flags."""
    text = (text or "").replace("\u2019", "'")
    stripped = text.strip()
    lower = stripped.lower()
    words = _WORD.findall(lower)
    n_words = len(words)
    sentences = [s for s in _SENTENCE.findall(stripped) if _WORD.search(s)]
    ends = [s.rstrip()[-1:] for s in sentences]
    paragraphs = [p for p in _PARAGRAPH_BREAK.split(stripped) if p.strip()]
    values = {
        "log_words": math.log1p(n_words),
        "log_chars": math.log1p(len(stripped)),
        "log_paragraphs": math.log1p(len(paragraphs)),
        "log_headers": math.log1p(len(_HEADER.findall(text))),
        "log_bullets": math.log1p(len(_BULLET.findall(text))),
        "log_numbered": math.log1p(len(_NUMBERED.findall(text))),
        "log_bold": math.log1p(len(_BOLD.findall(text))),
        "log_code_fences": math.log1p(len(_FENCE.findall(text)) // 2),
        "log_inline_code": math.log1p(len(_INLINE_CODE.findall(text))),
        "log_table_rows": math.log1p(len(_TABLE_ROW.findall(text))),
        "log_emoji": math.log1p(len(_EMOJI.findall(text))),
        "exclamation_rate": ends.count("!") / max(len(sentences), 1),
        "question_rate": ends.count("?") / max(len(sentences), 1),
        "log_mean_sentence_words": math.log1p(n_words / max(len(sentences), 1)),
        "mean_word_chars": sum(map(len, words)) / max(n_words, 1),
        "type_token_ratio": len(set(words)) / max(n_words, 1),
        "hedge_rate": _per_100_words(len(_HEDGES.findall(lower)), n_words),
        "first_person_rate": _per_100_words(len(_FIRST_PERSON.findall(lower)), n_words),
        "second_person_rate": _per_100_words(len(_SECOND_PERSON.findall(lower)), n_words),
        "dash_rate": _per_100_words(text.count("\u2014") + text.count(" - ") + text.count("--"), n_words),
        "semicolon_rate": _per_100_words(text.count(";"), n_words),
        "colon_rate": _per_100_words(text.count(":"), n_words),
        "parenthesis_rate": _per_100_words(text.count("("), n_words),
    }
    opening = lower.lstrip("#*_>\"' \n")
    values.update({name: float(bool(re.match(p, opening))) for name, p in _OPENERS.items()})
    ending = lower[-_CLOSER_WINDOW:]
    values.update({name: float(bool(re.search(p, ending))) for name, p in _CLOSERS.items()})
    return np.array([values[name] for name in STYLE_FEATURES], dtype=float)


def style_matrix(texts: Iterable[str | None]) -> np.ndarray:
    """``style_vector`` for many responses: shape (n_texts, len(STYLE_FEATURES))."""
    rows = [style_vector(t) for t in texts]
    return np.vstack(rows) if rows else np.empty((0, len(STYLE_FEATURES)))


# Words are Latin/Cyrillic runs (keeping "it's" whole) or single CJK characters, which carry
# roughly a word's worth of meaning each.
_CJK = "\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+(?:'[^\W{_CJK}]+)*")


def tokenize(text: str | None) -> list[str]:
    """Lower-cased word tokens shared by all phrase features."""
    return _TOKEN.findall((text or "").replace("\u2019", "'").lower())


def word_ngrams(text: str | None, n: int = 3) -> set[str]:
    """The distinct word n-grams of ``text``, space-joined."""
    tokens = tokenize(text)
    return {" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


def _phrase_vectorizer(ngram_range: tuple[int, int], **kwargs) -> CountVectorizer:
    # binary: a habit is how many responses use a phrase, not how often one response repeats it
    return CountVectorizer(
        tokenizer=tokenize, token_pattern=None, lowercase=False, ngram_range=ngram_range, binary=True, **kwargs
    )


def characteristic_phrases(
    ref_texts: Sequence[str | None],
    other_texts_list: Sequence[Sequence[str | None]],
    n: tuple[int, int] = (2, 4),
    top_k: int = 50,
    min_df: int = 3,
    prior_scale: float = 1.0,
) -> list[str]:
    """Word n-grams the reference uses far more than the background panel, best first.

    Scores are z-scored log-odds ratios with an informative Dirichlet prior (Monroe, Colaresi
    & Quinn 2008). Counts are numbers of responses using a phrase, over the candidate phrases
    (those in at least ``min_df`` reference responses), which keeps the vocabulary small. The
    prior is the pooled frequency times ``prior_scale``, so phrases seen only a few times are
    shrunk toward "no difference" instead of topping the list."""
    ref = [t or "" for t in ref_texts]
    background = [t or "" for texts in other_texts_list for t in texts]
    if not ref or not background:
        return []
    vectorizer = _phrase_vectorizer(n, min_df=min_df)
    try:
        y_ref = np.asarray(vectorizer.fit_transform(ref).sum(axis=0)).ravel().astype(float)
    except ValueError:  # no phrase reaches min_df, e.g. too few or empty responses
        return []
    y_bg = np.asarray(vectorizer.transform(background).sum(axis=0)).ravel().astype(float)
    alpha = prior_scale * (y_ref + y_bg)
    alpha0 = alpha.sum()
    n_ref, n_bg = y_ref.sum(), y_bg.sum()
    delta = np.log((y_ref + alpha) / (n_ref + alpha0 - y_ref - alpha)) - np.log(
        (y_bg + alpha) / (n_bg + alpha0 - y_bg - alpha)
    )
    z = delta / np.sqrt(1.0 / (y_ref + alpha) + 1.0 / (y_bg + alpha))
    order = np.argsort(-z, kind="stable")[:top_k]
    vocab = vectorizer.get_feature_names_out()
    return [str(vocab[i]) for i in order if z[i] > 0]


def phrase_overlaps(phrases: Sequence[str], texts: Iterable[str | None]) -> np.ndarray:
    """For each text, how many of ``phrases`` (as returned by ``characteristic_phrases``) it uses."""
    texts = [t or "" for t in texts]
    phrases = sorted(set(phrases))
    if not phrases:
        return np.zeros(len(texts))
    lengths = [len(p.split()) for p in phrases]
    vectorizer = _phrase_vectorizer((min(lengths), max(lengths)), vocabulary=phrases)
    return np.asarray(vectorizer.transform(texts).sum(axis=1)).ravel().astype(float)


def phrase_overlap(phrases: Sequence[str], text: str | None) -> int:
    """How many of ``phrases`` one response uses."""
    return int(phrase_overlaps(phrases, [text])[0])


def shared_rare_ngrams(
    ref_text: str | None, cand_text: str | None, background_texts: Sequence[str | None], n: int = 3
) -> float:
    """IDF-weighted Jaccard overlap of the two responses' word n-grams, in [0, 1].

    ``background_texts`` are other models' responses to the same prompt (without R and S):
    an n-gram every panel member used is the obvious way to say it and weighs little, one
    nobody else used weighs most, so a high score means agreement on specific wording. IDF is
    sklearn's smoothed form, log((1 + N) / (1 + df)) + 1, which reduces to plain Jaccard when
    there is no background."""
    ref, cand = word_ngrams(ref_text, n), word_ngrams(cand_text, n)
    union = ref | cand
    if not union:
        return 0.0
    background = [word_ngrams(t, n) for t in background_texts]
    n_bg = len(background)

    def weight(gram: str) -> float:
        df = sum(gram in grams for grams in background)
        return math.log((1 + n_bg) / (1 + df)) + 1.0

    weights = {gram: weight(gram) for gram in union}
    return sum(weights[g] for g in ref & cand) / sum(weights.values())
