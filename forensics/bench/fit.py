"""The engine's learned parameters: fitted on real corpora, refitted under cross-validation, never on the pair scored.

What is learned is small on purpose (docs/methods.md): the weights of the signals in the combined
contrast, chosen from a coarse grid, and the width factor ``kappa`` of the null, the smallest that
keeps the rejection rate of real negative pairs at or below ``FPR_TARGET`` times alpha. Both are
fitted from the scored pairs' model-level contrasts, which :func:`pair_contrasts` computes once.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import stats
from sklearn.metrics import roc_auc_score

from forensics.signals import ClosenessStore
from forensics.stats import prior_variance
from forensics.verdict import EngineParams
from forensics.verdict.design import contrasts, pair_design

FIT_SIGNALS = ("habits", "lexical", "style", "idiosyncratic")  # the signals the grid may weigh
WEIGHT_GRID = (0.0, 1.0)  # each in or out: few enough choices that 21 students can settle them
KAPPA_GRID = tuple(np.round(np.arange(1.0, 3.01, 0.05), 2))
FPR_TARGET = 0.5  # kappa keeps the dev negatives' rejection rate at or below this share of alpha


@dataclass(frozen=True)
class PairContrasts:
    """One scored pair's model-level contrasts: signal -> [1 + K, C] (row 0 the suspect, column 0 R),
    each signal divided by its per-prompt spread, as the contrast test combines them."""

    corpus: str
    reference: str
    suspect: str
    kind: str
    units: tuple[str, ...]
    T: Mapping[str, np.ndarray]
    n_defined: Mapping[str, int]


def pair_contrasts(
    corpus_name: str,
    store: ClosenessStore,
    pairs: Iterable[tuple[str, str, str, Sequence[str]]],
    families: Mapping[str, str],
    signals: Sequence[str],
    prompt_ids: Sequence[str],
) -> list[PairContrasts]:
    """(reference, suspect, kind, panel) -> :class:`PairContrasts`, through the engine's own design."""
    out = []
    for reference, suspect, kind, panel in pairs:
        design, _ = pair_design(reference, suspect, panel, families)
        D = contrasts(store, design, signals, prompt_ids)
        T, n_def = {}, {}
        with np.errstate(all="ignore"):
            for g, X in D.items():
                spread = np.nanstd(X)
                T[g] = np.nanmean(X / spread, axis=-1) if spread > 0 else np.full(X.shape[:2], np.nan)
                n_def[g] = int(np.isfinite(X[:, 0, :]).sum(-1).min())
        out.append(PairContrasts(corpus_name, reference, suspect, kind, design.units, T, n_def))
    return out


def pair_statistic(pc: PairContrasts, weights: Mapping[str, float]) -> tuple[float, float, float]:
    """(score, t, df) of the combined contrast test of one pair, without the prompt-noise floor."""
    sel = [g for g, w in weights.items() if w > 0 and g in pc.T and pc.n_defined[g] >= 3 and np.isfinite(pc.T[g]).any()]
    K = len(pc.units)
    if not sel:
        return float("nan"), float("nan"), float("nan")
    T = sum(weights[g] * np.nan_to_num(pc.T[g]) for g in sel) / sum(weights[g] for g in sel)
    score = float(T[0, 0])
    if K < 2:
        return score, float("nan"), float("nan")
    v = T[1:].var(axis=0, ddof=1)
    C = T.shape[1]
    d0, s02 = prior_variance(v[1:], K - 1) if C > 1 else (0.0, float("nan"))
    d0 = min(d0, float((K - 1) * (C - 1)), float(K - 1))
    s2 = (d0 * s02 + (K - 1) * v[0]) / (d0 + K - 1) if d0 > 0 else v[0]
    with np.errstate(all="ignore"):
        t = float((T[0, 0] - T[1:, 0].mean()) / np.sqrt((1 + 1 / K) * s2))
    return score, t, float(d0 + K - 1)


