"""One model string in, the adapter for its API out."""

from __future__ import annotations

from collections.abc import Iterable

from forensics.providers.anthropic_api import AnthropicMessages
from forensics.providers.base import ModelAPI, ModelSpec, parse_spec
from forensics.providers.hf_local import HFTransformers
from forensics.providers.openai_api import OpenAIChat, OpenAICompletions
from forensics.providers.replay import Replay


def make_provider(spec: ModelSpec | str, records: Iterable[dict] | None = None) -> ModelAPI:
    """The adapter for ``spec``; a ``replay`` spec also needs the ``records`` of the log it names."""
    spec = parse_spec(spec) if isinstance(spec, str) else spec
    if spec.provider in ("openai", "openai-compatible"):
        return OpenAIChat(spec)
    if spec.provider == "openai-completions":
        return OpenAICompletions(spec)
    if spec.provider == "anthropic":
        return AnthropicMessages(spec)
    if spec.provider == "hf":
        return HFTransformers(spec)
    if records is None:
        raise ValueError(
            f"model '{spec}': replay needs the records of {spec.base_url} (forensics.evidence.open_provider)"
        )
    return Replay(spec, records)
