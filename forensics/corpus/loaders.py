"""Evidence logs, imported recordings and benchmark folders, all read into one :class:`Corpus`."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from forensics.corpus.responses import Corpus, Response
from forensics.evidence import (
    CorpusFormatError,
    EvidenceError,
    VerifiedLog,
    VerifyResult,
    canonical_json,
    iter_logs,
    read_jsonl,
    read_records,
    require_field,
    subject_identity,
    verified_logs,
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


def _content_key(rec) -> str:
    """What a prompt is, by content: the probe's digest, or for imported records the hash of id and text."""
    if rec.get("probe_digest"):
        return rec["probe_digest"]
    messages = rec.get("messages") or rec.get("prompt")
    return hashlib.sha256(canonical_json([rec["probe_id"], messages]).encode("utf-8")).hexdigest()


def _where(path, rec) -> str:
    return f"{path} seq {rec['seq']}"


def _logs(paths: list, check: bool, trust) -> list[VerifiedLog]:
    if check:
        return verified_logs(paths, trust=trust)
    out = []
    for p in paths:
        if isinstance(p, VerifiedLog):
            out.append(p)
            continue
        for log in iter_logs([p]):
            out.append(
                VerifiedLog(
                    VerifyResult(path=str(log), ok=True, n_records=0, head=""), tuple(read_records(log, check=False))
                )
            )
    return out


def load_evidence(
    paths: Iterable[Path | str | VerifiedLog],
    name: str = "evidence",
    check: bool = True,
    *,
    allow_mixed: bool = False,
    trust: Iterable[str] | None = None,
) -> Corpus:
    """Successful responses from evidence logs (collected or imported), keyed by model label.

    ``paths`` are logs, folders of them, or logs already verified (:class:`VerifiedLog`, whose
    records are used as they are: no log is read twice). With ``check`` every log must verify
    first (with ``trust``, sealed by a trusted key): analysis never runs on a log that does not
    check out. A label must name one subject (see :func:`forensics.evidence.subject_identity`);
    otherwise loading refuses and names the conflicting records, unless ``allow_mixed`` (then
    ``corpus.mixed`` says which labels mix). One subject has one answer per (label, probe content,
    sample): a second, different answer is refused naming both records; a byte-identical one (the
    same log given twice, the same source imported twice) is loaded once, with a note in
    ``corpus.notes``. A probe edited between collections is a new prompt: its id gains its content digest.
    """
    corpus = Corpus(name)
    kept, digests, seen = [], defaultdict(set), set()
    skipped: dict[str, int] = defaultdict(int)
    for verified in _logs(list(paths), check, trust):
        path = verified.path
        for rec in verified.records:
            if rec.get("kind") not in ("response", "imported"):
                continue
            if rec["hash"] in seen:  # the same record again: the same log given twice
                skipped[str(path)] += 1
                continue
            seen.add(rec["hash"])
            kept.append((path, rec))
            digests[rec["probe_id"]].add(rec.get("probe_digest"))
    for path, n in sorted(skipped.items()):
        corpus.notes.append(f"{path}: {n} records already loaded from another copy of the same log; loaded once")
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
    answers: dict[tuple, tuple] = {}
    prompt_at: dict[str, str] = {}
    duplicates = 0
    for path, rec in kept:
        subject = canonical_json(subject_identity(rec)) if allow_mixed else ""
        key = (rec["label"], _content_key(rec), rec.get("sample_index", 0), subject)
        text = rec["response"]["text"]
        if key in answers:
            first_path, first = answers[key]
            if first["response"]["text"] != text:
                raise EvidenceError(
                    f"label '{rec['label']}' has two different answers to probe {rec['probe_id']} sample "
                    f"{rec.get('sample_index', 0)}: {_where(first_path, first)} and {_where(path, rec)}; one subject "
                    "has one answer per probe and sample (a shadow log, or a source edited and imported again?)"
                )
            duplicates += 1
            continue
        answers[key] = (path, rec)
        pid = rec["probe_id"]
        if len(digests[pid]) > 1:
            pid = f"{pid}@{(rec.get('probe_digest') or 'unversioned')[:12]}"
        probe = rec.get("probe") or {}
        meta = {k: probe[k] for k in ("family", "language", "tags") if k in probe}
        if probe.get("answer"):
            answer = probe["answer"]
            meta["answer"] = AnswerKey(
                tuple(answer.get("accept") or ()),
                answer.get("regex"),
                answer.get("number"),
                answer.get("tolerance") or 0.0,
            )
        meta.update(rec.get("prompt_meta") or {})
        response = Response(rec["label"], pid, text, rec.get("sample_index", 0), rec["hash"])
        prompt = rec.get("prompt")
        if prompt is not None and pid in corpus.prompts and corpus.prompts[pid] != prompt:
            raise EvidenceError(
                f"prompt id {pid} has two different texts: {prompt_at[pid]} and {_where(path, rec)}; "
                "one id must name one prompt"
            )
        prompt_at.setdefault(pid, _where(path, rec))
        corpus.add(response, prompt=prompt, meta=meta)
        if "human_label" in rec:
            corpus.meta[pid].setdefault("human_labels", {})[rec["label"]] = rec["human_label"]
    if duplicates:
        corpus.notes.append(
            f"{duplicates} byte-identical answers recorded twice (same label, probe and sample); loaded once"
        )
    return corpus
