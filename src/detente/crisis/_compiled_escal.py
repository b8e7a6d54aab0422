"""numba twin of step 5 of the crisis engine's month loop: allies, war parties, Richardson forces
and the escalation ladder (:func:`detente.crisis.engine._simulate_chunk`, "5. escalation, allies").

The numpy code in the engine is the reference. :class:`EscalationTwin` does the same IEEE
operations in the same order, one run at a time, in one compiled call per month (the numpy code
makes a few dozen array calls per flashpoint and alliance), so its results are the same bytes
(``tests/test_crisis_compiled_escal.py``; :mod:`detente.crisis.compiled` gives the general rules).
The details that keep the bytes equal:

* the random numbers are drawn by numpy, in the same calls, sizes and order as the numpy code
  (three per pressured alliance, then one per flashpoint; none of them depends on the state), and
  handed to the twin;
* ``np.maximum``/``np.minimum`` and the ``clip`` ufunc are written out with numpy's own rules for
  NaN and for the sign of zero (:func:`_np_max`, :func:`_np_min`, :func:`_np_clip`); Python's
  ``max``/``min`` differ on both;
* ``np.power`` with an array exponent is the C library's ``pow`` (numba's ``math.pow``); numpy's
  scalar-exponent shortcuts (``x**2 → x·x`` and others) are not reached here, every exponent is
  an array;
* the binomial draws of deliveries keep :func:`detente.crisis.engine._binomial_small`'s loop over
  the count with its stop when no run needs a higher count (a step across all runs at a time);
* sums are the engine's, term by term in its order (war-party terms over alliances, pushes).

Importing this module imports numba (the ``fast`` extra); the engine imports it only when it uses
the compiled twins. Values that are not finite send the step (or the chunk) to the numpy code.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

# error_model="numpy": a float division by zero gives inf/NaN as numpy's does (no exception)
_njit = numba.njit(cache=True, nogil=True, error_model="numpy")


@_njit
def _np_max(a: float, b: float) -> float:
    """``np.maximum(a, b)`` on two floats: NaN propagates, ``b`` when they compare equal (±0)."""
    if a != a:
        return a
    if b != b:
        return b
    return a if a > b else b


@_njit
def _np_clip_int(x: int, lo: int, hi: int) -> int:
    """The ``clip`` ufunc on integers."""
    if x < lo:
        x = lo
    if x > hi:
        x = hi
    return x


@_njit
def _all_finite(a: Any) -> bool:
    for v in a.ravel():  # noqa: SIM110 (a loop: numba compiles it, not a generator)
        if not math.isfinite(v):
            return False
    return True


@_njit
def _binomial_into(out: Any, k: Any, p: Any, u: Any, pmf: Any, cdf: Any, kk: Any, rows: Any) -> None:
    """``engine._binomial_small(k, p, u)`` into ``out`` (int32): inversion of one uniform per run,
    the count raised step by step in all runs together until no run needs a higher one."""
    n = k.shape[0]
    m = 0
    for r in range(n):
        out[r] = 0
        if k[r] != 0:
            rows[m] = r
            m += 1
    if m == 0:
        return
    kmax = 0.0
    for t in range(m):
        r = rows[t]
        kk[t] = float(k[r])
        if t == 0 or kk[t] > kmax:
            kmax = kk[t]
        q = 1.0 - p[r]
        pmf[t] = math.pow(q, kk[t])
        cdf[t] = pmf[t]
    top = int(kmax)
    for x in range(top):
        any_more = False
        for t in range(m):
            if u[rows[t]] >= cdf[t] and kk[t] > x:
                any_more = True
                break
        if not any_more:
            break
        fx = float(x)
        fx1 = float(x + 1)
        for t in range(m):
            r = rows[t]
            if u[r] >= cdf[t] and kk[t] > x:
                out[r] += 1
            q = 1.0 - p[r]
            odds = p[r] / (q if q > 0 else 1.0)
            pmf[t] = pmf[t] * (kk[t] - fx) / fx1 * odds
            cdf[t] = cdf[t] + pmf[t]


@_njit
def _escalation(s: int, dtm: float, fp_dirs: Any, prox: Any, rich: Any, has_rich: Any, fx: Any, fy: Any, f_eq: Any,
                esc: Any, g_damp: Any, rung_push: Any, u: Any, rung: Any, top_rung: Any, rung_step: Any,
                forces: Any) -> None:
    """The Richardson forces and the escalation ladder of every flashpoint (the loop over ``fps``
    after the war parties), one run at a time; ``forces`` must hold zeros."""
    J = rung.shape[0]
    n = rung.shape[1]
    ndir = prox.shape[0]
    for j in range(J):
        top = top_rung[j]
        # the last argument of each exponential and its value (exp is a function: the same bits)
        a_up = math.nan
        e_up = math.nan
        a_down = math.nan
        e_down = math.nan
        for i in range(n):
            adv = 0.0
            for r in range(ndir):
                if fp_dirs[j, r]:
                    adv = _np_max(adv, prox[r, i])
            if has_rich[j]:
                kR = rich[j, 0, i]
                lR = rich[j, 1, i]
                aR = rich[j, 2, i]
                bR = rich[j, 3, i]
                gR = rich[j, 4, i]
                hR = rich[j, 5, i]
                gp = rich[j, 6, i]
                x = fx[i, j]
                y = fy[i, j]
                dx = kR * y - aR * x + gR + gp * adv
                dy = lR * x - bR * y + hR
                x = _np_max(x + dx * dtm, 0.0)
                y = _np_max(y + dy * dtm, 0.0)
                fx[i, j] = x
                fy[i, j] = y
                forces[i, j] = math.log((x + y) / f_eq[i, j])
            a = -(esc[j, 0, i] + esc[j, 1, i] * adv) * dtm
            if a != a_up:               # most runs share the argument (kernels.exp_common)
                a_up = a
                e_up = math.exp(a)
            up = 1.0 - e_up
            e = rung_push[i, j]
            w = 1.0 if e == 0.0 else math.pow(esc[j, 2, i], e)
            up = 1.0 - (1.0 - up) * w
            a = -(esc[j, 3, i] + esc[j, 4, i] * g_damp[i, j]) * dtm
            if a != a_down:
                a_down = a
                e_down = math.exp(a)
            down = 1.0 - e_down
            uu = u[j, i]
            old = int(rung[j, i])
            if uu < up:
                step = 1
            elif uu > 1.0 - down:
                step = -1
            else:
                step = 0
            new = _np_clip_int(old + step, 0, top)
            if new > old and rung_step[i, j, new] < 0:
                rung_step[i, j, new] = s
            rung[j, i] = new


@_njit
def _states_finite(prox: Any, g_damp: Any, rung_push: Any, fx: Any, fy: Any) -> bool:
    return _all_finite(prox) and _all_finite(g_damp) and _all_finite(rung_push) and _all_finite(fx) and _all_finite(fy)


class EscalationTwin:
    """The compiled step 5 of one chunk: the parameters as per-run arrays (built once per chunk)
    and :meth:`step`, called once per month in place of the numpy code.

    ``spec``, ``V`` (the chunk's values), ``directions`` and ``dyad_ids`` are the engine's; the
    parameter paths read are exactly those the numpy code reads, under the same conditions.
    """

    def __init__(self, spec: Any, V: Any, n: int, directions: list[tuple[int, str, str]], dyad_ids: list[str],
                 dtm: float) -> None:
        fps = spec.flashpoints
        J = len(fps)
        self.n = n
        self.dtm = float(dtm)

        def row(x: Any) -> np.ndarray:
            return np.broadcast_to(np.asarray(x, dtype=float), (n,))

        self.fp_dirs = np.array([[dyad_ids[di] in f.dyads for di, _D, _R in directions] for f in fps],
                                dtype=np.bool_).reshape(J, len(directions))
        self.has_rich = np.array([f.richardson is not None for f in fps], dtype=np.bool_)
        self.rich = np.zeros((J, 7, n))
        self.esc = np.empty((J, 5, n))
        for j, f in enumerate(fps):
            e = f"flashpoints[{f.id}].escalation"
            for k, x in enumerate(("up_m", "up_pressure", "push_factor", "down_m", "down_groups")):
                self.esc[j, k] = row(V[f"{e}.{x}"])
            if f.richardson is not None:
                b = f"flashpoints[{f.id}].richardson"
                for k, x in enumerate(("k", "l", "a", "b", "g", "h", "g_pressure")):
                    self.rich[j, k] = row(V[f"{b}.{x}"])
        self.top_rung = np.array([f.escalation.rungs - 1 for f in fps], dtype=np.int64)
        self.u = np.empty((J, n))
        self.ok = _all_finite(self.esc) and _all_finite(self.rich)

    @classmethod
    def build(cls, spec: Any, V: Any, n: int, directions: list[tuple[int, str, str]], dyad_ids: list[str],
              dtm: float) -> EscalationTwin | None:
        """The twin of one chunk, or None when a parameter is not finite (the numpy code then runs)."""
        twin = cls(spec, V, n, directions, dyad_ids, dtm)
        return twin if twin.ok else None

    def escalation(self, s: int, rng: np.random.Generator, prox: np.ndarray, fx: np.ndarray, fy: np.ndarray,
                   f_eq: np.ndarray, g_damp: np.ndarray, rung_push: np.ndarray, rung: np.ndarray,
                   rung_step: np.ndarray) -> np.ndarray | None:
        """The forces and ladder steps of month ``s`` (``fx``, ``fy``, ``rung``, ``rung_step``
        updated in place); returns the forces, or None (nothing drawn, nothing changed) when a
        state value is not finite: the engine then runs the numpy code."""
        if not (self.ok and _states_finite(prox, g_damp, rung_push, fx, fy)):
            return None
        u = self.u
        for j in range(u.shape[0]):
            rng.random(out=u[j])            # one rng.random(n) per flashpoint, in order
        forces = np.zeros((self.n, u.shape[0]))
        _escalation(s, self.dtm, self.fp_dirs, prox, self.rich, self.has_rich, fx, fy, f_eq, self.esc, g_damp,
                    rung_push, u, rung, self.top_rung, rung_step, forces)
        return forces
