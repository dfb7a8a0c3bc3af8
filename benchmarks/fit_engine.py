"""Fit the engine's learned parameters on the real dev corpora and write ``engine_params.json``.

    python benchmarks/fit_engine.py --data ../shared/benchmarks/dev [--out forensics/verdict/engine_params.json]

What is fitted (docs/methods.md): which signals the combined contrast weighs (each in or out) and
the width factor kappa of its null. The fit uses every scored pair of the protocol (students
against their closest reference, independent models against every reference); it prints the
leave-one-suspect-out cross-validated figures, each suspect scored with parameters fitted without
it, and records them with the digests of the data fitted on.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats

from forensics.bench.fit import FIT_SIGNALS, FPR_TARGET, data_digest, fit_params, pair_contrasts, pair_statistic
from forensics.bench.lineage import lineage_pairs
from forensics.corpus import load_benchmark_corpus, load_lineage
from forensics.evidence import write_output_atomic
from forensics.features import Features
from forensics.signals import ClosenessStore
from forensics.verdict import EngineParams
from forensics.verdict.settings import PARAMS_FILE


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="benchmark split folder (with lineage.json)")
    ap.add_argument("--out", default=str(PARAMS_FILE), help="where to write the fitted parameters")
    ap.add_argument("--alpha", type=float, default=0.05)
    args = ap.parse_args(argv)
    data = Path(args.data)
    lineage = load_lineage(data)
    pcs, digests = [], {}
    t0 = time.perf_counter()
    for name in sorted(n for n in lineage if (data / n / "_prompts.jsonl").is_file()):
        corpus = load_benchmark_corpus(data / name)
        spec = lineage_pairs({m: i for m, i in lineage[name].items() if m in corpus.responses})
        pairs = [(r, s, k, spec["panels"][(r, s)]) for r, s, k in spec["pairs"] if k in ("positive", "negative")]
        if not pairs:
            continue
        needed = sorted(set(spec["references"]) | set(spec["students"]) | set(spec["independents"]))
        features = Features(corpus)
        features.precompute(needed, sorted(corpus.prompts))
        store = ClosenessStore(corpus, features, needed)
        pcs += pair_contrasts(name, store, pairs, spec["families"], FIT_SIGNALS, sorted(corpus.prompts))
        digests[name] = data_digest(data / name)
        print(f"{name}: {len(pairs)} scored pairs ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
    weights, kappa = fit_params(pcs, args.alpha)
    print(f"fitted on every pair: weights {weights}, kappa {kappa}")
    # leave-one-suspect-out: each suspect's pairs scored with parameters fitted without it
    tp = fp = n_pos = n_neg = 0
    folds: dict[str, int] = {}
    for suspect in sorted({pc.suspect for pc in pcs}):
        w, k = fit_params([pc for pc in pcs if pc.suspect != suspect], args.alpha)
        folds[f"{sorted(w.items())} kappa {k}"] = folds.get(f"{sorted(w.items())} kappa {k}", 0) + 1
        for pc in pcs:
            if pc.suspect != suspect:
                continue
            _, t, df = pair_statistic(pc, w)
            if not np.isfinite(t):
                continue
            reject = bool(stats.t.sf(t / k, df) < args.alpha)
            if pc.kind == "positive":
                n_pos, tp = n_pos + 1, tp + reject
            else:
                n_neg, fp = n_neg + 1, fp + reject
    cv = {
        "protocol": "leave one suspect out over every scored pair of the dev corpora",
        "tpr": f"{tp}/{n_pos}",
        "fpr": f"{fp}/{n_neg}",
        "fold_parameters": folds,
        "fpr_target": f"{FPR_TARGET} x alpha = {FPR_TARGET * args.alpha:g}",
    }
    print(f"cross-validated: TPR {tp}/{n_pos}, FPR {fp}/{n_neg} (testable pairs)")
    for fold, n in sorted(folds.items(), key=lambda kv: -kv[1]):
        print(f"  {n:3d} folds chose {fold}")
    params = EngineParams(
        weights,
        kappa,
        fitted_on=digests,
        cross_validation=cv,
        note=f"fitted by benchmarks/fit_engine.py on {', '.join(digests)}",
    )
    text = json.dumps(params.to_dict(), indent=2, sort_keys=True) + "\n"
    write_output_atomic(args.out, text, suffixes=(".json",))
    print(f"wrote {args.out} ({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
