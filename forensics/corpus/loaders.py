"""Evidence logs, imported recordings and benchmark folders, all read into one :class:`Corpus`."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from forensics.corpus.responses import Corpus, Response
from forensics.evidence import (
    CorpusFormatError,
    EvidenceError,
    canonical_json,
    iter_logs,
    read_jsonl,
    read_records,
    require_field,
    subject_identity,
)
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


def load_evidence(
    paths: Iterable[Path | str], name: str = "evidence", check: bool = True, *, allow_mixed: bool = False
) -> Corpus:
    """Successful responses from evidence logs (collected or imported), keyed by model label.

    With ``check`` every log's hash chain must verify first: analysis never runs on a log
    that does not check out. A label must name one subject (see
    :func:`forensics.evidence.subject_identity`); otherwise loading refuses and names the
    conflicting records, unless ``allow_mixed`` (then ``corpus.mixed`` says which labels mix).
    A probe edited between collections is a new prompt: its id gains its content digest.
    """
    corpus = Corpus(name)
    kept, digests = [], defaultdict(set)
    for path in iter_logs(paths):
        for rec in read_records(path, check=check):
            if rec.get("kind") in ("response", "imported"):
                kept.append((path, rec))
                digests[rec["probe_id"]].add(rec.get("probe_digest"))
    identities: dict[str, dict[str, tuple]] = defaultdict(dict)
    for path, rec in kept:
        identity = subject_identity(rec)
        identities[rec["label"]].setdefault(canonical_json(identity), (identity, path, rec["seq"]))
    for label, found in sorted(identities.items()):
        if len(found) < 2:
            continue
        if allow_mixed:
            corpus.mixed[label] = [identity for identity, _, _ in found.values()]
            continue
        (a, path_a, seq_a), (b, path_b, seq_b) = list(found.values())[:2]
        raise EvidenceError(
            f"label '{label}' covers {len(found)} different subjects, e.g. {path_a} seq {seq_a}: {canonical_json(a)} "
            f"and {path_b} seq {seq_b}: {canonical_json(b)}; collect them under different labels, "
            "or allow mixing explicitly (--allow-mixed), which the report states"
        )
    for _, rec in kept:
        pid = rec["probe_id"]
        if len(digests[pid]) > 1:
            pid = f"{pid}@{(rec.get('probe_digest') or 'unversioned')[:12]}"
        probe = rec.get("probe") or {}
        meta = {k: probe[k] for k in ("family", "language", "tags") if k in probe}
        if probe.get("answer"):
            key = probe["answer"]
            meta["answer"] = AnswerKey(
                tuple(key.get("accept") or ()), key.get("regex"), key.get("number"), key.get("tolerance") or 0.0
            )
        meta.update(rec.get("prompt_meta") or {})
        response = Response(rec["label"], pid, rec["response"]["text"], rec.get("sample_index", 0), rec["hash"])
        corpus.add(response, prompt=rec.get("prompt"), meta=meta)
        if "human_label" in rec:
            corpus.meta[pid].setdefault("human_labels", {})[rec["label"]] = rec["human_label"]
    return corpus
