"""Model providers: each one adapts a single API and nothing more.

A provider turns (messages, decoding settings) into the exact request body it will send,
sends it, and parses the raw reply. Retries, rate limits, resuming and evidence recording
live once, in :mod:`forensics.collection`. Providers signal what went wrong by raising
:class:`TransientError` (worth retrying) or :class:`PermanentError`.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol


@dataclass(frozen=True)
class Decoding:
    """Explicit decoding settings; every record carries them."""

    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int = 256
    seed: int | None = 0
    system_prompt: str | None = None
    samples: int = 1

    def for_sample(self, index: int) -> int | None:
        """Each sample is its own request (servers may ignore ``n``); seeds differ per sample."""
        return None if self.seed is None else self.seed + index

    def fingerprint(self) -> dict:
        """Settings that make two requests the same request (sample count excluded)."""
        return {k: v for k, v in asdict(self).items() if k != "samples"}


@dataclass(frozen=True)
class Reply:
    text: str
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
    spec: "ModelSpec"

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


def make_provider(spec: ModelSpec | str) -> ModelAPI:
    spec = parse_spec(spec) if isinstance(spec, str) else spec
    if spec.provider in ("openai", "openai-compatible"):
        return OpenAIChat(spec)
    if spec.provider == "openai-completions":
        return OpenAICompletions(spec)
    if spec.provider == "anthropic":
        return AnthropicMessages(spec)
    if spec.provider == "hf":
        return HFTransformers(spec)
    return Replay(spec)


def chat_messages(messages: list[dict], decoding: Decoding) -> list[dict]:
    if decoding.system_prompt:
        return [{"role": "system", "content": decoding.system_prompt}, *messages]
    return list(messages)


def _parse_json(text: str, status: int | None) -> dict:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TransientError("malformed_response", f"reply is not valid JSON ({exc.msg})", status, text[:2000]) from None
    if not isinstance(obj, dict):
        raise TransientError("malformed_response", "reply is not a JSON object", status, text[:2000])
    return obj


class _OpenAIBase:
    """Shared client set-up for the two OpenAI endpoint shapes; the SDK's own retries are off."""

    endpoint = ""

    def __init__(self, spec: ModelSpec):
        import openai

        self.spec, self._openai = spec, openai
        key = (os.environ.get("OPENAI_API_KEY") if spec.provider == "openai"
               else os.environ.get("OPENAI_COMPATIBLE_API_KEY") or os.environ.get("OPENAI_API_KEY"))
        self.client = openai.OpenAI(api_key=key or "not-needed", base_url=spec.base_url, max_retries=0)

    def send(self, request: dict, timeout: float) -> dict:
        openai = self._openai
        try:
            raw = self._create(request, timeout)
        except openai.APITimeoutError as exc:
            raise TransientError("timeout", str(exc)) from None
        except openai.APIConnectionError as exc:
            raise TransientError("connection", str(exc)) from None
        except openai.APIStatusError as exc:
            kind = "rate_limited" if exc.status_code == 429 else "server_error"
            err = TransientError if exc.status_code == 429 or exc.status_code >= 500 else PermanentError
            if err is PermanentError:
                kind = "client_error"
            raise err(kind, str(exc), exc.status_code, exc.response.text[:2000]) from None
        return _parse_json(raw.http_response.text, raw.http_response.status_code)


