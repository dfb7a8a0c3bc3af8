"""The one writer of evidence: it appends records, marks each with its key's MAC, and seals only
what it wrote.

Opening a log takes an exclusive lock, repairs a torn tail, verifies the rest once and looks at
the records after the last seal: those whose MAC this key made (a run of ours killed before its
seal) are adopted and sealed by the next seal; any other record makes the writer refuse to append,
naming it (``forensics verify --quarantine`` moves such records aside). A log last sealed by
another key is refused unless the change is accepted explicitly. Every seal is remembered in the
heads ledger.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from forensics.evidence import ledger
from forensics.evidence.inputs import PathError
from forensics.evidence.output import check_output_target
from forensics.evidence.records import (
    GENESIS,
    SCHEMA,
    EvidenceError,
    Record,
    SealRecord,
    canonical_chunks,
    file_tail,
    loads_strict,
    record_hash,
    utc_now,
)
from forensics.evidence.redaction import Redactor
from forensics.evidence.seal import mac_holds, mac_key, public_fields, record_mac, sign_record, signing_key
from forensics.evidence.verifier import VerifiedLog, VerifyResult, verify
from forensics.providers import used_secrets


@contextlib.contextmanager
def log_lock(path: Path | str, *, create: bool = False) -> Iterator:
    """The writer's exclusive lock on a log (``flock``), held by writers, repair and quarantine alike."""
    path = Path(path)
    try:
        fh = open(path, "a+b" if create else "r+b")  # noqa: SIM115 - closed below
    except IsADirectoryError:
        raise PathError(f"{path}: is a folder, not an evidence log") from None
    except FileNotFoundError:
        raise PathError(f"{path}: no such evidence log") from None
    except OSError as exc:
        raise PathError(f"{path}: cannot be opened for writing ({exc.strerror})") from None
    try:
        if not os.path.isfile(path):
            raise PathError(f"{path}: is not a regular file; refusing to write evidence into it")
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise EvidenceError(f"{path}: another process is writing this evidence log") from None
        yield fh
    finally:
        fh.close()


def check_log_target(path: Path | str) -> Path:
    """Fail early, before any work, when evidence cannot be appended at ``path``: an existing log must
    be a regular file that is not marked read-only; a new one needs a writable folder."""
    path = Path(path)
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise PathError(f"{path}: is not a regular file; refusing to write evidence into it")
    if not path.exists():
        check_output_target(path)
    elif not path.stat().st_mode & 0o222:
        raise PathError(f"{path}: is marked read-only; refusing to append to it")
    return path


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def _truncate(fh, size: int) -> None:
    fh.truncate(size)
    fh.flush()
    os.fsync(fh.fileno())


def _repair_locked(path: Path, fh) -> Path | None:
    size, tail = file_tail(path)
    if not tail:
        return None
    fh.seek(size - tail)
    data = fh.read(tail)
    try:  # a complete record that only lost its final newline is kept: the newline is restored
        obj = loads_strict(data.decode("utf-8"))
        if isinstance(obj, dict) and obj.get("hash") == record_hash(obj):
            fh.seek(0, os.SEEK_END)
            fh.write(b"\n")
            fh.flush()
            os.fsync(fh.fileno())
            return None
    except (ValueError, UnicodeDecodeError, RecursionError):
        pass
    side = path.with_name(f"{path.name}.torn-{_stamp()}")
    side.write_bytes(data)
    _truncate(fh, size - tail)
    return side


def repair(path: Path | str) -> Path | None:
    """Set a torn last line aside (never trusted, never destroyed), under the writer's lock;
    returns the side file. A complete last record that only lost its newline gets it back."""
    path = Path(path)
    if not path.exists():
        return None
    with log_lock(path) as fh:
        return _repair_locked(path, fh)


def foreign_tail(verified: VerifiedLog, key: bytes) -> list:
    """Records after the last seal that this key's writer did not write (no valid MAC)."""
    return [t for t in verified.tail if not mac_holds(key, t.record)]


def quarantine(path: Path | str) -> tuple[Path | None, int]:
    """Move the unsealed records from the first one this key did not write onwards into
    ``<log>.quarantine-<time>`` (no ``.jsonl``: nothing reads it as evidence), under the writer's
    lock. Returns the side file and how many records it holds."""
    path = Path(path)
    key = mac_key(signing_key())
    with log_lock(path) as fh:
        _repair_locked(path, fh)
        verified = verify(path, allow_unsealed=True, keep_records=False)
        if not verified.ok:
            raise EvidenceError(verified.describe())
        foreign = foreign_tail(verified, key)
        if not foreign:
            return None, 0
        start = foreign[0].offset
        moved = [t for t in verified.tail if t.offset >= start]
        fh.seek(start)
        side = path.with_name(f"{path.name}.quarantine-{_stamp()}")
        fd = os.open(side, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "wb") as out:
            while block := fh.read(1 << 20):
                out.write(block)
            out.flush()
            os.fsync(out.fileno())
        _truncate(fh, start)
    return side, len(moved)


