"""Every figure the quickstart prints is the same under other thread settings (as on another machine).

nbval compares printed digits, so a figure that moves with the thread count (floating-point
reductions, embedding kernels) fails a newcomer's first ``make test``. The quickstart's analysis runs
twice, each in a fresh process with its own empty embedding cache, once on one OpenMP/BLAS/torch
thread and once on two, and every printed line must agree.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import sys, torch
    torch.set_num_threads(int(sys.argv[1]))
    from forensics.features import get_embedder
    get_embedder().num_threads = int(sys.argv[1])  # pinned: 'auto' would follow the machine's load
    from forensics.notebook import load_case
    from forensics.notebook.alpaca_case import ALPACA_CASE_DIR, run_investigation, summary_lines
    case = load_case(ALPACA_CASE_DIR)
    result = run_investigation(case.directory, sys.argv[2], seed=0)
    print("\\n".join(summary_lines(result, case)))
    """
)


def _run(threads: int, tmp_path) -> str:
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    env["FORENSICS_CACHE_DIR"] = str(tmp_path / f"cache-{threads}")  # nothing embedded before
    env["FORENSICS_HOME"] = str(tmp_path / f"home-{threads}")
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(threads), str(tmp_path / f"out-{threads}")],
        capture_output=True,
        text=True,
        env=env,
        timeout=1200,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


@pytest.mark.slow
def test_the_quickstart_prints_the_same_figures_on_one_thread_and_on_two(tmp_path):
    one, two = _run(1, tmp_path), _run(2, tmp_path)
    assert one.strip(), "the quickstart printed nothing"
    assert "p " in one and "vs" in one  # the lines carry figures, not only names
    assert one.splitlines() == two.splitlines()
