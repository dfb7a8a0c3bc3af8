"""The collection engine against a fault-injecting local server: retries, error records, resume, secrets."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections import Counter
from datetime import datetime

import pytest
from servers import FaultServer, write_probes

from forensics.cli import main
from forensics.corpus import load_evidence
from forensics.evidence import collect, read_records, verify
from forensics.providers import Decoding, parse_spec

PROMPTS = {
    "p-429": ["429", "ok"],
    "p-500": ["500", "500", "ok"],
    "p-timeout": ["timeout", "ok"],
    "p-truncated": ["truncated", "ok"],
    "p-drop": ["drop", "ok"],
    "p-always-500": ["500"],
    "p-fine": ["ok"],
}


def test_faults_are_retried_and_persistent_errors_recorded(tmp_path):
    probes = write_probes(tmp_path / "probes.yaml", PROMPTS)
    log = tmp_path / "evidence.jsonl"
    with FaultServer({p: plan for p, plan in PROMPTS.items()}, delay=2.0) as server:
        summary = collect(
            f"openai-compatible:fake@{server.base_url}",
            [probes],
            log,
            Decoding(max_tokens=8),
            max_attempts=4,
            timeout=0.5,
            backoff=0.01,
            backoff_max=0.05,
            concurrency=3,
            progress=False,
        )
        calls = dict(server.calls)
    assert summary.succeeded == 6 and summary.failed == 1
    assert calls["p-500"] == 3 and calls["p-always-500"] == 4 and calls["p-fine"] == 1
    records = read_records(log)
    responses = Counter(r["probe_id"] for r in records if r["kind"] == "response")
    errors = [r for r in records if r["kind"] == "error"]
    assert responses == Counter({p: 1 for p in PROMPTS if p != "p-always-500"})
    kinds = Counter(r["error"]["kind"] for r in errors)
    assert kinds["rate_limited"] == 1 and kinds["timeout"] == 1 and kinds["malformed_response"] == 1
    assert kinds["connection"] == 1 and kinds["server_error"] == 2 + 4
    final = [r for r in errors if r["error"]["final"]]
    assert [r["probe_id"] for r in final] == ["p-always-500"] and final[0]["attempt"] == 4
    assert [records[0]["kind"], records[-2]["kind"], records[-1]["kind"]] == ["run", "run_end", "seal"]
    assert verify(log).ok


def test_rerun_sends_only_what_is_missing(tmp_path):
    probes = write_probes(tmp_path / "probes.yaml", ["a", "b", "c"])
    log = tmp_path / "evidence.jsonl"
    with FaultServer({"c": ["500"]}) as server:
        first = collect(
            f"openai-compatible:fake@{server.base_url}",
            [probes],
            log,
            Decoding(samples=2),
            max_attempts=2,
            backoff=0.01,
            progress=False,
        )
    assert (first.succeeded, first.failed) == (4, 2)
    with FaultServer({}) as server:
        second = collect(
            f"openai-compatible:fake@{server.base_url}",
            [probes],
            log,
            Decoding(samples=2),
            backoff=0.01,
            progress=False,
        )
        assert sum(server.calls.values()) == 2
    assert (second.succeeded, second.already_done) == (2, 4)
    keys = Counter((r["probe_id"], r["sample_index"]) for r in read_records(log) if r["kind"] == "response")
    assert keys == Counter({(p, s): 1 for p in "abc" for s in (0, 1)})
    seeds = {r["sample_index"]: r["request"]["body"]["seed"] for r in read_records(log) if r["kind"] == "response"}
    assert seeds == {0: 0, 1: 1}


def test_records_carry_request_response_and_provenance(tmp_path):
    probes = write_probes(tmp_path / "probes.yaml", ["hello"])
    log = tmp_path / "evidence.jsonl"
    decoding = Decoding(temperature=0.7, top_p=0.9, max_tokens=12, seed=5, system_prompt="You are Zed.")
    with FaultServer({}) as server:
        collect(f"openai-compatible:fake@{server.base_url}", [probes], log, decoding, label="suspect", progress=False)
    run, rec = read_records(log)[:2]
    assert run["versions"]["python"] and "openai" in run["versions"]
    assert run["probe_sets"][0]["version"] == probes.version
    body = rec["request"]["body"]
    assert body["messages"][0] == {"role": "system", "content": "You are Zed."}
    assert (body["temperature"], body["top_p"], body["max_tokens"], body["seed"]) == (0.7, 0.9, 12, 5)
    assert rec["response"]["raw"]["model"] == "fault-server" and rec["response"]["model_reported"] == "fault-server"
    assert rec["response"]["text"] == "echo: hello" and rec["usage"]["total_tokens"] == 2
    assert rec["probe_set_version"] == probes.version and rec["timestamp"].endswith("Z")
    assert rec["latency_s"] >= 0 and rec["label"] == "suspect"
    corpus = load_evidence([log])
    assert corpus.text("suspect", "hello") == "echo: hello" and corpus.record("suspect", "hello") == rec["hash"]


def test_api_key_never_reaches_any_written_file(tmp_path):
    """The fake server even reflects the Authorization header into its reply; it must still be redacted."""
    key = "sk-forensics-test-" + os.urandom(12).hex()
    probes_file = tmp_path / "probes.yaml"
    write_probes(probes_file, ["k1", "k2", "k3"])
    out = tmp_path / "out"
    with FaultServer({"k2": ["500", "ok"], "k3": ["500"]}, reflect_auth=True) as server:
        env = {**os.environ, "OPENAI_COMPATIBLE_API_KEY": key}
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "forensics.cli",
                "collect",
                "--model",
                f"openai-compatible:fake@{server.base_url}",
                "--probes",
                str(probes_file),
                "--out",
                str(out / "evidence.jsonl"),
                "--max-attempts",
                "2",
                "--backoff",
                "0.01",
                "--no-progress",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert any(key in h for h in server.auth_headers), "the key was not even sent"
    assert proc.returncode == 1, proc.stderr  # k3 failed for good
    assert key not in proc.stdout + proc.stderr
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert written
    for path in written:
        assert key.encode() not in path.read_bytes(), path
    assert "[REDACTED:OPENAI_COMPATIBLE_API_KEY]" in (out / "evidence.jsonl").read_text()


def test_model_spec_parsing():
    spec = parse_spec("openai-compatible:smollm2@http://127.0.0.1:8765/v1")
    assert (spec.provider, spec.name, spec.base_url, spec.id) == (
        "openai-compatible",
        "smollm2",
        "http://127.0.0.1:8765/v1",
        "openai-compatible:smollm2",
    )
    assert parse_spec("anthropic:claude-sonnet-4-5").base_url is None
    assert parse_spec("replay:openai:gpt-4o@/tmp/log.jsonl").name == "openai:gpt-4o"
    for bad in ("gpt-4o", "nosuch:model", "openai-compatible:missing-url", "openai:"):
        with pytest.raises(ValueError):
            parse_spec(bad)


def test_collect_cli_reports_user_errors_without_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        textwrap.dedent("""\
        name: bad
        probes:
          - id: x
            family: style
            language: en
            tags: [a]
        """),
        encoding="utf-8",
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "forensics.cli",
            "collect",
            "--model",
            "openai:gpt-4o",
            "--probes",
            str(bad),
            "--out",
            str(tmp_path / "e.jsonl"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and f"{bad}:3" in proc.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "forensics.cli", "collect", "--model", "gpt-4o", "--out", str(tmp_path / "e.jsonl")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and "PROVIDER:NAME" in proc.stderr and "Traceback" not in proc.stderr


def test_rate_limit_spaces_request_starts(tmp_path):
    probes = write_probes(tmp_path / "probes.yaml", [f"r{i}" for i in range(6)])
    with FaultServer({}) as server:
        summary = collect(
            f"openai-compatible:fake@{server.base_url}",
            [probes],
            tmp_path / "e.jsonl",
            concurrency=4,
            rate_limit=10.0,
            progress=False,
        )
    starts = sorted(r["sent_at"] for r in read_records(tmp_path / "e.jsonl") if r["kind"] == "response")
    assert summary.succeeded == 6 and len(starts) == 6
    times = [datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp() for s in starts]
    assert times[-1] - times[0] >= 5 * 0.1 * 0.95  # 6 starts at most 10 per second, despite 4 workers


@pytest.mark.parametrize(
    "settings",
    [{"temperature": -0.1}, {"temperature": float("nan")}, {"top_p": 0}, {"max_tokens": 0}, {"samples": -2}],
)
def test_decoding_refuses_settings_no_api_could_mean(settings, tmp_path, capsys):
    with pytest.raises(ValueError):
        Decoding(**settings)
    flag, value = next(iter(settings.items()))
    argv = ["collect", "--model", "openai:gpt-4o", "--out", str(tmp_path / "e.jsonl")]
    argv += [f"--{flag.replace('_', '-')}", str(value)]
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse refuses it before Decoding does
        code = exc.code
    assert code == 2 and not (tmp_path / "e.jsonl").exists()
