"""The lineage benchmark: detection AUC, calibration and teacher attribution on real models.

Runs the protocol of ``shared/benchmarks/README.md`` on any folder in that layout
(``lineage.json`` + one sub-folder per corpus); how pairs and panels are built is in
``docs/methods.md``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from forensics.bench.peers import PEERS, raw_closeness
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


METHODS = ("engine", "raw", "panelz", "classifier")
ENGINE_THRESHOLD = "combined Monte Carlo p < {alpha}"
STRESS_PROMPTS = 160  # the size of the held-out multi-turn corpus


def _evaluate(results: dict, spec: dict, method: str, alpha: float) -> dict:
    """Metrics of one method in one run: results[(R, S)][method] = {"score", "declared", "attr", "p"}."""
    kinds = {(r, s): k for r, s, k in spec["pairs"]}
    score = {p: results[p][method]["score"] for p in kinds}
    declared = {p: results[p][method]["declared"] for p in kinds}
    pos = [p for p, k in kinds.items() if k == "positive"]
    neg = [p for p, k in kinds.items() if k == "negative"]
    fam = [p for p, k in kinds.items() if k in ("positive", "family")]
    details = []
    for s, tf in sorted(spec["students"].items()):
        attr = {r: results[(r, s)][method]["attr"] for r in spec["references"]}
        ranked = sorted(spec["references"], key=lambda r: (-(attr[r] if np.isfinite(attr[r]) else -np.inf), r))
        top = ranked[0] if ranked else None
        row = {
            "student": s,
            "teacher_family": tf,
            "top": top,
            "top_family": spec["families"].get(top),
            "correct": bool(top is not None and spec["families"].get(top) == tf),
            "ranking": [{"reference": r, "score": attr[r]} for r in ranked],
        }
        if method == "engine":
            ps = [results[(r, s)]["engine"]["p"] for r in ranked]
            adj = holm(ps)
            row["supported"] = bool(len(adj) and np.isfinite(adj[0]) and adj[0] < alpha)
            for entry, p_raw, a in zip(row["ranking"], ps, adj):
                entry.update(p_value=p_raw, p_holm=float(a))
        details.append(row)
    out = {
        "auc": auc_score([score[p] for p in pos], [score[p] for p in neg]),
        "family_auc": auc_score([score[p] for p in fam], [score[p] for p in neg]),
        "tpr": float(np.mean([declared[p] for p in pos])) if pos else None,
        "fpr": float(np.mean([declared[p] for p in neg])) if neg else None,
        "n_true_positives": int(sum(declared[p] for p in pos)),
        "n_false_positives": int(sum(declared[p] for p in neg)),
        "attribution": {"correct": int(sum(d["correct"] for d in details)), "total": len(details), "details": details},
    }
    if method == "engine":
        out["n_undefined"] = int(sum(not np.isfinite(results[p]["engine"]["p"]) for p in pos + neg))
    return out


def _run_config(
    corpus, spec, features, prompt_ids, rng, signals, alpha, n_resamples, methods, keep_verdicts, timing
) -> dict:
    """Every method on every pair of one configuration (the same prompts, panels and pairs for all)."""
    results: dict = {}
    for r, s, _kind in spec["pairs"]:
        pan = spec["panels"][(r, s)]
        row = {}
        if "engine" in methods:
            t0 = time.perf_counter()
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
            row["engine"] = {
                "score": v.statistic,
                "p": v.p_value,
                "declared": bool(np.isfinite(v.p_value) and v.p_value < alpha),
                "attr": v.closeness_margin,
                "verdict": v if keep_verdicts else None,
            }
            timing["analysis"] += time.perf_counter() - t0
        t0 = time.perf_counter()
        context = {}
        if "raw" in methods:  # the raw peer declares against the panel's closest member
            panel_raw = [raw_closeness(features, r, m, prompt_ids) for m in pan]
            context["panel_max"] = max((x for x in panel_raw if np.isfinite(x)), default=np.inf)
        for name in methods:
            if name == "engine":
                continue
            peer = PEERS[name]
            peer_rng = np.random.default_rng(0)  # the README baselines' split
            sc = peer.score(features, r, s, pan, prompt_ids, peer_rng)
            row[name] = {"score": sc, "p": None, "declared": peer.threshold(sc, context), "attr": sc}
        timing["peers"] += time.perf_counter() - t0
        results[(r, s)] = row
    return results


def _mean(xs):
    xs = [x for x in xs if x is not None and np.isfinite(x)]
    return float(np.mean(xs)) if xs else None


def _average(runs: list[dict]) -> dict:
    """Mean of several runs' metrics (counts become mean counts)."""
    out = {k: _mean([m[k] for m in runs]) for k in ("auc", "family_auc", "tpr", "fpr")}
    for k in ("n_true_positives", "n_false_positives"):
        out[k] = float(np.mean([m[k] for m in runs]))
    out["attribution"] = {
        "correct": float(np.mean([m["attribution"]["correct"] for m in runs])),
        "total": runs[0]["attribution"]["total"],
        "details": runs[0]["attribution"]["details"] if len(runs) == 1 else [],
    }
    out["n_runs"] = len(runs)
    return out


