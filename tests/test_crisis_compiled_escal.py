"""The compiled twin of the crisis engine's step 5 (allies, war parties, Richardson forces, the
escalation ladder; :mod:`detente.crisis._compiled_escal`) gives the numpy code's bytes.

The numpy code in ``engine._simulate_chunk`` is the reference; whole chunks are simulated with and
without the twin and every output array is compared byte for byte, on settings that reach each
branch of the twin (rungs pushed to the top and back to the bottom, rung pushes from events and
allies, Richardson forces and flashpoints without them, drawn per-run parameters, the switches that
turn allies' lags and war parties off). Skipped when numba (the ``fast`` extra) is missing, or
where numpy's float64 ``exp`` is not the C library's (``compiled.compatible``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from detente import examples
from detente.crisis import engine as E
from twin_helpers import assert_same_bytes, chunk_pair, needs_numba


def _chunk_pair(name: str, hypothesis: str | None, extra: dict[str, Any], runs: int = 400, seed: int = 5,
                **params: Any) -> tuple[dict, dict, E._Compiled]:
    return chunk_pair(name, {"hypothesis": hypothesis, "set": extra, **params}, runs=runs, seed=seed)


@pytest.fixture
def twin_calls(monkeypatch):
    """Counts the months the twin simulated (so a test cannot pass with the numpy code alone)."""
    from detente.crisis import _compiled_escal as M

    calls = {"step": 0, "crisis": 0}
    real = M.EscalationTwin.step
    real_crisis = M.EscalationTwin.crisis_pwar

    def counted(self, *args, **kw):
        got = real(self, *args, **kw)
        calls["step"] += got is not None
        return got

    def counted_crisis(self, *args, **kw):
        got = real_crisis(self, *args, **kw)
        calls["crisis"] += got
        return got

    monkeypatch.setattr(M.EscalationTwin, "step", counted)
    monkeypatch.setattr(M.EscalationTwin, "crisis_pwar", counted_crisis)
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
    # contest exponents numpy shortcuts when they are one number (m = 2: x·x, m = 0.5: sqrt), and per run
    ("seesaw-2021", "combined", {"dyads[RU-UA].exponent": 2.0, "dyads[CN-TW].exponent": 0.5,
                                 "dyads[US-RU].exponent": 1.5}),
    ("seesaw-2021", "combined", {"dyads[RU-UA].exponent": 0.5, "dyads[CN-TW].exponent": 2.0,
                                 "settings.draw_assumptions": True}),
    ("seesaw-2021", "pure_theory", {}),
    ("seesaw-2021", "combined", {"triangle.coupling.cost_effect": 0.0}),   # crisis costs without coupling
    ("cuba-1962", None, {"settings.draw_assumptions": True}),               # no Richardson, weeks as steps
    ("crimea-2014", None, {}),
    ("taiwan-strait-1995", None, {}),
])
def test_chunk_is_byte_identical_with_the_escalation_twin(name, hypothesis, extra, twin_calls):
    a, b, c = _chunk_pair(name, hypothesis, extra)
    assert_same_bytes(a, b)
    assert twin_calls["step"] == c.n_steps          # every month went through the twin
    if a["diag_cause"][:, :, 2].sum() > 0:          # crisis bargaining reached the hazard
        assert twin_calls["crisis"] > 0             # through the twin
    assert (np.diff(a["diag_rung"], axis=0) != 0).any(), "the ladder must move during the run"


@needs_numba
def test_fast_ladder_reaches_the_top_rung_and_falls_back(twin_calls):
    a, b, c = _chunk_pair("seesaw-2021", "combined", FAST_LADDER)
    assert_same_bytes(a, b)
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
    assert_same_bytes(a, b)
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
    assert_same_bytes(a, b)
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


@needs_numba
def test_scalar_helpers_follow_numpys_rules():
    """np.maximum/np.minimum/clip on signed zeros, NaN and infinities, and np.power with numpy's
    shortcuts for a single exponent (x·x, sqrt, 1/x) and the C library's pow otherwise."""
    from detente.crisis import _compiled_escal as M
    from detente.crisis import kernels as K

    special = [0.0, -0.0, 1.0, -2.5, np.inf, -np.inf, np.nan, 1e-300, 0.5]
    for a in special:
        for b in special:
            for twin, ref in ((M._np_max, np.maximum), (M._np_min, np.minimum)):
                got, want = twin(a, b), ref(np.array([a]), np.array([b]))[0]
                assert np.array([got]).tobytes() == np.array([want]).tobytes(), (twin, a, b)
        for lo, hi in ((0.0, 0.5), (-0.0, 0.5)):
            got, want = M._np_clip(a, lo, hi), K.clip(np.array([a]), lo, hi)[0]
            assert np.array([got]).tobytes() == np.array([want]).tobytes(), ("clip", a, lo)
    rng = np.random.default_rng(4)
    x = rng.uniform(0.01, 50.0, 4000) * rng.choice([1.0, 1e-3, 1e3], 4000)
    for m in (2.0, 0.5, -1.0, 1.0, 0.0, 1.7, 3.0):
        one = np.power(x, m)                    # numpy's shortcut for a single exponent
        per_run = np.power(x, np.full(x.size, m))
        got_one = np.array([M._np_power(v, m, True) for v in x])
        got_per_run = np.array([M._np_power(v, m, False) for v in x])
        assert got_one.tobytes() == one.tobytes(), m
        assert got_per_run.tobytes() == per_run.tobytes(), m
    # the shortcuts matter: x·x and pow(x, 2) differ in the last bit for some x
    assert (np.power(x, 2.0) != np.power(x, np.full(x.size, 2.0))).any()


