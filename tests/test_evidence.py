"""The evidence log: hash chain, tamper detection, torn tails, redaction."""

from __future__ import annotations

import json

import pytest

from forensics.cli import main
from forensics.evidence import EvidenceError, EvidenceLog, Redactor, read_records, verify
from forensics.evidence.records import ImportRecord, NoteRecord


def _write_log(path, n=5, seal=True):
    """``n`` notes (the first opens a run the seal can name), sealed unless ``seal`` is False."""
    with EvidenceLog(path) as log:
        run_id = f"run-{log.next_seq}"
        for i in range(n):
            if i == 0:
                log.append(ImportRecord(format="test", run_id=run_id))
            else:
                log.append(NoteRecord(i=i, text=f"record {i} – ü 中文"))
        if seal:
            log.seal(run_id)
    return path


def test_chain_links_every_record(tmp_path):
    path = _write_log(tmp_path / "log.jsonl")
    records = read_records(path)
    assert [r["seq"] for r in records] == list(range(6))  # five records and their seal
    assert records[0]["prev"] == "0" * 64
    for before, after in zip(records, records[1:]):
        assert after["prev"] == before["hash"]
    result = verify(path)
    assert result.ok and result.n_records == 6 and result.head == records[-1]["hash"]


def test_reopening_extends_the_same_chain(tmp_path):
    path = _write_log(tmp_path / "log.jsonl", 3)
    _write_log(path, 2)
    records = read_records(path)
    assert [r["seq"] for r in records] == list(range(7))
    assert verify(path).ok


def test_any_single_byte_change_fails_and_names_the_record(tmp_path):
    path = _write_log(tmp_path / "log.jsonl")
    original = path.read_bytes()
    lines = original.split(b"\n")
    starts = [sum(len(line) + 1 for line in lines[:i]) for i in range(6)]
    for lineno, start in enumerate(starts, 1):
        for offset in range(0, len(lines[lineno - 1]) + 1, 7):  # every 7th byte of each line, newline included
            data = bytearray(original)
            data[start + offset] = (data[start + offset] + 1) % 256
            path.write_bytes(bytes(data))
            result = verify(path)
            assert not result.ok, (lineno, offset)
            assert result.first_bad_line == lineno, (lineno, offset, result.describe())
    path.write_bytes(original)
    assert verify(path).ok


def test_deleting_or_reordering_records_breaks_the_chain(tmp_path):
    path = _write_log(tmp_path / "log.jsonl")
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(lines[:2] + lines[3:]), encoding="utf-8")
    assert verify(path).first_bad_line == 3
    path.write_text("".join([lines[1], lines[0]] + lines[2:]), encoding="utf-8")
    assert verify(path).first_bad_line == 1


def test_torn_last_line_is_detected_set_aside_and_never_trusted(tmp_path):
    path = _write_log(tmp_path / "log.jsonl", 3)
    with open(path, "ab") as fh:
        fh.write(b'{"kind":"response","text":"half a rec')
    result = verify(path)
    assert not result.ok and result.torn_tail and result.first_bad_line == 5
    with pytest.raises(EvidenceError):
        read_records(path)
    with EvidenceLog(path) as log:
        assert log.torn_bytes_saved_to is not None
        assert log.torn_bytes_saved_to.read_bytes().startswith(b'{"kind":"response"')
        log.append(ImportRecord(format="test", run_id="after"))
        log.seal("after")
    assert verify(path).ok and verify(path).n_records == 6


def test_a_second_writer_is_refused(tmp_path):
    path = tmp_path / "log.jsonl"
    with EvidenceLog(path):
        with pytest.raises(EvidenceError, match="another process"):
            EvidenceLog(path)


def test_secrets_from_the_environment_are_redacted(tmp_path, monkeypatch):
    monkeypatch.setenv("SOME_PROVIDER_API_KEY", "sk-verysecret-123456789")
    path = tmp_path / "log.jsonl"
    with EvidenceLog(path, Redactor()) as log:
        log.append(ImportRecord(format="test", run_id="r"))
        log.append(NoteRecord(text="Bearer sk-verysecret-123456789"))
        log.seal("r")
    text = path.read_text()
    assert "sk-verysecret" not in text and "[REDACTED:SOME_PROVIDER_API_KEY]" in text
    assert verify(path).ok


def test_verify_cli_exit_codes(tmp_path, capsys):
    path = _write_log(tmp_path / "log.jsonl")
    assert main(["verify", str(path)]) == 0
    assert "OK" in capsys.readouterr().out
    data = path.read_text(encoding="utf-8").replace("record 2", "record 9")
    path.write_text(data, encoding="utf-8")
    assert main(["verify", str(path)]) == 1
    out = capsys.readouterr().out
    assert "line 3" in out and "seq 2" in out and "record altered" in out
    assert main(["verify", str(tmp_path / "missing.jsonl")]) == 2
    assert "no such evidence log" in capsys.readouterr().err


def test_verify_repair_flag(tmp_path, capsys):
    path = _write_log(tmp_path / "log.jsonl", 2)
    with open(path, "ab") as fh:
        fh.write(b'{"torn')
    assert main(["verify", str(path)]) == 1
    assert main(["verify", "--repair", str(path)]) == 0
    assert "set aside" in capsys.readouterr().out
    assert json.loads(path.read_text().splitlines()[-1])["seq"] == 2


def test_settings_named_like_secrets_do_not_mangle_evidence(tmp_path, monkeypatch):
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "false")
    monkeypatch.setenv("MY_SERVICE_TOKEN", "tok-123456789")
    path = tmp_path / "log.jsonl"
    with EvidenceLog(path) as log:
        log.append(ImportRecord(format="test", run_id="r"))
        log.append(NoteRecord(text="false alarm; tok-123456789"))
        log.seal("r")
    assert read_records(path)[1]["text"] == "false alarm; [REDACTED:MY_SERVICE_TOKEN]"
