"""Append-only, hash-chained JSONL evidence logs.

Every exchange with a model (and every imported recording) becomes one line. Each line holds
the SHA-256 of the line before it, so changing, dropping or reordering any record breaks the
chain at that record. A kill can leave a half-written last line; it is detected, moved to a
side file for the record, and never trusted.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from forensics.evidence.records import (
    SCHEMA,
    EvidenceError,
    Record,
    RecordError,
    SealRecord,
    canonical_json,
    decode_line,
    iter_lines,
    parse_record,
)
from forensics.evidence.seal import check_signature, sign_seal
from forensics.providers import reply_parser, used_secrets

GENESIS = "0" * 64
# Environment variables whose values must never reach a file or stream the toolkit writes
# (settings such as TOKENIZERS_PARALLELISM or SSH_AUTH_SOCK are not secrets).
SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASS|CREDENTIAL|AUTH)(?!.*(PARALLELISM|_SOCK|_DIR|_PATH|_FILE)$)", re.I)
# A key a provider used is redacted from this length on; below it a value is too likely to be
# an ordinary word. Variables that are only named like secrets need a key-like length.
MIN_SECRET_LEN, MIN_NAMED_LEN = 4, 8
# Fields that hold hashes and signatures: never redacted, or the chain and seals would break.
UNREDACTED = frozenset({"hash", "prev", "head", "hashes", "signature", "public_key", "key_fingerprint"})


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def record_hash(record: dict) -> str:
    """Hash of a record's canonical form without its own ``hash`` field."""
    body = {k: v for k, v in record.items() if k != "hash"}
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


class Redactor:
    """Replaces secrets in text: every key a provider used, and secret-named environment variables."""

    def __init__(self, extra_names: Iterable[str] = ()):
        named = {n for n in os.environ if SECRET_NAME.search(n)}
        found = {os.environ[n]: n for n in named if len(os.environ[n]) >= MIN_NAMED_LEN}
        found.update({os.environ[n]: n for n in extra_names if n in os.environ})
        found.update({value: name for name, value in used_secrets()})
        self.secrets = sorted(
            ((v, n) for v, n in found.items() if len(v) >= MIN_SECRET_LEN), key=lambda item: -len(item[0])
        )

    def __call__(self, text: str) -> str:
        for value, name in self.secrets:
            if value in text:
                text = text.replace(value, f"[REDACTED:{name}]")
        return text

    def value(self, obj, key: str | None = None):
        """Redact every string inside a JSON value, except hash and signature fields."""
        if key in UNREDACTED:
            return obj
        if isinstance(obj, str):
            return self(obj)
        if isinstance(obj, dict):
            return {self(k): self.value(v, k) for k, v in obj.items()}
        if isinstance(obj, list):
            return [self.value(v) for v in obj]
        return obj


class RedactingStream:
    """A text stream (stdout, stderr) that redacts secrets before they are shown."""

    def __init__(self, stream, redactor: Redactor | None = None):
        self._stream, self._redact = stream, redactor or Redactor()
        self._known = len(used_secrets())

    def write(self, text: str) -> int:
        self._stream.write(self._refresh()(text))
        return len(text)

    def _refresh(self) -> Redactor:
        """Keys that providers registered after the stream was wrapped count too."""
        if self._known != len(used_secrets()):
            self._redact, self._known = Redactor(), len(used_secrets())
        return self._redact

    def __getattr__(self, name):
        return getattr(self._stream, name)


@dataclass
class VerifyResult:
    """Outcome of re-walking a log: chain, records, consistency, seals."""

    path: str
    ok: bool
    n_records: int
    head: str
    first_bad_line: int | None = None
    first_bad_seq: int | None = None
    problem: str | None = None
    torn_tail: bool = False
    seals: list[dict] = field(default_factory=list)
    unsealed: int = 0
    hashes: set[str] = field(default_factory=set, repr=False)
    tail_hashes: list[str] = field(default_factory=list, repr=False)

    @property
    def key_fingerprints(self) -> list[str]:
        return sorted({s["key_fingerprint"] for s in self.seals})

    def seal_status(self) -> str:
        if not self.seals:
            return "unsealed"
        if self.unsealed:
            return f"sealed up to seq {self.n_records - self.unsealed - 1}; last {self.unsealed} records unsealed"
        return "sealed"

    def describe(self) -> str:
        if self.ok:
            keys = ", ".join(self.key_fingerprints) or "no key"
            return f"OK {self.path}: {self.n_records} records, head {self.head}, {self.seal_status()} ({keys})"
        where = f"line {self.first_bad_line}"
        if self.first_bad_seq is not None:
            where += f" (record seq {self.first_bad_seq})"
        return f"FAIL {self.path}: {where}: {self.problem}"


