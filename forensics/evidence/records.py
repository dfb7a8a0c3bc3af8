"""Typed, versioned evidence records, and the one line reader every consumer of a log uses.

Each record kind has one class, so a record is built in one place (its constructor checks
the fields) and read in one place (:func:`parse_record` checks the schema version and the
fields). Records stay ``dict`` subclasses, so readers above keep plain key access.
Lines are split on ``\\n`` only: U+2028, U+2029 and U+0085 are ordinary characters inside a
reply, not line ends. JSON is strict (no NaN or Infinity), so any tool can re-hash a log.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

SCHEMA_FAMILY = "forensics.evidence"
# 1: no seals (legacy). 2: seals sign head, count and hashes. 3: seals sign the whole seal record,
# every record carries the writer's MAC, and every field a record is written with is checked.
SCHEMA_VERSION = 3
SCHEMA = f"{SCHEMA_FAMILY}/{SCHEMA_VERSION}"
GENESIS = "0" * 64
# Fields every written record has, whatever its kind (the writer adds them).
ENVELOPE = {"kind": str, "schema": str, "seq": int, "prev": str, "timestamp": str, "hash": str}
_NONE = type(None)
_NUM = (int, float)


class EvidenceError(Exception):
    """An evidence log that cannot be used as it is."""


class RecordError(EvidenceError):
    """A record that does not fit its schema; the message names file, line and field."""

    def __init__(self, path: Path | str | None, line: int | None, field_name: str, problem: str):
        self.path, self.line, self.field, self.problem = (str(path) if path else None), line, field_name, problem
        where = f"{path}:{line}: " if path else ""
        super().__init__(f"{where}field '{field_name}': {problem}")


def canonical_json(obj) -> str:
    """The one serialisation that is hashed: sorted keys, no spaces, UTF-8, strict JSON."""
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


_PIECE = 1 << 20


def canonical_chunks(obj) -> Iterator[str]:
    """:func:`canonical_json` in pieces, long strings cut into slices: the same text, never a copy of
    a long answer at once (escaping is per character, so slices escape exactly as the whole)."""
    if getattr(obj, "is_long_text", False):  # forensics.evidence.longlines.LongText
        yield from obj.canonical_chunks()
    elif isinstance(obj, str):
        if len(obj) <= _PIECE:
            yield canonical_json(obj)
            return
        yield '"'
        for i in range(0, len(obj), _PIECE):
            yield canonical_json(obj[i : i + _PIECE])[1:-1]
        yield '"'
    elif isinstance(obj, dict):
        yield "{"
        for i, key in enumerate(sorted(obj)):
            if not isinstance(key, str):
                raise TypeError(f"keys must be str, not {type(key).__name__}")
            yield ("," if i else "") + canonical_json(key) + ":"
            yield from canonical_chunks(obj[key])
        yield "}"
    elif isinstance(obj, list | tuple):
        yield "["
        for i, value in enumerate(obj):
            if i:
                yield ","
            yield from canonical_chunks(value)
        yield "]"
    else:
        yield canonical_json(obj)


def sha256_of(chunks) -> str:
    """SHA-256 of the UTF-8 text the chunks make up."""
    h = hashlib.sha256()
    for chunk in chunks:
        h.update(chunk.encode("utf-8"))
    return h.hexdigest()


def _reject_constant(name: str):
    raise ValueError(f"non-standard JSON constant {name}")


def loads_strict(text: str):
    """JSON as the standard defines it: NaN and Infinity are refused, not read as floats."""
    return json.loads(text, parse_constant=_reject_constant)


def normalise_numbers(obj, path: str = "$") -> tuple[object, list[dict]]:
    """Replace non-finite floats (a server's bare NaN/Infinity) by null; say where and what they were."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None, [{"path": path, "was": repr(obj)}]
    if isinstance(obj, dict):
        out, notes = {}, []
        for k, v in obj.items():
            out[k], sub = normalise_numbers(v, f"{path}.{k}")
            notes += sub
        return out, notes
    if isinstance(obj, list):
        out, notes = [], []
        for i, v in enumerate(obj):
            value, sub = normalise_numbers(v, f"{path}[{i}]")
            out.append(value)
            notes += sub
        return out, notes
    return obj, []


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def record_hash(record: dict) -> str:
    """Hash of a record's canonical form without its own ``hash`` field (streamed: no copy of the record)."""
    return sha256_of(canonical_chunks({k: v for k, v in record.items() if k != "hash"}))


BLOCK = 1 << 20


class LineTooLong(EvidenceError):
    """A line longer than the reader's cap; the message names file and line."""


def iter_lines(
    path: Path | str,
    *,
    max_line: int | None = None,
    offsets: bool = False,
    last: bool = False,
    hasher=None,
    handoff: bool = False,
) -> Iterator[tuple]:
    """(line number, bytes[, byte offset]) of every complete line, split on ``\\n`` only; a last
    line without its newline (a torn tail) only with ``last``. Streams: memory grows with the longest
    line, not with the file, and a long line is read into one buffer of its own size (no joined
    copies). ``max_line`` caps a line's bytes, with an error naming file and line. ``hasher`` (a
    ``hashlib`` object) is fed exactly the bytes yielded, newlines included: the hash of what was parsed.
    With ``handoff`` each line comes in a one-item list the caller empties, so the reader keeps no
    reference to it while the caller decodes it."""
    with open(path, "rb") as fh:
        lineno, start, pos, parts, size, spilled = 0, 0, 0, [], 0, False

        def whole(length: int) -> bytes:
            if not spilled:
                return parts[0] if len(parts) == 1 else b"".join(parts)
            here = fh.tell()  # a long line: read once more into a buffer of exactly its size
            fh.seek(start)
            line = fh.read(length)
            fh.seek(here)
            return line

        while block := fh.read(BLOCK):
            at = 0
            while (nl := block.find(b"\n", at)) >= 0:
                lineno += 1
                length = size + nl - at
                if max_line is not None and length > max_line:
                    raise LineTooLong(
                        f"{path}:{lineno}: line of {length:,} bytes is longer than the cap of {max_line:,}"
                    )
                if not spilled:
                    parts.append(block[at:nl])
                line = whole(length)
                if hasher is not None:
                    hasher.update(line)
                    hasher.update(b"\n")
                item = [line] if handoff else line
                del line
                yield (lineno, item, start) if offsets else (lineno, item)
                del item
                start, at, parts, size, spilled = pos + nl + 1, nl + 1, [], 0, False
            rest = block[at:]
            size += len(rest)
            if max_line is not None and size > max_line:
                raise LineTooLong(f"{path}:{lineno + 1}: line longer than the cap of {max_line:,} bytes")
            if not spilled:
                parts.append(rest)
                if size > 8 * BLOCK:  # keep no copy of a long line while looking for its end
                    parts, spilled = [], True
            pos += len(block)
        if last and size:
            line = whole(size)
            if hasher is not None:
                hasher.update(line)
            item = [line] if handoff else line
            del line
            yield (lineno + 1, item, start) if offsets else (lineno + 1, item)


def file_tail(path: Path | str) -> tuple[int, int]:
    """(size of the file, bytes after its last newline): a torn tail, read from the end only."""
    with open(path, "rb") as fh:
        size = fh.seek(0, os.SEEK_END)
        pos, tail = size, 0
        while pos > 0:
            step = min(BLOCK, pos)
            fh.seek(pos - step)
            block = fh.read(step)
            nl = block.rfind(b"\n")
            if nl >= 0:
                return size, tail + step - nl - 1
            tail += step
            pos -= step
    return size, tail


def decode_line(path: Path | str, lineno: int, raw: bytes) -> dict:
    """One line as a JSON object, or an error naming file and line."""
    try:
        obj = loads_strict(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise RecordError(path, lineno, "<utf-8>", f"not UTF-8 ({exc.reason} at byte {exc.start})") from None
    except (json.JSONDecodeError, ValueError, RecursionError) as exc:
        raise RecordError(path, lineno, "<json>", f"not valid JSON ({exc})") from None
    if not isinstance(obj, dict):
        raise RecordError(path, lineno, "<json>", "not a JSON object")
    return obj


class Record(dict):
    """Base of every record kind.

    ``required`` maps each field every version of the kind has to its type; ``optional`` the
    fields a current writer may add. A record of the current schema is checked field by field,
    and a field that is neither is refused, so a record written with 22 fields is checked with 22
    (unless the kind is ``open``, like a note). New kinds register themselves by subclassing.
    """

    kind: ClassVar[str] = ""
    required: ClassVar[dict[str, type | tuple[type, ...]]] = {}
    optional: ClassVar[dict[str, type | tuple[type, ...]]] = {}
    open: ClassVar[bool] = False
    registry: ClassVar[dict[str, type[Record]]] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        Record.registry[cls.kind] = cls

    def __init__(self, fields: dict | None = None, /, **more):
        super().__init__(fields or {}, **more)
        self["kind"] = self.kind
        self.check(version=SCHEMA_VERSION, written=False)

    def check(
        self, path: Path | str | None = None, line: int | None = None, version: int = 0, written: bool = True
    ) -> None:
        """Types of the fields; with ``version`` >= 3 also the writer's fields and no unknown field."""
        for name, kind in self.required.items():
            if name not in self:
                raise RecordError(path, line, name, f"missing in a '{self.kind}' record")
            _check_type(self, name, kind, path, line)
        if version < 3:
            return
        known = {**ENVELOPE, "mac": str, **self.required, **self.optional}
        for name in (*ENVELOPE, "mac") if written else ():
            if name not in self:
                raise RecordError(path, line, name, f"missing in a '{self.kind}' record")
        for name in self:
            if name in known:
                _check_type(self, name, known[name], path, line)
            elif not self.open:
                raise RecordError(path, line, name, f"not a field of a '{self.kind}' record")


def is_text(value) -> bool:
    """A string, or a long string still kept as its JSON literal (``forensics.evidence.longlines.LongText``)."""
    return isinstance(value, str) or getattr(value, "is_long_text", False)


def _check_type(rec: dict, name: str, kind, path, line) -> None:
    value = rec[name]
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _flat(kind) and int in _flat(kind)):
        wanted = " or ".join("null" if k is _NONE else k.__name__ for k in _flat(kind))
        raise RecordError(path, line, name, f"expected {wanted}, got {type(value).__name__}")


def _flat(kind) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


_INT = (int,)
_STR_OR_NONE = (str, _NONE)
# What the collector writes about each exchange (response and error records alike).
_EXCHANGE = {
    "endpoint": _STR_OR_NONE,
    "provider": str,
    "probe_digest": str,
    "probe_set": str,
    "probe_set_version": str,
    "probe": dict,
    "messages": list,
    "prompt": str,
    "sample_index": int,
    "decoding": dict,
    "weights_sha256": str,
    "attempt": int,
    "request": dict,
    "sent_at": str,
    "latency_s": _NUM,
    "label": str,
    "model": str,
}


class RunRecord(Record):
    """Start of a collection run: what was asked of which model, with which settings and versions."""

    kind = "run"
    required = {"run_id": str, "model": str, "label": str, "decoding": dict}
    optional = {
        "endpoint": _STR_OR_NONE,
        "provider": str,
        "requested_not_sent": dict,
        "weights_sha256": _STR_OR_NONE,
        "max_reply_chars": int,
        "samples": int,
        "probe_sets": list,
        "planned": int,
        "already_done": int,
        "concurrency": int,
        "rate_limit": (int, float, _NONE),
        "max_attempts": int,
        "timeout_s": _NUM,
        "versions": dict,
        "command": (list, _NONE),
        "torn_tail_set_aside": _STR_OR_NONE,
        "adopted_unsealed": int,
    }


class ResponseRecord(Record):
    """One successful exchange: the exact request, the raw reply and the text taken from it."""

    kind = "response"
    required = {"run_id": str, "model": str, "label": str, "probe_id": str, "sample_index": _INT, "response": dict}
    optional = {**_EXCHANGE, "usage": (dict, _NONE), "normalised": list, "capped": dict, "duplicate_response_id": dict}

    def check(self, path=None, line=None, version=0, written=True):
        super().check(path, line, version, written)
        if not is_text(self["response"].get("text")):
            raise RecordError(path, line, "response.text", "missing or not a string")


class ErrorRecord(Record):
    """One failed attempt (or an unusable or empty reply), kept as evidence of what happened."""

    kind = "error"
    required = {"run_id": str, "probe_id": str, "error": dict}
    optional = _EXCHANGE


class RunEndRecord(Record):
    """End of a collection run with its counts."""

    kind = "run_end"
    required = {"run_id": str}
    optional = {"succeeded": int, "failed": int, "empty": int, "error_records": int, "wall_s": _NUM}


class ImportRecord(Record):
    """Start of an import: the source and the SHA-256 of every file read, the prompts file included."""

    kind = "import"
    required = {"format": str}
    optional = {
        "run_id": str,
        "source": str,
        "files": dict,
        "offered": int,
        "already_held": int,
        "split": str,
        "fingerprint": _STR_OR_NONE,
        "versions": dict,
        "command": (list, _NONE),
    }


class ImportedRecord(Record):
    """A response recorded by someone else, with the source file, its hash and the line."""

    kind = "imported"
    required = {"model": str, "label": str, "probe_id": str, "response": dict, "source": dict}
    optional = {
        "run_id": str,
        "prompt": str,
        "messages": list,
        "sample_index": int,
        "corpus": str,
        "prompt_meta": dict,
        "human_label": (str, int, float, bool, dict, list, _NONE),
    }


class SealRecord(Record):
    """An Ed25519 signature over the whole seal record: chain head, record count, the hashes since the
    last seal, its time and every other field but the signature (schema 2 seals signed the first three)."""

    kind = "seal"
    required = {
        "run_id": str,
        "head": str,
        "count": _INT,
        "hashes": list,
        "key_fingerprint": str,
        "public_key": str,
        "signature": str,
    }


class CampaignRecord(Record):
    """A flagged extraction campaign found in provider traffic: its accounts, scores, calibration and links."""

    kind = "campaign"
    required = {"run_id": str, "campaign_id": str, "accounts": list, "calibration": dict}
    optional = {
        "score_z": _NUM,
        "tests_z": dict,
        "member_median_z": _NUM,
        "threshold_z": _NUM,
        "requests": int,
        "harvest_requests": int,
        "first_request": str,
        "last_request": str,
        "indicators": dict,
        "fired": list,
        "links": dict,
        "mmd": list,
        "limits": list,
        "scan": dict,
    }


class TrafficRequestRecord(Record):
    """One provider request that supports a campaign finding, with its row provenance (file, SHA-256, row)."""

    kind = "traffic_request"
    required = {"run_id": str, "campaign_id": str, "account_id": str, "source": dict}
    optional = {
        "request_time": str,
        "model": _STR_OR_NONE,
        "user_agent": _STR_OR_NONE,
        "client_net": _STR_OR_NONE,
        "system": str,
        "prompt": str,
        "prompt_chars": int,
        "prompt_sha256": str,
        "features": dict,
    }


class NoteRecord(Record):
    """A statement by the investigator in the log itself (a migration, an override)."""

    kind = "note"
    required = {"text": str}
    open = True


def schema_version(value, path=None, line=None) -> int:
    """The version number of a ``schema`` field; a newer version than this code knows is refused."""
    family, _, version = str(value).partition("/")
    if family != SCHEMA_FAMILY or not version.isdigit():
        raise RecordError(path, line, "schema", f"'{value}' is not an evidence schema ({SCHEMA_FAMILY}/N)")
    if int(version) > SCHEMA_VERSION:
        raise RecordError(
            path,
            line,
            "schema",
            f"written by a newer toolkit (schema version {version}; this one reads up to {SCHEMA_VERSION}): "
            "upgrade distillation-forensics to read it",
        )
    return int(version)


def parse_record(obj: dict, path: Path | str | None = None, line: int | None = None) -> Record:
    """The typed record of a written line; names file, line and field when it does not fit."""
    cls = Record.registry.get(obj.get("kind"))
    if cls is None:
        raise RecordError(path, line, "kind", f"unknown record kind {obj.get('kind')!r}")
    version = schema_version(obj.get("schema"), path, line)
    rec = dict.__new__(cls)
    dict.__init__(rec, obj)
    rec.check(path, line, version)
    return rec
