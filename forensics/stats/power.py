"""How much can a panel of K independent models detect? Power of the contrast test's prediction statistic.

The test refers t / kappa to Student t with df degrees of freedom: K - 1 of its own plus what the
other columns lend (at most K - 1 more, docs/methods.md). A hypothetical panel of K' models is
assumed to be lent in the same proportion.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

__all__ = ["PanelPower", "prediction_power", "minimum_detectable_effect", "panel_power"]


def prediction_power(
    effect: float, n_panel: int, alpha: float = 0.05, *, lend: float = 1.0, kappa: float = 1.0
) -> float:
    """Power of the one-sided prediction t-test at ``effect`` panel SDs with ``n_panel`` units.

    Under the alternative the suspect sits ``effect`` SDs above the panel mean, so the statistic
    follows a noncentral t with ``lend * (n_panel - 1)`` df and noncentrality
    ``effect / sqrt(1 + 1/K)``, and is rejected above ``kappa`` times t's critical value.
    """
    if n_panel < 2 or not np.isfinite(effect):
        return float("nan")
    df = lend * (n_panel - 1)
    crit = kappa * stats.t.ppf(1 - alpha, df)
    ncp = effect / np.sqrt(1 + 1 / n_panel)
    return float(stats.nct.sf(crit, df, ncp))


def minimum_detectable_effect(
    n_panel: int, alpha: float = 0.05, power: float = 0.8, *, lend: float = 1.0, kappa: float = 1.0
) -> float:
    """Smallest effect (in panel SDs) the test detects with the given power; inf below 2 units."""
    if n_panel < 2:
        return float("inf")
    return float(
        optimize.brentq(lambda d: prediction_power(d, n_panel, alpha, lend=lend, kappa=kappa) - power, 0.0, 1e3)
    )


@dataclass(frozen=True)
class PanelPower:
    """What the panel can show: the MDE at 80% power and the panel size the observed effect needs."""

    n_panel: int
    alpha: float
    target_power: float
    minimum_detectable_effect: float
    observed_effect: float
    power_at_observed: float
    panel_needed: int | None  # units giving target power at the observed effect; None if none up to the cap
    more_panel_needed: int | None

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    def sentence(self) -> str:
        mde = self.minimum_detectable_effect
        head = (
            f"With {self.n_panel} independent panel unit(s) the test detects, with "
            f"{self.target_power:.0%} power at alpha={self.alpha:g}, a suspect at least "
            + (f"{mde:.1f} panel SDs above the panel mean." if np.isfinite(mde) else "nothing (too few units).")
        )
        if not np.isfinite(self.observed_effect) or self.observed_effect <= 0:
            return head
        if self.more_panel_needed == 0:
            return head + f" The observed effect ({self.observed_effect:.1f} SD) is within reach."
        if self.panel_needed is None:
            return head + (
                f" At the observed effect ({self.observed_effect:.1f} SD) no panel size up to "
                f"{MAX_PANEL} units would reach {self.target_power:.0%} power."
            )
        return head + (
            f" At the observed effect ({self.observed_effect:.1f} SD), about {self.more_panel_needed} more "
            f"independent panel model(s) ({self.panel_needed} in all) would give "
            f"{self.target_power:.0%} power: the panel, not the suspect, limits this test."
        )


MAX_PANEL = 200


def panel_power(
    n_panel: int,
    observed_effect: float,
    alpha: float = 0.05,
    power: float = 0.8,
    *,
    df: float | None = None,
    kappa: float = 1.0,
) -> PanelPower:
    """Minimum detectable effect of this panel and the panel size the observed effect would need.

    ``df``: the degrees of freedom the test had (default ``n_panel - 1``); ``kappa``: its null's width."""
    lend = float(df) / (n_panel - 1) if df is not None and n_panel >= 2 and np.isfinite(df) else 1.0
    opts = {"lend": lend, "kappa": kappa}
    mde = minimum_detectable_effect(n_panel, alpha, power, **opts)
    pw = prediction_power(observed_effect, n_panel, alpha, **opts) if n_panel >= 2 else float("nan")
    needed = None
    if np.isfinite(observed_effect) and observed_effect > 0:
        for k in range(2, MAX_PANEL + 1):
            if prediction_power(observed_effect, k, alpha, **opts) >= power:
                needed = k
                break
    more = None if needed is None else max(0, needed - n_panel)
    return PanelPower(n_panel, alpha, power, mde, float(observed_effect), pw, needed, more)
