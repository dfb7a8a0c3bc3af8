"""Calibration and power of the contrast test, on data simulated by the tests themselves."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from forensics.stats import ContrastTest, ReplicateTest, contrast_test, holm, prior_variance, replicate_test

ALPHA = 0.05
SIGNALS = ("sig0", "sig1", "sig2")


def _simulate(rng, n_units=8, n_columns=4, n_prompts=60, tau=0.3, noise=1.0, shift=0.0, rho=0.6, suspect_sd=1.0):
    """Per-prompt contrasts [1 + K, C, P] of the suspect (row 0) and K independent models for three
    correlated signals. Each (model, column) has a Gaussian model effect (sd ``tau``; the suspect's
    ``suspect_sd`` times that), each (column, prompt) a common difficulty, each (model, column,
    prompt) noise (sd ``noise``); signals are correlated ``rho``. ``shift`` is added to the
    suspect's contrasts towards column 0 on every signal (a planted student)."""
    k, M = len(SIGNALS), 1 + n_units
    L = np.linalg.cholesky(np.full((k, k), rho) + (1 - rho) * np.eye(k))
    a = tau * rng.standard_normal((M, n_columns, k)) @ L.T
    a[0] *= suspect_sd
    b = rng.standard_normal((n_columns, n_prompts, k))
    e = noise * rng.standard_normal((M, n_columns, n_prompts, k)) @ L.T
    X = a[:, :, None, :] + b[None] + e
    X[0, 0] += shift
    return {g: X[..., j] for j, g in enumerate(SIGNALS)}


def _units(k):
    return [f"m{i}" for i in range(1, k + 1)]


def _run(rng, n_resamples=199, kappa=1.0, weights=None, **kw):
    contrasts = _simulate(rng, **kw)
    k = next(iter(contrasts.values())).shape[0] - 1
    return contrast_test(contrasts, "S", _units(k), rng, n_resamples=n_resamples, kappa=kappa, weights=weights)


def _rejection_rates(seed, n_datasets, **kw):
    rng = np.random.default_rng(seed)
    combined, per_signal = [], []
    for _ in range(n_datasets):
        res = _run(rng, **kw)
        combined.append(res.p_value <= ALPHA)
        per_signal.append([s.p_value <= ALPHA for s in res.signals])
    return np.mean(combined), np.mean(np.array(per_signal, dtype=float), axis=0)


def _bound(n):
    # alpha plus 3 Monte Carlo standard errors of a rejection rate estimated from n datasets
    return ALPHA + 3 * np.sqrt(ALPHA * (1 - ALPHA) / n)


@pytest.mark.parametrize(
    "tau,noise,n_units,n_columns",
    [(0.3, 1.0, 8, 4), (0.0, 1.0, 8, 4), (1.0, 0.3, 8, 4), (0.5, 1.0, 3, 6), (0.5, 1.0, 6, 1)],
    ids=["mixed", "prompt-noise-only", "model-effects-dominate", "three-units", "one-column"],
)
def test_null_rejection_rate_is_at_most_alpha(tau, noise, n_units, n_columns):
    n = 300
    combined, per_signal = _rejection_rates(1234, n, tau=tau, noise=noise, n_units=n_units, n_columns=n_columns)
    assert combined <= _bound(n), f"combined test rejects {combined:.3f} of null datasets"
    assert np.all(per_signal <= _bound(n)), f"per-signal rejection rates {per_signal}"
    # and the test is not vacuous: a student 3 model SDs closer is found most of the time
    if tau >= 0.5:
        rng = np.random.default_rng(99)
        kw = dict(tau=tau, noise=noise, n_units=n_units, n_columns=n_columns, shift=3 * tau)
        assert np.mean([_run(rng, **kw).p_value <= ALPHA for _ in range(40)]) >= 0.4


