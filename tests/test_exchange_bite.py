"""Exchange model: checks that mutation testing showed missing (issue 19).

The ``--json`` exchange records against the reference implementation's records, a hand-computed
exchange with externalities, ensemble bookkeeping, the seed policy of direct calls, input
validation, REX utilities and the small closed forms. Uses only ``tests/fixtures/exchange``
and hand-made inputs.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import exchange_decide as dec
from detente.errors import InputError
from detente.models.exchange import (
    ExchangeData,
    ExchangeParams,
    ensemble_summary,
    position_update,
    rex_eu_max,
    run,
    simulate,
)
from detente.scenario import Actor, Issue, Scenario, Stance

SMALL = [
    ("exchange_4x2.csv", "exchange_4x2_EG_p0.json"),
    ("random_3x2_s1.csv", "random_3x2_s1_EG_p0.json"),
    ("vue_china_usa_2x2.csv", "vue_china_usa_2x2_EG_p0.json"),
]
SIDE_KEYS = ("actor", "supply_issue", "demand_issue", "x", "y", "move_norm", "eu",
             "demand_position_of_opposite", "nbs_0", "nbs_1")


@pytest.mark.parametrize("inp,exp", SMALL, ids=[s[0] for s in SMALL])
def test_json_round_records_equal_the_reference_records(fixtures, inp, exp):
    """Every field of every exchange record the reference writes, and the per-issue round
    records, as ``--json`` reports them (equal gain, deterministic ties, all rounds)."""
    ref = json.loads((fixtures / "exchange" / exp).read_text())
    sc = dec.scenario(fixtures / "exchange" / inp)
    js = run(sc, ExchangeParams(rounds=ref["iterations"]), rng=np.random.default_rng(0)).to_json_dict()
    assert [r["round"] for r in js["extra"]["rounds"]] == list(range(ref["iterations"]))
    for ours, theirs in zip(js["extra"]["rounds"], ref["rounds"], strict=True):
        assert ours["candidates"] == theirs["candidate_exchanges"]
        assert ours["realized"] == theirs["n_realized"] == len(ours["exchanges"])
        for e, r in zip(ours["exchanges"], theirs["exchanges"], strict=True):
            # (the reference's dp and dq are not always the shifts on p and q; the hand case
            # below pins them)
            assert e["gain"] == pytest.approx(r["gain"], abs=1e-9)
            assert (e["p"], e["q"], e["groups"]) == (r["p"], r["q"], r["groups"])
            # where the overshoot limit cut the exchange the reference records the utility of
            # the uncut exchange and its own (stale) forecast; detente reports eu = G (equal gain)
            cut = e["i"]["overshoot"] or e["j"]["overshoot"]
            for side in ("i", "j"):
                assert e[side]["eu"] == e["gain"]
                for k in SIDE_KEYS:
                    if not (cut and k in ("eu", "nbs_1")):
                        assert e[side][k] == pytest.approx(r[side][k], abs=1e-9), (side, k)
    for iss, ir in js["issues"].items():
        assert ir["bounds"] == ref["issues"][iss]
        for t, (rd, theirs) in enumerate(zip(ir["rounds"], ref["rounds"], strict=True)):
            assert rd["round"] == t
            assert rd["next_start_forecast"] == pytest.approx(theirs["next_start_nbs"][iss], abs=1e-9)
            assert rd["voting_positions"] == pytest.approx(theirs["voting_positions"][iss], abs=1e-9)
            assert rd["positions"] == pytest.approx(theirs["next_start_positions"][iss], abs=1e-9)


def hand_case() -> ExchangeData:
    """Two traders a, b and two observers c, d without power (they move no forecast).

    a: p 0 (s .9), q 20 (s .3);  b: p 100 (s .4), q 90 (s .8);  powers 1, 1, 0, 0.
    Forecasts O_p = 40/1.3 = 30.769..., O_q = 78/1.1 = 70.909...; a is left of both (group d),
    b right of both (group a): one candidate, kind "ad". s_ap/s_aq = 3 > s_bp/s_bq = 0.5, so
    a supplies q (side I) and b supplies p (side J).
    """
    X = np.array([[0.0, 20.0], [100.0, 90.0], [20.0, 80.0], [40.0, 95.0]])
    S = np.array([[0.9, 0.3], [0.4, 0.8], [0.5, 0.5], [0.5, 0.1]])
    C = np.array([[1.0, 1.0], [1.0, 1.0], [0.0, 0.0], [0.0, 0.0]])
    return ExchangeData(("a", "b", "c", "d"), ("p", "q"), X, S, C, np.ones((4, 2), bool),
                        np.zeros(2), np.full(2, 100.0))


def test_hand_computed_exchange_and_externalities():
    r = simulate(hand_case(), ExchangeParams(rounds=1)).rounds[0]
    assert len(r.exchanges) == 1
    e = r.exchanges[0]
    assert (e["I"], e["J"], e["p"], e["q"], e["kind"]) == (0, 1, 0, 1, 0)
    # full shifts: a on q 70 * .3/1.1 = 21/1.1; b on p 100 * .4/1.3 = 40/1.3.
    # equal gain rate dOq/dOp = (.9 + .4)/(.3 + .8) = 1.3/1.1; J's full move would need
    # dOq = 40/1.1 > 21/1.1, so a moves fully (to 90) and dOp = (21/1.1)/(1.3/1.1) = 21/1.3
    assert e["dOq"] == pytest.approx(21 / 1.1, abs=1e-12)
    assert e["dOp"] == pytest.approx(21 / 1.3, abs=1e-12)
    # G = .9 dOp - .3 dOq (a) = .8 dOq - .4 dOp (b) = 21/1.3 * .6/1.1
    G = 21 / 1.3 * 0.6 / 1.1
    assert e["G"] == pytest.approx(G, abs=1e-12)
    assert e["G"] == pytest.approx(0.9 * 21 / 1.3 - 0.3 * 21 / 1.1, abs=1e-12)
    # votes: a 90 on q; b moves 21/1.3 * 1.3/.4 = 52.5 down on p
    assert (e["xI"], e["yI"], e["xJ"]) == (20.0, 90.0, 100.0)
    assert e["yJ"] == pytest.approx(47.5, abs=1e-12)
    assert (e["nbsI0"], e["nbsI1"]) == pytest.approx((78 / 1.1, 90.0), abs=1e-12)
    assert (e["nbsJ0"], e["nbsJ1"]) == pytest.approx((40 / 1.3, 19 / 1.3), abs=1e-12)
    # next start: lambda = .1 + .4 (1 - s): a on q .38 -> 20 + .38 * 70 = 46.6;
    # b on p .34 -> 100 - .34 * 52.5 = 82.15
    assert r.next_start[0, 1] == pytest.approx(46.6, abs=1e-12)
    assert r.next_start[1, 0] == pytest.approx(82.15, abs=1e-12)
    assert r.next_forecast == pytest.approx([0.4 * 82.15 / 1.3, (0.3 * 46.6 + 0.8 * 90) / 1.1], abs=1e-12)
    # externalities (own, inner+, inner-, outer+, outer-): the traders get G each.
    # c (p 20 left, q 80 right: group b, outside the "ad" exchange): distance to the forecast on
    # p from 40/1.3 - 20 to 20 - 19/1.3, on q from 80 - 78/1.1 to 10:
    val_c = 0.5 * ((40 / 1.3 - 20) - (20 - 19 / 1.3)) + 0.5 * ((80 - 78 / 1.1) - 10)  # +2.2378
    # d (p 40, q 95: right of both, group a, inside): p from 40 - 40/1.3 to 40 - 19/1.3,
    # q from 95 - 78/1.1 to 5
    val_d = 0.5 * ((40 - 40 / 1.3) - (40 - 19 / 1.3)) + 0.1 * ((95 - 78 / 1.1) - 5)  # -6.1678
    assert val_c > 0 > val_d
    np.testing.assert_allclose(r.externalities, [[G, 0, 0, 0, 0], [G, 0, 0, 0, 0],
                                                 [0, 0, 0, val_c, 0], [0, 0, val_d, 0, 0]], atol=1e-12)


def test_hand_case_json_on_rescaled_bounds():
    """The same exchange with issue q on [-10, 10]: positions and forecasts in the issue's
    units, moves and shifts on the internal 0-100 scale."""
    d = hand_case()
    X = d.position.copy()
    X[:, 1] = -10 + d.position[:, 1] / 5
    sc = Scenario(salience_scale="unit", actors=[Actor(id=a) for a in d.actors],
                  issues=[Issue(id="p"), Issue(id="q", lower=-10, upper=10)],
                  stances=[Stance(actor=a, issue=i, position=float(X[k, j]), salience=float(d.salience[k, j]),
                                  capability=float(d.power[k, j]))
                           for k, a in enumerate(d.actors) for j, i in enumerate(d.issues)])
    js = run(sc, ExchangeParams(rounds=1), rng=np.random.default_rng(0)).to_json_dict()
    e = js["extra"]["rounds"][0]["exchanges"][0]
    G = 21 / 1.3 * 0.6 / 1.1
    assert (e["gain"], e["dp"], e["dq"]) == pytest.approx((G, 21 / 1.3, 21 / 1.1), abs=1e-12)
    assert (e["p"], e["q"], e["groups"]) == ("p", "q", "ad")
    q = lambda v: -10 + v / 5  # noqa: E731  (0-100 -> [-10, 10])
    assert e["i"] == pytest.approx(dict(actor="a", supply_issue="q", demand_issue="p", x=q(20), y=q(90),
                                        move_norm=70.0, eu=G, demand_position_of_opposite=q(90),
                                        nbs_0=q(78 / 1.1), nbs_1=q(90), overshoot=False), abs=1e-12)
    assert e["j"] == pytest.approx(dict(actor="b", supply_issue="p", demand_issue="q", x=100.0, y=47.5,
                                        move_norm=-52.5, eu=G, demand_position_of_opposite=0.0,
                                        nbs_0=40 / 1.3, nbs_1=19 / 1.3, overshoot=False), abs=1e-12)
    iq = js["issues"]["q"]
    assert iq["bounds"] == [-10.0, 10.0]
    r0 = iq["rounds"][0]
    assert r0["voting_positions"] == pytest.approx({"a": q(90), "b": q(90), "c": q(80), "d": q(95)}, abs=1e-12)
    assert r0["next_start_forecast"] == pytest.approx(q((0.3 * 46.6 + 0.8 * 90) / 1.1), abs=1e-12)
    assert js["issues"]["p"]["rounds"][0]["voting_positions"] == pytest.approx(
        {"a": 0.0, "b": 47.5, "c": 20.0, "d": 40.0}, abs=1e-12)
    ext = js["extra"]["rounds"][0]["externalities"]
    assert ext["c"]["outer_positive"] > 0 and ext["d"]["inner_negative"] < 0


def pinned_instance(seed: int = 0) -> ExchangeData:
    """The random 24 x 6 instance of ``test_exchange_pinned.py``: many exchanges per round."""
    rng = np.random.default_rng(seed)
    n, m = 24, 6
    X = np.round(rng.uniform(0, 100, (n, m)), 1)
    S = np.round(rng.uniform(0.1, 1, (n, m)), 2)
    C = np.repeat(np.round(rng.uniform(0.1, 1, (n, 1)), 2), m, axis=1)
    P = rng.random((n, m)) > 0.1
    return ExchangeData(tuple(f"A{i:02d}" for i in range(n)), tuple(f"I{d}" for d in range(m)), X, S, C, P,
                        np.zeros(m), np.full(m, 100.0))


@pytest.mark.parametrize("params", [dict(), dict(variant="rex", p=1.0)], ids=["equal_gain", "rex"])
def test_own_externality_is_the_sum_of_the_actors_utilities(params):
    sim = simulate(pinned_instance(), ExchangeParams(rounds=1, **params), rng=np.random.default_rng(3))
    r = sim.rounds[0]
    own = np.zeros(24)
    for e in r.exchanges:
        own[e["I"]] += e["euI"]
        own[e["J"]] += e["euJ"]
    assert max(np.bincount([e["J"] for e in r.exchanges])) > 1  # some actor trades twice as J
    np.testing.assert_allclose(r.externalities[:, 0], own, atol=1e-12)


@pytest.mark.parametrize("mode", ["corrected"])
def test_rex_utilities_are_salience_times_forecast_shift(mode):
    """Corrected REX: each side's utility is s_demand * shift on its demand issue minus
    s_supply * shift on its supply issue (Dijkstra et al. 2018), and neither side loses."""
    d = pinned_instance()
    sim = simulate(d, ExchangeParams(rounds=2, variant="rex", p=1.0, mode=mode), rng=np.random.default_rng(3))
    S = d.salience
    n = 0
    for r in sim.rounds:
        for e in r.exchanges:
            I, J, p, q = e["I"], e["J"], e["p"], e["q"]
            assert e["euI"] == pytest.approx(S[I, p] * e["dOp"] - S[I, q] * e["dOq"], abs=1e-9)
            assert e["euJ"] == pytest.approx(S[J, q] * e["dOq"] - S[J, p] * e["dOp"], abs=1e-9)
            assert min(e["euI"], e["euJ"]) >= -1e-9
            n += e["euI"] != pytest.approx(e["euJ"])
    assert n > 10  # the draws do make the two sides' utilities differ


def test_ensemble_of_a_deterministic_run_records_its_counts_and_params(fixtures):
    sc = dec.scenario(fixtures / "exchange" / "exchange_4x2.csv")
    res = run(sc, ExchangeParams(ensemble=3, rounds=5), rng=np.random.default_rng(0))
    js = res.to_json_dict()
    assert js["model"] == "exchange" and js["variant"] == "equal_gain"
    assert js["params"]["ensemble"] == 3 and js["params"]["rounds"] == 5
    ens = js["extra"]["ensemble"]
    assert ens["members"] == 3 and ens["rounds"] == 5
    # equal gain with deterministic ties draws nothing: every member is the plain run
    rounds = simulate(dec.data(fixtures / "exchange" / "exchange_4x2.csv"), ExchangeParams(rounds=5)).rounds
    assert ens["mean_counts"] == {"realized": [2.0, 1.0, 2.0, 1.0, 2.0], "ties": [float(r.ties) for r in rounds]}
    assert sum(r.ties for r in rounds) > 0
    plain = run(sc, ExchangeParams(rounds=5), rng=np.random.default_rng(0))
    q = js["issues"]["q"]
    assert q["forecast"] == pytest.approx(plain.issues["q"].forecast, abs=1e-12)
    assert q["forecast_sd"] == 0.0 and q["forecast_interval"] == pytest.approx([q["forecast"]] * 2, abs=1e-12)


def test_ensemble_summary_closed_form():
    v = np.arange(11.0).reshape(11, 1)  # 0, 1, ..., 10
    s = ensemble_summary(v, interval=0.8)
    assert (s["lower"][0], s["upper"][0]) == pytest.approx((1.0, 9.0), abs=1e-12)  # 10 % and 90 % quantiles
    assert (s["mean"][0], s["min"][0], s["max"][0], s["n"]) == (5.0, 0.0, 10.0, 11)
    assert s["sd"][0] == pytest.approx(np.sqrt(11.0), abs=1e-12)  # sum of squares 110 / 10
    one = ensemble_summary(np.array([[3.0, 4.0]]))
    assert one["sd"].tolist() == [0.0, 0.0] and one["lower"].tolist() == [3.0, 4.0]


def test_direct_run_without_generator_records_a_seed_that_reproduces_it(fixtures):
    sc = dec.scenario(fixtures / "exchange" / "exchange_4x2.csv")
    p = ExchangeParams(variant="rex", p=1.0, rounds=3)
    a = run(sc, p)
    assert isinstance(a.seed, int) and run(sc, p).seed != a.seed  # drawn afresh (53 bits)
    again = run(sc, p, rng=np.random.default_rng(a.seed))
    assert [ir.forecast for ir in again.issues.values()] == [ir.forecast for ir in a.issues.values()]
    # equal gain with deterministic ties draws nothing: no seed to record
    assert run(sc, ExchangeParams(rounds=3)).seed is None


def _data(X, C, lower=0.0, upper=100.0):
    X, C = np.asarray(X, float), np.asarray(C, float)
    n, m = X.shape
    return ExchangeData(tuple(f"a{i}" for i in range(n)), tuple(f"i{d}" for d in range(m)), X, np.full((n, m), 0.5),
                        C, np.ones((n, m), bool), np.full(m, lower), np.full(m, upper))


def test_invalid_power_and_positions_are_reported_with_column_and_value():
    with pytest.raises(InputError) as ei:
        _data([[10.0, 20.0], [30.0, 40.0]], [[1.0, -0.5], [1.0, 1.0]])
    (pr,) = ei.value.problems
    assert (pr.column, pr.value) == ("power", -0.5) and "a0" in pr.message and "i1" in pr.message
    with pytest.raises(InputError) as ei:
        _data([[10.0, 20.0], [30.0, 40.0]], [[1.0, np.nan], [1.0, 1.0]])
    assert [p.column for p in ei.value.problems] == ["power"]
    with pytest.raises(InputError) as ei:
        _data([[10.0, 120.0], [-5.0, 40.0]], np.ones((2, 2)))
    probs = ei.value.problems
    assert sorted((p.column, p.value) for p in probs) == [("position", -5.0), ("position", 120.0)]
    assert all(p.expected == "a number in [0, 100]" for p in probs)


def test_rex_eu_max_with_a_zero_salience_partner():
    # J does not care about p (s_Jp = 0): I's best takes J's full move on p, dOp = 10, and
    # pays nothing to J: eu_I = .6 * 10 = 6. J's best: dp = min(10, 20 * .5/.6) = 10,
    # eu_J = .9 * 10 * .6/.5 - 0 = 10.8
    assert rex_eu_max(10.0, 20.0, 0.6, 0.5, 0.0, 0.9) == pytest.approx((6.0, 10.8), abs=1e-12)


def test_position_update_on_arrays_and_scalars():
    out = position_update(np.array([0.0, 100.0]), np.array([100.0, 0.0]), np.array([1.0, 0.5]))
    # lambda = .1 + .4 (1 - s): .1 and .3
    np.testing.assert_allclose(out, [10.0, 70.0], atol=1e-12)
    assert type(position_update(0.0, 100.0, 1.0)) is float


def test_convergence_stops_only_below_the_threshold(fixtures):
    """``convergence``: stop after the first round in which the largest forecast change is
    below the threshold; a change equal to it does not stop the run."""
    d = dec.data(fixtures / "exchange" / "vue_china_usa_2x2.csv")
    r0 = simulate(d, ExchangeParams(rounds=1)).rounds[0]
    c = float(np.max(np.abs(r0.next_forecast - r0.preference_forecast)))
    assert c > 0
    at = simulate(d, ExchangeParams(rounds=4, convergence=c))
    assert len(at.rounds) > 1 and at.rounds[0].next_forecast == pytest.approx(r0.next_forecast)
    above = simulate(d, ExchangeParams(rounds=4, convergence=float(np.nextafter(c, np.inf))))
    assert above.converged and len(above.rounds) == 1


def test_reference_rex_reports_a_utility_for_both_sides(fixtures):
    """Reference-mode REX: ``eu`` of both sides is a number in every exchange (the drawn
    side's EU_A and the absolute utility of the other, docs/models/exchange.md)."""
    d = dec.data(fixtures / "exchange" / "exchange_4x2.csv")
    n = 0
    for seed in range(3):
        sim = simulate(d, ExchangeParams(variant="rex", p=1.0, mode="reference", rounds=3), rng=np.random.default_rng(seed))
        for r in sim.rounds:
            for e in r.exchanges:
                assert np.isfinite(e["euI"]) and np.isfinite(e["euJ"])
                n += 1
    assert n > 5