def _rates(rows, kappa: float, alpha: float) -> tuple[float, float]:
    """(TPR, FPR) at ``kappa`` over rows of (kind, score, t, df)."""
    kinds = np.array([r[0] for r in rows])
    t = np.array([r[2] for r in rows], dtype=float)
    df = np.array([r[3] for r in rows], dtype=float)
    ok = np.isfinite(t)
    with np.errstate(all="ignore"):
        reject = ok & (stats.t.sf(np.where(ok, t, 0.0) / kappa, np.where(ok, df, 1.0)) < alpha)
    pos, neg = ok & (kinds == "positive"), ok & (kinds == "negative")
    return (float(reject[pos].mean()) if pos.any() else 0.0, float(reject[neg].mean()) if neg.any() else 0.0)


def _auc(rows, col: int) -> float:
    """AUC of column ``col`` (1 score, 2 t) of positives against negatives, per corpus, averaged."""
    out = []
    for corpus in sorted({r[0] for r in rows}):
        sel = [r for r in rows if r[0] == corpus and r[1] in ("positive", "negative")]
        y = [r[1] == "positive" for r in sel]
        if 0 < sum(y) < len(y):
            x = np.array([r[col + 1] for r in sel], dtype=float)
            out.append(roc_auc_score(y, np.where(np.isfinite(x), x, -1e9)))
    return float(np.mean(out)) if out else 0.0


def choose_kappa(rows, alpha: float) -> float:
    """The smallest kappa of the grid whose FPR on the negatives is at most ``FPR_TARGET`` * alpha."""
    neg = [r for r in rows if r[0] == "negative" and np.isfinite(r[2])]
    if not neg:
        return float(KAPPA_GRID[0])
    t = np.array([r[2] for r in neg])
    df = np.array([r[3] for r in neg])
    for kappa in KAPPA_GRID:
        if np.mean(stats.t.sf(t / kappa, df) < alpha) <= FPR_TARGET * alpha:
            return float(kappa)
    return float(KAPPA_GRID[-1])


def fit_params(
    pcs: Sequence[PairContrasts], alpha: float = 0.05, signals: Sequence[str] = FIT_SIGNALS
) -> tuple[dict[str, float], float]:
    """Weights (grid search maximising the TPR at the fitted kappa, then the mean per-corpus AUC of
    the score) and kappa, from the scored pairs ``pcs``."""
    signals = [g for g in signals if any(g in pc.T for pc in pcs)]
    best = None
    for combo in itertools.product(WEIGHT_GRID, repeat=len(signals)):
        if not any(combo):
            continue
        w = dict(zip(signals, combo))
        if max(combo) < 1.0:  # the same direction as a scaled-up combination already tried
            continue
        rows = [(pc.corpus, pc.kind, *pair_statistic(pc, w)) for pc in pcs]
        kappa = choose_kappa([r[1:] for r in rows], alpha)
        tpr, _ = _rates([r[1:] for r in rows], kappa, alpha)
        key = (round(tpr, 6), round(_auc(rows, 1), 6), -sum(combo))
        if best is None or key > best[0]:
            best = (key, w, kappa)
    if best is None:
        raise ValueError("no scored pair to fit the engine on")
    return {g: v for g, v in best[1].items() if v > 0}, best[2]


def data_digest(folder: Path | str) -> str:
    """SHA-256 over a corpus folder's files (names and bytes): what ``fitted_on`` records."""
    h = hashlib.sha256()
    for path in sorted(Path(folder).glob("*.jsonl")):
        h.update(path.name.encode() + b"\0")
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def params_for(
    pcs_all: Sequence[PairContrasts],
    held_out: str,
    shipped: EngineParams,
    corpus_digests: Mapping[str, str],
    alpha: float,
) -> tuple[EngineParams, bool]:
    """The parameters to score ``held_out``'s pairs with, and whether they were refitted.

    When the shipped parameters were fitted on a corpus of this run (same name and content), they
    saw ``held_out``: refit them on every pair of the run whose suspect is another model."""
    seen = [c for c, d in corpus_digests.items() if shipped.fitted_on.get(c) == d]
    if not seen:
        return shipped, False
    train = [pc for pc in pcs_all if pc.suspect != held_out]
    weights, kappa = fit_params(train, alpha)
    return EngineParams(weights, kappa, note=f"refitted without {held_out}"), True
