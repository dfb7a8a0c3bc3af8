"""Replay: recorded responses served again, as if the model answered once more."""

from __future__ import annotations

import json
from collections.abc import Iterable

from forensics.providers.base import ModelSpec, PermanentError, Reply


class Replay:
    """Serves recorded responses, keyed by the conversation and sample index.

    ``records`` are the records of the evidence log ``spec.base_url`` names; reading and
    verifying that log is the evidence layer's job (:func:`forensics.evidence.open_provider`).
    """

    endpoint = "replay"

    def __init__(self, spec: ModelSpec, records: Iterable[dict]):
        self.spec = spec
        self._by_key: dict[str, dict] = {}
        for rec in records:
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

    @staticmethod
    def parse(raw):
        return Reply(raw["text"], raw.get("model"), "replayed", {})
