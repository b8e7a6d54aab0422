"""Issue 14: engine defects and the causal mechanisms of ``seesaw-2021``.

* barred initiators: every hazard part of an actor outside ``settings.initiators_allowed`` is
  removed, never handed to the other initiators;
* the vectorised risk–return P(war) equals :func:`detente.crisis.theory.risk_return` (win
  probability, ``x ≤ 1`` cap);
* the ``exp(−k*/τ)`` pressure term is an optional, labelled assumption
  (``settings.preventive_pressure``);
* the triangle–war coupling (specs/crisis.md §5.8), the US-side initiator at Ukraine and the
  stalling channels, each with its switch.

Runs use common random numbers (same seed both ways), so effects are compared run by run.
"""

from __future__ import annotations

import numpy as np
import pytest

from detente import examples
from detente.crisis import kernels as K
from detente.crisis import run, theory

NOT_RU = ["US", "UA", "CN", "TW", "BY", "DE", "FR", "PL", "UK", "JP", "AU"]


@pytest.fixture(scope="module")
def scn():
    return examples.load("seesaw-2021")


# ------------------------------------------------------------------ (a) barred initiators
def _init_hazard(res):
    """Per-step, per-flashpoint, per-initiator hazard sums over runs: (T, J, A)."""
    return np.asarray(res.diagnostics["initiator_hazard"])


def test_barred_initiator_parts_are_removed_not_redistributed():
    """The hazard with an actor barred equals the hazard with that actor's terms set to zero
    (its background share zero, its covariates zero); the other parts are unchanged."""
    from detente.crisis.engine import _hazard_parts

    rng = np.random.default_rng(0)
    n, A, RU, UA = 50, 4, 1, 3
    lam_b = rng.uniform(0.001, 0.01, n)
    bg = np.array([0.0, 0.7, 0.0, 0.3])
    terms = [(1, rng.uniform(0, 6, n), RU), (1, rng.uniform(0, 1, n), 0), (2, rng.uniform(0, 1, n), RU),
             (3, rng.uniform(0, 2, n), UA), (4, rng.uniform(0, 1, n), bg)]
    allowed = np.array([True, False, True, True])
    # as in the engine: background shares over every listed initiator, barred shares zeroed
    barred = _hazard_parts(lam_b, bg * allowed, terms[:4] + [(4, terms[4][1], bg * allowed)], allowed)
    # the same flashpoint with Russia's own terms zeroed (escalation only through UA's share)
    zeroed = [(c, (t if w != RU else 0.0 * t), w) for c, t, w in terms[:4]] + [(4, terms[4][1] * 0.3, UA)]
    ref = _hazard_parts(lam_b, bg * allowed, zeroed, np.ones(A, bool))
    tot = lambda parts: sum(lam for _, lam, _ in parts)  # noqa: E731
    np.testing.assert_allclose(tot(barred), tot(ref), rtol=1e-12)

    def by_actor(parts):
        out = np.zeros((n, A))
        for _, lam, who in parts:
            if isinstance(who, np.ndarray):
                out += lam[:, None] * (who / max(who.sum(), 1e-300))[None, :]
            else:
                out[:, who] += lam
        return out

    np.testing.assert_allclose(by_actor(barred), by_actor(ref), rtol=1e-12, atol=1e-18)
    assert np.all(by_actor(barred)[:, RU] == 0)
    # before the fix Ukraine's parts grew with Russia's barred exponent: far above the zeroed ones
    free = _hazard_parts(lam_b, bg, terms, np.ones(A, bool))
    assert np.all(by_actor(free)[:, UA] > by_actor(barred)[:, UA])


def test_engine_records_no_hazard_for_a_barred_initiator(scn):
    p = {"runs": 2000, "horizon_months": 1, "hypothesis": "ru_preventive"}
    free = run(scn, p, seed=3)
    barred = run(scn, {**p, "set": {"settings.initiators_allowed": NOT_RU}}, seed=3)
    hf, hb = _init_hazard(free)[0], _init_hazard(barred)[0]
    ru = free.actors.index("RU")
    assert hf[:, ru].sum() > 0 and np.all(hb[:, ru] == 0)
    assert np.all(hb.sum(axis=1) <= hf.sum(axis=1) + 1e-12)


