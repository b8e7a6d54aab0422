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

    calls = {"step": 0}
    real = M.EscalationTwin.step

    def counted(self, *args, **kw):
        got = real(self, *args, **kw)
        calls["step"] += got is not None
        return got

    monkeypatch.setattr(M.EscalationTwin, "step", counted)
    return calls


# many requests pending at once (deliveries drawn from binomials with counts above 1), strong q gains
BUSY_ALLIES = {**{f"policies.ally_pressure.{k}.request_rate_m": 1.5 for k in range(3)},
               **{f"alliances.{i}.lag_mean_m": 6.0 for i in range(3)},
               "policies.ally_pressure.0.q_gain": 0.4}
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
    ("seesaw-2021", "combined", BUSY_ALLIES),
    ("seesaw-2021", "combined", {**BUSY_ALLIES, "settings.draw_assumptions": True}),
    ("seesaw-2021", "ally_moral_hazard", {}),
    ("cuba-1962", None, {"settings.draw_assumptions": True}),               # no Richardson, weeks as steps
    ("crimea-2014", None, {}),
    ("taiwan-strait-1995", None, {}),
])
def test_chunk_is_byte_identical_with_the_escalation_twin(name, hypothesis, extra, twin_calls):
    a, b, c = _chunk_pair(name, hypothesis, extra)
    _assert_same_bytes(a, b)
    assert twin_calls["step"] == c.n_steps          # every month went through the twin
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
def test_busy_allies_hold_several_requests_at_once(monkeypatch):
    """The binomial deliveries are reached with counts above 1 (and the loop over counts stops)."""
    seen = []
    real = E._binomial_small

    def spy(k, p, u):
        seen.append(int(k.max()))
        return real(k, p, u)

    monkeypatch.setattr(E, "_binomial_small", spy)
    a, b, _ = _chunk_pair("seesaw-2021", "combined", BUSY_ALLIES)
    _assert_same_bytes(a, b)
    assert max(seen) >= 4
    assert (a["diag_q"][-1, :3] > a["diag_q"][0, :3]).all()   # q rose in the 3 pressured alliances (US-UA/TW/PL)
    assert a["diag_q"][-1, 3] == a["diag_q"][0, 3]           # and stayed in the other (RU-BY)


@needs_numba
def test_rung_pushes_and_richardson_reach_the_twin(twin_calls):
    """combined has rung pushes (calendar events known by the end, allies' acts) and Richardson
    forces on UA."""
    a, b, c = _chunk_pair("seesaw-2021", "combined", {"flashpoints[UA].escalation.push_factor": 0.05},
                          information_cutoff="all")
    assert any(e.rung_push is not None for e in c.events)
    assert c.spec.flashpoints[0].richardson is not None and c.spec.flashpoints[1].richardson is None
    _assert_same_bytes(a, b)
    assert twin_calls["step"] == c.n_steps


def _twin_parts(n: int = 50) -> tuple:
    from detente.crisis._compiled_escal import EscalationTwin

    c = E.plan(examples.load("seesaw-2021"), {"runs": n, "hypothesis": "combined"}, seed=1).compiled
    V = E._Vals(c, np.random.default_rng(0), n)
    directions = [x for di, d in enumerate(c.spec.dyads) for x in ((di, d.a, d.b), (di, d.b, d.a))]
    dyad_ids = [d.id for d in c.spec.dyads]
    pressure_of = {i: pi for pi, ap in enumerate(c.spec.policies.ally_pressure) for i, al in enumerate(c.spec.alliances)
                   if (al.patron, al.protege) == (ap.patron, ap.protege)}
    return EscalationTwin, c, V, (directions, dyad_ids, pressure_of)


@needs_numba
def test_twin_declines_non_finite_values():
    """A parameter that is not finite keeps the numpy code for the chunk; a state value that is not
    finite keeps it for the month, before anything is drawn or changed."""
    n = 50
    for path in ("flashpoints[TW].escalation.down_m", "flashpoints[UA].richardson.g", "alliances.0.lag_mean_m",
                 "alliances.2.provoke_dp"):
        Twin, c, V, args = _twin_parts(n)
        assert Twin.build(c.spec, V, n, *args, c.dt) is not None
        V.v[path] = np.full(n, 0.1)
        V.v[path][7] = np.nan
        assert Twin.build(c.spec, V, n, *args, c.dt) is None, path

    Twin, c, V, args = _twin_parts(n)
    J, NA = len(c.spec.flashpoints), len(c.spec.alliances)
    twin = Twin.build(c.spec, V, n, *args, c.dt)
    rng = np.random.default_rng(3)
    state = dict(pending=np.ones((NA, n), np.int32), q=np.full((n, NA), 0.5), prox=np.zeros((len(args[0]), n)),
                 fx=np.ones((n, J)), fy=np.ones((n, J)), f_eq=np.ones((n, J)), g_damp=np.zeros((n, J)),
                 rung_push=np.zeros((n, J)), rung=np.ones((J, n), np.int16), rung_step=np.full((n, J, 5), -1, np.int16))
    for key, bad in (("prox", np.inf), ("fx", np.nan), ("g_damp", -np.inf), ("rung_push", np.nan), ("q", np.nan)):
        st = {k: v.copy() for k, v in state.items()}
        st[key].flat[11] = bad
        before = rng.bit_generator.state
        assert twin.step(0, rng, **st) is None, key
        assert rng.bit_generator.state == before
        assert (st["rung"] == 1).all() and (st["rung_step"] == -1).all() and (st["pending"] == 1).all()
    got = twin.step(0, rng, **state)
    assert got is not None and got[0].shape == got[1].shape == (n, J)


@needs_numba
@pytest.mark.parametrize("p_kind", ["probabilities", "any"])
def test_binomial_twin_equals_the_engines_binomial(p_kind):
    """``_binomial_into`` against ``engine._binomial_small`` on random counts, probabilities and
    uniforms, including p = 0, p = 1 and (``any``) values outside [0, 1], where the running sums
    are not monotone and the loop's stop when no run needs a higher count decides the draws."""
    from detente.crisis._compiled_escal import _binomial_into

    rng = np.random.default_rng(len(p_kind))
    differ_from_zero = 0
    for _ in range(300):
        n = int(rng.integers(1, 40))
        k = (rng.integers(0, 9, n) * (rng.random(n) < 0.7)).astype(np.int32)
        lo, hi = (0.0, 1.0) if p_kind == "probabilities" else (-0.6, 1.6)
        p = np.where(rng.random(n) < 0.15, rng.choice([0.0, 1.0], n), rng.uniform(lo, hi, n))
        if rng.random() < 0.3:
            p = np.full(n, p[0])          # the engine's scalar p, broadcast
        u = rng.random(n)
        want = E._binomial_small(k, p, u)
        got = np.full(n, -7, np.int32)
        _binomial_into(got, k, np.ascontiguousarray(p), u, np.empty(n), np.empty(n), np.empty(n),
                       np.empty(n, np.int64))
        np.testing.assert_array_equal(got, want)
        differ_from_zero += int((want > 0).sum())
    assert differ_from_zero > 500
