"""The one gate every file the traffic pipeline writes goes through, so no output ever replaces evidence.

Reports, detections and probe sets are checked and written by the evidence layer's output guard
(:mod:`forensics.evidence.output`: never over an evidence log or through a symlink, written to a
temporary file and renamed); a campaign's evidence log is only ever created, never reopened.
"""

from __future__ import annotations

from pathlib import Path

from forensics.evidence.output import check_output_target, write_output_atomic

SUFFIXES = {"json": (".json",), "html": (".html", ".htm"), "yaml": (".yaml", ".yml"), "evidence": (".jsonl",)}


def guarded_output(path: Path | str, kind: str) -> Path:
    """``path`` if it may be written as ``kind`` (json, html, yaml, or a new evidence log); checked
    before any work is done. A PathError or FileExistsError says why not."""
    path = check_output_target(Path(path), suffixes=SUFFIXES[kind])
    if kind == "evidence" and path.exists():
        raise FileExistsError(
            f"{path}: exists; a scan writes new evidence logs and never reopens one (use a new --out)"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def write_guarded(path: Path | str, kind: str, text: str) -> Path:
    """Write ``text`` to ``path`` (json, html or yaml) through the guard, atomically."""
    path = guarded_output(path, kind)
    return write_output_atomic(path, text.encode("utf-8"), suffixes=SUFFIXES[kind])
