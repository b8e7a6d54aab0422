"""Property tests of the ``bdm`` model (spec ``bdm.md`` sections 7, 9.4, 10 cases 18-21)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bdm_helpers import case_scenario
from detente.errors import InputError
from detente.models.bdm import BDMParams, probability_matrix, risk_exponents, run, run_issue
from detente.models.registry import run_model
from detente.scenario import Actor, Issue, Scenario, Stance

VARIANTS = ("detente", "scholz2011", "masad2014", "masad2016")
SETTINGS = settings(max_examples=int(__import__("os").environ.get("BDM_EXAMPLES", 40)), deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


def make(pos, cap, sal, lower=None, upper=None, names=None):
    names = names or [f"A{k}" for k in range(len(pos))]
    lo = min(pos) if lower is None else lower
    hi = max(pos) if upper is None else upper
    if not lo < hi:
        hi = lo + 1
    return Scenario(
        salience_scale="unit",
        actors=[Actor(id=a, capability=c) for a, c in zip(names, cap)],
        issues=[Issue(id="x", lower=lo, upper=hi)],
        stances=[Stance(actor=a, issue="x", position=p, salience=s) for a, p, s in zip(names, pos, sal)],
    )


@st.composite
def actors(draw, min_n=3, max_n=7, integer=True):
    n = draw(st.integers(min_n, max_n))
    if integer:
        pos = draw(st.lists(st.integers(0, 20), min_size=n, max_size=n))
    else:
        pos = draw(st.lists(st.floats(0, 1, allow_nan=False), min_size=n, max_size=n, unique=True))
    cap = draw(st.lists(st.floats(0.05, 1.0), min_size=n, max_size=n))
    sal = draw(st.lists(st.floats(0.05, 1.0), min_size=n, max_size=n))
    return [float(p) for p in pos], cap, sal


def traj(ir):
    return np.array([[r.median, r.mean] + list(r.positions.values()) for r in ir.rounds])


def go(scn, variant, seed=0, **kw):
    return run_issue(scn, "x", BDMParams(variant=variant, rounds=kw.pop("rounds", 6), **kw), rng=np.random.default_rng(seed))


@SETTINGS
@given(actors(), st.sampled_from([0.25, 2.0, 8.0, 1024.0]), st.sampled_from(VARIANTS))
def test_capability_scaling_invariant(data, k, variant):
    pos, cap, sal = data
    a = go(make(pos, cap, sal), variant)
    b = go(make(pos, [c * k for c in cap], sal), variant)
    assert np.allclose(traj(a), traj(b), rtol=0, atol=1e-9)


def test_capability_times_100_on_ec():
    """Spec 9.4: capabilities x 100 leave the EC trajectories unchanged."""
    base = case_scenario("emission")
    big = base.model_copy(update={"actors": [a.model_copy(update={"capability": a.capability * 100}) for a in base.actors]})
    for v in VARIANTS:
        a = run_issue(base, "issue", BDMParams(variant=v), rng=np.random.default_rng(3))
        b = run_issue(big, "issue", BDMParams(variant=v), rng=np.random.default_rng(3))
        assert np.allclose(traj(a), traj(b), rtol=0, atol=1e-9), v


@SETTINGS
@given(actors(), st.sampled_from([(2.0, 3.0), (10.0, -7.0), (0.5, 100.0)]), st.sampled_from(VARIANTS))
def test_affine_positions_give_mapped_trajectory(data, ab, variant):
    pos, cap, sal = data
    a_, b_ = ab
    a = go(make(pos, cap, sal), variant)
    b = go(make([a_ * p + b_ for p in pos], cap, sal), variant)
    mapped = traj(a) * a_ + b_
    assert np.allclose(mapped, traj(b), rtol=0, atol=1e-9 * abs(a_) * 20)
    assert [r.extra["events"] and [(e["actor"], e["counterpart"], e["type"]) for e in r.extra["events"]] for r in a.rounds] == \
           [r.extra["events"] and [(e["actor"], e["counterpart"], e["type"]) for e in r.extra["events"]] for r in b.rounds]


def test_affine_on_ec():
    """Spec 9.4: x -> 10x + 3 maps the EC trajectory (1e-9)."""
    base = case_scenario("emission")
    moved = base.model_copy(update={
        "issues": [base.issues[0].model_copy(update={"lower": 3.0, "upper": 103.0})],
        "stances": [s.model_copy(update={"position": 10 * s.position + 3}) for s in base.stances]})
    for v in VARIANTS:
        a = run_issue(base, "issue", BDMParams(variant=v), rng=np.random.default_rng(5))
        b = run_issue(moved, "issue", BDMParams(variant=v), rng=np.random.default_rng(5))
        assert np.allclose(traj(a) * 10 + 3, traj(b), rtol=0, atol=1e-8), v


@SETTINGS
@given(actors(integer=False), st.randoms(use_true_random=False), st.sampled_from(("detente", "scholz2011")))
def test_actor_order_does_not_matter(data, rnd, variant):
    """Permuting the actors permutes the result. (masad2014/masad2016 break exact median ties
    by actor order, as their references do, so they are only order-free without ties.)"""
    pos, cap, sal = data
    names = [f"A{k}" for k in range(len(pos))]
    perm = list(range(len(pos)))
    rnd.shuffle(perm)
    a = go(make(pos, cap, sal, 0.0, 1.0, names), variant, rounds=4)
    b = go(make([pos[k] for k in perm], [cap[k] for k in perm], [sal[k] for k in perm], 0.0, 1.0, [names[k] for k in perm]), variant, rounds=4)
    if variant == "detente" and any(r.extra.get("conflicts") for r in a.rounds):
        return  # conflict draws are taken in actor order; the order of draws differs
    for ra, rb in zip(a.rounds, b.rounds):
        assert abs(ra.median - rb.median) < 1e-9 and abs(ra.mean - rb.mean) < 1e-9, (variant, pos, cap, sal, perm, ra.extra["events"], rb.extra["events"])
        for nme in names:
            assert abs(ra.positions[nme] - rb.positions[nme]) < 1e-9


@SETTINGS
@given(actors(integer=False), st.sampled_from(VARIANTS))
def test_risk_bounds(data, variant):
    """Case 20: every round one actor at r = 0.5 and one at r = 2 unless all S are equal."""
    pos, cap, sal = data
    ir = go(make(pos, cap, sal, 0.0, 1.0), variant, rounds=3)
    for r in ir.rounds[1:]:
        rr = np.array(list(r.extra["risk_exponents"].values()))
        if r.extra.get("warnings"):
            assert np.all(rr == 1.0)
        else:
            assert abs(rr.min() - 0.5) < 1e-12 and abs(rr.max() - 2.0) < 1e-12
            assert np.all((rr >= 0.5 - 1e-12) & (rr <= 2 + 1e-12))


@SETTINGS
@given(actors(integer=False))
def test_printed_probability_sums_to_one(data):
    """Case 18: the printed formula gives P_ij + P_ji = 1 for distinct positions."""
    pos, cap, sal = data
    y, w = np.array(pos), np.array(cap) * np.array(sal)
    P = probability_matrix(y, w, rule="printed")
    off = ~np.eye(len(y), dtype=bool)
    assert np.allclose((P + P.T)[off], 1.0, atol=1e-12)
    assert np.all((P >= 0) & (P <= 1))


def test_masad_median_tie_follows_actor_order():
    """Documented reference behaviour: with an exact tie the largest-margin median is the first
    tied actor's position; detente's weighted median takes the lower one."""
    a = go(make([0.0, 1.0, 0.5, 0.75], [1] * 4, [1] * 4, 0, 1), "masad2014", rounds=0)
    b = go(make([0.0, 1.0, 0.75, 0.5], [1] * 4, [1] * 4, 0, 1), "masad2014", rounds=0)
    assert (a.rounds[0].median, b.rounds[0].median) == (0.5, 0.75)
    assert a.rounds[0].extra["weighted_median"] == b.rounds[0].extra["weighted_median"] == 0.5


def test_risk_exponents_guard():
    r, degenerate = risk_exponents(np.array([0.3, 0.3, 0.3]))
    assert degenerate and r.tolist() == [1.0, 1.0, 1.0]


# ------------------------------------------------------------------ degenerate inputs (spec 7)


@pytest.mark.parametrize("variant", VARIANTS)
def test_consensus(variant):
    scn = make([5.0, 5.0, 5.0], [1, 2, 3], [0.5, 0.5, 0.5], 0, 10)
    ir = go(scn, variant)
    assert ir.forecast == 5.0 and ir.extra["stop_reason"] == "consensus"
    assert len(ir.rounds) == 1


@pytest.mark.parametrize("variant", VARIANTS)
def test_one_and_two_actors(variant):
    one = go(make([3.0], [1], [0.5], 0, 10), variant)
    assert one.forecast == 3.0 and one.extra["stop_reason"] == "single actor"
    two = go(make([2.0, 8.0], [1, 3], [0.5, 0.9], 0, 10), variant)
    assert two.forecast is not None and 2.0 <= two.forecast <= 8.0
    assert len(two.rounds) >= 2


@pytest.mark.parametrize("variant", VARIANTS)
def test_zero_salience_and_zero_capability(variant):
    scn = make([0.0, 4.0, 7.0, 10.0], [0.0, 1.0, 1.0, 2.0], [0.7, 0.0, 0.5, 0.8], 0, 10)
    ir = go(scn, variant)
    assert ir.forecast is not None and np.isfinite(ir.forecast)
    for r in ir.rounds:
        assert all(np.isfinite(v) for v in r.positions.values())


def test_all_weights_zero_is_a_clean_input_error():
    scn = make([0.0, 4.0, 7.0], [0.0, 1.0, 1.0], [0.7, 0.0, 0.0], 0, 10)
    with pytest.raises(InputError) as ei:
        go(scn, "detente")
    assert len(ei.value.problems) == 3


def test_identical_position_pairs_get_zero_eu():
    scn = make([0.0, 0.0, 10.0, 10.0], [1, 1, 1, 1], [0.5, 0.5, 0.5, 0.5], 0, 10)
    ir = go(scn, "detente", rounds=1)
    eu = ir.rounds[1].extra["eu"]
    assert eu["A0"]["A1"] == 0.0 and eu["A2"]["A3"] == 0.0
    assert not any({e["actor"], e["counterpart"]} in ({"A0", "A1"}, {"A2", "A3"}) for e in ir.rounds[1].extra["events"])


# ------------------------------------------------------------------ randomness and stopping


def test_same_seed_same_bytes():
    scn = case_scenario("emission")
    p = {"shock_probability": 0.2}
    a = run_model(scn, "bdm", variant="detente", seed=42, params=p).to_json()
    b = run_model(scn, "bdm", variant="detente", seed=42, params=p).to_json()
    assert a == b


def test_salience_shocks_change_with_seed():
    scn = case_scenario("emission")
    outs = {run_model(scn, "bdm", seed=s, params={"shock_probability": 0.5}).to_json() for s in range(4)}
    assert len(outs) > 1


def test_cycle_detected_and_stops_under_convergence():
    """masad2014 on Greece: Dijsselbloem and Tusk flip 40 <-> 100 every round."""
    scn = case_scenario("greece")
    fixed = run_issue(scn, "issue", BDMParams(variant="masad2014"), rng=np.random.default_rng(0))
    assert fixed.extra["cycle"]["period"] == 2 and fixed.extra["stop_reason"] == "rounds"
    conv = run_issue(scn, "issue", BDMParams(variant="masad2014", stop="convergence"), rng=np.random.default_rng(0))
    assert conv.extra["stop_reason"] == "cycle (period 2)" and len(conv.rounds) < 11


def test_discount_and_convergence_stop():
    scn = case_scenario("russia")
    d = run_issue(scn, "issue", BDMParams(variant="detente", stop="discount", discount=0.05), rng=np.random.default_rng(0))
    assert d.extra["stop_reason"] == "discount" and d.extra["rounds_run"] == 1
    c = run_issue(scn, "issue", BDMParams(variant="scholz2011", stop="convergence", patience=2), rng=np.random.default_rng(0))
    assert c.extra["stop_reason"] == "converged" and c.extra["rounds_run"] == 2


def test_monte_carlo_summary_and_multi_issue():
    scn = make([0.0, 4.0, 7.0, 10.0], [1, 1, 1, 2], [0.7, 0.4, 0.5, 0.8], 0, 10)
    two = scn.model_copy(update={
        "issues": scn.issues + [Issue(id="y", lower=0, upper=1)],
        "stances": scn.stances + [Stance(actor=a.id, issue="y", position=k / 4, salience=0.5) for k, a in enumerate(scn.actors)]})
    res = run(two, BDMParams(monte_carlo=20), rng=np.random.default_rng(1))
    assert set(res.issues) == {"x", "y"}
    mc = res.issues["x"].extra["monte_carlo"]
    lo, hi = mc["forecast"]["interval"]
    assert mc["runs"] == 20 and lo <= mc["forecast"]["median"] <= hi


def test_json_contract_shape():
    res = run_model(case_scenario("emission"), "bdm", variant="scholz2011", rounds=2)
    d = res.to_json_dict()
    assert d["model"] == "bdm" and d["variant"] == "scholz2011" and d["params"]["rounds"] == 2
    iss = d["issues"]["issue"]
    assert abs(iss["forecast"] - 9.610859134120188) < 1e-9
    r1 = iss["rounds"][1]
    assert {"positions", "median", "mean", "risk_exponents", "events", "eu", "weighted_median"} <= set(r1)
    from detente.models.bdm import explain
    assert any("Luxembourg loses a confrontation to Belgium and moves to 7.0" in s for s in explain(res))


def test_unknown_parameter_rejected():
    with pytest.raises(InputError):
        run_model(case_scenario("emission"), "bdm", params={"nonsense": 1})
