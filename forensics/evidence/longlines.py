"""Long lines checked without copies of their long strings, so ``verify`` stays within about one line of memory.

A record line longer than :data:`LONG_LINE` has each string value longer than :data:`LONG_STRING`
replaced, in a small *skeleton* of the line, by a placeholder. The skeleton is parsed and checked
like any line; each long literal is checked for canonical form chunk by chunk, and the record hash
is computed over the skeleton's canonical form with the literals' own bytes streamed back in place
of the placeholders. Only a record that must be kept (or a collected response, whose raw reply is
re-parsed) has its long strings decoded, again chunk by chunk.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

from forensics.evidence.records import canonical_json

LONG_LINE = 4 << 20
LONG_STRING = 1 << 20
CHUNK = 1 << 20
_BACKSLASH = 0x5C


def string_literals(raw: bytes) -> Iterator[tuple[int, int]]:
    """(start, end) of every JSON string literal in ``raw``, quotes included, in order."""
    pos = 0
    while (start := raw.find(b'"', pos)) >= 0:
        end = start + 1
        while True:
            end = raw.find(b'"', end)
            if end < 0:
                raise ValueError("unterminated string")
            k = end - 1
            while raw[k] == _BACKSLASH:
                k -= 1
            if (end - 1 - k) % 2 == 0:  # an even run of backslashes: the quote is not escaped
                break
            end += 1
        yield start, end + 1
        pos = end + 1


@dataclass(frozen=True)
class Elided:
    """A line's skeleton and where each elided literal stands in the line (quotes included)."""

    skeleton: bytes
    spans: dict[str, tuple[int, int]]


def elide(raw: bytes) -> Elided | None:
    """The skeleton of a long line, or None when it holds no long string value."""
    pieces, spans, last = [], {}, 0
    nonce = secrets.token_hex(8)
    for start, end in string_literals(raw):
        if end - start > LONG_STRING and raw[end : end + 1] != b":":  # values only, never keys
            token = f"\x00elided:{nonce}:{len(spans)}"
            pieces += [raw[last:start], canonical_json(token).encode("utf-8")]
            spans[token] = (start, end)
            last = end
    if not spans:
        return None
    pieces.append(raw[last:])
    return Elided(b"".join(pieces), spans)


def _chunks(raw: bytes, start: int, end: int) -> Iterator[bytes]:
    """The inside of the literal ``raw[start:end]`` in pieces cut between escapes and UTF-8 characters."""
    i, stop = start + 1, end - 1
    while i < stop:
        j = min(stop, i + CHUNK)
        if j < stop:
            w = raw.rfind(b"\\", max(i, j - 6), j)  # never inside an escape such as \uXXXX
            if w > i:
                while w > i + 1 and raw[w - 1] == _BACKSLASH:
                    w -= 1
                j = w
            while j > i + 1 and (raw[j] & 0xC0) == 0x80:  # never inside a UTF-8 sequence
                j -= 1
        yield raw[i:j]
        i = j


def _decode(chunk: bytes) -> str:
    return json.loads(b'"' + chunk + b'"')


def canonical_literal(raw: bytes, start: int, end: int) -> bool:
    """Whether a long literal is written exactly as :func:`canonical_json` writes its string."""
    return all(canonical_json(_decode(c))[1:-1].encode("utf-8") == c for c in _chunks(raw, start, end))


def decoded(raw: bytes, start: int, end: int) -> str:
    return "".join(_decode(c) for c in _chunks(raw, start, end))


def record_hash_elided(record: dict, elided: Elided, raw: bytes) -> str:
    """The record hash of the full line, from its parsed skeleton and the long literals' bytes."""
    text = canonical_json({k: v for k, v in record.items() if k != "hash"}).encode("utf-8")
    h, pos, view = hashlib.sha256(), 0, memoryview(raw)
    marks = sorted((text.find(canonical_json(t).encode("utf-8")), t) for t in elided.spans)
    for at, token in marks:
        if at < 0:
            continue
        h.update(text[pos:at])
        start, end = elided.spans[token]
        h.update(view[start:end])
        pos = at + len(canonical_json(token).encode("utf-8"))
    h.update(text[pos:])
    return h.hexdigest()


class LongText:
    """A long string value kept as the bytes of its JSON literal in the line it was read from, so an
    import copies a huge answer into the evidence log piece by piece, never as a whole string.
    :func:`forensics.evidence.records.canonical_chunks` writes it, and ``str()`` decodes it."""

    is_long_text = True
    __slots__ = ("raw", "start", "end")

    def __init__(self, raw: bytes, start: int, end: int):
        self.raw, self.start, self.end = raw, start, end

    def pieces(self) -> Iterator[str]:
        return (_decode(c) for c in _chunks(self.raw, self.start, self.end))

    def canonical_chunks(self) -> Iterator[str]:
        yield '"'
        for piece in self.pieces():
            yield canonical_json(piece)[1:-1]
        yield '"'

    def __str__(self) -> str:
        return "".join(self.pieces())

    def redacted(self, redact) -> LongText | str:
        """Itself when no secret occurs in it (looked for across piece boundaries), else the redacted text."""
        overlap = max((len(v) for v, _ in getattr(redact, "secrets", ())), default=0)
        tail = ""
        for piece in self.pieces():
            window = tail + piece
            if redact(window) != window:
                return redact(str(self))
            tail = window[-overlap:] if overlap else ""
        return self


def long_values(obj: dict, elided: Elided, raw: bytes, keys: tuple[str, ...]) -> dict:
    """``obj`` (a parsed skeleton) with the long values of top-level ``keys`` as :class:`LongText` and
    every other long string decoded."""
    out = {}
    for key, value in obj.items():
        span = elided.spans.get(value) if isinstance(value, str) else None
        out[key] = LongText(raw, *span) if span and key in keys else restore(value, elided, raw)
    return out


def restore(obj, elided: Elided, raw: bytes):
    """``obj`` with every placeholder replaced by its decoded long string."""
    if isinstance(obj, str):
        span = elided.spans.get(obj)
        return decoded(raw, *span) if span else obj
    if isinstance(obj, dict):
        return {k: restore(v, elided, raw) for k, v in obj.items()}
    if isinstance(obj, list):
        return [restore(v, elided, raw) for v in obj]
    return obj
