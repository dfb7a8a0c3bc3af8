"""``forensics bench lineage``: the command line of :func:`forensics.bench.run_lineage_benchmark`."""

from __future__ import annotations

import argparse
import json
import sys


def add_bench_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``bench lineage --data DIR [--corpus NAME] [--prompts ...] [--seeds N] [--json OUT]``."""
    bench = subparsers.add_parser("bench", help="run benchmarks")
    sub = bench.add_subparsers(dest="bench_command", required=True)
    p = sub.add_parser("lineage", help="lineage benchmark (detection AUC, calibration, attribution)")
    p.add_argument("--data", required=True, help="benchmark split folder (with lineage.json)")
    p.add_argument("--corpus", action="append", default=None, help="corpus name (repeatable; default all)")
    p.add_argument("--prompts", default="25,50,100,200,all", help="comma-separated subsample sizes, 'all' included")
    p.add_argument("--seeds", type=int, default=3, help="random subsets per size")
    p.add_argument("--rng-seed", type=int, default=20240601)
    p.add_argument("--alpha", type=float, default=0.05)
    p.add_argument("--resamples", type=int, default=999, help="prompt-bootstrap resamples per test")
    p.add_argument("--signals", default=None, help="comma-separated signal names (default all)")
    p.add_argument("--max-prompts", type=int, default=None, help="restrict each corpus to this many prompts first")
    p.add_argument(
        "--methods",
        default="engine,raw,panelz,classifier,lexcontrast",
        help="comma-separated methods scored on the same pairs: engine, raw, panelz, classifier, lexcontrast",
    )
    p.add_argument(
        "--stress",
        action="store_true",
        help="also run alpaca_eval on 160-prompt subsets and with a weak panel (docs/methods.md)",
    )
    p.add_argument("--workers", type=int, default=None, help="processes for the closeness columns (default: CPUs)")
    p.add_argument("--json", default=None, help="write the full results as JSON here")
    p.set_defaults(func=run_bench)
    t = sub.add_parser("traffic", help="extraction-campaign detection: the scan and two peers against a truth file")
    t.add_argument(
        "--data", required=True, help="folder with log/ and truth.json (e.g. ../shared/benchmarks/traffic/dev)"
    )
    t.add_argument("--fpr", type=float, default=1e-3, help="declared per-account FPR of the scan and the peers")
    t.add_argument("--peers", default="volume,mmd", help="comma-separated peers: volume, mmd (or none)")
    t.add_argument("--held-out", default="", help="campaign ids held back while designing, scored apart too")
    t.add_argument("--scheduler", help="Dask scheduler (see forensics traffic scan)")
    t.add_argument("--seed", type=int, default=0)
    t.set_defaults(func=run_traffic_bench)
    return p


def run_traffic_bench(args) -> int:
    """CLI entry of ``bench traffic``: the judge's table for the scan and the peers, on one read of the log."""
    import numpy as np

    from forensics.bench.traffic import format_metrics, run_traffic_benchmark  # see STARTUP in main.py

    peers = tuple(p.strip() for p in args.peers.split(",") if p.strip() and p.strip() != "none")
    held = tuple(c.strip() for c in args.held_out.split(",") if c.strip())
    out = run_traffic_benchmark(
        args.data,
        fpr=args.fpr,
        peers=peers,
        scheduler=args.scheduler,
        rng=np.random.default_rng(args.seed),
        held_out=held,
    )
    result = out["result"]
    print(
        f"{result.log}: {result.tables.n_rows} rows, {len(result.accounts)} accounts; "
        f"{out['count_mismatches']} accounts whose request count differs from the truth file"
    )
    print(result.calibration.describe())
    if held:
        print(format_metrics(out["designed_on"], "campaigns looked at while designing"))
        print(format_metrics(out["held_out"], f"campaigns held back while designing ({', '.join(held)})"))
    print(format_metrics(out["metrics"], "all campaigns"))
    return 0


def _parse_sizes(text: str) -> list:
    sizes = []
    for tok in str(text).split(","):
        tok = tok.strip().lower()
        if not tok:
            continue
        if tok == "all":
            sizes.append("all")
        else:
            n = int(tok)
            if n < 2:
                raise ValueError(f"prompt subsample size must be >= 2, got {n}")
            sizes.append(n)
    return sizes


def run_bench(args) -> int:
    """CLI entry: run the benchmark, print the tables, optionally write JSON. Returns an exit code."""
    from forensics.bench import format_results, run_lineage_benchmark  # see STARTUP in forensics/cli/main.py
    from forensics.evidence import check_output_target, write_output_atomic
    from forensics.stats import jsonable
    from forensics.verdict import AnalysisSettings

    try:
        if getattr(args, "json", None):
            check_output_target(args.json, suffixes=(".json",))  # before hours of benchmark, not after
        sizes = _parse_sizes(args.prompts)
        signals = [s.strip() for s in args.signals.split(",")] if getattr(args, "signals", None) else None
        settings = AnalysisSettings(signals=signals, alpha=args.alpha, n_resamples=args.resamples)
        results = run_lineage_benchmark(
            args.data,
            corpora=args.corpus,
            prompts=sizes,
            seeds=args.seeds,
            rng_seed=args.rng_seed,
            settings=settings,
            max_prompts=getattr(args, "max_prompts", None),
            methods=[m.strip() for m in args.methods.split(",") if m.strip()],
            stress=args.stress,
            workers=getattr(args, "workers", None),
        )
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(format_results(results))
    if getattr(args, "json", None):
        payload = jsonable([r.to_dict() for r in results])
        write_output_atomic(args.json, json.dumps(payload, indent=1), suffixes=(".json",))
        print(f"wrote {args.json}")
    return 0
