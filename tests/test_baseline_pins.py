"""Compromise and weighted-median baselines pinned on hand-computed cases (the mutation-test
survivors of issue 19: weights rules, ties up to rounding, zero-weight positions, parameters
passed through, issues without stances)."""

from __future__ import annotations

import numpy as np
import pytest

import detente
from detente.errors import RunError
from detente.models.baseline import actor_weights, compromise, weighted_median
from detente.models.registry import run_model


def scenario(positions, capabilities, saliences, *, extra_issue=False):
    actors = [detente.Actor(id=f"A{i}", capability=c) for i, c in enumerate(capabilities)]
    issues = [detente.Issue(id="x")] + ([detente.Issue(id="empty")] if extra_issue else [])
    stances = [detente.Stance(actor=f"A{i}", issue="x", position=p, salience=s)
               for i, (p, s) in enumerate(zip(positions, saliences))]
    return detente.Scenario(actors=actors, issues=issues, stances=stances)


def test_actor_weight_rules():
    s = scenario([10, 20], [2, 3], [50, 10])  # salience in percent -> 0.5, 0.1 on the unit scale
    a = s.issue_arrays("x")
    # capabilities are divided by the power of two just above their maximum (4): 0.5, 0.75
    assert actor_weights(a, "capability_salience").tolist() == pytest.approx([0.25, 0.075])
    assert actor_weights(a, "capability").tolist() == [0.5, 0.75]
    assert actor_weights(a, "salience").tolist() == pytest.approx([0.5, 0.1])
    assert actor_weights(a, "equal").tolist() == [1.0, 1.0]
    # the weights are the caller's to change: the scenario's arrays stay as they are
    for rule in ("capability", "salience"):
        w = actor_weights(a, rule)
        w[:] = 0
    assert a.capability.tolist() == [2.0, 3.0] and a.salience.tolist() == pytest.approx([0.5, 0.1])


def test_compromise_closed_forms():
    # (1*0 + 3*10) / 4 = 7.5; (2*1 + 2*4 + 1*10) / 5 = 4
    assert compromise(np.array([0.0, 10.0]), np.array([1.0, 3.0])) == 7.5
    assert compromise(np.array([1.0, 4.0, 10.0]), np.array([2.0, 2.0, 1.0])) == pytest.approx(4.0)
    assert isinstance(compromise(np.array([1.0]), np.array([2.0])), float)
    for bad in ([0.0, 0.0], [1.0, -1.0], [1.0, -2.0]):
        with pytest.raises(ZeroDivisionError, match=r"^all weights are zero$"):
            compromise(np.array([1.0, 2.0]), np.array(bad))


def test_compromise_model_weight_rules():
    # positions 10 and 20, capabilities 2 and 3, saliences 0.5 and 0.1:
    # capability x salience 1.0 : 0.3 -> (10 + 6) / 1.3; capability 2 : 3 -> 16; salience 5 : 1 -> 70/6; equal -> 15
    s = scenario([10, 20], [2, 3], [50, 10])
    f = {w: run_model(s, "compromise", params={"weights": w}).forecast()
         for w in ("capability_salience", "capability", "salience", "equal")}
    assert f == pytest.approx({"capability_salience": 16 / 1.3, "capability": 16.0, "salience": 70 / 6, "equal": 15.0})
    assert run_model(s, "compromise").forecast() == pytest.approx(16 / 1.3)


