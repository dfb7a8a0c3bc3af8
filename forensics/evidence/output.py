"""The one output guard: every file the toolkit writes (report, digest, manifest, notebook outputs,
bench JSON) goes through it, so no output option can destroy evidence.

API (stable; other subpackages and scripts use only these):

* :func:`check_output_target` ``(path, *, suffixes=None, replaces=None) -> Path``: fail early,
  before any analysis, when ``path`` could not or must not be written.
* :func:`write_output_atomic` ``(path, data, *, suffixes=None, replaces=None) -> Path``: check,
  then write ``data`` (str or bytes) to a temporary file in the target folder, opened with
  ``O_CREAT | O_EXCL | O_NOFOLLOW``, fsync it and rename it over ``path``.
* :func:`atomic_output` ``(path, ...)``: the same as a context manager yielding a binary file.
* :func:`is_evidence_log` ``(path) -> bool``: recognised by content, never by extension.

Refused: a symlink (followed, it could point into evidence), a folder, an evidence log (by its
content), a signed case manifest (unless ``replaces="case_manifest"``), an existing file of
another type (``suffixes``), a folder marked read-only (even for root) or one that cannot be
written.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path

from forensics.evidence.inputs import PathError
from forensics.evidence.records import GENESIS

_SNIFF = 1 << 20
_EVIDENCE_MARKS = (b'"schema":"forensics.evidence/', b'"prev":"' + GENESIS.encode() + b'"')
_MANIFEST_MARK = b'"kind": "case_manifest"'


def _head(path: Path) -> bytes:
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            return b""
        with open(path, "rb") as fh:
            return fh.read(_SNIFF)
    except OSError:
        return b""


def is_evidence_log(path: Path | str) -> bool:
    """Whether a file starts like an evidence log: its first line is a record of an evidence schema
    (or the genesis link of a chain), whatever the file is called."""
    first = _head(Path(path)).split(b"\n", 1)[0]
    return first.startswith(b"{") and any(mark in first for mark in _EVIDENCE_MARKS)


def _writable_folder(folder: Path, target: Path) -> None:
    """The nearest existing folder on the way to ``target`` must be a folder we may write into."""
    existing = folder
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        raise PathError(f"{target}: {existing} is not a folder")
    mode = existing.stat().st_mode
    if not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) or not os.access(existing, os.W_OK | os.X_OK):
        raise PathError(f"{target}: the folder {existing} is read-only; refusing to write into it")


def check_output_target(
    path: Path | str, *, suffixes: tuple[str, ...] | None = None, replaces: str | None = None
) -> Path:
    """``path`` when it may be written: not a symlink, folder, evidence log or (unless ``replaces``
    is ``"case_manifest"``) signed manifest; an existing file only with one of ``suffixes``; its
    folder writable. Raises :class:`PathError` naming the path and the problem."""
    path = Path(path)
    if path.is_symlink():
        raise PathError(f"{path}: is a symbolic link; refusing to write through it")
    if path.is_dir():
        raise PathError(f"{path}: is a folder; name the file to write")
    if path.exists():
        if not path.is_file():
            raise PathError(f"{path}: is not a regular file; refusing to overwrite it")
        if is_evidence_log(path):
            raise PathError(f"{path}: is an evidence log; refusing to overwrite it")
        if replaces != "case_manifest" and _MANIFEST_MARK in _head(path):
            raise PathError(f"{path}: is a signed case manifest; refusing to overwrite it")
        if suffixes and path.suffix.lower() not in suffixes:
            raise PathError(f"{path}: exists and is not {' or '.join(suffixes)}; refusing to overwrite it")
    _writable_folder(path.parent, path)
    return path


@contextlib.contextmanager
def atomic_output(
    path: Path | str, *, suffixes: tuple[str, ...] | None = None, replaces: str | None = None
) -> Iterator:
    """A binary file that becomes ``path`` only when the block ends without error."""
    path = check_output_target(path, suffixes=suffixes, replaces=replaces)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.partial"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    except OSError as exc:
        raise PathError(f"{path}: cannot be written ({exc.strerror})") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        check_output_target(path, suffixes=suffixes, replaces=replaces)  # nothing planted meanwhile
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_output_atomic(
    path: Path | str, data: str | bytes, *, suffixes: tuple[str, ...] | None = None, replaces: str | None = None
) -> Path:
    """Write ``data`` to ``path`` through the guard, atomically (temporary file, fsync, rename)."""
    with atomic_output(path, suffixes=suffixes, replaces=replaces) as fh:
        fh.write(data.encode("utf-8") if isinstance(data, str) else data)
    return Path(path)
