"""The verifier: re-walk a log once, streaming, and say exactly what holds and what does not.

It checks the chain, every record against its schema, the records against each other, every
seal's signature, the unsealed tail, and the heads this machine remembers (the ledger). It
returns a :class:`VerifiedLog`: the result and the parsed records, so the loader, provenance
and a resuming writer never read the log again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from forensics.evidence import ledger
from forensics.evidence.inputs import check_input_file, iter_logs
from forensics.evidence.longlines import LONG_LINE, Elided, canonical_literal, elide, record_hash_elided, restore
from forensics.evidence.records import (
    GENESIS,
    EvidenceError,
    Record,
    RecordError,
    canonical_json,
    decode_line,
    file_tail,
    iter_lines,
    parse_record,
    record_hash,
    schema_version,
)
from forensics.evidence.seal import check_signature
from forensics.providers import reply_parser

RESUME_HINT = (
    "resume the run (collect or import onto the same log) to seal records your key wrote; "
    "`forensics verify --quarantine LOG` moves records it did not write to a side file"
)


@dataclass
class VerifyResult:
    """Outcome of re-walking a log: chain, records, consistency, seals, tail and ledger."""

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
    legacy: bool = False  # every record predates seals (schema 1)
    log_id: str | None = None  # hash of the first record
    anchored: str | None = None  # what vouches for the head: "ledger", "--expect-head", or None
    notes: list[str] = field(default_factory=list)
    sha256: str | None = None  # of the bytes read, for provenance (no second read)
    heads_found: set[str] = field(default_factory=set, repr=False)
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
            legacy = ", legacy log written before seals" if self.legacy else ""
            anchor = f"head anchored by the {self.anchored}" if self.anchored else "head not anchored"
            text = (
                f"OK {self.path}: {self.n_records} records, head {self.head}, {self.seal_status()}{legacy} ({keys}); "
                f"{anchor}"
            )
            return text + "".join(f"\n  note: {n}" for n in self.notes)
        where = f"line {self.first_bad_line}"
        if self.first_bad_seq is not None:
            where += f" (record seq {self.first_bad_seq})"
        return f"FAIL {self.path}: {where}: {self.problem}"


@dataclass(frozen=True)
class TailRecord:
    """A record after the last seal, with where it stands in the file."""

    line: int
    offset: int
    record: Record


@dataclass(frozen=True)
class VerifiedLog:
    """A verified log: its :class:`VerifyResult` (whose fields it also answers to) and its records."""

    result: VerifyResult
    records: tuple[Record, ...] = ()
    tail: tuple[TailRecord, ...] = ()

    def __getattr__(self, name):
        if name in ("result", "records", "tail") or name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.result, name)

    @property
    def path(self) -> Path:
        return Path(self.result.path)


class _Consistency:
    """What must hold across records of a log beyond the chain itself (see :func:`verify`)."""

    def __init__(self):
        self.runs: set[str] = set()
        self.last_time: dict[str, str] = {}
        self.successes: dict[str, int] = {}

    def check(self, rec: Record, lineno: int) -> str | None:
        kind, run_id, version = rec["kind"], rec.get("run_id"), schema_version(rec["schema"])
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


class _Failed(Exception):
    def __init__(self, line: int, seq: int | None, problem: str):
        self.line, self.seq, self.problem = line, seq, problem


def _check_line(rec: Record, raw: bytes, elided: Elided | None, lineno: int) -> None:
    """The record's hash and canonical form, from the line itself or from its skeleton and long literals."""
    seq = rec.get("seq")
    if elided is None:
        expected, canonical = record_hash(rec), raw.decode("utf-8") == canonical_json(rec)
    else:
        expected = record_hash_elided(rec, elided, raw)
        canonical = canonical_json(rec).encode("utf-8") == elided.skeleton and all(
            canonical_literal(raw, *span) for span in elided.spans.values()
        )
    if rec.get("hash") != expected:
        raise _Failed(lineno, seq, "content does not match its hash (record altered)")
    if not canonical:
        raise _Failed(lineno, seq, "line is not in canonical form (record altered)")


