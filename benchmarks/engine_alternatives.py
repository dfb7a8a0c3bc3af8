"""Engine variants tried for v3 and not kept, measured on the benchmark's own pairs and panels.

    .venv/bin/python benchmarks/engine_alternatives.py [--data ../shared/benchmarks/dev] [--corpus alpaca_eval]

Every variant changes one part of the shipped engine (docs/methods.md) and scores the protocol's
positive and negative pairs of the corpus through the engine's own design and contrast code:

* ``shipped``: the habits contrast against other vendors' references, calibrated on the independent
  models, moderated variance capped at K - 1 lent df, kappa from ``engine_params.json``;
* ``v2-panel``: the same contrast, but the panel's other-family references count as null units
  (v2's panel); ``plain-closeness``: no anchors (closeness to R itself, v2's signal values);
  ``family-anchors``: anchors are the other *families* (gpt-4 anchors gpt-3.5);
* ``unmoderated`` (df = K - 1) and ``uncapped`` (the other columns lend all their df);
* ``kappa-1``: the nominal Student t;
* ``<signal>-only``: one other signal instead of habits;
* ``excess-score``: ranking by contrast minus the independent models' mean (the shipped score is the
  suspect's own contrast).

For each: AUC of the score, TPR and FPR at p < 0.05 with the variant's own kappa fitted like the
shipped one (dev FPR at most alpha / 2; in-sample, so an upper bound on transfer) and at kappa 1,
and top-1 family attribution by score. The shipped engine's cross-validated figures come from
``forensics bench lineage``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy import stats
from sklearn.metrics import roc_auc_score

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from forensics.bench import lineage_pairs  # noqa: E402
from forensics.bench.fit import choose_kappa  # noqa: E402
from forensics.corpus import load_benchmark_corpus, load_lineage  # noqa: E402
from forensics.signals import ClosenessStore  # noqa: E402
from forensics.stats import prior_variance  # noqa: E402
from forensics.verdict import shipped_params  # noqa: E402
from forensics.verdict.design import Column, Design, contrasts, pair_design  # noqa: E402


def design_for(variant: str, r: str, s: str, panel: list[str], families: dict) -> Design:
    design, _ = pair_design(r, s, panel, families)
    if variant == "v2-panel":
        refs = [m for m in panel if m in families and families[m] != families[r]]
        return Design(s, (*design.units, *refs), design.columns[:1])
    if variant == "plain-closeness":
        return Design(s, design.units, tuple(Column(c.label, c.targets, ()) for c in design.columns))
    if variant == "family-anchors":
        visible = [c.label for c in design.columns]
        anchors = lambda c: tuple(q for q in visible if q != c and families[q] != families[c])  # noqa: E731
        return Design(s, design.units, tuple(Column(c, (c,), anchors(c)) for c in visible))
    return design


def statistic(T: np.ndarray, moderation: str) -> tuple[float, float, float, float]:
    """(score, excess, t, df) of a [1 + K, C] contrast matrix (row 0 the suspect, column 0 R)."""
    K = T.shape[0] - 1
    if K < 2:
        return float(T[0, 0]), float("nan"), float("nan"), float("nan")
    v = T[1:].var(axis=0, ddof=1)
    C = T.shape[1]
    d0, s02 = prior_variance(v[1:], K - 1) if (C > 1 and moderation != "none") else (0.0, float("nan"))
    d0 = min(d0, float((K - 1) * (C - 1)))
    if moderation == "capped":
        d0 = min(d0, float(K - 1))
    s2 = (d0 * s02 + (K - 1) * v[0]) / (d0 + K - 1) if d0 > 0 else v[0]
    excess = float(T[0, 0] - T[1:, 0].mean())
    return float(T[0, 0]), excess, excess / np.sqrt((1 + 1 / K) * s2), float(d0 + K - 1)


def _counts(rows, kappa: float) -> tuple[int, int]:
    """True and false positives at p < 0.05 over (kind, score, t, df) rows."""
    rej = [(k, bool(np.isfinite(t) and stats.t.sf(t / kappa, df) < 0.05)) for k, _, t, df in rows]
    return sum(r for k, r in rej if k == "positive"), sum(r for k, r in rej if k == "negative")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "benchmarks" / "dev"))
    ap.add_argument("--corpus", default="alpaca_eval")
    args = ap.parse_args(argv)
    data = Path(args.data)
    corpus = load_benchmark_corpus(data / args.corpus)
    spec = lineage_pairs({m: i for m, i in load_lineage(data)[args.corpus].items() if m in corpus.responses})
    needed = sorted(set(spec["references"]) | set(spec["students"]) | set(spec["independents"]))
    store = ClosenessStore(corpus, models=needed)
    pids = sorted(corpus.prompts)
    families = spec["families"]
    shipped = shipped_params()
    variants = {
        "shipped": ("habits", "design", "capped"),
        "v2-panel": ("habits", "v2-panel", "capped"),
        "plain-closeness": ("habits", "plain-closeness", "capped"),
        "family-anchors": ("habits", "family-anchors", "capped"),
        "unmoderated": ("habits", "design", "none"),
        "uncapped": ("habits", "design", "full"),
        "kappa-1": ("habits", "design", "capped"),
        "lexical-only": ("lexical", "design", "capped"),
        "style-only": ("style", "design", "capped"),
        "idiosyncratic-only": ("idiosyncratic", "design", "capped"),
        "embedding-only": ("embedding", "design", "capped"),
        "excess-score": ("habits", "design", "capped"),
    }
    print(
        f"{args.corpus}: {sum(k == 'positive' for *_, k in spec['pairs'])} positive and "
        f"{sum(k == 'negative' for *_, k in spec['pairs'])} negative pairs; shipped kappa {shipped.kappa}"
    )
    print(f"  {'variant':20s} {'AUC':>6s}  {'kappa':>5s} {'TPR':>7s} {'FPR':>8s}   {'at kappa 1':>15s}  top-1 fam")
    for name, (signal, layout, moderation) in variants.items():
        rows = []
        for r, s, kind in spec["pairs"]:
            if kind not in ("positive", "negative", "family", "other"):
                continue
            design = design_for(layout, r, s, spec["panels"][(r, s)], families)
            D = contrasts(store, design, [signal], pids)[signal]
            with np.errstate(all="ignore"):
                spread = np.nanstd(D)
                T = np.nanmean(D / spread, axis=-1)
            score, excess, t, df = statistic(T, moderation)
            rows.append((kind, excess if name == "excess-score" else score, t, df, r, s))
        test_rows = [(k, sc, t, df) for k, sc, t, df, *_ in rows if k in ("positive", "negative")]
        kappa = 1.0 if name == "kappa-1" else choose_kappa(test_rows, 0.05)
        y = [k == "positive" for k, *_ in test_rows]
        auc = roc_auc_score(y, [sc if np.isfinite(sc) else -1e9 for _, sc, *_ in test_rows])

        tp, fp = _counts(test_rows, kappa)
        tp1, fp1 = _counts(test_rows, 1.0)
        correct = 0
        for student, tf in spec["students"].items():
            cand = [(sc, r) for k, sc, _, _, r, s in rows if s == student and np.isfinite(sc)]
            if cand and families[max(cand)[1]] == tf:
                correct += 1
        n_pos, n_neg = sum(y), len(y) - sum(y)
        print(
            f"  {name:20s} {auc:6.3f}  {kappa:5.2f} {tp:3d}/{n_pos:<3d} {fp:3d}/{n_neg:<4d}   "
            f"{tp1:3d}/{n_pos} {fp1:3d}/{n_neg}  {correct}/{len(spec['students'])}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