class _Consistency:
    """What must hold across records of a log beyond the chain itself (see :func:`verify`)."""

    def __init__(self):
        self.runs: set[str] = set()
        self.last_time: dict[str, str] = {}
        self.successes: dict[str, int] = {}

    def check(self, rec: Record, lineno: int) -> str | None:
        kind, run_id, version = rec["kind"], rec.get("run_id"), int(rec["schema"].rpartition("/")[2])
        if kind in ("run", "import") and run_id:
            self.runs.add(run_id)
        elif kind in ("response", "error", "run_end", "seal") or (kind == "imported" and version >= 2):
            if run_id not in self.runs:
                return f"references run {run_id!r}, which no earlier run or import record opens"
        stamp = rec.get("timestamp")
        if run_id and isinstance(stamp, str):
            if stamp < self.last_time.get(run_id, ""):
                return f"timestamp {stamp} is earlier than the run's previous record ({self.last_time[run_id]})"
            self.last_time[run_id] = stamp
        if kind == "response":
            response = rec["response"]
            parse = reply_parser(rec.get("provider"))
            if parse is not None and response.get("raw") is not None:
                try:
                    text = parse(response["raw"]).text
                except Exception as exc:  # noqa: BLE001 - any parse failure means the raw reply was altered
                    return f"raw reply cannot be parsed by its provider ({exc})"
                if text != response["text"]:
                    return "response text does not match the text in its raw reply"
            key = canonical_json(
                [
                    rec["label"],
                    rec["model"],
                    rec.get("probe_digest") or rec["probe_id"],
                    rec["sample_index"],
                    rec.get("decoding"),
                ]
            )
            if key in self.successes:
                return (
                    f"duplicate success for probe {rec['probe_id']} sample {rec['sample_index']} "
                    f"(first at line {self.successes[key]})"
                )
            self.successes[key] = lineno
        return None


def verify(path: Path | str, trust: Iterable[str] | None = None) -> VerifyResult:
    """Re-walk the chain, the records' schema and consistency, and the seals; name the first bad record.

    With ``trust`` (key fingerprints) every record must be covered by a seal made by a trusted key.
    """
    path = Path(path)
    trust = set(trust) if trust is not None else None
    data = path.read_bytes()
    if not data:
        return VerifyResult(str(path), False, 0, GENESIS, 1, None, "empty file: no records, not an evidence log")
    prev, seq, n = GENESIS, -1, 0
    seals, segment, hashes = [], [], set()
    consistency = _Consistency()
    for lineno, raw in iter_lines(path):

        def bad(problem, s=None, n=n, prev=prev, lineno=lineno):
            return VerifyResult(str(path), False, n, prev, lineno, s, problem, seals=seals)

        try:
            rec = parse_record(decode_line(path, lineno, raw), path, lineno)
        except RecordError as exc:
            return bad(f"field '{exc.field}': {exc.problem}")
        rec_seq = rec.get("seq")
        if rec.get("hash") != record_hash(rec):
            return bad("content does not match its hash (record altered)", rec_seq)
        if raw.decode("utf-8") != canonical_json(rec):
            return bad("line is not in canonical form (record altered)", rec_seq)
        if rec.get("prev") != prev:
            return bad("prev does not match the hash of the record before (chain broken)", rec_seq)
        if rec_seq != seq + 1:
            return bad(f"seq {rec_seq} follows {seq} (record missing or reordered)", rec_seq)
        problem = consistency.check(rec, lineno)
        if problem:
            return bad(problem, rec_seq)
        if rec["kind"] == "seal":
            problem = check_signature(rec)
            if problem is None and rec["hashes"] != segment:
                for i, (signed, found) in enumerate(zip(rec["hashes"], segment)):
                    if signed != found:
                        first = rec_seq - len(segment) + i
                        return VerifyResult(
                            str(path),
                            False,
                            n,
                            prev,
                            first + 1,
                            first,
                            f"record differs from what the seal at line {lineno} signed (altered after sealing)",
                            seals=seals,
                        )
                problem = f"seal signed {len(rec['hashes'])} records, {len(segment)} stand before it"
            if problem is None and (rec["head"] != prev or rec["count"] != rec_seq):
                problem = f"seal states head {rec['head'][:16]}… after {rec['count']} records, not where it stands"
            if problem:
                return bad(f"seal: {problem}", rec_seq)
            trusted = trust is None or rec["key_fingerprint"] in trust
            seals.append(
                {"line": lineno, "seq": rec_seq, "key_fingerprint": rec["key_fingerprint"], "trusted": trusted}
            )
            if not trusted:
                return bad(f"seal signed by an untrusted key {rec['key_fingerprint']}", rec_seq)
            segment = []
        else:
            segment.append(rec["hash"])
        prev, seq, n = rec["hash"], rec_seq, n + 1
        hashes.add(prev)
    complete = data.rfind(b"\n") + 1
    if complete < len(data):
        return VerifyResult(
            str(path),
            False,
            n,
            prev,
            n + 1,
            None,
            "partially written last line (torn write); run a collection or `forensics verify --repair` to set it aside",
            torn_tail=True,
            seals=seals,
        )
    result = VerifyResult(
        str(path), True, n, prev, seals=seals, unsealed=len(segment), hashes=hashes, tail_hashes=segment
    )
    if trust is not None and segment:
        result.ok = False
        result.first_bad_line, result.first_bad_seq = n - len(segment) + 1, n - len(segment)
        result.problem = (
            f"records seq {n - len(segment)}..{n - 1} are not covered by any seal (unsealed tail: "
            "added or changed after the last seal, or a log never sealed)"
        )
    return result