def test_kappa_widens_the_null_and_restores_calibration_on_overdispersed_negatives():
    """Real negatives vary more than the panel suggests: here the suspect's model effect has twice
    the independent models' spread. kappa = 1 then rejects too often; the widened null does not."""
    n = 300
    narrow, _ = _rejection_rates(7, n, tau=1.0, noise=0.3, suspect_sd=2.0)
    wide, _ = _rejection_rates(7, n, tau=1.0, noise=0.3, suspect_sd=2.0, kappa=2.0)
    assert narrow > _bound(n) and wide <= _bound(n), (narrow, wide)
    data = _simulate(np.random.default_rng(3), shift=1.0)
    one = contrast_test(data, "S", _units(8), np.random.default_rng(0), n_resamples=99)
    two = contrast_test(data, "S", _units(8), np.random.default_rng(0), n_resamples=99, kappa=2.0)
    assert one.statistic == two.statistic and one.df == two.df and one.effect_size == two.effect_size
    assert two.kappa == 2.0 and two.p_value == pytest.approx(stats.t.sf(one.statistic / 2.0, one.df))
    assert two.p_value > one.p_value
    np.testing.assert_allclose(two.null_distribution, 2.0 * one.null_distribution)


def test_null_distribution_is_the_quantiles_of_the_widened_t():
    res = _run(np.random.default_rng(4), n_resamples=999, kappa=1.5)
    q = (np.arange(999) + 0.5) / 999
    np.testing.assert_allclose(res.null_distribution, 1.5 * stats.t.ppf(q, res.df))
    assert res.n_resamples == 999 and res.p_value == pytest.approx(stats.t.sf(res.statistic / 1.5, res.df))


def test_prior_variance_recovers_a_common_variance_and_a_scaled_inverse_chi2_prior():
    rng = np.random.default_rng(11)
    df = 5
    # every column has variance 2: the sample variances vary only by sampling, so d0 is infinite
    same = 2.0 * rng.chisquare(df, 400) / df
    d0, s02 = prior_variance(same, df)
    assert d0 > 50 and s02 == pytest.approx(2.0, rel=0.1)
    # true variances drawn from a scaled inverse chi-square with 10 df around 1.5 (limma's model)
    true = 1.5 * 10 / rng.chisquare(10, 4000)
    d0, s02 = prior_variance(true * rng.chisquare(df, 4000) / df, df)
    assert 6 < d0 < 16 and s02 == pytest.approx(1.5, rel=0.15)
    assert prior_variance([1.0, 2.0], df)[0] == 0.0  # too few columns to learn from


def test_moderated_variance_borrows_from_the_other_columns_up_to_the_tested_columns_df():
    rng = np.random.default_rng(5)
    data = _simulate(rng, n_units=6, n_columns=8, tau=1.0, noise=0.2)
    # make the tested column's independent models agree suspiciously well: its own variance is tiny;
    # the suspect sits one typical model spread above them
    for X in data.values():
        X[1:, 0] = X[1:, 0].mean(axis=0) + 0.01 * (X[1:, 0] - X[1:, 0].mean(axis=0))
        X[0, 0] = X[1:, 0].mean(axis=0) + 1.0
    res = contrast_test(data, "S", _units(6), np.random.default_rng(0), n_resamples=199)
    assert 0 < res.prior_df <= 5 and res.df == pytest.approx(5 + res.prior_df)
    # unmoderated, the tiny variance would make the suspect look extreme; moderated, it is ordinary
    raw = contrast_test(
        {g: X[:, :1] for g, X in data.items()}, "S", _units(6), np.random.default_rng(0), n_resamples=199
    )
    assert raw.prior_df == 0.0 and raw.df == 5
    assert abs(raw.effect_size) > 10 * abs(res.effect_size)
    assert raw.effect_size > 0 and res.effect_size > 0 and raw.p_value < 1e-3 and res.p_value > 10 * raw.p_value


def test_planted_student_gives_small_p_positive_effect_and_a_bootstrap_interval():
    rng = np.random.default_rng(8)
    res = _run(rng, n_prompts=200, tau=0.3, noise=1.0, shift=1.5, n_resamples=499)
    assert isinstance(res, ContrastTest) and res.defined
    assert res.p_value <= 0.01 and res.effect_size > 2 and res.excess > 0
    assert res.ci[0] < res.effect_size < res.ci[1]
    assert res.n_resamples == 499 and res.n_units == 8 and res.n_prompts == 200
    assert res.null_distribution.shape == (499,)
    assert set(res.unit_values) == set(_units(8)) and res.suspect_value > max(res.unit_values.values())
    assert [s.name for s in res.signals] == list(SIGNALS) and res.signal("sig1").name == "sig1"
    for s in res.signals:
        assert s.defined and s.p_value <= 0.05 and s.effect_size > 0 and s.ci[0] < s.effect_size < s.ci[1]
    with pytest.raises(KeyError):
        res.signal("nope")


