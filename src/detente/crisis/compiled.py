"""Compiled twins of crisis kernels (optional extra ``detente[fast]``: numba).

The numpy kernels of :mod:`detente.crisis.kernels` are the reference. A twin here does the same
floating-point operations in the same order, one run at a time, so it returns the same numbers
(``tests/test_crisis_compiled.py`` compares them, and whole engine runs, byte for byte); it is
faster because it leaves out numpy's per-call overhead and the temporaries of the array version.
Both call the C library's ``exp`` (numpy does too for float64 on machines without AVX-512; on a
machine where numpy uses its own vectorised ``exp`` the twins could differ in the last bit of an
intermediate value, which the equivalence test would show).

Which implementation the engine uses is chosen by the environment variable ``DETENTE_COMPILED``:

* ``auto`` (default): the twins when numba is installed, numpy's float64 functions are the C
  library's (:func:`compatible`), and the batch of chunks is large enough
  (at least :data:`AUTO_MIN_WORK` of work: the estimated cost of the batch's chunks, see
  :func:`choose`), else the numpy code;
* ``1`` / ``on``: the twins for every batch (an error when numba is missing);
* ``0`` / ``off``: the numpy code.

The choice is made where a batch is planned (:func:`detente.crisis.engine.run_plans`,
:func:`detente.experiments.crisis_sensitivity.run_groups`) and travels with each chunk to the
process that simulates it. The numbers do not depend on it. Importing numba and loading the twins
from numba's cache costs about 0.6 s of CPU in each process that uses them (measured: a first
100-run chunk of ``combined`` 0.75 s against 0.17 s with numpy, later ones 0.13 s), which small
batches would not repay. numba compiles a twin on its first call (a few seconds) and keeps the
machine code in its cache (``cache=True``: next to this file, or numba's user cache).
"""

from __future__ import annotations

import importlib.util
import os
from functools import cache
from typing import Any

import numpy as np

from detente.crisis.kernels import preventive_first_war as _numpy_first_war

__all__ = ["available", "compatible", "mode", "choose", "loaded", "mark_loaded", "preventive_first_war",
           "direction_pass", "forced_and_pressure", "screen", "AUTO_MIN_WORK"]


_MODES = {"auto": "auto", "": "auto", "1": "on", "on": "on", "true": "on", "yes": "on",
          "0": "off", "off": "off", "false": "off", "no": "off"}

#: Under ``DETENTE_COMPILED=auto`` a batch uses the twins from this much work on (the chunks'
#: estimated cost in run-steps of the numpy code, :attr:`detente.crisis.engine.CrisisChunk.work`,
#: which counts each chunk-step's fixed cost): loading numba and the twins costs ≈ 0.6 s of CPU per
#: process, and the twins save ≈ 2.8 ms per chunk-month plus ≈ 7 % of the runs' cost, so a batch of
#: small chunks repays the load from ≈ 0.6 million, one of 8,192-run chunks from ≈ 2 million; at 1.5
#: million neither loses more than a few tenths of a second. Measured: `detente run seesaw-2021 -H
#: combined` (2,000 runs, 4.7 million: 23 one-chunk passes of the mechanism map) 10.6 s → 5.4 s.
AUTO_MIN_WORK = 1_500_000


@cache
def available() -> bool:
    """Whether numba is installed (the ``fast`` extra), found without importing it: a process that
    only plans or assembles runs (the main process of a pool) never loads numba."""
    return importlib.util.find_spec("numba") is not None


@cache
def compatible() -> bool:
    """Whether numpy's float64 ``exp``, ``log``, ``expm1`` and ``power`` give the C library's
    results here (the functions numba's twins call): true where numpy does not use its own
    vectorised versions (machines without AVX-512). Checked on 4,000 arguments; where false,
    ``auto`` keeps the numpy code (the twins could differ in the last bit)."""
    import math

    x = np.random.default_rng(0).standard_normal(1000) * 8.0
    ax = np.abs(x) + 1e-3
    pairs = ((np.exp(x), [math.exp(v) for v in x]), (np.log(ax), [math.log(v) for v in ax]),
             (np.expm1(x), [math.expm1(v) for v in x]), (np.power(ax, 0.37), [v ** 0.37 for v in ax]))
    return all(np.array_equal(a, np.array(b)) for a, b in pairs)


