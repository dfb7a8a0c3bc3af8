"""Collection against the real SmolLM2-135M-Instruct behind llama.cpp's OpenAI-compatible server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

from forensics.cli import main
from forensics.evidence import read_records, verify
from forensics.providers import llama_server, smollm2_gguf

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def smollm2_server():
    with llama_server(smollm2_gguf()) as base_url:
        yield base_url


def _responses(log):
    return [r for r in read_records(log) if r["kind"] == "response"]


def test_live_collection_one_record_per_probe_and_sample(smollm2_server, tmp_path, capsys):
    log = tmp_path / "smollm2.jsonl"
    code = main(
        [
            "collect",
            "--model",
            f"openai-compatible:smollm2@{smollm2_server}",
            "--limit",
            "4",
            "--out",
            str(log),
            "--max-tokens",
            "24",
            "--no-progress",
            "--label",
            "reference",
        ]
    )
    assert code == 0, capsys.readouterr().err
    responses = _responses(log)
    assert len(responses) >= 20
    keys = Counter((r["probe_id"], r["sample_index"]) for r in responses)
    assert set(keys.values()) == {1}
    assert {r["probe"]["family"] for r in responses} >= {"identity", "refusal", "error_trap", "style"}
    assert all(r["response"]["text"].strip() and r["usage"]["completion_tokens"] > 0 for r in responses)
    assert main(["verify", str(log)]) == 0


def test_live_sigkill_then_resume_loses_and_duplicates_nothing(smollm2_server, tmp_path):
    log = tmp_path / "killed.jsonl"
    cmd = [
        sys.executable,
        "-m",
        "forensics.cli",
        "collect",
        "--model",
        f"openai-compatible:smollm2@{smollm2_server}",
        "--limit",
        "3",
        "--samples",
        "2",
        "--temperature",
        "0.8",
        "--max-tokens",
        "16",
        "--out",
        str(log),
        "--no-progress",
        "--concurrency",
        "2",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        if log.exists() and log.read_bytes().count(b'"kind":"response"') >= 4:
            break
        time.sleep(0.2)
    assert proc.poll() is None, "collection finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = sum(r["kind"] == "response" for r in read_records(log, check=False))  # a torn tail is not counted
    assert before >= 4
    assert subprocess.run(cmd, timeout=600).returncode == 0
    assert verify(log).ok
    keys = Counter((r["probe_id"], r["sample_index"]) for r in _responses(log))
    assert set(keys.values()) == {1}
    first, second = [r for r in read_records(log) if r["kind"] == "run"]
    assert second["already_done"] == before
    assert second["already_done"] + second["planned"] == first["planned"] == len(keys)
