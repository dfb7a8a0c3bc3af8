"""The hostile reviewer's attacks of issue #15, one test each, named by the behaviour that defeats it.

Every answer the fake servers give is made up by these tests ("<model> says <prompt>"), never a real
model's output. Attacks that need a report share one small recorded case.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import shlex
import shutil
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from servers import FaultServer, write_probes
from test_adversary import _load, rechain

from forensics.cli import main
from forensics.corpus import load_evidence
from forensics.evidence import (
    EvidenceError,
    EvidenceLog,
    collect,
    fingerprint,
    import_alpaca_eval,
    import_benchmark,
    read_jsonl,
    read_records,
    signing_key,
    verify,
)
from forensics.evidence.records import ImportRecord, LineTooLong, iter_lines
from forensics.notebook.alpaca_case import ALPACA_CASE_DIR
from forensics.notebook.cases import published_keys


def _me() -> str:
    return fingerprint(signing_key().public_key())


def made_up(model: str, prompt: str) -> str:
    return f"{model} says: {prompt}"


def _collect(log: Path, probes, label: str = "suspect", **kwargs):
    with FaultServer({}, reply=made_up) as server:
        return collect(
            f"openai-compatible:{label}@{server.base_url}", [probes], log, label=label, progress=False, **kwargs
        )


@pytest.fixture
def probes(tmp_path):
    return write_probes(tmp_path / "probes.yaml", [f"question-{i}" for i in range(4)])


@pytest.fixture
def sealed(tmp_path, probes) -> Path:
    log = tmp_path / "evidence" / "suspect.jsonl"
    _collect(log, probes)
    return log


def _forge_tail(log: Path) -> None:
    """Someone who can write the log but has no key: a run and a response, re-hashed from the last seal."""
    records = _load(log)
    run = dict(records[0], run_id="forged-run")
    answer = copy.deepcopy(next(r for r in records if r["kind"] == "response"))
    answer.update(run_id="forged-run", sample_index=7)
    answer["response"]["text"] = "forged answer"
    answer["response"]["raw"]["choices"][0]["message"]["content"] = "forged answer"
    for rec in (run, answer):
        rec["mac"] = "0" * 64  # a MAC needs the key; a made-up one does not hold
    log.write_text(rechain([*records, run, answer]), encoding="utf-8")


def _key_home(tmp_path: Path, name: str) -> Path:
    home = tmp_path / name
    home.mkdir()
    return home


# -- 1. resuming never seals a forgery ------------------------------------------------------------


def test_resuming_refuses_to_seal_records_this_key_did_not_write(sealed, probes, tmp_path, capsys):
    _forge_tail(sealed)
    assert main(["verify", str(sealed), "--trust", _me()]) == 1
    assert "not covered by any seal" in capsys.readouterr().out
    with FaultServer({}, reply=made_up) as server:
        code = main(
            [
                "collect",
                "--model",
                f"openai-compatible:suspect@{server.base_url}",
                "--label",
                "suspect",
                "--probes",
                str(probes.path),
                "--out",
                str(sealed),
                "--no-progress",
            ]
        )
        assert sum(server.calls.values()) == 0  # refused before anything was sent
    err = capsys.readouterr().err
    assert code == 2 and "were not written by this key (no valid MAC); refusing to append" in err
    assert "forensics verify --quarantine" in err and len(err.strip().splitlines()) == 1
    assert main(["verify", str(sealed), "--trust", _me()]) == 1  # still not OK: nothing was sealed
    capsys.readouterr()
    assert main(["verify", "--quarantine", str(sealed), "--trust", _me()]) == 0
    out = capsys.readouterr().out
    assert "2 records not written by this key moved to" in out and "OK" in out
    side = next(sealed.parent.glob("suspect.jsonl.quarantine-*"))
    assert b"forged answer" in side.read_bytes() and b"forged answer" not in sealed.read_bytes()
    _collect(sealed, probes)  # the investigator's own resume now works and seals
    assert verify(sealed, {_me()}).ok


def test_a_killed_run_is_still_adopted_and_sealed_by_the_next(sealed, probes):
    with EvidenceLog(sealed) as log:  # what a run of ours killed before its seal leaves behind
        log.append(ImportRecord(format="test", run_id="killed"))
    assert not verify(sealed).ok and verify(sealed, allow_unsealed=True).unsealed == 1
    _collect(sealed, probes)
    result = verify(sealed, {_me()})
    assert result.ok and result.unsealed == 0 and read_records(sealed)[-3]["adopted_unsealed"] == 1


# -- 2. the whole seal record is signed -----------------------------------------------------------


@pytest.mark.parametrize("edit", ["timestamp", "added field"])
def test_a_changed_seal_time_or_an_added_seal_field_breaks_its_signature(sealed, edit):
    records = _load(sealed)
    if edit == "timestamp":
        records[-1]["timestamp"] = "2031-01-01T00:00:00.000000Z"
    else:
        records[-1]["witness"] = "added later"
    sealed.write_text(rechain(records), encoding="utf-8")
    result = verify(sealed, use_ledger=False)
    assert not result.ok and result.first_bad_line == len(records)
    assert (
        "signature does not match what the seal states: the seal record" in result.problem
        or "field 'witness': not a field of a 'seal' record" in result.problem
    )


# -- 3. a cut back to an earlier seal --------------------------------------------------------------


def test_a_log_cut_back_to_an_earlier_seal_fails_on_this_machine_and_unanchored_heads_are_said(
    sealed, tmp_path, capsys
):
    first = sealed.read_bytes()
    more = write_probes(tmp_path / "more.yaml", ["one-more"])
    _collect(sealed, more)
    sealed.write_bytes(first)  # back to the first seal: a valid chain on its own
    assert main(["verify", str(sealed)]) == 1
    out = capsys.readouterr().out
    assert "cut back: this machine sealed this log at" in out and "heads ledger" in out
    result = verify(sealed, use_ledger=False)  # another machine, no --expect-head
    assert result.ok and result.anchored is None and "head not anchored" in result.describe()


# -- 4. forged records after the last seal ------------------------------------------------------------


def test_records_after_the_last_seal_fail_plain_verify_and_the_report(sealed, capsys):
    _forge_tail(sealed)
    assert main(["verify", str(sealed)]) == 1
    out = capsys.readouterr().out
    assert "are not covered by any seal" in out and "resume the run" in out
    assert main(["verify", "--allow-unsealed", str(sealed)]) == 0
    assert "unsealed (--allow-unsealed)" in capsys.readouterr().out
    assert (
        main(
            ["report", str(sealed), "--reference", "x", "--suspect", "suspect", "--out", str(sealed.parent / "r.html")]
        )
        == 2
    )
    assert "not covered by any seal" in capsys.readouterr().err


# -- 5. a stripped final newline -----------------------------------------------------------------------


def test_a_log_missing_its_final_newline_keeps_its_last_seal(sealed, probes):
    sealed.write_bytes(sealed.read_bytes().rstrip(b"\n"))
    result = verify(sealed)
    assert result.ok and result.seal_status() == "sealed" and "lacks its final newline" in result.describe()
    _collect(sealed, probes)  # the writer restores the newline; nothing is set aside
    assert verify(sealed).ok and not list(sealed.parent.glob("*.torn-*"))


# -- 6. the key ---------------------------------------------------------------------------------------


def test_a_swapped_key_file_is_refused_naming_both(sealed, tmp_path, monkeypatch, probes):
    home = _key_home(tmp_path, "home")
    monkeypatch.setenv("FORENSICS_HOME", str(home))
    signing_key()
    other = Ed25519PrivateKey.generate()
    (home / "signing-key.pem").write_bytes(
        other.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    with pytest.raises(EvidenceError, match="the key file was replaced"):
        EvidenceLog(tmp_path / "new.jsonl")


def test_a_log_last_sealed_by_another_key_is_not_continued_silently(sealed, tmp_path, monkeypatch, probes):
    monkeypatch.setenv("FORENSICS_HOME", str(_key_home(tmp_path, "other-home")))
    with pytest.raises(EvidenceError, match="last sealed by key .* pass --accept-key-change"):
        _collect(sealed, probes)
    _collect(sealed, probes, accept_key_change=True)
    assert "the sealing key changed within this log" in verify(sealed, use_ledger=False).describe()


@pytest.mark.parametrize("problem", ["corrupt key", "home cannot be made", "key path is a folder"])
def test_key_and_home_problems_fail_before_any_request_in_one_line(problem, tmp_path, monkeypatch, probes, capsys):
    home = tmp_path / "home"
    if problem == "corrupt key":
        home.mkdir()
        (home / "signing-key.pem").write_text("-----BEGIN PRIVATE KEY-----\nnonsense\n", encoding="utf-8")
    elif problem == "home cannot be made":
        (tmp_path / "file").write_text("x", encoding="utf-8")
        home = tmp_path / "file" / "home"
    else:
        (home / "signing-key.pem").mkdir(parents=True)
    monkeypatch.setenv("FORENSICS_HOME", str(home))
    out = tmp_path / "e.jsonl"
    with FaultServer({}, reply=made_up) as server:
        code = main(
            [
                "collect",
                "--model",
                f"openai-compatible:m@{server.base_url}",
                "--probes",
                str(probes.path),
                "--out",
                str(out),
                "--no-progress",
            ]
        )
        assert sum(server.calls.values()) == 0
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1 and str(home) in err
    assert not out.exists() or out.stat().st_size == 0


# -- 7. the embedded case's key -----------------------------------------------------------------------


def test_the_embedded_case_publishes_its_key_and_the_demo_refuses_another(tmp_path, monkeypatch, capsys):
    keys = published_keys(ALPACA_CASE_DIR)
    sealed_by = {fp for log in ALPACA_CASE_DIR.glob("*.jsonl") for fp in verify(log).key_fingerprints}
    assert keys == sorted(sealed_by) and len(keys) == 1
    assert all(verify(log, keys).ok for log in ALPACA_CASE_DIR.glob("*.jsonl"))
    copy = tmp_path / "case"
    shutil.copytree(ALPACA_CASE_DIR, copy)
    md = copy / "CASE.md"
    md.write_text(md.read_text(encoding="utf-8").replace(keys[0], "ed25519:" + "0" * 64), encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # a relative --case-dir is resolved against the current folder
    assert main(["demo", "--case-dir", "case", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "does not verify with --trust ed25519:0000" in err and "published in CASE.md" in err
    assert "untrusted key " + keys[0] in err and not (tmp_path / "out" / "report.html").exists()


# -- 9. several copies, several answers ---------------------------------------------------------------


def test_the_same_log_twice_loads_every_answer_once_with_a_note(sealed, tmp_path):
    twin = tmp_path / "twin.jsonl"
    twin.write_bytes(sealed.read_bytes())
    corpus = load_evidence([sealed, twin])
    assert [len(s) for s in corpus.responses["suspect"].values()] == [1] * 4
    assert any("already loaded from another copy of the same log" in n for n in corpus.notes)


def _benchmark(folder: Path, rows: dict[str, list[dict]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "_prompts.jsonl").write_text('{"prompt_id": "a", "prompt": "Say a."}\n', encoding="utf-8")
    for model, lines in rows.items():
        (folder / f"{model}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines), encoding="utf-8")
    return folder


def test_an_import_with_two_answers_to_one_id_is_refused_naming_file_and_line(tmp_path):
    corpus = _benchmark(
        tmp_path / "c", {"m": [{"prompt_id": "a", "response": "x"}, {"prompt_id": "a", "response": "y"}]}
    )
    with pytest.raises(
        EvidenceError, match=r"m\.jsonl line 2: prompt id 'a' of 'm' already has a different answer .*m\.jsonl line 1"
    ):
        import_benchmark(corpus, tmp_path / "o.jsonl")
    assert not (tmp_path / "o.jsonl").exists() or not read_records(tmp_path / "o.jsonl", check=False)


def test_one_id_with_two_prompt_texts_across_model_files_is_refused_naming_file_and_line(tmp_path):
    rows = {
        "m1": [{"prompt_id": "b", "prompt": "First text", "response": "x"}],
        "m2": [{"prompt_id": "b", "prompt": "Other text", "response": "y"}],
    }
    corpus = _benchmark(tmp_path / "c", rows)
    with pytest.raises(
        ValueError, match=r"m2\.jsonl:1: field 'prompt': differs from the text of prompt id 'b' at .*m1\.jsonl:1"
    ):
        import_benchmark(corpus, tmp_path / "o.jsonl")


def test_an_edited_source_imported_again_is_refused_naming_both_answers(tmp_path):
    src = tmp_path / "model_outputs.json"
    src.write_text(json.dumps([{"instruction": "Q?", "output": "old", "generator": "g"}]), encoding="utf-8")
    out = tmp_path / "ae.jsonl"
    import_alpaca_eval(src, out)
    src.write_text(json.dumps([{"instruction": "Q?", "output": "new", "generator": "g"}]), encoding="utf-8")
    with pytest.raises(
        EvidenceError, match=r"index 0: prompt id .* already has a different answer \(.*ae\.jsonl seq 1\)"
    ):
        import_alpaca_eval(src, out)
    assert [r["response"]["text"] for r in read_records(out) if r["kind"] == "imported"] == ["old"]


# -- 10. outputs that would destroy evidence -----------------------------------------------------------


def test_case_export_never_writes_over_a_log(sealed, capsys):
    before = sealed.read_bytes()
    assert main(["case", "export", str(sealed), "--out", str(sealed)]) == 2
    assert "is an evidence log; refusing to overwrite it" in capsys.readouterr().err and sealed.read_bytes() == before


def test_digest_out_naming_a_log_is_refused_before_any_analysis(sealed, capsys):
    before = sealed.read_bytes()
    started = time.monotonic()
    code = main(
        [
            "report",
            str(sealed),
            "--reference",
            "r",
            "--suspect",
            "suspect",
            "--digest-out",
            str(sealed),
            "--out",
            str(sealed.parent / "r.html"),
        ]
    )
    assert code == 2 and time.monotonic() - started < 5
    assert "is an evidence log; refusing to overwrite it" in capsys.readouterr().err and sealed.read_bytes() == before


def test_a_planted_partial_symlink_is_never_followed(sealed, tmp_path):
    from forensics.evidence import write_output_atomic

    before = sealed.read_bytes()
    out = tmp_path / "report.html"
    (tmp_path / "report.html.partial").symlink_to(sealed)
    write_output_atomic(out, "<html>report</html>", suffixes=(".html",))
    assert sealed.read_bytes() == before and out.read_text(encoding="utf-8") == "<html>report</html>"
    link = tmp_path / "link.html"
    link.symlink_to(sealed)
    with pytest.raises(ValueError, match="is a symbolic link"):
        write_output_atomic(link, "x", suffixes=(".html",))
    assert sealed.read_bytes() == before


def test_repair_and_quarantine_refuse_while_a_writer_holds_the_log(sealed, capsys):
    import fcntl

    with open(sealed, "ab") as fh:
        fh.write(b'{"torn')
    before = sealed.read_bytes()

    with open(sealed, "rb") as holder:  # a writer holds the log's lock
        fcntl.flock(holder.fileno(), fcntl.LOCK_EX)
        assert main(["verify", "--repair", str(sealed)]) == 2
        assert "another process is writing this evidence log" in capsys.readouterr().err
        assert main(["verify", "--quarantine", str(sealed)]) == 2
        assert sealed.read_bytes() == before
    assert main(["verify", "--repair", str(sealed)]) == 0


# -- 11. manifests ----------------------------------------------------------------------------------


def test_case_check_says_who_signed_and_refuses_a_stranger_under_trust(sealed, tmp_path, monkeypatch, capsys):
    manifest = sealed.parent / "manifest.json"
    monkeypatch.setenv("FORENSICS_HOME", str(_key_home(tmp_path, "stranger")))
    stranger = fingerprint(signing_key().public_key())
    assert main(["case", "export", str(sealed), "--out", str(manifest)]) == 0
    monkeypatch.undo()
    capsys.readouterr()
    assert main(["case", "check", str(manifest)]) == 0  # signature holds; no key was required
    assert f"signed by {stranger} (not checked: no --trust)" in capsys.readouterr().out
    assert main(["case", "check", str(manifest), "--trust", _me()]) == 1
    out = capsys.readouterr().out
    assert f"signed by {stranger} (NOT a trusted key)" in out and "which is not a trusted key" in out
    head = verify(sealed).head
    assert f"head {head}, sealed" in out


@pytest.mark.parametrize("path", ["/etc/hostname", "../outside.jsonl", "link.jsonl"])
def test_case_check_refuses_paths_outside_the_case_folder_and_symlinks(sealed, tmp_path, path, capsys):
    folder = sealed.parent
    (tmp_path / "outside.jsonl").write_bytes(sealed.read_bytes())
    (folder / "link.jsonl").symlink_to(tmp_path / "outside.jsonl")
    manifest = folder / "manifest.json"
    assert main(["case", "export", str(sealed), "--out", str(manifest)]) == 0
    data = json.loads(manifest.read_text(encoding="utf-8"))
    data["manifest"]["logs"][0]["path"] = path
    manifest.write_text(json.dumps(data), encoding="utf-8")
    capsys.readouterr()
    assert main(["case", "check", str(manifest)]) == 1
    out = capsys.readouterr().out
    assert ("outside the case folder" in out) or ("is a symbolic link" in out)
    assert main(["case", "export", str(folder / "link.jsonl"), "--out", str(folder / "m2.json")]) == 2


@pytest.mark.parametrize(
    "content", ["{}", "folder", '{"manifest": {"kind": "case_manifest", "logs": [{"path": null}]}, "signature": {}}']
)
def test_a_malformed_manifest_is_one_line_not_a_traceback(tmp_path, content, capsys):
    manifest = tmp_path / "m.json"
    if content == "folder":
        manifest.mkdir()
    else:
        manifest.write_text(content, encoding="utf-8")
    assert main(["case", "check", str(manifest)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1 and str(manifest) in err


# -- 13. imports hash what they parse -----------------------------------------------------------------


def test_imports_record_the_prompts_file_and_hash_exactly_the_bytes_parsed(tmp_path):
    corpus = _benchmark(tmp_path / "c", {"m": [{"prompt_id": "a", "response": "x"}]})
    (corpus / "m.jsonl").write_bytes(b'{"prompt_id": "a", "response": "x"}')  # no final newline
    out = tmp_path / "o.jsonl"
    import_benchmark(corpus, out)
    files = read_records(out)[0]["files"]
    for name in ("_prompts.jsonl", "m.jsonl"):
        assert files[str(corpus / name)] == hashlib.sha256((corpus / name).read_bytes()).hexdigest()
    h = hashlib.sha256()
    assert [obj for _, obj in read_jsonl(corpus / "m.jsonl", hasher=h)] == [{"prompt_id": "a", "response": "x"}]
    assert h.hexdigest() == files[str(corpus / "m.jsonl")]


def test_a_line_or_a_file_over_the_cap_is_refused_naming_file_and_line(tmp_path):
    path = tmp_path / "big.jsonl"
    path.write_text('{"a": 1}\n{"a": "' + "x" * 5000 + '"}\n', encoding="utf-8")
    with pytest.raises(LineTooLong, match=r"big\.jsonl:2: line of 5,009 bytes is longer than the cap of 1,000"):
        list(read_jsonl(path, max_line=1000))
    with pytest.raises(ValueError, match=r"big\.jsonl: 5,019 bytes, more than the cap of 100"):
        list(read_jsonl(path, max_file=100))
    assert [n for n, _ in iter_lines(path)] == [1, 2]


def test_a_non_utf8_alpaca_eval_file_names_the_file(tmp_path, capsys):
    src = tmp_path / "model_outputs.json"
    src.write_bytes(b'[{"instruction": "caf\xe9", "output": "x", "generator": "g"}]')
    assert main(["import", "alpaca-eval", str(src), "--out", str(tmp_path / "o.jsonl")]) == 2
    err = capsys.readouterr().err
    assert f"{src}:1: field '<utf-8>': not UTF-8" in err and "Traceback" not in err


# -- 14, 15. collection --------------------------------------------------------------------------------


def _chat(content) -> bytes:
    return json.dumps(
        {
            "id": "same-id",
            "model": "m",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
        }
    ).encode()


def test_a_reply_whose_content_is_not_text_is_an_error_record_and_the_run_is_sealed(tmp_path):
    contents = {"int": 7, "list": ["a"], "dict": {"text": "a"}, "fine": "a real string"}
    probes = write_probes(tmp_path / "p.yaml", list(contents))
    log = tmp_path / "e.jsonl"
    with FaultServer({}, body=lambda model, prompt: _chat(contents[prompt])) as server:
        summary = collect(f"openai-compatible:m@{server.base_url}", [probes], log, progress=False, backoff=0.01)
    assert (summary.succeeded, summary.failed) == (1, 3)
    errors = {r["probe_id"]: r["error"] for r in read_records(log) if r["kind"] == "error"}
    assert {e["kind"] for e in errors.values()} == {"unusable_reply"} and errors["int"]["raw"]["choices"][0]["message"][
        "content"
    ] == 7
    assert "reply content is list, not text" in errors["list"]["message"]
    assert verify(log, {_me()}).ok


def test_duplicate_response_ids_are_noted_in_the_record(tmp_path):
    probes = write_probes(tmp_path / "p.yaml", ["one", "two"])
    log = tmp_path / "e.jsonl"
    with FaultServer({}, body=lambda model, prompt: _chat(f"answer to {prompt}")) as server:
        collect(f"openai-compatible:m@{server.base_url}", [probes], log, progress=False)
    responses = [r for r in read_records(log) if r["kind"] == "response"]
    assert "duplicate_response_id" not in responses[0]
    assert responses[1]["duplicate_response_id"] == {"id": "same-id", "first_seen": "one#0"}


class _Drip(BaseHTTPRequestHandler):
    """Headers at once, then one byte of body every 0.3 s: each read is quick, the reply never ends."""

    def log_message(self, *args):
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "100000")
        self.end_headers()
        end = time.monotonic() + 20  # bounded: the server stops dripping by itself
        try:
            while time.monotonic() < end:
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.3)
        except OSError:
            pass


def test_the_timeout_is_a_deadline_for_the_whole_request(tmp_path):
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Drip)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        probes = write_probes(tmp_path / "p.yaml", ["slow"])
        started = time.monotonic()
        summary = collect(
            f"openai-compatible:m@http://127.0.0.1:{httpd.server_address[1]}/v1",
            [probes],
            tmp_path / "e.jsonl",
            timeout=1.5,
            max_attempts=1,
            progress=False,
        )
        assert time.monotonic() - started < 6  # not the 20 s the server would drip
        assert summary.failed == 1
        (error,) = [r["error"] for r in read_records(tmp_path / "e.jsonl") if r["kind"] == "error"]
        assert error["kind"] == "timeout" and "deadline for the whole request" in error["message"]
    finally:
        httpd.shutdown()
        httpd.server_close()


# -- 8, 12, 17, 18. the report ----------------------------------------------------------------------


RTL = "evil\u202egnp"
LABELS = ("reference", "suspect", "control-1", "control-2", "-neg", RTL)


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    """Six subjects recorded through the real collector from a made-up server."""
    folder = tmp_path_factory.mktemp("attack-case")
    probes = write_probes(folder / "probes.yaml", [f"topic-{i}" for i in range(12)])
    with FaultServer({}, reply=made_up) as server:
        for label in LABELS:
            safe = hashlib.sha256(label.encode()).hexdigest()[:8]
            collect(
                f"openai-compatible:{safe}@{server.base_url}",
                [probes],
                folder / "evidence" / f"{safe}.jsonl",
                label=label,
                progress=False,
            )
    return folder


@pytest.fixture(scope="module", autouse=True)
def _cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FORENSICS_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        yield


def test_a_shadow_log_with_other_answers_is_refused_and_every_signing_key_is_listed(
    case, tmp_path, monkeypatch, capsys
):
    evidence = tmp_path / "evidence"
    shutil.copytree(case / "evidence", evidence)
    probes = write_probes(tmp_path / "probes.yaml", [f"topic-{i}" for i in range(12)])
    monkeypatch.setenv("FORENSICS_HOME", str(_key_home(tmp_path, "shadow-home")))
    with FaultServer({}, reply=lambda m, p: "shadow answer: " + p) as server:
        collect(
            f"openai-compatible:{hashlib.sha256(b'suspect').hexdigest()[:8]}@{server.base_url}",
            [probes],
            evidence / "shadow.jsonl",
            label="suspect",
            progress=False,
        )
    shadow_key = fingerprint(signing_key().public_key())
    monkeypatch.undo()
    common = [
        str(evidence),
        "--reference",
        "reference",
        "--suspect",
        "suspect",
        "--panel",
        "control-1",
        "--panel",
        "control-2",
        "--out",
        str(tmp_path / "r.html"),
    ]
    assert main(["report", *common]) == 2
    err = capsys.readouterr().err
    assert "label 'suspect' has two different answers to probe" in err and "shadow.jsonl seq" in err
    assert main(["report", *common, "--trust", _me()]) == 2
    assert f"untrusted key {shadow_key}" in capsys.readouterr().err
    # a panel model sealed by another key is used, but the report names both keys and warns
    (evidence / "shadow.jsonl").rename(tmp_path / "shadow.jsonl")
    monkeypatch.setenv("FORENSICS_HOME", str(tmp_path / "shadow-home"))
    with FaultServer({}, reply=made_up) as server:
        collect(
            f"openai-compatible:c3@{server.base_url}",
            [probes],
            evidence / "c3.jsonl",
            label="control-3",
            progress=False,
        )
    monkeypatch.undo()
    assert main(["report", *common, "--panel", "control-3"]) == 0
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "sealed by 2 different keys" in html and shadow_key in html and _me() in html


@pytest.fixture(scope="module")
def digest(case, tmp_path_factory):
    out = tmp_path_factory.mktemp("digest")
    code = main(
        [
            "report",
            str(case / "evidence"),
            "--reference",
            "reference",
            "--suspect",
            "suspect",
            "--suspect=-neg",
            "--suspect",
            RTL,
            "--panel",
            "control-1",
            "--panel",
            "control-2",
            "--panel",
            "suspect",
            "--replicate",
            "reference",
            "--digest-out",
            str(out / "digest.json"),
            "--out",
            str(out / "r.html"),
        ]
    )
    assert code == 0
    return out


def test_an_edited_digest_renders_under_a_red_unsigned_banner(digest, tmp_path, capsys):
    data = json.loads((digest / "digest.json").read_text(encoding="utf-8"))
    data["verdicts"][0]["p_value"] = 1e-9  # the edit a hostile expert would make
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(data), encoding="utf-8")
    assert main(["report", "--from-digest", str(edited), "--out", str(tmp_path / "e.html")]) == 0
    soup = BeautifulSoup((tmp_path / "e.html").read_text(encoding="utf-8"), "html.parser")
    first = soup.select_one("header").get_text(" ", strip=True)
    sha = hashlib.sha256(edited.read_bytes()).hexdigest()
    assert first.index("UNSIGNED DIGEST: not verified against evidence") < 400 and sha in first
    assert "rebuilt from the verified evidence logs" not in first
    assert main(["report", "--from-digest", str(edited), "--trust", _me(), "--out", str(tmp_path / "t.html")]) == 2
    assert "signature does not match the signed content" in capsys.readouterr().err
    assert (
        main(
            [
                "report",
                "--from-digest",
                str(digest / "digest.json"),
                "--trust",
                _me(),
                "--out",
                str(tmp_path / "s.html"),
            ]
        )
        == 0
    )
    signed = BeautifulSoup((tmp_path / "s.html").read_text(encoding="utf-8"), "html.parser")
    assert f"signed by {_me()}" in signed.select_one("header").get_text(" ", strip=True)


def _svg_texts(soup) -> str:
    return " ".join(base64.b64decode(img["src"].split(",", 1)[1]).decode("utf-8") for img in soup.find_all("img"))


def test_labels_pass_through_one_filter_everywhere_and_the_rebuild_command_keeps_a_dash_label(digest, case):
    html = (digest / "r.html").read_text(encoding="utf-8")
    soup = BeautifulSoup(html, "html.parser")
    assert "\u202e" not in html and "\u202e" not in _svg_texts(soup)  # figures and heat-map axes included
    assert "evil⟨U+202E⟩gnp" in soup.get_text()
    command = shlex.split(soup.select_one("#rebuild .command").get_text())
    assert "--suspect=-neg" in command
    from forensics.cli import build_parser

    args = build_parser().parse_args(command[1:])
    assert args.suspect[:2] == ["suspect", "-neg"]  # parsed as a label, not an option


def test_a_dropped_panel_member_and_an_ignored_replicate_are_stated(digest):
    soup = BeautifulSoup((digest / "r.html").read_text(encoding="utf-8"), "html.parser")
    summary = soup.select_one("#summary").get_text(" ", strip=True)
    assert "Panel member suspect is the suspect itself, so it was left out of its own panel" in summary
    assert "--replicate reference is the reference itself and was ignored" in summary


def test_no_prompt_in_common_is_said_instead_of_a_prompt_count(case, tmp_path, capsys):
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    for label, prompts in (
        ("reference", ["a-1", "b-1"]),
        ("suspect", ["c-1", "d-1"]),
        ("c1", ["a-1", "c-1"]),
        ("c2", ["b-1", "d-1"]),
    ):
        _collect(evidence / f"{label}.jsonl", write_probes(tmp_path / f"{label}.yaml", prompts), label=label)
    code = main(
        ["report", str(evidence), "--reference", "reference", "--suspect", "suspect", "--out", str(tmp_path / "r.html")]
    )
    if code == 0:
        summary = BeautifulSoup((tmp_path / "r.html").read_text(encoding="utf-8"), "html.parser").select_one("#summary")
        assert "nothing was analysed for suspect" in summary.get_text(" ", strip=True)
    else:
        assert "prompt" in capsys.readouterr().err


def test_verify_leaves_no_file_open(sealed):
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(5):
        verify(sealed)
    assert len(os.listdir("/proc/self/fd")) <= before
