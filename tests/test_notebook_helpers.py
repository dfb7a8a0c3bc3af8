"""The notebooks' computations and figures (at their pipeline stages), on small corpora written here
and on the embedded demo case's committed evidence (no model is run, no embedding model loaded)."""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from forensics.bench import (
    CorpusResult,
    MethodResult,
    PairResult,
    benchmark_available,
    embed_benchmark,
    pair_table,
    roc_data,
    sample_efficiency,
)
from forensics.corpus import Corpus, Response, load_evidence
from forensics.evidence import EvidenceError
from forensics.features import (
    Features,
    answer_table,
    error_consistency,
    phrase_overlap_summary,
    refusal_agreement,
    refusal_matrix,
    refusal_phrase_table,
    shared_errors,
)
from forensics.notebook import (
    DEMO_CASE_DIR,
    Case,
    collect_subjects,
    expectation_table,
    load_case,
    notebook_setup,
    open_investigation,
    repo_root,
    resolve_path,
    verify_table,
)
from forensics.probes import AnswerKey
from forensics.report import (
    plot_closeness,
    plot_error_consistency,
    plot_refusal_agreement,
    plot_refusal_matrix,
    plot_roc,
    plot_sample_efficiency,
    verdict_figure,
)
from forensics.signals import ClosenessStore, closeness_summary, raw_cosines
from forensics.verdict import (
    NO_EVIDENCE,
    AnalysisSettings,
    analyse,
    caveats,
    findings_table,
    fmt_num,
    fmt_p,
    replicate_line,
    verdict_line,
)

REF, SUS, PANEL = "ref", "sus", ["p1", "p2", "p3"]


class HashEmbedder:
    """Deterministic bag-of-words vectors: texts sharing words get a high cosine. Test data only."""

    dim = 64
    n_encoded = 0

    def embed(self, texts):
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in (t or "").lower().split():
                out[i, int(hashlib.sha256(w.encode()).hexdigest(), 16) % self.dim] += 1.0
            n = np.linalg.norm(out[i])
            if n:
                out[i] /= n
        return out


def _corpus() -> Corpus:
    """ref and sus refuse the same prompts with the same phrase and share wrong answers; the panel
    members refuse differently and err differently. Hand-written test data."""
    c = Corpus("deep-dive-test")
    refusals = {"r1": "How do I pick a lock?", "r2": "Write malware.", "r3": "Insult my neighbour."}
    for pid, prompt in refusals.items():
        for m in [REF, SUS]:
            c.add(
                Response(m, pid, "I'm sorry, but I can't help with that request."),
                prompt=prompt,
                meta={"family": "refusal"},
            )
        c.add(
            Response("p1", pid, "Sure, here is a general outline: step one, step two."),
            prompt=prompt,
            meta={"family": "refusal"},
        )
        c.add(
            Response("p2", pid, "I cannot assist with this because it is against my guidelines."),
            prompt=prompt,
            meta={"family": "refusal"},
        )
        c.add(Response("p3", pid, "Here are some thoughts on that topic."), prompt=prompt, meta={"family": "refusal"})
    # answer-keyed traps: the key is 3; ref and sus both say 2 on t1/t2, panel mostly right
    traps = {
        "t1": ("How many r in strawberry?", {REF: "2", SUS: "2", "p1": "3", "p2": "3", "p3": "2"}),
        "t2": (
            "How many t in committee?",
            {REF: "The answer is 4.", SUS: "The answer is 4.", "p1": "3", "p2": "5", "p3": "3"},
        ),
        "t3": ("How many sides has a triangle?", {REF: "3", SUS: "3", "p1": "3", "p2": "3", "p3": "4"}),
    }
    for pid, (prompt, answers) in traps.items():
        for m, text in answers.items():
            c.add(Response(m, pid, text), prompt=prompt, meta={"family": "error_trap", "answer": AnswerKey(number=3)})
    # ordinary prompts
    for k in range(6):
        pid = f"s{k}"
        c.add(
            Response(REF, pid, f"Certainly! Topic {k} is about tides and moons."),
            prompt=f"Explain {k}",
            meta={"family": "style"},
        )
        c.add(Response(SUS, pid, f"Certainly! Topic {k} is about tides and moons."), prompt=f"Explain {k}")
        c.add(Response("p1", pid, f"Facts about {k}: rivers flow downhill."), prompt=f"Explain {k}")
        c.add(Response("p2", pid, f"Good question about {k}, glaciers melt slowly."), prompt=f"Explain {k}")
        c.add(Response("p3", pid, "" if k == 0 else f"Let me explain {k}: owls hunt at night."), prompt=f"Explain {k}")
    return c


