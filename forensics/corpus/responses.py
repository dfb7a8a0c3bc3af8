"""Prompts and each model's responses to them, each response pointing back to its evidence record."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


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
    # Labels loaded with allow_mixed although they cover more than one subject identity.
    mixed: dict[str, list[dict]] = field(default_factory=dict)
    # What loading had to say: duplicates loaded once, copies of one log.
    notes: list[str] = field(default_factory=list)

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
        return [pid for pid in sorted(self.prompts) if all((self.text(m, pid) or "").strip() for m in models)]

    def subset(self, prompt_ids: Iterable[str]) -> Corpus:
        keep = set(prompt_ids)
        out = Corpus(
            self.name,
            {p: t for p, t in self.prompts.items() if p in keep},
            {p: m for p, m in self.meta.items() if p in keep},
            mixed=dict(self.mixed),
            notes=list(self.notes),
        )
        for model, by_prompt in self.responses.items():
            out.responses[model] = {p: list(s) for p, s in by_prompt.items() if p in keep}
        return out
