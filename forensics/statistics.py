"""Calibrated tests: is the suspect closer to the reference than an independent model would be?

The null hypothesis, and why the panel, not the prompts, calibrates it
---------------------------------------------------------------------
H0: *the suspect S is no closer to the reference R than an independent model is.* Independent
models differ systematically: a strong model is closer to any reference on almost every prompt,
a terse one is closer to a terse reference. The tempting per-prompt test (swap S's and a panel
member's responses prompt by prompt, or bootstrap prompts and ask whether S beats the panel mean)
only tests "S differs from these particular panel models"; with hundreds of prompts it rejects
for any model that is systematically a little different, so it is anti-conservative. The unit
of replication for H0 is the *model*: under H0, S is one more draw from the population of
independent models that the control panel samples.

The statistic
-------------
Every model m (S and the K panel members) gets one model-level statistic per signal, ``T_m`` =
mean over prompts of its per-prompt closeness to R. For continuous signals each prompt is first
centred on the mean of all K+1 compared models and scaled by that prompt's spread (shrunk half-way
to the median spread), which removes "everyone says similar things on this prompt" and lets noisy
prompts weigh less; every step is symmetric in S and the panel. The per-signal test statistic is
the studentised *prediction* statistic

    t = (T_S - mean(T_panel)) / sqrt(max((1 + 1/K) * var(T_panel), se_D**2))

the classic test of whether a new observation comes from the population a sample of K was drawn
from. ``se_D`` is the prompt-bootstrap standard error of ``T_S - mean(T_panel)``; it only matters
when the panel is (nearly) degenerate, e.g. no panel member ever claims R's identity, and then
the test relies on the prompt-level noise instead of dividing by zero: a suspect that makes the
claim once among 800 prompts is not evidence, twelve times is.

Calibration
-----------
If the model-level statistics of independent models are exchangeable and Gaussian (any common
prompt effects cancel in the difference and the variance), the un-floored statistic follows
Student's t with K-1 degrees of freedom *exactly*, whatever the prompt noise and the number of
prompts. The floor can only shrink |t|, so the floored statistic is stochastically smaller and
t(K-1) stays a valid (then conservative) reference. p-values are Monte Carlo p-values
``(1 + #{t* >= t}) / (B + 1)`` over B draws t* from t(K-1) made with the ``numpy.random.Generator``
passed in; its state before drawing is recorded in the result.

We deliberately do not plug an estimated model-effect variance into a parametric bootstrap, or
rank S among panel members resampled over prompts: with K of about 3-10 panel members the first
is anti-conservative (the plug-in variance is small exactly when the observed t is large) and the
second can never honestly go below 1/(K+1) while suggesting it can. The parametric (Gaussian
random-effects) assumption on the *model-level* statistics is what lets a strong suspect reach
small p-values with the few independent models one has; it is checked in the test-suite by
simulation and on the real benchmark's negative pairs.

Prompt resampling (the bootstrap over prompts, B resamples with the same generator) gives the
noise floor ``se_D``, percentile CIs of every effect size, and the reliability weights below.

Combining signals without assuming independence
-----------------------------------------------
Signals are combined at the model level: each signal's statistics are standardised over all K+1
models (mean and SD over suspect and panel alike, so exchangeability under H0 is preserved; an
outlying model can reach at most z = K/sqrt(K+1) on one signal, so no single degenerate signal
can dominate), and averaged with weights into one composite score per model. The composite of S
is then tested against the panel members' composites with the same prediction statistic and the
same t(K-1) reference (exact for fixed weights; the weights and scales used here are estimated
symmetrically from all K+1 models, which the simulations in the test-suite show keeps the
combined test calibrated). Because the panel's composites are computed exactly like S's, whatever
correlation the signals have (they are strongly correlated: a student that copies R's wording
also copies its embeddings) is reflected in the spread of the panel composites; no independence
or correlation estimate is needed. Weights default to 1 per signal times the signal's
*reliability* over the K+1 models: 1 - (prompt-bootstrap noise variance of a model's statistic) /
(variance of the statistic across models), a label-free quantity that silences signals whose
model differences are mostly prompt noise (e.g. refusal agreement on a corpus with a handful of
refusals). Signals undefined for some model (fewer than ``MIN_DEFINED_PROMPTS`` defined prompts)
get weight 0.

Assumptions, in words: the panel models are independent of R and exchangeable with an
independent suspect (a panel containing relatives of R makes the test conservative, a panel of
models that are all systematically *less* like R than independent models in general makes it
liberal); model-level statistics are roughly Gaussian across models; prompts are exchangeable.
Panel members that are snapshots of one model line should be passed as one ``groups`` unit, as
they are not independent draws. Attribution over several candidate references (in
:mod:`forensics.verdict`) controls the family-wise error with Holm's step-down procedure.
"""
from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from forensics.signals import SignalScores