@pytest.fixture
def corpus():
    return _corpus()


@pytest.fixture
def features(corpus):
    return Features(corpus, embedder=HashEmbedder())


# --- plumbing ------------------------------------------------------------------------------------


def test_resolve_path_is_relative_to_the_checkout(tmp_path):
    root = repo_root()
    assert root is not None and (root / "pyproject.toml").is_file()
    assert resolve_path("out/demo") == root / "out" / "demo"
    assert resolve_path("../shared/benchmarks/dev") == root.parent / "shared" / "benchmarks" / "dev"
    assert resolve_path(tmp_path) == tmp_path
    assert resolve_path("x", base=tmp_path) == tmp_path / "x"


def test_notebook_setup_is_offline_quiet_and_keeps_a_given_cache(monkeypatch, tmp_path):
    for name in (
        "FORENSICS_CACHE_DIR",
        "HF_HUB_OFFLINE",
        "TRANSFORMERS_OFFLINE",
        "HF_DATASETS_OFFLINE",
        "TOKENIZERS_PARALLELISM",
        "TQDM_DISABLE",
        "HF_HUB_DISABLE_PROGRESS_BARS",
        "TRANSFORMERS_VERBOSITY",
    ):
        monkeypatch.delenv(name, raising=False)  # restored after the test
    info = notebook_setup(cache_dir=tmp_path / "cache")
    import os

    assert os.environ["HF_HUB_OFFLINE"] == "1" and os.environ["TQDM_DISABLE"] == "1"
    assert info["cache_dir"] == str(tmp_path / "cache") == os.environ["FORENSICS_CACHE_DIR"]
    monkeypatch.delenv("FORENSICS_CACHE_DIR")
    info = notebook_setup()
    assert info["cache_dir"] == str(repo_root() / ".cache" / "forensics")
    monkeypatch.setenv("FORENSICS_CACHE_DIR", str(tmp_path / "mine"))
    assert notebook_setup()["cache_dir"] == str(tmp_path / "mine")  # an explicit choice is kept


# --- the demo case ------------------------------------------------------------------------------


def test_demo_case_panels_exclude_the_reference_the_suspect_and_known_copies():
    case = load_case()
    assert case.reference == "reference-smollm2"
    assert case.suspects == ["suspect-nova", "suspect-gemma"]
    assert all(p.is_file() for p in case.logs)
    assert case.replicates == ["reference-smollm2-resample"]
    assert case.panel_for("suspect-nova") == ["suspect-gemma"]  # the replicate is R, never a control
    assert case.panel_for("suspect-gemma") == []  # nova is a copy of R by construction
    assert case.expected("suspect-nova") == "same model or direct derivative"
    table = case.decoding_table()
    assert list(table.index) == case.labels and table.loc["suspect-nova", "system prompt"] == "yes"
    with pytest.raises(KeyError, match="no subject"):
        case.expected("nobody")


def test_load_case_names_a_folder_without_case_json(tmp_path):
    with pytest.raises(FileNotFoundError, match="case.json"):
        load_case(tmp_path)


def test_verify_table_passes_the_committed_logs_and_refuses_an_altered_one(tmp_path):
    case = load_case()
    table = verify_table(case.logs)
    assert list(table.index) == [p.name for p in case.logs] and set(table["verified"]) == {"OK"}
    assert all(len(h) == 16 for h in table["head"])
    bad = tmp_path / "bad.jsonl"
    lines = case.logs[0].read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3].replace('"text":"', '"text":"EDITED ', 1)
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(EvidenceError, match="bad.jsonl"):
        verify_table([bad])
    with pytest.raises(FileNotFoundError):
        verify_table([tmp_path / "empty-folder-does-not-exist"])


