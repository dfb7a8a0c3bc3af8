"""One model string in, the adapter for its API out."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from forensics.providers.anthropic_api import AnthropicMessages
from forensics.providers.base import ModelAPI, ModelSpec, Reply, parse_spec
from forensics.providers.hf_local import HFTransformers
from forensics.providers.openai_api import OpenAIChat, OpenAICompletions
from forensics.providers.replay import Replay

ADAPTERS = {
    "openai": OpenAIChat,
    "openai-compatible": OpenAIChat,
    "openai-completions": OpenAICompletions,
    "anthropic": AnthropicMessages,
    "hf": HFTransformers,
    "replay": Replay,
}


def reply_parser(provider: str | None) -> Callable[[dict], Reply] | None:
    """How ``provider`` takes the text out of a raw reply, without a client: the verifier re-checks it."""
    adapter = ADAPTERS.get(provider or "")
    return adapter.parse if adapter else None


def make_provider(
    spec: ModelSpec | str, records: Iterable[dict] | None = None, *, key_env: str | None = None
) -> ModelAPI:
    """The adapter for ``spec``; a ``replay`` spec also needs the ``records`` of the log it names.

    ``key_env`` names the variable holding the API key when it is not the provider's usual one.
    """
    spec = parse_spec(spec) if isinstance(spec, str) else spec
    if spec.provider in ("openai", "openai-compatible", "openai-completions", "anthropic"):
        return ADAPTERS[spec.provider](spec, key_env=key_env)
    if spec.provider == "hf":
        return HFTransformers(spec)
    if records is None:
        raise ValueError(
            f"model '{spec}': replay needs the records of {spec.base_url} (forensics.evidence.open_provider)"
        )
    return Replay(spec, records)
