"""Ed25519 seals: the investigator's key signs a log's head, count and record hashes.

The private key is made on first use under ``$FORENSICS_HOME`` (default: the user's config
folder) and never written into evidence; seals carry only the public key and its fingerprint.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

import platformdirs
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from forensics.evidence.records import SCHEMA, EvidenceError, canonical_json

KEY_FILE = "signing-key.pem"
PUBLIC_FILE = "signing-key.pub.pem"


def forensics_home() -> Path:
    return Path(os.environ.get("FORENSICS_HOME") or platformdirs.user_config_dir("forensics"))


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def fingerprint(public: Ed25519PublicKey) -> str:
    """``ed25519:`` and the SHA-256 of the raw public key, the form investigators quote out of band."""
    return "ed25519:" + hashlib.sha256(_raw(public)).hexdigest()


def signing_key() -> Ed25519PrivateKey:
    """The investigator's key, made (mode 0600) on first use."""
    home = forensics_home()
    path = home / KEY_FILE
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise EvidenceError(f"{path}: not an Ed25519 private key")
        return key
    home.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    (home / PUBLIC_FILE).write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return key


def seal_payload(run_id: str, head: str, count: int, hashes: list[str]) -> bytes:
    """What a seal signs: the chain head, the number of records before the seal and their hashes."""
    return canonical_json({"schema": SCHEMA, "run_id": run_id, "head": head, "count": count, "hashes": hashes}).encode(
        "utf-8"
    )


def sign_seal(run_id: str, head: str, count: int, hashes: list[str]) -> dict:
    """The fields of a seal record, signed with the investigator's key."""
    key = signing_key()
    public = key.public_key()
    return {
        "run_id": run_id,
        "head": head,
        "count": count,
        "hashes": hashes,
        "key_fingerprint": fingerprint(public),
        "public_key": base64.b64encode(_raw(public)).decode("ascii"),
        "signature": base64.b64encode(key.sign(seal_payload(run_id, head, count, hashes))).decode("ascii"),
    }


def check_signature(seal: dict) -> str | None:
    """None when the seal's signature and fingerprint hold, else what is wrong."""
    try:
        public = Ed25519PublicKey.from_public_bytes(base64.b64decode(seal["public_key"], validate=True))
        signature = base64.b64decode(seal["signature"], validate=True)
    except (ValueError, TypeError) as exc:
        return f"unreadable key or signature ({exc})"
    if fingerprint(public) != seal["key_fingerprint"]:
        return "key fingerprint does not match the public key it names"
    try:
        public.verify(signature, seal_payload(seal["run_id"], seal["head"], seal["count"], seal["hashes"]))
    except InvalidSignature:
        return "signature does not match what the seal states (head, count, record hashes)"
    return None


def trusted_fingerprints(items: list[str]) -> set[str]:
    """Fingerprints from ``--trust`` values: a fingerprint, or a PEM key file (public or private)."""
    found = set()
    for item in items:
        path = Path(item)
        if not path.is_file():
            if not item.startswith("ed25519:"):
                raise FileNotFoundError(f"--trust {item}: neither a key file nor an ed25519:<sha256> fingerprint")
            found.add(item)
            continue
        data = path.read_bytes()
        try:
            key = serialization.load_pem_public_key(data)
        except ValueError:
            try:
                key = serialization.load_pem_private_key(data, password=None).public_key()
            except (ValueError, TypeError) as exc:
                raise EvidenceError(f"--trust {item}: not a PEM key ({exc})") from None
        if not isinstance(key, Ed25519PublicKey):
            raise EvidenceError(f"--trust {item}: not an Ed25519 key")
        found.add(fingerprint(key))
    return found


def sign_bytes(data: bytes) -> dict:
    """A detached signature (for case manifests) with the key's fingerprint and public key."""
    key = signing_key()
    return {
        "key_fingerprint": fingerprint(key.public_key()),
        "public_key": base64.b64encode(_raw(key.public_key())).decode("ascii"),
        "signature": base64.b64encode(key.sign(data)).decode("ascii"),
    }
