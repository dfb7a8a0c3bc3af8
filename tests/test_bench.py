"""The lineage benchmark harness: pairs and panels per the protocol, metrics, CLI, real-data smoke run."""

from __future__ import annotations

import argparse
import hashlib
import json

import numpy as np
import pytest

from forensics.bench import auc_score, format_results, lineage_pairs, run_lineage_benchmark
from forensics.bench.lineage import METHODS
from forensics.bench.peers import classifier_score, lexical_contrast, panel_z, raw_closeness
from forensics.cli.bench import add_bench_parser, run_bench
from forensics.verdict import AnalysisSettings

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
    assert "alpaca_eval" in printed and "engine AUC margin over each peer" in printed
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
    # expectations come from lineage.json itself: positives are students paired with their closest
    # reference, negatives are independents against every reference
    lineage = json.loads((shared_dev / "lineage.json").read_text())["alpaca_eval"]
    refs = {m for m, i in lineage.items() if i["role"] == "reference"}
    students = [m for m, i in lineage.items() if i["role"] == "distilled"]
    n_independent = sum(i["role"] == "independent" for i in lineage.values())
    n_pos = sum(lineage[s].get("closest_ref") in refs for s in students)
    assert r["corpus"] == "alpaca_eval" and r["n_pos"] == n_pos and r["n_neg"] == n_independent * len(refs)
    assert set(r["by_prompts"]) == {"15", "all"}
    for m in r["by_prompts"].values():
        assert {"auc", "family_auc", "tpr", "fpr", "attribution"} <= set(m)
    assert r["attribution"]["total"] == len(students) and 0 <= r["attribution"]["correct"] <= len(students)
    assert 0.0 <= r["auc"] <= 1.0 and 0.0 <= r["fpr"] <= 1.0
    # the method never sees roles: every scored pair has a panel without the suspect
    for row in r["pairs"]:
        assert row["suspect"] not in row["panel"] and row["reference"] not in row["panel"]
        assert set(row["peers"]) == {"raw", "panelz", "classifier", "lexcontrast"}
    assert set(r["methods"]) == {"engine", "raw", "panelz", "classifier", "lexcontrast"}
    # every student's engine row carries the one answer the report and the demo print
    assert all(d["answer"] and d["kind"] for d in r["attribution"]["details"])
    assert sum(r["answers"]["students"].values()) == len(students)


class BagEmbedder:
    """Test double: a text's vector is the normalised sum of fixed random vectors of its words."""

    def __init__(self, dim: int = 32):
        self.dim = dim
        self.n_encoded = 0
        self._words: dict[str, np.ndarray] = {}

    def _word(self, w: str) -> np.ndarray:
        if w not in self._words:
            seed = int(hashlib.sha256(w.encode()).hexdigest()[:8], 16)
            self._words[w] = np.random.default_rng(seed).standard_normal(self.dim)
        return self._words[w]

    def embed(self, texts):
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            words = (t or "").split()
            if words:
                v = np.sum([self._word(w) for w in words], axis=0)
                out[i] = v / np.linalg.norm(v)
                self.n_encoded += 1
        return out


def _write_benchmark(root, rng, n_prompts=60):
    """A made-up corpus named alpaca_eval: three references, a student copying ref_a's wording,
    four independents with their own habits. Every text is written here, none by a model."""
    corpus = root / "alpaca_eval"
    corpus.mkdir(parents=True)
    lineage = {
        "ref_a": {"role": "reference", "family": "a"},
        "ref_b": {"role": "reference", "family": "b"},
        "ref_c": {"role": "reference", "family": "c"},
        "student": {"role": "distilled", "teacher_family": "a", "closest_ref": "ref_a"},
        **{f"indep_{i}": {"role": "independent"} for i in range(4)},
    }
    (root / "lineage.json").write_text(json.dumps({"alpaca_eval": lineage}))
    habits = {m: [f"{m}w{j}" for j in range(30)] for m in lineage}
    prompts = [f"p{i:03d}" for i in range(n_prompts)]
    with open(corpus / "_prompts.jsonl", "w") as fh:
        for pid in prompts:
            fh.write(json.dumps({"prompt_id": pid, "prompt": f"question {pid}"}) + "\n")
    texts = {m: {} for m in lineage}
    for pid in prompts:
        topic = [f"{pid}t{j}" for j in range(12)]
        for m in lineage:
            if m == "student":
                continue
            texts[m][pid] = " ".join(list(rng.choice(topic, 8)) + list(rng.choice(habits[m], 8)))
        teacher = texts["ref_a"][pid].split()
        texts["student"][pid] = " ".join(list(rng.choice(teacher, 12)) + list(rng.choice(habits["student"], 4)))
    for m, by in texts.items():
        with open(corpus / f"{m}.jsonl", "w") as fh:
            for pid, text in by.items():
                fh.write(json.dumps({"prompt_id": pid, "prompt": f"question {pid}", "response": text}) + "\n")
    return root


