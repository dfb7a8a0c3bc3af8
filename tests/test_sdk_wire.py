"""The real `openai` and `anthropic` SDKs, driven by the collector against local wire-format servers."""

from __future__ import annotations

import os

import anthropic
import pytest
from servers import AnthropicServer, FaultServer, write_probes

from forensics.evidence import collect, read_records, verify
from forensics.providers import Decoding


def test_installed_anthropic_sdk_no_longer_takes_temperature():
    """The issue's crash, reproduced: why the adapter checks the SDK before sending a setting."""
    client = anthropic.Anthropic(api_key="unused", base_url="http://127.0.0.1:9", max_retries=0)
    with pytest.raises(TypeError, match="unexpected keyword argument 'temperature'"):
        client.messages.create(model="m", max_tokens=1, messages=[], temperature=0.0)


def test_anthropic_sdk_against_a_messages_server(tmp_path, monkeypatch):
    key = "sk-ant-" + os.urandom(8).hex()
    monkeypatch.setenv("ANTHROPIC_API_KEY", key)
    probes = write_probes(tmp_path / "probes.yaml", ["hello", "again"])
    log = tmp_path / "claude.jsonl"
    decoding = Decoding(temperature=0.3, top_p=0.8, max_tokens=16, system_prompt="Be brief.")
    with AnthropicServer() as server:
        summary = collect(f"anthropic:claude-test@{server.base_url}", [probes], log, decoding, progress=False)
    assert summary.succeeded == 2 and summary.failed == 0
    sent = server.requests[0]
    assert sent["model"] == "claude-test" and sent["max_tokens"] == 16 and sent["system"] == "Be brief."
    assert key in server.headers[0].get("x-api-key", "") + server.headers[0].get("authorization", "")
    records = read_records(log)
    run = records[0]
    not_sent = run["requested_not_sent"]
    assert not set(not_sent) & set(sent)  # what is recorded as not sent really was not sent
    assert {k: v for k, v in {"temperature": 0.3, "top_p": 0.8}.items() if k not in sent} == not_sent
    responses = [r for r in records if r["kind"] == "response"]
    assert {r["response"]["text"] for r in responses} == {"echo: hello", "echo: again"}
    assert {r["response"]["model_reported"] for r in responses} == {"claude-test-served"}
    assert all(r["request"]["requested_not_sent"] == not_sent for r in responses)
    assert all(r["request"]["body"] in server.requests for r in responses)
    assert verify(log).ok and key not in log.read_text(encoding="utf-8")


def test_openai_sdk_sends_exactly_the_recorded_body(tmp_path, monkeypatch):
    key = "sk-" + os.urandom(8).hex()
    monkeypatch.setenv("OPENAI_COMPATIBLE_API_KEY", key)
    probes = write_probes(tmp_path / "probes.yaml", ["one"])
    log = tmp_path / "openai.jsonl"
    with FaultServer({}) as server:
        collect(f"openai-compatible:m@{server.base_url}", [probes], log, Decoding(seed=7), progress=False)
    rec = next(r for r in read_records(log) if r["kind"] == "response")
    assert server.requests == [rec["request"]["body"]] and rec["request"]["requested_not_sent"] == {}
    assert server.auth_headers == [f"Bearer {key}"] and rec["request"]["body"]["seed"] == 7
