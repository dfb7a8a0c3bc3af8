"""The top candidate, tested as the top candidate: a max-type correction that uses the candidates' correlation.

Attribution names the candidate the suspect leans towards most. Testing that candidate at its own
p-value ignores that it was picked as the best of several; Holm or Bonferroni over every snapshot
ignores that the candidates' tests move together (a suspect that leans towards one GPT-3.5 snapshot
leans towards all of them) and costs most of the power. This test simulates the whole selection
under H0 instead: every candidate's contrast as one more independent model would draw it, jointly,
with the correlation the independent models show between candidates, and asks how often the
candidate that *then* ranks first reaches the t the real top candidate reached (docs/methods.md).

Candidates are ranked by the suspect's own contrast towards each, so under H0 a candidate that every
independent model leans towards (a central one) tends to rank first; the simulation draws the
suspect's contrasts around the independent models' means, so that is part of the null.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from sklearn.covariance import ledoit_wolf

from forensics.stats.contrast import ContrastTest
from forensics.stats.resampling import rng_description
from forensics.stats.serialise import jsonable


@dataclass(frozen=True)
class SelectionTest:
    """p-value of the top-ranked candidate, corrected for having been selected among ``n_candidates``.

    ``statistic``: the top candidate's t. ``null_distribution``: the simulated t of whichever
    candidate ranks first under H0. ``correlation``: the mean absolute correlation between the
    candidates' standardised contrasts over the independent models (Ledoit-Wolf shrunk), which is
    what makes this cheaper than Bonferroni over candidates.
    """

    candidate: str
    statistic: float
    p_value: float
    p_unselected: float
    n_candidates: int
    correlation: float
    null_distribution: np.ndarray = field(repr=False)
    n_draws: int = 0
    rng_state: dict = field(default_factory=dict)
    defined: bool = True
    note: str = ""

    def to_dict(self, include_null: bool = False) -> dict:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "null_distribution"}
        if include_null:
            out["null_distribution"] = self.null_distribution.tolist()
        return jsonable(out)


def _unit_matrix(tests: Mapping[str, ContrastTest], names: list[str]) -> tuple[list[str], np.ndarray]:
    """The independent models every named test has, and their contrasts: [units, candidates]."""
    units = sorted(set.intersection(*(set(tests[c].unit_values) for c in names)))
    return units, np.array([[tests[c].unit_values[u] for c in names] for u in units]).reshape(len(units), len(names))


def selection_test(
    tests: Mapping[str, ContrastTest],
    top: str,
    rng: np.random.Generator,
    *,
    n_draws: int = 19999,
) -> SelectionTest:
    """Simulate "rank the candidates, take the first" under H0 (see the module docstring).

    ``tests``: candidate -> its pair test (all on the same suspect and independent models);
    ``top``: the candidate ranked first by the suspect's own contrast. Under H0 the suspect is one
    more independent model: its contrast towards c is the units' mean ``mu_c`` plus
    ``panel_sd(c) * sqrt(1 + 1/K) * Z_c``, with ``Z`` multivariate t (df of the tests, the units'
    correlation between candidates) widened by kappa."""
    rng_state = rng_description(rng)
    names = [c for c, t in tests.items() if t.defined and np.isfinite(t.statistic) and t.panel_sd > 0]
    nan = float("nan")
    if top not in names:
        return SelectionTest(
            top, nan, nan, nan, len(tests), nan, np.zeros(0), 0, rng_state, False, "top candidate untestable"
        )
    units, U = _unit_matrix(tests, names)
    K = len(units)
    if K < 3 or len(names) == 1:
        t = tests[top]
        return SelectionTest(
            top,
            t.statistic,
            t.p_value,
            t.p_value,
            1,
            nan,
            np.zeros(0),
            0,
            rng_state,
            note="one candidate, or too few independent models to estimate correlation",
        )
    mu = U.mean(axis=0)
    sd = np.array([tests[c].panel_sd for c in names])
    cov, _ = ledoit_wolf((U - mu) / sd, assume_centered=True)
    d = np.sqrt(np.clip(np.diag(cov), 1e-12, None))
    corr = cov / np.outer(d, d)
    df = float(np.median([tests[c].df for c in names]))
    kappa = float(np.median([tests[c].kappa for c in names]))
    Z = rng.multivariate_normal(np.zeros(len(names)), corr, size=n_draws, method="eigh")
    Z /= np.sqrt(rng.chisquare(df, size=n_draws) / df)[:, None]
    Z *= kappa
    first = np.argmax(mu[None] + sd[None] * np.sqrt(1.0 + 1.0 / K) * Z, axis=1)  # the ranking by own contrast
    null = Z[np.arange(n_draws), first]
    t_top = float(tests[top].statistic)
    p = float((1 + np.sum(null >= t_top)) / (n_draws + 1))
    off = corr[~np.eye(len(names), dtype=bool)]
    return SelectionTest(
        top,
        t_top,
        p,
        float(tests[top].p_value),
        len(names),
        float(np.mean(np.abs(off))),
        null,
        n_draws,
        rng_state,
    )