def test_every_method_is_scored_on_the_same_pairs_and_the_stress_runs_are_reported(tmp_path, rng):
    data = _write_benchmark(tmp_path / "bench", rng)
    results = run_lineage_benchmark(
        data,
        prompts=(20, "all"),
        seeds=2,
        settings=AnalysisSettings(n_resamples=199),
        embedder=BagEmbedder(),
        progress=False,
        stress=True,
        workers=1,
    )
    labels = [r.label for r in results]
    assert labels[0] == "alpaca_eval" and len(results) == 3
    assert "prompts" in labels[1] and "weak panel" in labels[2]
    main = results[0]
    assert set(main.methods) == set(METHODS) and set(main.by_prompts) == set(METHODS)
    pos = [p for p in main.pairs if p.kind == "positive"]
    neg = [p for p in main.pairs if p.kind == "negative"]
    assert len(pos) == main.n_pos == 1 and len(neg) == main.n_neg == 12
    for name, m in main.methods.items():
        assert m.total == 1
        # the AUC is that of the per-pair scores, recomputed here
        assert m.auc == auc_score([p.scores[name] for p in pos], [p.scores[name] for p in neg])
    engine = main.methods["engine"]
    assert engine.auc == 1.0 and engine.n_true_positives == 1
    assert engine.details[0].top == "ref_a" and engine.details[0].answer
    assert "not fitted on" not in main.learned and "shipped parameters" in main.learned  # never refitted here
    assert {"embedding", "closeness", "analysis", "peers"} <= set(main.timing)
    weak = results[2]
    for row in weak.pairs:
        independents = [m for m in row.panel if m.startswith("indep_")]
        assert len(independents) == (1 if row.suspect.startswith("indep_") and row.suspect in weak.label else 2)
    text = format_results(results)
    assert "engine AUC margin over each peer" in text and "weak panel" in text and "time: embedding" in text
    d = main.to_dict()  # the --json shape readers rely on
    for key in ("pairs", "methods", "attribution", "n_pos", "n_neg", "n_true_positives", "n_false_positives"):
        assert key in d
    assert {"student", "teacher_family", "top", "top_family", "correct"} <= set(d["attribution"]["details"][0])


def test_unknown_method_is_refused(tmp_path, rng):
    data = _write_benchmark(tmp_path / "bench", rng, n_prompts=10)
    with pytest.raises(ValueError, match="unknown method"):
        run_lineage_benchmark(data, methods=["engine", "magic"], embedder=BagEmbedder(), progress=False)


def test_peers_on_made_up_embeddings(tmp_path, rng):
    from forensics.corpus import load_benchmark_corpus
    from forensics.features import Features
    from forensics.signals import ClosenessStore

    data = _write_benchmark(tmp_path / "bench", rng)
    corpus = load_benchmark_corpus(data / "alpaca_eval")
    features = Features(corpus, embedder=BagEmbedder())
    store = ClosenessStore(corpus, features)
    pids = sorted(corpus.prompts)
    panel = ["indep_0", "indep_1", "indep_2", "ref_b"]
    a = features.embeddings("ref_a", pids)
    b = features.embeddings("student", pids)
    assert raw_closeness(store, "ref_a", "student", pids) == pytest.approx(float(np.mean(np.sum(a * b, axis=1))))
    assert panel_z(store, "ref_a", "student", panel, pids) > 3
    assert panel_z(store, "ref_a", "indep_3", panel, pids) < 3
    copy_score = classifier_score(store, "ref_a", "student", panel, pids, rng=np.random.default_rng(0))
    other_score = classifier_score(store, "ref_a", "indep_3", panel, pids, rng=np.random.default_rng(0))
    assert copy_score > 0.5 > other_score
    # the lexical contrast: closeness to R minus closeness to the other families' references
    others = ["ref_b", "ref_c"]
    assert lexical_contrast(store, "ref_a", "student", others, pids) > lexical_contrast(
        store, "ref_a", "indep_3", others, pids
    )
