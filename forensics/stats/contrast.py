"""The contrast test: is the suspect closer to the target, against other vendors, than independent models are?

Each model's *contrast* on a prompt is its closeness to the target minus its mean closeness to the
anchors (references of other vendors). The suspect's mean contrast is compared with the null units'
(independent models), one draw against K, with the panel variance of the tested column shrunk
towards that of the other columns (limma's moderated variance) and the null widened by a factor
learned on real negatives. Method, assumptions and calibration: docs/methods.md.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, special, stats

from forensics.stats.resampling import bootstrap_counts, rng_description
from forensics.stats.serialise import jsonable

MIN_CONTRAST_PROMPTS = 3  # a model needs this many prompts with a defined contrast for a signal to count


@dataclass(frozen=True)
class ContrastTest:
    """One contrast test (fields follow scipy.stats result conventions).

    ``suspect_value``: the suspect's own combined contrast (defined with any number of units).
    ``excess``: that contrast minus the null units' mean. ``effect_size``: ``excess`` in panel standard
    deviations of the tested column (moderated). ``statistic``: the studentised prediction statistic
    t, whose null is ``kappa`` times Student t with ``df`` degrees of freedom; ``p_value`` is that
    null's exact upper tail and ``null_distribution`` its quantiles at (i + 1/2) / ``n_resamples``.
    ``ci``: prompt-bootstrap interval of the effect.
    ``prior_df``: the degrees of freedom the other columns lend the tested column's variance.
    """

    name: str
    statistic: float
    effect_size: float
    excess: float
    ci: tuple[float, float]
    p_value: float
    df: float
    prior_df: float
    kappa: float
    null_distribution: np.ndarray = field(repr=False)
    n_resamples: int
    n_prompts: int
    n_units: int
    suspect_value: float
    unit_values: dict[str, float]
    panel_sd: float = float("nan")  # the moderated SD of the units' contrasts (the effect size's unit)
    weights: dict[str, float] = field(default_factory=dict)
    signals: tuple[ContrastTest, ...] = ()
    ci_level: float = 0.95
    rng_state: dict = field(default_factory=dict)
    defined: bool = True
    note: str = ""

    @property
    def pvalue(self) -> float:  # scipy-style alias
        return self.p_value

    def signal(self, name: str) -> ContrastTest:
        for s in self.signals:
            if s.name == name:
                return s
        raise KeyError(name)

    def to_dict(self, include_null: bool = False) -> dict:
        out = {
            k: getattr(self, k)
            for k in (
                "name",
                "statistic",
                "effect_size",
                "excess",
                "p_value",
                "df",
                "prior_df",
                "kappa",
                "n_resamples",
                "n_prompts",
                "n_units",
                "suspect_value",
                "unit_values",
                "panel_sd",
                "weights",
                "ci_level",
                "rng_state",
                "defined",
                "note",
            )
        }
        out["ci"] = list(self.ci)
        out["signals"] = [s.to_dict(include_null) for s in self.signals]
        if include_null:
            out["null_distribution"] = self.null_distribution.tolist()
        return jsonable(out)


def prior_variance(variances: np.ndarray, df: float) -> tuple[float, float]:
    """limma's ``fitFDist`` (Smyth 2004), by moments: the prior degrees of freedom d0 and scale s0^2
    of sample variances that each have ``df`` degrees of freedom. d0 = 0 when fewer than three
    positive variances are given or when they vary more than sampling alone explains."""
    s2 = np.asarray(variances, dtype=float)
    s2 = s2[np.isfinite(s2) & (s2 > 0)]
    if s2.size < 3 or df <= 0:
        return 0.0, float(np.median(s2)) if s2.size else float("nan")
    e = np.log(s2) - special.digamma(df / 2) + np.log(df / 2)
    spread = e.var(ddof=1) - special.polygamma(1, df / 2)
    if spread <= 0:
        return np.inf, float(np.exp(e.mean()))
    d0 = 2.0 * optimize.brentq(lambda x: special.polygamma(1, x) - spread, 1e-8, 1e8)
    return float(d0), float(np.exp(e.mean() + special.digamma(d0 / 2) - np.log(d0 / 2)))


def _means(X: np.ndarray, W: np.ndarray | None) -> np.ndarray:
    """NaN-aware means over the last axis of X [..., P]; with bootstrap counts W [B, P] -> [B, ...]."""
    ok = np.isfinite(X)
    Xf = np.where(ok, X, 0.0)
    with np.errstate(all="ignore"):
        if W is None:
            return Xf.sum(-1) / ok.sum(-1)
        flat = Xf.reshape(-1, X.shape[-1]).T
        return ((W @ flat) / (W @ ok.reshape(-1, X.shape[-1]).T.astype(float))).reshape((W.shape[0], *X.shape[:-1]))


def _undefined(name, n, K, B, kappa, rng_state, ci_level, note, excess=float("nan"), suspect_value=float("nan")):
    nan = float("nan")
    return ContrastTest(
        name, nan, nan, excess, (nan, nan), nan, nan, 0.0, kappa, np.full(0, nan), B, n, K, suspect_value, {},
        ci_level=ci_level, rng_state=rng_state, defined=False, note=note,
    )  # fmt: skip


def contrast_test(
    contrasts: Mapping[str, np.ndarray],
    suspect: str,
    units: Sequence[str],
    rng: np.random.Generator,
    *,
    weights: Mapping[str, float] | None = None,
    kappa: float = 1.0,
    n_resamples: int = 1999,
    ci_level: float = 0.95,
) -> ContrastTest:
    """Test H0 "the suspect's contrast towards column 0 is that of one more independent model".

    ``contrasts``: signal -> array [1 + K, C, P] of per-prompt contrasts (row 0 the suspect, rows
    1.. the null ``units``; column 0 the tested target, further columns other targets, which only
    lend their panel variance; NaN where undefined). Each signal is put on a common scale by its
    spread over every row, column and prompt (symmetric in suspect and units), and the combined
    contrast of a prompt is the ``weights``-weighted mean of the scaled signals defined on it
    (default weight 1; a signal with fewer than ``MIN_CONTRAST_PROMPTS`` defined prompts for some
    model gets 0). ``kappa``: the null's width factor (learned, docs/methods.md). ``rng`` draws
    the prompt bootstrap; its state before drawing is recorded. With fewer than two units the test
    is undefined but ``suspect_value`` still is.
    """
    rng_state = rng_description(rng)
    names = list(contrasts)
    K = len(units)
    if not names:
        raise ValueError("no signal contrasts to test")
    shapes = {np.shape(contrasts[g]) for g in names}
    if len(shapes) != 1 or len(next(iter(shapes))) != 3 or next(iter(shapes))[0] != K + 1:
        raise ValueError(f"contrasts must all be [1 + {K} units, columns, prompts]; got {sorted(shapes)}")
    _, C, n = next(iter(shapes))
    W = bootstrap_counts(n, n_resamples, rng)
    scaled: dict[str, np.ndarray] = {}
    usable: dict[str, bool] = {}
    for g in names:
        X = np.asarray(contrasts[g], dtype=float)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            spread = float(np.nanstd(X))
        usable[g] = bool(np.all(np.isfinite(X[:, 0, :]).sum(-1) >= MIN_CONTRAST_PROMPTS) and spread > 0)
        scaled[g] = X / spread if usable[g] else X
    w_all = {g: float((weights or {}).get(g, 1.0)) for g in names}

    def run(name: str, sel: list[str], w_sel: dict[str, float]) -> ContrastTest:
        if not sel:
            return _undefined(name, n, K, n_resamples, kappa, rng_state, ci_level, "too few defined prompts")
        stack = np.stack([scaled[g] for g in sel])  # [G, M, C, P]
        w = np.array([w_sel[g] for g in sel])[:, None, None, None] * np.isfinite(stack)
        with np.errstate(all="ignore"):
            X = np.nansum(np.nan_to_num(stack) * w, axis=0) / w.sum(0)  # NaN where no signal is defined
        T = _means(X, None)  # [M, C]
        score = float(T[0, 0] - (T[1:, 0].mean() if K else 0.0))
        if K < 2:
            return _undefined(
                name, n, K, n_resamples, kappa, rng_state, ci_level, "fewer than two independent null units",
                excess=score, suspect_value=float(T[0, 0]),
            )  # fmt: skip
        Tb = _means(X[:, 0, :], W)  # [B, M]: only the tested column is resampled
        var_cols = T[1:].var(axis=0, ddof=1)
        d0, s02 = prior_variance(var_cols[1:], K - 1) if C > 1 else (0.0, float("nan"))
        # the other columns lend at most as many degrees of freedom as the tested column has (docs/methods.md)
        d0 = min(d0, float((K - 1) * (C - 1)), float(K - 1))
        s2 = (d0 * s02 + (K - 1) * var_cols[0]) / (d0 + K - 1) if d0 > 0 else var_cols[0]
        df = d0 + K - 1
        diff_b = Tb[:, 0] - Tb[:, 1:].mean(-1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            floor2 = float(np.nanvar(diff_b, ddof=1)) if n_resamples > 1 else 0.0
        var_pred = max((1.0 + 1.0 / K) * s2, floor2 if np.isfinite(floor2) else 0.0)
        sd = float(np.sqrt(s2))
        with np.errstate(all="ignore"):
            t = float(score / np.sqrt(var_pred)) if var_pred > 0 else float(np.sign(score) * np.inf)
            eff = float(score / sd) if sd > 0 else float(np.sign(score) * np.inf)
            eff_b = diff_b / sd if sd > 0 else np.full_like(diff_b, np.nan)
        alpha_ci = (1.0 - ci_level) / 2.0
        ok = eff_b[np.isfinite(eff_b)]
        ci = (float(np.quantile(ok, alpha_ci)), float(np.quantile(ok, 1 - alpha_ci))) if ok.size >= 2 else (np.nan,) * 2
        return ContrastTest(
            name=name,
            statistic=t,
            effect_size=eff,
            excess=score,
            ci=ci,
            p_value=float(stats.t.sf(t / kappa, df)),
            df=float(df),
            prior_df=float(d0),
            kappa=float(kappa),
            null_distribution=kappa * stats.t.ppf((np.arange(n_resamples) + 0.5) / n_resamples, df),
            n_resamples=n_resamples,
            n_prompts=n,
            n_units=K,
            suspect_value=float(T[0, 0]),
            unit_values={u: float(v) for u, v in zip(units, T[1:, 0])},
            panel_sd=sd,
            weights={g: w_sel[g] for g in sel},
            ci_level=ci_level,
            rng_state=rng_state,
        )

    signals = tuple(run(g, [g] if usable[g] else [], {g: 1.0}) for g in names)
    combined = run("combined", [g for g in names if usable[g] and w_all[g] > 0], w_all)
    return ContrastTest(**{**combined.__dict__, "signals": signals})