def test_barring_russia_does_not_make_ukraine_the_initiator(scn):
    """Issue 14: under ru_preventive with Russia barred, P(war initiated by UA by 2022-02-28) was
    0.584 (Russia's preventive hazard handed to Ukraine); with Russia's hazard terms removed it is
    about 0.01 (0.005 with 4000 runs, seed 1; binomial SE ≈ 0.001)."""
    res = run(scn, {"runs": 4000, "horizon_months": 3, "hypothesis": "ru_preventive",
                    "set": {"settings.initiators_allowed": NOT_RU}}, seed=1)
    p_ua = res.p_war_by_initiator()["UA"]["2022-02-28"]
    assert 0.001 < p_ua < 0.02         # 0.005 when written; 0.578 with the old redistribution
    assert res.p_war_by_initiator().get("RU", {}).get("2022-02-28", 0.0) == 0.0


# ------------------------------------------------------------------ (b) risk–return kernel
def test_risk_return_kernel_applies_the_cap_of_the_closed_form():
    """p = 0.8, c̄ = 0.6, c_A = 0.1: x* = min(0.8 + 0.25, 1) = 1, P(war) = (1 − 0.8)/0.6 = 1/3."""
    assert float(K.risk_return_pwar(0.8, 0.1, 0.6)) == pytest.approx(1 / 3, abs=1e-15)
    assert float(K.risk_return_pwar(0.5, 0.1, 0.4)) == pytest.approx(0.375, abs=1e-15)


def test_risk_return_kernel_equals_theory_on_a_grid():
    ps = np.array([0.0, 0.1, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999, 1.0])
    cas = np.array([0.0, 0.05, 0.1, 0.3, 0.6, 1.0])
    cbs = np.array([0.01, 0.1, 0.3, 0.6, 1.0, 2.0])
    P, CA, CB = np.meshgrid(ps, cas, cbs, indexing="ij")
    got = K.risk_return_pwar(P.ravel(), CA.ravel(), CB.ravel())
    want = np.array([theory.risk_return(p, a, b).p_war for p, a, b in zip(P.ravel(), CA.ravel(), CB.ravel())])
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-14)
    capped = (P.ravel() + (CB.ravel() - CA.ravel()) / 2 > 1) & (CA.ravel() < CB.ravel())
    assert capped.sum() > 20       # the grid exercises the cap


# ------------------------------------------------------------------ (c) pressure term is optional
def test_preventive_pressure_switch_removes_the_pressure_term(scn):
    p = {"runs": 1000, "horizon_months": 6, "hypothesis": "combined"}
    on = run(scn, p, seed=2)
    off = run(scn, {**p, "set": {"settings.preventive_pressure": False}}, seed=2)
    assert np.asarray(on.diagnostics["dir_prox"]).sum() > 0
    assert np.asarray(off.diagnostics["dir_prox"]).sum() == 0
    # the forced flag (the theory's own covariate) is the same at the first step
    np.testing.assert_array_equal(np.asarray(on.diagnostics["dir_forced"])[0],
                                  np.asarray(off.diagnostics["dir_forced"])[0])
    assert off.hazard[:, 0, :].sum() < on.hazard[:, 0, :].sum()


# ------------------------------------------------------------------ triangle ↔ war coupling (§5.8)
def test_partner_support_closed_form():
    assert float(K.partner_support(0.6, 0.745, 1.0, 0.8)) == pytest.approx(0.745 * 0.6 * 0.8, abs=1e-15)
    assert float(K.partner_support(0.5, 1.0, 2.0, 1.0)) == pytest.approx(0.25, abs=1e-15)
    assert float(K.partner_support(-0.4, 0.745, 1.0, 0.8)) == 0.0          # hostile tie: no support
    assert float(K.partner_support(None, 0.5, 1.0, 0.5)) == pytest.approx(0.25, abs=1e-15)


def test_war_cost_multipliers_closed_form():
    # A: own 1, effective 2 (half from partners); B: alone. ψ = 0.5: A's cost × 0.75, B's × 1.25
    ma, mb = K.war_cost_multipliers(np.array(1.0), np.array(2.0), np.array(1.0), np.array(1.0), 0.5)
    assert (float(ma), float(mb)) == pytest.approx((0.75, 1.25), abs=1e-15)
    ma, mb = K.war_cost_multipliers(np.array(1.0), np.array(2.0), np.array(1.0), np.array(1.0), 0.0)
    assert (float(ma), float(mb)) == (1.0, 1.0)