def weakest_independents(spec: dict, features: Features, prompt_ids: Sequence[str], k: int = 2) -> list[str]:
    """The k independents least close to the references on average (raw cosine): the weak-panel stress."""
    closeness = {
        m: np.nanmean([raw_closeness(features, r, m, prompt_ids) for r in spec["references"]])
        for m in spec["independents"]
    }
    return sorted(closeness, key=lambda m: (closeness[m], m))[:k]


def _with_weak_panel(spec: dict, keep: list[str]) -> dict:
    weak = dict(spec)
    weak["panels"] = {
        key: [m for m in pan if m not in spec["independents"] or m in keep] for key, pan in spec["panels"].items()
    }
    return weak


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
    methods: Sequence[str] = METHODS,
    stress: bool = False,
) -> list[dict]:
    """Run the lineage benchmark on every corpus of ``data_dir`` (or the named ``corpora``).

    Every method in ``methods`` (the engine and the peers of :mod:`forensics.bench.peers`) is
    scored on exactly the same pairs, panels and prompts. ``prompts``: subsample sizes for the
    sample-efficiency table ("all" = every prompt; sizes at or above a corpus's prompt count run
    as "all"); each size below "all" is averaged over ``seeds`` random subsets. The headline
    figures are those of the "all" run. With ``stress``, alpaca_eval is also run on 160-prompt
    subsets and with the panel cut to its two weakest independent models plus other-family
    references (see docs/methods.md). Returns one dict per run with keys ``corpus, variant,
    n_pos, n_neg, n_family_pos, auc, family_auc, tpr, fpr, threshold, alpha, attribution,
    by_prompts, methods, by_prompts_methods, pairs, n_prompts, timing, seconds`` (the un-prefixed
    metrics are the engine's). ``max_prompts`` first restricts every corpus to a random subset
    of that many prompts (a quick smoke run).
    """
    data_dir = Path(data_dir)
    lineage_all = load_lineage(data_dir)
    names = list(corpora) if corpora else sorted(n for n in lineage_all if (data_dir / n / "_prompts.jsonl").is_file())
    missing = [n for n in names if n not in lineage_all or not (data_dir / n / "_prompts.jsonl").is_file()]
    if missing:
        raise FileNotFoundError(f"corpus folder(s) or lineage entries missing in {data_dir}: {missing}")
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown method(s) {unknown}; known: {list(METHODS)}")
    methods = list(dict.fromkeys(methods))
    signals = list(signals) if signals is not None else signal_names(default_only=True)
    if log is None:
        log = (lambda msg: print(msg, file=sys.stderr, flush=True)) if progress else (lambda msg: None)
    settings = _Settings(seeds, rng_seed, alpha, n_resamples, signals, methods, log)
    out = []
    for ci, name in enumerate(names):
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
        t0 = time.perf_counter()
        if needed:
            features.precompute(needed, all_pids)
        embed_s = time.perf_counter() - t0
        variants = [(None, spec, list(prompts))]
        if stress and name == "alpaca_eval":
            variants.append((f"{min(STRESS_PROMPTS, len(all_pids))} prompts", spec, [STRESS_PROMPTS]))
            weak = weakest_independents(spec, features, all_pids)
            variants.append(
                (f"weak panel: {', '.join(weak)} + other-family references", _with_weak_panel(spec, weak), ["all"])
            )
        for variant, vspec, sizes_wanted in variants:
            out.append(_run_variant(name, ci, variant, corpus, vspec, features, all_pids, sizes_wanted, settings))
            if variant is None:
                out[-1]["timing"]["embedding"] = embed_s
                out[-1]["seconds"] += embed_s
    return out