__all__ = ["SignalTest", "CombinedTest", "ReplicateTest", "panel_test", "replicate_test", "prompt_matrix", "holm",
           "rng_description", "bootstrap_counts", "MIN_DEFINED_PROMPTS", "MIN_REPLICATE_PROMPTS"]

MIN_DEFINED_PROMPTS = 3  # a model needs this many defined prompts for a signal to be used
MIN_REPLICATE_PROMPTS = 20  # the replicate test's prompt bootstrap needs at least this many prompts


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


@dataclass
class SignalTest:
    """Panel-calibrated test of one signal (fields follow scipy.stats result conventions).

    ``statistic``: the studentised prediction statistic t. ``effect_size``: (T_S - mean T_panel) /
    panel SD (floored by the prompt noise), i.e. how many panel standard deviations S is closer to R.
    ``difference``: T_S - mean T_panel in the signal's (possibly per-prompt-standardised) units.
    ``ci``: prompt-bootstrap percentile interval of the effect size. ``null_distribution``: the
    Monte Carlo null draws of the statistic. ``top_prompts``/``top_records``: the prompts where S
    exceeds the panel most, with (suspect record, reference record) hashes.
    """

    name: str
    statistic: float
    effect_size: float
    difference: float
    ci: tuple[float, float]
    p_value: float
    null_distribution: np.ndarray
    n_resamples: int
    n_prompts: int
    n_panel: int
    suspect_value: float
    panel_values: dict[str, float]
    top_prompts: list[str] = field(default_factory=list)
    top_records: list[tuple[str | None, str | None]] = field(default_factory=list)
    ci_level: float = 0.95
    defined: bool = True
    description: str = ""
    rng_state: dict = field(default_factory=dict)
    note: str = ""

    @property
    def pvalue(self) -> float:  # scipy-style alias
        return self.p_value

    def to_dict(self, include_null: bool = False) -> dict:
        out = {k: getattr(self, k) for k in ("name", "statistic", "effect_size", "difference", "p_value",
                                              "n_resamples", "n_prompts", "n_panel", "suspect_value",
                                              "panel_values", "top_prompts", "ci_level", "defined",
                                              "description", "rng_state", "note")}
        out["ci"] = list(self.ci)
        out["top_records"] = [list(r) for r in self.top_records]
        if include_null:
            out["null_distribution"] = self.null_distribution.tolist()
        return _jsonable(out)


@dataclass
class CombinedTest:
    """The combined panel test over several signals, with the per-signal tests it was built from."""

    statistic: float
    effect_size: float
    ci: tuple[float, float]
    p_value: float
    null_distribution: np.ndarray
    n_resamples: int
    n_prompts: int
    n_panel: int
    weights: dict[str, float]
    signals: list[SignalTest]
    suspect: str
    reference: str
    panel: list[str]
    suspect_value: float = float("nan")
    panel_values: dict[str, float] = field(default_factory=dict)
    ci_level: float = 0.95
    rng_state: dict = field(default_factory=dict)
    method: str = "panel prediction t-test (Student t, K-1 df, Monte Carlo); prompt-bootstrap CIs and noise floor"

    @property
    def pvalue(self) -> float:
        return self.p_value

    @property
    def defined(self) -> bool:
        return bool(np.isfinite(self.statistic))

    def signal(self, name: str) -> SignalTest:
        for s in self.signals:
            if s.name == name:
                return s
        raise KeyError(name)

    def to_dict(self, include_null: bool = False) -> dict:
        out = {k: getattr(self, k) for k in ("statistic", "effect_size", "p_value", "n_resamples", "n_prompts",
                                              "n_panel", "weights", "suspect", "reference", "panel",
                                              "suspect_value", "panel_values", "ci_level", "rng_state", "method")}
        out["ci"] = list(self.ci)
        out["signals"] = [s.to_dict(include_null) for s in self.signals]
        if include_null:
            out["null_distribution"] = self.null_distribution.tolist()
        return _jsonable(out)


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        return float(obj) if np.isfinite(obj) else None
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    return obj