def test_coupling_kernels_equal_theory_on_a_grid():
    rng = np.random.default_rng(1)
    tie, rho, kap, mu = rng.uniform(-1, 1, 200), rng.uniform(0, 1, 200), rng.uniform(0.3, 3, 200), rng.uniform(0, 1, 200)
    got = K.partner_support(tie, rho, kap, mu)
    want = [theory.partner_support(*args) for args in zip(tie, rho, kap, mu)]
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=0)
    own_a, own_b = rng.uniform(0.01, 1, 200), rng.uniform(0.01, 1, 200)
    eff_a, eff_b = own_a * rng.uniform(1, 3, 200), own_b * rng.uniform(1, 3, 200)
    psi = rng.uniform(0, 2, 200)
    ga, gb = K.war_cost_multipliers(own_a, eff_a, own_b, eff_b, psi)
    want = np.array([theory.war_cost_multipliers(*args) for args in zip(own_a, eff_a, own_b, eff_b, psi)])
    np.testing.assert_allclose(np.c_[ga, gb], want, rtol=1e-13, atol=1e-15)
    assert np.any(want == 0.0)                      # the floor at zero is exercised


def test_failed_wedge_step_closed_form():
    """From 0 with the pair holding every month: b_k = 1 − (1 − gain)^k; a pending meeting freezes it."""
    gain = 1 - np.exp(-1 / 12)
    b = np.zeros(3)
    for _ in range(24):
        b = K.failed_wedge_step(b, np.array([True, False, True]), gain, np.array([0.0, 0.0, 1.0]))
    assert b[0] == pytest.approx(1 - (1 - gain) ** 24, abs=1e-14)
    assert b[1] == 0.0 and b[2] == 0.0
    b = K.failed_wedge_step(np.array([0.8]), np.array([False]), gain, 0.5)   # half a step of waiting
    assert float(b[0]) == pytest.approx(0.8 - 0.8 * gain * 0.5, abs=1e-15)


def test_pending_step_closed_form():
    keep = np.exp(-1 / 2)
    s = K.pending_step(np.array([0.0]), keep, np.array([True]))
    s = K.pending_step(s, keep, np.array([False]))
    assert float(s[0]) == pytest.approx(keep, abs=1e-15)


def _first_war_cause(res, cause):
    return np.asarray(res.diagnostics["cause"])[:, :, cause].sum()


def test_uncoupled_engine_has_no_provocation_and_forced_split_removes_it(scn):
    p = {"runs": 1000, "horizon_months": 24, "hypothesis": "article"}
    base = run(scn, p, seed=4)
    off = run(scn, {**p, "set": {"triangle.coupling.enabled": False}}, seed=4)
    split = run(scn, {**p, "set": {"triangle.forced_split": True}}, seed=4)
    assert _first_war_cause(base, 5) > 0
    assert _first_war_cause(off, 5) == 0 and _first_war_cause(split, 5) == 0
    # the provocation is attributed to the US at Ukraine
    us, ua = base.actors.index("US"), base.flashpoints.index("UA")
    assert np.any((base.onset_initiator[:, ua] == us) & (base.onset_cause[:, ua] == 5))


def test_forced_split_removes_the_coalition_cliff_and_raises_russias_peace(scn):
    """Under `article` the US believes it cannot beat the RU–CN pair after 2024 (a coalition
    cliff in US–RU): with the pair split the cliff is gone (no forced US>RU war) and Russia
    keeps more months of peace. Common random numbers, 2000 runs."""
    p = {"runs": 2000, "hypothesis": "article", "record_paths": False}
    base = run(scn, p, seed=6)
    split = run(scn, {**p, "set": {"triangle.forced_split": True}}, seed=6)
    k = base.directions.index("US>RU")
    assert np.asarray(base.diagnostics["dir_forced"])[:, k].sum() > 0
    assert np.asarray(split.diagnostics["dir_forced"])[:, k].sum() == 0
    T = len(base.month_ends)
    peace = lambda r: np.where(r.ru_war_step() < 0, T, r.ru_war_step() + 1)  # noqa: E731
    d = peace(split) - peace(base)
    assert d.mean() > 5 * d.std(ddof=1) / np.sqrt(len(d))


