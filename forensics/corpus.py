"""The in-memory view that every analysis works on: prompts and each model's responses to them.

Evidence logs, imported recordings and benchmark folders all end up here, so signals and
statistics never care where a response came from, yet each response keeps the hash of the
evidence record behind it so that findings can cite their records.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping


@dataclass(frozen=True)
class Response:
    """One model's answer to one prompt, with a pointer back to its evidence record."""

    model: str
    prompt_id: str
    text: str
    sample_index: int = 0
    record_hash: str | None = None


@dataclass
class Corpus:
    """Prompts plus the responses of several models to the same prompts.

    ``prompts`` maps prompt_id to the prompt text; ``meta`` holds per-prompt extras such as
    the probe family or answer key. ``responses[model][prompt_id]`` is the list of samples.
    """

    name: str
    prompts: dict[str, str] = field(default_factory=dict)
    meta: dict[str, dict] = field(default_factory=dict)
    responses: dict[str, dict[str, list[Response]]] = field(default_factory=dict)

    @property
    def models(self) -> list[str]:
        return sorted(self.responses)

    def add(self, response: Response, prompt: str | None = None, meta: Mapping | None = None) -> None:
        if prompt is not None:
            self.prompts.setdefault(response.prompt_id, prompt)
        if meta:
            self.meta.setdefault(response.prompt_id, dict(meta))
        samples = self.responses.setdefault(response.model, {}).setdefault(response.prompt_id, [])
        samples.append(response)
        samples.sort(key=lambda r: r.sample_index)

    def text(self, model: str, prompt_id: str) -> str | None:
        """First sample of ``model`` for ``prompt_id``; None when the model has no answer."""
        samples = self.responses.get(model, {}).get(prompt_id)
        return samples[0].text if samples else None

    def texts(self, model: str, prompt_ids: Iterable[str]) -> list[str | None]:
        return [self.text(model, pid) for pid in prompt_ids]

    def record(self, model: str, prompt_id: str) -> str | None:
        samples = self.responses.get(model, {}).get(prompt_id)
        return samples[0].record_hash if samples else None

    def common_prompts(self, models: Iterable[str]) -> list[str]:
        """Prompt ids that every named model answered with a non-empty response, in stable order."""
        models = list(models)
        return [
            pid
            for pid in sorted(self.prompts)
            if all((self.text(m, pid) or "").strip() for m in models)
        ]

    def subset(self, prompt_ids: Iterable[str]) -> "Corpus":
        keep = set(prompt_ids)
        out = Corpus(self.name, {p: t for p, t in self.prompts.items() if p in keep},
                     {p: m for p, m in self.meta.items() if p in keep})
        for model, by_prompt in self.responses.items():
            out.responses[model] = {p: list(s) for p, s in by_prompt.items() if p in keep}
        return out


class CorpusFormatError(ValueError):
    """A response file that cannot be read; the message names file, line and field."""

    def __init__(self, path: Path | str, line: int, field_name: str, problem: str):
        self.path, self.line, self.field = str(path), line, field_name
        super().__init__(f"{path}:{line}: field '{field_name}': {problem}")


def read_jsonl(path: Path) -> Iterable[tuple[int, dict]]:
    """Yield (line number, object) for each non-blank line; bad JSON names its line."""
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise CorpusFormatError(path, lineno, "<json>", f"not valid JSON ({exc.msg})") from None
            if not isinstance(obj, dict):
                raise CorpusFormatError(path, lineno, "<json>", "expected a JSON object")
            yield lineno, obj


def require_field(obj: dict, key: str, path: Path, lineno: int, kind=str):
    if key not in obj:
        raise CorpusFormatError(path, lineno, key, "missing")
    value = obj[key]
    if not isinstance(value, kind):
        raise CorpusFormatError(path, lineno, key, f"expected {kind.__name__}, got {type(value).__name__}")
    return value


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
    from forensics.evidence import iter_logs, read_records
    from forensics.probes import AnswerKey

    corpus = Corpus(name)
    for path in iter_logs(paths):
        for rec in read_records(path, check=check):
            if rec.get("kind") not in ("response", "imported"):
                continue
            probe = rec.get("probe") or {}
            meta = {k: probe[k] for k in ("family", "language", "tags") if k in probe}
            if probe.get("answer"):
                key = probe["answer"]
                meta["answer"] = AnswerKey(tuple(key.get("accept") or ()), key.get("regex"), key.get("number"),
                                           key.get("tolerance") or 0.0)
            meta.update(rec.get("prompt_meta") or {})
            response = Response(rec["label"], rec["probe_id"], rec["response"]["text"],
                                rec.get("sample_index", 0), rec["hash"])
            corpus.add(response, prompt=rec.get("prompt"), meta=meta)
            if "human_label" in rec:
                corpus.meta[rec["probe_id"]].setdefault("human_labels", {})[rec["label"]] = rec["human_label"]
    return corpus