def mode() -> str:
    """``"auto"``, ``"on"`` or ``"off"`` from ``DETENTE_COMPILED`` (see the module); a clear error
    for an unknown value, or for ``on`` without numba."""
    from detente.errors import InputError, Problem

    raw = os.environ.get("DETENTE_COMPILED", "auto").strip().lower()
    if raw not in _MODES:
        raise InputError(Problem("DETENTE_COMPILED must be auto, on or off", column="DETENTE_COMPILED", value=raw,
                                 expected="auto, on (1) or off (0)"))
    got = _MODES[raw]
    if got == "on" and not available():
        raise InputError(Problem("DETENTE_COMPILED=on needs numba: pip install 'detente[fast]'",
                                 column="DETENTE_COMPILED", value=raw, expected="auto or off without numba"))
    return got


def choose(work: int) -> bool:
    """Whether a batch of ``work`` (its estimated cost in run-steps of the numpy code) should use
    the twins: always under ``on``, never under
    ``off``, and under ``auto`` when numba is installed and ``work >= AUTO_MIN_WORK`` or this process
    has declared the twins loaded (:func:`loaded`)."""
    m = mode()
    return m == "on" or (m == "auto" and (work >= AUTO_MIN_WORK or loaded()) and available() and compatible())


def loaded() -> bool:
    """Whether this process has declared the twins loaded for its later batches
    (:func:`mark_loaded`: the web jobs' forkserver, :mod:`detente.web.preload`, whose every job
    inherits them): then ``auto`` uses them for any batch, their load being paid. A process that
    merely ran them once does not count, so a batch's choice never depends on what ran before it
    in the same process."""
    return _LOADED


def mark_loaded() -> None:
    """Declare the twins loaded in this process (after loading them, e.g. by
    :func:`detente.experiments.compiled_cache.preload`): see :func:`loaded`."""
    global _LOADED
    _LOADED = True


_LOADED = False


@cache
def _kernels() -> Any:
    """The compiled module (imports numba and loads or compiles the twins on first use)."""
    from detente.crisis import _compiled_kernels

    return _compiled_kernels


def preventive_first_war(ratio: np.ndarray, gdiff: float | np.ndarray, drift: np.ndarray | float, cliff_at: np.ndarray | None,
                         cliff_size: np.ndarray | float, *, L: int, delta: float, c_D: np.ndarray, c_R: np.ndarray,
                         phi: np.ndarray, fast: bool = True) -> np.ndarray:
    """:func:`detente.crisis.kernels.preventive_first_war`, compiled: the same arguments and the
    same first-war months (its docstring gives the model; Powell 2006, Krainin 2017). Inputs the
    twin does not handle (a value not finite, a ratio not positive) go to the numpy kernel."""
    ratio = np.asarray(ratio, dtype=float)
    n = ratio.shape[0]
    if n == 0:
        return np.full(0, -1, dtype=np.int32)

    def row(x: Any) -> np.ndarray:
        return np.ascontiguousarray(np.broadcast_to(np.asarray(x, dtype=float), (n,)))

    per_row = np.ndim(gdiff) > 0
    drift_a = np.asarray(drift, dtype=float)
    # the full pass adds the drift only when it is an array or a non-zero number (x + 0.0 can turn -0.0 into 0.0)
    with_drift = bool(drift_a.ndim or drift_a != 0.0)
    first, ok = _kernels().first_war(np.ascontiguousarray(ratio), row(gdiff), per_row, row(drift_a), with_drift, cliff_at is not None,
                           row(0.0 if cliff_at is None else cliff_at), row(cliff_size), row(c_D), row(c_R), row(phi),
                           int(L), float(delta), bool(fast))
    if not ok:
        return _numpy_first_war(ratio, gdiff, drift, cliff_at, cliff_size, L=L, delta=delta, c_D=c_D, c_R=c_R,
                                phi=phi, fast=fast)
    return first