def test_alignment_switch_removes_partner_support_from_the_contests(scn):
    """`triangle.coupling.support: false` (mechanism `alignment`) removes the coalition cliff too."""
    p = {"runs": 500, "horizon_months": 48, "hypothesis": "article", "record_paths": False}
    off = run(scn, {**p, "set": {"triangle.coupling.support": False}}, seed=6)
    k = off.directions.index("US>RU")
    assert np.asarray(off.diagnostics["dir_forced"])[:, k].sum() == 0


def test_war_started_by_a_partner_moves_the_tie(scn):
    """Until the first war started by RU or CN the tie paths with and without the feedback are
    identical (same draws); at that step the tie moves by war_tie_shift (clipped to [−1, 1])."""
    sets = {"triangle.coupling.war_tie_shift": 0.5}
    p = {"runs": 400, "horizon_months": 24, "hypothesis": "ru_preventive"}
    on = run(scn, {**p, "set": sets}, seed=8)
    off = run(scn, {**p, "set": {**sets, "triangle.coupling.war_feedback": False}}, seed=8)
    partners = [on.actors.index("RU"), on.actors.index("CN")]
    by_partner = np.isin(on.onset_initiator, partners) & (on.onset_step >= 0)
    first_partner = np.where(by_partner, on.onset_step, 10**4).min(axis=1)
    diff = np.abs(on.rc_alignment - off.rc_alignment) > 1e-6
    first_diff = np.where(diff.any(axis=1), diff.argmax(axis=1), 10**4)
    assert np.all(first_diff >= first_partner)
    moved = first_partner < 24
    # (a tie already at the bound 1 cannot rally further: those runs show no difference)
    assert moved.sum() > 50 and np.mean(first_diff[moved] == first_partner[moved]) > 0.8


def test_article_lets_the_us_start_the_war_in_ukraine(scn):
    res = run(scn, {"runs": 2000, "hypothesis": "article", "record_paths": False}, seed=1)
    us, ua = res.actors.index("US"), res.flashpoints.index("UA")
    p_us_ua = np.mean((res.onset_step[:, ua] >= 0) & (res.onset_initiator[:, ua] == us))
    assert p_us_ua > 0.05
    # ... through its preventive motive against the pair and the failed-wedge provocation
    causes = set(res.onset_cause[(res.onset_step[:, ua] >= 0) & (res.onset_initiator[:, ua] == us), ua].tolist())
    assert {1, 5} <= causes


# ------------------------------------------------------------------ stalling, channel by channel
def _diag(res, key):
    return np.asarray(res.diagnostics[key])


def test_postponement_switch(scn):
    p = {"runs": 1000, "horizon_months": 6, "hypothesis": "article"}
    on = run(scn, p, seed=2)
    off = run(scn, {**p, "set": {"policies.stall.postpone": False}}, seed=2)
    assert _diag(on, "postponed").sum() > 0 and _diag(off, "postponed").sum() == 0


def test_pending_postponed_meeting_damps_the_hazard(scn):
    """At the first step every draw before the hazard is the same; a pending postponed meeting
    multiplies the hazard of the staller's flashpoints by exp(−hold_damping), never raises it."""
    p = {"runs": 1000, "horizon_months": 1, "hypothesis": "combined"}
    none = run(scn, {**p, "set": {"policies.stall.hold_damping": 0.0}}, seed=2)
    damp = run(scn, {**p, "set": {"policies.stall.hold_damping": 1.0}}, seed=2)
    ua = none.flashpoints.index("UA")
    h0, h1 = none.hazard[:, 0, ua], damp.hazard[:, 0, ua]
    assert np.all(h1 <= h0) and np.any(h1 < h0)
    tw = none.flashpoints.index("TW")          # not a track of the staller: untouched
    np.testing.assert_array_equal(none.hazard[:, 0, tw], damp.hazard[:, 0, tw])


