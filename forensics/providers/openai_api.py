"""OpenAI's two endpoint shapes: chat completions, and plain completions for base models."""

from __future__ import annotations

from forensics.providers.base import (
    Decoding,
    ModelSpec,
    PermanentError,
    Reply,
    TransientError,
    chat_messages,
    connection_error,
    not_accepted,
    parse_json_reply,
    secret_from_env,
)


class _OpenAIBase:
    """Shared client set-up for the two OpenAI endpoint shapes; the SDK's own retries are off."""

    endpoint = ""

    def __init__(self, spec: ModelSpec, key_env: str | None = None):
        import openai  # about 1 s to import (python -X importtime): paid only when this API is used

        self.spec, self._openai = spec, openai
        names = ("OPENAI_API_KEY",) if spec.provider == "openai" else ("OPENAI_COMPATIBLE_API_KEY", "OPENAI_API_KEY")
        key = secret_from_env(*((key_env,) if key_env else names))
        self.client = openai.OpenAI(api_key=key or "not-needed", base_url=spec.base_url, max_retries=0)

    def split_request(self, request: dict) -> tuple[dict, dict]:
        """(what is sent, what was requested but the SDK no longer takes)."""
        dropped = not_accepted(self._create_fn(), {k: v for k, v in request.items() if k not in ("model",)})
        return {k: v for k, v in request.items() if k not in dropped}, dropped

    def send(self, request: dict, timeout: float) -> dict:
        openai = self._openai
        try:
            raw = self._create(request, timeout)
        except openai.APITimeoutError as exc:
            raise TransientError("timeout", str(exc)) from None
        except openai.APIConnectionError as exc:
            raise connection_error(exc, str(self.client.base_url)) from None
        except openai.APIStatusError as exc:
            kind = "rate_limited" if exc.status_code == 429 else "server_error"
            err = TransientError if exc.status_code == 429 or exc.status_code >= 500 else PermanentError
            if err is PermanentError:
                kind = "client_error"
            raise err(kind, str(exc), exc.status_code, exc.response.text[:2000]) from None
        return parse_json_reply(raw.http_response.text, raw.http_response.status_code)


class OpenAIChat(_OpenAIBase):
    endpoint = "/chat/completions"

    def build_request(self, messages, decoding, sample_index):
        req = {
            "model": self.spec.name,
            "messages": chat_messages(messages, decoding),
            "temperature": decoding.temperature,
            "top_p": decoding.top_p,
            "max_tokens": decoding.max_tokens,
        }
        seed = decoding.for_sample(sample_index)
        if seed is not None:
            req["seed"] = seed
        return req

    def _create_fn(self):
        return self.client.chat.completions.create

    def _create(self, request, timeout):
        return self.client.chat.completions.with_raw_response.create(**request, timeout=timeout)

    @staticmethod
    def parse(raw):
        try:
            choice = raw["choices"][0]
            text = choice["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise TransientError("malformed_response", "no choices[0].message.content in reply") from None
        return Reply(text, raw.get("model"), choice.get("finish_reason"), raw.get("usage") or {})


class OpenAICompletions(_OpenAIBase):
    """Base models have no chat template: the conversation becomes a plain transcript to continue."""

    endpoint = "/completions"

    def build_request(self, messages, decoding, sample_index):
        req = {
            "model": self.spec.name,
            "prompt": completion_prompt(messages, decoding),
            "temperature": decoding.temperature,
            "top_p": decoding.top_p,
            "max_tokens": decoding.max_tokens,
            "stop": ["\nQuestion:", "\nUser:"],
        }
        seed = decoding.for_sample(sample_index)
        if seed is not None:
            req["seed"] = seed
        return req

    def _create_fn(self):
        return self.client.completions.create

    def _create(self, request, timeout):
        return self.client.completions.with_raw_response.create(**request, timeout=timeout)

    @staticmethod
    def parse(raw):
        try:
            choice = raw["choices"][0]
            text = choice["text"]
        except (KeyError, IndexError, TypeError):
            raise TransientError("malformed_response", "no choices[0].text in reply") from None
        return Reply(
            text.strip() if isinstance(text, str) else text,
            raw.get("model"),
            choice.get("finish_reason"),
            raw.get("usage") or {},
        )


def completion_prompt(messages: list[dict], decoding: Decoding) -> str:
    """A question/answer transcript that a base model continues with its answer."""
    lines = [decoding.system_prompt.strip(), ""] if decoding.system_prompt else []
    for m in messages:
        role = "Question" if m["role"] == "user" else "Answer" if m["role"] == "assistant" else "Note"
        lines.append(f"{role}: {m['content'].strip()}")
    lines.append("Answer:")
    return "\n".join(lines)
