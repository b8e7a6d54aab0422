"""The compiled twin of the crisis engine's step 5 (allies, war parties, Richardson forces, the
escalation ladder; :mod:`detente.crisis._compiled_escal`) gives the numpy code's bytes.

The numpy code in ``engine._simulate_chunk`` is the reference; whole chunks are simulated with and
without the twin and every output array is compared byte for byte, on settings that reach each
branch of the twin (rungs pushed to the top and back to the bottom, rung pushes from events and
allies, Richardson forces and flashpoints without them, drawn per-run parameters, the switches that
turn allies' lags and war parties off). Skipped when numba (the ``fast`` extra) is missing.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from detente import examples
from detente.crisis import compiled as C
from detente.crisis import engine as E

needs_numba = pytest.mark.skipif(not C.available(), reason="numba is not installed (pip install 'detente[fast]')")


def _chunk_pair(name: str, hypothesis: str | None, extra: dict[str, Any], runs: int = 400, seed: int = 5,
                **params: Any) -> tuple[dict, dict, E._Compiled]:
    plan = E.plan(examples.load(name), {"runs": runs, "chunk_size": runs, "hypothesis": hypothesis, "set": extra,
                                        "record_paths": True, **params}, seed=seed)
    job = plan.chunks[0]
    parts = []
    for use in (False, True):
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(job.root, spawn_key=(job.chunk,))))
        parts.append(E.simulate(job.compiled, job.n, rng, True, use_compiled=use))
    return parts[0], parts[1], job.compiled


def _assert_same_bytes(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        if isinstance(a[k], dict):
            for kk in a[k]:
                assert a[k][kk].tobytes() == b[k][kk].tobytes(), (k, kk)
        elif isinstance(a[k], np.ndarray):
            assert a[k].dtype == b[k].dtype and a[k].tobytes() == b[k].tobytes(), k
        else:
            assert a[k] == b[k], k


@pytest.fixture
def twin_calls(monkeypatch):
    """Counts the months the twin simulated (so a test cannot pass with the numpy code alone)."""
    from detente.crisis import _compiled_escal as M

    calls = {"escalation": 0}
    real = M.EscalationTwin.escalation

    def counted(self, *args, **kw):
        got = real(self, *args, **kw)
        calls["escalation"] += got is not None
        return got

    monkeypatch.setattr(M.EscalationTwin, "escalation", counted)
    return calls


FAST_LADDER = {f"flashpoints[{f}].escalation.{k}": v for f in ("UA", "TW", "BY-PL")
               for k, v in (("up_m", 2.5), ("down_m", 1.5), ("up_pressure", 3.0), ("down_groups", 2.0))}


@needs_numba
@pytest.mark.parametrize("name, hypothesis, extra", [
    ("seesaw-2021", "combined", {}),
    ("seesaw-2021", "combined", {"settings.draw_assumptions": True}),
    ("seesaw-2021", "combined", FAST_LADDER),                              # rungs hit the top and the bottom
    ("seesaw-2021", "history", {}),                                         # up_m 0, push factor 1
    # Richardson forces driven to the floor at 0, one side (x) or both (log 0 = -inf)
    ("seesaw-2021", "combined", {"flashpoints[UA].richardson.g": -0.6, "flashpoints[UA].richardson.h": 0.05}),
    ("seesaw-2021", "combined", {"flashpoints[UA].richardson.g": -0.6, "flashpoints[UA].richardson.h": -0.6}),
    ("seesaw-2021", "combined", {"settings.allies_lag": False, "settings.war_parties": False}),
    ("cuba-1962", None, {"settings.draw_assumptions": True}),               # no Richardson, weeks as steps
    ("crimea-2014", None, {}),
    ("taiwan-strait-1995", None, {}),
])
def test_chunk_is_byte_identical_with_the_escalation_twin(name, hypothesis, extra, twin_calls):
    a, b, c = _chunk_pair(name, hypothesis, extra)
    _assert_same_bytes(a, b)
    assert twin_calls["escalation"] == c.n_steps          # every month went through the twin
    assert (np.diff(a["diag_rung"], axis=0) != 0).any(), "the ladder must move during the run"


@needs_numba
def test_fast_ladder_reaches_the_top_rung_and_falls_back(twin_calls):
    a, b, c = _chunk_pair("seesaw-2021", "combined", FAST_LADDER)
    _assert_same_bytes(a, b)
    top = c.spec.flashpoints[0].escalation.rungs - 1
    assert (a["rung_step"][:, :, top] >= 0).mean() > 0.5
    # with down_m 1.5 the ladder also steps down: the mean rung is below the top in most months
    assert (a["diag_rung"][5:] < top * 400).all()


@needs_numba
def test_rung_pushes_and_richardson_reach_the_twin(twin_calls):
    """combined has rung pushes (calendar events known by the end, allies' acts) and Richardson
    forces on UA."""
    a, b, c = _chunk_pair("seesaw-2021", "combined", {"flashpoints[UA].escalation.push_factor": 0.05},
                          information_cutoff="all")
    assert any(e.rung_push is not None for e in c.events)
    assert c.spec.flashpoints[0].richardson is not None and c.spec.flashpoints[1].richardson is None
    _assert_same_bytes(a, b)
    assert twin_calls["escalation"] == c.n_steps


def _twin_parts(n: int = 50) -> tuple:
    from detente.crisis._compiled_escal import EscalationTwin

    c = E.plan(examples.load("seesaw-2021"), {"runs": n, "hypothesis": "combined"}, seed=1).compiled
    V = E._Vals(c, np.random.default_rng(0), n)
    directions = [x for di, d in enumerate(c.spec.dyads) for x in ((di, d.a, d.b), (di, d.b, d.a))]
    dyad_ids = [d.id for d in c.spec.dyads]
    return EscalationTwin, c, V, directions, dyad_ids


@needs_numba
def test_twin_declines_non_finite_values():
    """A parameter that is not finite keeps the numpy code for the chunk; a state value that is not
    finite keeps it for the month, before anything is drawn or changed."""
    Twin, c, V, directions, dyad_ids = _twin_parts()
    n, J = 50, len(c.spec.flashpoints)
    assert Twin.build(c.spec, V, n, directions, dyad_ids, c.dt) is not None
    V.v["flashpoints[TW].escalation.down_m"] = np.full(n, 0.1)
    V.v["flashpoints[TW].escalation.down_m"][7] = np.nan
    assert Twin.build(c.spec, V, n, directions, dyad_ids, c.dt) is None

    Twin, c, V, directions, dyad_ids = _twin_parts()
    twin = Twin.build(c.spec, V, n, directions, dyad_ids, c.dt)
    rng = np.random.default_rng(3)
    state = dict(prox=np.zeros((len(directions), n)), fx=np.ones((n, J)), fy=np.ones((n, J)), f_eq=np.ones((n, J)),
                 g_damp=np.zeros((n, J)), rung_push=np.zeros((n, J)), rung=np.ones((J, n), np.int16),
                 rung_step=np.full((n, J, 5), -1, np.int16))
    for key, bad in (("prox", np.inf), ("fx", np.nan), ("g_damp", -np.inf), ("rung_push", np.nan)):
        st = {k: v.copy() for k, v in state.items()}
        st[key].flat[11] = bad
        before = rng.bit_generator.state
        assert twin.escalation(0, rng, **st) is None, key
        assert rng.bit_generator.state == before
        assert (st["rung"] == 1).all() and (st["rung_step"] == -1).all()
    forces = twin.escalation(0, rng, **state)
    assert forces is not None and forces.shape == (n, J)
