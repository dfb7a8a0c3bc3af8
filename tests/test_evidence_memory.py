"""Memory of ``verify`` and ``import`` grows with the longest line, about once, not with copies of it.

A smaller case of the 200 MB bound (``benchmarks/evidence_memory.py`` prints the full figures): a
30 MB single-line answer, made up here, must cost each command at most 1.5 times its size (plus a
little slack) over the process that only starts the command line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

SENTENCE = "A test answer made up by tests/test_evidence_memory.py, repeated.\n"
MB = 30


def _peak_mb(argv: list[str], env: dict) -> tuple[int, float, str]:
    code = "import sys; from forensics.cli import main; sys.exit(main(sys.argv[1:]))"
    script = (
        "import resource, subprocess, sys; "
        f"p = subprocess.run([sys.executable, '-c', {code!r}, *sys.argv[1:]], capture_output=True, text=True); "
        "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); print(p.stderr, file=sys.stderr)"
    )
    out = subprocess.run([sys.executable, "-c", script, *argv], env=env, capture_output=True, text=True, timeout=300)
    rc, kb = out.stdout.split()
    return int(rc), int(kb) / 1024, out.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss in kB is Linux's")
def test_verify_and_import_of_a_single_huge_line_stay_within_one_and_a_half_lines(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "_prompts.jsonl").write_text('{"prompt_id": "p1", "prompt": "Say a lot."}\n', encoding="utf-8")
    text = SENTENCE * (MB * 1_000_000 // len(SENTENCE))
    (corpus / "huge.jsonl").write_text(json.dumps({"prompt_id": "p1", "response": text}) + "\n", encoding="utf-8")
    del text
    env = {**os.environ, "FORENSICS_HOME": str(tmp_path / "home")}
    log = tmp_path / "huge-log.jsonl"
    _, baseline, _ = _peak_mb(["--help"], env)
    rc, imported, err = _peak_mb(["import", "benchmark", str(corpus), "--out", str(log)], env)
    assert rc == 0, err
    line_mb = log.stat().st_size / 2**20
    assert line_mb > MB * 0.9
    rc, verified, err = _peak_mb(["verify", str(log)], env)
    assert rc == 0, err
    bound = 1.5 * line_mb + 15
    assert imported - baseline < bound, (imported, baseline, line_mb)
    assert verified - baseline < bound, (verified, baseline, line_mb)
