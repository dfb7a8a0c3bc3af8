"""Importers: responses that others recorded, brought into the same evidence format.

Imported records are marked ``kind: imported`` and carry the source file, its SHA-256 and the
line they came from, so an investigator can always tell a response the toolkit collected
itself from one it took on trust.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from pathlib import Path

from forensics.evidence.jsonl import CorpusFormatError, read_jsonl, require_field
from forensics.evidence.log import EvidenceLog, read_records
from forensics.evidence.records import ImportedRecord, ImportRecord


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def text_prompt_id(prompt: str) -> str:
    """Sources without ids align across models by the prompt text itself."""
    return "p-" + hashlib.sha256(prompt.strip().encode("utf-8")).hexdigest()[:16]


def folder_sha256(folder: Path) -> str:
    """One hash over every file of a folder (relative names and contents), e.g. a ``save_to_disk`` dataset."""
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        h.update(f"{path.relative_to(folder).as_posix()}\0{file_sha256(path)}\n".encode())
    return h.hexdigest()


def _imported(model: str, prompt_id: str, prompt: str, text: str, source: dict, **extra) -> dict:
    return {
        "model": model,
        "label": model,
        "probe_id": prompt_id,
        "prompt": prompt,
        "messages": [{"role": "user", "content": prompt}],
        "sample_index": 0,
        "response": {"text": text},
        "source": source,
        **extra,
    }


def _source_key(source: dict) -> str | None:
    """Where an imported record came from: the source's hash and its line, index or row."""
    where = next((source[k] for k in ("line", "index", "row") if k in source), None)
    return f"{source['sha256']}#{where}" if source.get("sha256") and where is not None else None


def _write(out: Path, header: dict, records: list[dict]) -> int:
    """Append what this log does not hold yet (same source hash and line), in one sealed import run."""
    with EvidenceLog(out) as log:
        held = {_source_key(r["source"]) for r in read_records(out, check=False) if r["kind"] == "imported"}
        new = [r for r in records if _source_key(r["source"]) not in held]
        run_id = uuid.uuid4().hex
        log.append(
            ImportRecord(
                {**header, "run_id": run_id, "offered": len(records), "already_held": len(records) - len(new)}
            ),
            sync=False,
        )
        log.extend([ImportedRecord({**r, "run_id": run_id}) for r in new])
        log.seal(run_id)
    return len(new)


def benchmark_folders(folder: Path) -> list[Path]:
    """A corpus folder itself, or every corpus folder inside a split folder."""
    if (folder / "_prompts.jsonl").is_file():
        return [folder]
    found = sorted(p.parent for p in folder.glob("*/_prompts.jsonl"))
    if not found:
        raise FileNotFoundError(f"{folder}: no _prompts.jsonl here or one level down; not the benchmark layout")
    return found


def import_benchmark(folder: Path | str, out: Path | str) -> int:
    """The shared benchmark layout: ``_prompts.jsonl`` plus one ``<model>.jsonl`` per model."""
    folder, out = Path(folder), Path(out)
    records, sources = [], {}
    for corpus_dir in benchmark_folders(folder):
        prompts = {}
        for lineno, obj in read_jsonl(corpus_dir / "_prompts.jsonl"):
            prompts[require_field(obj, "prompt_id", corpus_dir / "_prompts.jsonl", lineno)] = obj
        for path in sorted(corpus_dir.glob("*.jsonl")):
            if path.name.startswith("_"):
                continue
            sources[str(path)] = file_sha256(path)
            for lineno, obj in read_jsonl(path):
                pid = require_field(obj, "prompt_id", path, lineno)
                text = require_field(obj, "response", path, lineno)
                prompt = obj.get("prompt") or prompts.get(pid, {}).get("prompt", "")
                extra = {
                    "corpus": corpus_dir.name,
                    "prompt_meta": {k: v for k, v in prompts.get(pid, {}).items() if k not in ("prompt_id", "prompt")},
                }
                if "human_label" in obj:
                    extra["human_label"] = obj["human_label"]
                records.append(
                    _imported(
                        path.stem,
                        pid,
                        prompt,
                        text,
                        {
                            "format": "benchmark-jsonl",
                            "file": str(path),
                            "sha256": sources[str(path)],
                            "line": lineno,
                            "origin": obj.get("source"),
                            "reported_model": obj.get("model"),
                        },
                        **extra,
                    )
                )
    return _write(out, {"format": "benchmark-jsonl", "source": str(folder), "files": sources}, records)


