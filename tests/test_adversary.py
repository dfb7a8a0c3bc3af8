"""Evidence against an adversary: forged, cut and inconsistent logs fail `verify`, and seals name the record."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from servers import FaultServer, write_probes

from forensics.cli import main
from forensics.evidence import (
    EvidenceError,
    EvidenceLog,
    RecordError,
    check_manifest,
    collect,
    fingerprint,
    read_records,
    seal_summary,
    signing_key,
    verify,
)
from forensics.evidence.records import NoteRecord
from forensics.evidence.seal import signed_bytes
from forensics.notebook.cases import DEMO_CASE_DIR


def _canonical(obj) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def rechain(records: list[dict]) -> str:
    """The attacker's own code: renumber, re-link and re-hash every record (no key needed)."""
    prev, lines = "0" * 64, []
    for seq, rec in enumerate(records):
        body = {k: v for k, v in rec.items() if k != "hash"} | {"seq": seq, "prev": prev}
        prev = hashlib.sha256(_canonical(body).encode()).hexdigest()
        lines.append(_canonical(body | {"hash": prev}))
    return "\n".join(lines) + "\n"


def resign(records: list[dict], key: Ed25519PrivateKey) -> str:
    """The attacker's own code with a key of their own: rechain, then re-sign the last record (a seal)."""
    *body, seal = _load_text(rechain(records))
    hashes = [r["hash"] for r in body]
    seal.update(
        head=hashes[-1],
        count=len(hashes),
        hashes=hashes,
        key_fingerprint=fingerprint(key.public_key()),
        public_key=base64.b64encode(key.public_key().public_bytes_raw()).decode(),
    )
    seal["signature"] = base64.b64encode(key.sign(signed_bytes(seal))).decode()
    return rechain([*body, seal])


def _load_text(text: str) -> list[dict]:
    return [json.loads(line) for line in text.split("\n") if line]


def _load(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line]


@pytest.fixture
def sealed_log(tmp_path):
    probes = write_probes(tmp_path / "probes.yaml", [f"q{i}" for i in range(5)])
    log = tmp_path / "evidence.jsonl"
    with FaultServer({}) as server:
        collect(f"openai-compatible:fake@{server.base_url}", [probes], log, progress=False)
    return log


def _trusted() -> str:
    return fingerprint(signing_key().public_key())


def _edit_answer(records: list[dict], seq: int, text: str) -> None:
    rec = records[seq]
    assert rec["kind"] == "response"
    rec["response"]["text"] = text
    rec["response"]["raw"]["choices"][0]["message"]["content"] = text  # consistent forgery


def test_forged_and_rechained_log_fails_and_names_the_record(sealed_log, capsys):
    records = _load(sealed_log)
    assert [r["kind"] for r in records] == ["run"] + ["response"] * 5 + ["run_end", "seal"]
    assert verify(sealed_log, {_trusted()}).ok
    _edit_answer(records, 3, "I am definitely not distilled.")
    sealed_log.write_text(rechain(records), encoding="utf-8")
    for trust in (None, {_trusted()}):
        result = verify(sealed_log, trust)
        assert not result.ok and result.first_bad_seq == 3 and result.first_bad_line == 4
        assert "altered after sealing" in result.problem
    assert main(["verify", str(sealed_log), "--trust", _trusted()]) == 1
    out = capsys.readouterr().out
    assert "line 4 (record seq 3)" in out and "altered after sealing" in out


def test_stripped_seals_and_foreign_keys_fail_under_trust(sealed_log, tmp_path):
    records = _load(sealed_log)
    _edit_answer(records, 2, "forged")
    stripped = tmp_path / "stripped.jsonl"
    stripped.write_text(rechain([r for r in records if r["kind"] != "seal"]), encoding="utf-8")
    assert "cut back: this machine sealed this log at 8 records" in verify(stripped).problem  # the ledger
    unsealed = verify(stripped, use_ledger=False)  # on another machine, without the ledger
    assert not unsealed.ok and "not covered by any seal" in unsealed.problem
    assert verify(stripped, allow_unsealed=True, use_ledger=False).seal_status() == "unsealed"
    result = verify(stripped, {_trusted()}, use_ledger=False)
    assert not result.ok and "not covered by any seal" in result.problem and result.first_bad_seq == 0

    resigned = tmp_path / "resigned.jsonl"
    resigned.write_text(resign(records, Ed25519PrivateKey.generate()), encoding="utf-8")
    assert "differs from the head this machine sealed" in verify(resigned).problem
    assert verify(resigned, use_ledger=False).ok  # a valid seal, but by whom?
    result = verify(resigned, {_trusted()}, use_ledger=False)
    n = len(records) - 1
    assert not result.ok and "untrusted key" in result.problem and result.first_bad_seq == n


def test_log_cut_by_three_records_fails_expect_head(sealed_log, capsys):
    head = verify(sealed_log).head
    assert main(["verify", str(sealed_log), "--expect-head", head]) == 0
    lines = sealed_log.read_text(encoding="utf-8").split("\n")[:-1]
    sealed_log.write_text("\n".join(lines[:-3]) + "\n", encoding="utf-8")
    assert verify(sealed_log, use_ledger=False, allow_unsealed=True).ok  # the cut log is a valid chain on its own
    capsys.readouterr()
    assert main(["verify", str(sealed_log), "--expect-head", head]) == 1
    assert f"FAIL expected head {head}" in capsys.readouterr().out
    assert main(["verify", str(sealed_log), "--trust", _trusted()]) == 1  # its tail is no longer sealed