def _check_seal(rec: Record, lineno: int, prev: str, segment: list[str]) -> None:
    rec_seq = rec["seq"]
    if rec["hashes"] != segment:  # name the record first: what differs from what the seal lists
        for i, (signed, found) in enumerate(zip(rec["hashes"], segment)):
            if signed != found:
                first = rec_seq - len(segment) + i
                raise _Failed(
                    first + 1,
                    first,
                    f"record differs from what the seal at line {lineno} signed (altered after sealing)",
                )
        if len(rec["hashes"]) != len(segment):
            raise _Failed(
                lineno, rec_seq, f"seal: seal signed {len(rec['hashes'])} records, {len(segment)} stand before it"
            )
    problem = check_signature(rec)
    if problem is None and (rec["head"] != prev or rec["count"] != rec_seq):
        problem = f"seal states head {rec['head'][:16]}… after {rec['count']} records, not where it stands"
    if problem:
        raise _Failed(lineno, rec_seq, f"seal: {problem}")


def verify(
    path: Path | str,
    trust: Iterable[str] | None = None,
    *,
    allow_unsealed: bool = False,
    keep_records: bool = True,
    use_ledger: bool = True,
    expect_heads: Iterable[str] = (),
) -> VerifiedLog:
    """Re-walk the chain, the records' schema and consistency, the seals and the ledger; name the
    first bad record. Streams the file once; memory grows with the longest line (and the records,
    with ``keep_records``).

    A sealed-schema log whose last records no seal covers fails unless ``allow_unsealed``; a
    legacy log (written before seals) verifies as unsealed. With ``trust`` (key fingerprints)
    every record must be covered by a seal made by a trusted key. With ``use_ledger`` (default),
    each head this machine's key sealed in this log (see :mod:`forensics.evidence.ledger`) must
    still stand in it. ``expect_heads`` found in the log are returned in ``heads_found``.
    """
    path = Path(path)
    check_input_file(path, "evidence log")
    trust = set(trust) if trust is not None else None
    expect = set(expect_heads)
    result = VerifyResult(path=str(path), ok=False, n_records=0, head=GENESIS)
    records: list[Record] = []
    tail: list[TailRecord] = []
    size, torn = file_tail(path)
    if not size:
        result.first_bad_line, result.problem = 1, "empty file: no records, not an evidence log"
        return VerifiedLog(result)
    prev, seq, n = GENESIS, -1, 0
    segment: list[str] = []
    versions: set[int] = set()
    wanted: dict[int, ledger.LedgerEntry] = {}
    consistency = _Consistency()
    last_key = None
    try:
        digest = hashlib.sha256()
        for lineno, raw, offset in iter_lines(path, offsets=True, last=True, hasher=digest):
            unterminated = offset + len(raw) == size and torn
            try:
                elided = elide(raw) if len(raw) > LONG_LINE else None
                rec = parse_record(decode_line(path, lineno, elided.skeleton if elided else raw), path, lineno)
            except (RecordError, ValueError) as exc:
                if unterminated:
                    break  # a half-written last line: reported as a torn tail below
                if not isinstance(exc, RecordError):
                    raise _Failed(lineno, None, f"field '<json>': not valid JSON ({exc})") from None
                raise _Failed(lineno, None, f"field '{exc.field}': {exc.problem}") from None
            rec_seq = rec.get("seq")
            _check_line(rec, raw, elided, lineno)
            if elided and (keep_records or rec["kind"] == "response"):
                rec = parse_record(restore(rec, elided, raw), path, lineno)  # its long strings, decoded
            if rec.get("prev") != prev:
                raise _Failed(lineno, rec_seq, "prev does not match the hash of the record before (chain broken)")
            if rec_seq != seq + 1:
                raise _Failed(lineno, rec_seq, f"seq {rec_seq} follows {seq} (record missing or reordered)")
            problem = consistency.check(rec, lineno)
            if problem:
                raise _Failed(lineno, rec_seq, problem)
            version = schema_version(rec["schema"])
            versions.add(version)
            if rec["kind"] == "seal":
                _check_seal(rec, lineno, prev, segment)
                fp = rec["key_fingerprint"]
                trusted = trust is None or fp in trust
                result.seals.append(
                    {"line": lineno, "seq": rec_seq, "key_fingerprint": fp, "trusted": trusted, "version": version}
                )
                if last_key is not None and fp != last_key:
                    result.notes.append(
                        f"the sealing key changed within this log at seq {rec_seq}: {last_key} then {fp}"
                    )
                last_key = fp
                if not trusted:
                    raise _Failed(lineno, rec_seq, f"seal signed by an untrusted key {fp}")
                segment, tail = [], []
            else:
                segment.append(rec["hash"])
                tail.append(TailRecord(lineno, offset, rec))
            if n == 0:
                result.log_id = rec["hash"]
                if use_ledger:
                    for entry in ledger.entries_for(rec["hash"]):
                        wanted[entry.count - 1] = entry
            entry = wanted.pop(rec_seq, None)
            if entry is not None and entry.head != rec["hash"]:
                raise _Failed(
                    lineno,
                    rec_seq,
                    f"differs from the head this machine sealed at this place ({entry.head}, {entry.time}, "
                    "heads ledger): the log was rewritten after sealing",
                )
            if entry is not None:
                result.anchored = "heads ledger"
            if rec["hash"] in expect:
                result.heads_found.add(rec["hash"])
            if keep_records:
                records.append(rec)
            prev, seq, n = rec["hash"], rec_seq, n + 1
            if unterminated:
                result.notes.append(
                    "the last line lacks its final newline (the record itself is complete and verified)"
                )
                torn = 0
    except _Failed as failed:
        result.n_records, result.head = n, prev
        result.first_bad_line, result.first_bad_seq, result.problem = failed.line, failed.seq, failed.problem
        return VerifiedLog(result)
    result.n_records, result.head, result.unsealed, result.tail_hashes = n, prev, len(segment), segment
    result.sha256 = digest.hexdigest()
    result.legacy = bool(versions) and max(versions) < 2
    if torn:
        result.first_bad_line, result.torn_tail = n + 1, True
        result.problem = (
            "partially written last line (torn write); run a collection or `forensics verify --repair` to set it aside"
        )
        return VerifiedLog(result, tuple(records), tuple(tail))
    if wanted:
        entry = min(wanted.values(), key=lambda e: e.count)
        result.first_bad_line = n + 1
        result.problem = (
            f"cut back: this machine sealed this log at {entry.count} records (head {entry.head}, {entry.time}, "
            f"heads ledger), and it now holds {n}"
        )
        return VerifiedLog(result, tuple(records), tuple(tail))
    if expect & result.heads_found:
        result.anchored = result.anchored or "--expect-head"
    if segment and (trust is not None or not (allow_unsealed or result.legacy)):
        first = n - len(segment)
        result.first_bad_line, result.first_bad_seq = first + 1, first
        if trust is not None:
            result.problem = (
                f"records seq {first}..{n - 1} are not covered by any seal (unsealed tail: "
                "added or changed after the last seal, or a log never sealed)"
            )
        else:
            result.problem = (
                f"records seq {first}..{n - 1} (lines {first + 1}-{n}) are not covered by any seal: a run killed "
                f"before its seal, or records added by someone without the key; {RESUME_HINT}"
            )
        return VerifiedLog(result, tuple(records), tuple(tail))
    if segment:
        result.notes.append(f"{len(segment)} records after the last seal are unsealed (--allow-unsealed)")
    if result.seals and any(s["version"] < 3 for s in result.seals):
        result.notes.append("schema-2 seals sign head, count and hashes, not the seal's own time")
    result.ok = True
    return VerifiedLog(result, tuple(records), tuple(tail))


