"""The embedded demo case: its committed evidence verifies, its verdicts are the ones its
construction implies, and ``make demo`` (``forensics.notebook.demo.run_demo``) shows them in the report and
in the executed quickstart notebook. The evidence was recorded from the real local models by
``make demo-live``; these tests only read it, with the real (offline) embedding model."""

from __future__ import annotations

import json
import shlex

import numpy as np
import pytest
from bs4 import BeautifulSoup

from forensics.cli import main
from forensics.corpus import load_evidence
from forensics.features import Features, quiet_embedder
from forensics.notebook import load_case, notebook_setup
from forensics.notebook.demo import SUBJECTS, verify_case
from forensics.verdict import analyse


@pytest.fixture(scope="module")
def case():
    return load_case()


def test_case_file_describes_the_recorded_subjects(case):
    assert [s["label"] for s in case.subjects] == [s.label for s in SUBJECTS]
    assert all(r.ok for r in verify_case())
    corpus = load_evidence(case.logs)
    per_family = json.loads((case.directory / "case.json").read_text())["per_family"]
    for s in SUBJECTS:
        assert len(corpus.common_prompts([s.label])) >= 6 * per_family - 2, s.label  # an empty answer or two at most
        assert case.subject(s.label)["decoding"] == s.decoding.fingerprint()


def test_demo_verdicts_match_the_construction(case):
    notebook_setup()
    corpus = load_evidence(case.logs)
    features = Features(corpus, embedder=quiet_embedder())
    for suspect in case.suspects:
        v = analyse(
            corpus,
            case.reference,
            suspect,
            case.panel_for(suspect),
            rng=np.random.default_rng(0),
            features=features,
            replicates=case.replicates,
        )
        assert v.label == case.expected(suspect), v.summary()
        assert v.replicate is not None and case.replicates[0] in v.replicate.replicates


def test_make_demo_shows_the_verdicts_in_the_report_and_the_notebook(case, tmp_path):
    from forensics.notebook.demo import run_demo

    executed = run_demo(out_dir=tmp_path)
    verdicts = {v["suspect"]: v for v in json.loads((tmp_path / "verdicts.json").read_text())}
    assert {s: v["label"] for s, v in verdicts.items()} == {s: case.expected(s) for s in case.suspects}
    soup = BeautifulSoup((tmp_path / "report.html").read_text(encoding="utf-8"), "html.parser")
    shown = {
        b.select_one(".who strong").get_text(strip=True): b.select_one(".label").get_text(strip=True)
        for b in soup.select("#summary .verdict")
    }
    assert shown == {s: case.expected(s) for s in case.suspects}
    # the thin local panel limits what the demo can claim, and the report says so
    summary = soup.select_one("#summary").get_text(" ", strip=True)
    assert "rests on the replicate test alone" in summary and "No panel." in summary
    assert "cannot be calibrated at all" in soup.select_one("#limits").get_text(" ", strip=True)
    outputs = "".join(
        o.get("text", "") if isinstance(o.get("text"), str) else "".join(o.get("text", ()))
        for cell in json.loads(executed.read_text())["cells"]
        for o in cell.get("outputs", ())
    )
    for suspect in case.suspects:
        assert f"{suspect} vs {case.reference}: {case.expected(suspect)}" in outputs
    assert " NO\n" not in outputs and "matches" in outputs
    # the command the report prints rebuilds the same verdicts from the evidence alone
    command = shlex.split(soup.select_one("#rebuild .command").get_text())
    out = tmp_path / "rebuilt.html"
    command[command.index("--out") + 1] = str(out)
    assert command[:2] == ["forensics", "report"] and main(command[1:]) == 0
    rebuilt = BeautifulSoup(out.read_text(encoding="utf-8"), "html.parser")
    assert [b.get_text(" ", strip=True) for b in rebuilt.select("#summary .verdict")] == [
        b.get_text(" ", strip=True) for b in soup.select("#summary .verdict")
    ]
