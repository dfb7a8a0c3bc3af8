"""``forensics traffic scan|export-probes``: provider-side forensics from the command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _fpr(text: str) -> float:
    value = float(text)
    if not 0 < value < 0.5:
        raise argparse.ArgumentTypeError(f"{text}: the FPR must be between 0 and 0.5")
    return value


def add_traffic_parser(subparsers) -> argparse.ArgumentParser:
    traffic = subparsers.add_parser("traffic", help="find extraction campaigns in provider API request logs")
    sub = traffic.add_subparsers(dest="traffic_command", required=True)
    s = sub.add_parser(
        "scan",
        help="score accounts, flag campaigns, seal their evidence and write the report",
        description="Read a request log (Parquet or JSONL, a file or a folder) on Dask, score every account "
        "against the log's own traffic for a declared per-account FPR, group coordinated accounts into "
        "campaigns, and write DIR/detections.json, DIR/scan.json, DIR/campaigns/*.jsonl (sealed) and "
        "DIR/report.html.",
    )
    s.add_argument("log", help="request log: a Parquet/JSONL file or a folder of them (hive partitions too)")
    s.add_argument("--out", required=True, help="output folder")
    s.add_argument("--fpr", type=_fpr, default=1e-3, help="declared per-account false-positive rate (default 1e-3)")
    s.add_argument("--scheduler", help="threads (default), processes, synchronous, or tcp://HOST:PORT of a cluster")
    s.add_argument("--workers", type=int, help="local workers (default: one per core)")
    s.add_argument("--columns", help="column mapping file (YAML/JSON: our_name: your_name)")
    s.add_argument("--reference", help="an earlier-period log to calibrate on, instead of this log's own traffic")
    s.add_argument(
        "--embed-budget",
        type=int,
        default=800,
        help="texts to embed (all-MiniLM-L6-v2, offline) for the MMD test of each flagged campaign's largest "
        "account against the traffic's prompts; reported, not scored (0: none)",
    )
    s.add_argument("--seed", type=int, default=0, help="seed of every random choice (reference sample, MMD)")
    s.set_defaults(func=run_scan)
    e = sub.add_parser(
        "export-probes",
        help="a campaign's own prompts as a probe set for `forensics collect`",
        description="Sample, deduplicate and hash the prompts of one campaign's sealed evidence log (verified "
        "first) into a probe set that `forensics probes validate` accepts.",
    )
    e.add_argument("campaign", help="campaign evidence log (DIR/campaigns/C001.jsonl), or a campaign id with --scan")
    e.add_argument("--scan", help="the scan's output folder, when CAMPAIGN is an id")
    e.add_argument("--out", required=True, help="probe-set YAML to write")
    e.add_argument("--limit", type=int, default=200, help="at most this many probes")
    e.add_argument("--seed", type=int, default=0)
    e.set_defaults(func=run_export)
    return traffic


def run_scan(args) -> int:
    import numpy as np

    from forensics.traffic import ColumnMapping, scan
    from forensics.traffic.write import check_out_dir, write_scan

    check_out_dir(args.out)
    result = scan(
        args.log,
        fpr=args.fpr,
        mapping=ColumnMapping.load(args.columns),
        scheduler=args.scheduler,
        workers=args.workers,
        reference_log=args.reference,
        embed_budget=args.embed_budget,
        rng=np.random.default_rng(args.seed),
    )
    paths = write_scan(result, args.out, command=sys.argv)
    bad = result.tables.bad
    print(
        f"{result.log}: {result.tables.n_rows} rows in {len(result.files)} files, {len(result.accounts)} accounts"
        + (f", {bad.total} bad rows set aside (first: {bad.examples[0]})" if bad.total else "")
    )
    print(result.calibration.describe())
    print(f"flagged {len(result.flagged)} accounts in {len(result.campaigns)} campaigns")
    for c in result.campaigns:
        print(
            f"  {c.id}: {len(c.accounts)} accounts, {c.requests} requests ({c.harvest_requests} harvest), "
            f"z {c.score:.2f}, fired: {', '.join(c.fired) or '-'}"
        )
    for name, path in paths.items():
        print(f"wrote {name}: {path}")
    return 0


def run_export(args) -> int:
    import numpy as np

    from forensics.traffic.probes import export_probes

    log = Path(args.campaign)
    if args.scan:
        log = Path(args.scan) / "campaigns" / f"{args.campaign}.jsonl"
    if not log.is_file():
        raise FileNotFoundError(f"{log}: no such campaign evidence log")
    out = export_probes(log, args.out, limit=args.limit, rng=np.random.default_rng(args.seed))
    print(f"{out}: probe set of campaign {log.stem} (validate with `forensics probes validate {out}`)")
    return 0
