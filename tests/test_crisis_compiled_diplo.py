"""The compiled twins of the engine's diplomacy, triangle and negotiation-track steps
(:mod:`detente.crisis._compiled_diplo`) give the numpy engine's numbers byte for byte.

The numpy engine is the reference (its mechanisms are pinned in the other crisis tests); here
whole chunks are simulated both ways and every output array is compared as bytes, on settings
that reach each branch of the twins: stalling channels on and off, leaks on and off, the seesaw
off, a forced split, the failed wedge with and without pending meetings, drawn assumptions
(one value per run), a leak that moves no belief, a track deadline, an online meeting, and
scenarios with one track or none, or no triangle. Skipped when numba (the ``fast`` extra) is
missing, or where numpy's float64 ``exp`` is not the C library's (``compiled.compatible``).
"""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from detente import examples
from detente.crisis import kernels as K
from detente.formats import load
from twin_helpers import assert_same_bytes, chunk_pair, needs_numba

pytestmark = needs_numba
TOY = Path(__file__).parent / "fixtures" / "crisis" / "toy-no-triangle.yaml"


def _chunks(scn, params: dict, runs: int = 500, seed: int = 11) -> tuple[dict, dict]:
    a, b, _ = chunk_pair(scn, params, runs=runs, seed=seed)
    return a, b


def _seesaw_variant() -> object:
    """seesaw-2021 with what the bundled scenarios leave out: a leak that moves no belief (to
    the pivot), a deadline with a boost on the SSD track, an online meeting in the calendar."""
    scn = examples.load("seesaw-2021")
    dyn = copy.deepcopy(dict(scn.dynamics))
    dyn["policies"]["leaks"] = [*dyn["policies"]["leaks"],
                                {"sender": "RU", "receiver": "US", "about": "CN", "claim": "dealing",
                                 "rate_m": {"value": 0.4, "source": "test"}, "fake_share": {"value": 0.5, "source": "test"}},
                                {"sender": "CN", "receiver": "US", "about": "RU", "claim": "loyal",
                                 "rate_m": {"value": 0.4, "source": "test"}, "fake_share": {"value": 0.3, "source": "test"}}]
    ssd = next(t for t in dyn["tracks"] if t["id"] == "SSD")
    ssd["deadline"] = dt.date(2022, 2, 15)
    ssd["deadline_boost"] = {"value": 1.5, "assumption": {"range": [0.5, 2.5]}}
    ssd["h0"] = {"value": 0.9, "source": "test"}
    start = load_start(dyn)
    dyn["calendar"] = [*(dyn.get("calendar") or []),
                       {"date": start + dt.timedelta(days=40), "kind": "talks", "track": "security_guarantees",
                        "format": "video", "known_by": start, "note": "test: an online meeting"}]
    return scn.model_copy(update={"dynamics": dyn})


def load_start(dyn: dict) -> dt.date:
    from detente.crisis.spec import load_spec

    return load_spec(dyn).settings.start


@pytest.mark.parametrize("values, hypothesis", [
    ({}, "combined"),
    ({"settings.draw_assumptions": True}, "combined"),
    ({"policies.stall.enabled": False}, "article"),
    ({"policies.leaks_enabled": False, "policies.stall.postpone": False}, "combined"),
    ({"policies.seesaw.enabled": False, "policies.stall.online_only": False}, None),
    ({"triangle.forced_split": True, "policies.stall.expert_groups": False}, "combined"),
    ({"triangle.coupling.provocation.enabled": False, "settings.draw_assumptions": True}, "private_info"),
    # a tie held at exactly 0 (no recovery, no balance term): the split test x ≤ 0 at the boundary
    ({"triangle.initial.RU-CN": 0.0, "triangle.loyal_recovery": 0.0, "triangle.balance_rate": 0.0}, "combined"),
])
def test_seesaw_chunks_are_byte_identical(values, hypothesis):
    a, b = _chunks(examples.load("seesaw-2021"), {"hypothesis": hypothesis, "set": values})
    assert_same_bytes(a, b)
    # the steps were exercised: meetings, groups and agreements, leaks (unless switched off)
    assert a["diag"]["meetings_held"].sum() > 0 and (a["agree_step"] >= 0).any()
    if values.get("policies.leaks_enabled", True):
        assert a["diag"]["leaks"].sum() > 0 and a["diag"]["verified_fakes"].sum() > 0


@pytest.mark.parametrize("draw", [False, True])
def test_variant_with_a_neutral_leak_a_deadline_and_an_online_meeting_is_byte_identical(draw):
    a, b = _chunks(_seesaw_variant(), {"hypothesis": "combined", "set": {"settings.draw_assumptions": draw},
                                       "information_cutoff": "all"}, runs=700)
    assert_same_bytes(a, b)
    assert a["diag"]["online"].sum() > 0
    assert (a["split_step"] >= 0).any() and (a["agree_step"] >= 0).sum() > 50


@pytest.mark.parametrize("name", ["cuba-1962", "taiwan-strait-1995", "crimea-2014"])
def test_other_bundled_scenarios_are_byte_identical(name):
    a, b = _chunks(examples.load(name), {"hypothesis": "combined", "set": {"settings.draw_assumptions": True}})
    assert_same_bytes(a, b)


def test_scenario_without_a_triangle_is_byte_identical():
    toy = load(TOY)
    for hyp in ("live", "calm"):
        a, b = _chunks(toy, {"hypothesis": hyp})
        assert_same_bytes(a, b)


def test_clip_twin_is_numpy_clip_on_signed_zeros_infinities_and_nan():
    from detente.crisis._compiled_diplo import _clip

    xs = np.array([np.nan, -np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0, 2.0, 0.5, -2.0, 1e-300, -1e-300])
    for lo, hi in ((0.0, 1.0), (-1.0, 1.0)):
        want = K.clip(xs, lo, hi)
        got = np.array([_clip(x, lo, hi) for x in xs])
        assert got.tobytes() == want.tobytes(), (lo, hi)
