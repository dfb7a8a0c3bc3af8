"""Hostile replies: every one gives a finished run and a verifiable log, loses nothing, and a rerun sends nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from servers import FaultServer, write_probes

from forensics.cli import main
from forensics.corpus import load_evidence
from forensics.evidence import collect, read_records, verify
from forensics.providers import Decoding

LINE_BREAKERS = "line\u2028separator\u2029paragraph\u0085next"
HUGE = 50_000_000


def _chat(content, **extra) -> dict:
    return {
        "id": "fake",
        "object": "chat.completion",
        "model": "fault-server",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
        **extra,
    }


def hostile_body(model: str, prompt: str) -> bytes:
    """Reply bodies made up by the test, sent byte for byte."""
    if prompt == "breakers":
        return json.dumps(_chat(LINE_BREAKERS), ensure_ascii=False).encode()
    if prompt == "surrogate":
        return json.dumps(_chat("lone \ud800 surrogate")).encode()  # arrives as the escape \ud800
    if prompt == "deep":
        return b'{"choices":[{"message":{"content":"x"}}],"extra":' + b"[" * 10_000 + b"]" * 10_000 + b"}"
    if prompt == "nan":
        return json.dumps(_chat("fine", usage={"score": float("nan"), "other": float("inf")})).encode()
    if prompt == "huge":
        return json.dumps(_chat("x" * HUGE)).encode()
    if prompt == "empty":
        return json.dumps(_chat("")).encode()
    return json.dumps(_chat(None)).encode()


def test_hostile_replies_finish_verify_lose_nothing_and_rerun_sends_nothing(tmp_path):
    prompts = ["breakers", "surrogate", "deep", "nan", "huge", "empty", "no-content"]
    probes = write_probes(tmp_path / "probes.yaml", prompts)
    log = tmp_path / "evidence.jsonl"
    with FaultServer({}, body=hostile_body) as server:
        spec = f"openai-compatible:fake@{server.base_url}"
        first = collect(spec, [probes], log, Decoding(), max_attempts=2, backoff=0.01, progress=False)
        sent = sum(server.calls.values())
        again = collect(spec, [probes], log, Decoding(), max_attempts=2, backoff=0.01, progress=False)
        assert sum(server.calls.values()) == sent and again.planned == 0 and again.already_done == len(prompts)
    assert (first.succeeded, first.empty, first.failed) == (3, 2, 2)
    assert server.calls["empty"] == 2 and server.calls["no-content"] == 2  # empty is retried per policy
    assert verify(log).ok
    records = read_records(log)
    responses = {r["probe_id"]: r for r in records if r["kind"] == "response"}
    final = {r["probe_id"]: r["error"] for r in records if r["kind"] == "error" and r["error"]["final"]}
    assert set(responses) | set(final) == set(prompts)  # every probe has its outcome on record
    assert responses["breakers"]["response"]["text"] == LINE_BREAKERS
    assert responses["nan"]["normalised"] == [
        {"path": "$.usage.score", "was": "nan"},
        {"path": "$.usage.other", "was": "inf"},
    ]
    assert responses["nan"]["response"]["raw"]["usage"] == {"score": None, "other": None}
    huge = responses["huge"]
    assert len(huge["response"]["text"]) == 1_000_000 and huge["response"]["raw"] is None
    assert huge["capped"]["original_chars"] == HUGE and log.stat().st_size < 3_000_000
    assert final["surrogate"]["kind"] == "unusable_reply" and "\\ud800" in final["surrogate"]["raw"]
    assert final["deep"]["kind"] == "unusable_reply" and "nested too deeply" in final["deep"]["message"]
    assert final["empty"]["kind"] == final["no-content"]["kind"] == "empty"
    corpus = load_evidence([log])
    assert corpus.text("openai-compatible:fake", "breakers") == LINE_BREAKERS
    assert corpus.text("openai-compatible:fake", "empty") is None  # an empty reply is no success
    assert "\u2028" in log.read_text(encoding="utf-8")  # written as itself, and still one record per line


def test_unreachable_host_fails_fast_naming_the_url(tmp_path):
    probes = write_probes(tmp_path / "probes.yaml", [f"u{i}" for i in range(5)])
    with FaultServer({}) as server:
        url = server.base_url
    started = time.monotonic()
    summary = collect(
        f"openai-compatible:gone@{url}", [probes], tmp_path / "e.jsonl", max_attempts=4, backoff=1.0, progress=False
    )
    assert time.monotonic() - started < 3.0
    assert summary.failed == 5 and summary.succeeded == 0
    assert all(url in line for line in summary.failures)
    errors = [r for r in read_records(tmp_path / "e.jsonl") if r["kind"] == "error"]
    assert [e["error"]["kind"] for e in errors] == ["unreachable"]  # the others were never sent


def test_cli_refuses_nonsense_counts(tmp_path, capsys):
    for flag, value in (("--samples", "-2"), ("--limit", "0"), ("--max-tokens", "-5"), ("--concurrency", "0")):
        argv = ["collect", "--model", "openai:gpt-4o", "--out", str(tmp_path / "e.jsonl"), flag, value]
        try:
            main(argv)
        except SystemExit as exc:
            assert exc.code == 2
        else:
            raise AssertionError(f"{flag} {value} accepted")
        assert f"{value}: must be" in capsys.readouterr().err
    assert not (tmp_path / "e.jsonl").exists()


def test_report_out_refuses_evidence_logs_and_folders(tmp_path, capsys):
    probes = write_probes(tmp_path / "probes.yaml", ["r"])
    log = tmp_path / "evidence.jsonl"
    with FaultServer({}) as server:
        collect(f"openai-compatible:fake@{server.base_url}", [probes], log, progress=False)
    before = log.read_bytes()
    base = ["report", str(log), "--reference", "a", "--suspect", "b"]
    assert main([*base, "--out", str(log)]) == 2
    assert "is an evidence log" in capsys.readouterr().err and log.read_bytes() == before
    renamed = tmp_path / "evidence.html"  # an evidence log under an innocent name is still refused
    renamed.write_bytes(before)
    assert main([*base, "--out", str(renamed)]) == 2 and renamed.read_bytes() == before
    notes = tmp_path / "notes.txt"
    notes.write_text("mine", encoding="utf-8")
    assert main([*base, "--out", str(notes)]) == 2 and notes.read_text(encoding="utf-8") == "mine"
    folder = tmp_path / "folder"
    folder.mkdir()
    assert main([*base, "--out", str(folder)]) == 2
    assert "is a folder" in capsys.readouterr().err
    assert list(folder.iterdir()) == [] and not list(tmp_path.glob("*.partial"))


def test_a_secret_under_any_name_reaches_no_file_and_no_stream(tmp_path):
    """A short key in an oddly named variable; the server reflects it in replies and in an error message."""
    key = "k" + os.urandom(3).hex()[:5]  # 6 characters
    probes_file = tmp_path / "probes.yaml"
    write_probes(probes_file, ["s1", "s2", "s3"])
    out = tmp_path / "out"
    with FaultServer({"s2": ["500", "ok"], "s3": ["400"]}, reflect_auth=True) as server:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "forensics.cli",
                "collect",
                "--model",
                f"openai-compatible:fake@{server.base_url}",
                "--api-key-env",
                "OPENAI_KEY",
                "--probes",
                str(probes_file),
                "--out",
                str(out / "evidence.jsonl"),
                "--max-attempts",
                "2",
                "--backoff",
                "0.01",
            ],
            env={**os.environ, "OPENAI_KEY": key},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert any(key in h for h in server.auth_headers), "the key was not even sent"
    assert proc.returncode == 1, proc.stderr  # s3 failed for good, with the key in the server's message
    assert "[REDACTED:OPENAI_KEY]" in proc.stderr and key not in proc.stdout + proc.stderr
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    for path in written:
        assert key.encode() not in path.read_bytes(), path
    assert "[REDACTED:OPENAI_KEY]" in (out / "evidence.jsonl").read_text(encoding="utf-8")
    assert verify(out / "evidence.jsonl").ok


def test_tracebacks_are_redacted_too(tmp_path, monkeypatch, capsys):
    key = "tb-" + os.urandom(4).hex()
    monkeypatch.setenv("ODD_NAME_KEY", key)

    def boom(args):
        raise RuntimeError(f"a bug that mentions {key}")

    monkeypatch.setattr(sys.modules["forensics.cli.main"], "_key", boom)
    assert main(["key", "show"]) == 70
    err = capsys.readouterr().err
    assert "Traceback" in err and "RuntimeError" in err and key not in err


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
texts = st.text(alphabet=st.characters(exclude_categories=("Cs",)), min_size=1).filter(lambda t: t.strip())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(replies=st.lists(st.tuples(texts, json_values), min_size=1, max_size=3))
def test_random_replies_round_trip_through_collector_verify_resume_and_loader(replies):
    by_prompt = {f"h{i}": reply for i, reply in enumerate(replies)}

    def body(model, prompt):
        text, extra = by_prompt[prompt]
        return json.dumps(_chat(text, extra=extra), ensure_ascii=False).encode()

    with tempfile.TemporaryDirectory() as tmp, FaultServer({}, body=body) as server:
        probes = write_probes(Path(tmp) / "probes.yaml", list(by_prompt))
        log = Path(tmp) / "evidence.jsonl"
        spec = f"openai-compatible:fake@{server.base_url}"
        assert collect(spec, [probes], log, progress=False).succeeded == len(by_prompt)
        assert verify(log).ok
        assert collect(spec, [probes], log, progress=False).planned == 0  # resume reads it all back
        assert sum(server.calls.values()) == len(by_prompt)
        stored = {r["probe_id"]: r["response"] for r in read_records(log) if r["kind"] == "response"}
        corpus = load_evidence([log])
    for prompt, (text, extra) in by_prompt.items():
        assert stored[prompt]["text"] == text and stored[prompt]["raw"]["extra"] == extra
        assert corpus.text("openai-compatible:fake", prompt) == text