class OpenAIChat(_OpenAIBase):
    endpoint = "/chat/completions"

    def build_request(self, messages, decoding, sample_index):
        req = {"model": self.spec.name, "messages": chat_messages(messages, decoding),
               "temperature": decoding.temperature, "top_p": decoding.top_p, "max_tokens": decoding.max_tokens}
        seed = decoding.for_sample(sample_index)
        if seed is not None:
            req["seed"] = seed
        return req

    def _create(self, request, timeout):
        return self.client.chat.completions.with_raw_response.create(**request, timeout=timeout)

    def parse(self, raw):
        try:
            choice = raw["choices"][0]
            text = choice["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise TransientError("malformed_response", "no choices[0].message.content in reply") from None
        return Reply(text or "", raw.get("model"), choice.get("finish_reason"), raw.get("usage") or {})


class OpenAICompletions(_OpenAIBase):
    """Base models have no chat template: the conversation becomes a plain transcript to continue."""

    endpoint = "/completions"

    def build_request(self, messages, decoding, sample_index):
        req = {"model": self.spec.name, "prompt": completion_prompt(messages, decoding),
               "temperature": decoding.temperature, "top_p": decoding.top_p, "max_tokens": decoding.max_tokens,
               "stop": ["\nQuestion:", "\nUser:"]}
        seed = decoding.for_sample(sample_index)
        if seed is not None:
            req["seed"] = seed
        return req

    def _create(self, request, timeout):
        return self.client.completions.with_raw_response.create(**request, timeout=timeout)

    def parse(self, raw):
        try:
            choice = raw["choices"][0]
            text = choice["text"]
        except (KeyError, IndexError, TypeError):
            raise TransientError("malformed_response", "no choices[0].text in reply") from None
        return Reply((text or "").strip(), raw.get("model"), choice.get("finish_reason"), raw.get("usage") or {})


def completion_prompt(messages: list[dict], decoding: Decoding) -> str:
    """A question/answer transcript that a base model continues with its answer."""
    lines = [decoding.system_prompt.strip(), ""] if decoding.system_prompt else []
    for m in messages:
        role = "Question" if m["role"] == "user" else "Answer" if m["role"] == "assistant" else "Note"
        lines.append(f"{role}: {m['content'].strip()}")
    lines.append("Answer:")
    return "\n".join(lines)


class AnthropicMessages:
    endpoint = "/v1/messages"

    def __init__(self, spec: ModelSpec):
        import anthropic

        self.spec, self._anthropic = spec, anthropic
        self.client = anthropic.Anthropic(api_key=os.environ.get("ANTHROPIC_API_KEY") or "not-set",
                                          base_url=spec.base_url, max_retries=0)

    def build_request(self, messages, decoding, sample_index):
        req = {"model": self.spec.name, "messages": list(messages), "max_tokens": decoding.max_tokens,
               "temperature": decoding.temperature, "top_p": decoding.top_p}
        if decoding.system_prompt:
            req["system"] = decoding.system_prompt
        return req

    def send(self, request, timeout):
        anthropic = self._anthropic
        try:
            raw = self.client.messages.with_raw_response.create(**request, timeout=timeout)
        except anthropic.APITimeoutError as exc:
            raise TransientError("timeout", str(exc)) from None
        except anthropic.APIConnectionError as exc:
            raise TransientError("connection", str(exc)) from None
        except anthropic.APIStatusError as exc:
            if exc.status_code == 429 or exc.status_code >= 500:
                raise TransientError("rate_limited" if exc.status_code == 429 else "server_error", str(exc),
                                     exc.status_code, exc.response.text[:2000]) from None
            raise PermanentError("client_error", str(exc), exc.status_code, exc.response.text[:2000]) from None
        return _parse_json(raw.http_response.text, raw.http_response.status_code)

    def parse(self, raw):
        try:
            text = "".join(block.get("text", "") for block in raw["content"] if block.get("type") == "text")
        except (KeyError, TypeError, AttributeError):
            raise TransientError("malformed_response", "no content blocks in reply") from None
        return Reply(text, raw.get("model"), raw.get("stop_reason"), raw.get("usage") or {})


class HFTransformers:
    """A local transformers model, for weights on disk; requires the optional 'hf' extra."""

    endpoint = "local"

    def __init__(self, spec: ModelSpec):
        try:
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError:  # pragma: no cover - depends on the optional extra
            raise PermanentError("missing_extra", "install the 'hf' extra: pip install 'distillation-forensics[hf]'")
        self.spec = spec
        self.tokenizer = AutoTokenizer.from_pretrained(spec.name)
        self.model = AutoModelForCausalLM.from_pretrained(spec.name)

    def build_request(self, messages, decoding, sample_index):
        return {"model": self.spec.name, "messages": chat_messages(messages, decoding),
                "temperature": decoding.temperature, "top_p": decoding.top_p,
                "max_new_tokens": decoding.max_tokens, "seed": decoding.for_sample(sample_index)}

    def send(self, request, timeout):
        import torch

        if request["seed"] is not None:
            torch.manual_seed(request["seed"])
        ids = self.tokenizer.apply_chat_template(request["messages"], add_generation_prompt=True, return_tensors="pt")
        sample = request["temperature"] > 0
        out = self.model.generate(ids, max_new_tokens=request["max_new_tokens"], do_sample=sample,
                                  **({"temperature": request["temperature"], "top_p": request["top_p"]} if sample else {}))
        new = out[0, ids.shape[1]:]
        return {"model": self.spec.name, "text": self.tokenizer.decode(new, skip_special_tokens=True),
                "usage": {"prompt_tokens": int(ids.shape[1]), "completion_tokens": int(new.shape[0])}}

    def parse(self, raw):
        return Reply(raw["text"], raw.get("model"), None, raw.get("usage") or {})


class Replay:
    """Serves responses recorded in an evidence log, keyed by the conversation and sample index."""

    endpoint = "replay"

    def __init__(self, spec: ModelSpec):
        from forensics.evidence import read_records

        self.spec = spec
        self._by_key: dict[str, dict] = {}
        for rec in read_records(Path(spec.base_url)):
            if rec.get("kind") in ("response", "imported") and rec.get("model") == spec.name:
                key = json.dumps([rec.get("messages"), rec.get("sample_index", 0)], sort_keys=True)
                self._by_key.setdefault(key, rec)
        if not self._by_key:
            raise ValueError(f"{spec.base_url}: no recorded responses for model '{spec.name}'")

    def build_request(self, messages, decoding, sample_index):
        return {"model": self.spec.name, "messages": list(messages), "sample_index": sample_index}

    def send(self, request, timeout):
        key = json.dumps([request["messages"], request["sample_index"]], sort_keys=True)
        rec = self._by_key.get(key)
        if rec is None:
            raise PermanentError("not_recorded", "no recorded response for this conversation and sample")
        return {"model": rec["model"], "text": rec["response"]["text"], "replayed_record": rec["hash"]}

    def parse(self, raw):
        return Reply(raw["text"], raw.get("model"), "replayed", {})
