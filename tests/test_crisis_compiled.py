"""The compiled twins of :mod:`detente.crisis.compiled` give the numpy kernels' numbers exactly.

The numpy kernels are the reference (pinned on hand values in ``tests/test_crisis_kernels_bite.py``
and mutation-tested); here the twin is compared with them on random inputs that reach every
branch, on those hand-valued cases (re-run with the twin in the kernel's place), and on whole
engine runs (every output array byte for byte). Skipped when numba (the ``fast`` extra) is missing,
except the tests of the ``DETENTE_COMPILED`` switch.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from detente.crisis import compiled as C
from detente.crisis import kernels as K
from detente.errors import InputError
from twin_helpers import assert_same_bytes, chunk_pair, needs_numba

D_M = 0.995


def _case(rng: np.random.Generator, n: int, L: int, *, per_row: bool, cliff: bool, drift_kind: str) -> tuple:
    ratio = rng.uniform(0.05, 6, n)
    top = float(rng.choice([0.03, 0.2]))   # gentle and steep power shifts
    g = rng.uniform(-top, top, n) if per_row else float(rng.uniform(-top, top))
    drift = {"zero": 0.0, "one": float(rng.uniform(-0.01, 0.003)),
             "rows": rng.uniform(-0.01, 0.003, n) * rng.integers(0, 2, n)}[drift_kind]
    # whole and fractional cliff months, before the start, inside and past the look-ahead
    at = np.where(rng.random(n) < 0.5, rng.integers(-3, L + 3, n), rng.uniform(-3, L + 3, n)).astype(float)
    size = rng.uniform(-0.15, 0.6, n)
    kw = dict(L=L, delta=float(rng.choice([D_M, 0.9, 0.5])), c_D=rng.uniform(0.0, 0.3, n) / (1 - D_M),
              c_R=rng.uniform(0.0, 0.3, n) / (1 - D_M), phi=np.where(rng.random(n) < 0.2, rng.choice([0.0, 1.0], n),
                                                                      rng.uniform(0, 1, n)))
    return ratio, g, drift, at if cliff else None, size, kw


@needs_numba
@pytest.mark.parametrize("per_row", [False, True])
@pytest.mark.parametrize("cliff", [True, False])
@pytest.mark.parametrize("drift_kind", ["zero", "one", "rows"])
def test_twin_equals_numpy_kernel_on_random_rows(per_row, cliff, drift_kind):
    rng = np.random.default_rng([per_row, cliff, len(drift_kind)])
    wars = peace = 0
    for _ in range(25):
        L = int(rng.integers(2, 61))
        ratio, g, drift, at, size, kw = _case(rng, 300, L, per_row=per_row, cliff=cliff, drift_kind=drift_kind)
        for fast in (True, False):
            want = K.preventive_first_war(ratio, g, drift, at, size, fast=fast, **kw)
            got = C.preventive_first_war(ratio, g, drift, at, size, fast=fast, **kw)
            assert got.dtype == np.int32
            np.testing.assert_array_equal(got, want)
            wars += int((want >= 0).sum())
            peace += int((want < 0).sum())
    assert wars > 100 and peace > 100   # both outcomes are compared, not only peace


@needs_numba
def test_twin_reaches_the_slow_rows_the_tail_and_the_screened_rows():
    """One call with rows of each kind of the fast path: a steep smooth decline (full pass), a cliff
    inside the look-ahead (tail pass and test at t*) and a cliff past it (screened: peace)."""
    L = 12
    ratio = np.array([1.0, 1.0, 1.0])
    drift = np.array([-0.08, 0.0, 0.0])          # row 0: the smooth bound fails the screen
    at = np.array([30.0, 6.0, 40.0])             # row 1: cliff at month 6; row 2: past the look-ahead
    size = np.array([0.0, 0.45, 0.45])
    kw = dict(L=L, delta=0.9, c_D=np.full(3, 0.01), c_R=np.full(3, 0.01), phi=np.full(3, 0.5))
    want = K.preventive_first_war(ratio, 0.0, drift, at, size, **kw)
    assert want[0] >= 0 and want[1] == 5 and want[2] == -1
    np.testing.assert_array_equal(C.preventive_first_war(ratio, 0.0, drift, at, size, **kw), want)


@needs_numba
def test_twin_hands_non_finite_inputs_to_the_numpy_kernel():
    rng = np.random.default_rng(3)
    ratio, g, drift, at, size, kw = _case(rng, 50, 20, per_row=False, cliff=True, drift_kind="rows")
    ratio[7] = np.nan
    size[9] = np.inf
    np.testing.assert_array_equal(C.preventive_first_war(ratio, g, drift, at, size, **kw),
                                  K.preventive_first_war(ratio, g, drift, at, size, **kw))
    empty = C.preventive_first_war(np.zeros(0), 0.0, 0.0, None, 0.0, L=5, delta=0.9, c_D=np.zeros(0),
                                   c_R=np.zeros(0), phi=np.zeros(0))
    assert empty.shape == (0,) and empty.dtype == np.int32


def _bite_tests() -> list:
    import tests.test_crisis_kernels_bite as bite

    return [f for name, f in inspect.getmembers(bite, inspect.isfunction)
            if name.startswith("test_") and "preventive_first_war" in inspect.getsource(f)
            and not hasattr(f, "pytestmark")]


@needs_numba
@pytest.mark.parametrize("test", _bite_tests(), ids=lambda f: f.__name__)
def test_twin_passes_the_hand_valued_kernel_tests(test, monkeypatch):
    """The hand-valued tests of the numpy kernel, with the twin in its place."""
    monkeypatch.setattr(K, "preventive_first_war", C.preventive_first_war)
    test()


@needs_numba
@pytest.mark.parametrize("hypothesis, extra", [
    ("combined", {}),
    ("combined", {"settings.draw_assumptions": True}),   # per-run trends (drawn contest exponents)
    ("article", {"policies.stall.enabled": False}),
])
def test_engine_chunk_is_byte_identical_with_the_twins(hypothesis, extra):
    a, b, _ = chunk_pair("seesaw-2021", {"hypothesis": hypothesis, "set": extra}, runs=600, seed=11)
    assert (a["first_step"] >= 0).any(), "some run must go to war, or the preventive pass is not exercised"
    assert_same_bytes(a, b)


def test_switch_defaults_to_auto_and_rejects_unknown_values(monkeypatch):
    monkeypatch.delenv("DETENTE_COMPILED", raising=False)
    assert C.mode() == "auto"
    for raw, want in (("off", "off"), ("0", "off"), (" Auto ", "auto"), ("", "auto")):
        monkeypatch.setenv("DETENTE_COMPILED", raw)
        assert C.mode() == want
    monkeypatch.setenv("DETENTE_COMPILED", "fastest")
    with pytest.raises(InputError) as e:
        C.mode()
    assert e.value.problems[0].column == "DETENTE_COMPILED" and e.value.problems[0].value == "fastest"


def test_switch_on_without_numba_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(C, "available", lambda: False)
    monkeypatch.setenv("DETENTE_COMPILED", "on")
    with pytest.raises(InputError, match=r"detente\[fast\]"):
        C.mode()
    monkeypatch.setenv("DETENTE_COMPILED", "auto")
    assert C.choose(10 * C.AUTO_MIN_WORK) is False


def test_auto_uses_the_twins_only_for_large_batches(monkeypatch):
    monkeypatch.setattr(C, "available", lambda: True)
    monkeypatch.setattr(C, "loaded", lambda: False)
    monkeypatch.setenv("DETENTE_COMPILED", "auto")
    assert C.choose(C.AUTO_MIN_WORK) is True and C.choose(C.AUTO_MIN_WORK - 1) is False
    # twins already loaded in this process (their cost paid): any batch
    monkeypatch.setattr(C, "loaded", lambda: True)
    assert C.choose(0) is True
    monkeypatch.setenv("DETENTE_COMPILED", "off")
    assert C.choose(C.AUTO_MIN_WORK) is False
    monkeypatch.setenv("DETENTE_COMPILED", "auto")
    monkeypatch.setattr(C, "loaded", lambda: False)
    monkeypatch.setenv("DETENTE_COMPILED", "on")
    assert C.choose(0) is True
    monkeypatch.setenv("DETENTE_COMPILED", "off")
    assert C.choose(10 * C.AUTO_MIN_WORK) is False
    monkeypatch.setattr(C, "available", lambda: False)
    monkeypatch.setenv("DETENTE_COMPILED", "auto")
    assert C.choose(10 * C.AUTO_MIN_WORK) is False
    monkeypatch.setenv("DETENTE_COMPILED", "fastest")
    with pytest.raises(InputError):
        C.choose(0)


def test_run_plans_decides_once_per_batch_and_tells_every_chunk(monkeypatch):
    """The choice is made where the batch is known and travels with each chunk to the worker."""
    from detente import examples
    from detente.crisis import engine as E

    seen = []
    real = E.simulate

    def spy(compiled, n, rng, record_paths=False, *, use_compiled=None):
        seen.append(use_compiled)
        return real(compiled, n, rng, record_paths, use_compiled=False)

    monkeypatch.setattr(E, "simulate", spy)
    plan = E.plan(examples.load("seesaw-2021"), {"runs": 90, "chunk_size": 30, "horizon_months": 3}, seed=1)
    work = sum(j.work for j in plan.chunks)
    for threshold, want in ((work, True), (work + 1, False)):
        seen.clear()
        monkeypatch.setattr(C, "AUTO_MIN_WORK", threshold)
        monkeypatch.setattr(C, "loaded", lambda: False)
        monkeypatch.setattr(C, "available", lambda: True)
        monkeypatch.setenv("DETENTE_COMPILED", "auto")
        E.run_plans([plan])
        assert seen == [want] * 3


def test_choosing_does_not_import_numba(monkeypatch):
    """The process that plans (and, with a pool, only assembles) must not pay numba's import."""
    import subprocess
    import sys

    code = ("import sys; from detente.crisis import compiled as C; C.available(); C.choose(10**9); "
            "print('numba' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**__import__("os").environ, "DETENTE_COMPILED": "auto"})
    assert out.stdout.strip() == "False"


def _numpy_direction(ev, capD, capR, m, gdiff, drift, rel, size, kD, kR, phi, L, delta, kmon):
    """Step 4's numpy code for one direction (engine._simulate_chunk), on a copy of ``kmon``."""
    from detente.crisis.engine import _at

    out = kmon.copy()
    n = ev.size
    rows = np.nonzero(ev)[0]
    cD = np.broadcast_to(np.asarray(kD) / (1.0 - delta), (n,))
    cR = np.broadcast_to(np.asarray(kR) / (1.0 - delta), (n,))
    ratio = np.power(capR[rows] / capD[rows], _at(m, rows))
    first = K.preventive_first_war(
        ratio, _at(gdiff, rows) if np.ndim(gdiff) else float(gdiff), _at(np.asarray(drift, float), rows),
        None if rel is None else rel[rows], _at(np.asarray(size, float), rows) if rel is not None else 0.0,
        L=L, delta=delta, c_D=cD[rows], c_R=cR[rows], phi=phi[rows])
    out[rows] = np.where(first >= 0, first.astype(float), np.inf)
    return out


@needs_numba
@pytest.mark.parametrize("per_run", [False, True])
def test_direction_pass_equals_the_numpy_step(per_run):
    rng = np.random.default_rng(5 + per_run)
    n, checked = 400, 0
    for it in range(30):
        L = int(rng.integers(2, 50))
        delta = float(rng.choice([D_M, 0.9]))
        ev = rng.random(n) < 0.7
        capD, capR = rng.uniform(0.01, 1, n), rng.uniform(0.01, 1, n)
        draw = (lambda lo, hi: rng.uniform(lo, hi, n)) if per_run else (lambda lo, hi: float(rng.uniform(lo, hi)))
        m, gdiff, kD, kR = draw(0.5, 3), draw(-0.1, 0.1), draw(0, 0.3), draw(0, 0.3)
        drift = [0.0, draw(-0.01, 0.002)][it % 2]
        rel = None if it % 3 == 0 else rng.uniform(-3, L + 3, n)
        size = draw(-0.1, 0.6)
        phi = rng.uniform(0, 1, (n, 2))[:, 1]            # a strided column, as phi[:, di] in the engine
        kmon = np.where(rng.random(n) < 0.5, np.inf, rng.uniform(0, 30, n))
        want = _numpy_direction(ev, capD, capR, m, gdiff, drift, rel, size, kD, kR, phi, L, delta, kmon)
        got = kmon.copy()
        assert C.direction_pass(ev, capD, capR, m, gdiff, drift, rel, size, kD, kR, phi, L=L, delta=delta, kmon=got)
        assert got.tobytes() == want.tobytes()
        checked += int(np.isfinite(want[ev]).sum())
    assert checked > 200   # wars found, not only peace
    bad = capD.copy()
    bad[3] = np.nan
    ev[3] = True
    untouched = kmon.copy()
    assert not C.direction_pass(ev, bad, capR, m, gdiff, drift, rel, size, kD, kR, phi, L=L, delta=delta, kmon=untouched)
    assert untouched.tobytes() == kmon.tobytes()


@needs_numba
@pytest.mark.parametrize("pressure", [True, False])
def test_forced_and_pressure_equals_the_numpy_step(pressure):
    rng = np.random.default_rng(9)
    kr = np.concatenate([rng.uniform(-3, 40, 300), [np.inf, -1e-9, -2e-9, 0.0, 1.0 - 1e-9, 1.0 - 2e-9, 0.999, 1.0]])
    for inv_tau in (-1 / 6.0, rng.uniform(-1, -0.05, kr.size)):
        ok = kr > -1e-9
        want_f = np.logical_and(ok, kr < 1.0 - 1e-9)
        want_p = np.multiply(np.exp(np.maximum(kr, 0.0) * inv_tau), ok) if pressure else np.zeros(kr.size)
        # one row per direction, as the engine's (direction, run) arrays; the second row never forced
        kmon = np.stack([kr, np.full(kr.size, np.inf), kr[::-1]])
        f, p = np.ones(kmon.shape, bool), np.full(kmon.shape, 7.0)
        C.forced_and_pressure(kmon, inv_tau, pressure, f, p)
        assert f[0].tolist() == want_f.tolist() and p[0].tobytes() == want_p.tobytes()
        assert not f[1].any() and (p[1] == 0.0).all()
        if np.ndim(inv_tau) == 0:
            assert f[2].tolist() == want_f[::-1].tolist() and p[2].tobytes() == want_p[::-1].tobytes()


def _numpy_screen(kmon_r, bound, kD, delta, cl, tau, L, periodic, reeval):
    """The engine's numpy screens of one direction (step 4): (any to evaluate, ev, rel)."""
    n = kmon_r.shape[0]
    if cl is None and np.all(bound * delta <= (1.0 - delta) * np.asarray(kD)):
        kmon_r[:] = np.inf
        return False, None, None
    need = np.broadcast_to(bound * delta > (1.0 - delta) * np.asarray(kD), (n,)).copy()
    rel = None
    if cl is not None:
        kc, size = cl
        rel = np.broadcast_to(np.asarray(kc) - tau, (n,))
        need |= (rel >= 1) & (rel <= L - 1) & (np.broadcast_to(size, (n,)) > 0)
    kmon_r[~need] = np.inf
    ev = need if periodic else need & (kmon_r <= reeval)
    return bool(ev.any()), ev, rel


@needs_numba
def test_screen_equals_the_numpy_screens():
    rng = np.random.default_rng(21)
    n, L, delta, reeval = 400, 24, 0.97, 6.0
    seen = {"calm": 0, "none": 0, "some": 0}
    for it in range(240):
        per_run = it % 2 == 1
        draw = (lambda lo, hi: rng.uniform(lo, hi, n)) if per_run else (lambda lo, hi: float(rng.uniform(lo, hi)))
        bound = draw(0.0, 0.02) if it % 5 else 0.0
        kD = draw(0.0, 0.6) if it % 7 else np.where(rng.random(n) < 0.1, np.nan, rng.uniform(0, 0.6, n))
        cl = None if it % 3 == 0 else (np.round(draw(-5.0, 40.0)), draw(-0.1, 0.3))
        tau = float(it % 30)
        periodic = it % 4 == 0
        if np.ndim(kD):
            kD = kD.copy()
            kD[::13] = 0.0          # with a zero bound: ties, bound·δ = (1−δ)κ_D = 0
        kmon = np.where(rng.random(n) < 0.3, np.inf, rng.uniform(-1, 30, n))
        kmon[::17] = reeval         # ties with the re-evaluation window
        want_k = kmon.copy()
        want_any, want_ev, want_rel = _numpy_screen(want_k, bound, kD, delta, cl, tau, L, periodic, reeval)
        got_k, ev, rel = kmon.copy(), np.ones(n, bool), np.full(n, 7.0)
        got_any = C.screen(got_k, bound, kD, delta=delta, cliff=cl, tau=tau, L=L, periodic=periodic, reeval=reeval,
                           ev=ev, rel=rel)
        assert got_any == want_any and got_k.tobytes() == want_k.tobytes()
        if want_ev is not None:
            assert ev.tolist() == want_ev.tolist()
        if want_rel is not None:
            assert rel.tobytes() == np.ascontiguousarray(want_rel).tobytes()
        seen["calm" if want_ev is None else "some" if want_any else "none"] += 1
    assert min(seen.values()) > 10, seen   # every outcome exercised


def test_sensitivity_study_decides_once_and_tells_every_group(monkeypatch):
    from detente.experiments import crisis_sensitivity as S

    seen = []

    def fake(job):
        seen.append(job.use_compiled)
        return np.zeros((job.g, 1)), np.zeros((job.g, 1))

    monkeypatch.setattr(S, "evaluate_points", fake)

    steps = type("Compiled", (), {"step_start": list(range(10))})()   # 10 steps
    jobs = [S.PointGroup(compiled=steps, chunk=i, g0=4 * i, g=4, m=8, seed=1, common=False, outputs=("y",), end=None,
                         params=None, scenario_name="toy") for i in range(3)]
    monkeypatch.setattr(C, "available", lambda: True)
    monkeypatch.setattr(C, "loaded", lambda: False)
    monkeypatch.setenv("DETENTE_COMPILED", "auto")
    # 3 groups, each one engine call of 4 points × 8 runs, 10 steps: (32 + 2,500) × 10 each
    assert [j.work for j in jobs] == [(32 + 2500) * 10] * 3
    for threshold, want in ((3 * 2532 * 10, True), (3 * 2532 * 10 + 1, False)):
        seen.clear()
        monkeypatch.setattr(C, "AUTO_MIN_WORK", threshold)
        S.run_groups(jobs)
        assert seen == [want] * 3


@needs_numba
def test_loaded_is_what_the_web_preload_declares():
    import subprocess
    import sys

    # running the twins does not count (a batch's choice must not depend on what ran before it);
    # the web jobs' forkserver preload declares them
    code = ("from detente.crisis import compiled as C; a = C.loaded(); "
            "from detente.experiments.compiled_cache import warm; warm(('seesaw-2021',)); b = C.loaded(); "
            "import detente.web.preload; print(a, b, C.loaded())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False", "True"]


@needs_numba
@pytest.mark.parametrize("mode, loads", [("auto", True), ("off", False), ("bogus", False)])
def test_the_crisis_pool_preload_loads_the_twins_without_declaring_them(mode, loads):
    import os
    import subprocess
    import sys

    # what a crisis pool's forkserver imports (analysis.TWINS_PRELOAD): the engine, and the twins
    # unless DETENTE_COMPILED rules them out; never declared loaded (each chunk says what it uses)
    from detente.crisis.analysis import TWINS_PRELOAD

    code = (f"import sys; import {TWINS_PRELOAD}; from detente.crisis import compiled as C; "
            "print('detente.crisis.engine' in sys.modules, 'detente.crisis._compiled_escal' in sys.modules, C.loaded())")
    env = {**os.environ, "DETENTE_COMPILED": mode}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout.split()
    assert out == ["True", str(loads), "False"]


@needs_numba
def test_warm_simulates_a_chunk_of_each_scenario_with_the_twins(monkeypatch):
    from detente.crisis import engine as E

    calls = []
    real = E.simulate

    def spy(compiled, n, rng, record_paths=False, *, use_compiled=None):
        calls.append((compiled.spec.settings.draw_assumptions, use_compiled))
        return real(compiled, n, rng, record_paths, use_compiled=use_compiled)

    monkeypatch.setattr(E, "simulate", spy)
    from detente.experiments.compiled_cache import warm

    assert warm(("cuba-1962",)) == 2
    assert calls == [(False, True), (True, True)]
    monkeypatch.setattr(C, "available", lambda: False)
    assert warm() == 0


def test_compatible_compares_numpy_with_the_c_library(monkeypatch):
    """``auto`` keeps numpy where numpy's exp is not the C library's (the twins could differ)."""
    C.compatible.cache_clear()
    try:
        real = np.exp
        monkeypatch.setattr(np, "exp", lambda x: np.nextafter(real(x), np.inf))   # one ulp off
        assert C.compatible() is False
        monkeypatch.setattr(C, "available", lambda: True)
        monkeypatch.setenv("DETENTE_COMPILED", "auto")
        assert C.choose(10 * C.AUTO_MIN_WORK) is False
        monkeypatch.setenv("DETENTE_COMPILED", "on")   # the user's explicit choice stands
        assert C.choose(0) is True
    finally:
        C.compatible.cache_clear()


@needs_numba
@pytest.mark.parametrize("common", [True, False])
def test_sensitivity_points_are_the_same_with_the_twins(common, monkeypatch):
    """A sensitivity study's points through the twins: its common-random-number stand-in for a
    Generator (``random(size)``, ``standard_normal(size)``) must serve every twin's draws, and the
    estimates are the same bytes as with numpy (``make run``'s Sobol study uses the twins)."""
    from detente import examples
    from detente.experiments.crisis_sensitivity import point_outputs

    scn = examples.load("seesaw-2021")
    paths = ["flashpoints[UA].base_hazard_m", "policies.stall.postpone_prob"]
    vals = np.array([[0.004, 0.3], [0.008, 0.6], [0.004, 0.3]])
    got = []
    for mode in ("off", "on"):
        monkeypatch.setenv("DETENTE_COMPILED", mode)
        got.append(point_outputs(scn, paths, vals, runs_per_point=64, seed=2, hypothesis="combined", common=common,
                                 outputs=["p_war_horizon", "months_of_peace_focal"]))
    (m0, v0), (m1, v1) = got
    assert m0.tobytes() == m1.tobytes() and v0.tobytes() == v1.tobytes()
    assert m0[:, 0].max() > 0   # wars happen: the hazard and onset twins are exercised


@needs_numba
def test_numba_draws_numpys_numbers_from_the_same_generator():
    """What a whole-month compiled loop would rest on (docs/crisis.md): numba's support of
    numpy.random.Generator gives the bits of numpy's draws, one by one or as arrays, and advances
    the same Generator object."""
    import numba

    @numba.njit
    def draws(rng, n):
        one = np.empty(n)
        for i in range(n):
            one[i] = rng.random()
        return one, rng.uniform(0.2, 3.5, n), rng.standard_normal(n), rng.random((3, n))

    def gen():
        return np.random.Generator(np.random.PCG64(np.random.SeedSequence(7, spawn_key=(3,))))

    g, ref = gen(), gen()
    got = draws(g, 1000)
    want = (ref.random(1000), ref.uniform(0.2, 3.5, 1000), ref.standard_normal(1000), ref.random((3, 1000)))
    for a, b in zip(got, want):
        assert a.tobytes() == b.tobytes()
    assert g.random(4).tobytes() == ref.random(4).tobytes()     # the same state afterwards
