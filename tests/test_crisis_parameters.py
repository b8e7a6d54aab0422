"""Named interpretive parameters of the crisis engine (formerly hard-coded constants).

``settings.pressure_scale_months`` (was ``tau_prox = 6``), ``triangle.noise_decay_m`` (0.5 per
month), ``tracks[].deadline_width_months`` (3 months), ``tracks[].deadline_tail_months`` (the
deadline effect stopped one month after the deadline: ``to_dl >= -1``) and
``flashpoints[].escalation.push_factor`` (each push halved the chance of not moving up).
Each test compares runs with common random numbers at the first step, where every draw
before the mechanism is the same, so the direction holds run by run; later steps diverge, so
for the whole result the test only asks that it changes. The defaults reproduce the numbers
of the engine before the change exactly: ``tests/test_crisis_regression.py`` pins the bytes
of a fixed-seed run, and :func:`test_engine_defaults_equal_the_shipped_values` checks that a
scenario without the new keys gives the same bytes as the shipped one.
"""

from __future__ import annotations

import numpy as np
import pytest

from detente import examples
from detente.crisis import load_spec, run
from detente.crisis.spec import DOMAINS
from detente.errors import InputError

RUNS = 1000


@pytest.fixture(scope="module")
def scn():
    return examples.load("seesaw-2021")


def _run(scn, sets, *, hyp="combined", months=3, **kw):
    return run(scn, {"runs": RUNS, "horizon_months": months, "hypothesis": hyp, "set": sets, **kw}, seed=5)


def _changed(a, b) -> bool:
    return any(getattr(a, k).tobytes() != getattr(b, k).tobytes()
               for k in ("onset_step", "agree_step", "hazard", "split_step"))


def test_longer_pressure_scale_raises_preventive_pressure(scn):
    lo, mid, hi = (_run(scn, {"settings.pressure_scale_months": v}) for v in (3.0, 6.0, 12.0))
    p = [np.asarray(r.diagnostics["dir_prox"])[0] for r in (lo, mid, hi)]   # (directions,) sums at step 0
    assert np.all(p[0] <= p[1]) and np.all(p[1] <= p[2]) and p[0].sum() < p[1].sum() < p[2].sum()
    assert _changed(lo, hi)


def test_slower_noise_decay_widens_crisis_bargaining(scn):
    """Undetected fakes widen c̄; below the cap x* < 1, P(war) of the risk–return demand rises with
    c̄, so the crisis hazard at step 0 (UA starts at its crisis rung) can only rise when the noise
    decays slower. c̄ = 0.2·(1 + 0.5·noise) keeps x* = p + (c̄ − c_A)/2 below 1 (p ≈ 0.7 for RU
    against UA and its supporters); above the cap P(war) = (1 − p)/c̄ falls with c̄."""
    keep = {"flashpoints[UA].crisis.c_bar": 0.2, "flashpoints[UA].crisis.fake_noise": 0.5}
    fast, slow = (_run(scn, {**keep, "triangle.noise_decay_m": v}, hyp="private_info") for v in (5.0, 0.0))
    h_fast, h_slow = fast.hazard[:, 0, 0], slow.hazard[:, 0, 0]
    assert np.all(h_slow >= h_fast) and np.any(h_slow > h_fast)
    assert _changed(fast, slow)


def test_wider_deadline_window_speeds_concessions(scn):
    sets = {"tracks[SSD].deadline": "2022-02-15", "tracks[SSD].deadline_boost": 2.0}
    runs = [_run(scn, {**sets, "tracks[SSD].deadline_width_months": w}, months=2) for w in (1.0, 3.0, 12.0)]
    agreed0 = [r.agree_step[:, 0] == 0 for r in runs]        # agreement in the first month (track meets)
    assert np.all(agreed0[1] >= agreed0[0]) and np.all(agreed0[2] >= agreed0[1])
    assert agreed0[2].sum() > agreed0[0].sum()
    assert _changed(runs[0], runs[2])


def test_longer_deadline_tail_keeps_the_deadline_effect_after_the_deadline(scn):
    """A deadline ~2.5 months before the end of the first step: with the default tail (1 month)
    the deadline no longer acts; with a 3-month tail it still speeds concessions."""
    sets = {"tracks[SSD].deadline": "2021-10-15", "tracks[SSD].deadline_boost": 2.0}
    none = _run(scn, {**sets, "tracks[SSD].deadline_boost": 0.0}, months=2)
    runs = [_run(scn, {**sets, "tracks[SSD].deadline_tail_months": v}, months=2) for v in (0.0, 1.0, 3.0)]
    agreed0 = [r.agree_step[:, 0] == 0 for r in (none, *runs)]
    assert np.array_equal(agreed0[0], agreed0[1]) and np.array_equal(agreed0[0], agreed0[2])
    assert np.all(agreed0[3] >= agreed0[2]) and agreed0[3].sum() > agreed0[2].sum()
    assert _changed(runs[1], runs[2])


def test_stronger_rung_push_escalates_more(scn):
    """With hindsight the 2021-12-03 intelligence report pushes the UA rung in the first month."""
    runs = [_run(scn, {"flashpoints[UA].escalation.push_factor": v}, information_cutoff="all")
            for v in (0.75, 0.5, 0.25)]
    rung0 = [np.asarray(r.diagnostics["rung"])[0, 0] for r in runs]
    assert rung0[0] < rung0[1] < rung0[2]
    one = _run(scn, {"flashpoints[UA].escalation.push_factor": 1.0}, information_cutoff="all")
    assert np.asarray(one.diagnostics["rung"])[0, 0] < rung0[0]              # factor 1: pushes do nothing
    assert _changed(runs[0], runs[2])