def test_weighted_median_hand_computed():
    # sorted (1, 2, 3) with weights (1, 5, 1): half of 7 is 3.5, reached at 2
    assert weighted_median(np.array([3.0, 1.0, 2.0]), np.array([1.0, 1.0, 5.0])) == 2.0
    # cumulative weight reaches exactly half at 0 -> tie between 0 and the next position 10
    x, w = np.array([0.0, 10.0]), np.array([1.0, 1.0])
    assert [weighted_median(x, w, t) for t in ("midpoint", "lower", "upper")] == [5.0, 0.0, 10.0]
    # a zero-weight position between the two is skipped: the next position *with weight* is 10
    x3, w3 = np.array([0.0, 4.0, 10.0]), np.array([1.0, 0.0, 1.0])
    assert [weighted_median(x3, w3, t) for t in ("midpoint", "lower", "upper")] == [5.0, 0.0, 10.0]
    # two zero-weight positions in between
    x4, w4 = np.array([0.0, 2.0, 4.0, 10.0]), np.array([1.0, 0.0, 0.0, 1.0])
    assert weighted_median(x4, w4, "upper") == 10.0
    # a tie up to rounding: 0.3 against 0.1 + 0.2 (= 0.30000000000000004)
    xr, wr = np.array([0.0, 1.0, 2.0]), np.array([0.3, 0.1, 0.2])
    assert weighted_median(xr, wr) == 0.5
    # not a tie: 0.31 > half of 0.61 -> the lower position alone
    assert weighted_median(xr, np.array([0.31, 0.1, 0.2])) == 0.0
    # cumulative weight passes half strictly inside a position
    assert weighted_median(np.array([0.0, 10.0, 20.0]), np.array([1.0, 2.0, 1.0])) == 10.0
    # the last position reached with weight 0 after it
    assert weighted_median(np.array([0.0, 10.0, 20.0]), np.array([1.0, 3.0, 0.0])) == 10.0
    # equal positions are pooled: 10 carries 2 of 3
    assert weighted_median(np.array([10.0, 0.0, 10.0]), np.ones(3)) == 10.0
    for bad in ([0.0, 0.0], [1.0, -2.0]):
        with pytest.raises(ZeroDivisionError, match=r"^all weights are zero$"):
            weighted_median(np.array([1.0, 2.0]), np.array(bad))
    # the tie tolerance is relative to the total weight: 3e6 against 1e6 + (2e6 + 1e-6) differ by
    # 1e-6, within 1e-12 x 6e6, so it is a tie (midpoint of 0 and 1)
    assert weighted_median(np.array([0.0, 1.0, 2.0]), np.array([3e6, 1e6, 2e6 + 1e-6])) == 0.5
    # the next position is the next one with positive weight, whatever that weight (1 here)
    assert weighted_median(np.array([0.0, 10.0, 20.0]), np.array([1.5, 1.0, 0.5])) == 5.0
    # and the first one: zero weight at 2, weight at 5, zero weight again at 10
    assert weighted_median(np.array([0.0, 2.0, 5.0, 10.0]), np.array([1.0, 0.0, 1.0, 0.0]), "upper") == 5.0


def test_median_model_parameters_pass_through():
    # equal weights on 10 and 20 (capabilities 1, 1; saliences 50, 50): a tie between 10 and 20
    s = scenario([10, 20], [1, 1], [50, 50])
    assert run_model(s, "median").forecast() == 15.0
    assert run_model(s, "median", params={"tie": "lower"}).forecast() == 10.0
    assert run_model(s, "median", params={"tie": "upper"}).forecast() == 20.0
    # capability 1 vs 3: 20 outweighs; with equal weights it is the tie again
    s2 = scenario([10, 20], [1, 3], [50, 50])
    assert run_model(s2, "median").forecast() == 20.0
    assert run_model(s2, "median", params={"weights": "equal"}).forecast() == 15.0
    assert run_model(s2, "median", params={"weights": "salience"}).forecast() == 15.0
    assert run_model(s2, "median", params={"weights": "capability"}).forecast() == 20.0
    # the parameters are recorded in the result
    assert run_model(s, "median", params={"tie": "lower"}).to_json_dict()["params"]["tie"] == "lower"
    assert run_model(s, "compromise", params={"weights": "equal"}).to_json_dict()["params"]["weights"] == "equal"


@pytest.mark.parametrize("model", ["compromise", "median"])
def test_zero_weights_fall_back_or_fail(model):
    s = scenario([10, 30], [0, 0], [50, 50])
    r = run_model(s, model)
    assert r.forecast() == 20.0
    assert r.notes[-1] == "issue x: every weight is zero; equal weights used"
    with pytest.raises(RunError) as e:
        run_model(s, model, params={"zero_weight": "error"})
    assert str(e.value) == f"{model}: every actor weight on issue 'x' is zero"
    # positive weights: no such note
    assert not any("zero" in n for n in run_model(scenario([10, 30], [1, 1], [50, 50]), model).notes)


@pytest.mark.parametrize("model", ["compromise", "median", "nbs"])
def test_issue_without_stances(model):
    s = scenario([10, 30], [1, 3], [50, 50], extra_issue=True)
    r = run_model(s, model)
    assert r.issues["empty"].forecast is None
    assert r.issues["empty"].extra == {"reason": "no actor holds a position"}
    assert r.issues["x"].forecast is not None
    assert r.model == model and list(r.issues) == ["x", "empty"]
    # an issue without stances before one with: the later issue is still forecast
    s2 = s.model_copy(update={"issues": list(reversed(s.issues))})
    r2 = run_model(s2, model)
    assert list(r2.issues) == ["empty", "x"] and r2.issues["x"].forecast == pytest.approx(r.issues["x"].forecast)


@pytest.mark.parametrize("model", ["compromise", "median", "nbs"])
def test_capability_note_only_when_capabilities_are_used(model):
    from detente.models.capability import CAPABILITY_NOTE

    s = scenario([10, 30], [1, 3], [50, 50])
    for weights, noted in [("capability_salience", True), ("capability", True), ("salience", False), ("equal", False)]:
        assert (CAPABILITY_NOTE in run_model(s, model, params={"weights": weights}).notes) is noted, weights
