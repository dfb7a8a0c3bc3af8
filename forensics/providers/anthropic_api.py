"""Anthropic's Messages API."""

from __future__ import annotations

import os

from forensics.providers.base import ModelSpec, PermanentError, Reply, TransientError, parse_json_reply


class AnthropicMessages:
    endpoint = "/v1/messages"

    def __init__(self, spec: ModelSpec):
        import anthropic  # about 2.5 s to import (python -X importtime): paid only when this API is used

        self.spec, self._anthropic = spec, anthropic
        self.client = anthropic.Anthropic(
            api_key=os.environ.get("ANTHROPIC_API_KEY") or "not-set", base_url=spec.base_url, max_retries=0
        )

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
                raise TransientError(
                    "rate_limited" if exc.status_code == 429 else "server_error",
                    str(exc),
                    exc.status_code,
                    exc.response.text[:2000],
                ) from None
            raise PermanentError("client_error", str(exc), exc.status_code, exc.response.text[:2000]) from None
        return parse_json_reply(raw.http_response.text, raw.http_response.status_code)

    def parse(self, raw):
        try:
            text = "".join(block.get("text", "") for block in raw["content"] if block.get("type") == "text")
        except (KeyError, TypeError, AttributeError):
            raise TransientError("malformed_response", "no content blocks in reply") from None
        return Reply(text, raw.get("model"), raw.get("stop_reason"), raw.get("usage") or {})
