"""The heads ledger: every seal this machine's key makes, remembered under ``$FORENSICS_HOME``.

A log cut back to an earlier seal is a valid chain on its own, so only a head remembered
elsewhere can show the cut. The ledger is that memory on the investigator's own machine: one
JSON line per seal (log id, head, record count, time, key, path). ``verify`` compares each log
with every entry for its id. It is no substitute for quoting heads out of band: whoever can
write ``$FORENSICS_HOME`` can edit it too.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from forensics.evidence.records import canonical_json, utc_now
from forensics.evidence.seal import forensics_home

LEDGER_FILE = "heads-ledger.jsonl"


@dataclass(frozen=True)
class LedgerEntry:
    log_id: str  # hash of the log's first record: the same log under any name or path
    head: str
    count: int  # records up to and including the seal whose hash is ``head``
    time: str
    key_fingerprint: str
    path: str


def ledger_path() -> Path:
    return forensics_home() / LEDGER_FILE


def remember(log_id: str, head: str, count: int, key_fingerprint: str, path: Path | str) -> None:
    """Append one entry (one ``write`` on an ``O_APPEND`` file, so concurrent writers never interleave)."""
    entry = {
        "log_id": log_id,
        "head": head,
        "count": count,
        "time": utc_now(),
        "key_fingerprint": key_fingerprint,
        "path": str(Path(path).resolve()),
    }
    fd = os.open(ledger_path(), os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600)
    try:
        os.write(fd, (canonical_json(entry) + "\n").encode("utf-8"))
    finally:
        os.close(fd)


def entries_for(log_id: str) -> list[LedgerEntry]:
    """Every remembered seal of one log; none when there is no ledger (or it cannot be read)."""
    path = ledger_path()
    found = []
    try:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if log_id not in line:
                    continue
                try:
                    obj = json.loads(line)
                    if obj.get("log_id") == log_id:
                        found.append(LedgerEntry(**{k: obj[k] for k in LedgerEntry.__dataclass_fields__}))
                except (ValueError, KeyError, TypeError):
                    continue
    except (OSError, UnicodeDecodeError):
        return []
    return found