def test_collect_subjects_records_replayed_responses_and_refuses_the_demo_case(tmp_path):
    case = load_case()
    log = case.directory / "suspect-gemma.jsonl"
    model = json.loads(log.read_text(encoding="utf-8").splitlines()[1])["model"]
    src = tmp_path / "source.jsonl"
    shutil.copy(log, src)
    specs = {"gemma-replayed": f"replay:{model}@{src}"}
    table = collect_subjects(specs, tmp_path / "evidence", families=["error_trap"], per_family=3)
    assert table.loc["gemma-replayed", "new"] == 3 and table.loc["gemma-replayed", "failed"] == 0
    again = collect_subjects(specs, tmp_path / "evidence", families=["error_trap"], per_family=3)
    assert again.loc["gemma-replayed", "new"] == 0 and again.loc["gemma-replayed", "already recorded"] == 3
    corpus = load_evidence([tmp_path / "evidence"])
    assert corpus.models == ["gemma-replayed"] and len(corpus.prompts) == 3
    with pytest.raises(ValueError, match="read-only"):
        collect_subjects(specs, DEMO_CASE_DIR)
    with pytest.raises(ValueError, match="model_specs"):
        collect_subjects({}, tmp_path / "x")


# --- verdict presentation ---------------------------------------------------------------------------


def test_formatting_is_coarse_and_handles_missing_values():
    assert fmt_p(0.0004) == "<0.001" and fmt_p(0.0042) == "0.004" and fmt_p(0.2345) == "0.23"
    assert fmt_p(None) == fmt_p(float("nan")) == "n/a"
    assert fmt_num(1.26) == "1.3" and fmt_num(-0.04) == "0.0" and fmt_num(float("inf")) == "+inf"
    assert fmt_num(None) == fmt_num(float("nan")) == "n/a" and fmt_num(0.123, 2) == "0.12"


def test_verdict_tables_and_caveats_with_a_calibrated_panel(corpus, features):
    v = analyse(
        corpus,
        REF,
        SUS,
        PANEL,
        rng=np.random.default_rng(0),
        settings=AnalysisSettings(n_resamples=199),
        store=ClosenessStore(corpus, features),
    )
    line = verdict_line(v)
    assert line.startswith(f"{SUS} vs {REF}: {v.label} (strength: {v.strength})")
    assert f"{v.n_prompts} prompts" in line and "panel of 3 (3 independent models)" in line
    table = findings_table(v)
    assert list(table.index) == [f.signal for f in v.findings]
    assert set(table.columns) >= {"effect (panel SD)", "95% CI", "p", "supports", "weight", "note"}
    assert not any("thin" in n or "same-model" in n for n in caveats(v))  # 3 units: calibrated, check ran
    assert any("thin (3 independent models)" in n for n in caveats(v, small_panel=4))
    case = Case("t", Path("."), REF, [{"label": SUS, "role": "suspect", "expected_verdict": v.label}])
    assert expectation_table([v], case).loc[SUS, "matches"] == "yes"


def test_caveats_say_why_a_one_member_panel_cannot_calibrate(corpus, features):
    v = analyse(
        corpus,
        REF,
        SUS,
        ["p1"],
        rng=np.random.default_rng(0),
        settings=AnalysisSettings(n_resamples=99),
        store=ClosenessStore(corpus, features),
    )
    assert v.label == NO_EVIDENCE
    notes = caveats(v)
    assert any("at least 2 are needed" in n for n in notes)
    assert any("same-model check" in n for n in notes)
    assert "panel of 1 (1 independent model)" in verdict_line(v)
    assert set(findings_table(v)["p"]) == {"n/a"}
    case = Case(
        "t", Path("."), REF, [{"label": SUS, "role": "suspect", "expected_verdict": "same model or direct derivative"}]
    )
    assert expectation_table([v], case).loc[SUS, "matches"] == "NO"


# --- descriptive closeness ---------------------------------------------------------------------


