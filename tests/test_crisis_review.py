"""Review regressions of the crisis engine: overrides that must take effect, report text
read from the run object, and bad numbers rejected as invalid input (not internal errors)."""

from __future__ import annotations

import pytest

from detente import examples
from detente.crisis import CrisisParams, load_spec
from detente.crisis.engine import compile_spec
from detente.crisis.spec import resolve


@pytest.fixture(scope="module")
def scn():
    return examples.load("seesaw-2021")


@pytest.mark.parametrize("path", ["flashpoints[UA].base_hazard_m.value", "flashpoints[UA].base_hazard_m"])
def test_set_value_of_calibrated_number_takes_effect(scn, path):
    """`--set X.value=v` on a calibrated number used to be ignored (the calibration file won)."""
    c = compile_spec(load_spec(scn.dynamics, extra={path: 0.003}), CrisisParams())
    assert c.fixed["flashpoints[UA].base_hazard_m"] == 0.003
    assert not any(p == "flashpoints[UA].base_hazard_m" for p, _, _ in c.drawn)


def test_set_value_of_drawn_number_takes_effect(scn):
    """`X.value=v` on a per-run drawn number used to be ignored (every run drew from the range)."""
    path = "dyads[US-CN].beliefs.0.cliff.size"
    spec = load_spec(scn.dynamics, extra={path + ".value": 0.2})
    c = compile_spec(spec, CrisisParams())
    assert path not in [p for p, _, _ in c.drawn]
    assert c.fixed[path] == 0.2
    num = spec.dyads[0].beliefs[0].cliff.size
    assert resolve(num) == 0.2 and "--set" in num.assumption.note
