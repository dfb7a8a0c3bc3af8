"""What a panel can detect: the analytic power of the prediction test against simulation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from forensics.stats import minimum_detectable_effect, panel_power, prediction_power


def _simulated_rejection_rate(effect: float, k: int, alpha: float, n: int, rng: np.random.Generator) -> float:
    """The prediction test itself, on Gaussian model-level statistics: K panel units and one suspect."""
    panel = rng.standard_normal((n, k))
    suspect = effect + rng.standard_normal(n)
    t = (suspect - panel.mean(axis=1)) / (panel.std(axis=1, ddof=1) * np.sqrt(1 + 1 / k))
    return float(np.mean(t > stats.t.ppf(1 - alpha, k - 1)))


@pytest.mark.parametrize("k,effect", [(3, 0.0), (4, 2.0), (6, 3.0), (12, 2.5)])
def test_analytic_power_matches_simulation(k, effect, rng):
    n = 20000
    simulated = _simulated_rejection_rate(effect, k, 0.05, n, rng)
    analytic = prediction_power(effect, k, 0.05)
    se = np.sqrt(analytic * (1 - analytic) / n)
    assert abs(simulated - analytic) < 4 * se + 1e-3
    if effect == 0.0:  # under H0 the power is the size of the test
        assert analytic == pytest.approx(0.05, abs=1e-6)


def test_minimum_detectable_effect_has_the_target_power_and_shrinks_with_the_panel():
    mdes = [minimum_detectable_effect(k) for k in (2, 3, 5, 10, 40)]
    for k, mde in zip((2, 3, 5, 10, 40), mdes):
        assert prediction_power(mde, k) == pytest.approx(0.8, abs=1e-6)
    assert all(a > b for a, b in zip(mdes, mdes[1:]))
    # a single suspect is one draw: even an endless panel needs about z(0.95) + z(0.8) SDs
    assert mdes[-1] > stats.norm.ppf(0.95) + stats.norm.ppf(0.8)
    assert minimum_detectable_effect(1) == float("inf")


def test_panel_power_says_how_many_more_models_are_needed_or_that_none_would_do():
    small = panel_power(3, observed_effect=3.0)
    assert small.panel_needed is not None and small.panel_needed > 3
    assert small.more_panel_needed == small.panel_needed - 3
    assert prediction_power(3.0, small.panel_needed) >= 0.8 > prediction_power(3.0, small.panel_needed - 1)
    assert "more independent panel model" in small.sentence()
    hopeless = panel_power(8, observed_effect=1.5)
    assert hopeless.panel_needed is None and "no panel size" in hopeless.sentence()
    enough = panel_power(20, observed_effect=4.0)
    assert enough.more_panel_needed == 0 and "within reach" in enough.sentence()