def seal_summary(path: Path | str, trust: Iterable[str] | None = None) -> dict:
    """What a report prints per log so it can be anchored out of band: head, count, seal status, keys."""
    result = verify(path, trust, keep_records=False).result
    return {
        "path": str(path),
        "ok": result.ok,
        "head": result.head,
        "n_records": result.n_records,
        "seal_status": result.seal_status() if result.ok else "FAILED: " + (result.problem or ""),
        "key_fingerprints": result.key_fingerprints,
        "unsealed_records": result.unsealed,
        "anchored": result.anchored,
    }


def read_records(path: Path | str, check: bool = True) -> list[Record]:
    """All records of a log, typed; with ``check`` the log must verify first (one pass either way)."""
    path = Path(path)
    if check:
        verified = verify(path)
        if not verified.ok:
            raise EvidenceError(verified.describe())
        return list(verified.records)
    check_input_file(path, "evidence log")
    return [parse_record(decode_line(path, lineno, raw), path, lineno) for lineno, raw in iter_lines(path)]


def verified_logs(
    paths: Iterable[Path | str | VerifiedLog], *, trust: Iterable[str] | None = None
) -> list[VerifiedLog]:
    """Every log verified once (VerifiedLogs pass through); the first that fails raises, naming it."""
    out = []
    given = list(paths)
    done = [p for p in given if isinstance(p, VerifiedLog)]
    for log in iter_logs([p for p in given if not isinstance(p, VerifiedLog)]):
        verified = verify(log, trust)
        if not verified.ok:
            raise EvidenceError(f"refusing evidence that fails verification: {verified.describe()}")
        out.append(verified)
    return done + out