# ---------------------------------------------------------------------------------------------
# Prompt-level matrices
# ---------------------------------------------------------------------------------------------

def prompt_matrix(scores: SignalScores, models: Sequence[str]) -> np.ndarray:
    """Per-prompt values of ``models`` (rows in that order), standardised per prompt when the
    signal asks for it: centred on the models' mean on that prompt and divided by the prompt's
    spread, shrunk half-way towards the median spread over prompts (an empirical-Bayes guard
    against prompts where the few models happen to agree closely)."""
    V = scores.values[[scores.models.index(m) for m in models]].copy()
    if not scores.standardise or V.size == 0:
        return V
    finite = np.isfinite(V)
    count = finite.sum(0)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # prompts with no defined value
        mu = np.nanmean(np.where(finite, V, np.nan), axis=0)
        var = np.nanvar(np.where(finite, V, np.nan), axis=0, ddof=1)
    ok = count >= 2
    if not ok.any():
        return np.full_like(V, np.nan)
    var = np.where(ok & np.isfinite(var), var, np.nan)
    med = float(np.nanmedian(var)) if np.any(np.isfinite(var)) else 0.0
    if not med > 0:
        return np.where(ok[None], V - mu[None], np.nan)
    var = np.where(np.isfinite(var), 0.5 * var + 0.5 * med, med)
    Z = (V - mu[None]) / np.sqrt(var)[None]
    return np.where(ok[None] & finite, Z, np.nan)


