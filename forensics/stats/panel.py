"""The panel test: is the suspect closer to the reference than independent models are (method in docs/methods.md)?"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from forensics.signals import SignalScores
from forensics.stats.resampling import bootstrap_counts, mc_pvalue, ratio, rng_description
from forensics.stats.serialise import jsonable

MIN_DEFINED_PROMPTS = 3  # a model needs this many defined prompts for a signal to be used


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
        out = {
            k: getattr(self, k)
            for k in (
                "name",
                "statistic",
                "effect_size",
                "difference",
                "p_value",
                "n_resamples",
                "n_prompts",
                "n_panel",
                "suspect_value",
                "panel_values",
                "top_prompts",
                "ci_level",
                "defined",
                "description",
                "rng_state",
                "note",
            )
        }
        out["ci"] = list(self.ci)
        out["top_records"] = [list(r) for r in self.top_records]
        if include_null:
            out["null_distribution"] = self.null_distribution.tolist()
        return jsonable(out)


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
        out = {
            k: getattr(self, k)
            for k in (
                "statistic",
                "effect_size",
                "p_value",
                "n_resamples",
                "n_prompts",
                "n_panel",
                "weights",
                "suspect",
                "reference",
                "panel",
                "suspect_value",
                "panel_values",
                "ci_level",
                "rng_state",
                "method",
            )
        }
        out["ci"] = list(self.ci)
        out["signals"] = [s.to_dict(include_null) for s in self.signals]
        if include_null:
            out["null_distribution"] = self.null_distribution.tolist()
        return jsonable(out)


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


def _weighted_means(V: np.ndarray, W: np.ndarray | None) -> np.ndarray:
    """Model means of V [M, n] (NaN-aware); with W [B, n] bootstrap weights -> [B, M]."""
    finite = np.isfinite(V)
    Vf = np.where(finite, V, 0.0)
    if W is None:
        with np.errstate(all="ignore"):
            return Vf.sum(1) / finite.sum(1)
    with np.errstate(all="ignore"):
        return (W @ Vf.T) / (W @ finite.T.astype(float))


def _studentise(
    T: np.ndarray, floor: np.ndarray, floor_c: float, w: np.ndarray, mu_all: np.ndarray, sd_all: np.ndarray
):
    """T [..., M, k] (row 0 = suspect, rows 1.. = panel). Returns per-signal t [..., k], composite t
    [...], per-signal effect sizes [..., k], composite effect size [...], composite scores C [..., M].

    The composite standardises each signal with the *observed* mean and SD over all K+1 models
    (``mu_all``, ``sd_all``: symmetric in suspect and panel), held fixed for every bootstrap draw,
    so that it is the same linear combination of the signals in every draw."""
    K = T.shape[-2] - 1
    TS, TP = T[..., 0, :], T[..., 1:, :]
    diff = TS - TP.mean(-2)
    var_pred = np.maximum((1.0 + 1.0 / K) * TP.var(-2, ddof=1), floor**2)
    t = ratio(diff, var_pred)
    eff = t * np.sqrt(1.0 + 1.0 / K)
    C = _composite_fixed(T, mu_all, sd_all, w)
    CS, CP = C[..., 0], C[..., 1:]
    tC = ratio(CS - CP.mean(-1), np.maximum((1.0 + 1.0 / K) * CP.var(-1, ddof=1), floor_c**2))
    effC = tC * np.sqrt(1.0 + 1.0 / K)
    return t, tC, eff, effC, C


def _composite_fixed(T: np.ndarray, mu: np.ndarray, sd: np.ndarray, w: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        Z = np.where(sd > 0, (T - mu) / sd, 0.0)
    return (Z * w).sum(-1) / w.sum()


def panel_test(
    scores: Sequence[SignalScores] | SignalScores,
    suspect: str,
    panel: Sequence[str],
    rng: np.random.Generator,
    n_resamples: int = 1999,
    weights: Mapping[str, float] | None = None,
    ci_level: float = 0.95,
    top_k: int = 5,
    reliability_weights: bool = True,
    groups: Mapping[str, str] | None = None,
) -> CombinedTest:
    """Test H0 "``suspect`` is no closer to the reference than an independent model" for every
    signal in ``scores`` and for their combination, calibrated against ``panel``.

    ``scores`` must contain rows for the suspect and every panel member (extra rows are ignored).
    ``rng`` is used for the B = ``n_resamples`` prompt-bootstrap resamples and Monte Carlo null
    draws; its state before drawing is recorded in the result. ``groups`` (panel model -> label)
    averages panel members sharing a label into one panel unit. ``reliability_weights`` multiplies
    each signal's weight by its reliability (docs/methods.md). ``weights`` (signal name -> weight,
    default 1 each) set the composite; undefined signals (a model with fewer than
    ``MIN_DEFINED_PROMPTS`` defined prompts) get weight 0 and a NaN p-value.
    The method and its assumptions are in docs/methods.md.
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
    defined = (
        np.array([bool(np.all(np.isfinite(V).sum(1) >= MIN_DEFINED_PROMPTS)) for V in mats])
        if K >= 2
        else np.zeros(k, dtype=bool)
    )
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
        tests = [
            _undefined_test(
                s,
                n,
                K,
                n_resamples,
                rng_state,
                ci_level,
                "panel too small (need >= 2 members)" if K < 2 else "too few defined prompts",
            )
            for s in scores
        ]
        return CombinedTest(
            float("nan"),
            float("nan"),
            (float("nan"), float("nan")),
            float("nan"),
            empty_null,
            n_resamples,
            n,
            K,
            {s.name: 0.0 for s in scores},
            tests,
            suspect,
            reference,
            list(panel),
            ci_level=ci_level,
            rng_state=rng_state,
        )

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

    # --- Monte Carlo null: Student t with K-1 degrees of freedom (see docs/methods.md) ----------
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
            tests.append(
                _undefined_test(
                    s,
                    n,
                    K,
                    n_resamples,
                    rng_state,
                    ci_level,
                    "panel too small" if K < 2 else f"fewer than {MIN_DEFINED_PROMPTS} defined prompts for some model",
                )
            )
            continue
        c = int(np.flatnonzero(cols == j)[0])
        V = mats[j]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # prompts no panel member answered
            contrib = V[0] - np.nanmean(V[1:], axis=0)
        order = [i for i in np.argsort(-np.nan_to_num(contrib, nan=-np.inf)) if np.isfinite(contrib[i])][:top_k]
        recs = s.records.get(suspect, [None] * n)
        tests.append(
            SignalTest(
                name=s.name,
                statistic=float(t_obs[c]),
                effect_size=float(eff_obs[c]),
                difference=float(Td[0, c] - Td[1:, c].mean()),
                ci=_ci(eff_b[:, c]),
                p_value=mc_pvalue(null, float(t_obs[c])),
                null_distribution=null,
                n_resamples=n_resamples,
                n_prompts=int(np.isfinite(V[0]).sum()),
                n_panel=K,
                suspect_value=float(Td[0, c]),
                panel_values={m: float(v) for m, v in zip(units, Td[1:, c])},
                top_prompts=[s.prompt_ids[i] for i in order],
                top_records=[
                    (recs[i] if recs else None, s.reference_records[i] if s.reference_records else None) for i in order
                ],
                ci_level=ci_level,
                defined=True,
                description=s.description,
                rng_state=rng_state,
            )
        )
    return CombinedTest(
        statistic=float(tC_obs),
        effect_size=float(effC_obs),
        ci=_ci(effC_b),
        p_value=mc_pvalue(null, float(tC_obs)),
        null_distribution=null,
        n_resamples=n_resamples,
        n_prompts=n,
        n_panel=K,
        weights={s.name: float(w[j]) for j, s in enumerate(scores)},
        signals=tests,
        suspect=suspect,
        reference=reference,
        panel=list(panel),
        suspect_value=float(C_obs[0]),
        panel_values={m: float(v) for m, v in zip(units, C_obs[1:])},
        ci_level=ci_level,
        rng_state=rng_state,
    )


def _undefined_test(s: SignalScores, n: int, K: int, B: int, rng_state: dict, ci_level: float, note: str) -> SignalTest:
    nan = float("nan")
    return SignalTest(
        name=s.name,
        statistic=nan,
        effect_size=nan,
        difference=nan,
        ci=(nan, nan),
        p_value=nan,
        null_distribution=np.full(0, nan),
        n_resamples=B,
        n_prompts=n,
        n_panel=K,
        suspect_value=nan,
        panel_values={},
        ci_level=ci_level,
        defined=False,
        description=s.description,
        rng_state=rng_state,
        note=note,
    )
