"""One label, one subject: mixed identities are refused by the loader, and an edited probe is a new probe."""

from __future__ import annotations

import pytest
from servers import FaultServer, write_probes

from forensics.corpus import load_evidence
from forensics.evidence import EvidenceError, collect, file_sha256, read_records
from forensics.probes import load_probe_set
from forensics.providers import Decoding, Reply


def _collect(tmp_path, log, model="fake", decoding=Decoding(), weights=None, label="suspect"):
    probes = write_probes(tmp_path / "probes.yaml", ["a", "b"])
    with FaultServer({}, reported_model=lambda m: m) as server:
        collect(
            f"openai-compatible:{model}@{server.base_url}",
            [probes],
            log,
            decoding,
            label=label,
            weights_sha256=weights,
            progress=False,
        )


@pytest.mark.parametrize(
    "second",
    [{"model": "other"}, {"decoding": Decoding(temperature=0.9)}, {"decoding": Decoding(system_prompt="Be X.")}],
)
def test_a_label_covering_two_subjects_is_refused_naming_the_records(tmp_path, second):
    first_log, second_log = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    _collect(tmp_path, first_log)
    _collect(tmp_path, second_log, **second)
    with pytest.raises(EvidenceError) as err:
        load_evidence([first_log, second_log])
    message = str(err.value)
    assert "label 'suspect' covers 2 different subjects" in message
    assert f"{first_log} seq 1" in message and f"{second_log} seq 1" in message and "--allow-mixed" in message
    corpus = load_evidence([first_log, second_log], allow_mixed=True)
    assert list(corpus.mixed) == ["suspect"] and len(corpus.mixed["suspect"]) == 2


def test_a_local_server_on_another_port_is_the_same_subject_but_other_weights_are_not(tmp_path):
    log = tmp_path / "e.jsonl"
    _collect(tmp_path, log, weights="a" * 64)
    _collect(tmp_path, tmp_path / "f.jsonl", weights="a" * 64)  # a fresh server: a new port
    assert load_evidence([log, tmp_path / "f.jsonl"]).models == ["suspect"]
    _collect(tmp_path, tmp_path / "g.jsonl", weights="b" * 64)
    with pytest.raises(EvidenceError, match="weights_sha256"):
        load_evidence([log, tmp_path / "g.jsonl"])


def test_an_edited_probe_is_a_new_probe(tmp_path):
    path = tmp_path / "probes.yaml"
    log = tmp_path / "e.jsonl"
    for prompt in ("old wording", "new wording"):
        path.write_text(
            f"name: t\ndescription: made by the test\nprobes:\n  - id: p1\n    family: style\n"
            f"    prompt: {prompt}\n    language: en\n    tags: [t]\n",
            encoding="utf-8",
        )
        with FaultServer({}) as server:
            collect(f"openai-compatible:fake@{server.base_url}", [load_probe_set(path)], log, progress=False)
    corpus = load_evidence([log])
    assert len(corpus.prompts) == 2 and all(pid.startswith("p1@") for pid in corpus.prompts)
    by_prompt = {text: pid for pid, text in corpus.prompts.items()}
    assert corpus.text("openai-compatible:fake", by_prompt["new wording"]) == "echo: new wording"
    assert corpus.text("openai-compatible:fake", by_prompt["old wording"]) == "echo: old wording"


class _LocalModel:
    """Stands in for a local transformers model; its replies are made up here, from the prompt."""

    endpoint = "local"

    def build_request(self, messages, decoding, sample_index):
        return {"messages": messages}

    def send(self, request, timeout):
        return {"model": "local", "text": "made up: " + request["messages"][-1]["content"]}

    @staticmethod
    def parse(raw):
        return Reply(raw["text"], raw["model"], None, {})


def test_a_local_weights_file_is_hashed_into_the_identity(tmp_path):
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"weights made up by the test")
    probes = write_probes(tmp_path / "probes.yaml", ["a"])
    log = tmp_path / "e.jsonl"
    collect(f"hf:{weights}", [probes], log, provider=_LocalModel(), progress=False)
    run, response = read_records(log)[:2]
    assert run["weights_sha256"] == response["weights_sha256"] == file_sha256(weights)
    weights.write_bytes(b"other weights under the same name")
    collect(f"hf:{weights}", [probes], tmp_path / "f.jsonl", provider=_LocalModel(), progress=False)
    with pytest.raises(EvidenceError, match="covers 2 different subjects"):
        load_evidence([log, tmp_path / "f.jsonl"])


def test_report_refuses_a_mixed_label_unless_allowed_and_then_says_so(tmp_path, capsys):
    from forensics.cli import main

    evidence = tmp_path / "evidence"
    evidence.mkdir()
    _collect(tmp_path, evidence / "suspect-a.jsonl")
    _collect(tmp_path, evidence / "suspect-b.jsonl", decoding=Decoding(temperature=0.9))
    for label in ("reference", "control-1", "control-2"):
        _collect(tmp_path, evidence / f"{label}.jsonl", model=label, label=label)
    common = [str(evidence), "--reference", "reference", "--suspect", "suspect"]
    out = tmp_path / "report.html"
    assert main(["report", *common, "--out", str(out)]) == 2
    assert "--allow-mixed" in capsys.readouterr().err and not out.exists()
    assert main(["report", *common, "--allow-mixed", "--out", str(out)]) == 0
    html = out.read_text(encoding="utf-8")
    assert "mixes 2 different subjects, allowed by the investigator (--allow-mixed)" in html
    assert "temperature" in html.split("mixes 2 different subjects")[1][:600]
    assert "--allow-mixed --seed" in html  # the rebuild command keeps the override