def test_empty_file_is_an_error(tmp_path, capsys):
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    assert not verify(empty).ok
    assert main(["verify", str(empty)]) == 1
    assert "empty file" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("attack", "expected"),
    [
        ("text_only", "does not match the text in its raw reply"),
        ("time_back", "earlier than the run's previous record"),
        ("no_run", "which no earlier run or import record opens"),
        ("duplicate", "duplicate success"),
    ],
)
def test_consistency_checks_catch_rechained_edits(sealed_log, attack, expected):
    records = [r for r in _load(sealed_log) if r["kind"] != "seal"]
    if attack == "text_only":
        records[2]["response"]["text"] = "changed"
    elif attack == "time_back":
        records[4]["timestamp"] = "2000-01-01T00:00:00.000000Z"
    elif attack == "no_run":
        records[3]["run_id"] = "somewhere-else"
    else:
        records.insert(3, dict(records[2]))
    sealed_log.write_text(rechain(records), encoding="utf-8")
    result = verify(sealed_log)
    assert not result.ok and expected in result.problem, result.describe()
    with pytest.raises(EvidenceError):
        read_records(sealed_log)


def test_records_of_a_future_schema_are_refused_clearly(sealed_log):
    records = _load(sealed_log)
    records[1]["schema"] = "forensics.evidence/99"
    sealed_log.write_text(rechain(records), encoding="utf-8")
    with pytest.raises(RecordError, match=r"evidence.jsonl:2: field 'schema': written by a newer toolkit"):
        read_records(sealed_log, check=False)
    assert "newer toolkit" in verify(sealed_log).problem


def test_key_show_and_signed_case_manifest(sealed_log, tmp_path, capsys):
    assert main(["key", "show"]) == 0
    assert _trusted() in capsys.readouterr().out
    out = tmp_path / "manifest.json"
    assert main(["case", "export", str(sealed_log), "--out", str(out)]) == 0
    manifest = json.loads(out.read_text(encoding="utf-8"))
    entry = manifest["manifest"]["logs"][0]
    assert entry["path"] == "evidence.jsonl" and entry["head"] == verify(sealed_log).head
    assert entry["seal_status"] == "sealed" and manifest["signature"]["key_fingerprint"] == _trusted()
    checked = check_manifest(out, {_trusted()})
    assert checked.ok and checked.signer == _trusted() and checked.trusted
    assert checked.logs[0]["head"] == entry["head"] and checked.logs[0]["seal_status"] == "sealed"
    capsys.readouterr()
    assert main(["case", "check", str(out), "--trust", _trusted()]) == 0
    printed = capsys.readouterr().out
    assert f"signed by {_trusted()} (trusted key)" in printed and entry["head"] in printed and "sealed" in printed
    with open(sealed_log, "ab") as fh:
        fh.write(b"\n")
    assert main(["case", "check", str(out)]) == 1
    assert f"{sealed_log}: changed since the manifest was signed" in check_manifest(out).problems[0]


def test_seal_summary_for_the_report(sealed_log):
    summary = seal_summary(sealed_log)
    assert summary["seal_status"] == "sealed" and summary["key_fingerprints"] == [_trusted()]
    assert summary["head"] == verify(sealed_log).head and summary["n_records"] == 8


def test_a_record_missing_a_field_names_file_line_and_field(sealed_log):
    records = _load(sealed_log)
    del records[2]["probe_id"]
    sealed_log.write_text(rechain(records), encoding="utf-8")
    with pytest.raises(RecordError) as err:
        read_records(sealed_log, check=False)
    assert (err.value.path, err.value.line, err.value.field) == (str(sealed_log), 3, "probe_id")
    assert verify(sealed_log).first_bad_line == 3


def test_records_left_unsealed_by_a_killed_run_are_sealed_by_the_next(sealed_log, tmp_path):
    with EvidenceLog(sealed_log) as log:  # what a run killed before its seal leaves behind
        log.append(NoteRecord(text="written by a run that never finished"))
    assert verify(sealed_log).unsealed == 1 and not verify(sealed_log, {_trusted()}).ok
    probes = write_probes(tmp_path / "more.yaml", ["q5"])
    with FaultServer({}) as server:
        collect(f"openai-compatible:fake@{server.base_url}", [probes], sealed_log, progress=False)
    result = verify(sealed_log, {_trusted()})
    assert result.ok and result.unsealed == 0 and len(result.seals) == 2


def test_the_embedded_legacy_case_verifies_unsealed_and_is_refused_under_trust():
    logs = sorted(DEMO_CASE_DIR.glob("*.jsonl"))
    assert logs
    for log in logs:
        result = verify(log)
        assert result.ok and result.seal_status() == "unsealed" and result.unsealed == result.n_records
        assert not verify(log, {_trusted()}).ok


def test_trust_accepts_a_public_key_file_and_refuses_nonsense(sealed_log, forensics_home, tmp_path, capsys):
    public = forensics_home / "signing-key.pub.pem"
    assert main(["verify", str(sealed_log), "--trust", str(public)]) == 0
    assert f"sealed ({_trusted()})" in capsys.readouterr().out
    other = tmp_path / "other.pub.pem"
    other.write_bytes(
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    assert main(["verify", str(sealed_log), "--trust", str(other)]) == 1
    assert "untrusted key" in capsys.readouterr().out
    assert main(["verify", str(sealed_log), "--trust", "not-a-key"]) == 2
    assert "neither a key file nor an ed25519:<sha256> fingerprint" in capsys.readouterr().err
