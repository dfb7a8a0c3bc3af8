"""Answer keys: what counts as a correct answer, and which answer a response commits to.

Two models giving the same WRONG answer is a strong trace of copying, so besides checking
correctness a key extracts the normalised answer a response commits to, for comparison.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

_ACCENTS = re.compile("[\u0300-\u036f]")  # Latin/Greek/Cyrillic diacritics only; Indic and kana marks stay
_TYPOGRAPHY = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2212": "-"})
_MARKDOWN = re.compile(r"[*`~#>|]")
_UNSPACED = re.compile("[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_NUM = r"-?(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?"
_NUMBER = re.compile(rf"(?<![0-9a-z.,]){_NUM}(?!\d)")
_LEAD = r"[\s*_$€£¥]*"  # markdown and currency allowed between a marker and its number
_MARKER = (
    r"(?:final answer|answer|result|respuesta|réponse|antwort|resposta|ответ|答案|答え|उत्तर)"
    r"\s*(?:is|es|est|ist|é|是|为|は|:|：|=)"
)
_BOXED = re.compile(rf"\\boxed\{{{_LEAD}({_NUM})")
_MARKED = re.compile(rf"{_MARKER}{_LEAD}({_NUM})")
_BOLD = re.compile(r"\*\*([^*\n]{1,60})\*\*")
_EQUALS = re.compile(rf"[=≈]\s*{_LEAD}({_NUM})")
_COPULA = re.compile(
    rf"\b(?:is|are|equals|makes|gives|costs|was|were)\s+"
    rf"(?:about |approximately |exactly |only |just )?{_LEAD}({_NUM})"
)
_UNITS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
_NUMBER_WORD = re.compile(rf"\b(?:({'|'.join(_TENS)})(?:[- ]({'|'.join(_UNITS[1:10])}))?|({'|'.join(_UNITS)}))\b")
_MARKED_TEXT = re.compile(rf"{_MARKER}\s*(.+)")
_SENTENCE_END = re.compile(r"(?<!\d)[.!?;](?!\d)|[。！？\n]")
_PUNCT = re.compile(r"(?!(?<=\d)\.(?=\d)|(?<=\w)'(?=\w))[^\w\s]")  # keeps decimal points and apostrophes
_FILLER = re.compile(
    r"^(?:(?:it|that|this|they|he|she)\s+(?:is|was|are|were|will be|would be)\s+|it's\s+)?"
    r"(?:(?:the|a|an)\s+)*"
)


def normalise(text: str) -> str:
    """Fold case, Latin accents, curly quotes and markdown so answers compare by content, not typography."""
    text = unicodedata.normalize("NFC", _ACCENTS.sub("", unicodedata.normalize("NFKD", text)))
    text = _MARKDOWN.sub(" ", text.translate(_TYPOGRAPHY).casefold())
    return " ".join(text.split())


def _light(text: str) -> str:
    """Width/case folding only: keeps the markdown that tells where a response put its answer."""
    return unicodedata.normalize("NFKC", text).translate(_TYPOGRAPHY).casefold()


@lru_cache(maxsize=4096)
def _term_pattern(term: str) -> re.Pattern:
    """Whole-word matcher for an accepted answer; scripts written without spaces match as substrings."""
    norm = re.escape(normalise(term))
    if _UNSPACED.search(term):
        return re.compile(norm)
    return re.compile(rf"(?<!\w)(?<!\d[.,]){norm}(?!\w)(?![.,]\d)")


@lru_cache(maxsize=1024)
def _regex(pattern: str) -> re.Pattern:
    return re.compile(pattern, re.IGNORECASE)


def _to_float(token: str) -> float:
    return float(token.replace(",", ""))


def _format_number(value: float) -> str:
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:.10g}"


def _committed_number(text: str) -> float | None:
    """The number a response commits to as its answer.

    Tiers, first hit wins: ``\\boxed{}``; the last "answer is/:" marker (several languages); the
    first bold span holding a number; the last "= N" (or "≈ N"); the first "is/are/equals... N"; the first
    number; and, only when the text has no digits, the first English number word below a hundred.
    """
    light = _light(text)
    for pattern in (_BOXED, _MARKED):
        hits = pattern.findall(light)
        if hits:
            return _to_float(hits[-1])
    for span in _BOLD.findall(light):
        hit = _NUMBER.search(span)
        if hit:
            return _to_float(hit.group())
    hits = _EQUALS.findall(light)
    if hits:
        return _to_float(hits[-1])
    for pattern in (_COPULA, _NUMBER):
        hit = pattern.search(light)
        if hit:
            return _to_float(hit.group(1) if pattern.groups else hit.group())
    word = _NUMBER_WORD.search(normalise(text))
    if word is None:
        return None
    tens, unit, small = word.groups()
    if small:
        return float(_UNITS.index(small))
    return float(20 + 10 * _TENS.index(tens) + (_UNITS.index(unit) if unit else 0))


def _short_answer(text: str) -> str | None:
    """A normalised short final answer: after an "answer is" marker, else the first bold span,
    else the first sentence; at most twelve words, without a leading "it was"/"the"-style filler."""
    light = _light(text)
    marked = _MARKED_TEXT.findall(light)
    bold = _BOLD.search(light)
    if marked:
        candidate = marked[-1]
    elif bold:
        candidate = bold.group(1)
    else:
        candidate = next((line for line in light.splitlines() if line.strip()), "")
    candidate = _SENTENCE_END.split(candidate, maxsplit=1)[0]
    words = _FILLER.sub("", " ".join(_PUNCT.sub(" ", normalise(candidate)).split())).split()
    return " ".join(words[:12]) or None


@dataclass(frozen=True)
class AnswerKey:
    """What counts as a correct answer. A response is correct when ANY given criterion holds:
    its committed number is within ``tolerance`` of ``number``, an ``accept`` entry occurs as whole
    words (after case/accent/markdown folding), or ``regex`` matches (case-insensitively)."""

    accept: tuple[str, ...] = ()
    regex: str | None = None
    number: float | None = None
    tolerance: float = 0.0

    def check(self, text: str) -> bool:
        """Does the response give an accepted answer? (False for an empty or missing response.)"""
        if not text:
            return False
        if self.number is not None:
            got = _committed_number(text)
            if got is not None and math.isclose(got, self.number, rel_tol=1e-9, abs_tol=self.tolerance):
                return True
        norm = normalise(text)
        if any(_term_pattern(term).search(norm) for term in self.accept):
            return True
        return self._regex_hit(text, norm) is not None

    def extract(self, text: str) -> str | None:
        """The normalised answer the response commits to, so two models' WRONG answers can be compared.

        Numeric keys give the committed number ("41"); otherwise a matched ``accept`` entry gives the
        key's canonical first entry, a regex match gives the matched text, and anything else the
        short-final-answer heuristic. None for an empty response.
        """
        if not text or not text.strip():
            return None
        if self.number is not None:
            got = _committed_number(text)
            if got is not None:
                return _format_number(got)
        norm = normalise(text)
        if any(_term_pattern(term).search(norm) for term in self.accept):
            return normalise(self.accept[0])
        hit = self._regex_hit(text, norm)
        return normalise(hit.group()) if hit else _short_answer(text)

    def _regex_hit(self, text: str, norm: str) -> re.Match | None:
        """Search the normalised text first (folded quotes and case), then the raw response."""
        if self.regex is None:
            return None
        return _regex(self.regex).search(norm) or _regex(self.regex).search(text)

    def to_dict(self) -> dict:
        return {"accept": list(self.accept), "regex": self.regex, "number": self.number, "tolerance": self.tolerance}