@needs_numba
@pytest.mark.parametrize("per_run", [False, True])
def test_crisis_twin_equals_the_engines_formulas(per_run):
    """``crisis_pwar`` against the numpy block (``_crisis_contest`` + ``kernels.risk_return_pwar``
    on the runs in crisis) on random capabilities, noise and costs: the contest exponent one number
    (1 as without a crisis dyad, the shortcuts 2 and 0.5, others) or one per run, with and without
    a cost multiplier, c_A above c̄ in some runs (P(war) 0) and demands capped at 1."""
    from detente.crisis import kernels as K

    Twin, c, V, args = _twin_parts(300)
    n, J = 300, len(c.spec.flashpoints)
    rng = np.random.default_rng(int(per_run))
    base = {f"flashpoints[{f.id}].crisis.{x}": (lo, hi) for f in c.spec.flashpoints
            for x, lo, hi in (("c_bar", 0.05, 0.6), ("fake_noise", 0.0, 1.0), ("c_A", 0.0, 0.5))}
    for key, (lo, hi) in base.items():
        V.v[key] = rng.uniform(lo, hi, n) if per_run else float(rng.uniform(lo, hi))
    twin = Twin.build(c.spec, V, n, *args, c.dt)
    nonzero = capped = 0
    for trial in range(12):
        rung = rng.integers(0, 5, (J, n)).astype(np.int16)
        noise = rng.uniform(0, 3, n) * (rng.random(n) < 0.5)
        capA, capB = rng.uniform(0.05, 3, n), rng.uniform(0.05, 3, n)
        m = [1.0, 2.0, 0.5, 1.3, rng.uniform(0.5, 2.0, n)][trial % 5]
        cm = None if trial % 2 else rng.uniform(0.0, 2.0, n)
        pwar = np.zeros((n, J))
        want = np.zeros((n, J))
        for j, f in enumerate(c.spec.flashpoints):
            assert twin.in_crisis(j, rung) == bool((rung[j] >= f.crisis.rung).any())
            assert twin.crisis_pwar(j, rung, noise, capA, capB, m, cm, pwar)
            b = f"flashpoints[{f.id}].crisis"
            rows = np.flatnonzero(rung[j] >= f.crisis.rung)
            cbar = E._at(V[f"{b}.c_bar"], rows) * (1.0 + E._at(V[f"{b}.fake_noise"], rows) * noise[rows])
            p = K.contest_p(capA[rows], capB[rows], E._at(m, rows))
            c_A = E._at(V[f"{b}.c_A"], rows) if cm is None else E._at(V[f"{b}.c_A"], rows) * cm[rows]
            want[rows, j] = K.risk_return_pwar(p, c_A, cbar)
            capped += int((p + (cbar - c_A) / 2.0 > 1.0).sum())
        assert pwar.tobytes() == want.tobytes(), trial
        nonzero += int((want > 0).sum())
    assert nonzero > 500 and capped > 0 and (want == 0).any()
    # a value that is not finite in a run in crisis: nothing written, the engine's numpy code runs
    capA[np.flatnonzero(rung[0] >= c.spec.flashpoints[0].crisis.rung)[0]] = np.nan
    pwar = np.zeros((n, J))
    assert not twin.crisis_pwar(0, rung, noise, capA, capB, 1.0, None, pwar) and not pwar.any()
