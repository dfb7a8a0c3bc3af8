"""Calibration and power of the panel test, on data simulated by the tests themselves."""

from __future__ import annotations

import numpy as np
import pytest

from forensics.signals import SignalScores
from forensics.stats import CombinedTest, ReplicateTest, holm, panel_test, prompt_matrix, replicate_test

ALPHA = 0.05


def _scores(name, values, models, standardise=True, reference="R"):
    pids = [f"p{j:03d}" for j in range(values.shape[1])]
    return SignalScores(
        name=name, reference=reference, models=list(models), prompt_ids=pids, values=values, standardise=standardise
    )


def _simulate(rng, n_models, n_prompts, tau, noise, shift=0.0, rho=0.6, sparse_rate=None):
    """Per-prompt closeness of n_models exchangeable models (row 0 = suspect) for three signals.

    Each model has a Gaussian model effect per signal (sd ``tau``, correlated ``rho`` across
    signals), each prompt a common difficulty, each (model, prompt) noise (sd ``noise``, also
    correlated across signals). ``shift`` is added to the suspect's per-prompt values of every
    continuous signal (a planted signal). With ``sparse_rate`` a fourth, binary rate signal is added
    (an identity-claim-like indicator that is almost always 0).
    """
    k = 3
    cov = np.full((k, k), rho) + (1 - rho) * np.eye(k)
    L = np.linalg.cholesky(cov)
    a = tau * rng.standard_normal((n_models, k)) @ L.T  # model effects
    b = rng.standard_normal((n_prompts, k))  # prompt effects
    e = noise * rng.standard_normal((n_models, n_prompts, k)) @ L.T
    V = a[:, None, :] + b[None] + e
    V[0] += shift
    out = [V[..., j] for j in range(k)]
    if sparse_rate is not None:
        rates = np.clip(sparse_rate * np.exp(0.5 * rng.standard_normal(n_models)), 0, 1)
        out.append((rng.random((n_models, n_prompts)) < rates[:, None]).astype(float))
    return out


def _run(rng, n_models=9, n_prompts=60, tau=0.3, noise=1.0, shift=0.0, sparse_rate=None, n_resamples=199):
    models = ["S"] + [f"m{i}" for i in range(1, n_models)]
    mats = _simulate(rng, n_models, n_prompts, tau, noise, shift=shift, sparse_rate=sparse_rate)
    scores = [_scores(f"sig{j}", V, models) for j, V in enumerate(mats[:3])]
    if sparse_rate is not None:
        scores.append(_scores("sparse", mats[3], models, standardise=False))
    return panel_test(scores, "S", models[1:], rng, n_resamples=n_resamples)


def _rejection_rates(seed, n_datasets, **kw):
    rng = np.random.default_rng(seed)
    combined, per_signal = [], []
    for _ in range(n_datasets):
        res = _run(rng, **kw)
        combined.append(res.p_value <= ALPHA)
        per_signal.append([s.p_value <= ALPHA for s in res.signals if s.defined])
    return np.mean(combined), np.mean(np.array(per_signal, dtype=float), axis=0)


def _bound(n):
    # alpha plus 3 Monte Carlo standard errors of a rejection rate estimated from n datasets
    return ALPHA + 3 * np.sqrt(ALPHA * (1 - ALPHA) / n)


@pytest.mark.parametrize(
    "tau,noise", [(0.3, 1.0), (0.0, 1.0), (1.0, 0.3)], ids=["mixed", "prompt-noise-only", "model-effects-dominate"]
)
def test_null_rejection_rate_is_at_most_alpha(tau, noise):
    n = 300
    combined, per_signal = _rejection_rates(1234, n, tau=tau, noise=noise)
    assert combined <= _bound(n), f"combined test rejects {combined:.3f} of null datasets"
    assert np.all(per_signal <= _bound(n)), f"per-signal rejection rates {per_signal}"