def _runs(x: Any, n: int) -> np.ndarray:
    """``x`` (a number or an array over runs) as a read-only float array over ``n`` runs, without
    copying: the arrays :func:`numpy.broadcast_to` gives (the types the twins are compiled for),
    made without its overhead for the two common cases (≈ 0.7 against 3.5 µs; a month of
    ``combined`` makes about 40 of them, a tenth of a small chunk's fixed cost)."""
    if type(x) is np.ndarray and x.dtype == np.float64 and x.shape == (n,):
        v = x.view()
    elif isinstance(x, (float, int, np.floating, np.integer)):
        v = np.ndarray((n,), np.float64, np.array([x], dtype=np.float64), 0, (0,))
    else:
        return np.broadcast_to(np.asarray(x, dtype=float), (n,))
    v.flags.writeable = False
    return v


def direction_pass(ev: np.ndarray, capD: np.ndarray, capR: np.ndarray, m: Any, gdiff: Any, drift: Any,
                   rel: np.ndarray | None, size: Any, kD: Any, kR: Any, phi: np.ndarray, *, L: int, delta: float,
                   kmon: np.ndarray) -> bool:
    """The engine's preventive test of one direction in the runs ``ev`` (step 4 of
    :func:`detente.crisis.engine._simulate_chunk`), compiled: writes each run's months to its first
    forced war into ``kmon`` (``inf``: none) exactly as the numpy code does with
    :func:`detente.crisis.kernels.preventive_first_war` on the power ratio ``(A_R/A_D)^m`` and the
    costs ``κ/(1−δ)``. ``m``, ``gdiff``, ``drift``, ``size``, ``kD``, ``kR`` are numbers or arrays over
    runs, ``rel`` the months to the believed cliff (``None``: no cliff). Returns False, leaving
    ``kmon`` untouched, when a run's inputs are not finite (the caller then takes the numpy path)."""
    n = ev.shape[0]
    drift_a = np.asarray(drift, dtype=float)
    return bool(_kernels().direction_pass(
        ev, capD, capR, _runs(m, n), _runs(gdiff, n), np.ndim(gdiff) > 0, _runs(drift_a, n),
        bool(drift_a.ndim or drift_a != 0.0), rel is not None, _runs(0.0 if rel is None else rel, n), _runs(size, n),
        _runs(kD, n), _runs(kR, n), phi, int(L), float(delta), kmon))


def forced_and_pressure(kmon: np.ndarray, inv_tau: Any, pressure: bool, forced: np.ndarray, prox: np.ndarray) -> None:
    """Step 4's forced wars and preventive pressure of every direction (rows of ``kmon``; in place on
    ``forced`` and ``prox``), compiled: the numbers of the numpy code in
    :func:`detente.crisis.engine._simulate_chunk`."""
    _kernels().forced_and_pressure_all(kmon, _runs(inv_tau, kmon.shape[1]), bool(pressure), forced, prox)


def screen(kmon_r: np.ndarray, bound: Any, kD: Any, *, delta: float, cliff: tuple[Any, Any] | None, tau: float,
           L: int, periodic: bool, reeval: float, ev: np.ndarray, rel: np.ndarray) -> bool:
    """Step 4's exact and run-level screens of one direction (:func:`detente.crisis.engine._simulate_chunk`),
    compiled: ``inf`` written into ``kmon_r`` where a run is screened out, ``ev`` the runs to evaluate,
    ``rel`` the months to the believed cliff (``cliff`` = its rounded month and size, or None);
    returns whether any run is to be evaluated. ``bound`` and ``kD`` are numbers or arrays over runs."""
    n = kmon_r.shape[0]
    kc, size = cliff if cliff is not None else (0.0, 0.0)
    return bool(_kernels().screen(kmon_r, _runs(bound, n), _runs(kD, n), float(delta), cliff is not None,
                                  _runs(kc, n), float(tau), _runs(size, n), int(L), bool(periodic), float(reeval),
                                  ev, rel))