def _score_ci(res):
    """The bootstrap interval of the score (the effect's interval times the scale the effect is in)."""
    scale = res.excess / res.effect_size
    return res.ci[0] * scale, res.ci[1] * scale


def test_bootstrap_interval_covers_the_planted_excess_and_narrows_with_more_prompts():
    """Prompt noise only (no model effects), one signal: the prompt bootstrap's interval of the score
    covers the planted excess at about its 95% level, and shrinks like 1/sqrt(prompts)."""
    widths = {}
    for n_prompts in (40, 640):
        rng = np.random.default_rng(31)
        covered, width = [], []
        for _ in range(100):
            X = _simulate(rng, n_columns=1, n_prompts=n_prompts, tau=0.0, noise=1.0, shift=0.6)["sig0"]
            res = contrast_test({"sig0": X}, "S", _units(8), rng, n_resamples=299)
            lo, hi = _score_ci(res)
            truth = 0.6 / np.nanstd(X)  # the planted shift on the scale the test puts the signal on
            covered.append(lo <= truth <= hi)
            width.append(hi - lo)
        assert np.mean(covered) >= 0.88, (n_prompts, np.mean(covered))
        widths[n_prompts] = np.median(width)
    assert widths[640] < widths[40] / 3, widths


def test_weights_choose_the_signals_of_the_combined_test():
    rng = np.random.default_rng(9)
    data = _simulate(rng, shift=0.0)
    data["sig0"][0, 0] += 3.0  # only sig0 carries a planted signal
    heavy = contrast_test(data, "S", _units(8), np.random.default_rng(0), weights={"sig0": 1.0, "sig1": 0, "sig2": 0})
    light = contrast_test(data, "S", _units(8), np.random.default_rng(0), weights={"sig0": 0, "sig1": 1.0, "sig2": 1.0})
    assert heavy.weights == {"sig0": 1.0} and set(light.weights) == {"sig1", "sig2"}
    assert heavy.p_value < 0.01 < light.p_value
    assert heavy.signal("sig1").p_value == light.signal("sig1").p_value  # per-signal tests ignore weights


def test_a_signal_with_too_few_defined_prompts_is_undefined_and_left_out():
    rng = np.random.default_rng(10)
    data = _simulate(rng)
    data["sig2"][0, :, 2:] = np.nan  # the suspect has only two defined prompts on sig2
    res = contrast_test(data, "S", _units(8), rng, n_resamples=99)
    assert not res.signal("sig2").defined and "prompts" in res.signal("sig2").note
    assert res.defined and "sig2" not in res.weights


def test_same_generator_state_gives_same_result():
    a = _run(np.random.default_rng(5))
    b = _run(np.random.default_rng(5))
    assert a.p_value == b.p_value and a.statistic == b.statistic and a.ci == b.ci
    assert a.rng_state == b.rng_state and a.rng_state["seed_entropy"] == 5
    assert a.to_dict(include_null=True)["null_distribution"] == b.null_distribution.tolist()


def test_fewer_than_two_units_is_undefined_but_still_scores():
    rng = np.random.default_rng(12)
    data = _simulate(rng, n_units=1)
    one = contrast_test(data, "S", ["m1"], rng, n_resamples=99)
    assert not one.defined and np.isnan(one.p_value) and np.isnan(one.statistic) and "two" in one.note
    assert all(not s.defined for s in one.signals)
    alone = contrast_test({g: X[:1] for g, X in data.items()}, "S", [], rng, n_resamples=99)
    assert not alone.defined and alone.n_units == 0
    # the score still ranks candidates: against the one unit, or the suspect's own contrast with none
    X = data["sig0"]
    solo = contrast_test({"sig0": X}, "S", ["m1"], rng, n_resamples=99)
    assert solo.excess == pytest.approx((X[0, 0].mean() - X[1, 0].mean()) / np.nanstd(X))
    assert alone.excess == pytest.approx(alone.suspect_value) and np.isfinite(alone.excess)


def test_a_suspect_only_the_prompt_noise_separates_from_identical_units():
    """The independent models never show the behaviour; the suspect does on 12 of 400 prompts. The
    units do not vary at all, so the prompt-noise floor is what the statistic is scaled by."""
    rng = np.random.default_rng(13)
    X = np.zeros((9, 1, 400))
    X[0, 0, rng.choice(400, 12, replace=False)] = 1.0
    res = contrast_test({"rate": X}, "S", _units(8), rng, n_resamples=999)
    assert np.isfinite(res.statistic) and res.p_value < 0.01 and res.effect_size == np.inf
    X1 = np.zeros((9, 1, 400))
    X1[0, 0, 3] = 1.0
    assert contrast_test({"rate": X1}, "S", _units(8), rng, n_resamples=999).p_value > 0.1


