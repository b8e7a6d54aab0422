"""Crisis kernels pinned on hand-computed values (issue 19: tests that kill the known mutants).

Each case is worked out in the comments; where a closed form exists in
:mod:`detente.crisis.theory` the kernel is also compared with it. The cross-tests on random
inputs are in ``tests/test_crisis_engine.py``; these are the branches and parameters they
do not reach (S ≠ 0 in the stag hunt, a = b = 0 leaks, dt ≠ 1, wars at month 0, the fast
screen of the preventive kernel).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from detente.crisis import kernels as K
from detente.crisis import theory


def _arr(*x):
    return np.array(x, dtype=float)


# ------------------------------------------------------------------ stag hunt threshold
def test_stag_hunt_mu_star_with_nonzero_sucker_payoff():
    # R=5, T=3, P=2, S=1: μ* = (P−S)/((R−T)+(P−S)) = 1/(2+1) = 1/3  ((P+S) would give 3/5)
    assert float(K.stag_hunt_mu_star(5.0, 3.0, 2.0, 1.0)) == pytest.approx(1 / 3, abs=1e-15)
    assert float(K.stag_hunt_mu_star(5.0, 3.0, 2.0, 1.0)) == pytest.approx(theory.stag_hunt_threshold(5, 3, 2, 1), abs=1e-15)
    # R=4, T=1, P=3, S=1: (3−1)/((4−1)+(3−1)) = 2/5
    assert float(K.stag_hunt_mu_star(4.0, 1.0, 3.0, 1.0)) == pytest.approx(0.4, abs=1e-15)


def test_stag_hunt_mu_star_dealing_dominant_and_vectorised():
    # R=5, P=2, S=1 and T = 3, 4.5, 5, 6, 8:
    #   T=3 → 1/3; T=4.5 → 1/(0.5+1) = 2/3; T=5 (R−T = 0, indifferent) → 1;
    #   T=6, 8 (T > R: dealing dominant, theory returns inf) → threshold 1 (loyalty never chosen)
    got = K.stag_hunt_mu_star(5.0, _arr(3.0, 4.5, 5.0, 6.0, 8.0), 2.0, 1.0)
    np.testing.assert_allclose(got, [1 / 3, 2 / 3, 1.0, 1.0, 1.0], rtol=0, atol=1e-15)
    assert math.isinf(theory.stag_hunt_threshold(5, 6, 2, 1))
    assert theory.stag_hunt_threshold(5, 5, 2, 1) == 1.0


def test_stag_hunt_mu_star_loyalty_dominant_gives_zero():
    # P < S (loyal against a dealer beats dealing back) and R > T: loyalty is dominant,
    # the raw formula is (2−3)/((5−3)+(2−3)) = −1 and the threshold is clipped to 0
    assert float(K.stag_hunt_mu_star(5.0, 3.0, 2.0, 3.0)) == 0.0


# ------------------------------------------------------------------ leak posterior
def test_leak_posterior_with_impossible_leak_keeps_the_prior():
    # a = b = 0: the leak has probability 0 under both types, no update (theory returns μ0)
    mu = _arr(0.0, 0.2, 0.7, 1.0)
    np.testing.assert_array_equal(K.leak_posterior(mu, 0.0, 0.0), mu)
    assert theory.leak_posterior(0.2, 0.0, 0.0) == 0.2


def test_leak_posterior_hand_values_and_corners():
    # μ=0.5, a=0.6, b=0.2: 0.1/(0.1+0.3) = 0.25;  μ=0.8, a=0.9, b=0.4: 0.32/(0.32+0.18) = 0.64
    got = K.leak_posterior(_arr(0.5, 0.8), _arr(0.6, 0.9), _arr(0.2, 0.4))
    np.testing.assert_allclose(got, [0.25, 0.64], rtol=0, atol=1e-15)
    # a = 0 (a disloyal partner never leaks) and b > 0: the leak proves loyalty, μ' = 1
    assert float(K.leak_posterior(0.3, 0.0, 0.5)) == 1.0
    # b = 0 (a loyal partner never leaks) and a > 0: μ' = 0; prior 0 stays 0, prior 1 stays 1
    np.testing.assert_array_equal(K.leak_posterior(_arr(0.0, 0.3, 1.0), 0.4, 0.0), [0.0, 0.0, 1.0])


# ------------------------------------------------------------------ time steps other than one month
def test_hazard_prob_with_a_fractional_step():
    # λ = 0.2 per month over a week-like step dt = 0.25: 1 − e^{−0.05} = 0.048770575...
    assert float(K.hazard_prob(np.array(0.2), 0.25)) == pytest.approx(1 - math.exp(-0.05), rel=1e-14)
    # dt = 3: 1 − e^{−0.6} = 0.451188...; default dt = 1: 1 − e^{−0.2}
    np.testing.assert_allclose(K.hazard_prob(_arr(0.2, 0.0), 3.0), [1 - math.exp(-0.6), 0.0], rtol=1e-14)
    assert float(K.hazard_prob(np.array(0.2))) == pytest.approx(1 - math.exp(-0.2), rel=1e-14)


def test_balance_step_with_half_step_and_clipping():
    # X01=0.5, X02=−0.4, X12=0.8, dt=0.5:
    #   X01' = 0.5 + 0.5·(−0.4·0.8) = 0.34;  X02' = −0.4 + 0.5·(0.5·0.8) = −0.2;
    #   X12' = 0.8 + 0.5·(0.5·−0.4) = 0.7
    n01, n02, n12 = K.balance_step(_arr(0.5), _arr(-0.4), _arr(0.8), 0.5)
    np.testing.assert_allclose([n01[0], n02[0], n12[0]], [0.34, -0.2, 0.7], rtol=0, atol=1e-15)
    # all three at 0.9, dt = 0.5: 0.9 + 0.5·0.81 = 1.305 → clipped to 1; all at −0.9 → −0.9 + 0.405 = −0.495
    n01, n02, n12 = K.balance_step(_arr(0.9, -0.9), _arr(0.9, -0.9), _arr(0.9, -0.9), 0.5)
    for x in (n01, n02, n12):
        np.testing.assert_allclose(x, [1.0, -0.495], rtol=0, atol=1e-15)
    # lower clip on each tie: (X01, X02, X12) = (−0.9, 0.9, −0.9), dt = 0.5:
    #   X01' = −0.9 + 0.5·(0.9·−0.9) = −1.305 → −1;  X02' = 0.9 + 0.5·0.81 = 1.305 → 1;  X12' = −1.305 → −1
    n01, n02, n12 = K.balance_step(_arr(-0.9, 0.9), _arr(0.9, -0.9), _arr(-0.9, -0.9), 0.5)
    np.testing.assert_allclose(n01, [-1.0, 1.0], rtol=0, atol=1e-15)    # second row: 0.9 + 0.405 → 1
    np.testing.assert_allclose(n02, [1.0, -1.0], rtol=0, atol=1e-15)    # −0.9 + 0.5·(0.9·−0.9) → −1
    np.testing.assert_allclose(n12, [-1.0, -1.0], rtol=0, atol=1e-15)   # −0.9 + 0.5·(0.9·−0.9) → −1
    # X01 = −0.9 with the other two at 0.9: −0.9 + 2·0.81 = 0.72 with dt = 2; X02' = 0.9 + 2·(−0.81) = −0.72
    n01, n02, n12 = K.balance_step(_arr(-0.9), _arr(0.9), _arr(0.9), 2.0)
    np.testing.assert_allclose([n01[0], n02[0], n12[0]], [0.72, -0.72, -0.72], rtol=0, atol=1e-14)


# ------------------------------------------------------------------ preventive war: backward pass
# δ = 0.9 per step, lump-sum costs c_D = c_R = 0.1: tot = 1/(1−δ) = 10, M_D(k) = 10·p_k − 0.1,
# κ_D = c_D(1−δ) = 0.01. War at k iff M_D(k) > 1 + δ·V(k+1) (+1e-12) when φ = 0.
D9 = 0.9
KW9 = dict(delta=D9, c_D=_arr(0.1), c_R=_arr(0.1), phi=_arr(0.0))


def _batch(p, delta=D9, c=0.1, phi=0.0):
    p = np.asarray(p, dtype=float)[:, None]
    tot = 1 / (1 - delta)
    MD, MR = p * tot - c, (1 - p) * tot - c
    return int(K.markov_path_batch(MD, MR, delta=delta, tot=tot, C=np.array([2 * c]), phi=np.array([phi]))[0])


def test_markov_batch_finds_a_war_at_month_zero():
    # p = 0.6, 0.3, 0.3: M_D = 5.9, 2.9, 2.9. k=1: 2.9 > 1 + 0.9·2.9 = 3.61? no (V = 2.9);
    # k=0: 5.9 > 3.61: war at month 0 (theory.markov_path's doctest). The pass must reach k = 0.
    assert _batch([0.6, 0.3, 0.3]) == 0
    assert theory.markov_path([0.6, 0.3, 0.3], 0.9, 0.1, 0.1)[0] == 0
    # the last month is never a war date (no future to protect): p = 0.6, 0.3 still gives 0, and
    # p = 0.3, 0.6 (D rising) gives peace
    assert _batch([0.6, 0.3]) == 0
    assert _batch([0.3, 0.6]) == -1


def test_preventive_kernel_cliff_one_month_ahead_war_at_month_zero():
    # ratio 1, no trend or drift: p = 0.5 now; a cliff of 0.3 from month 1: p = 0.5, 0.2, 0.2.
    # M_D = 4.9, 1.9, 1.9; k=1: 1.9 > 1 + 0.9·1.9 = 2.71? no; k=0: 4.9 > 2.71 → war at 0.
    # The fast screen passes (no smooth decline), so this goes through the t* = kc − 1 = 0 test.
    for fast in (True, False):
        got = K.preventive_first_war(_arr(1.0), 0.0, _arr(0.0), _arr(1.0), _arr(0.3), L=3, fast=fast, **KW9)
        assert got.tolist() == [0]


def test_preventive_kernel_tail_pass_runs_down_to_the_cliff_month():
    # ratio 1, drift −0.05, cliff 0.005 from month 1: p = 0.5, 0.445, 0.395 (L = 3).
    # Screen: δ·|drift| = 0.045 < (1−δ)(1 − p_max + κ_D) = 0.1·(1 − 0.5 + 0.01) = 0.051 → fast rows.
    # M_D = 4.9, 4.35, 3.85. k=1: 4.35 > 1 + 0.9·3.85 = 4.465? no, V(1) = max(0.9·3.85, 4.35) = 4.35.
    # k=0: 4.9 > 1 + 0.9·4.35 = 4.915? no → peace. A tail pass that stopped before month 1
    # would test against 1 + 0.9·3.85 = 4.465 and report a war at 0.
    args = (_arr(1.0), 0.0, _arr(-0.05), _arr(1.0), _arr(0.005))
    assert K.preventive_first_war(*args, L=3, **KW9).tolist() == [-1]
    assert K.preventive_first_war(*args, L=3, fast=False, **KW9).tolist() == [-1]
    assert theory.markov_path([0.5, 0.445, 0.395], 0.9, 0.1, 0.1)[0] is None
    # a stronger D now tips it: ratio 12/13 → p = 0.52, 0.465, 0.415, M_D = 5.1, 4.55, 4.05;
    # k=1: 4.55 > 1 + 0.9·4.05 = 4.645? no; k=0: 5.1 > 1 + 0.9·4.55 = 5.095 → war at 0
    # (screen: 0.045 < 0.1·(1 − 0.52 + 0.01) = 0.049, still the fast path)
    r = 12 / 13
    args = (_arr(r), 0.0, _arr(-0.05), _arr(1.0), _arr(0.005))
    assert K.preventive_first_war(*args, L=3, **KW9).tolist() == [0]


def test_preventive_kernel_screen_counts_a_steady_decline():
    # ratio 2/3 → p0 = 0.6, drift −0.05, no cliff in reach (at month 12, L = 3): p = 0.6, 0.55, 0.5.
    # Screen: δ·0.05 = 0.045 > (1−δ)(1 − 0.6 + 0.01) = 0.041 → the row takes the full pass.
    # M_D = 5.9, 5.4, 4.9; k=1: 5.4 > 1 + 0.9·4.9 = 5.41? no, V = 5.4; k=0: 5.9 > 1 + 4.86 = 5.86 → war at 0.
    args = (_arr(2 / 3), 0.0, _arr(-0.05), _arr(12.0), _arr(0.0))
    assert K.preventive_first_war(*args, L=3, **KW9).tolist() == [0]
    assert theory.markov_path([0.6, 0.55, 0.5], 0.9, 0.1, 0.1)[0] == 0


def test_preventive_kernel_screen_counts_positive_drift_in_the_largest_p():
    # δ = 0.3, no costs, L = 7, ratio 0.05, trend g = 0.4, drift +0.05 (no cliff in reach):
    # p_k = 1/(1 + 0.05·e^{0.4k}) + 0.05k = 0.95238, 0.98059, 0.99987, 1.00763→0.9999, 1.00151→0.9999,
    # 0.98022, 0.94468. The drift lifts p above its start before the logistic decline wins.
    # Markov condition at k=4: δ(p4 − p5) = 0.3·0.01968 = 0.0059 > (1−δ)(1 − p4) = 0.7·0.0001 → war at 4
    # (at k=3, p3 − p4 = 0). Screen: bound = g/4 = 0.1, δ·0.1 = 0.03 must be compared with
    # (1−δ)(1 − p_max) where p_max = max(p_0, p_6) + 0.05·6 (capped at 0.9999) → 0.00007: full pass.
    # Without the drift term p_max = 0.95238 gives 0.7·0.0476 = 0.0333 > 0.03 and peace.
    kw = dict(delta=0.3, c_D=_arr(0.0), c_R=_arr(0.0), phi=_arr(0.0))
    args = (_arr(0.05), 0.4, _arr(0.05), _arr(12.0), _arr(0.0))
    assert K.preventive_first_war(*args, L=7, **kw).tolist() == [4]
    assert K.preventive_first_war(*args, L=7, fast=False, **kw).tolist() == [4]
    k = np.arange(7)
    p = np.clip(1 / (1 + 0.05 * np.exp(0.4 * k)) + 0.05 * k, 1e-4, 1 - 1e-4)
    assert theory.markov_path(p, 0.3, 0.0, 0.0)[0] == 4


def test_preventive_kernel_cliff_that_lifts_the_path_is_screened():
    # Defect found here (fixed in kernels.py): a cliff of negative size raises D's believed strength
    # after it, above the smooth p_max the fast screen assumed. ratio 1, drift −0.04, cliff −0.3 at
    # month 1, L = 4: p = 0.5, 0.76, 0.72, 0.68; M_D = 4.9, 7.5, 7.1, 6.7.
    # k=2: 7.1 > 1 + 0.9·6.7 = 7.03 → war; k=1: 7.5 > 1 + 0.9·7.1 = 7.39 → war; k=0: 4.9 > 7.75? no.
    # First war at 1. The old screen used p_max = 0.5: δ·0.04 = 0.036 < 0.1·(1 − 0.5 + 0.01) = 0.051,
    # so the row went to the fast path, which tests only t* = 0 and returned peace.
    args = (_arr(1.0), 0.0, _arr(-0.04), _arr(1.0), _arr(-0.3))
    assert K.preventive_first_war(*args, L=4, fast=False, **KW9).tolist() == [1]
    assert K.preventive_first_war(*args, L=4, **KW9).tolist() == [1]
    assert theory.markov_path([0.5, 0.76, 0.72, 0.68], 0.9, 0.1, 0.1)[0] == 1


def test_preventive_fast_path_equals_full_pass_with_lifting_cliffs_and_rising_paths():
    """The fast path's promise (bit-identical to the full pass) on the inputs the screen must
    handle: negative cliff sizes, positive drift, cliffs outside the look-ahead, small δ."""
    rng = np.random.default_rng(19)
    for _ in range(60):
        n, L = 300, int(rng.integers(3, 40))
        delta = float(rng.choice([0.3, 0.6, 0.9, 0.9 ** (1 / 12)]))
        ratio = np.exp(rng.uniform(-4, 3, n))
        drift = rng.uniform(-0.01, 0.08, n) * rng.integers(0, 2, n)
        cliff = rng.uniform(-2, L + 2, n)
        size = rng.uniform(-0.4, 0.5, n)
        kD, kR = rng.uniform(0.0, 0.3, n), rng.uniform(0.0, 0.3, n)
        phi = rng.uniform(0, 1, n) * rng.integers(0, 2, n)
        g = float(rng.uniform(-0.3, 1.0))
        kw = dict(L=L, delta=delta, c_D=kD / (1 - delta), c_R=kR / (1 - delta), phi=phi)
        np.testing.assert_array_equal(K.preventive_first_war(ratio, g, drift, cliff, size, **kw),
                                      K.preventive_first_war(ratio, g, drift, cliff, size, fast=False, **kw))


def test_preventive_fast_path_equals_full_pass_on_steep_and_saturated_paths():
    """Same promise on the far corners of the screen: steep trends (g up to 8, so the decline bound
    g/4 exceeds 1), rising logistics (g < 0, the largest p at the end of the look-ahead), paths that
    drift or jump past 1 − 1e-4 and are clipped, and very small or large power ratios."""
    rng = np.random.default_rng(3)
    for _ in range(150):
        n, L = 300, int(rng.integers(3, 12))
        delta = float(rng.choice([0.3, 0.6, 0.9]))
        ratio = np.exp(rng.uniform(-9, 3, n))
        g = float(rng.uniform(-1, 8))
        drift = rng.uniform(-0.01, 0.2, n) * rng.integers(0, 2, n)
        cliff = rng.integers(1, L, n).astype(float)
        size = rng.uniform(-0.4, 0.6, n)
        kD, kR = rng.uniform(0, 0.3, n) * rng.integers(0, 2, n), rng.uniform(0, 0.3, n)
        phi = rng.uniform(0, 1, n) * rng.integers(0, 2, n)
        kw = dict(L=L, delta=delta, c_D=kD / (1 - delta), c_R=kR / (1 - delta), phi=phi)
        np.testing.assert_array_equal(K.preventive_first_war(ratio, g, drift, cliff, size, **kw),
                                      K.preventive_first_war(ratio, g, drift, cliff, size, fast=False, **kw))


def test_first_war_dates_are_int32_on_every_path():
    # documented return type (int32, −1 for peace), the same from the full and the fast pass
    assert _batch_dtype() == np.int32
    for fast in (True, False):
        got = K.preventive_first_war(_arr(1.0, 2 / 3), 0.0, _arr(0.0, -0.05), _arr(1.0, 12.0), _arr(0.3, 0.0),
                                     L=3, fast=fast, delta=D9, c_D=_arr(0.1, 0.1), c_R=_arr(0.1, 0.1), phi=_arr(0.0, 0.0))
        assert got.dtype == np.int32 and got.tolist() == [0, 0]
    none = K.preventive_first_war(_arr(1.0), 0.0, _arr(0.0), _arr(12.0), _arr(0.0), L=3, delta=D9, c_D=_arr(0.1),
                                  c_R=_arr(0.1), phi=_arr(0.0))
    assert none.dtype == np.int32 and none.tolist() == [-1]


def _batch_dtype():
    p = np.array([[0.6], [0.3], [0.3]])
    return K.markov_path_batch(p * 10 - 0.1, (1 - p) * 10 - 0.1, delta=0.9, tot=10.0, C=np.array([0.2]),
                               phi=np.array([0.0])).dtype


# ------------------------------------------------------------------ expert groups, risk-return edge
def test_group_step_postponed_and_idle_decay_at_their_own_rates():
    # a = 0.5 in three groups: met (η = 0.2): 0.5 + 0.2·0.5 = 0.6; postponed (ω = 0.1): 0.5·0.9 = 0.45;
    # idle (ω_idle = 0.02): 0.5·0.98 = 0.49
    got = K.group_step(_arr(0.5, 0.5, 0.5), np.array([True, False, False]), np.array([False, True, False]),
                       0.2, 0.1, 0.02)
    np.testing.assert_allclose(got, [0.6, 0.45, 0.49], rtol=0, atol=1e-15)


def test_risk_return_with_zero_cost_bound_is_zero_and_silent():
    # c̄ = 0 (B's cost known to be 0): c_A < c̄ is false → P(war) = 0, with no division warning
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = K.risk_return_pwar(_arr(0.3, 0.7), _arr(0.0, 0.1), _arr(0.0, 0.0))
    np.testing.assert_array_equal(got, [0.0, 0.0])


def test_preventive_kernel_screen_takes_the_end_of_a_rising_path():
    # δ = 0.9, no costs, L = 7, ratio 100 with g = −2 (D rising fast), drift −0.02, no cliff in reach:
    # p_k = 1/(1 + 100·e^{−2k}) − 0.02k = 0.0099, 0.0488, 0.3132, 0.7414, 0.8875, 0.8955, 0.8794.
    # M_D = 10·p; k=5: 8.9548 > 1 + 0.9·8.7939 = 8.9145 → war at 5 (none earlier: p rises until 5).
    # Screen: bound = 0.02, δ·0.02 = 0.018 vs (1−δ)(1 − p_max) with p_max = p_6 of the logistic
    # = 1/(1 + 100e^{−12}) = 0.99939 → 0.00006: full pass. Taking p_max from the start (0.0099) or
    # underestimating the end gives 0.1·(1 − p_max) > 0.018 and peace.
    kw = dict(delta=0.9, c_D=_arr(0.0), c_R=_arr(0.0), phi=_arr(0.0))
    args = (_arr(100.0), -2.0, _arr(-0.02), _arr(12.0), _arr(0.0))
    assert K.preventive_first_war(*args, L=7, **kw).tolist() == [5]
    assert K.preventive_first_war(*args, L=7, fast=False, **kw).tolist() == [5]
    k = np.arange(7)
    assert theory.markov_path(1 / (1 + 100 * np.exp(-2.0 * k)) - 0.02 * k, 0.9, 0.0, 0.0)[0] == 5


# ------------------------------------------------------------------ triangle, contest, reputation, risks
def test_triangle_config_matches_dittmer_labels_of_the_theory():
    # all 8 sign patterns of (x01, x02, x12), as one vectorised call; names 0, 1, 2
    import itertools

    pats = np.array(list(itertools.product((1.0, -1.0), repeat=3)))
    codes = K.triangle_config(pats[:, 0], pats[:, 1], pats[:, 2])
    for (s01, s02, s12), code in zip(pats, codes):
        ts = theory.triangle_scores(int(s01), int(s02), int(s12), names=("0", "1", "2"))
        label = K.CONFIGS[code]
        if ts.configuration == "romantic":
            assert label == f"romantic_pivot{ts.pivot}"
        elif ts.configuration == "marriage":
            assert label == f"marriage_outcast{ts.outcast}"
        else:
            assert label == ts.configuration
    # by hand: US(0)–RU(1) +, US–CN(2) +, RU–CN −: US is the pivot (code 1); only RU–CN +: US outcast
    assert K.CONFIGS[int(K.triangle_config(np.array(0.4), np.array(0.2), np.array(-0.3)))] == "romantic_pivot0"
    assert K.CONFIGS[int(K.triangle_config(np.array(-0.4), np.array(-0.2), np.array(0.3)))] == "marriage_outcast0"
    # a tie of exactly 0 is not amity: (0, 0, 0) is unit veto, (0.1, 0, 0) a marriage with 2 outcast
    z = K.triangle_config(_arr(0.0, 0.1), _arr(0.0, 0.0), _arr(0.0, 0.0))
    assert [K.CONFIGS[c] for c in z] == ["unit_veto", "marriage_outcast2"]


def test_contest_p_hand_values():
    # P_a = 3, P_b = 1: m = 1 → 3/4; m = 2 → 9/10; m = 0.5 → √3/(√3 + 1) = 0.633975...
    np.testing.assert_allclose(K.contest_p(_arr(3.0, 3.0, 3.0), _arr(1.0, 1.0, 1.0), _arr(1.0, 2.0, 0.5)),
                               [0.75, 0.9, math.sqrt(3) / (math.sqrt(3) + 1)], rtol=1e-15)
    assert float(K.contest_p(np.array(2.0), np.array(6.0))) == pytest.approx(0.25, rel=1e-15)   # default m = 1


def test_abreu_gul_rates_asymmetric_equal_theory():
    # a1 = 0.7, a2 = 0.6, r1 = 0.1, r2 = 0.2: a1 + a2 − 1 = 0.3;
    # λ1 = r2(1 − a1)/0.3 = 0.2·0.3/0.3 = 0.2, λ2 = r1(1 − a2)/0.3 = 0.1·0.4/0.3 = 0.13333...
    l1, l2 = K.abreu_gul_rates(0.7, 0.6, 0.1, 0.2)
    assert (float(l1), float(l2)) == pytest.approx((0.2, 0.04 / 0.3), rel=1e-14)
    ag = theory.abreu_gul(0.1, 0.2, 0.7, 0.6, 0.1, 0.2)
    assert (float(l1), float(l2)) == pytest.approx((ag.lambda_1, ag.lambda_2), rel=1e-14)
    # compatible demands (a1 + a2 ≤ 1, no reputational war): the excess is floored at 1e-9, so
    # the rational types concede at once (rates ~1e8 per month), not with a sign flip
    l1, l2 = K.abreu_gul_rates(0.5, 0.4, 0.1, 0.2)
    assert float(l1) == pytest.approx(0.2 * 0.5 / 1e-9, rel=1e-12) and float(l2) == pytest.approx(0.1 * 0.6 / 1e-9, rel=1e-12)


def test_competing_risks_step_hand_values_and_quiet_rows():
    # h = (0.2, 0.1): p_any = 1 − 0.8·0.9 = 0.28; shares 0.28·(2/3, 1/3); a row of zeros: 0 and (0, 0)
    p_any, shares = K.competing_risks_step(np.array([[0.2, 0.1], [0.0, 0.0]]))
    np.testing.assert_allclose(p_any, [0.28, 0.0], rtol=0, atol=1e-15)
    np.testing.assert_allclose(shares, [[0.28 * 2 / 3, 0.28 / 3], [0.0, 0.0]], rtol=0, atol=1e-15)
    # a certain cause (h = 1) makes the step certain up to the 1e-15 guard of the logarithm, which
    # also keeps log(1 − h) finite (no divide-by-zero warning)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p_any, shares = K.competing_risks_step(np.array([1.0, 0.5]))
    assert float(p_any) == pytest.approx(1.0, abs=1e-14)
    np.testing.assert_allclose(shares, [2 / 3, 1 / 3], atol=1e-14)


# ------------------------------------------------------------------ ties and the screen's safety margin
def test_an_exactly_indifferent_declining_side_does_not_fight():
    # p = 0.281, 0.2, 0.2 (ratio 1/0.281 − 1, cliff 0.081 from month 1), δ = 0.9, c = 0.1:
    # M_D = 2.71, 1.9, 1.9; at k = 0 the threshold is 1 + 0.9·1.9 = 2.71 = M_D(0): indifference.
    # War needs M_D to exceed the threshold by the 1e-12 margin, so both passes report peace;
    # 1e-9 more strength for D now tips it into war at 0.
    for p0, want in ((0.281, -1), (0.281 + 1e-9, 0)):
        args = (_arr(1 / p0 - 1), 0.0, _arr(0.0), _arr(1.0), _arr(p0 - 0.2))
        for fast in (True, False):
            assert K.preventive_first_war(*args, L=3, fast=fast, **KW9).tolist() == [want], (p0, fast)
    assert _batch([0.281, 0.2, 0.2]) == -1 and _batch([0.281 + 1e-9, 0.2, 0.2]) == 0


def test_screen_margin_keeps_a_row_just_past_the_boundary_on_the_full_pass():
    # Pure drift (ratio 2/3 → p = 0.6, 0.55, 0.5; δ = 0.9): the one-step decline is exactly 0.05 and,
    # with V(1) = M_D(1), the war condition at 0 is the screen's inequality itself:
    # δ·0.05 > (1−δ)(1 − 0.6 + κ_D). Choose κ_D so the right side is 0.045 − 2e-11: a real war at 0,
    # 2e-11 inside the boundary. The screen's relative margin (1 + 1e-9 on the left, 4.5e-11 here)
    # must send the row to the full pass; a margin taken the other way would call it peaceful.
    kD = (0.9 * 0.05 - 2e-11) / 0.1 - 0.4
    kw = dict(delta=0.9, c_D=_arr(kD / 0.1), c_R=_arr(0.1), phi=_arr(0.0))
    args = (_arr(2 / 3), 0.0, _arr(-0.05), _arr(12.0), _arr(0.0))
    assert K.preventive_first_war(*args, L=3, fast=False, **kw).tolist() == [0]
    assert K.preventive_first_war(*args, L=3, **kw).tolist() == [0]


# ------------------------------------------------------------------ survivors of the full run (issue 19)
def test_preventive_kernel_screen_with_per_row_trends_takes_the_end_of_a_rising_path():
    # the rising-path case above with the trend given per row (the numpy branch of the screen):
    # p_max must be the logistic at month L−1 = 6, 1/(1 + 100·e^{−12}) = 0.99939, not at month 1/(L−1)
    kw = dict(delta=0.9, c_D=_arr(0.0), c_R=_arr(0.0), phi=_arr(0.0))
    args = (_arr(100.0), _arr(-2.0), _arr(-0.02), _arr(12.0), _arr(0.0))
    assert K.preventive_first_war(*args, L=7, **kw).tolist() == [5]
    assert K.preventive_first_war(*args, L=7, fast=False, **kw).tolist() == [5]


def test_preventive_kernel_screen_counts_the_drift_of_the_whole_lookahead():
    # the positive-drift case above (δ = 0.3, ratio 0.05, g = 0.4, drift +0.05) over L = 16 months:
    # p_k = 0.95238, 0.98059, 0.99987, 0.9999, 0.9999, 0.98022, … → Markov war at month 4 as before.
    # Screen: p_max = max(p_0, logistic p_15 = 0.0472) + 0.05·15, capped at 0.9999 → full pass.
    # Counting only 0.05/15 of drift gives p_max = 0.9557, 0.7·(1 − 0.9557) = 0.031 > δ·g/4 = 0.03: peace.
    kw = dict(delta=0.3, c_D=_arr(0.0), c_R=_arr(0.0), phi=_arr(0.0))
    args = (_arr(0.05), 0.4, _arr(0.05), _arr(40.0), _arr(0.0))
    assert K.preventive_first_war(*args, L=16, **kw).tolist() == [4]
    k = np.arange(16)
    p = np.clip(1 / (1 + 0.05 * np.exp(0.4 * k)) + 0.05 * k, 1e-4, 1 - 1e-4)
    assert theory.markov_path(p, 0.3, 0.0, 0.0)[0] == 4


def test_failed_wedge_step_without_waiting_by_default():
    # wait defaults to 0: the belief moves the full gain toward what it saw:
    # 0.2 + (1 − 0.2)·0.5 = 0.6 when the pair held, 0.2 + (0 − 0.2)·0.5 = 0.1 when it did not
    np.testing.assert_allclose(K.failed_wedge_step(_arr(0.2, 0.2), np.array([True, False]), 0.5), [0.6, 0.1],
                               rtol=0, atol=1e-15)


def test_stag_hunt_mu_star_dealing_dominant_whatever_the_gap_p_minus_s():
    # T > R: dealing dominant, threshold 1 — also when P − S ≠ 1 (R=5, T=6, P=1.5, S=1: the raw
    # formula would give 0.5/((5−6)+0.5) = −1, and with the guard's placeholder divisor 0.5)
    assert float(K.stag_hunt_mu_star(5.0, 6.0, 1.5, 1.0)) == 1.0
    np.testing.assert_array_equal(K.stag_hunt_mu_star(5.0, _arr(7.0, 9.0), 3.0, 1.0), [1.0, 1.0])


def test_preventive_kernel_with_one_drift_for_all_rows():
    # the steady-decline case above with the drift given as one float (not an array) and without a
    # cliff (so the full pass runs): p = 0.6, 0.55, 0.5 → war at month 0; without the drift the path
    # is flat at 0.6 and there is no war
    args = (_arr(2 / 3), 0.0, -0.05, None, 0.0)
    assert K.preventive_first_war(*args, L=3, **KW9).tolist() == [0]
    assert K.preventive_first_war(_arr(2 / 3), 0.0, 0.0, None, 0.0, L=3, **KW9).tolist() == [-1]


def _mpb(p, delta, c_D, c_R, phi):
    p = np.asarray(p, dtype=float)
    tot = 1 / (1 - delta)
    MD, MR = (p * tot - c_D)[:, None], ((1 - p) * tot - c_R)[:, None]
    return int(K.markov_path_batch(MD, MR, delta=delta, tot=tot, C=np.array([c_D + c_R]), phi=np.array([phi]))[0])


def test_markov_batch_with_full_commitment_starts_r_min_at_the_last_month():
    # p = (0.34, 0.22, 0.03), δ = 0.9, c_D = 0.4, c_R = 0.2, φ = 1: tot = 10, M_D = (3.0, 1.8, −0.1),
    # M_R = (6.4, 7.6, 9.5), tot − C = 9.4. Start V = −0.1, S = 10, R_min = M_R(2) = 9.5.
    # k=1: m = max(7.6, 0.9·9.5) = 8.55, a = 0.9·10 − 8.55 + 1 = 1.45 < 1.8 → war; V = 1.8, S = 9.4, R_min = 7.6
    # k=0: m = max(6.4, 6.84) = 6.84, a = 0.9·9.4 − 6.84 + 1 = 2.62 < 3.0 → war at 0.
    # (R_min started at M_R(1) = 7.6 instead: a = 2.4 at k=1, no war; a = 3.16 at k=0, peace.)
    assert _mpb([0.34, 0.22, 0.03], 0.9, 0.4, 0.2, 1.0) == 0
    assert theory.markov_path([0.34, 0.22, 0.03], 0.9, 0.4, 0.2, 1.0)[0] == 0


def test_markov_batch_stops_at_month_zero():
    # p = (0.96, 0.90, 0.98), δ = 0.9, c_D = 0.4, c_R = 0.2, φ = 0.5: M_D = (9.2, 8.6, 9.4), M_R = (0.2, 0.8, 0.0).
    # k=1: m = 0.8, a = 0.9·(0.5·9.4 + 0.5·10) − 0.4 + 1 = 9.33 > 8.6 → no war; V = 8.6, S = 10, R_min = 0.8
    # k=0: m = 0.72, a = 0.9·(0.5·8.6 + 0.5·10) − 0.36 + 1 = 9.01 < 9.2 → war at 0.
    # A pass that went on to "k = −1" (reading the last month again) would find 9.4 > 9.28 there and
    # write −1 over the date.
    assert _mpb([0.96, 0.90, 0.98], 0.9, 0.4, 0.2, 0.5) == 0
    assert theory.markov_path([0.96, 0.90, 0.98], 0.9, 0.4, 0.2, 0.5)[0] == 0


def test_stag_hunt_mu_star_with_a_denominator_below_one():
    # R=5, T=4.5, P=2, S=1.8: (P−S)/((R−T)+(P−S)) = 0.2/0.7 = 2/7 (the guard must not replace a
    # positive denominator below 1)
    assert float(K.stag_hunt_mu_star(5.0, 4.5, 2.0, 1.8)) == pytest.approx(2 / 7, abs=1e-15)
    assert theory.stag_hunt_threshold(5, 4.5, 2, 1.8) == pytest.approx(2 / 7, abs=1e-15)


# ------------------------------------------------------------------ the re-run after the row-by-row passes (issue 19)
# Up to K.SCALAR_ROWS rows (full pass) and K.TAIL_SCALAR_ROWS cliff candidates (fast path's tail)
# the preventive kernel runs row by row in Python floats, above that on numpy arrays: each case
# below is checked with one row and with copies of the row past both limits, so both versions run.
def _both_sizes(args, **kw):
    """First-war months of the given rows and of n > K.SCALAR_ROWS copies of each row (arrays are
    repeated element by element, floats and None broadcast); both int32 and the same."""
    n = max(K.SCALAR_ROWS, K.TAIL_SCALAR_ROWS) + 1
    rep = [np.repeat(a, n) if isinstance(a, np.ndarray) else a for a in args]
    kwn = {k: np.repeat(v, n) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    one = K.preventive_first_war(*args, **kw)
    many = K.preventive_first_war(*rep, **kwn)
    assert one.dtype == np.int32 and many.dtype == np.int32
    assert many.tolist() == np.repeat(one, n).tolist()
    return one.tolist()


def test_markov_batch_resets_v_at_a_war_with_partial_commitment():
    # p = (0.5, 0.4, 0.1, 0.6), δ = 0.9, c_D = c_R = 0.1, φ = 0.5: tot = 10, tot − C = 9.8,
    # M_D = (4.9, 3.9, 0.9, 5.9), M_R = (4.9, 5.9, 8.9, 3.9). Start V = 5.9, S = 10, R_min = 3.9.
    # k=2: m = max(8.9, 3.51) = 8.9, a = 0.9·(0.5·5.9 + 0.5·10) − 0.5·8.9 + 1 = 3.705 > 0.9: no war;
    #      V = max(0.9·5.9, 0.9) = 5.31, S = 10, R_min = 8.9.
    # k=1: m = max(5.9, 8.01) = 8.01, a = 0.9·(0.5·5.31 + 5) − 4.005 + 1 = 3.8845 < 3.9: war at 1;
    #      V = M_D(1) = 3.9 (not max(0.9·5.31, 3.9) = 4.779), S = 9.8, R_min = 5.9.
    # k=0: m = max(4.9, 5.31) = 5.31, a = 0.9·(0.5·3.9 + 0.5·9.8) − 2.655 + 1 = 4.51 < 4.9: war at 0.
    # (With V left at 4.779 after the war: a = 4.90555 > 4.9, no war at 0, first war 1.)
    assert _mpb([0.5, 0.4, 0.1, 0.6], 0.9, 0.1, 0.1, 0.5) == 0
    assert theory.markov_path([0.5, 0.4, 0.1, 0.6], 0.9, 0.1, 0.1, 0.5)[0] == 0


def test_preventive_kernel_with_a_drift_of_one_per_month():
    # ratio 1, trend g = ln(7/3), one float drift +1 for all rows, no cliff (full pass), L = 3:
    # p = 0.5, 1/(1 + 7/3) + 1 = 1.3 → 0.9999, 9/58 + 2 → 0.9999; M_D = 4.9, 9.899, 9.899.
    # k=1: 9.899 > 1 + 0.9·9.899 = 9.9091? no, V = 9.899; k=0: 4.9 > 9.9091? no → peace.
    # Without the drift: p = 0.5, 0.3, 9/58 = 0.15517, M_D = 4.9, 2.9, 1.4517: war at 1
    # (2.9 > 1 + 0.9·1.4517 = 2.3066) and at 0 (4.9 > 1 + 0.9·2.9 = 3.61) → 0.
    g = math.log(7 / 3)
    assert _both_sizes((_arr(1.0), g, 1.0, None, 0.0), L=3, **KW9) == [-1]
    assert _both_sizes((_arr(1.0), g, 0.0, None, 0.0), L=3, **KW9) == [0]
    assert theory.markov_path([0.5, 0.3, 9 / 58], 0.9, 0.1, 0.1)[0] == 0


def test_preventive_fast_path_clips_a_tail_above_one():
    # A fast-path row whose tail after the cliff rises past 1: p0 = 0.83171 (ratio 1/p0 − 1, no
    # trend), drift +0.25, cliff at month 1 of size p0 − 0.35, L = 5: p = 0.83171, 0.6, 0.85,
    # 1.1 → 0.9999, 1.35 → 0.9999. Screen: no decline bound (drift > 0, g = 0), p_max capped at
    # 0.9999: 1e-12 < 0.1·(1e-4 + 0.01) → fast path, candidate t* = 0.
    # M_D = 10p − 0.1 = 8.2171, 5.9, 8.4, 9.899, 9.899. Tail: V(3) = 9.899, V(2) = 0.9·9.899 = 8.9091,
    # V(1) = 0.81·9.899 = 8.01819. Test at 0: 8.2171 > 1 + 0.9·8.01819 = 8.216371 → war at 0.
    # (A tail clipped at 1 + 1e-4 instead: M_D = 9.901, V(1) = 8.01981, threshold 8.217829, peace.)
    p0 = 0.83171
    args = (_arr(1 / p0 - 1), 0.0, _arr(0.25), _arr(1.0), _arr(p0 - 0.35))
    assert _both_sizes(args, L=5, **KW9) == [0]
    assert _both_sizes(args, L=5, fast=False, **KW9) == [0]
    p = np.clip([p0, 0.6, 0.85, 1.1, 1.35], 1e-4, 1 - 1e-4)
    assert theory.markov_path(p, 0.9, 0.1, 0.1)[0] == 0


def test_preventive_full_pass_resets_v_at_a_war_with_partial_commitment():
    # ratio 1, trend g = −ln 2 (D's logistic rises: 1/(1 + 2^−k)), drift −0.2, a cliff of −0.5 at
    # month 4 (D's believed strength jumps up), L = 5, δ = 0.9, no costs, φ = 0.9:
    # p = 1/2, 7/15, 2/5, 13/45, 109/170; M_D = 10p = 5, 4.6667, 4, 2.8889, 6.4118, M_R = 10 − M_D.
    # The screen sends the row to the full pass (δ·0.2 = 0.18 > 0.1·(1 − p_max)).
    # Start V = 6.4118, S = 10, R_min = 3.5882.
    # k=3: m = 7.1111, a = 0.9·(0.1·6.4118 + 0.9·10) − 0.9·7.1111 + 1 = 3.2771 > 2.8889: no war;
    #      V = max(0.9·6.4118, 2.8889) = 5.7706, R_min = 7.1111.
    # k=2: m = max(6, 6.4) = 6.4, a = 0.9·(0.57706 + 9) − 5.76 + 1 = 3.8594 < 4: war; V = 4, R_min = 6.
    # k=1: m = max(5.3333, 5.4) = 5.4, a = 0.9·(0.4 + 9) − 4.86 + 1 = 4.6 < 4.6667: war; V = 4.6667.
    # k=0: m = 5, a = 0.9·(0.46667 + 9) − 4.5 + 1 = 5.02 > 5: no war. First war at 1.
    # (V left at max(0.9·5.7706, 4) = 5.1935 after the war at 2: a = 4.7074 at k=1, first war 2.)
    kw = dict(delta=0.9, c_D=_arr(0.0), c_R=_arr(0.0), phi=_arr(0.9))
    args = (_arr(1.0), -math.log(2.0), _arr(-0.2), _arr(4.0), _arr(-0.5))
    assert _both_sizes(args, L=5, **kw) == [1]
    assert _both_sizes(args, L=5, fast=False, **kw) == [1]
    p = [1 / 2, 7 / 15, 2 / 5, 13 / 45, 109 / 170]
    assert theory.markov_path(p, 0.9, 0.0, 0.0, 0.9)[0] == 1
    assert _mpb(p, 0.9, 0.0, 0.0, 0.9) == 1


def test_preventive_fast_path_with_per_row_trends():
    # ratio 1, trend −ln 2 per row (D's logistic 1/(1 + 2^−k) = 0.5, 2/3, 0.8, 8/9), δ = 0.9,
    # c = 0.1, L = 4. Screen: no decline bound (trend < 0, no drift), p_max = 8/9:
    # 1e-12 < 0.1·(1 − 0.8889 + 0.01) → both rows on the fast path.
    # Row 1, cliff 0.3 at month 1: p = 0.5, 0.3667, 0.5, 0.5889, M_D = 4.9, 3.5667, 4.9, 5.7889;
    #   tail V(1) = max(0.9·max(0.9·5.7889, 4.9), 3.5667) = 0.81·5.7889 = 4.689; test at 0:
    #   4.9 > 1 + 0.9·4.689 = 5.2201? no → peace.
    # Row 2, cliff 0.5 at month 2: p = 0.5, 0.6667, 0.3, 0.3889, M_D = 4.9, 6.5667, 2.9, 3.7889;
    #   tail V(2) = max(0.9·3.7889, 2.9) = 3.41; test at 1: 6.5667 > 1 + 0.9·3.41 = 4.069 → war at 1
    #   (the full pass: no war at 2, 2.9 < 4.41; none at 0, 4.9 < 1 + 0.9·6.5667).
    g = -math.log(2.0)
    args = (_arr(1.0, 1.0), _arr(g, g), _arr(0.0, 0.0), _arr(1.0, 2.0), _arr(0.3, 0.5))
    kw = dict(delta=D9, c_D=_arr(0.1, 0.1), c_R=_arr(0.1, 0.1), phi=_arr(0.0, 0.0))
    assert _both_sizes(args, L=4, **kw) == [-1, 1]
    assert _both_sizes(args, L=4, fast=False, **kw) == [-1, 1]
    assert _both_sizes((args[0], g) + args[2:], L=4, **kw) == [-1, 1]
    assert theory.markov_path([0.5, 0.3 + 1 / 15, 0.5, 0.5 + 8 / 9 - 0.8], 0.9, 0.1, 0.1)[0] is None
    assert theory.markov_path([0.5, 2 / 3, 0.3, 8 / 9 - 0.5], 0.9, 0.1, 0.1)[0] == 1


def test_preventive_kernel_with_a_zero_or_infinite_power_ratio():
    # ratio 0 (R has no capability): p = 1 → 0.9999 every month, flat, no war (cliff out of reach);
    # ratio ∞ (D has none): p = 0 − 0.3 → 1e-4 every month, flat, no war; beside them the
    # cliff-at-month-1 case (ratio 1, cliff 0.3: war at 0). The row-by-row passes hand such
    # rows to the array versions (an infinite ratio is not finite, a zero one not positive).
    args = (_arr(1.0, 0.0, np.inf), 0.0, _arr(0.0, 0.0, 0.0), _arr(1.0, 12.0, 1.0), _arr(0.3, 0.3, 0.3))
    kw = dict(delta=D9, c_D=_arr(0.1, 0.1, 0.1), c_R=_arr(0.1, 0.1, 0.1), phi=_arr(0.0, 0.0, 0.0))
    assert _both_sizes(args, L=3, **kw) == [0, -1, -1]
    assert _both_sizes(args, L=3, fast=False, **kw) == [0, -1, -1]


def test_preventive_fast_path_tail_reaches_the_smallest_cliff_month_of_many_rows():
    # More than K.TAIL_SCALAR_ROWS candidates (the array tail pass), one of them with the earliest
    # cliff: row 0 is the peaceful tail case above (ratio 1, drift −0.05, cliff 0.005 at month 1,
    # L = 3: p = 0.5, 0.445, 0.395, peace — a tail pass that stopped at month 2 reports war at 0);
    # the others: ratio 1, no drift, cliff 0.3 at month 2: p = 0.5, 0.5, 0.2, M_D = 4.9, 4.9, 1.9;
    # test at 1: 4.9 > 1 + 0.9·1.9 = 2.71 → war at 1 (and at 0 after it: 4.9 < 1 + 0.9·4.9, none).
    m = K.TAIL_SCALAR_ROWS + 1
    one = np.ones(m)
    drift = np.r_[-0.05, np.zeros(m - 1)]
    cliff = np.r_[1.0, np.full(m - 1, 2.0)]
    size = np.r_[0.005, np.full(m - 1, 0.3)]
    kw = dict(delta=D9, c_D=0.1 * one, c_R=0.1 * one, phi=0 * one)
    want = [-1] + [1] * (m - 1)
    assert K.preventive_first_war(one, 0.0, drift, cliff, size, L=3, **kw).tolist() == want
    assert K.preventive_first_war(one, 0.0, drift, cliff, size, L=3, fast=False, **kw).tolist() == want
    assert theory.markov_path([0.5, 0.5, 0.2], 0.9, 0.1, 0.1)[0] == 1


def test_an_exactly_indifferent_declining_side_does_not_fight_on_the_array_passes():
    # the indifference case above (M_D(0) = 1 + 0.9·1.9 = 2.71 exactly) with one row and with
    # copies past K.SCALAR_ROWS: peace on both passes, and war with 1e-9 more strength for D
    for p0, want in ((0.281, -1), (0.281 + 1e-9, 0)):
        args = (_arr(1 / p0 - 1), 0.0, _arr(0.0), _arr(1.0), _arr(p0 - 0.2))
        for fast in (True, False):
            assert _both_sizes(args, L=3, fast=fast, **KW9) == [want], (p0, fast)


# ------------------------------------------------------------------ exp_common (np.exp for mostly-constant arrays)
def test_exp_common_hand_values_on_every_branch():
    # exponents 0, 1, −1, ln 2: e^x = 1, e, 1/e, 2 (math.exp as the reference, 1 ulp)
    e, ie = math.e, 1 / math.e

    def check(x, want):
        got = K.exp_common(np.asarray(x, dtype=float))
        assert got.shape == np.shape(want)
        np.testing.assert_allclose(got, want, rtol=2e-16, atol=0)

    x = np.zeros(100)
    x[[1, 50]] = 1.0, -1.0              # mostly equal to x[0], including the element right after it
    check(x, np.where(x == 1, e, np.where(x == -1, ie, 1.0)))
    check(np.full(80, math.log(2)), np.full(80, 2.0))                  # all equal: nothing differs
    x = np.zeros(100)
    x[0] = 1.0                          # only the first differs: 99 of 100 differ from it
    check(x, np.r_[e, np.ones(99)])
    x = np.tile([0.0, 1.0, -1.0, 1.0], 25)                            # 3/4 differ from x[0]
    check(x, np.tile([1.0, e, ie, e], 25))
    x = np.zeros((10, 10))
    x[3, 4] = 1.0                       # two-dimensional, 100 elements
    want = np.ones((10, 10))
    want[3, 4] = e
    check(x, want)
    check([0.0, 1.0, 0.0], [1.0, e, 1.0])                              # short