def test_closeness_summary_ranks_the_copy_first(corpus, features):
    cos = raw_cosines(corpus, REF, [SUS, *PANEL], features)
    assert cos.shape == (4, len(corpus.common_prompts([REF])))
    assert np.isnan(cos.loc["p3", "s0"])  # empty response: undefined, not 0
    summary = closeness_summary(corpus, REF, [SUS, *PANEL], features)
    assert summary.loc[SUS, "share verbatim"] == 1.0 and summary.loc[SUS, "mean cosine"] == pytest.approx(1.0)
    assert summary["mean cosine"].idxmax() == SUS
    assert summary.loc["p3", "prompts"] == len(corpus.prompts) - 1
    assert isinstance(plot_closeness(cos, REF, highlight=SUS), Figure)
    store = ClosenessStore(corpus, features)  # what an investigation holds; no features given: read from it
    pd.testing.assert_frame_equal(raw_cosines(corpus, REF, [SUS, *PANEL], store=store), cos, check_exact=True)
    pd.testing.assert_frame_equal(closeness_summary(corpus, REF, [SUS, *PANEL], store=store), summary, check_exact=True)
    with pytest.raises(ValueError, match="reference"):
        raw_cosines(corpus, REF, [SUS, REF], store=store)


# --- refusals ------------------------------------------------------------------------------------


def test_refusal_matrix_agreement_and_phrases(corpus, features):
    m = refusal_matrix(corpus, [REF, SUS, *PANEL], features)
    frame = m.to_frame()
    assert frame.loc[REF, "r1"] == 1.0 and frame.loc["p1", "r1"] == 0.0 and frame.loc["p2", "r1"] == 1.0
    assert np.isnan(frame.loc["p3", "s0"])  # no response
    assert m.rates().loc[SUS, "refusals"] == 3
    only = refusal_matrix(corpus, [REF, SUS, *PANEL], features, only_refused=True)
    assert set(only.prompt_ids) == {"r1", "r2", "r3"} and set(only.families) == {"refusal"}
    fam = refusal_matrix(corpus, [REF, SUS], features, families=["error_trap"])
    assert fam.prompt_ids == ["t1", "t2", "t3"]

    jac = refusal_agreement(m)
    assert jac.loc[REF, SUS] == 1.0 and jac.loc[REF, "p2"] == 1.0 and np.isnan(jac.loc["p1", "p3"])
    assert jac.loc[REF, "p1"] == 0.0
    agree = refusal_agreement(m, kind="agreement")
    assert agree.loc[REF, SUS] == 1.0 and agree.loc[REF, "p1"] < 1.0
    with pytest.raises(ValueError):
        refusal_agreement(m, kind="kappa")

    phrases = refusal_phrase_table(m, REF)
    sus_rows = phrases[phrases["model"] == SUS]
    assert len(sus_rows) == 3 and sus_rows["identical"].all() and (sus_rows["overlap"] == 1.0).all()
    p2_rows = phrases[phrases["model"] == "p2"]
    assert len(p2_rows) == 3 and (p2_rows["overlap"] < 1.0).all()
    summary = phrase_overlap_summary(m, REF)
    assert summary.loc[SUS, "also refused"] == 3 and summary.loc[SUS, "identical phrases"] == 3
    assert summary.loc["p1", "also refused"] == 0 and math.isnan(summary.loc["p1", "mean phrase overlap"])
    assert isinstance(plot_refusal_matrix(only, highlight=[SUS]), Figure)
    assert isinstance(plot_refusal_agreement(jac), Figure)
    empty = refusal_matrix(corpus, [REF], features, families=["style"], only_refused=True)
    assert empty.prompt_ids == [] and isinstance(plot_refusal_matrix(empty), Figure)


# --- errors ---------------------------------------------------------------------------------------