def test_contrasts_of_the_wrong_shape_are_refused():
    rng = np.random.default_rng(14)
    with pytest.raises(ValueError, match="units"):
        contrast_test({"a": np.zeros((3, 1, 10))}, "S", _units(3), rng)
    with pytest.raises(ValueError, match="no signal"):
        contrast_test({}, "S", _units(3), rng)


def test_holm_matches_definition():
    p = [0.01, 0.04, 0.03, np.nan, 0.5]
    adj = holm(p)
    assert np.allclose(adj[[0, 2, 1, 4]], [0.04, 0.09, 0.09, 0.5])
    assert np.isnan(adj[3])


def _closeness(rng, n, suspect_level, replicate_level=0.7, control_level=0.4, skew=False):
    """Per-prompt closeness to R of a suspect, a replicate of R and the controls: a shared prompt
    effect plus independent noise (skewed like bounded cosines when ``skew``)."""
    prompt = 0.1 * rng.standard_normal(n)

    def noise():
        e = rng.standard_normal(n)
        return 0.12 * (np.exp(0.6 * e) - np.exp(0.18)) / 0.7 if skew else 0.12 * e

    return (suspect_level + prompt + noise(), replicate_level + prompt + noise(), control_level + prompt + noise())


@pytest.mark.parametrize("skew", [False, True], ids=["gaussian", "skewed"])
def test_replicate_test_rejects_at_most_alpha_at_the_half_way_boundary(skew):
    rng = np.random.default_rng(321)
    n = 300
    rejections = [
        replicate_test(*_closeness(rng, 40, 0.55, skew=skew), rng, n_resamples=199).p_value <= ALPHA for _ in range(n)
    ]
    assert np.mean(rejections) <= _bound(n), np.mean(rejections)


def test_replicate_test_finds_a_fresh_sample_of_r_and_not_an_outsider(rng):
    same = replicate_test(
        *_closeness(rng, 120, 0.7),
        rng,
        n_resamples=499,
        prompt_ids=[f"q{i}" for i in range(120)],
        names={"suspect": "S", "reference": "R", "replicates": ["R2"], "controls": ["C"]},
    )
    assert isinstance(same, ReplicateTest) and same.defined
    assert same.p_value < 0.01 and same.ci[0] < 1.0 < same.ci[1] + 0.2
    assert 0.35 < same.self_share < 0.65
    assert same.null_distribution.shape == (499,) and same.n_prompts == 120
    assert same.to_dict()["controls"] == ["C"] and same.rng_state["bit_generator"] == "PCG64"
    outsider = replicate_test(*_closeness(rng, 120, 0.4), rng, n_resamples=499)
    assert outsider.p_value > 0.5 and outsider.relative_closeness < 0.3 and outsider.self_share < 0.2


def test_replicate_test_without_controls_or_anchor_is_undefined_but_descriptive(rng):
    a, b, _ = _closeness(rng, 50, 0.4)
    alone = replicate_test(a, b, None, rng, n_resamples=99)
    assert not alone.defined and np.isnan(alone.p_value) and "control" in alone.note
    assert alone.gap < 0 and alone.gap_ci[1] < 0 and alone.self_share < 0.3
    a, b, c = _closeness(rng, 50, 0.5, replicate_level=0.3, control_level=0.4)
    flat = replicate_test(a, b, c, rng, n_resamples=99)
    assert not flat.defined and "no closer" in flat.note
    few = replicate_test(a[:5], b[:5], c[:5], rng, n_resamples=99)
    assert not few.defined and few.n_prompts == 5


def test_replicate_test_leaves_out_prompts_a_model_did_not_answer(rng):
    a, b, c = _closeness(rng, 40, 0.7)
    a[3], c[7] = np.nan, np.nan
    res = replicate_test(a, b, c, rng, n_resamples=99, prompt_ids=[f"q{i}" for i in range(40)])
    assert res.n_prompts == 38 and "q3" not in res.prompt_ids and "q7" not in res.prompt_ids
