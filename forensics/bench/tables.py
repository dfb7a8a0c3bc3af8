"""Tables of the lineage benchmark for people: embedding ahead of a run, scored pairs, ROC, sample efficiency."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score, roc_curve

from forensics.bench.lineage import CorpusResult, subset_prompts
from forensics.corpus import load_benchmark_corpus, load_lineage
from forensics.features import Features, quiet_embedder
from forensics.verdict import fmt_num, fmt_p
from forensics.verdict.format import is_finite

BENCH_ROLES = ("reference", "distilled", "independent")  # the models the lineage benchmark scores


def benchmark_available(data_dir: Path | str) -> bool:
    """True when ``data_dir`` is a benchmark split (it holds ``lineage.json``)."""
    return (Path(data_dir) / "lineage.json").is_file()


def embed_benchmark(
    data_dir: Path | str,
    corpora: Sequence[str] | None = None,
    embedder=None,
    *,
    max_prompts: int | None = None,
    rng_seed: int = 20240601,
):
    """Embed every response the lineage benchmark will score (models with the roles ``reference``,
    ``distilled`` or ``independent`` in ``lineage.json``) into the on-disk embedding cache, so
    that :func:`forensics.bench.run_lineage_benchmark` afterwards only reads it (with the same
    ``corpora``, ``max_prompts`` and ``rng_seed``, the same prompts). Returns one row per corpus:
    prompts, models, responses, and how many texts went through the model now (0 with a warm cache)."""
    data_dir = Path(data_dir)
    lineage = load_lineage(data_dir)
    names = list(corpora) if corpora else sorted(n for n in lineage if (data_dir / n / "_prompts.jsonl").is_file())
    embedder = embedder if embedder is not None else quiet_embedder()
    rows = []
    for index, name in enumerate(names):
        corpus = subset_prompts(load_benchmark_corpus(data_dir / name), max_prompts, rng_seed, index)
        models = sorted(
            m for m, info in lineage.get(name, {}).items() if m in corpus.responses and info.get("role") in BENCH_ROLES
        )
        before = getattr(embedder, "n_encoded", 0)
        Features(corpus, embedder=embedder).precompute(models, sorted(corpus.prompts))
        rows.append(
            {
                "corpus": name,
                "prompts": len(corpus.prompts),
                "models": len(models),
                "responses": sum(len(corpus.responses[m]) for m in models),
                "embedded now": getattr(embedder, "n_encoded", 0) - before,
            }
        )
    return pd.DataFrame(rows, columns=["corpus", "prompts", "models", "responses", "embedded now"]).set_index("corpus")


def pair_table(results: Sequence[CorpusResult]):
    """Every scored (reference, suspect) pair of :func:`forensics.bench.run_lineage_benchmark`
    results on all prompts, with its kind, the engine's score and test, and its verdict, rounded."""
    rows = []
    for res in results:
        for p in res.pairs:
            v = p.verdict
            rows.append(
                {
                    "corpus": res.corpus,
                    "reference": p.reference,
                    "suspect": p.suspect,
                    "kind": p.kind,
                    "score": fmt_num(p.scores.get("engine"), 3),
                    "t": fmt_num(v.statistic if v is not None else None, 1),
                    "p": fmt_p(p.p_value),
                    "verdict": str(v.label) if v is not None else None,
                }
            )
    return pd.DataFrame(rows, columns=["corpus", "reference", "suspect", "kind", "score", "t", "p", "verdict"])


def roc_data(results: Sequence[CorpusResult], positive_kinds: Sequence[str] = ("positive",)) -> dict:
    """ROC curve of the engine's score per corpus (``sklearn.metrics.roc_curve``): positives are
    pairs whose kind is in ``positive_kinds`` (("positive", "family") gives the family ROC),
    negatives are the ``negative`` pairs. Corpora without both kinds are left out. Undefined
    scores rank below every defined one, as in :func:`forensics.bench.auc_score`."""
    out = {}
    for res in results:
        pairs = [p for p in res.pairs if p.kind in positive_kinds or p.kind == "negative"]
        y = np.array([p.kind in positive_kinds for p in pairs], dtype=int)
        if not pairs or y.sum() == 0 or y.sum() == len(y):
            continue
        s = np.array([p.scores["engine"] if is_finite(p.scores.get("engine")) else np.nan for p in pairs], dtype=float)
        finite = s[np.isfinite(s)]
        floor = (finite.min() - 1.0) if finite.size else 0.0
        s = np.where(np.isfinite(s), s, floor)
        fpr, tpr, thresholds = roc_curve(y, s)
        out[res.corpus] = {
            "fpr": fpr,
            "tpr": tpr,
            "thresholds": thresholds,
            "auc": float(roc_auc_score(y, s)),
            "n_pos": int(y.sum()),
            "n_neg": int(len(y) - y.sum()),
            "positive_kinds": tuple(positive_kinds),
        }
    return out


def sample_efficiency(results: Sequence[CorpusResult]):
    """The engine's benchmark figures by number of prompts (mean over seeds): one row per corpus and
    size, with the size as a number ('all' becomes the corpus's prompt count)."""
    rows = []
    for res in results:
        for size, m in res.by_prompts.get("engine", {}).items():
            rows.append(
                {
                    "corpus": res.corpus,
                    "prompts": res.n_prompts if size == "all" else int(size),
                    "size": size,
                    "runs": m.n_runs,
                    "AUC": m.auc,
                    "family AUC": m.family_auc,
                    "TPR": m.tpr,
                    "FPR": m.fpr,
                    "top-1 correct": m.correct,
                    "students": m.total,
                }
            )
    table = pd.DataFrame(
        rows,
        columns=["corpus", "prompts", "size", "runs", "AUC", "family AUC", "TPR", "FPR", "top-1 correct", "students"],
    )
    return table.sort_values(["corpus", "prompts"]).reset_index(drop=True)
