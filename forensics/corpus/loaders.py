"""Evidence logs, imported recordings and benchmark folders, all read into one :class:`Corpus`."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from forensics.corpus.responses import Corpus, Response
from forensics.evidence import CorpusFormatError, iter_logs, read_jsonl, read_records, require_field
from forensics.probes import AnswerKey


def load_benchmark_corpus(folder: Path | str) -> Corpus:
    """Read one corpus folder in the shared benchmark layout (``_prompts.jsonl`` + ``<model>.jsonl``).

    Missing prompts and empty responses are kept as they are: real data is like that.
    """
    folder = Path(folder)
    prompts_file = folder / "_prompts.jsonl"
    if not prompts_file.is_file():
        raise FileNotFoundError(f"{prompts_file}: no _prompts.jsonl, so {folder} is not a benchmark corpus folder")
    corpus = Corpus(folder.name)
    for lineno, obj in read_jsonl(prompts_file):
        pid = require_field(obj, "prompt_id", prompts_file, lineno)
        corpus.prompts[pid] = require_field(obj, "prompt", prompts_file, lineno)
        corpus.meta[pid] = {k: v for k, v in obj.items() if k not in ("prompt_id", "prompt")}
    for path in sorted(folder.glob("*.jsonl")):
        if path.name.startswith("_"):
            continue
        for lineno, obj in read_jsonl(path):
            pid = require_field(obj, "prompt_id", path, lineno)
            text = require_field(obj, "response", path, lineno)
            if pid not in corpus.prompts:
                prompt = obj.get("prompt")
                if isinstance(prompt, str):
                    corpus.prompts[pid] = prompt
            # The file name is the model's key, as in lineage.json.
            corpus.add(Response(model=path.stem, prompt_id=pid, text=text))
            if "human_label" in obj:
                corpus.meta.setdefault(pid, {}).setdefault("human_labels", {})[path.stem] = obj["human_label"]
    return corpus


def load_lineage(folder: Path | str) -> dict:
    """``lineage.json`` of a benchmark split: {corpus: {model: {role, family, ...}}}."""
    path = Path(folder) / "lineage.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise CorpusFormatError(path, exc.lineno, "<json>", exc.msg) from None


def load_evidence(paths: Iterable[Path | str], name: str = "evidence", check: bool = True) -> Corpus:
    """Successful responses from evidence logs (collected or imported), keyed by model label.

    With ``check`` every log's hash chain must verify first: analysis never runs on a log
    that does not check out.
    """
    corpus = Corpus(name)
    for path in iter_logs(paths):
        for rec in read_records(path, check=check):
            if rec.get("kind") not in ("response", "imported"):
                continue
            probe = rec.get("probe") or {}
            meta = {k: probe[k] for k in ("family", "language", "tags") if k in probe}
            if probe.get("answer"):
                key = probe["answer"]
                meta["answer"] = AnswerKey(
                    tuple(key.get("accept") or ()), key.get("regex"), key.get("number"), key.get("tolerance") or 0.0
                )
            meta.update(rec.get("prompt_meta") or {})
            response = Response(
                rec["label"], rec["probe_id"], rec["response"]["text"], rec.get("sample_index", 0), rec["hash"]
            )
            corpus.add(response, prompt=rec.get("prompt"), meta=meta)
            if "human_label" in rec:
                corpus.meta[rec["probe_id"]].setdefault("human_labels", {})[rec["label"]] = rec["human_label"]
    return corpus
