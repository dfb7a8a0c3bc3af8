"""The replicate test: is the suspect as close to R as R is to itself?"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from forensics.stats.resampling import bootstrap_counts, mc_pvalue, ratio, rng_description
from forensics.stats.serialise import jsonable

MIN_REPLICATE_PROMPTS = 20  # the replicate test's prompt bootstrap needs at least this many prompts


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
    method: str = (
        "replicate test: H0 relative closeness <= 1/2, studentised prompt bootstrap on a - (b + c)/2; percentile CIs"
    )

    @property
    def pvalue(self) -> float:
        return self.p_value

    def to_dict(self, include_null: bool = False) -> dict:
        out = {
            k: getattr(self, k)
            for k in (
                "statistic",
                "p_value",
                "n_resamples",
                "n_prompts",
                "relative_closeness",
                "self_share",
                "gap",
                "suspect_closeness",
                "replicate_closeness",
                "control_closeness",
                "suspect",
                "reference",
                "replicates",
                "controls",
                "ci_level",
                "defined",
                "note",
                "rng_state",
                "method",
            )
        }
        out["ci"] = list(self.ci)
        out["gap_ci"] = list(self.gap_ci)
        if include_null:
            out["null_distribution"] = self.null_distribution.tolist()
            out["prompt_ids"] = list(self.prompt_ids)
            out["per_prompt"] = {k: v.tolist() for k, v in self.per_prompt.items()}
        return jsonable(out)


def replicate_test(
    suspect_closeness: np.ndarray,
    replicate_closeness: np.ndarray,
    control_closeness: np.ndarray | None,
    rng: np.random.Generator,
    n_resamples: int = 1999,
    ci_level: float = 0.95,
    prompt_ids: Sequence[str] | None = None,
    names: Mapping | None = None,
) -> ReplicateTest:
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
        base = dict(
            statistic=nan,
            p_value=nan,
            null_distribution=np.full(0, nan),
            n_resamples=n_resamples,
            n_prompts=n,
            relative_closeness=nan,
            ci=(nan, nan),
            self_share=nan,
            gap=nan,
            gap_ci=(nan, nan),
            suspect_closeness=float(a.mean()) if n else nan,
            replicate_closeness=float(b.mean()) if n else nan,
            control_closeness=float(c.mean()) if c is not None and n else nan,
            prompt_ids=pids,
            per_prompt=per_prompt,
            ci_level=ci_level,
            rng_state=rng_state,
            suspect=str(labels.get("suspect", "")),
            reference=str(labels.get("reference", "")),
            replicates=list(labels.get("replicates", ())),
            controls=list(labels.get("controls", ())),
        )
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
        return result(
            defined=False, note="no control model: nothing shows where an independent model lies", **descriptive
        )
    span = float(b.mean() - c.mean())
    if not span > 0:
        return result(
            defined=False,
            note="R's replicate is no closer to R than the controls are, so it cannot anchor a same-model call",
            **descriptive,
        )
    r = float((a.mean() - c.mean()) / span)
    with np.errstate(all="ignore"):
        r_b = (boot_mean(a) - boot_mean(c)) / (boot_mean(b) - boot_mean(c))
    d = a - 0.5 * (b + c)
    se = float(d.std(ddof=1) / np.sqrt(n))
    d_b = boot_mean(d)
    se_b = np.sqrt(np.maximum((W @ d**2) / n - d_b**2, 0.0) * n / (n - 1) / n)
    t_obs = float(ratio(np.array(d.mean()), np.array(se**2)))
    null = ratio(d_b - d.mean(), se_b**2)
    return result(
        statistic=t_obs,
        p_value=mc_pvalue(null, t_obs),
        null_distribution=null,
        relative_closeness=r,
        ci=interval(r_b),
        **descriptive,
    )
