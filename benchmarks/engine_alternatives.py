"""Engine variants that were tried and not kept, measured on the benchmark's own pairs and panels.

    .venv/bin/python benchmarks/engine_alternatives.py [--data ../shared/benchmarks/dev] [--corpus NAME]

Each variant scores every (R, S) pair of the lineage protocol from the per-prompt embedding and
TF-IDF cosines of the package's feature cache, with a p-value where it has one:

* ``lexical-raw``: mean TF-IDF cosine of R and S (no panel).
* ``pooled-additive``: mean closeness of every pair of models in {R, S} + panel fitted as
  alpha_a + alpha_b (model effects, "strength") on all pairs but (R, S) and same-family pairs;
  S's residual against the prediction interval, t with (pairs - models) df. The null pooled over
  every reference x independent pair.
* ``strength-ancova``: closeness to R regressed on closeness to the other-family references over
  the panel; S's prediction t with K - 2 df (capability as a covariate).
* ``robust-z``: (closeness - panel median) / (1.4826 MAD) with an exact Monte Carlo null under
  Gaussian panel units (robust to a vendor sibling of R in the panel).

Prints AUC, TP and FP at p < 0.05 and top-1 attribution for each, beside the shipped engine's
inputs (run ``forensics bench lineage`` for the engine itself).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from forensics.bench import auc_score, lineage_pairs  # noqa: E402
from forensics.bench.peers import raw_closeness  # noqa: E402
from forensics.corpus import load_benchmark_corpus, load_lineage  # noqa: E402
from forensics.features import Features  # noqa: E402


def _closeness(features: Features, kind: str, a: str, b: str, pids: list[str]) -> float:
    if kind == "embedding":
        return raw_closeness(features, a, b, pids)
    both = features.present(a, pids) & features.present(b, pids)
    return float(np.mean(features.lexical_cosines(a, b, pids)[both])) if both.any() else float("nan")


def pooled_additive(D: np.ndarray, excluded: set[tuple[int, int]]) -> tuple[float, float]:
    """t and p of pair (0, 1) against a model-effects fit on every other allowed pair."""
    m = D.shape[0]
    rows, y = [], []
    for a in range(m):
        for b in range(a + 1, m):
            if (a, b) in excluded or (a, b) == (0, 1):
                continue
            x = np.zeros(m)
            x[[a, b]] = 1
            rows.append(x)
            y.append(D[a, b])
    X, y = np.array(rows), np.array(y)
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    df = len(y) - np.linalg.matrix_rank(X)
    sigma = np.sqrt(np.sum((y - X @ beta) ** 2) / df)
    x0 = np.zeros(m)
    x0[[0, 1]] = 1
    h = float(x0 @ np.linalg.pinv(X.T @ X) @ x0)
    t = (D[0, 1] - x0 @ beta) / (sigma * np.sqrt(1 + h))
    return float(t), float(stats.t.sf(t, df))


def strength_ancova(y: np.ndarray, x: np.ndarray) -> tuple[float, float]:
    X = np.c_[np.ones(len(x) - 1), x[1:]]
    beta, *_ = np.linalg.lstsq(X, y[1:], rcond=None)
    df = len(x) - 1 - 2
    s2 = np.sum((y[1:] - X @ beta) ** 2) / df
    x0 = np.array([1.0, x[0]])
    t = (y[0] - x0 @ beta) / np.sqrt(s2 * (1 + x0 @ np.linalg.inv(X.T @ X) @ x0))
    return float(t), float(stats.t.sf(t, df))


_ROBUST_NULL: dict[int, np.ndarray] = {}


def robust_z(x: float, panel: np.ndarray, *, rng: np.random.Generator) -> tuple[float, float]:
    def stat(s, u):
        med = np.median(u, axis=-1)
        return (s - med) / np.maximum(1.4826 * np.median(np.abs(u - med[..., None]), axis=-1), 1e-12)

    k = len(panel)
    if k not in _ROBUST_NULL:
        z = rng.standard_normal((20000, k + 1))
        _ROBUST_NULL[k] = np.sort(stat(z[:, 0], z[:, 1:]))
    t = float(stat(np.asarray(x), panel))
    null = _ROBUST_NULL[k]
    return t, (1 + len(null) - np.searchsorted(null, t)) / (len(null) + 1)


def run(data: Path, name: str, *, rng: np.random.Generator) -> None:
    corpus = load_benchmark_corpus(data / name)
    spec = lineage_pairs({m: i for m, i in load_lineage(data)[name].items() if m in corpus.responses})
    features = Features(corpus)
    pids = sorted(corpus.prompts)
    models = sorted(set(spec["references"]) | set(spec["students"]) | set(spec["independents"]))
    features.precompute(models, pids)
    fam = lambda m: spec["families"].get(m, m)  # noqa: E731
    cache: dict = {}

    def close(kind, a, b):
        key = (kind, *sorted((a, b)))
        if key not in cache:
            cache[key] = _closeness(features, kind, a, b, pids)
        return cache[key]

    results: dict[str, dict] = {}
    for r, s, _ in spec["pairs"]:
        panel = spec["panels"][(r, s)]
        row = {"lexical-raw": (close("lexical", r, s), np.nan)}
        names = [r, s, *panel]
        D = np.array([[close("embedding", a, b) if a != b else np.nan for b in names] for a in names])
        excluded = {
            (i, j) for i in range(len(names)) for j in range(i + 1, len(names)) if fam(names[i]) == fam(names[j])
        }
        row["pooled-additive"] = pooled_additive(D, excluded)
        others = [m for m in spec["references"] if fam(m) != fam(r)]
        unit = [s, *panel]
        y = np.array([close("embedding", r, m) for m in unit])
        x = np.array([np.mean([close("embedding", o, m) for o in others if o != m]) for m in unit])
        row["strength-ancova"] = strength_ancova(y, x)
        groups: dict[str, list[str]] = {}
        for m in panel:
            groups.setdefault(fam(m), []).append(m)
        units = np.array([np.mean([close("embedding", r, m) for m in g]) for g in groups.values()])
        row["robust-z"] = robust_z(close("embedding", r, s), units, rng=rng)
        results[(r, s)] = row
    kinds = {(r, s): k for r, s, k in spec["pairs"]}
    pos = [p for p, k in kinds.items() if k == "positive"]
    neg = [p for p, k in kinds.items() if k == "negative"]
    print(f"== {name}: {len(pos)} positive, {len(neg)} negative pairs, {len(spec['students'])} students")
    for method in ("lexical-raw", "pooled-additive", "strength-ancova", "robust-z"):
        score = {p: results[p][method][0] for p in kinds}
        pval = {p: results[p][method][1] for p in kinds}
        top1 = sum(
            fam(max(spec["references"], key=lambda r, s=s: score[(r, s)])) == tf for s, tf in spec["students"].items()
        )
        tp = sum(bool(pval[p] < 0.05) for p in pos)
        fp = sum(bool(pval[p] < 0.05) for p in neg)
        has_p = not np.isnan(pval[pos[0]]) if pos else False
        counts = f"TP {tp}/{len(pos)}  FP {fp}/{len(neg)}" if has_p else "(no p-value)"
        print(
            f"  {method:16s} AUC {auc_score([score[p] for p in pos], [score[p] for p in neg]):.3f}  "
            f"{counts:22s} top-1 {top1}/{len(spec['students'])}"
        )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="benchmarks/engine_alternatives.py")
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "benchmarks" / "dev"))
    ap.add_argument("--corpus", action="append", default=None)
    args = ap.parse_args(argv)
    data = Path(args.data)
    if not (data / "lineage.json").is_file():
        print(f"benchmark data not found at {data}", file=sys.stderr)
        return 2
    for name in args.corpus or ["alpaca_eval", "arena_bench_v1"]:
        run(data, name, rng=np.random.default_rng(12345))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
