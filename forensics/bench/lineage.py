"""The lineage benchmark: detection AUC, calibration and teacher attribution on real models.

Runs the protocol of ``shared/benchmarks/README.md`` on any folder in that layout
(``lineage.json`` + one sub-folder per corpus); how pairs and panels are built is in
``docs/methods.md``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from forensics.corpus import load_benchmark_corpus, load_lineage
from forensics.features import Features
from forensics.signals import signal_names
from forensics.stats import holm
from forensics.verdict import analyse


def auc_score(pos: Sequence[float], neg: Sequence[float]) -> float | None:
    """P(score of a positive > score of a negative), ties counting one half; None if a side is empty."""
    pos = np.asarray([x if np.isfinite(x) else -np.inf for x in pos], dtype=float)
    neg = np.asarray([x if np.isfinite(x) else -np.inf for x in neg], dtype=float)
    if pos.size == 0 or neg.size == 0:
        return None
    gt = (pos[:, None] > neg[None, :]).sum()
    eq = (pos[:, None] == neg[None, :]).sum()
    return float((gt + 0.5 * eq) / (pos.size * neg.size))


def lineage_pairs(lineage: dict) -> dict:
    """Pairs, panels and attribution tasks of one corpus, from its lineage.json entry.

    Returns {"references", "families", "pairs": [(R, S, kind)], "panels": {(R, S): [...]},
    "students": {S: teacher_family}} with kind in {"positive", "family", "negative", "other"}
    ("other": S distilled from another family; used only for attribution).
    """
    refs = sorted(m for m, info in lineage.items() if info.get("role") == "reference")
    families = {m: lineage[m].get("family") or m for m in refs}
    independents = sorted(m for m, info in lineage.items() if info.get("role") == "independent")
    students = {m: info.get("teacher_family") for m, info in lineage.items() if info.get("role") == "distilled"}
    pairs = []
    for s in sorted(students) + independents:
        for r in refs:
            if s in students:
                if r == lineage[s].get("closest_ref"):
                    kind = "positive"
                elif families[r] == students[s]:
                    kind = "family"
                else:
                    kind = "other"
            else:
                kind = "negative"
            pairs.append((r, s, kind))
    panels = {
        (r, s): [m for m in independents if m != s] + [m for m in refs if families[m] != families[r]]
        for r, s, _ in pairs
    }
    return {
        "references": refs,
        "families": families,
        "pairs": pairs,
        "panels": panels,
        "students": students,
        "independents": independents,
    }


def _evaluate(results: dict, spec: dict, alpha: float) -> dict:
    """Metrics of one run: results[(R, S)] = (statistic, p_value, label, verdict-or-None)."""
    kinds = {(r, s): k for r, s, k in spec["pairs"]}
    pos = [results[p][0] for p, k in kinds.items() if k == "positive"]
    fam = [results[p][0] for p, k in kinds.items() if k in ("positive", "family")]
    neg = [results[p][0] for p, k in kinds.items() if k == "negative"]
    pos_p = [results[p][1] for p, k in kinds.items() if k == "positive"]
    neg_p = [results[p][1] for p, k in kinds.items() if k == "negative"]
    hit = lambda ps: [bool(np.isfinite(p) and p < alpha) for p in ps]  # noqa: E731
    details = []
    for s, tf in sorted(spec["students"].items()):
        ranked = sorted(
            spec["references"], key=lambda r: (-(results[(r, s)][0] if np.isfinite(results[(r, s)][0]) else -np.inf), r)
        )
        top = ranked[0] if ranked else None
        adj = holm([results[(r, s)][1] for r in ranked])
        details.append(
            {
                "student": s,
                "teacher_family": tf,
                "top": top,
                "top_family": spec["families"].get(top),
                "correct": bool(top is not None and spec["families"].get(top) == tf),
                "supported": bool(np.isfinite(adj[0]) and adj[0] < alpha) if len(adj) else False,
                "ranking": [
                    {"reference": r, "statistic": results[(r, s)][0], "p_value": results[(r, s)][1], "p_holm": float(a)}
                    for r, a in zip(ranked, adj)
                ],
            }
        )
    return {
        "auc": auc_score(pos, neg),
        "family_auc": auc_score(fam, neg),
        "tpr": float(np.mean(hit(pos_p))) if pos_p else None,
        "fpr": float(np.mean(hit(neg_p))) if neg_p else None,
        "n_false_positives": int(sum(hit(neg_p))),
        "n_true_positives": int(sum(hit(pos_p))),
        "n_undefined": int(sum(not np.isfinite(p) for p in pos_p + neg_p)),
        "attribution": {"correct": int(sum(d["correct"] for d in details)), "total": len(details), "details": details},
    }


def _run_config(corpus, spec, features, prompt_ids, rng, signals, alpha, n_resamples, keep_verdicts=False) -> dict:
    results = {}
    for r, s, _kind in spec["pairs"]:
        pan = spec["panels"][(r, s)]
        groups = {m: spec["families"][m] for m in pan if m in spec["families"]}
        v = analyse(
            corpus,
            r,
            s,
            pan,
            rng=rng,
            signals=signals,
            alpha=alpha,
            n_resamples=n_resamples,
            features=features,
            panel_groups=groups,
            prompt_ids=prompt_ids,
        )
        results[(r, s)] = (v.statistic, v.p_value, v.label, v if keep_verdicts else None)
    return results


def _mean(xs):
    xs = [x for x in xs if x is not None and np.isfinite(x)]
    return float(np.mean(xs)) if xs else None


def run_lineage_benchmark(
    data_dir: str | Path,
    corpora: Iterable[str] | None = None,
    prompts: Sequence[int | str] = (25, 50, 100, 200, "all"),
    seeds: int = 3,
    rng_seed: int = 20240601,
    alpha: float = 0.05,
    n_resamples: int = 999,
    signals: Iterable[str] | None = None,
    embedder=None,
    progress: bool = True,
    log=None,
    max_prompts: int | None = None,
) -> list[dict]:
    """Run the lineage benchmark on every corpus of ``data_dir`` (or the named ``corpora``).

    ``prompts``: subsample sizes for the sample-efficiency table ("all" = every prompt; sizes at
    or above a corpus's prompt count are run as "all"); each size below "all" is averaged over
    ``seeds`` random subsets. The headline figures are those of the "all" run (run even when
    "all" is not listed). Returns one dict per corpus with keys ``corpus, n_pos, n_neg,
    n_family_pos, auc, family_auc, tpr, fpr, threshold, alpha, attribution, by_prompts, pairs,
    n_prompts, seconds``. ``max_prompts`` first restricts every corpus to a random subset of that
    many prompts (a quick smoke run); ``n_resamples`` is the Monte Carlo size of each test.
    """
    data_dir = Path(data_dir)
    lineage_all = load_lineage(data_dir)
    names = list(corpora) if corpora else sorted(n for n in lineage_all if (data_dir / n / "_prompts.jsonl").is_file())
    missing = [n for n in names if n not in lineage_all or not (data_dir / n / "_prompts.jsonl").is_file()]
    if missing:
        raise FileNotFoundError(f"corpus folder(s) or lineage entries missing in {data_dir}: {missing}")
    signals = list(signals) if signals is not None else signal_names(default_only=True)
    if log is None:
        log = (lambda msg: print(msg, file=sys.stderr, flush=True)) if progress else (lambda msg: None)
    out = []
    for ci, name in enumerate(names):
        t0 = time.time()
        corpus = load_benchmark_corpus(data_dir / name)
        if max_prompts is not None and max_prompts < len(corpus.prompts):
            keep = np.random.default_rng([rng_seed, ci, 7]).choice(
                sorted(corpus.prompts), size=max_prompts, replace=False
            )
            corpus = corpus.subset(keep.tolist())
        spec = lineage_pairs({m: info for m, info in lineage_all[name].items() if m in corpus.responses})
        features = Features(corpus, embedder=embedder)
        needed = sorted(set(spec["references"]) | set(spec["students"]) | set(spec["independents"]))
        all_pids = sorted(corpus.prompts)
        log(f"[{name}] {len(all_pids)} prompts, {len(needed)} scored models; embedding responses")
        if needed:
            features.precompute(needed, all_pids)
        n_pos = sum(k == "positive" for *_, k in spec["pairs"])
        n_neg = sum(k == "negative" for *_, k in spec["pairs"])
        n_fam = sum(k in ("positive", "family") for *_, k in spec["pairs"])
        sizes = []
        for size in list(prompts) + ["all"]:
            key = "all" if (size == "all" or int(size) >= len(all_pids)) else int(size)
            if key not in sizes:
                sizes.append(key)
        by_prompts = {}
        headline = None
        pair_rows = []
        for size in sizes:
            runs = []
            reps = 1 if size == "all" else max(1, int(seeds))
            for rep in range(reps):
                ss = np.random.SeedSequence([rng_seed, ci, 0 if size == "all" else int(size), rep])
                rng = np.random.default_rng(ss)
                pids = (
                    all_pids if size == "all" else sorted(rng.choice(all_pids, size=int(size), replace=False).tolist())
                )
                results = _run_config(
                    corpus, spec, features, pids, rng, signals, alpha, n_resamples, keep_verdicts=(size == "all")
                )
                metrics = _evaluate(results, spec, alpha)
                runs.append(metrics)
                if size == "all":
                    headline = metrics
                    for (r, s), (stat, p, label, v) in results.items():
                        kind = next(k for rr, sss, k in spec["pairs"] if rr == r and sss == s)
                        pair_rows.append(
                            {
                                "reference": r,
                                "suspect": s,
                                "kind": kind,
                                "statistic": stat,
                                "p_value": p,
                                "label": label,
                                "effect_size": v.effect_size if v else None,
                                "signals": {
                                    f.signal: {"statistic": f.statistic, "p_value": f.p_value} for f in v.findings
                                }
                                if v
                                else {},
                                "panel": v.panel if v else [],
                                "same_model_share": v.same_model.get("share") if v else None,
                            }
                        )
            att_c = [m["attribution"]["correct"] for m in runs]
            by_prompts[size] = {
                "auc": _mean([m["auc"] for m in runs]),
                "family_auc": _mean([m["family_auc"] for m in runs]),
                "tpr": _mean([m["tpr"] for m in runs]),
                "fpr": _mean([m["fpr"] for m in runs]),
                "attribution": {
                    "correct": float(np.mean(att_c)) if att_c else 0.0,
                    "total": runs[0]["attribution"]["total"] if runs else 0,
                },
                "n_runs": len(runs),
            }
            log(
                f"[{name}] prompts={size}: AUC={_fmt(by_prompts[size]['auc'])} "
                f"TPR={_fmt(by_prompts[size]['tpr'])} FPR={_fmt(by_prompts[size]['fpr'])} "
                f"({time.time() - t0:.0f}s)"
            )
        out.append(
            {
                "corpus": name,
                "n_prompts": len(all_pids),
                "n_pos": n_pos,
                "n_neg": n_neg,
                "n_family_pos": n_fam,
                "auc": headline["auc"],
                "family_auc": headline["family_auc"],
                "tpr": headline["tpr"],
                "fpr": headline["fpr"],
                "n_true_positives": headline["n_true_positives"],
                "n_false_positives": headline["n_false_positives"],
                "n_undefined": headline["n_undefined"],
                "threshold": f"combined Monte Carlo p < {alpha}",
                "alpha": alpha,
                "attribution": headline["attribution"],
                "by_prompts": {k: v for k, v in by_prompts.items()},
                "pairs": pair_rows,
                "signals": signals,
                "n_resamples": n_resamples,
                "seeds": seeds,
                "rng_seed": rng_seed,
                "seconds": time.time() - t0,
            }
        )
    return out


def _fmt(x, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "n/a"
    return f"{x:.{digits}f}"


def format_results(results: list[dict]) -> str:
    """Readable per-corpus tables."""
    lines = []
    for r in results:
        att = r["attribution"]
        lines.append(f"== {r['corpus']} ({r['n_prompts']} prompts) ==")
        lines.append(f"  pairs: {r['n_pos']} positive, {r['n_neg']} negative, {r['n_family_pos']} family-positive")
        lines.append(f"  primary AUC: {_fmt(r['auc'])}   family AUC: {_fmt(r['family_auc'])}")
        tp = f"{r['n_true_positives']}/{r['n_pos']}" if r["n_pos"] else "0/0"
        fp = f"{r['n_false_positives']}/{r['n_neg']}" if r["n_neg"] else "0/0"
        lines.append(f"  at {r['threshold']}: TPR {_fmt(r['tpr'])} ({tp})   FPR {_fmt(r['fpr'])} ({fp})")
        if r.get("n_undefined"):
            lines.append(
                f"  {r['n_undefined']} scored pair(s) could not be tested (panel of fewer than two "
                f"independent units): counted as not rejected"
            )
        lines.append(f"  top-1 teacher attribution: {att['correct']}/{att['total']}")
        for d in att["details"]:
            lines.append(
                f"    {d['student']:28s} teacher family {str(d['teacher_family']):18s} top: "
                f"{str(d['top']):22s} {'ok' if d['correct'] else 'WRONG'}"
                f"{'  (Holm-supported)' if d['supported'] else ''}"
            )
        lines.append("  sample efficiency (mean over seeds):")
        lines.append(f"    {'prompts':>8s} {'AUC':>7s} {'famAUC':>7s} {'TPR':>7s} {'FPR':>7s} {'top-1':>9s}")
        for size, m in r["by_prompts"].items():
            a = m["attribution"]
            lines.append(
                f"    {str(size):>8s} {_fmt(m['auc']):>7s} {_fmt(m['family_auc']):>7s} {_fmt(m['tpr']):>7s} "
                f"{_fmt(m['fpr']):>7s} {a['correct']:>5.1f}/{a['total']:<3d}"
            )
        lines.append(f"  ({r['seconds']:.0f} s)")
    return "\n".join(lines)