def _strip(dyn: dict) -> dict:
    """The dynamics without the four new keys (engine defaults apply)."""
    import copy

    d = copy.deepcopy(dyn)
    d["settings"].pop("pressure_scale_months")
    d["triangle"].pop("noise_decay_m")
    for t in d["tracks"]:
        t.pop("deadline_width_months")
        t.pop("deadline_tail_months")
    for f in d["flashpoints"]:
        f["escalation"].pop("push_factor", None)
    return d


def test_engine_defaults_equal_the_shipped_values(scn):
    bare = scn.model_copy(update={"dynamics": _strip(scn.dynamics)})
    spec = load_spec(bare.dynamics)
    assert spec.settings.pressure_scale_months.value == 6.0 and spec.triangle.noise_decay_m.value == 0.5
    assert {t.deadline_width_months.value for t in spec.tracks} == {3.0}
    assert {t.deadline_tail_months.value for t in spec.tracks} == {1.0}
    assert {f.escalation.push_factor.value for f in spec.flashpoints} == {0.5}
    p = {"runs": 300, "horizon_months": 12, "hypothesis": "combined", "information_cutoff": "all"}
    a, b = run(scn, p, seed=11), run(bare, p, seed=11)
    assert not _changed(a, b) and a.first_step.tobytes() == b.first_step.tobytes()


def test_shipped_values_are_annotated_assumptions_with_ranges(scn):
    spec = load_spec(scn.dynamics)
    items = dict(spec.num_items())
    for path in ("settings.pressure_scale_months", "triangle.noise_decay_m", "tracks[SSD].deadline_width_months",
                 "tracks[SSD].deadline_tail_months",
                 "flashpoints[UA].escalation.push_factor", "flashpoints[TW].escalation.push_factor"):
        num = items[path]
        lo, hi = num.assumption.range
        assert lo < num.value < hi, path
    for name in ("pressure_scale_months", "noise_decay_m", "deadline_width_months", "deadline_tail_months",
                 "push_factor"):
        assert name in DOMAINS
    from detente.crisis.spec import Escalation, Settings, Track, Triangle

    for model, name in ((Settings, "pressure_scale_months"), (Triangle, "noise_decay_m"),
                        (Track, "deadline_width_months"), (Track, "deadline_tail_months"),
                        (Escalation, "push_factor")):
        assert model.model_fields[name].description


@pytest.mark.parametrize("path,value", [("settings.pressure_scale_months", 0.0), ("triangle.noise_decay_m", -0.1),
                                        ("tracks[SSD].deadline_width_months", 0.0),
                                        ("tracks[SSD].deadline_tail_months", -0.5),
                                        ("flashpoints[UA].escalation.push_factor", 1.5)])
def test_new_parameters_outside_their_domain_are_invalid_input(scn, path, value):
    with pytest.raises(InputError) as ei:
        run(scn, {"runs": 4, "horizon_months": 2, "set": {path: value}}, seed=1)
    assert path in str(ei.value)


def test_new_parameters_can_be_drawn_per_run(scn):
    draws = {"settings.pressure_scale_months": {"value": 6.0, "assumption": {"range": [3.0, 12.0], "draw": "uniform"}},
             "triangle.noise_decay_m": {"value": 0.5, "assumption": {"range": [0.1, 1.0], "draw": "uniform"}},
             "tracks[SSD].deadline": "2022-02-15", "tracks[SSD].deadline_boost": 1.0,
             "tracks[SSD].deadline_width_months": {"value": 3.0, "assumption": {"range": [1.0, 6.0], "draw": "uniform"}},
             "tracks[SSD].deadline_tail_months": {"value": 1.0, "assumption": {"range": [0.0, 3.0], "draw": "uniform"}},
             "flashpoints[UA].escalation.push_factor": {"value": 0.5, "assumption": {"range": [0.25, 0.75],
                                                                                    "draw": "uniform"}}}
    res = run(scn, {"runs": 200, "horizon_months": 6, "set": draws, "information_cutoff": "all"}, seed=2)
    assert np.isfinite(res.hazard).all() and 0.0 <= res.p_war_by()["2022-05-31"] <= 1.0


def test_calibration_note_is_derived_from_the_file_provenance(scn, monkeypatch):
    """The note used to hard-code "(CINC and trends: COW NMC; base hazards: GML MID)"."""
    import json

    from detente.crisis import CrisisParams
    from detente.crisis import spec as spec_mod
    from detente.crisis.engine import compile_spec

    cal = json.loads(spec_mod.CALIBRATION_PATH.read_text(encoding="utf-8"))
    note = next(n for n in compile_spec(load_spec(scn.dynamics), CrisisParams()).notes if "calibration.json" in n)
    assert note.startswith("27 numbers taken from data/calibration.json")
    assert cal["provenance"]["generated"] in note and cal["provenance"]["datasets"]["nmc"] in note
    assert "cinc.share ×12" in note and "cinc.growth_m ×12" in note and "base_hazard_m ×3" in note
    cal["provenance"] = {"generated": "1999-01-01", "datasets": {"toy": "A toy dataset v0"}}
    monkeypatch.setattr(spec_mod, "_calibration", lambda: cal)
    note = next(n for n in compile_spec(load_spec(scn.dynamics), CrisisParams()).notes if "calibration.json" in n)
    assert "generated 1999-01-01" in note and "toy: A toy dataset v0" in note
    assert "COW" not in note and "GML" not in note
