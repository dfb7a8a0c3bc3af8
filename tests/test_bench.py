"""The lineage benchmark harness: pairs and panels per the protocol, metrics, CLI, real-data smoke run."""

from __future__ import annotations

import argparse
import json

import pytest

from forensics.bench import auc_score, lineage_pairs
from forensics.cli.bench import add_bench_parser, run_bench

LINEAGE = {  # a made-up lineage in the shared layout
    "ref_a1": {"role": "reference", "family": "a"},
    "ref_a2": {"role": "reference", "family": "a"},
    "ref_b": {"role": "reference", "family": "b"},
    "student_a": {"role": "distilled", "closest_ref": "ref_a1", "teacher_family": "a"},
    "student_b": {"role": "distilled", "closest_ref": "ref_b", "teacher_family": "b"},
    "indep_1": {"role": "independent"},
    "indep_2": {"role": "independent"},
    "mystery": {"role": "unknown"},
    "variant": {"role": "same-model", "parent": "indep_1"},
}


def test_pairs_and_panels_follow_the_protocol():
    spec = lineage_pairs(LINEAGE)
    kinds = {(r, s): k for r, s, k in spec["pairs"]}
    assert kinds[("ref_a1", "student_a")] == "positive"
    assert kinds[("ref_a2", "student_a")] == "family"
    assert kinds[("ref_b", "student_a")] == "other"
    assert kinds[("ref_b", "student_b")] == "positive"
    assert sum(k == "positive" for k in kinds.values()) == 2
    assert sum(k == "negative" for k in kinds.values()) == 6  # 2 independents x 3 references
    assert not any("mystery" in p or "variant" in p for p in kinds)  # unknown / same-model never scored
    # panel: independents other than S, plus references of other families than R's
    assert spec["panels"][("ref_a1", "student_a")] == ["indep_1", "indep_2", "ref_b"]
    assert spec["panels"][("ref_b", "indep_1")] == ["indep_2", "ref_a1", "ref_a2"]
    for (r, s), panel in spec["panels"].items():
        assert s not in panel and r not in panel
        assert all(LINEAGE[m]["role"] in ("independent", "reference") for m in panel)
    assert spec["students"] == {"student_a": "a", "student_b": "b"}


def test_auc_score():
    assert auc_score([3, 4], [1, 2]) == 1.0
    assert auc_score([1], [1]) == 0.5
    assert auc_score([1, 3], [2]) == 0.5
    assert auc_score([], [1]) is None
    assert auc_score([float("nan")], [0.0]) == 0.0


def test_cli_parser():
    parser = argparse.ArgumentParser(prog="forensics")
    add_bench_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        [
            "bench",
            "lineage",
            "--data",
            "DIR",
            "--corpus",
            "x",
            "--prompts",
            "25,all",
            "--seeds",
            "2",
            "--json",
            "out.json",
        ]
    )
    assert args.data == "DIR" and args.corpus == ["x"] and args.prompts == "25,all" and args.seeds == 2
    assert args.func is run_bench


def test_missing_data_is_a_clean_error(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    add_bench_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["bench", "lineage", "--data", str(tmp_path)])
    assert run_bench(args) == 2
    assert "error" in capsys.readouterr().err


@pytest.mark.shared
def test_smoke_run_on_real_alpaca_eval(shared_dev, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FORENSICS_CACHE_DIR", str(tmp_path / "cache"))
    parser = argparse.ArgumentParser()
    add_bench_parser(parser.add_subparsers(dest="command"))
    out = tmp_path / "bench.json"
    args = parser.parse_args(
        [
            "bench",
            "lineage",
            "--data",
            str(shared_dev),
            "--corpus",
            "alpaca_eval",
            "--max-prompts",
            "30",
            "--prompts",
            "15,all",
            "--seeds",
            "1",
            "--resamples",
            "199",
            "--json",
            str(out),
        ]
    )
    assert run_bench(args) == 0
    printed = capsys.readouterr().out
    assert "alpaca_eval" in printed and "primary AUC" in printed and "attribution" in printed
    results = json.loads(out.read_text())
    assert len(results) == 1
    r = results[0]
    for key in (
        "corpus",
        "n_pos",
        "n_neg",
        "auc",
        "family_auc",
        "tpr",
        "fpr",
        "threshold",
        "attribution",
        "by_prompts",
    ):
        assert key in r
    assert r["corpus"] == "alpaca_eval" and r["n_pos"] == 5 and r["n_neg"] == 18
    assert set(r["by_prompts"]) == {"15", "all"}
    for m in r["by_prompts"].values():
        assert {"auc", "family_auc", "tpr", "fpr", "attribution"} <= set(m)
    assert r["attribution"]["total"] == 5 and 0 <= r["attribution"]["correct"] <= 5
    assert 0.0 <= r["auc"] <= 1.0 and 0.0 <= r["fpr"] <= 1.0
    # the method never sees roles: every scored pair has a panel without the suspect
    for row in r["pairs"]:
        assert row["suspect"] not in row["panel"] and row["reference"] not in row["panel"]
