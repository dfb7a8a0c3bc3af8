"""Paths the toolkit reads: a bad one is one line naming the path and the problem, never a traceback.

A folder where a file belongs, a FIFO (which would block a read forever), a device such as
``/dev/zero`` behind a symlink (which would fill memory), a file too large or unreadable: each is
refused before it is opened.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path


class PathError(ValueError):
    """A path that cannot be used as given; the message names it and says why."""


class MissingPathError(PathError, FileNotFoundError):
    """A path that does not exist (a :class:`FileNotFoundError` too, for callers that catch that)."""


def check_input_file(path: Path | str, what: str = "file", *, max_bytes: int | None = None) -> Path:
    """``path`` when it is a readable regular file (symlinks followed) within ``max_bytes``."""
    path = Path(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise MissingPathError(f"{path}: no such {what}") from None
    except OSError as exc:
        raise PathError(f"{path}: cannot be read ({exc.strerror})") from None
    if stat.S_ISDIR(st.st_mode):
        raise PathError(f"{path}: is a folder, not a {what}")
    if not stat.S_ISREG(st.st_mode):
        raise PathError(f"{path}: is not a regular file (a FIFO, device or socket); refusing to read it as a {what}")
    if max_bytes is not None and st.st_size > max_bytes:
        raise PathError(f"{path}: {st.st_size:,} bytes, more than the cap of {max_bytes:,} for a {what}")
    if not os.access(path, os.R_OK):
        raise PathError(f"{path}: cannot be read (permission denied)")
    return path


def check_input_folder(path: Path | str, what: str = "folder") -> Path:
    path = Path(path)
    if not path.exists():
        raise MissingPathError(f"{path}: no such {what}")
    if not path.is_dir():
        raise PathError(f"{path}: is not a folder")
    return path


def iter_logs(paths: Iterable[Path | str]) -> Iterator[Path]:
    """Expand folders into the ``*.jsonl`` logs they hold; every log must be a readable regular file."""
    for p in map(Path, paths):
        if p.is_dir():
            for log in sorted(p.rglob("*.jsonl")):
                yield check_input_file(log, "evidence log")
        else:
            yield check_input_file(p, "evidence log")
