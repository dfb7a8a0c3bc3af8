"""Resampling tools every test shares: the generator's recorded state, prompt bootstraps, Monte Carlo p-values."""

from __future__ import annotations

import hashlib
import json

import numpy as np


def rng_description(rng: np.random.Generator) -> dict:
    """How to recognise the generator state a result was computed from (taken before any draw)."""
    bitgen = rng.bit_generator
    state = bitgen.state
    digest = hashlib.sha256(json.dumps(state, sort_keys=True, default=str).encode()).hexdigest()[:16]
    seed = None
    seed_seq = getattr(bitgen, "seed_seq", None) or getattr(bitgen, "_seed_seq", None)
    if seed_seq is not None and getattr(seed_seq, "entropy", None) is not None:
        seed = int(seed_seq.entropy) if np.ndim(seed_seq.entropy) == 0 else [int(x) for x in seed_seq.entropy]
    return {"bit_generator": type(bitgen).__name__, "seed_entropy": seed, "state_sha256": digest}


def bootstrap_counts(n: int, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """[B, n] multiplicities of an ordinary bootstrap over n prompts."""
    if n == 0:
        return np.zeros((n_resamples, 0))
    return rng.multinomial(n, np.full(n, 1.0 / n), size=n_resamples).astype(float)


def ratio(num: np.ndarray, var: np.ndarray) -> np.ndarray:
    """num / sqrt(var), with +-inf (or 0 for 0/0) where the variance is zero."""
    with np.errstate(all="ignore"):
        return np.where(var > 0, num / np.sqrt(var), np.where(num > 0, np.inf, np.where(num < 0, -np.inf, 0.0)))


def mc_pvalue(null: np.ndarray, observed: float) -> float:
    """Monte Carlo p-value (1 + #{null >= observed}) / (B + 1)."""
    if np.isnan(observed):
        return float("nan")
    exceed = np.sum(~(null < observed))  # NaN draws count as exceedances (conservative)
    return float((1 + exceed) / (null.shape[0] + 1))
