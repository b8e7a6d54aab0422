"""The Nash bargaining solution (``nbs``) pinned on hand-computed cases.

Notation: positions on the unit scale, ``w`` the weights (bargaining-power exponents), ``d``
the disagreement point. The solution maximises ``sum_i w_i log(u_i(x) - u_i(d))``.
Quadratic utility, status quo ``d`` and every actor at ``x_i > d``: the gain is
``(x_i - d)^2 - (x - x_i)^2 = (x - d)(2 x_i - d - x)``. Linear utility:
``|x_i - d| - |x - x_i|``, which is ``x - d`` left of ``x_i`` and ``2 x_i - d - x`` right of it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import detente
from detente.models.baseline import NBSParams, nash_bargaining, run_nbs
from detente.models.registry import run_model

TOL = 1e-7

# Two actors right of d = 0 at a = 0.4 (w = 1) and b = 0.8 (w = 3), quadratic utility:
# maximise 4 log x + log(0.8 - x) + 3 log(1.6 - x); first-order condition
#   4/x = 1/(0.8 - x) + 3/(1.6 - x)  <=>  4(0.8 - x)(1.6 - x) = x(1.6 - x) + 3x(0.8 - x)
#   <=>  5.12 - 9.6x + 4x^2 = 4x - 4x^2  <=>  x^2 - 1.7x + 0.64 = 0
#   x = (1.7 - sqrt(2.89 - 2.56)) / 2 = (1.7 - sqrt(0.33)) / 2 = 0.5627718...
QUAD_ONE_SIDE = (1.7 - math.sqrt(0.33)) / 2
# Same actors, linear utility: for 0.4 <= x <= 0.8 the gains are 0.8 - x (actor a) and x
# (actor b), so maximise log(0.8 - x) + 3 log x: 1/(0.8 - x) = 3/x  =>  x = 0.6
# (left of 0.4 both gains are x and the product still grows, so the optimum is 0.6).
LIN_ONE_SIDE = 0.6
# Equal actors right of d at relative positions 0.2 and 0.4, quadratic:
#   2/y = 1/(0.4 - y) + 1/(0.8 - y)  <=>  y^2 - 0.9y + 0.16 = 0,  y = (0.9 - sqrt(0.17)) / 2
QUAD_EQUAL_PAIR = (0.9 - math.sqrt(0.17)) / 2  # 0.2438447...


SQQ = {"disagreement": "status_quo", "utility": "quadratic"}  # the status-quo NBS (the default until issue 19)
SQL = {"disagreement": "status_quo", "utility": "linear"}


def nb(x, w, d, **kw):
    return nash_bargaining(np.array(x, float), np.array(w, float), d, **kw)


# ------------------------------------------------------------------ utilities


def test_one_sided_quadratic_and_linear_hand_computed():
    assert nb([0.4, 0.8], [1, 3], 0.0) == pytest.approx(QUAD_ONE_SIDE, abs=TOL)
    assert nb([0.4, 0.8], [1, 3], 0.0, utility="linear") == pytest.approx(LIN_ONE_SIDE, abs=TOL)
    # the same under the veto rule (nobody at or beyond the status quo)
    assert nb([0.4, 0.8], [1, 3], 0.0, when_no_gain="status_quo") == pytest.approx(QUAD_ONE_SIDE, abs=TOL)
    assert nb([0.4, 0.8], [1, 3], 0.0, utility="linear", when_no_gain="status_quo") == pytest.approx(0.6, abs=TOL)
    # mirrored (actors left of d = 1): 1 - the same numbers
    assert nb([0.6, 0.2], [1, 3], 1.0) == pytest.approx(1 - QUAD_ONE_SIDE, abs=TOL)
    assert nb([0.6, 0.2], [1, 3], 1.0, utility="linear") == pytest.approx(0.4, abs=TOL)


def test_single_actor_gets_its_ideal_point():
    # one actor: maximise log(u(x) - u(d)), largest at the ideal point, whatever the rules
    for d in (None, 0.0, 1.0):
        for utility in ("quadratic", "linear"):
            for rule in ("heavier_side", "status_quo"):
                assert nb([0.3], [2.0], d, utility=utility, when_no_gain=rule) == pytest.approx(0.3, abs=TOL)


def test_worst_disagreement_hand_computed():
    # d = None: each actor's disagreement utility is that of its worse scale end.
    # Actors 0.2 (w = 1) and 0.8 (w = 3); both worse ends are 0.8 away.
    # Linear: for 0.2 <= x <= 0.8 gains 0.8 - (x - 0.2) = 1 - x and 0.8 - (0.8 - x) = x,
    # maximise log(1 - x) + 3 log x  =>  x = 3/4.
    assert nb([0.2, 0.8], [1, 3], None, utility="linear") == pytest.approx(0.75, abs=TOL)
    # Quadratic: gains 0.64 - (x - 0.2)^2 = (1 - x)(0.6 + x) and 0.64 - (x - 0.8)^2 = x(1.6 - x);
    # first-order condition -1/(1-x) + 1/(0.6+x) - 3/(1.6-x) + 3/x = 0; at the returned x it holds
    x = nb([0.2, 0.8], [1, 3], None)
    foc = -1 / (1 - x) + 1 / (0.6 + x) - 3 / (1.6 - x) + 3 / x
    assert abs(foc) < 1e-5 and 0.6 < x < 0.75
    # symmetric pair: the midpoint
    assert nb([0.2, 0.8], [1, 1], None) == pytest.approx(0.5, abs=TOL)
    # worse end of an actor at 0.7 is 0, of one at 0.1 it is 1 (linear: 0.7 and 0.9 away);
    # for 0.1 <= x <= 0.7 gains 0.9 - (x - 0.1) = 1 - x and 0.7 - (0.7 - x) = x: equal weights -> 0.5
    assert nb([0.1, 0.7], [1, 1], None, utility="linear") == pytest.approx(0.5, abs=TOL)


def test_worst_disagreement_on_other_bounds():
    # lower/upper other than 0/1: actors 2 and 8 on [0, 10], linear, equal weights: worse ends
    # 8 away for both; gains 8 - (x - 2) = 10 - x and 8 - (8 - x) = x -> x = 5; weights (1, 3): 7.5
    assert nb([2.0, 8.0], [1, 1], None, lower=0.0, upper=10.0, utility="linear") == pytest.approx(5.0, abs=1e-6)
    assert nb([2.0, 8.0], [1, 3], None, lower=0.0, upper=10.0, utility="linear") == pytest.approx(7.5, abs=1e-6)
    with pytest.raises(ValueError):
        nb([0.5], [1.0], None, lower=1.0, upper=1.0)


# ------------------------------------------------------------------ no-gain rules


def test_heavier_side_bargains_among_itself():
    # d = 0.5; left 0.2 (w = 1), right 0.7 and 0.9 (w = 2 each): right is heavier (4 > 1);
    # relative to d they sit at 0.2 and 0.4 with equal weights: x = 0.5 + QUAD_EQUAL_PAIR
    assert nb([0.2, 0.7, 0.9], [1, 2, 2], 0.5) == pytest.approx(0.5 + QUAD_EQUAL_PAIR, abs=TOL)
    # mirrored: the left side wins and the answer mirrors
    assert nb([0.8, 0.3, 0.1], [1, 2, 2], 0.5) == pytest.approx(0.5 - QUAD_EQUAL_PAIR, abs=TOL)
    # linear, right side at 0.7 (w = 1) and 0.9 (w = 3) relative 0.2 and 0.4: x = d + 2 * 0.2 * 3/4
    # (for 0.2 <= y <= 0.4 gains 0.4 - y and y, maximise log(0.4 - y) + 3 log y -> y = 0.3)
    assert nb([0.2, 0.7, 0.9], [1, 1, 3], 0.5, utility="linear") == pytest.approx(0.8, abs=TOL)
    # the veto rule keeps the status quo as soon as someone is on each side
    assert nb([0.2, 0.7, 0.9], [1, 2, 2], 0.5, when_no_gain="status_quo") == 0.5


def test_tie_between_the_sides_keeps_the_status_quo():
    # two equal actors at 0.2 and 0.8 around d = 0.5: neither side outweighs the other, so the
    # answer may not depend on which side is listed or lies left: the status quo
    assert nb([0.2, 0.8], [1, 1], 0.5) == 0.5
    assert nb([0.8, 0.2], [1, 1], 0.5) == 0.5
    # a tie up to rounding (0.1 + 0.2 != 0.3 in floating point) is a tie too
    assert nb([0.1, 0.2, 0.9], [0.1, 0.2, 0.3], 0.5) == 0.5
    assert nb([0.9, 0.8, 0.1], [0.1, 0.2, 0.3], 0.5) == 0.5
    # a slightly heavier side still wins
    assert nb([0.2, 0.8], [1.0, 1.001], 0.5) > 0.5
    assert nb([0.2, 0.8], [1.001, 1.0], 0.5) < 0.5


def test_actor_at_the_status_quo():
    # an actor exactly at d cannot gain: under the veto rule the status quo stays
    assert nb([0.3, 0.6], [1, 1], 0.3, when_no_gain="status_quo") == 0.3
    # heavier_side with nobody on the other side: the actor at d is part of the bargain, the
    # feasible interval is empty (it needs |x - 0.3| < 0), so the status quo is returned
    assert nb([0.3, 0.6], [1, 1], 0.3) == 0.3
    # ... but when both sides hold weight, the lighter side and those at d are outvoted
    # (right side 0.5 and 0.7 = 0.2 and 0.4 from d, equal weights)
    assert nb([0.3, 0.1, 0.5, 0.7], [1, 1, 2, 2], 0.3) == pytest.approx(0.3 + QUAD_EQUAL_PAIR, abs=TOL)
    # everyone at the status quo
    assert nb([0.4, 0.4], [1, 2], 0.4) == 0.4


def test_zero_weight_actors_take_no_part():
    # a zero-weight actor left of d = 0.1 would veto under the status_quo rule if it counted;
    # without it the two actors (relative 0.4 and 0.8, w = 1, 3) bargain as in QUAD_ONE_SIDE
    x = nb([0.05, 0.5, 0.9], [0.0, 1.0, 3.0], 0.1, when_no_gain="status_quo")
    assert x == pytest.approx(0.1 + QUAD_ONE_SIDE, abs=TOL)
    # a zero-weight actor at d does not block either
    assert nb([0.1, 0.5, 0.9], [0.0, 1.0, 3.0], 0.1) == pytest.approx(0.1 + QUAD_ONE_SIDE, abs=TOL)
    with pytest.raises(ZeroDivisionError):
        nb([0.2, 0.4], [0.0, 0.0], 0.5)


@pytest.mark.parametrize("utility", ["quadratic", "linear"])
@pytest.mark.parametrize("rule", ["heavier_side", "status_quo"])
def test_mirror_symmetry(utility, rule):
    # reflecting the scale (x -> 1 - x) reflects the answer, for any order of the actors
    rng = np.random.default_rng(7)
    for _ in range(40):
        n = int(rng.integers(1, 6))
        x = np.round(rng.uniform(0, 1, n), 2)
        w = rng.integers(0, 4, n).astype(float)
        if not w.sum() > 0:
            continue
        d = float(np.round(rng.uniform(0, 1), 2)) if rng.uniform() < 0.8 else None
        a = nash_bargaining(x, w, d, utility=utility, when_no_gain=rule)
        b = nash_bargaining(1 - x[::-1], w[::-1], None if d is None else 1 - d, utility=utility, when_no_gain=rule)
        assert a == pytest.approx(1 - b, abs=1e-6)


# ------------------------------------------------------------------ the model on a scenario


def scenario(positions, capabilities, saliences, *, lower=0.0, upper=100.0, status_quo=None):
    actors = [detente.Actor(id=f"A{i}", capability=c) for i, c in enumerate(capabilities)]
    stances = [detente.Stance(actor=f"A{i}", issue="x", position=p, salience=s)
               for i, (p, s) in enumerate(zip(positions, saliences))]
    return detente.Scenario(actors=actors, issues=[detente.Issue(id="x", lower=lower, upper=upper, status_quo=status_quo)],
                            stances=stances)


def test_symmetric_problem_gives_the_status_quo():
    # the case of issue 19: equal actors at 20 and 80, status quo 50
    s = scenario([20, 80], [1, 1], [50, 50], status_quo=50)
    sq = {"disagreement": "status_quo", "utility": "quadratic"}
    assert run_model(s, "nbs", params=sq).forecast() == 50.0
    assert run_model(s, "nbs", params={**sq, "when_no_gain": "status_quo"}).forecast() == 50.0
    # the default ('worst' disagreement, linear): gains 1 - x and x on [0.2, 0.8], equal weights
    assert run_model(s, "nbs").forecast() == pytest.approx(50.0, abs=1e-5)


def test_rescaled_issue_bounds():
    # scale [-50, 150] (width 200), status quo at the lower end; actors at 30 and 110 are 0.4
    # and 0.8 on the unit scale; weights capability x salience = 1 x 0.5 and 3 x 0.5 (ratio 1:3)
    s = scenario([30, 110], [1, 3], [50, 50], lower=-50, upper=150, status_quo=-50)
    assert run_model(s, "nbs", params=SQQ).forecast() == pytest.approx(-50 + 200 * QUAD_ONE_SIDE, abs=1e-5)
    assert run_model(s, "nbs", params=SQL).forecast() == pytest.approx(-50 + 200 * 0.6, abs=1e-5)
    # the 'worst' rule on the same scale: unit positions 0.4 and 0.8, worse ends 0.6 and 0.8
    # away; linear gains for 0.4 <= x <= 0.8: 0.6 - (x - 0.4) = 1 - x and 0.8 - (0.8 - x) = x,
    # weights 1:3 -> x = 0.75, i.e. -50 + 150 = 100
    r = run_model(s, "nbs", params={"utility": "linear", "disagreement": "worst"})
    assert r.forecast() == pytest.approx(100.0, abs=1e-5)
    assert run_model(s, "nbs").forecast() == pytest.approx(100.0, abs=1e-5)  # the default
    # status quo inside the scale: d = 10 is 0.3 on the unit scale; actors 0.4 and 0.8 are 0.1
    # and 0.5 right of it; linear, weights 1:3: gains 0.2 - y and y for 0.1 <= y <= 0.2 ->
    # y = 3/4 * 0.2 = 0.15, x = 0.45, i.e. -50 + 90 = 40
    s2 = scenario([30, 110], [1, 3], [50, 50], lower=-50, upper=150, status_quo=10)
    assert run_model(s2, "nbs", params=SQL).forecast() == pytest.approx(40.0, abs=1e-5)


def test_no_status_quo_uses_worst_rule_and_says_so():
    s = scenario([30, 110], [1, 3], [50, 50], lower=-50, upper=150)
    r = run_model(s, "nbs", params=SQL)
    assert r.forecast() == pytest.approx(100.0, abs=1e-5)
    assert any("no status quo" in n and "worst" in n for n in r.notes)
    assert not any("no status quo" in n for n in run_model(scenario([30], [1], [50], lower=-50, upper=150, status_quo=0),
                                                           "nbs", params=SQL).notes)
    assert not any("no status quo" in n for n in run_model(s, "nbs").notes)  # 'worst' asked for: nothing to note


def test_weight_rules():
    # capabilities 1, 3 and saliences 60, 20: capability x salience gives equal weights (0.6 each),
    # capability gives 1:3, salience 3:1, equal 1:1. Linear, status quo at 0 (unit 0.4 and 0.8):
    s = scenario([40, 80], [1, 3], [60, 20], status_quo=0)
    f = {w: run_model(s, "nbs", params={**SQL, "weights": w}).forecast()
         for w in ("capability_salience", "capability", "salience", "equal")}
    # gains 0.8 - x and x on [0.4, 0.8]: x = 0.8 * w_b / (w_a + w_b), at least 0.4
    assert f["capability_salience"] == pytest.approx(40.0, abs=1e-5)
    assert f["equal"] == pytest.approx(40.0, abs=1e-5)
    assert f["capability"] == pytest.approx(60.0, abs=1e-5)
    assert f["salience"] == pytest.approx(40.0, abs=1e-5)  # 0.8 * 1/4 = 0.2 < 0.4: the kink at 0.4


def test_zero_weights_fall_back_to_equal_with_a_note():
    s = scenario([40, 80], [0, 0], [50, 50], status_quo=0)
    r = run_model(s, "nbs", params=SQL)
    assert r.forecast() == pytest.approx(40.0, abs=1e-5)  # equal weights: x = 0.8 / 2 -> kink 0.4
    assert any("every weight is zero" in n for n in r.notes)


def test_params_defaults_documented():
    p = NBSParams()
    # chosen by the pre-registered DEU comparison (preregistration/nbs_variants.md)
    assert (p.utility, p.weights, p.disagreement, p.when_no_gain) == ("linear", "capability_salience",
                                                                       "worst", "heavier_side")
    assert run_nbs.__doc__ and "Nash" in run_nbs.__doc__


def test_actor_at_the_status_quo_sides():
    # actors at d belong to neither side: with d = 0.3, an actor at d and a heavier one at 0.6
    # on the right leave only the right side with weight, so everyone bargains and the actor at
    # d blocks (the status quo) -- they are not a 'left side' that the right side outvotes
    assert nb([0.3, 0.6], [1, 2], 0.3) == 0.3
    # same with the weight on the left: the left side alone does not outvote the actor at d
    assert nb([0.3, 0.1], [1, 1], 0.3) == 0.3
    assert nb([0.3, 0.1], [1, 5], 0.3, utility="linear") == 0.3


def test_tie_tolerance_is_relative():
    # weights equal to 12 significant digits are a tie at any scale: 3e6 against 3e6 (1 + 5e-13)
    # differ by 1.5e-6, within 1e-12 x 6e6 = 6e-6
    assert nb([0.2, 0.8], [3e6, 3e6 * (1 + 5e-13)], 0.5) == 0.5
    assert nb([0.2, 0.8], [3e-6, 3e-6 * (1 + 5e-13)], 0.5) == 0.5
    # a relative difference of 1e-9 is not a tie
    assert nb([0.2, 0.8], [3e6, 3e6 * (1 + 1e-9)], 0.5) > 0.5


def test_error_messages():
    with pytest.raises(ZeroDivisionError, match=r"^all weights are zero$"):
        nb([0.2, 0.4], [0.0, 0.0], 0.5)
    with pytest.raises(ValueError, match=r"^lower \(1\.0\) must be below upper \(1\.0\)$"):
        nb([0.5], [1.0], None, lower=1.0, upper=1.0)


def test_no_gain_rule_reaches_the_model():
    # d = 50 on [0, 100]; actor 20 (capability 1) left, 70 and 90 (capability 2) right, equal
    # saliences: the right side (4 > 1) bargains, relative 0.2 and 0.4 with equal weights
    s = scenario([20, 70, 90], [1, 2, 2], [50, 50, 50], status_quo=50)
    r = run_model(s, "nbs", params=SQQ)
    assert r.forecast() == pytest.approx(50 + 100 * QUAD_EQUAL_PAIR, abs=1e-5)
    assert run_model(s, "nbs", params={**SQQ, "when_no_gain": "status_quo"}).forecast() == 50.0
    # the result records the model, its parameters and the normalisation note
    d = r.to_json_dict()
    assert d["model"] == "nbs" and d["params"]["when_no_gain"] == "heavier_side" and d["params"]["utility"] == "quadratic"
    assert r.notes[0] == "positions normalised to the unit interval internally; forecasts on the issue scale"
