"""Typed, versioned evidence records, and the one line reader every consumer of a log uses.

Each record kind has one class, so a record is built in one place (its constructor checks
the fields) and read in one place (:func:`parse_record` checks the schema version and the
fields). Records stay ``dict`` subclasses, so readers above keep plain key access.
Lines are split on ``\\n`` only: U+2028, U+2029 and U+0085 are ordinary characters inside a
reply, not line ends. JSON is strict (no NaN or Infinity), so any tool can re-hash a log.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

SCHEMA_FAMILY = "forensics.evidence"
SCHEMA_VERSION = 2
SCHEMA = f"{SCHEMA_FAMILY}/{SCHEMA_VERSION}"


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


def iter_lines(path: Path | str) -> Iterator[tuple[int, bytes]]:
    """(line number, bytes) of every complete line, split on ``\\n`` only; a torn tail is not yielded."""
    data = Path(path).read_bytes()
    complete = data[: data.rfind(b"\n") + 1]
    yield from enumerate(complete.split(b"\n")[:-1], 1)


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
    """Base of every record kind; ``required`` maps each field to the type it must have."""

    kind: ClassVar[str] = ""
    required: ClassVar[dict[str, type | tuple[type, ...]]] = {}
    registry: ClassVar[dict[str, type[Record]]] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        Record.registry[cls.kind] = cls

    def __init__(self, fields: dict | None = None, /, **more):
        super().__init__(fields or {}, **more)
        self["kind"] = self.kind
        self.check()

    def check(self, path: Path | str | None = None, line: int | None = None) -> None:
        for name, kind in self.required.items():
            if name not in self:
                raise RecordError(path, line, name, f"missing in a '{self.kind}' record")
            if not isinstance(self[name], kind):
                raise RecordError(
                    path, line, name, f"expected {getattr(kind, '__name__', kind)}, got {type(self[name]).__name__}"
                )


_INT = (int,)


class RunRecord(Record):
    """Start of a collection run: what was asked of which model, with which settings and versions."""

    kind = "run"
    required = {"run_id": str, "model": str, "label": str, "decoding": dict}


class ResponseRecord(Record):
    """One successful exchange: the exact request, the raw reply and the text taken from it."""

    kind = "response"
    required = {"run_id": str, "model": str, "label": str, "probe_id": str, "sample_index": _INT, "response": dict}

    def check(self, path=None, line=None):
        super().check(path, line)
        if not isinstance(self["response"].get("text"), str):
            raise RecordError(path, line, "response.text", "missing or not a string")


class ErrorRecord(Record):
    """One failed attempt (or an unusable or empty reply), kept as evidence of what happened."""

    kind = "error"
    required = {"run_id": str, "probe_id": str, "error": dict}


class RunEndRecord(Record):
    """End of a collection run with its counts."""

    kind = "run_end"
    required = {"run_id": str}


class ImportRecord(Record):
    """Start of an import: the source and the SHA-256 of every file read."""

    kind = "import"
    required = {"format": str}


class ImportedRecord(Record):
    """A response recorded by someone else, with the source file, its hash and the line."""

    kind = "imported"
    required = {"model": str, "label": str, "probe_id": str, "response": dict, "source": dict}


class SealRecord(Record):
    """An Ed25519 signature over the chain head, the record count and the hashes since the last seal."""

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


class TrafficRequestRecord(Record):
    """One provider request that supports a campaign finding, with its row provenance (file, SHA-256, row)."""

    kind = "traffic_request"
    required = {"run_id": str, "campaign_id": str, "account_id": str, "source": dict}


class NoteRecord(Record):
    """A statement by the investigator in the log itself (a migration, an override)."""

    kind = "note"
    required = {"text": str}


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
    schema_version(obj.get("schema"), path, line)
    cls = Record.registry.get(obj.get("kind"))
    if cls is None:
        raise RecordError(path, line, "kind", f"unknown record kind {obj.get('kind')!r}")
    rec = dict.__new__(cls)
    dict.__init__(rec, obj)
    rec.check(path, line)
    return rec