def test_shared_wrong_answers_and_error_consistency(corpus, features):
    answers = answer_table(corpus, [REF, SUS, *PANEL], features)
    assert set(answers["prompt_id"]) == {"t1", "t2", "t3"} and set(answers["key"]) == {"3"}
    ref = answers[answers["model"] == REF].set_index("prompt_id")
    assert ref.loc["t1", "answer"] == "2" and not ref.loc["t1", "correct"] and ref.loc["t3", "correct"]
    shared = shared_errors(answers, REF, SUS, PANEL)
    assert list(shared.index) == ["t1", "t2"]
    assert shared.loc["t1", "panel with same answer"] == "p3" and shared.loc["t2", "panel with same answer"] == "none"
    assert shared.loc["t1", "panel answered"] == 3
    assert shared_errors(answers, REF, "p1", PANEL).empty

    ec = error_consistency(answers, REF, [REF, SUS, *PANEL])
    assert list(ec.index) == [SUS, *PANEL]
    assert ec.loc[SUS, "same wrong"] == 2 and ec.loc[SUS, "same-wrong rate"] == 1.0
    assert ec.loc[SUS, "error kappa"] == 1.0
    assert ec.loc["p1", "same wrong"] == 0 and ec.loc["p1", "accuracy"] == 1.0
    assert ec.loc["p3", "same wrong"] == 1 and ec.loc["p3", "same-wrong rate"] == 0.5
    assert isinstance(plot_error_consistency(ec, REF, highlight=SUS), Figure)
    empty = answer_table(corpus, [REF], features, prompt_ids=["s1", "s2"])
    assert empty.empty and shared_errors(empty, REF, SUS, PANEL).empty
    assert error_consistency(empty, REF, [REF, SUS]).loc[SUS, "keyed prompts"] == 0


# --- benchmark ------------------------------------------------------------------------------------


def _bench_results():
    """Made-up benchmark results (no model, no data): six scored pairs of a toy corpus and a corpus
    without positives, in the shapes :func:`forensics.bench.run_lineage_benchmark` returns."""
    rows = [
        ("A", "s1", "positive", 5.0, 0.001),
        ("B", "s1", "family", 2.0, 0.04),
        ("A", "s2", "positive", 0.5, 0.3),
        ("A", "n1", "negative", 1.0, 0.2),
        ("B", "n1", "negative", float("nan"), float("nan")),
        ("B", "s2", "other", 9.0, 0.001),
    ]
    pairs = [PairResult(r, s, kind, (), {"engine": score}, {"engine": p < 0.05}, p) for r, s, kind, score, p in rows]

    def method(auc, family_auc, correct, n_runs):
        return MethodResult(auc, family_auc, 0.5, 0.0, 1.0, 0.0, 0.0, correct, correct, 2, (), n_runs)

    def corpus(name, n_prompts, pairs, by_prompts):
        return CorpusResult(
            name, None, n_prompts, 2, 2, 3, 0.05, {}, {"engine": by_prompts} if by_prompts else {}, {}, pairs
        )

    by = {25: method(0.6, 0.7, 1.5, 2), "all": method(0.75, 0.83, 2, 1)}
    return [corpus("toy", 120, pairs, by), corpus("no-positives", 10, pairs[3:5], {})]


def test_roc_matches_the_pairwise_auc_and_skips_one_sided_corpora():
    from forensics.bench import auc_score

    results = _bench_results()
    roc = roc_data(results)
    assert list(roc) == ["toy"]
    d = roc["toy"]
    assert (d["n_pos"], d["n_neg"]) == (2, 2)
    assert d["auc"] == pytest.approx(auc_score([5.0, 0.5], [1.0, float("nan")]))  # 0.75
    assert d["fpr"][0] == 0.0 and d["tpr"][-1] == 1.0
    fam = roc_data(results, positive_kinds=("positive", "family"))
    assert fam["toy"]["n_pos"] == 3
    assert isinstance(plot_roc(roc, family=fam), Figure) and isinstance(plot_roc({}), Figure)


def test_sample_efficiency_and_pair_tables():
    results = _bench_results()
    table = sample_efficiency(results)
    assert list(table["prompts"]) == [25, 120] and list(table["AUC"]) == [0.6, 0.75]
    assert isinstance(plot_sample_efficiency(table), Figure)
    pairs = pair_table(results)
    assert len(pairs) == 8 and pairs.loc[4, "score"] == "n/a" and pairs.loc[0, "p"] == "0.001"
    assert pairs.loc[0, "score"] == "5.000" and pairs.loc[0, "t"] == "n/a"  # no verdict kept: no t


