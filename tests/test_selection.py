"""The top candidate's test, corrected for its selection: calibrated under H0, cheaper than Bonferroni.

All data here is simulated by the test itself: model-level effects that are correlated across
candidates (as snapshots of one vendor are), plus prompt noise.
"""

from __future__ import annotations

import numpy as np
import pytest

from forensics.stats import contrast_test, selection_test


def _tests(rng, *, K=6, C=5, P=30, rho=0.7, boost=0.0):
    """Per candidate, the contrast test of a suspect that is one more independent model (plus
    ``boost`` panel SDs towards candidate 0)."""
    cov = np.full((C, C), rho) + (1 - rho) * np.eye(C)
    effects = rng.multivariate_normal(np.zeros(C), cov, size=K + 1)  # row 0: the suspect
    effects[0, 0] += boost
    X = effects[:, :, None] + 0.3 * rng.standard_normal((K + 1, C, P))
    units = [f"u{i}" for i in range(K)]
    out = {}
    for c in range(C):
        order = [c] + [j for j in range(C) if j != c]
        out[f"c{c}"] = contrast_test({"x": X[:, order, :]}, "S", units, rng, n_resamples=20)
    top = max(out, key=lambda name: out[name].excess)
    return out, top


def test_the_selected_top_candidate_is_rejected_at_no_more_than_alpha_under_h0():
    rng = np.random.default_rng(7)
    p = []
    for _ in range(300):
        tests, top = _tests(rng)
        p.append(selection_test(tests, top, rng, n_draws=1999).p_value)
    p = np.array(p)
    # 300 draws: the rejection rate's standard error at 0.10 is 0.017
    assert np.mean(p < 0.10) <= 0.10 + 2.5 * 0.017
    assert np.mean(p < 0.5) > 0.2  # not degenerate: the null spreads over the unit interval


def test_correcting_for_selection_costs_less_than_bonferroni_when_candidates_move_together():
    rng = np.random.default_rng(3)
    tests, top = _tests(rng, rho=0.9, boost=6.0)
    sel = selection_test(tests, top, rng, n_draws=4999)
    assert top == "c0"
    assert sel.p_unselected <= sel.p_value  # selection is never free
    assert sel.p_value < min(1.0, len(tests) * sel.p_unselected)  # but cheaper than Bonferroni
    assert sel.correlation > 0.2 and sel.n_candidates == len(tests)


def test_a_strong_student_is_found_and_the_draws_are_reproducible():
    tests, top = _tests(np.random.default_rng(11), boost=6.0)
    first = selection_test(tests, top, np.random.default_rng(0), n_draws=2999)
    again = selection_test(tests, top, np.random.default_rng(0), n_draws=2999)
    assert first.p_value < 0.05
    assert first.p_value == again.p_value and first.rng_state == again.rng_state


@pytest.mark.parametrize("K", [1, 2])
def test_too_few_independent_models_leave_it_to_the_top_candidates_own_test(K):
    rng = np.random.default_rng(5)
    tests, top = _tests(rng, K=K)
    sel = selection_test(tests, top, rng)
    if K < 2:
        assert not sel.defined and np.isnan(sel.p_value)
    else:
        assert sel.p_value == tests[top].p_value and "too few" in sel.note