def test_null_calibration_with_small_panel_and_sparse_signal():
    n = 300
    combined, per_signal = _rejection_rates(99, n, n_models=5, n_prompts=40, sparse_rate=0.02)
    assert combined <= _bound(n)
    assert np.all(per_signal <= _bound(n)), per_signal


def test_power_rises_with_number_of_prompts():
    rng = np.random.default_rng(7)
    power = {}
    for n_prompts in (10, 40, 160):
        rejections = [
            _run(rng, n_prompts=n_prompts, tau=0.02, noise=1.0, shift=0.3).p_value <= ALPHA for _ in range(60)
        ]
        power[n_prompts] = np.mean(rejections)
    assert power[10] < power[40] < power[160], power
    assert power[160] >= 0.8, power


def test_planted_signal_gives_small_p_and_positive_effect(rng):
    res = _run(rng, n_prompts=200, tau=0.05, noise=1.0, shift=0.8, n_resamples=499)
    assert isinstance(res, CombinedTest)
    assert res.p_value <= 0.01
    assert res.effect_size > 2
    assert res.ci[0] < res.effect_size < res.ci[1] or res.ci[0] <= res.effect_size
    assert res.null_distribution.shape == (499,)
    assert res.n_resamples == 499 and res.n_panel == 8 and res.n_prompts == 200
    for s in res.signals:
        assert s.p_value <= 0.05 and s.effect_size > 0
        assert len(s.top_prompts) == 5
        assert s.null_distribution.shape == (499,)
    # p-values are Monte Carlo p-values (k + 1) / (B + 1)
    k = round(res.p_value * 500 - 1)
    assert abs(res.p_value - (k + 1) / 500) < 1e-12


def test_same_generator_state_gives_same_result():
    a = _run(np.random.default_rng(5))
    b = _run(np.random.default_rng(5))
    assert a.p_value == b.p_value and a.statistic == b.statistic
    assert a.rng_state == b.rng_state and a.rng_state["seed_entropy"] == 5


def test_degenerate_panel_uses_prompt_noise_floor(rng):
    # no panel member ever shows the behaviour; the suspect does on 12 of 400 prompts
    models = ["S"] + [f"m{i}" for i in range(8)]
    V = np.zeros((9, 400))
    V[0, rng.choice(400, 12, replace=False)] = 1.0
    res = panel_test([_scores("identity", V, models, standardise=False)], "S", models[1:], rng, n_resamples=999)
    assert np.isfinite(res.statistic) and res.p_value < 0.01
    # a single occurrence is not evidence
    V1 = np.zeros((9, 400))
    V1[0, 3] = 1.0
    res1 = panel_test([_scores("identity", V1, models, standardise=False)], "S", models[1:], rng, n_resamples=999)
    assert res1.p_value > 0.1


def test_panel_too_small_is_undefined(rng):
    models = ["S", "m1"]
    V = rng.standard_normal((2, 30))
    res = panel_test([_scores("x", V, models)], "S", ["m1"], rng, n_resamples=99)
    assert not res.defined and np.isnan(res.p_value)
    assert not res.signals[0].defined


def test_grouped_panel_members_count_once(rng):
    models = ["S", "a1", "a2", "b", "c", "d"]
    V = rng.standard_normal((6, 50))
    res = panel_test([_scores("x", V, models)], "S", models[1:], rng, n_resamples=99, groups={"a1": "A", "a2": "A"})
    assert res.n_panel == 4 and "A" in res.panel_values


def test_prompt_matrix_centres_each_prompt():
    models = ["S", "a", "b", "c"]
    V = np.array([[1.0, 2.0, np.nan], [0.0, 1.0, 3.0], [2.0, 0.0, 1.0], [1.0, 1.0, 2.0]])
    Z = prompt_matrix(_scores("x", V, models), models)
    assert np.allclose(np.nanmean(Z, axis=0), 0.0)
    assert np.isnan(Z[0, 2])


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
