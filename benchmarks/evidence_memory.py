"""Peak memory of ``forensics verify`` and ``forensics import`` on a log whose one record is a single huge line.

Each measurement runs in a fresh subprocess (``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss``), next to a
baseline subprocess that only imports the command line, so the figure printed is the whole process's peak
and the part the line adds. The answer text is made up here (one repeated sentence), not any model's.

    python benchmarks/evidence_memory.py --mb 200
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

SENTENCE = "A test answer made up by benchmarks/evidence_memory.py, repeated.\n"


def make_source(folder: Path, mb: int) -> Path:
    """A benchmark-layout corpus with one model whose single answer is ``mb`` MB on one line."""
    corpus = folder / "corpus"
    corpus.mkdir()
    (corpus / "_prompts.jsonl").write_text('{"prompt_id": "p1", "prompt": "Say a lot."}\n', encoding="utf-8")
    text = SENTENCE * (mb * 1_000_000 // len(SENTENCE))
    (corpus / "huge-model.jsonl").write_text(json.dumps({"prompt_id": "p1", "response": text}) + "\n", encoding="utf-8")
    return corpus


def peak_mb(argv: list[str], env: dict) -> tuple[int, float]:
    """(exit code, peak resident MB) of ``python -c <run argv>`` in a fresh process."""
    code = "import sys; from forensics.cli import main; sys.exit(main(sys.argv[1:]))"
    script = (
        "import resource, subprocess, sys; "
        f"rc = subprocess.run([sys.executable, '-c', {code!r}, *sys.argv[1:]], stdout=subprocess.DEVNULL).returncode; "
        "print(rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    out = subprocess.run([sys.executable, "-c", script, *argv], env=env, capture_output=True, text=True, check=True)
    rc, kb = out.stdout.split()
    return int(rc), int(kb) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=200, help="size of the single line, in MB")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        env = {**os.environ, "FORENSICS_HOME": str(tmp / "home")}
        corpus = make_source(tmp, args.mb)
        log = tmp / "huge.jsonl"
        _, baseline = peak_mb(["--help"], env)
        rc_import, import_peak = peak_mb(["import", "benchmark", str(corpus), "--out", str(log)], env)
        rc_verify, verify_peak = peak_mb(["verify", str(log)], env)
        line = max(len(x) for x in log.read_bytes().split(b"\n")) / 1e6 if log.exists() else 0.0
    print(f"single line in the log: {line:.0f} MB; baseline (forensics --help): {baseline:.0f} MB peak RSS")
    print(f"import: exit {rc_import}, peak RSS {import_peak:.0f} MB ({import_peak - baseline:+.0f} MB over baseline)")
    print(f"verify: exit {rc_verify}, peak RSS {verify_peak:.0f} MB ({verify_peak - baseline:+.0f} MB over baseline)")


if __name__ == "__main__":
    main()
