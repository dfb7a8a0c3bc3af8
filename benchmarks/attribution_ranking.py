"""What should rank candidate teachers when the panel is thin? Top-1 family on dev, by panel size.

    .venv/bin/python benchmarks/attribution_ranking.py [--data ../shared/benchmarks/dev] [--corpus alpaca_eval]

Each student is attributed among all the corpus's references, with its independent models cut to
random subsets of 1, 2 and 3 (``--draws`` each) and then all of them, and the top candidate taken by
three rankings of the same pair verdicts:

* ``score``: the suspect's own contrast (what attribution ships);
* ``excess``: that contrast less the independent models' mean contrast towards the candidate;
* ``eb``: less an empirical-Bayes share of that mean, tau^2 / (tau^2 + noise), noise being the
  variance of a candidate's centred mean over K models and tau^2 the spread of the means beyond it.

Nothing is fitted. The figures are in docs/methods.md (attribution, step 1).
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from forensics.bench import lineage_pairs  # noqa: E402
from forensics.corpus import load_benchmark_corpus, load_lineage  # noqa: E402
from forensics.signals import ClosenessStore  # noqa: E402
from forensics.verdict import AnalysisSettings, analyse  # noqa: E402


def eb_weight(tests: dict) -> float:
    """tau^2 / (tau^2 + noise) over the candidates' independent-model means (0 when undefined)."""
    names = [c for c, t in tests.items() if t.defined and t.unit_values]
    units = sorted(set.intersection(*(set(tests[c].unit_values) for c in names))) if names else []
    if len(units) < 2 or len(names) < 2:
        return 0.0
    U = np.array([[tests[c].unit_values[u] for c in names] for u in units])
    K, C = U.shape
    S = np.cov(U, rowvar=False, ddof=1)
    noise = float(np.trace(S) - S.sum() / C) / (K * (C - 1))
    tau2 = float(np.var(U.mean(axis=0), ddof=1)) - noise
    return tau2 / (tau2 + noise) if tau2 > 0 else 0.0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "benchmarks" / "dev"))
    ap.add_argument("--corpus", default="alpaca_eval")
    ap.add_argument("--draws", type=int, default=6)
    args = ap.parse_args(argv)
    data = Path(args.data)
    if not (data / args.corpus).is_dir():
        print(f"{data / args.corpus}: not there (the dev data lives in ../shared/benchmarks)", file=sys.stderr)
        return 2
    corpus = load_benchmark_corpus(data / args.corpus)
    spec = lineage_pairs({m: i for m, i in load_lineage(data)[args.corpus].items() if m in corpus.responses})
    refs, fam, ind = spec["references"], spec["families"], spec["independents"]
    store = ClosenessStore(corpus, models=sorted(set(refs) | set(spec["students"]) | set(ind)))
    settings = AnalysisSettings(n_resamples=1)  # rankings only: no bootstrap needed
    pids = sorted(corpus.prompts)
    rng = np.random.default_rng(0)
    print(f"{args.corpus}: {len(spec['students'])} students, {len(refs)} candidates, {len(ind)} independents")
    for m in [k for k in (1, 2, 3) if k < len(ind)] + [len(ind)]:
        combos = list(itertools.combinations(ind, m))
        rng.shuffle(combos)
        right = {"score": 0, "excess": 0, "eb": 0}
        weights, n = [], 0
        for combo in combos[: args.draws]:
            for s, teacher_family in sorted(spec["students"].items()):
                tests = {}
                for r in refs:
                    pan = list(combo) + [x for x in refs if fam[x] != fam[r]]
                    v = analyse(corpus, r, s, pan, rng=0, settings=settings, families=fam, prompt_ids=pids, store=store)
                    tests[r] = v.test
                w = eb_weight(tests)
                weights.append(w)
                # the independents' mean contrast (with one independent the test is undefined, its excess is not)
                centre = {r: t.suspect_value - t.excess if np.isfinite(t.excess) else 0.0 for r, t in tests.items()}
                for name, share in (("score", 0.0), ("excess", 1.0), ("eb", w)):
                    value = {r: tests[r].suspect_value - share * centre[r] for r in refs}
                    top = max(sorted(value), key=lambda r: value[r] if np.isfinite(value[r]) else -np.inf)
                    right[name] += fam[top] == teacher_family
                n += 1
        figures = ", ".join(f"{k} {v}/{n}" for k, v in right.items())
        print(f"  {m} independent(s): right family first: {figures}; eb weight {np.mean(weights):.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
