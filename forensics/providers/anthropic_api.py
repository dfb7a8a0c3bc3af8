"""Anthropic's Messages API."""

from __future__ import annotations

from forensics.providers.base import (
    ModelSpec,
    PermanentError,
    Reply,
    TransientError,
    connection_error,
    not_accepted,
    parse_json_reply,
    secret_from_env,
)


class AnthropicMessages:
    """Messages API through the installed SDK; settings it no longer takes are recorded, not sent."""

    endpoint = "/v1/messages"

    def __init__(self, spec: ModelSpec, key_env: str | None = None):
        import anthropic  # about 2.5 s to import (python -X importtime): paid only when this API is used

        self.spec, self._anthropic = spec, anthropic
        key = secret_from_env(key_env or "ANTHROPIC_API_KEY")
        self.client = anthropic.Anthropic(api_key=key or "not-set", base_url=spec.base_url, max_retries=0)

    def build_request(self, messages, decoding, sample_index):
        req = {
            "model": self.spec.name,
            "messages": list(messages),
            "max_tokens": decoding.max_tokens,
            "temperature": decoding.temperature,
            "top_p": decoding.top_p,
        }
        if decoding.system_prompt:
            req["system"] = decoding.system_prompt
        return req

    def split_request(self, request: dict) -> tuple[dict, dict]:
        """(what is sent, what was requested but the SDK no longer takes)."""
        dropped = not_accepted(self.client.messages.create, request)
        return {k: v for k, v in request.items() if k not in dropped}, dropped

    def send(self, request, timeout):
        anthropic = self._anthropic
        try:
            raw = self.client.messages.with_raw_response.create(**request, timeout=timeout)
        except anthropic.APITimeoutError as exc:
            raise TransientError("timeout", str(exc)) from None
        except anthropic.APIConnectionError as exc:
            raise connection_error(exc, str(self.client.base_url)) from None
        except anthropic.APIStatusError as exc:
            if exc.status_code == 429 or exc.status_code >= 500:
                raise TransientError(
                    "rate_limited" if exc.status_code == 429 else "server_error",
                    str(exc),
                    exc.status_code,
                    exc.response.text[:2000],
                ) from None
            raise PermanentError("client_error", str(exc), exc.status_code, exc.response.text[:2000]) from None
        return parse_json_reply(raw.http_response.text, raw.http_response.status_code)

    @staticmethod
    def parse(raw):
        try:
            blocks = [block for block in raw["content"] if block.get("type") == "text"]
            text = "".join(block.get("text") or "" for block in blocks) if blocks else None
        except (KeyError, TypeError, AttributeError):
            raise TransientError("malformed_response", "no content blocks in reply") from None
        return Reply(text, raw.get("model"), raw.get("stop_reason"), raw.get("usage") or {})
