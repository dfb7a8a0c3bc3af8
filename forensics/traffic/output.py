"""The one gate every file the traffic pipeline writes goes through, so no output ever replaces evidence.

It calls the evidence layer's guard (``check_output_file``); an evidence log is only ever created,
never reopened or overwritten by a scan.
"""

from __future__ import annotations

from pathlib import Path

from forensics.evidence import check_output_file

SUFFIXES = {"json": (".json",), "html": (".html", ".htm"), "yaml": (".yaml", ".yml"), "evidence": (".jsonl",)}


def guarded_output(path: Path | str, kind: str) -> Path:
    """``path`` if it may be written as ``kind`` (json, html, yaml, or a new evidence log); else FileExistsError."""
    path = check_output_file(Path(path), SUFFIXES[kind])
    if kind == "evidence" and path.exists():
        raise FileExistsError(
            f"{path}: exists; a scan writes new evidence logs and never reopens one (use a new --out)"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    return path
