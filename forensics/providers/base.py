"""What every provider shares: decoding settings, model specs, replies and the two error kinds.

A provider turns (messages, decoding settings) into the exact request body it will send,
sends it, and parses the raw reply. Providers signal what went wrong by raising
:class:`TransientError` (worth retrying) or :class:`PermanentError`.
"""

from __future__ import annotations

import inspect
import json
import math
import os
import threading
from dataclasses import asdict, dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Decoding:
    """Explicit decoding settings; every record carries them."""

    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int = 256
    seed: int | None = 0
    system_prompt: str | None = None
    samples: int = 1

    def __post_init__(self):
        """Refuse settings no API could mean, before anything is sent or recorded."""
        if not (math.isfinite(self.temperature) and self.temperature >= 0):
            raise ValueError(f"temperature {self.temperature}: must be a finite number >= 0")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p {self.top_p}: must be in (0, 1]")
        if self.max_tokens < 1 or self.samples < 1:
            raise ValueError(f"max_tokens {self.max_tokens} and samples {self.samples}: each must be at least 1")

    def for_sample(self, index: int) -> int | None:
        """Each sample is its own request (servers may ignore ``n``); seeds differ per sample."""
        return None if self.seed is None else self.seed + index

    def fingerprint(self) -> dict:
        """Settings that make two requests the same request (sample count excluded)."""
        return {k: v for k, v in asdict(self).items() if k != "samples"}


_SECRETS: dict[str, str] = {}
_SECRETS_LOCK = threading.Lock()


def secret_from_env(*names: str) -> str | None:
    """The first set variable among ``names``; its value is registered for redaction everywhere."""
    for name in names:
        value = os.environ.get(name)
        if value:
            with _SECRETS_LOCK:
                _SECRETS[value] = name
            return value
    return None


def used_secrets() -> list[tuple[str, str]]:
    """(variable name, value) of every key a provider has used in this process."""
    with _SECRETS_LOCK:
        return [(name, value) for value, name in _SECRETS.items()]


def not_accepted(create, requested: dict) -> dict:
    """The settings in ``requested`` that the SDK's ``create`` no longer takes: requested, not sent."""
    params = inspect.signature(create).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return {}
    return {k: v for k, v in requested.items() if k not in params}


@dataclass(frozen=True)
class Reply:
    text: str | None
    model_reported: str | None
    finish_reason: str | None
    usage: dict = field(default_factory=dict)


class TransientError(Exception):
    """Rate limits, server errors, time-outs, dropped connections, malformed replies."""

    def __init__(self, kind: str, message: str, status: int | None = None, raw: str | None = None):
        super().__init__(f"{kind}: {message}")
        self.kind, self.status, self.raw = kind, status, raw


class PermanentError(Exception):
    """Errors that a retry cannot fix (bad request, bad credentials, unknown model)."""

    def __init__(self, kind: str, message: str, status: int | None = None, raw: str | None = None):
        super().__init__(f"{kind}: {message}")
        self.kind, self.status, self.raw = kind, status, raw


class ModelAPI(Protocol):
    spec: ModelSpec

    def build_request(self, messages: list[dict], decoding: Decoding, sample_index: int) -> dict: ...

    def send(self, request: dict, timeout: float) -> dict: ...

    def parse(self, raw: dict) -> Reply: ...


@dataclass(frozen=True)
class ModelSpec:
    """A model named in one string, e.g. ``openai-compatible:smollm2@http://127.0.0.1:8765/v1``.

    ``id`` omits the endpoint, so restarting a local server on another port still resumes
    the same collection.
    """

    provider: str
    name: str
    base_url: str | None = None

    @property
    def id(self) -> str:
        return f"{self.provider}:{self.name}"

    def __str__(self) -> str:
        return self.id + (f"@{self.base_url}" if self.base_url else "")


PROVIDERS = {
    "openai": "OpenAI chat completions (key from OPENAI_API_KEY)",
    "openai-compatible": "any OpenAI-compatible chat server: NAME@BASE_URL (vLLM, llama.cpp, Ollama, DeepSeek, "
    "DashScope...); key from OPENAI_COMPATIBLE_API_KEY or OPENAI_API_KEY",
    "openai-completions": "OpenAI-compatible plain completions for base models: NAME@BASE_URL",
    "anthropic": "Anthropic Messages (key from ANTHROPIC_API_KEY)",
    "hf": "local Hugging Face transformers model: PATH_OR_NAME (optional extra 'hf')",
    "replay": "recorded responses from an evidence log: MODEL_ID@LOG_PATH",
}


def connection_error(kind_of_sdk_error: Exception, base_url: str | None) -> Exception:
    """A host that cannot be reached fails at once, naming the URL; a dropped connection is retried."""
    cause = type(kind_of_sdk_error.__cause__).__name__
    if cause == "ConnectError":
        return PermanentError("unreachable", f"cannot connect to {base_url}: {kind_of_sdk_error.__cause__}")
    return TransientError("connection", f"{base_url}: {kind_of_sdk_error}")


def parse_spec(text: str) -> ModelSpec:
    provider, sep, rest = text.partition(":")
    if not sep or not rest or provider not in PROVIDERS:
        known = ", ".join(sorted(PROVIDERS))
        raise ValueError(f"model '{text}': expected PROVIDER:NAME with PROVIDER one of {known}")
    name, at, url = rest.partition("@")
    if provider == "replay":
        # The model id itself contains a colon (e.g. openai:gpt-4o@log.jsonl).
        name, at, url = rest.rpartition("@")
    if provider in ("openai-compatible", "openai-completions", "replay") and not (at and url and name):
        raise ValueError(f"model '{text}': {provider} needs NAME@{'LOG' if provider == 'replay' else 'BASE_URL'}")
    return ModelSpec(provider, name, url or None)


def chat_messages(messages: list[dict], decoding: Decoding) -> list[dict]:
    if decoding.system_prompt:
        return [{"role": "system", "content": decoding.system_prompt}, *messages]
    return list(messages)


def parse_json_reply(text: str, status: int | None) -> dict:
    """The reply body as JSON; a body nested too deep to read is unusable, not a crash."""
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TransientError(
            "malformed_response", f"reply is not valid JSON ({exc.msg})", status, text[:2000]
        ) from None
    except RecursionError:
        raise PermanentError("unusable_reply", "reply JSON is nested too deeply to read", status, text[:2000]) from None
    if not isinstance(obj, dict):
        raise TransientError("malformed_response", "reply is not a JSON object", status, text[:2000])
    return obj