def seal_summary(path: Path | str, trust: Iterable[str] | None = None) -> dict:
    """What a report prints per log so it can be anchored out of band: head, count, seal status, keys."""
    result = verify(path, trust)
    return {
        "path": str(path),
        "ok": result.ok,
        "head": result.head,
        "n_records": result.n_records,
        "seal_status": result.seal_status() if result.ok else "FAILED: " + (result.problem or ""),
        "key_fingerprints": result.key_fingerprints,
        "unsealed_records": result.unsealed,
    }


def read_records(path: Path | str, check: bool = True) -> list[Record]:
    """All records of a log, typed; with ``check`` the log must verify first."""
    path = Path(path)
    if check:
        result = verify(path)
        if not result.ok:
            raise EvidenceError(result.describe())
    return [parse_record(decode_line(path, lineno, raw), path, lineno) for lineno, raw in iter_lines(path)]


class EvidenceLog:
    """A log opened for appending by one process, safe across threads; the one writer of records.

    Opening repairs a torn tail (moving the bytes to ``<log>.torn-<time>``) and verifies the
    rest, so new records only ever extend a chain that checks out. The writer stamps each
    record's time under its lock, so timestamps never go back within a log.
    """

    def __init__(self, path: Path | str, redactor: Redactor | None = None):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.redact = redactor or Redactor()
        self._lock = threading.RLock()
        self._fh = open(self.path, "a+b")
        try:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._fh.close()
            raise EvidenceError(f"{self.path}: another process is writing this evidence log") from None
        self.torn_bytes_saved_to = repair(self.path)
        result = verify(self.path) if self.path.stat().st_size else VerifyResult(str(self.path), True, 0, GENESIS)
        if not result.ok:
            self._fh.close()
            raise EvidenceError(result.describe())
        self.head, self.next_seq, self._unsealed = result.head, result.n_records, list(result.tail_hashes)

    def append(self, record: Record, sync: bool = True) -> dict:
        """Chain, hash, redact and write one record; returns the record as written."""
        return self.extend([record], sync=sync)[0]

    def extend(self, records: Iterable[Record], sync: bool = True) -> list[dict]:
        """Write records atomically: one that cannot be encoded (strict UTF-8 JSON) writes nothing."""
        written, lines = [], []
        with self._lock:
            head, seq = self.head, self.next_seq
            for record in records:
                if not isinstance(record, Record):
                    raise TypeError(f"evidence records are typed (forensics.evidence.records), not {type(record)}")
                body = self.redact.value({k: v for k, v in record.items() if k != "hash"})
                body.update(schema=SCHEMA, seq=seq, prev=head, timestamp=utc_now())
                body["hash"] = record_hash(body)
                lines.append((canonical_json(body) + "\n").encode("utf-8"))
                written.append(body)
                head, seq = body["hash"], seq + 1
            self._fh.write(b"".join(lines))
            self._fh.flush()
            if sync:
                os.fsync(self._fh.fileno())
            self.head, self.next_seq = head, seq
            self._unsealed += [w["hash"] for w in written if w["kind"] != "seal"]
        return written

    def seal(self, run_id: str) -> dict:
        """Sign the head, the record count and every record hash since the last seal."""
        with self._lock:
            written = self.append(SealRecord(sign_seal(run_id, self.head, self.next_seq, list(self._unsealed))))
            self._unsealed = []
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
    cut = data.rfind(b"\n") + 1
    complete, tail = data[:cut], data[cut:]
    if not tail:
        return None
    side = path.with_name(f"{path.name}.torn-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%fZ')}")
    side.write_bytes(tail)
    with open(path, "r+b") as fh:
        fh.truncate(len(complete))
        fh.flush()
        os.fsync(fh.fileno())
    return side


def is_evidence_log(path: Path | str) -> bool:
    """Whether a file starts like an evidence log (its first line is a record with an evidence schema)."""
    try:
        with open(path, "rb") as fh:
            first = fh.readline()
        return decode_line(path, 1, first.rstrip(b"\n")).get("schema", "").startswith("forensics.evidence/")
    except (OSError, RecordError):
        return False


def check_output_file(path: Path | str, suffixes: tuple[str, ...] = (".html", ".htm")) -> Path:
    """Refuse an output path that would destroy evidence or something else: a folder, an evidence log,
    or an existing file of another type."""
    path = Path(path)
    if path.is_dir():
        raise FileExistsError(f"{path}: is a folder; name the file to write")
    if path.exists() and is_evidence_log(path):
        raise FileExistsError(f"{path}: is an evidence log; refusing to overwrite it")
    if path.exists() and path.suffix.lower() not in suffixes:
        raise FileExistsError(f"{path}: exists and is not {' or '.join(suffixes)}; refusing to overwrite it")
    return path


def iter_logs(paths: Iterable[Path | str]) -> Iterator[Path]:
    """Expand folders into the ``*.jsonl`` logs they hold."""
    for p in map(Path, paths):
        if p.is_dir():
            yield from sorted(p.rglob("*.jsonl"))
        else:
            yield p