def test_permanent_groups_are_not_worn_down_by_postponements(scn):
    """The defect of issue 14: stalling cost Russia months only because a postponed plenary wore
    down the expert groups. Permanent groups that meet on their own (every month here) have the
    same progress whether or not the plenary is postponed; without them postponements cost
    progress."""
    def stock(sets):
        p = {"runs": 1000, "horizon_months": 6, "hypothesis": "article", "set": sets}
        return _diag(run(scn, p, seed=2), "group_stock")

    always = {"policies.stall.group_meet_prob_m": 50.0, "policies.stall.new_groups_per_quarter": 0.0}
    a_on, a_off = stock(always), stock({**always, "policies.stall.postpone": False})
    np.testing.assert_allclose(a_on, a_off, rtol=1e-12)
    plenary_only = {"policies.stall.group_meet_prob_m": 0.0, "policies.stall.new_groups_per_quarter": 0.0}
    p_on, p_off = stock(plenary_only), stock({**plenary_only, "policies.stall.postpone": False})
    assert p_on[-1] < p_off[-1]


def test_expert_group_switch_stops_new_groups(scn):
    p = {"runs": 500, "horizon_months": 12, "hypothesis": "combined"}
    on = run(scn, p, seed=2)
    off = run(scn, {**p, "set": {"policies.stall.expert_groups": False}}, seed=2)
    ga_on, ga_off = _diag(on, "groups_active"), _diag(off, "groups_active")
    assert ga_on[-1] > ga_on[0] and np.all(ga_off == ga_off[0])


def test_online_talks_block_fake_leaks(scn):
    p = {"runs": 2000, "horizon_months": 6, "hypothesis": "combined"}
    open_ = run(scn, {**p, "set": {"policies.stall.online_fake_block": 0.5}}, seed=2)
    shut = run(scn, {**p, "set": {"policies.stall.online_fake_block": 1.0}}, seed=2)
    assert _diag(shut, "fake_leaks").sum() < _diag(open_, "fake_leaks").sum()


def test_stalling_buys_russia_months_under_the_article(scn):
    """Issue 14: stalling used to cost Russia time under `article` (−0.54 months). With each channel
    doing what the article claims, switching the whole policy off loses months of peace."""
    p = {"runs": 2000, "hypothesis": "article", "record_paths": False}
    on = run(scn, p, seed=11)
    off = run(scn, {**p, "set": {"policies.stall.enabled": False}}, seed=11)
    T = len(on.month_ends)
    peace = lambda r: np.where(r.ru_war_step() < 0, T, r.ru_war_step() + 1)  # noqa: E731
    d = peace(on) - peace(off)
    assert d.mean() > 3 * d.std(ddof=1) / np.sqrt(len(d))


def test_failed_wedge_needs_a_wedge_and_a_pair(scn):
    """No provocation without the seesaw (no wedge to fail) or without the alignment (no pair)."""
    p = {"runs": 500, "horizon_months": 24, "hypothesis": "combined"}
    for sets in ({"policies.seesaw.enabled": False}, {"triangle.coupling.support": False}):
        assert _first_war_cause(run(scn, {**p, "set": sets}, seed=4), 5) == 0
    assert _first_war_cause(run(scn, p, seed=4), 5) > 0


def test_pending_meeting_stops_the_failed_wedge_clock(scn):
    """Postponing buys time: with meetings pending longer, the US belief that the wedge failed
    grows more slowly, so the provocation hazard is lower (same draws)."""
    p = {"runs": 2000, "horizon_months": 12, "hypothesis": "combined",
         "set": {"policies.stall.hold_damping": 0.0}}
    short = run(scn, {**p, "set": {**p["set"], "policies.stall.hold_months": 0.01}}, seed=5)
    long_ = run(scn, {**p, "set": {**p["set"], "policies.stall.hold_months": 3.0}}, seed=5)
    ua = short.flashpoints.index("UA")
    prov = lambda r: np.asarray(r.diagnostics["cause"])[:3, ua, 5].sum()  # noqa: E731
    assert prov(long_) < prov(short)


def test_split_memory_opens_a_window_against_the_lone_partner(scn):
    """θ = split_memory > 0: the US expects a split pair to re-form by its coalition cliff, so a
    forced split leaves a closing window against lone Russia (forced US>RU wars); θ = 0 none."""
    p = {"runs": 1000, "hypothesis": "article", "record_paths": False}
    k = None
    forced = {}
    for th in (0.0, 1.0):
        r = run(scn, {**p, "set": {"triangle.forced_split": True, "triangle.coupling.split_memory": th}}, seed=6)
        k = r.directions.index("US>RU")
        forced[th] = np.asarray(r.diagnostics["dir_forced"])[:, k].sum()
    assert forced[0.0] == 0 and forced[1.0] > 0