def import_alpaca_eval(path: Path | str, out: Path | str, model: str | None = None) -> int:
    """AlpacaEval's ``model_outputs.json``: a list of {instruction, output, generator}."""
    path, out = Path(path), Path(out)
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise CorpusFormatError(path, exc.lineno, "<json>", exc.msg) from None
    if not isinstance(rows, list):
        raise CorpusFormatError(path, 1, "<json>", "expected a JSON list of outputs")
    records, digest = [], file_sha256(path)
    for i, row in enumerate(rows):
        where = f"[{i}]"
        for key in ("instruction", "output"):
            if not isinstance(row, dict) or not isinstance(row.get(key), str):
                raise CorpusFormatError(path, 1, f"{where}.{key}", "missing or not a string")
        name = model or row.get("generator")
        if not isinstance(name, str) or not name:
            raise CorpusFormatError(path, 1, f"{where}.generator", "missing; pass a model name")
        records.append(
            _imported(
                name,
                text_prompt_id(row["instruction"]),
                row["instruction"],
                row["output"],
                {
                    "format": "alpaca_eval",
                    "file": str(path),
                    "sha256": digest,
                    "index": i,
                    "dataset": row.get("dataset"),
                },
            )
        )
    return _write(out, {"format": "alpaca_eval", "source": str(path), "files": {str(path): digest}}, records)


def import_hf_dataset(
    source: str,
    out: Path | str,
    *,
    model: str | None = None,
    model_column: str | None = None,
    prompt_column: str = "prompt",
    response_column: str = "response",
    id_column: str | None = None,
    split: str = "train",
) -> int:
    """Any Hugging Face ``datasets`` table with prompt/response columns.

    ``source`` is a folder written by ``Dataset.save_to_disk``, a local data file
    (json/jsonl/csv/parquet), or a dataset name that is already in the local cache (the hub
    is never contacted). An ``hf:`` prefix is allowed. Files and folders are hashed.
    """
    source = source.removeprefix("hf:")
    out, path = Path(out), Path(source).expanduser()
    looks_like_path = source.startswith(("/", ".", "~")) or path.suffix in (".json", ".jsonl", ".csv", ".parquet")
    if not path.exists() and looks_like_path:
        raise FileNotFoundError(f"{source}: no such file or folder to import")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # set before datasets reads its configuration
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    import datasets  # about 1.5 s to import (python -X importtime): paid only by this importer

    if path.is_dir():
        ds = datasets.load_from_disk(str(path))
        if isinstance(ds, datasets.DatasetDict):
            ds = ds[split]
        digest = folder_sha256(path)
    elif path.is_file():
        kind = {".jsonl": "json", ".json": "json", ".csv": "csv", ".parquet": "parquet"}.get(path.suffix)
        if kind is None:
            raise ValueError(f"{path}: unsupported file type '{path.suffix}' (json, jsonl, csv, parquet)")
        ds = datasets.load_dataset(kind, data_files=str(path), split="train")
        digest = file_sha256(path)
    else:
        ds = datasets.load_dataset(source, split=split)
        digest = None
    for col in (prompt_column, response_column, id_column, model_column):
        if col and col not in ds.column_names:
            raise CorpusFormatError(source, 1, col, f"no such column (columns: {', '.join(ds.column_names)})")
    if not model and not model_column:
        raise ValueError("name the model (--model) or the column that holds it (--model-column)")
    records = []
    for i, row in enumerate(ds):
        prompt, text = row[prompt_column], row[response_column]
        for col, value in ((prompt_column, prompt), (response_column, text)):
            if not isinstance(value, str):
                raise CorpusFormatError(source, i + 1, col, f"expected a string, got {type(value).__name__}")
        pid = str(row[id_column]) if id_column else text_prompt_id(prompt)
        name = model or str(row[model_column])
        origin = {"format": "hf-datasets", "source": source, "row": i, "sha256": digest or ds._fingerprint}
        records.append(_imported(name, pid, prompt, text, origin))
    header = {
        "format": "hf-datasets",
        "source": source,
        "split": split,
        "fingerprint": getattr(ds, "_fingerprint", None),
    }
    return _write(out, {**header, "files": {source: digest} if digest else {}}, records)