@dataclass(frozen=True)
class _Settings:
    """What every run of one benchmark call shares."""

    seeds: int
    rng_seed: int
    alpha: float
    n_resamples: int
    signals: list[str]
    methods: list[str]
    log: Callable[[str], None]


def _run_variant(name, ci, variant, corpus, spec, features, all_pids, sizes_wanted, settings: _Settings) -> dict:
    seeds, rng_seed, alpha = settings.seeds, settings.rng_seed, settings.alpha
    n_resamples, signals, methods, log = settings.n_resamples, settings.signals, settings.methods, settings.log
    t_start = time.time()
    timing = {"embedding": 0.0, "analysis": 0.0, "peers": 0.0}
    n_pos = sum(k == "positive" for *_, k in spec["pairs"])
    n_neg = sum(k == "negative" for *_, k in spec["pairs"])
    n_fam = sum(k in ("positive", "family") for *_, k in spec["pairs"])
    sizes = []
    for size in sizes_wanted:
        key = "all" if (size == "all" or int(size) >= len(all_pids)) else int(size)
        if key not in sizes:
            sizes.append(key)
    if variant is None and "all" not in sizes:
        sizes.append("all")
    by_prompts = {m: {} for m in methods}
    headline = None
    pair_rows = []
    label = name if variant is None else f"{name} [{variant}]"
    for size in sizes:
        runs = {m: [] for m in methods}
        reps = 1 if size == "all" else max(1, int(seeds))
        for rep in range(reps):
            ss = np.random.SeedSequence([rng_seed, ci, 0 if size == "all" else int(size), rep])
            rng = np.random.default_rng(ss)
            pids = all_pids if size == "all" else sorted(rng.choice(all_pids, size=int(size), replace=False).tolist())
            keep = size == "all" and variant is None
            results = _run_config(corpus, spec, features, pids, rng, signals, alpha, n_resamples, methods, keep, timing)
            for m in methods:
                runs[m].append(_evaluate(results, spec, m, alpha))
            if keep:
                pair_rows = _pair_rows(results, spec, methods)
        for m in methods:
            by_prompts[m][size] = _average(runs[m])
        if size == sizes[-1] or size == "all":
            headline = {m: (runs[m][0] if len(runs[m]) == 1 else _average(runs[m])) for m in methods}
        log(
            f"[{label}] prompts={size}: "
            + "  ".join(f"{m} AUC={_fmt(by_prompts[m][size]['auc'])}" for m in methods)
            + f" ({time.time() - t_start:.0f}s)"
        )
    main = methods[0]
    h = headline[main]
    return {
        "corpus": name,
        "variant": variant,
        "label": label,
        "n_prompts": len(all_pids) if sizes[-1] == "all" else int(sizes[-1]),
        "n_pos": n_pos,
        "n_neg": n_neg,
        "n_family_pos": n_fam,
        "auc": h["auc"],
        "family_auc": h["family_auc"],
        "tpr": h["tpr"],
        "fpr": h["fpr"],
        "n_true_positives": h["n_true_positives"],
        "n_false_positives": h["n_false_positives"],
        "n_undefined": h.get("n_undefined", 0),
        "threshold": ENGINE_THRESHOLD.format(alpha=alpha) if main == "engine" else PEERS[main].threshold_text,
        "alpha": alpha,
        "attribution": h["attribution"],
        "by_prompts": by_prompts[main],
        "methods": headline,
        "by_prompts_methods": by_prompts,
        "thresholds": {
            m: ENGINE_THRESHOLD.format(alpha=alpha) if m == "engine" else PEERS[m].threshold_text for m in methods
        },
        "pairs": pair_rows,
        "signals": signals,
        "n_resamples": n_resamples,
        "seeds": seeds,
        "rng_seed": rng_seed,
        "timing": timing,
        "seconds": time.time() - t_start,
    }


