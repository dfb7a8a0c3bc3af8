"""Ed25519 seals and record MACs: the investigator's key signs what its writer wrote, and only that.

The private key is made on first use under ``$FORENSICS_HOME`` (default: the user's config
folder) and never written into evidence; seals carry only the public key and its fingerprint.
A MAC key derived from the private key (HKDF-SHA256) marks every record the writer writes, so a
resumed run can tell its own unsealed records from records someone else appended.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from functools import lru_cache
from pathlib import Path

import platformdirs
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from forensics.evidence.inputs import PathError, check_input_file
from forensics.evidence.records import SCHEMA, EvidenceError, canonical_chunks, canonical_json

KEY_FILE = "signing-key.pem"
PUBLIC_FILE = "signing-key.pub.pem"
MAC_INFO = b"forensics.evidence record mac/1"
# Fields a schema-3 seal's signature does not cover: itself, and the MAC and hash made after it.
UNSIGNED = ("signature", "hash", "mac")


def forensics_home() -> Path:
    return Path(os.environ.get("FORENSICS_HOME") or platformdirs.user_config_dir("forensics"))


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def fingerprint(public: Ed25519PublicKey) -> str:
    """``ed25519:`` and the SHA-256 of the raw public key, the form investigators quote out of band."""
    return "ed25519:" + hashlib.sha256(_raw(public)).hexdigest()


def _home() -> Path:
    """``$FORENSICS_HOME``, made (mode 0700) if need be; a path that cannot be a folder is one line."""
    home = forensics_home()
    try:
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise PathError(f"{home}: cannot be used as FORENSICS_HOME ({exc.strerror})") from None
    if not home.is_dir():
        raise PathError(f"{home}: FORENSICS_HOME is not a folder")
    return home


def _load(path: Path) -> Ed25519PrivateKey:
    check_input_file(path, "signing key", max_bytes=64 * 1024)
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise EvidenceError(f"{path}: not a readable private key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise EvidenceError(f"{path}: not an Ed25519 private key")
    public = path.with_name(PUBLIC_FILE)
    if public.exists():
        try:
            pinned = serialization.load_pem_public_key(check_input_file(public, "public key").read_bytes())
        except ValueError as exc:
            raise EvidenceError(f"{public}: not a readable public key ({exc})") from None
        if not isinstance(pinned, Ed25519PublicKey) or _raw(pinned) != _raw(key.public_key()):
            raise EvidenceError(
                f"{path}: the private key does not match {public} ({fingerprint(key.public_key())}); the key file "
                "was replaced. Restore it, or move both files away to start a new key on purpose"
            )
    return key


def signing_key() -> Ed25519PrivateKey:
    """The investigator's key, made (mode 0600) on first use; a replaced, corrupt or unreadable key
    file, or a home that cannot be a folder, is an error naming the path, raised before any work."""
    home = _home()
    path = home / KEY_FILE
    if path.exists() or path.is_symlink():
        return _load(path)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        (home / PUBLIC_FILE).write_bytes(
            key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        )
    except OSError as exc:
        raise PathError(f"{path}: cannot write the new signing key ({exc.strerror})") from None
    return key


@lru_cache(maxsize=8)
def _mac_key(private_raw: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=MAC_INFO).derive(private_raw)


def mac_key(key: Ed25519PrivateKey) -> bytes:
    """The record MAC key: derived from the private key, so only its holder can mark records."""
    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    return _mac_key(raw)


def record_mac(key: bytes, record: dict) -> str:
    """HMAC-SHA256 of a record's canonical form without its ``hash`` and ``mac`` fields."""
    mac = hmac.new(key, digestmod=hashlib.sha256)
    for chunk in canonical_chunks({k: v for k, v in record.items() if k not in ("hash", "mac")}):
        mac.update(chunk.encode("utf-8"))
    return mac.hexdigest()


