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

from forensics.evidence.inputs import PathError, check_input_file, check_input_folder
from forensics.evidence.jsonl import MAX_FILE_BYTES, CorpusFormatError, read_jsonl, require_field
from forensics.evidence.records import (
    EvidenceError,
    ImportedRecord,
    ImportRecord,
    canonical_chunks,
    loads_strict,
    sha256_of,
)
from forensics.evidence.writer import EvidenceLog, check_log_target


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


def _where(source: dict) -> str:
    where = next((f"{k} {source[k]}" for k in ("line", "index", "row") if k in source), "?")
    return f"{source.get('file') or source.get('source')} {where}"


class _Answers:
    """One answer per (label, prompt id, sample): a second, different one is refused, naming both."""

    def __init__(self):
        self.seen: dict[tuple, tuple[str, str]] = {}
        self.duplicates = 0

    def add(self, rec: dict, where: str) -> bool:
        """True for a new answer; False for a byte-identical duplicate (counted)."""
        key = (rec["label"], rec["probe_id"], rec.get("sample_index", 0))
        digest = sha256_of(canonical_chunks(rec["response"]["text"]))
        if key not in self.seen:
            self.seen[key] = (digest, where)
            return True
        if self.seen[key][0] == digest:
            self.duplicates += 1
            return False
        raise EvidenceError(
            f"{where}: prompt id {rec['probe_id']!r} of {rec['label']!r} already has a different answer "
            f"({self.seen[key][1]}); refusing to import two answers to one prompt"
        )


def _write(out: Path, header: dict, records: list[dict], accept_key_change: bool = False) -> int:
    """Append what this log does not hold yet (same source hash and line), in one sealed import run.

    A source whose answer to a prompt differs from the one the log already holds for it (an edited
    source imported again) is refused, naming both."""
    with EvidenceLog(out, accept_key_change=accept_key_change) as log:
        held = log.records
        answers = _Answers()
        for r in held:
            if r["kind"] == "imported":
                answers.add(r, f"{out} seq {r['seq']}")
        known = {_source_key(r["source"]) for r in held if r["kind"] == "imported"}
        new = []
        for r in records:
            if _source_key(r["source"]) in known:
                continue
            if answers.add(r, _where(r["source"])):
                new.append(r)
        run_id = uuid.uuid4().hex
        log.append(
            ImportRecord(
                {
                    **header,
                    "run_id": run_id,
                    "offered": len(records),
                    "already_held": len(records) - len(new),
                }
            ),
            sync=False,
        )
        log.extend([ImportedRecord({**r, "run_id": run_id}) for r in new])
        log.seal(run_id)
    return len(new)


def benchmark_folders(folder: Path) -> list[Path]:
    """A corpus folder itself, or every corpus folder inside a split folder."""
    check_input_folder(folder, "benchmark folder")
    if (folder / "_prompts.jsonl").is_file():
        return [folder]
    found = sorted(p.parent for p in folder.glob("*/_prompts.jsonl"))
    if not found:
        raise PathError(f"{folder}: no _prompts.jsonl here or one level down; not the benchmark layout")
    return found


def import_benchmark(folder: Path | str, out: Path | str, *, accept_key_change: bool = False) -> int:
    """The shared benchmark layout: ``_prompts.jsonl`` plus one ``<model>.jsonl`` per model.

    Every file is read once and hashed as it is read (``_prompts.jsonl`` too). A model file with
    two different answers to one prompt id, or a prompt text that differs between files for one id,
    is refused, naming file and line."""
    folder, out = Path(folder), Path(out)
    check_log_target(out)
    records, sources = [], {}
    for corpus_dir in benchmark_folders(folder):
        prompts, texts = {}, {}
        prompts_file = corpus_dir / "_prompts.jsonl"
        h = hashlib.sha256()
        for lineno, obj in read_jsonl(prompts_file, hasher=h):
            pid = require_field(obj, "prompt_id", prompts_file, lineno)
            prompts[pid] = obj
            if isinstance(obj.get("prompt"), str):
                texts[pid] = (obj["prompt"], f"{prompts_file}:{lineno}")
        sources[str(prompts_file)] = h.hexdigest()
        for path in sorted(corpus_dir.glob("*.jsonl")):
            if path.name.startswith("_"):
                continue
            h = hashlib.sha256()
            rows = []
            for lineno, obj in read_jsonl(path, hasher=h, long_keys=("response",)):
                pid = require_field(obj, "prompt_id", path, lineno)
                text = require_field(obj, "response", path, lineno)
                prompt = obj.get("prompt")
                if isinstance(prompt, str) and prompt:
                    seen = texts.setdefault(pid, (prompt, f"{path}:{lineno}"))
                    if seen[0] != prompt:
                        raise CorpusFormatError(
                            path, lineno, "prompt", f"differs from the text of prompt id {pid!r} at {seen[1]}"
                        )
                rows.append((lineno, obj, pid, text))
            sources[str(path)] = h.hexdigest()  # the hash of exactly the bytes just parsed
            for lineno, obj, pid, text in rows:
                prompt = obj.get("prompt") or texts.get(pid, ("", ""))[0]
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
    header = {"format": "benchmark-jsonl", "source": str(folder), "files": sources}
    return _write(out, header, records, accept_key_change)


def import_alpaca_eval(
    path: Path | str, out: Path | str, model: str | None = None, *, accept_key_change: bool = False
) -> int:
    """AlpacaEval's ``model_outputs.json``: a list of {instruction, output, generator}; read once and
    hashed from the same bytes. Two different outputs for one instruction are refused."""
    path, out = Path(path), Path(out)
    check_log_target(out)
    check_input_file(path, "AlpacaEval outputs file", max_bytes=MAX_FILE_BYTES)
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    try:
        rows = loads_strict(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CorpusFormatError(path, line, "<utf-8>", f"not UTF-8 ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise CorpusFormatError(path, exc.lineno, "<json>", exc.msg) from None
    except (ValueError, RecursionError) as exc:
        raise CorpusFormatError(path, 1, "<json>", f"not strict JSON ({exc})") from None
    del data
    if not isinstance(rows, list):
        raise CorpusFormatError(path, 1, "<json>", "expected a JSON list of outputs")
    records = []
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
    header = {"format": "alpaca_eval", "source": str(path), "files": {str(path): digest}}
    return _write(out, header, records, accept_key_change)


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
    accept_key_change: bool = False,
) -> int:
    """Any Hugging Face ``datasets`` table with prompt/response columns.

    ``source`` is a folder written by ``Dataset.save_to_disk``, a local data file
    (json/jsonl/csv/parquet), or a dataset name that is already in the local cache (the hub
    is never contacted). An ``hf:`` prefix is allowed. Files and folders are hashed.
    """
    source = source.removeprefix("hf:")
    out, path = Path(out), Path(source).expanduser()
    check_log_target(out)
    looks_like_path = source.startswith(("/", ".", "~")) or path.suffix in (".json", ".jsonl", ".csv", ".parquet")
    if not path.exists() and looks_like_path:
        raise PathError(f"{source}: no such file or folder to import")
    if path.exists() and not path.is_dir():
        check_input_file(path, "table to import", max_bytes=MAX_FILE_BYTES)
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
            raise PathError(f"{path}: unsupported file type '{path.suffix}' (json, jsonl, csv, parquet)")
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
    return _write(out, {**header, "files": {source: digest} if digest else {}}, records, accept_key_change)
