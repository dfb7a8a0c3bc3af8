"""A case manifest: every log's head and file hash, signed, to hand over or anchor out of band."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterable
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from forensics.evidence.importers import file_sha256
from forensics.evidence.log import iter_logs, utc_now, verify
from forensics.evidence.records import SCHEMA, EvidenceError, canonical_json
from forensics.evidence.seal import fingerprint, sign_bytes


def export_manifest(logs: Iterable[Path | str], out: Path | str) -> dict:
    """Write a signed manifest of the logs (paths relative to the manifest's folder); every log must verify."""
    out = Path(out)
    if out.is_dir():
        raise FileExistsError(f"{out}: is a folder; name the manifest file to write")
    entries = []
    for path in iter_logs(logs):
        result = verify(path)
        if not result.ok:
            raise EvidenceError(result.describe())
        entries.append(
            {
                "path": Path(os.path.relpath(Path(path).resolve(), out.parent.resolve())).as_posix(),
                "sha256": file_sha256(Path(path)),
                "head": result.head,
                "records": result.n_records,
                "seal_status": result.seal_status(),
                "key_fingerprints": result.key_fingerprints,
            }
        )
    if not entries:
        raise FileNotFoundError("no evidence logs to export")
    body = {"schema": SCHEMA, "kind": "case_manifest", "created": utc_now(), "logs": entries}
    manifest = {"manifest": body, "signature": sign_bytes(canonical_json(body).encode("utf-8"))}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return manifest


def check_manifest(path: Path | str) -> list[str]:
    """Problems with a manifest: a bad signature, or a listed log whose hash no longer matches."""
    path = Path(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    body, sig = data["manifest"], data["signature"]
    problems = []
    try:
        public = Ed25519PublicKey.from_public_bytes(base64.b64decode(sig["public_key"]))
        public.verify(base64.b64decode(sig["signature"]), canonical_json(body).encode("utf-8"))
        if fingerprint(public) != sig["key_fingerprint"]:
            problems.append(f"{path}: the key fingerprint does not match the public key it names")
    except (InvalidSignature, ValueError):
        problems.append(f"{path}: signature does not match the manifest")
    for entry in body["logs"]:
        log = path.parent / entry["path"]
        if not log.is_file() or file_sha256(log) != entry["sha256"]:
            problems.append(f"{log}: missing or changed since the manifest was signed")
    return problems
