"""Append-only, hash-chained JSONL evidence logs.

Every exchange with a model (and every imported recording) becomes one line. Each line holds
the SHA-256 of the line before it, so changing, dropping or reordering any record breaks the
chain at that record. A kill can leave a half-written last line; it is detected, moved to a
side file for the record, and never trusted.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

SCHEMA = "forensics.evidence/1"
GENESIS = "0" * 64
# Environment variables whose values must never reach a file the toolkit writes.
SECRET_NAME = re.compile(r"(API_?KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL)", re.IGNORECASE)


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def canonical_json(obj) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def record_hash(record: dict) -> str:
    """Hash of a record's canonical form without its own ``hash`` field."""
    body = {k: v for k, v in record.items() if k != "hash"}
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


class Redactor:
    """Replaces secret values (API keys and the like, taken from the environment) in text."""

    def __init__(self, extra_names: Iterable[str] = ()):
        names = {n for n in os.environ if SECRET_NAME.search(n)} | set(extra_names)
        # Short values would redact ordinary words; real keys are long.
        self.secrets = sorted(
            ((os.environ[n], n) for n in names if len(os.environ.get(n, "")) >= 8),
            key=lambda item: -len(item[0]),
        )

    def __call__(self, text: str) -> str:
        for value, name in self.secrets:
            if value in text:
                text = text.replace(value, f"[REDACTED:{name}]")
        return text


class EvidenceError(Exception):
    """An evidence log that cannot be used as it is."""


@dataclass
class VerifyResult:
    """Outcome of re-walking a log's hash chain."""

    path: str
    ok: bool
    n_records: int
    head: str
    first_bad_line: int | None = None
    first_bad_seq: int | None = None
    problem: str | None = None
    torn_tail: bool = False

    def describe(self) -> str:
        if self.ok:
            return f"OK {self.path}: {self.n_records} records, head {self.head}"
        where = f"line {self.first_bad_line}"
        if self.first_bad_seq is not None:
            where += f" (record seq {self.first_bad_seq})"
        return f"FAIL {self.path}: {where}: {self.problem}"


def _split_tail(data: bytes) -> tuple[bytes, bytes]:
    """Complete lines, and the bytes after the last newline (a torn write when non-empty)."""
    cut = data.rfind(b"\n") + 1
    return data[:cut], data[cut:]


def verify(path: Path | str) -> VerifyResult:
    """Re-walk the chain; name the first record whose content, hash or link is wrong."""
    path = Path(path)
    data = path.read_bytes()
    complete, tail = _split_tail(data)
    prev, seq, n = GENESIS, -1, 0
    for lineno, raw in enumerate(complete.splitlines(), 1):
        bad = lambda problem, s=None: VerifyResult(str(path), False, n, prev, lineno, s, problem)  # noqa: E731, B023 - called in this iteration only
        try:
            rec = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            return bad(f"not valid JSON ({exc})")
        if not isinstance(rec, dict):
            return bad("not a JSON object")
        rec_seq = rec.get("seq")
        if rec.get("hash") != record_hash(rec):
            return bad("content does not match its hash (record altered)", rec_seq)
        if raw.decode("utf-8") != canonical_json(rec):
            return bad("line is not in canonical form (record altered)", rec_seq)
        if rec.get("prev") != prev:
            return bad("prev does not match the hash of the record before (chain broken)", rec_seq)
        if rec_seq != seq + 1:
            return bad(f"seq {rec_seq} follows {seq} (record missing or reordered)", rec_seq)
        prev, seq, n = rec["hash"], rec_seq, n + 1
    if tail:
        return VerifyResult(
            str(path),
            False,
            n,
            prev,
            n + 1,
            None,
            "partially written last line (torn write); run a collection or `forensics verify --repair` to set it aside",
            torn_tail=True,
        )
    return VerifyResult(str(path), True, n, prev)


def read_records(path: Path | str, check: bool = True) -> list[dict]:
    """All records of a log; with ``check`` the chain must verify first."""
    path = Path(path)
    if check:
        result = verify(path)
        if not result.ok:
            raise EvidenceError(result.describe())
    complete, _ = _split_tail(path.read_bytes())
    return [json.loads(line) for line in complete.decode("utf-8").splitlines()]


class EvidenceLog:
    """A log opened for appending by one process, safe across threads.

    Opening repairs a torn tail (moving the bytes to ``<log>.torn-<time>``) and verifies the
    rest, so new records only ever extend a chain that checks out.
    """

    def __init__(self, path: Path | str, redactor: Redactor | None = None):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.redact = redactor or Redactor()
        self._lock = threading.Lock()
        self._fh = open(self.path, "a+b")
        try:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._fh.close()
            raise EvidenceError(f"{self.path}: another process is writing this evidence log") from None
        self.torn_bytes_saved_to = repair(self.path)
        result = verify(self.path)
        if not result.ok:
            self._fh.close()
            raise EvidenceError(result.describe())
        self.head, self.next_seq = result.head, result.n_records

    def append(self, record: dict, sync: bool = True) -> dict:
        """Chain, hash, redact and write one record; returns the record as written."""
        return self.extend([record], sync=sync)[0]

    def extend(self, records: Iterable[dict], sync: bool = True) -> list[dict]:
        written, lines = [], []
        with self._lock:
            head, seq = self.head, self.next_seq
            for record in records:
                body = json.loads(self.redact(canonical_json(record)))
                body.update(schema=SCHEMA, seq=seq, prev=head)
                body.pop("hash", None)
                body["hash"] = record_hash(body)
                lines.append(canonical_json(body) + "\n")
                written.append(body)
                head, seq = body["hash"], seq + 1
            self._fh.write("".join(lines).encode("utf-8"))
            self._fh.flush()
            if sync:
                os.fsync(self._fh.fileno())
            self.head, self.next_seq = head, seq
        return written

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()

    def __enter__(self) -> EvidenceLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def repair(path: Path | str) -> Path | None:
    """Set a torn last line aside (never trusted, never destroyed); returns the side file."""
    path = Path(path)
    if not path.exists():
        return None
    data = path.read_bytes()
    complete, tail = _split_tail(data)
    if not tail:
        return None
    side = path.with_name(f"{path.name}.torn-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%fZ')}")
    side.write_bytes(tail)
    with open(path, "r+b") as fh:
        fh.truncate(len(complete))
        fh.flush()
        os.fsync(fh.fileno())
    return side


def iter_logs(paths: Iterable[Path | str]) -> Iterator[Path]:
    """Expand folders into the ``*.jsonl`` logs they hold."""
    for p in map(Path, paths):
        if p.is_dir():
            yield from sorted(p.rglob("*.jsonl"))
        else:
            yield p