def bootstrap_counts(n: int, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """[B, n] multiplicities of an ordinary bootstrap over n prompts."""
    if n == 0:
        return np.zeros((n_resamples, 0))
    return rng.multinomial(n, np.full(n, 1.0 / n), size=n_resamples).astype(float)


def _weighted_means(V: np.ndarray, W: np.ndarray | None) -> np.ndarray:
    """Model means of V [M, n] (NaN-aware); with W [B, n] bootstrap weights -> [B, M]."""
    finite = np.isfinite(V)
    Vf = np.where(finite, V, 0.0)
    if W is None:
        with np.errstate(all="ignore"):
            return Vf.sum(1) / finite.sum(1)
    with np.errstate(all="ignore"):
        return (W @ Vf.T) / (W @ finite.T.astype(float))


# ---------------------------------------------------------------------------------------------
# The statistic, vectorised over a leading batch axis
# ---------------------------------------------------------------------------------------------

def _studentise(T: np.ndarray, floor: np.ndarray, floor_c: float, w: np.ndarray, mu_all: np.ndarray,
                sd_all: np.ndarray):
    """T [..., M, k] (row 0 = suspect, rows 1.. = panel). Returns per-signal t [..., k], composite t
    [...], per-signal effect sizes [..., k], composite effect size [...], composite scores C [..., M].

    The composite standardises each signal with the *observed* mean and SD over all K+1 models
    (``mu_all``, ``sd_all``: symmetric in suspect and panel), held fixed for every bootstrap draw,
    so that it is the same linear combination of the signals in every draw."""
    K = T.shape[-2] - 1
    TS, TP = T[..., 0, :], T[..., 1:, :]
    diff = TS - TP.mean(-2)
    var_pred = np.maximum((1.0 + 1.0 / K) * TP.var(-2, ddof=1), floor ** 2)
    t = _ratio(diff, var_pred)
    eff = t * np.sqrt(1.0 + 1.0 / K)
    C = _composite_fixed(T, mu_all, sd_all, w)
    CS, CP = C[..., 0], C[..., 1:]
    tC = _ratio(CS - CP.mean(-1), np.maximum((1.0 + 1.0 / K) * CP.var(-1, ddof=1), floor_c ** 2))
    effC = tC * np.sqrt(1.0 + 1.0 / K)
    return t, tC, eff, effC, C


def _ratio(num: np.ndarray, var: np.ndarray) -> np.ndarray:
    """num / sqrt(var), with +-inf (or 0 for 0/0) where the variance is zero."""
    with np.errstate(all="ignore"):
        return np.where(var > 0, num / np.sqrt(var), np.where(num > 0, np.inf, np.where(num < 0, -np.inf, 0.0)))


def _composite_fixed(T: np.ndarray, mu: np.ndarray, sd: np.ndarray, w: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        Z = np.where(sd > 0, (T - mu) / sd, 0.0)
    return (Z * w).sum(-1) / w.sum()


def _mc_pvalue(null: np.ndarray, observed: float) -> float:
    """Monte Carlo p-value (1 + #{null >= observed}) / (B + 1)."""
    if np.isnan(observed):
        return float("nan")
    exceed = np.sum(~(null < observed))  # NaN draws count as exceedances (conservative)
    return float((1 + exceed) / (null.shape[0] + 1))


def panel_test(scores: Sequence[SignalScores] | SignalScores, suspect: str, panel: Sequence[str],
               rng: np.random.Generator, n_resamples: int = 1999, weights: Mapping[str, float] | None = None,
               ci_level: float = 0.95, top_k: int = 5, reliability_weights: bool = True,
               groups: Mapping[str, str] | None = None) -> CombinedTest:
    """Test H0 "``suspect`` is no closer to the reference than an independent model" for every
    signal in ``scores`` and for their combination, calibrated against ``panel``.

    ``scores`` must contain rows for the suspect and every panel member (extra rows are ignored).
    ``rng`` is used for the B = ``n_resamples`` prompt-bootstrap resamples and Monte Carlo null
    draws; its state before drawing is recorded in the result. ``groups`` (panel model -> label)
    averages panel members sharing a label into one panel unit. ``reliability_weights`` multiplies
    each signal's weight by its reliability (module docstring). ``weights`` (signal name -> weight,
    default 1 each) set the composite; undefined signals (a model with fewer than
    ``MIN_DEFINED_PROMPTS`` defined prompts) get weight 0 and a NaN p-value.
    See the module docstring for the method and its assumptions.
    """
    if isinstance(scores, SignalScores):
        scores = [scores]
    scores = list(scores)
    panel = [p for p in panel if p != suspect]
    models = [suspect] + list(panel)
    K = len(panel)
    rng_state = rng_description(rng)
    reference = scores[0].reference if scores else ""
    if not scores:
        raise ValueError("no signal scores to test")
    pids = scores[0].prompt_ids
    for s in scores:
        missing = [m for m in models if m not in s.models]
        if missing:
            raise ValueError(f"signal {s.name} has no scores for {missing}")
    n = len(pids)
    k = len(scores)

    mats = [prompt_matrix(s, models) for s in scores]
    defined = np.array([bool(np.all(np.isfinite(V).sum(1) >= MIN_DEFINED_PROMPTS)) for V in mats]) if K >= 2 \
        else np.zeros(k, dtype=bool)
    w = np.array([float((weights or {}).get(s.name, 1.0)) if ok else 0.0 for s, ok in zip(scores, defined)])

    W = bootstrap_counts(n, n_resamples, rng)
    T = np.full((len(models), k), np.nan)
    Tb = np.full((n_resamples, len(models), k), np.nan)
    for j, V in enumerate(mats):
        if defined[j]:
            T[:, j] = _weighted_means(V, None)
            Tb[:, :, j] = _weighted_means(V, W)
    # panel members of one group (e.g. snapshots of one vendor line) are one draw from the
    # population of independent models, not several: average them into one panel unit
    labels = [str((groups or {}).get(m, m)) for m in panel]
    units = list(dict.fromkeys(labels))
    if len(units) < len(panel):
        rows = [[1 + i for i, lab in enumerate(labels) if lab == u] for u in units]
        T = np.concatenate([T[:1], np.stack([T[r].mean(0) for r in rows])])
        Tb = np.concatenate([Tb[:, :1], np.stack([Tb[:, r].mean(1) for r in rows], axis=1)], axis=1)
        K = len(units)
        if K < 2:
            defined[:] = False
            w[:] = 0.0

    empty_null = np.full(n_resamples, np.nan)
    if not defined.any() or w.sum() <= 0:
        tests = [_undefined_test(s, n, K, n_resamples, rng_state, ci_level,
                                 "panel too small (need >= 2 members)" if K < 2 else "too few defined prompts")
                 for s in scores]
        return CombinedTest(float("nan"), float("nan"), (float("nan"), float("nan")), float("nan"), empty_null,
                            n_resamples, n, K, {s.name: 0.0 for s in scores}, tests, suspect, reference, list(panel),
                            ci_level=ci_level, rng_state=rng_state)

    cols = np.flatnonzero(defined)
    Td, Tbd, wd = T[:, cols], Tb[:, :, cols], w[cols]
    # prompt noise of each model's statistic (the part not shared by all models)
    delta = Tbd - Td[None]  # [B, M, k]
    M = Td.shape[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # resamples with no defined prompt
        own = delta - np.nanmean(delta, axis=1, keepdims=True)
        noise_var = np.nanmean(np.nanvar(own, axis=0, ddof=1), axis=0) * (M / (M - 1))
    noise_var = np.where(np.isfinite(noise_var), noise_var, 0.0)
    if reliability_weights:
        # weight = reliability of the signal's model-level statistic: the share of its spread
        # over all K+1 models (a symmetric quantity) that is not prompt noise
        v_all = Td.var(0, ddof=1)
        with np.errstate(all="ignore"):
            rel = np.where(v_all > 0, np.clip(1.0 - noise_var / v_all, 0.0, 1.0), 0.0)
        if (wd * rel).sum() > 0:
            wd = wd * rel
        w = w.copy()
        w[cols] = wd
    # prompt-noise floors: bootstrap SE of (T_S - mean panel), per signal and for the composite
    Db = Tbd[:, 0, :] - Tbd[:, 1:, :].mean(1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        floor = np.nanstd(Db, axis=0, ddof=1)
    floor = np.where(np.isfinite(floor), floor, 0.0)
    mu_all = Td.mean(0)
    sd_all = Td.std(0, ddof=1)
    Cb = _composite_fixed(Tbd, mu_all, sd_all, wd)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        floor_c = float(np.nanstd(Cb[:, 0] - Cb[:, 1:].mean(1), ddof=1)) if n_resamples > 1 else 0.0
    floor_c = floor_c if np.isfinite(floor_c) else 0.0

    t_obs, tC_obs, eff_obs, effC_obs, C_obs = _studentise(Td, floor, floor_c, wd, mu_all, sd_all)

    # --- Monte Carlo null: Student t with K-1 degrees of freedom (see module docstring) ----------
    null = rng.standard_t(K - 1, size=n_resamples)

    # --- prompt-bootstrap CIs -------------------------------------------------------------------
    alpha_ci = (1.0 - ci_level) / 2.0
    _, _, eff_b, effC_b, _ = _studentise(Tbd, floor, floor_c, wd, mu_all, sd_all)

    def _ci(x):
        x = x[np.isfinite(x)]
        if x.size < 2:
            return (float("nan"), float("nan"))
        return (float(np.quantile(x, alpha_ci)), float(np.quantile(x, 1 - alpha_ci)))

    tests: list[SignalTest] = []
    for j, s in enumerate(scores):
        if not defined[j]:
            tests.append(_undefined_test(s, n, K, n_resamples, rng_state, ci_level,
                                         "panel too small" if K < 2 else
                                         f"fewer than {MIN_DEFINED_PROMPTS} defined prompts for some model"))
            continue
        c = int(np.flatnonzero(cols == j)[0])
        V = mats[j]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # prompts no panel member answered
            contrib = V[0] - np.nanmean(V[1:], axis=0)
        order = [i for i in np.argsort(-np.nan_to_num(contrib, nan=-np.inf)) if np.isfinite(contrib[i])][:top_k]
        recs = s.records.get(suspect, [None] * n)
        tests.append(SignalTest(
            name=s.name, statistic=float(t_obs[c]), effect_size=float(eff_obs[c]),
            difference=float(Td[0, c] - Td[1:, c].mean()), ci=_ci(eff_b[:, c]),
            p_value=_mc_pvalue(null, float(t_obs[c])), null_distribution=null,
            n_resamples=n_resamples, n_prompts=int(np.isfinite(V[0]).sum()), n_panel=K,
            suspect_value=float(Td[0, c]), panel_values={m: float(v) for m, v in zip(units, Td[1:, c])},
            top_prompts=[s.prompt_ids[i] for i in order],
            top_records=[(recs[i] if recs else None, s.reference_records[i] if s.reference_records else None)
                         for i in order],
            ci_level=ci_level, defined=True, description=s.description, rng_state=rng_state))
    return CombinedTest(
        statistic=float(tC_obs), effect_size=float(effC_obs), ci=_ci(effC_b),
        p_value=_mc_pvalue(null, float(tC_obs)), null_distribution=null,
        n_resamples=n_resamples, n_prompts=n, n_panel=K,
        weights={s.name: float(w[j]) for j, s in enumerate(scores)}, signals=tests, suspect=suspect,
        reference=reference, panel=list(panel), suspect_value=float(C_obs[0]),
        panel_values={m: float(v) for m, v in zip(units, C_obs[1:])}, ci_level=ci_level, rng_state=rng_state)


def _undefined_test(s: SignalScores, n: int, K: int, B: int, rng_state: dict, ci_level: float, note: str) -> SignalTest:
    nan = float("nan")
    return SignalTest(name=s.name, statistic=nan, effect_size=nan, difference=nan, ci=(nan, nan), p_value=nan,
                      null_distribution=np.full(0, nan), n_resamples=B, n_prompts=n, n_panel=K, suspect_value=nan,
                      panel_values={}, ci_level=ci_level, defined=False, description=s.description,
                      rng_state=rng_state, note=note)


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm step-down adjusted p-values (NaN stays NaN and is not counted as a hypothesis)."""
    p = np.asarray(p_values, dtype=float)
    out = np.full_like(p, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = ok.size
    if m == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out


# ---------------------------------------------------------------------------------------------
# The replicate test: is S as close to R as R is to itself?
# ---------------------------------------------------------------------------------------------

@dataclass
class ReplicateTest:
    """Where the suspect lies between an independent model and a fresh sample of R itself.

    A *replicate* is R sampled again (the investigator owns R and can always do this). Per prompt:
    ``a`` = closeness of S's answer to R's, ``b`` = closeness of R's replicate answer to R's, ``c``
    = mean closeness of the control models' answers. ``relative_closeness`` r = (mean a - mean c) /
    (mean b - mean c): 0 = as close as the controls, 1 = as close as R's own resample. H0: r <= 1/2
    (S is no nearer to R's own resample than to the controls), tested on d = a - (b + c)/2 with a
    studentised prompt bootstrap; ``null_distribution`` holds the bootstrap t* draws. ``self_share``
    is the share of prompts where S is at least as close to R as the replicate is (1/2 for a fresh
    sample of R with the replicate's decoding), and ``gap`` = mean(a - b) with its interval; both are
    defined without controls. The test conditions on the controls and the replicate it was given:
    with one control it cannot say how far other independent models could come.
    """

    statistic: float
    p_value: float
    null_distribution: np.ndarray
    n_resamples: int
    n_prompts: int
    relative_closeness: float
    ci: tuple[float, float]
    self_share: float
    gap: float
    gap_ci: tuple[float, float]
    suspect_closeness: float
    replicate_closeness: float
    control_closeness: float
    suspect: str = ""
    reference: str = ""
    replicates: list[str] = field(default_factory=list)
    controls: list[str] = field(default_factory=list)
    prompt_ids: list[str] = field(default_factory=list)
    per_prompt: dict[str, np.ndarray] = field(default_factory=dict)
    ci_level: float = 0.95
    defined: bool = True
    note: str = ""
    rng_state: dict = field(default_factory=dict)
    method: str = ("replicate test: H0 relative closeness <= 1/2, studentised prompt bootstrap on "
                   "a - (b + c)/2; percentile CIs")

    @property
    def pvalue(self) -> float:
        return self.p_value

    def to_dict(self, include_null: bool = False) -> dict:
        out = {k: getattr(self, k) for k in ("statistic", "p_value", "n_resamples", "n_prompts", "relative_closeness",
                                              "self_share", "gap", "suspect_closeness", "replicate_closeness",
                                              "control_closeness", "suspect", "reference", "replicates", "controls",
                                              "ci_level", "defined", "note", "rng_state", "method")}
        out["ci"] = list(self.ci)
        out["gap_ci"] = list(self.gap_ci)
        if include_null:
            out["null_distribution"] = self.null_distribution.tolist()
            out["prompt_ids"] = list(self.prompt_ids)
            out["per_prompt"] = {k: v.tolist() for k, v in self.per_prompt.items()}
        return _jsonable(out)


def replicate_test(suspect_closeness: np.ndarray, replicate_closeness: np.ndarray, control_closeness: np.ndarray | None,
                   rng: np.random.Generator, n_resamples: int = 1999, ci_level: float = 0.95,
                   prompt_ids: Sequence[str] | None = None, names: Mapping | None = None) -> ReplicateTest:
    """Test H0 "S is no nearer to R's own resample than to the controls" (see :class:`ReplicateTest`).

    The arguments are per-prompt closeness to R of S, of R's replicate(s) (averaged) and of the
    controls (averaged; None: no control, and only the descriptive ``self_share`` and ``gap`` are
    defined). NaN marks a prompt a model did not answer; such prompts are left out. ``names``:
    ``suspect``, ``reference``, ``replicates``, ``controls`` labels, recorded in the result.
    """
    labels = dict(names or {})
    a = np.asarray(suspect_closeness, dtype=float)
    b = np.asarray(replicate_closeness, dtype=float)
    c = np.asarray(control_closeness, dtype=float) if control_closeness is not None else None
    use = np.isfinite(a) & np.isfinite(b) & (np.isfinite(c) if c is not None else True)
    pids = [p for p, u in zip(prompt_ids or [str(i) for i in range(a.size)], use) if u]
    a, b = a[use], b[use]
    c = c[use] if c is not None else None
    n = int(a.size)
    nan = float("nan")
    rng_state = rng_description(rng)
    per_prompt = {"suspect": a, "replicate": b, **({"control": c} if c is not None else {})}

    def result(**kw) -> ReplicateTest:
        base = dict(statistic=nan, p_value=nan, null_distribution=np.full(0, nan), n_resamples=n_resamples,
                    n_prompts=n, relative_closeness=nan, ci=(nan, nan), self_share=nan, gap=nan, gap_ci=(nan, nan),
                    suspect_closeness=float(a.mean()) if n else nan,
                    replicate_closeness=float(b.mean()) if n else nan,
                    control_closeness=float(c.mean()) if c is not None and n else nan,
                    prompt_ids=pids, per_prompt=per_prompt, ci_level=ci_level, rng_state=rng_state,
                    suspect=str(labels.get("suspect", "")), reference=str(labels.get("reference", "")),
                    replicates=list(labels.get("replicates", ())), controls=list(labels.get("controls", ())))
        base.update(kw)
        return ReplicateTest(**base)

    if n < MIN_REPLICATE_PROMPTS:
        return result(defined=False, note=f"only {n} prompts answered by every model (need {MIN_REPLICATE_PROMPTS})")
    W = bootstrap_counts(n, n_resamples, rng)
    lo, hi = (1.0 - ci_level) / 2.0, 1.0 - (1.0 - ci_level) / 2.0

    def boot_mean(x):
        return (W @ x) / n

    def interval(x):
        x = x[np.isfinite(x)]
        return (float(np.quantile(x, lo)), float(np.quantile(x, hi))) if x.size > 1 else (nan, nan)

    gap = float((a - b).mean())
    descriptive = dict(self_share=float(np.mean(a >= b)), gap=gap, gap_ci=interval(boot_mean(a - b)))
    if c is None:
        return result(defined=False, note="no control model: nothing shows where an independent model lies",
                      **descriptive)
    span = float(b.mean() - c.mean())
    if not span > 0:
        return result(defined=False, note="R's replicate is no closer to R than the controls are, so it cannot "
                                          "anchor a same-model call", **descriptive)
    r = float((a.mean() - c.mean()) / span)
    with np.errstate(all="ignore"):
        r_b = (boot_mean(a) - boot_mean(c)) / (boot_mean(b) - boot_mean(c))
    d = a - 0.5 * (b + c)
    se = float(d.std(ddof=1) / np.sqrt(n))
    d_b = boot_mean(d)
    se_b = np.sqrt(np.maximum((W @ d ** 2) / n - d_b ** 2, 0.0) * n / (n - 1) / n)
    t_obs = float(_ratio(np.array(d.mean()), np.array(se ** 2)))
    null = _ratio(d_b - d.mean(), se_b ** 2)
    return result(statistic=t_obs, p_value=_mc_pvalue(null, t_obs), null_distribution=null, relative_closeness=r,
                  ci=interval(r_b), **descriptive)
