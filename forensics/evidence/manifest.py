"""A case manifest: every log's head, file hash and seal status, signed, to hand over or anchor out of band.

Checking one says who vouches for it (the signer's fingerprint, and with ``trust`` whether that
key is trusted), and for every listed log the head and seal status found now. Listed paths must
stay inside the manifest's folder and name regular files, never symlinks: the bytes hashed are the
bytes that are actually there.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from forensics.evidence.inputs import PathError, check_input_file, iter_logs
from forensics.evidence.output import check_output_target, write_output_atomic
from forensics.evidence.records import SCHEMA, EvidenceError, canonical_json, utc_now
from forensics.evidence.seal import check_bytes, sign_bytes
from forensics.evidence.verifier import verify

MAX_MANIFEST_BYTES = 64 << 20


@dataclass
class ManifestCheck:
    """What ``case check`` found: the signer, the logs as they are now, and every problem."""

    path: str
    signer: str | None
    trusted: bool | None  # None: no --trust given
    logs: list[dict] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _sha256_nofollow(path: Path) -> str:
    """SHA-256 of the bytes at ``path`` itself (a symlink is refused, not followed)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    h = hashlib.sha256()
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise PathError(f"{path}: not a regular file")
        while block := fh.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def _inside(folder: Path, relative: str) -> Path:
    """``folder/relative`` when ``relative`` is a plain relative path that stays in ``folder`` through
    no symlink; else :class:`PathError` naming the problem."""
    rel = PurePosixPath(relative)
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        raise PathError(f"{relative}: outside the case folder {folder} (absolute or '..' paths are refused)")
    path = folder / Path(*rel.parts)
    here = folder
    for part in rel.parts:
        here = here / part
        if here.is_symlink():
            raise PathError(f"{here}: is a symbolic link; the case folder must hold the log itself")
    return path


def export_manifest(logs: Iterable[Path | str], out: Path | str) -> dict:
    """Write a signed manifest of the logs (each inside the manifest's folder, no symlinks); every
    log must verify (sealed, no unsealed tail)."""
    out = check_output_target(out, suffixes=(".json",), replaces="case_manifest")
    logs = list(logs)
    folder = out.parent.resolve() if out.parent.exists() else Path(os.path.abspath(out.parent))
    entries = []
    for path in iter_logs(logs):
        rel = os.path.relpath(os.path.abspath(path), folder)
        try:
            _inside(folder, Path(rel).as_posix())
        except PathError as exc:
            raise PathError(f"{path}: cannot be listed in a manifest in {folder} ({exc})") from None
        verified = verify(path, keep_records=False)
        if not verified.ok:
            raise EvidenceError(verified.describe())
        entries.append(
            {
                "path": Path(rel).as_posix(),
                "sha256": _sha256_nofollow(Path(path)),
                "head": verified.head,
                "records": verified.n_records,
                "seal_status": verified.seal_status(),
                "key_fingerprints": verified.key_fingerprints,
            }
        )
    if not entries:
        raise PathError(f"no evidence logs to export in {' '.join(map(str, logs))}")
    body = {"schema": SCHEMA, "kind": "case_manifest", "created": utc_now(), "logs": entries}
    manifest = {"manifest": body, "signature": sign_bytes(canonical_json(body).encode("utf-8"))}
    write_output_atomic(
        out, json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", suffixes=(".json",), replaces="case_manifest"
    )
    return manifest


def _read(path: Path) -> tuple[dict, dict]:
    check_input_file(path, "case manifest", max_bytes=MAX_MANIFEST_BYTES)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise EvidenceError(f"{path}: not a case manifest (not UTF-8 JSON: {exc})") from None
    body = data.get("manifest") if isinstance(data, dict) else None
    sig = data.get("signature") if isinstance(data, dict) else None
    if not isinstance(body, dict) or body.get("kind") != "case_manifest" or not isinstance(body.get("logs"), list):
        raise EvidenceError(
            f"{path}: not a case manifest (expected {{'manifest': {{'kind': 'case_manifest', 'logs': [...]}}}})"
        )
    if not isinstance(sig, dict):
        raise EvidenceError(f"{path}: field 'signature': missing or not an object")
    for i, entry in enumerate(body["logs"]):
        for key, kind in (("path", str), ("sha256", str), ("head", str)):
            if not isinstance(entry, dict) or not isinstance(entry.get(key), kind):
                raise EvidenceError(f"{path}: field 'manifest.logs[{i}].{key}': missing or not a {kind.__name__}")
    return body, sig


def check_manifest(path: Path | str, trust: Iterable[str] | None = None) -> ManifestCheck:
    """Who signed the manifest (and, with ``trust``, whether that key is trusted), and every listed
    log as it is now: inside the case folder, unchanged bytes, the same head, its seal status (under
    ``trust``, sealed by a trusted key)."""
    path = Path(path)
    body, sig = _read(path)
    trust = set(trust) if trust is not None else None
    signer = sig.get("key_fingerprint") if isinstance(sig.get("key_fingerprint"), str) else None
    result = ManifestCheck(str(path), signer, None if trust is None else signer in trust)
    problem = check_bytes(sig, canonical_json(body).encode("utf-8"))
    if problem:
        result.problems.append(f"{path}: {problem}")
    elif trust is not None and signer not in trust:
        result.problems.append(f"{path}: signed by {signer}, which is not a trusted key")
    folder = path.parent
    for entry in body["logs"]:
        try:
            log = _inside(folder, entry["path"])
            digest = _sha256_nofollow(log)
        except FileNotFoundError:
            result.problems.append(f"{folder / entry['path']}: missing")
            continue
        except (PathError, OSError) as exc:
            result.problems.append(str(exc))
            continue
        if digest != entry["sha256"]:
            result.problems.append(f"{log}: changed since the manifest was signed (SHA-256 {digest})")
        verified = verify(log, trust, keep_records=False)
        status = verified.seal_status() if verified.ok else "FAILED: " + (verified.problem or "")
        result.logs.append(
            {
                "path": str(log),
                "head": verified.head,
                "records": verified.n_records,
                "seal_status": status,
                "key_fingerprints": verified.key_fingerprints,
                "ok": verified.ok,
            }
        )
        if not verified.ok:
            result.problems.append(verified.describe())
        elif verified.head != entry["head"]:
            result.problems.append(f"{log}: head {verified.head} is not the manifest's {entry['head']}")
    return result
