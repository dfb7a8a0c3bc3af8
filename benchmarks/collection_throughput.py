"""Requests per second of the collection engine against the real local SmolLM2 server.

    .venv/bin/python benchmarks/collection_throughput.py --probes 24 --max-tokens 32 --concurrency 1 4

llama.cpp's server handles one request at a time, so higher concurrency mostly measures the
engine's overhead and queueing, not parallel generation.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from forensics.evidence import collect
from forensics.probes import load_probe_sets, select_probes
from forensics.providers import Decoding, llama_server, smollm2_gguf


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--probes", type=int, default=24, help="probes per run (spread over the sets)")
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4])
    args = parser.parse_args()
    sets = load_probe_sets()
    sets = select_probes(sets, per_family=max(1, args.probes // len(sets)))
    with llama_server(smollm2_gguf()) as base_url, tempfile.TemporaryDirectory() as tmp:
        for c in args.concurrency:
            summary = collect(
                f"openai-compatible:smollm2@{base_url}",
                sets,
                Path(tmp) / f"c{c}.jsonl",
                Decoding(max_tokens=args.max_tokens),
                concurrency=c,
                progress=False,
            )
            print(
                f"concurrency {c}: {summary.succeeded} requests in {summary.wall_s:.1f}s = "
                f"{summary.requests_per_s:.2f} req/s ({summary.failed} failed)"
            )


if __name__ == "__main__":
    main()