def test_benchmark_available(tmp_path):
    assert not benchmark_available(tmp_path)
    (tmp_path / "lineage.json").write_text("{}", encoding="utf-8")
    assert benchmark_available(tmp_path)


# --- investigations -------------------------------------------------------------------------------


def test_open_investigation_defaults_to_the_demo_case_and_checks_labels(tmp_path):
    inv = open_investigation(embedder=HashEmbedder())
    assert (inv.reference, inv.suspect, inv.panel) == ("reference-smollm2", "suspect-nova", ["suspect-gemma"])
    assert inv.models == ["reference-smollm2", "suspect-nova", "suspect-gemma"]
    assert inv.replicates == ["reference-smollm2-resample"]
    per_family = json.loads((DEMO_CASE_DIR / "case.json").read_text())["per_family"]
    assert len(inv.corpus.prompts) == 6 * per_family and "panel of 1" in inv.describe()
    gemma = open_investigation(suspect="suspect-gemma", embedder=HashEmbedder())
    assert gemma.panel == [] and "replicates of the reference: reference-smollm2-resample" in gemma.describe()
    # evidence given without a case: every other label is the panel, unless named a replicate
    inv2 = open_investigation(
        evidence=[DEMO_CASE_DIR], reference="reference-smollm2", suspect="suspect-gemma", embedder=HashEmbedder()
    )
    assert inv2.panel == ["reference-smollm2-resample", "suspect-nova"] and inv2.case is None
    assert inv2.replicates == []
    inv3 = open_investigation(
        evidence=[DEMO_CASE_DIR],
        reference="reference-smollm2",
        suspect="suspect-gemma",
        replicates=["reference-smollm2-resample"],
        embedder=HashEmbedder(),
    )
    assert inv3.panel == ["suspect-nova"]
    with pytest.raises(ValueError, match="unknown replicate label 'nobody'"):
        open_investigation(replicates=["nobody"], embedder=HashEmbedder())
    with pytest.raises(ValueError, match="name the reference"):
        open_investigation(evidence=[DEMO_CASE_DIR], embedder=HashEmbedder())
    with pytest.raises(ValueError, match="unknown panel label 'nobody'"):
        open_investigation(panel=["nobody"], embedder=HashEmbedder())
    bad = tmp_path / "case"
    shutil.copytree(DEMO_CASE_DIR, bad)
    log = bad / "suspect-nova.jsonl"
    log.write_text(log.read_text(encoding="utf-8").replace("Orion Labs", "Orion Lab", 1), encoding="utf-8")
    with pytest.raises(EvidenceError, match="suspect-nova.jsonl"):
        open_investigation(case_dir=bad, embedder=HashEmbedder())


def test_an_investigation_shares_one_closeness_store_with_its_features():
    inv = open_investigation(embedder=HashEmbedder())
    assert inv.store.corpus is inv.corpus and inv.store.features is inv.features
    assert inv.store.models == sorted(inv.corpus.models)  # every model: values that do not depend on roles
    scores = inv.store.scores("refusal", inv.reference, [inv.suspect, *inv.panel], inv.store.prompt_ids)
    assert scores.models == [inv.suspect, *inv.panel] and "reference_refusals" in scores.info
    v = analyse(
        inv.corpus,
        inv.reference,
        inv.suspect,
        inv.panel,
        rng=np.random.default_rng(0),
        settings=AnalysisSettings(n_resamples=99),
        replicates=inv.replicates,
        store=inv.store,
    )
    assert v.replicate is not None and v.units == inv.panel


def test_verdict_figure_draws_the_test_or_says_why_not(corpus, features):
    ok = analyse(
        corpus,
        REF,
        SUS,
        PANEL,
        rng=np.random.default_rng(0),
        settings=AnalysisSettings(n_resamples=99),
        store=ClosenessStore(corpus, features),
    )
    thin = analyse(
        corpus,
        REF,
        SUS,
        ["p1"],
        rng=np.random.default_rng(0),
        settings=AnalysisSettings(n_resamples=99),
        store=ClosenessStore(corpus, features),
    )
    assert isinstance(verdict_figure(ok), Figure)
    fig = verdict_figure(thin)
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert any("fewer than two" in t for t in texts)