def mac_holds(key: bytes, record: dict) -> bool:
    mac = record.get("mac")
    return isinstance(mac, str) and hmac.compare_digest(mac, record_mac(key, record))


def seal_payload(run_id: str, head: str, count: int, hashes: list[str]) -> bytes:
    """What a schema-2 seal signed: the chain head, the number of records before it and their hashes."""
    return canonical_json(
        {"schema": SCHEMA.rpartition("/")[0] + "/2", "run_id": run_id, "head": head, "count": count, "hashes": hashes}
    ).encode("utf-8")


def signed_bytes(seal: dict) -> bytes:
    """What a schema-3 seal signs: every field of the seal record but the signature and the hash."""
    return canonical_json({k: v for k, v in seal.items() if k not in UNSIGNED}).encode("utf-8")


def public_fields(key: Ed25519PrivateKey) -> dict:
    public = key.public_key()
    return {"key_fingerprint": fingerprint(public), "public_key": base64.b64encode(_raw(public)).decode("ascii")}


def sign_record(key: Ed25519PrivateKey, body: dict) -> str:
    """The signature of a seal record's body (all its fields but signature and hash)."""
    return base64.b64encode(key.sign(signed_bytes(body))).decode("ascii")


def check_signature(seal: dict) -> str | None:
    """None when the seal's signature and fingerprint hold, else what is wrong. A schema-3 seal's
    signature covers the whole record; a schema-2 seal's covers head, count and hashes only."""
    try:
        public = Ed25519PublicKey.from_public_bytes(base64.b64decode(seal["public_key"], validate=True))
        signature = base64.b64decode(seal["signature"], validate=True)
    except (ValueError, TypeError) as exc:
        return f"unreadable key or signature ({exc})"
    if fingerprint(public) != seal["key_fingerprint"]:
        return "key fingerprint does not match the public key it names"
    version = int(str(seal.get("schema", "/2")).rpartition("/")[2] or 2)
    try:
        if version >= 3:
            public.verify(signature, signed_bytes(seal))
        else:
            public.verify(signature, seal_payload(seal["run_id"], seal["head"], seal["count"], seal["hashes"]))
    except InvalidSignature:
        what = "the seal record (a field was changed after signing)" if version >= 3 else "head, count, record hashes"
        return f"signature does not match what the seal states: {what}"
    return None


def trusted_fingerprints(items: list[str]) -> set[str]:
    """Fingerprints from ``--trust`` values: a fingerprint, or a PEM key file (public or private)."""
    found = set()
    for item in items:
        path = Path(item)
        if item.startswith("ed25519:") and not path.exists():
            if len(item) != len("ed25519:") + 64 or any(c not in "0123456789abcdef" for c in item[8:]):
                raise PathError(f"--trust {item}: not an ed25519:<64 hex digits> fingerprint")
            found.add(item)
            continue
        if not path.exists() and not path.is_symlink():
            raise PathError(f"--trust {item}: neither a key file nor an ed25519:<sha256> fingerprint")
        data = check_input_file(path, "key file", max_bytes=64 * 1024).read_bytes()
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
    """A detached signature (case manifests, report digests) with the key's fingerprint and public key."""
    key = signing_key()
    return {**public_fields(key), "signature": base64.b64encode(key.sign(data)).decode("ascii")}


def check_bytes(signature: dict, data: bytes) -> str | None:
    """None when a detached signature from :func:`sign_bytes` holds for ``data``, else what is wrong."""
    if not isinstance(signature, dict):
        return "no signature"
    try:
        public = Ed25519PublicKey.from_public_bytes(base64.b64decode(str(signature["public_key"]), validate=True))
        public.verify(base64.b64decode(str(signature["signature"]), validate=True), data)
    except KeyError as exc:
        return f"signature lacks field {exc}"
    except (ValueError, TypeError, InvalidSignature):
        return "signature does not match the signed content"
    if fingerprint(public) != signature.get("key_fingerprint"):
        return "the key fingerprint does not match the public key it names"
    return None
