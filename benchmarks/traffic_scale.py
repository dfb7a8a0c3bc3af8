"""Scale of ``forensics traffic scan``: rows per second per stage at 1 and 2 workers, peak memory, and the
projected time for 16 million requests.

The log of N rows (default 2 million; ``--rows 10000000`` on request) is built by resampling the dev
log (../shared/benchmarks/traffic/dev): whole copies of it, each with new account, org, key and
request ids and its times shifted by whole months, written one Parquet file per copy and day, so
building it never holds more than one copy in memory. Prints figures; asserts nothing (not a test).

    .venv/bin/python benchmarks/traffic_scale.py [--rows 2000000] [--workers 1 2] [--project-workers 16]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

from forensics.traffic.aggregate import aggregate, dask_scheduler, sample_prompts
from forensics.traffic.reading import log_files
from forensics.traffic.scan import decide, pick_candidates
from forensics.traffic.schema import ColumnMapping

DEV = Path(__file__).resolve().parents[1].parent / "shared" / "benchmarks" / "traffic" / "dev" / "log"
PROJECT_ROWS = 16_000_000


def build_log(dev: Path, rows: int, out: Path, seed: int = 0) -> int:
    """Write ``rows`` rows resampled from the dev log under ``out`` (one file per copy and day)."""
    base = pd.read_parquet(dev)
    base = base.drop(columns=[c for c in ("day",) if c in base])
    rng = np.random.default_rng(seed)
    written, copy = 0, 0
    while written < rows:
        take = min(len(base), rows - written)
        part = base if take == len(base) else base.iloc[np.sort(rng.choice(len(base), take, replace=False))]
        part = part.copy()
        tag = f"r{copy:03d}"
        for column in ("account_id", "org_id", "api_key_id"):
            part[column] = part[column] + "-" + tag
        part["request_id"] = [f"req-{tag}-{i:08d}" for i in range(len(part))]
        part["ts"] = part["ts"] + pd.Timedelta(days=30 * copy)
        for day, chunk in part.groupby(part["ts"].dt.strftime("%Y-%m-%d")):
            folder = out / f"day={day}"
            folder.mkdir(parents=True, exist_ok=True)
            chunk.to_parquet(folder / f"part-{tag}.parquet", index=False, compression="zstd")
        written += len(part)
        copy += 1
        del part
    return written


class PeakMemory:
    """Peak resident memory of this process and all its children, sampled every 0.2 s."""

    def __init__(self):
        self.peak, self._stop = 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for p in [me, *me.children(recursive=True)]:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    continue
            self.peak = max(self.peak, total)
            time.sleep(0.2)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def run_stages(files: list[Path], workers: int, mem: PeakMemory, seed: int = 0) -> tuple[dict, dict]:
    """Seconds and peak memory (bytes) of each stage."""
    mapping = ColumnMapping()
    rng = np.random.default_rng(seed)
    seconds, peaks = {}, {}

    def done(stage: str, t: float) -> None:
        seconds[stage] = time.monotonic() - t
        peaks[stage], mem.peak = mem.peak, 0

    # one worker: the synchronous scheduler (no pool to start); more: a process pool, because the
    # per-row features are Python and threads would share one interpreter lock
    with dask_scheduler("synchronous" if workers == 1 else "processes", None if workers == 1 else workers):
        t = time.monotonic()
        tables = aggregate(files, mapping)
        done("cheap features + aggregation (every row)", t)
        t = time.monotonic()
        candidates, extra = pick_candidates(tables, None, 1e-3, 3000, rng=rng)
        sample = sample_prompts(files, mapping, candidates + extra, 48)
        done("content sample (filtered second read)", t)
    t = time.monotonic()
    result = decide("scale", tables, sample, candidates, fpr=1e-3, rng=rng)
    done("content features, graph, scoring (in memory)", t)
    seconds["_flagged"] = len(result.flagged)
    seconds["_accounts"] = len(result.accounts)
    seconds["_sampled"] = len(sample)
    return seconds, peaks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--project-workers", type=int, default=16, help="workers assumed for the 16M projection")
    parser.add_argument("--dev", default=str(DEV))
    parser.add_argument("--keep", help="build the log in this folder and keep it (default: a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep or tmp) / "log"
        t = time.monotonic()
        with PeakMemory() as mem:
            rows = build_log(Path(args.dev), args.rows, folder)
        size = sum(p.stat().st_size for p in folder.rglob("*.parquet"))
        print(
            f"built {rows} rows in {len(log_files(folder))} files ({size / 1e6:.0f} MB zstd Parquet) "
            f"in {time.monotonic() - t:.0f} s, peak memory {mem.peak / 1e9:.2f} GB"
        )
        print(f"machine: {os.cpu_count()} cores (shared with other processes; figures are wall-clock)")
        files = log_files(folder)
        results = {}
        for w in args.workers:
            with PeakMemory() as mem:
                seconds, peaks = run_stages(files, w, mem)
            results[w] = seconds
            print(
                f"\n{w} worker(s): peak memory {max(peaks.values()) / 1e9:.2f} GB (this process and its workers), "
                f"{seconds['_accounts']} accounts, {seconds['_sampled']} prompts sampled, {seconds['_flagged']} flagged"
            )
            for stage, s in seconds.items():
                if not stage.startswith("_"):
                    print(f"  {stage:<48} {s:8.1f} s  {rows / s:10.0f} rows/s  peak {peaks[stage] / 1e9:5.2f} GB")
            total = sum(s for k, s in seconds.items() if not k.startswith("_"))
            print(f"  {'total':<48} {total:8.1f} s  {rows / total:10.0f} rows/s")
        w = max(results)
        per_row = sum(s for k, s in results[w].items() if not k.startswith("_") and "in memory" not in k) / rows
        in_memory = results[w]["content features, graph, scoring (in memory)"]
        projected = per_row * PROJECT_ROWS * w / args.project_workers + in_memory * PROJECT_ROWS / rows
        print(
            f"\nprojection for {PROJECT_ROWS:,} requests on {args.project_workers} workers: {projected / 60:.1f} min "
            f"(the Dask stages from the {w}-worker rate, assumed to scale linearly with workers; the in-memory "
            "stage scaled linearly with rows on one core)"
        )


if __name__ == "__main__":
    main()
