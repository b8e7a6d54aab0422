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
from detente.crisis import run
from detente.crisis import kernels as K
from detente.crisis import theory

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