class EvidenceLog:
    """A log opened for appending by one process, safe across threads; the one writer of records.

    ``accept_key_change`` lets a log last sealed by another key be continued (the seals then name
    both keys, and ``verify`` says so).
    """

    def __init__(self, path: Path | str, redactor: Redactor | None = None, *, accept_key_change: bool = False):
        self.path = check_log_target(path)
        self.key = signing_key()  # a missing home or a corrupt key fails here, before any request is sent
        self._mac = mac_key(self.key)
        self._public = public_fields(self.key)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise PathError(f"{self.path.parent}: cannot make the evidence folder ({exc.strerror})") from None
        created = not self.path.exists()
        self.redact, self._own_redactor = redactor or Redactor(), redactor is None
        self._known_secrets = len(used_secrets())
        self._lock = threading.RLock()
        self._cm = log_lock(self.path, create=True)
        self._fh = self._cm.__enter__()
        try:
            self._open(accept_key_change)
        except BaseException:
            self._cm.__exit__(None, None, None)
            if created and self.path.stat().st_size == 0:
                self.path.unlink()  # leave nothing behind for a log that was never written
            raise

    def _open(self, accept_key_change: bool) -> None:
        self.torn_bytes_saved_to = _repair_locked(self.path, self._fh)
        if self.path.stat().st_size:
            self.verified = verify(self.path, allow_unsealed=True)
        else:
            self.verified = VerifiedLog(VerifyResult(path=str(self.path), ok=True, n_records=0, head=GENESIS))
        result = self.verified.result
        if not result.ok:
            raise EvidenceError(result.describe())
        foreign = foreign_tail(self.verified, self._mac)
        if foreign:
            lines = f"{foreign[0].line}" + (f"-{foreign[-1].line}" if len(foreign) > 1 else "")
            raise EvidenceError(
                f"{self.path}: lines {lines} (records seq {foreign[0].record['seq']}..{foreign[-1].record['seq']}) "
                "stand after the last seal and were not written by this key (no valid MAC); refusing to append "
                f"and seal them. Inspect them, then `forensics verify --quarantine {self.path}` moves them to a "
                "side file that nothing trusts"
            )
        mine = self._public["key_fingerprint"]
        last = result.seals[-1]["key_fingerprint"] if result.seals else None
        if last and last != mine and not accept_key_change:
            raise EvidenceError(
                f"{self.path}: last sealed by key {last}, but this machine's key is {mine}; "
                "if the key was replaced on purpose, pass --accept-key-change (verify will name both keys)"
            )
        self.head, self.next_seq = result.head, result.n_records
        self.log_id = result.log_id
        self.adopted = len(self.verified.tail)
        self._unsealed = list(result.tail_hashes)

    @property
    def records(self) -> tuple[Record, ...]:
        """The records the log held when it was opened (verified once, never read again)."""
        return self.verified.records

    def append(self, record: Record, sync: bool = True) -> dict:
        """Chain, hash, MAC, redact and write one record; returns the record as written."""
        return self.extend([record], sync=sync)[0]

    def _body(self, record: Record, seq: int, head: str) -> dict:
        if not isinstance(record, Record):
            raise TypeError(f"evidence records are typed (forensics.evidence.records), not {type(record)}")
        if self._own_redactor and len(used_secrets()) != self._known_secrets:
            # a provider opened after the log registered its key: it is redacted from now on
            self.redact, self._known_secrets = Redactor(), len(used_secrets())
        body = self.redact.value({k: v for k, v in record.items() if k not in ("hash", "mac")})
        body.update(schema=SCHEMA, seq=seq, prev=head, timestamp=utc_now())
        if body["kind"] == "seal":
            body["signature"] = sign_record(self.key, {k: v for k, v in body.items() if k != "signature"})
        body["mac"] = record_mac(self._mac, body)
        body["hash"] = record_hash(body)
        return body

    def extend(self, records: Iterable[Record], sync: bool = True) -> list[dict]:
        """Write records atomically: one that cannot be encoded (strict UTF-8 JSON) writes nothing."""
        written = []
        with self._lock:
            head, seq = self.head, self.next_seq
            for record in records:  # every record is hashed (so encoded) before any byte is written
                body = self._body(record, seq, head)
                written.append(body)
                head, seq = body["hash"], seq + 1
            self._fh.seek(0, os.SEEK_END)
            for body in written:  # streamed: a long answer is never copied whole into one line buffer
                self._fh.writelines(chunk.encode("utf-8") for chunk in canonical_chunks(body))
                self._fh.write(b"\n")
            self._fh.flush()
            if sync:
                os.fsync(self._fh.fileno())
            if self.log_id is None and written:
                self.log_id = written[0]["hash"]
            self.head, self.next_seq = head, seq
            self._unsealed += [w["hash"] for w in written if w["kind"] != "seal"]
        return written

    def seal(self, run_id: str) -> dict:
        """Sign the whole seal record: head, record count, every record hash since the last seal, time;
        then remember the new head in the ledger."""
        with self._lock:
            fields = {"run_id": run_id, "head": self.head, "count": self.next_seq, "hashes": list(self._unsealed)}
            written = self.append(SealRecord({**fields, **self._public, "signature": ""}))
            self._unsealed = []
            ledger.remember(self.log_id, written["hash"], self.next_seq, written["key_fingerprint"], self.path)
        return written

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._cm.__exit__(None, None, None)

    def __enter__(self) -> EvidenceLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