def _pair_rows(results: dict, spec: dict, methods: Sequence[str]) -> list[dict]:
    rows = []
    for r, s, kind in spec["pairs"]:
        res = results[(r, s)]
        v = res.get("engine", {}).get("verdict")
        rows.append(
            {
                "reference": r,
                "suspect": s,
                "kind": kind,
                "statistic": v.statistic if v else None,
                "p_value": v.p_value if v else None,
                "label": v.label if v else None,
                "effect_size": v.effect_size if v else None,
                "closeness_margin": v.closeness_margin if v else None,
                "signals": {f.signal: {"statistic": f.statistic, "p_value": f.p_value} for f in v.findings}
                if v
                else {},
                "panel": v.panel if v else spec["panels"][(r, s)],
                "same_model_share": v.same_model.share if v else None,
                "peers": {m: res[m]["score"] for m in methods if m != "engine"},
            }
        )
    return rows


def _fmt(x, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "n/a"
    return f"{x:.{digits}f}"


def _num(x: float) -> str:
    """A count, or a mean count over seeds to one decimal."""
    return f"{x:.0f}" if float(x).is_integer() else f"{x:.1f}"


def _count(m: dict, key: str, n: int) -> str:
    return f"{_num(m[key])}/{n}" if n else "0/0"


def format_results(results: list[dict]) -> str:
    """Readable tables: per run, the methods side by side, the engine's margin over the best peer,
    attribution details, sample efficiency and the time of each stage."""
    lines = []
    for r in results:
        lines.append(f"== {r.get('label', r['corpus'])} ({r['n_prompts']} prompts) ==")
        lines.append(f"  pairs: {r['n_pos']} positive, {r['n_neg']} negative, {r['n_family_pos']} family-positive")
        methods = r.get("methods") or {"engine": r}
        lines.append(
            f"    {'method':<11s} {'AUC':>6s} {'famAUC':>7s} {'TPR':>12s} {'FPR':>12s} {'top-1':>8s}  threshold"
        )
        for name, m in methods.items():
            att = m["attribution"]
            lines.append(
                f"    {name:<11s} {_fmt(m['auc']):>6s} {_fmt(m['family_auc']):>7s} "
                f"{_fmt(m['tpr'], 2) + ' (' + _count(m, 'n_true_positives', r['n_pos']) + ')':>12s} "
                f"{_fmt(m['fpr'], 2) + ' (' + _count(m, 'n_false_positives', r['n_neg']) + ')':>12s} "
                f"{_num(att['correct']) + '/' + str(att['total']):>8s}  "
                f"{r.get('thresholds', {}).get(name, r['threshold'])}"
            )
        peers = {k: v for k, v in methods.items() if k != "engine" and v["auc"] is not None}
        if "engine" in methods and peers and methods["engine"]["auc"] is not None:
            best = max(peers, key=lambda k: peers[k]["auc"])
            lines.append(
                f"  engine AUC margin over the best peer ({best}): {methods['engine']['auc'] - peers[best]['auc']:+.3f}"
            )
        if r.get("n_undefined"):
            lines.append(
                f"  {r['n_undefined']} scored pair(s) could not be tested (panel of fewer than two "
                f"independent units): counted as not rejected"
            )
        att = r["attribution"]
        for d in att.get("details", []):
            lines.append(
                f"    {d['student']:28s} teacher family {str(d['teacher_family']):18s} top: "
                f"{str(d['top']):22s} {'ok' if d['correct'] else 'WRONG'}"
                f"{'  (Holm-supported)' if d.get('supported') else ''}"
            )
        if len(r["by_prompts"]) > 1:
            lines.append("  sample efficiency, AUC / top-1 (mean over seeds):")
            by = r.get("by_prompts_methods") or {"engine": r["by_prompts"]}
            lines.append(f"    {'prompts':>8s} " + " ".join(f"{name:>17s}" for name in by))
            for size in r["by_prompts"]:
                cells = []
                for name in by:
                    m = by[name][size]
                    cells.append(f"{_fmt(m['auc'])} / {m['attribution']['correct']:.1f}")
                lines.append(f"    {str(size):>8s} " + " ".join(f"{c:>17s}" for c in cells))
        t = r.get("timing")
        if t:
            lines.append(
                f"  time: embedding {t['embedding']:.0f} s, engine analysis {t['analysis']:.0f} s, "
                f"peers {t['peers']:.0f} s ({r['seconds']:.0f} s in all)"
            )
    return "\n".join(lines)
