"""Run the lineage benchmark (detection AUC, calibration, teacher attribution, sample efficiency).

    .venv/bin/python benchmarks/lineage.py [--data ../shared/benchmarks/dev] [--seeds 3] [--json out.json]

The data stay where they are (``../shared/benchmarks/dev`` beside the checkout by default); the
protocol is described in that folder's README and implemented in :mod:`forensics.bench`.
Set ``FORENSICS_CACHE_DIR`` to choose where response embeddings are cached.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from forensics.cli.bench import add_bench_parser, run_bench  # noqa: E402


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--data" not in argv:
        argv += ["--data", str(ROOT.parent / "shared" / "benchmarks" / "dev")]
    parser = argparse.ArgumentParser(prog="benchmarks/lineage.py")
    add_bench_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["bench", "lineage", *argv])
    start = time.time()
    code = run_bench(args)
    print(f"wall time: {time.time() - start:.0f} s")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
