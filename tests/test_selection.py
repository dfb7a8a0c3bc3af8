"""The top candidate's test, corrected for its selection: calibrated under H0, cheaper than Bonferroni.

All data here is simulated by the test itself: model-level effects that are correlated across
candidates (as snapshots of one vendor are), plus prompt noise.
"""

from __future__ import annotations

import numpy as np
import pytest

from forensics.stats import contrast_test, selection_test


def _tests(rng, *, K=6, C=5, P=30, rho=0.7, boost=0.0, centre=None):
    """Per candidate, the contrast test of a suspect that is one more independent model (plus
    ``boost`` panel SDs towards candidate 0); ``centre``: how much every model leans towards each
    candidate (a reference every model resembles). The top is ranked as attribution ranks it."""
    cov = np.full((C, C), rho) + (1 - rho) * np.eye(C)
    effects = rng.multivariate_normal(np.zeros(C), cov, size=K + 1)  # row 0: the suspect
    effects += 0.0 if centre is None else np.asarray(centre, dtype=float)[None]
    effects[0, 0] += boost
    X = effects[:, :, None] + 0.3 * rng.standard_normal((K + 1, C, P))
    units = [f"u{i}" for i in range(K)]
    out = {}
    for c in range(C):
        order = [c] + [j for j in range(C) if j != c]
        out[f"c{c}"] = contrast_test({"x": X[:, order, :]}, "S", units, rng, n_resamples=20)
    top = max(out, key=lambda name: out[name].suspect_value)  # attribution ranks by the own contrast
    return out, top


@pytest.mark.parametrize("centre", [None, [1.5, 0.0, -0.5, 0.0, 0.5]], ids=["level", "one-central"])
def test_the_selected_top_candidate_is_rejected_at_no_more_than_alpha_under_h0(centre):
    rng = np.random.default_rng(7)
    p = []
    for _ in range(300):
        tests, top = _tests(rng, centre=centre)
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


def test_a_central_candidate_comes_first_under_h0_and_is_not_named():
    """Every model leans towards c0; an independent suspect ranks it first by its own contrast, and
    the selection test, which draws the ranking around the independent models' means, does not
    reject it more often than alpha (the calibration above, "one-central", checks the rate)."""
    rng = np.random.default_rng(2)
    tops, rejected = [], []
    for _ in range(40):
        tests, top = _tests(rng, centre=[2.5, 0.0, 0.0, 0.0, 0.0])
        tops.append(top)
        rejected.append(selection_test(tests, top, rng, n_draws=999).p_value < 0.05)
    assert tops.count("c0") > 30  # the premise: the central candidate usually ranks first
    assert sum(rejected) <= 6  # 40 draws at alpha 0.05: 2 expected