def _replicate_corpus(n=30) -> Corpus:
    """R, R sampled again (one word changed), a renamed copy (another word changed) and one control
    that talks about something else. Hand-written test data."""
    c = Corpus("replicate-test")
    for k in range(n):
        base = f"topic {k} tides follow the moon and the sun every day"
        texts = {
            REF: base,
            "ref-again": base.replace("every day", "each day"),
            SUS: base.replace("tides", "the tides"),
            "p1": f"topic {k} owls hunt mice at night in barns",
        }
        for m, text in texts.items():
            c.add(Response(m, f"q{k:02d}", text), prompt=f"Explain {k}")
    return c


def test_replicate_line_and_figure_for_a_copy_with_one_control():
    corpus = _replicate_corpus()
    features = Features(corpus, embedder=HashEmbedder())
    v = analyse(
        corpus,
        REF,
        SUS,
        ["p1"],
        rng=np.random.default_rng(0),
        settings=AnalysisSettings(n_resamples=199),
        store=ClosenessStore(corpus, features),
        replicates=["ref-again"],
    )
    assert v.label == "same model or direct derivative" and v.basis == "replicate"
    line = verdict_line(v)
    assert "replicate test p" in line and "relative closeness" in line and "panel of 1" in line
    assert "relative closeness" in replicate_line(v) and "30 prompts" in replicate_line(v)
    assert not any("same-model check" in n for n in caveats(v))
    assert any("replicate test alone" in n for n in caveats(v))
    fig = verdict_figure(v)
    assert [ax.get_title(loc="left") for ax in fig.axes][1].startswith("replicate test: p = ")
    alone = analyse(
        corpus,
        REF,
        SUS,
        [],
        rng=np.random.default_rng(0),
        settings=AnalysisSettings(n_resamples=99),
        store=ClosenessStore(corpus, features),
        replicates=["ref-again"],
    )
    assert alone.label == NO_EVIDENCE and "test undefined: no control model" in replicate_line(alone)
    plain = analyse(
        corpus,
        REF,
        SUS,
        ["p1"],
        rng=np.random.default_rng(0),
        settings=AnalysisSettings(n_resamples=99),
        store=ClosenessStore(corpus, features),
    )
    assert "no replicate" in replicate_line(plain)


def test_embed_benchmark_fills_the_cache_for_the_scored_models(tmp_path):
    data = tmp_path / "dev"
    (data / "toy").mkdir(parents=True)
    (data / "lineage.json").write_text(
        json.dumps(
            {
                "toy": {
                    "R": {"role": "reference", "family": "f"},
                    "S": {"role": "distilled", "teacher_family": "f"},
                    "I": {"role": "independent"},
                    "U": {"role": "unknown"},
                }
            }
        ),
        encoding="utf-8",
    )
    (data / "toy" / "_prompts.jsonl").write_text(
        "".join(json.dumps({"prompt_id": f"q{i}", "prompt": f"question {i}"}) + "\n" for i in range(3)),
        encoding="utf-8",
    )
    for m in "RSIU":
        (data / "toy" / f"{m}.jsonl").write_text(
            "".join(json.dumps({"prompt_id": f"q{i}", "response": f"answer {m} {i}"}) + "\n" for i in range(3)),
            encoding="utf-8",
        )

    class Counting(HashEmbedder):
        def __init__(self):
            self.n_encoded, self.seen = 0, []

        def embed(self, texts):
            self.n_encoded += len(texts)
            self.seen += list(texts)
            return super().embed(texts)

    emb = Counting()
    table = embed_benchmark(data, embedder=emb)
    assert table.loc["toy", "models"] == 3 and table.loc["toy", "responses"] == 9
    assert table.loc["toy", "embedded now"] == 9 and not any(" U " in t for t in emb.seen)
