"""numba twins of crisis kernels, loaded by :mod:`detente.crisis.compiled` (which documents them).

Importing this module imports numba (the ``fast`` extra). The functions are defined at module
level so that numba's on-disk cache (``cache=True``) can keep their machine code between processes.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

_njit = numba.njit(cache=True, nogil=True)


@_njit
def full_row(r: float, E: Any, d: float, with_drift: bool, has_cliff: bool, c: float, s: float, cD: float,
             tC: float, f: float, o: float, L: int, delta: float, tot: float) -> int:
    """The full backward pass of one row (kernels._preventive_full_rows, operation by operation)."""
    lo = 1e-4
    hi = 1.0 - 1e-4
    margin = 1.0 + 1e-12
    fw = -1
    V = 0.0
    S = 0.0
    Rmin = 0.0
    for k in range(L - 1, -1, -1):
        p = r * E[k]
        p = p + 1.0
        p = 1.0 / p
        if with_drift:
            p = p + d * k
        if has_cliff and c <= k:
            p = p - s
        p = max(p, lo)
        p = min(p, hi)
        md = p * tot
        md = md - cD
        mr = tC - md
        if k == L - 1:
            V = md
            S = tot
            Rmin = mr
            continue
        m = Rmin * delta
        m = max(mr, m)
        a = V * o + S * f
        a = a * delta
        a = a - m * f
        a = a + margin
        V = max(V * delta, md)
        S = S * delta + 1.0
        Rmin = m
        if md > a:
            V = md
            S = tC
            Rmin = mr
            fw = k
    return fw

@_njit
def tail_row(r: float, E: Any, d: float, s: float, cD: float, tC: float, ph: float, kc: int, S_tab: Any,
             L: int, delta: float, tot: float) -> int:
    """The fast path's tail pass and test at t* = kc - 1 of one row (kernels._tail_rows)."""
    lo = 1e-4
    hi = 1.0 - 1e-4
    margin = 1.0 + 1e-12
    V = 0.0
    Rmin = 0.0
    for k in range(L - 1, kc - 1, -1):
        p = r * E[k]
        p = p + 1.0
        p = 1.0 / p
        p = p + d * float(k)
        p = p - s
        p = min(max(p, lo), hi)
        md = p * tot
        md = md - cD
        mr = tC - md
        if k == L - 1:
            V = md
            Rmin = mr
        else:
            V = max(V * delta, md)
            Rmin = max(mr, Rmin * delta)
    t = kc - 1
    p = r * E[t]
    p = p + 1.0
    p = 1.0 / p
    p = p + d * float(t)
    p = min(max(p, lo), hi)
    md = p * tot
    md = md - cD
    mr = tC - md
    mm = max(mr, Rmin * delta)
    a = V * (1.0 - ph)
    a = a + S_tab[kc] * ph
    a = a * delta
    a = a - mm * ph
    a = a + margin
    return t if md > a else -1

@_njit
def row_inputs_ok(r: float, g: float, d: float, c: float, s: float, cD: float, cR: float, f: float) -> bool:
    """Whether the twin may take a row: every input finite and the ratio positive (Python-style
    ``max``/``min`` do not propagate NaN as numpy's do; such rows go to the numpy kernel)."""
    return (r > 0.0 and math.isfinite(r) and math.isfinite(g) and math.isfinite(d) and math.isfinite(c)
            and math.isfinite(s) and math.isfinite(cD) and math.isfinite(cR) and math.isfinite(f))


@_njit
def fill_trend(E: Any, g: float, L: int) -> bool:
    """E[k] = e^{g·k} for k < L (False if one is not finite)."""
    for k in range(L):
        E[k] = math.exp(g * float(k))
        if not math.isfinite(E[k]):
            return False
    return True


@_njit
def discount_table(L: int, delta: float, tot: float) -> Any:
    """S_tab[k]: the surplus recursion of the tail pass (S_tab[L-1] = tot, S_tab[k] = δ S_tab[k+1] + 1)."""
    S_tab = np.empty(L)
    S_tab[L - 1] = tot
    for k in range(L - 2, -1, -1):
        S_tab[k] = S_tab[k + 1] * delta + 1.0
    return S_tab


@_njit
def row_first_war(r: float, E: Any, g: float, d: float, with_drift: bool, has_cliff: bool, cliff: float, s: float,
                  cD: float, cR: float, f: float, L: int, delta: float, tot: float, S_tab: Any, fast: bool) -> int:
    """The first-war month of one row (kernels.preventive_first_war's fast path or full pass)."""
    tC = tot - cD - cR
    if not fast or not has_cliff:
        return full_row(r, E, d, with_drift, has_cliff, cliff, s, cD, tC, f, 1.0 - f, L, delta, tot)
    kc = math.ceil(cliff)
    # the smooth screen of kernels.preventive_first_war
    lo_end = 1.0 / (1.0 + r)
    hi_end = 1.0 / (1.0 + r * E[L - 1])
    pmax = min(max(lo_end, hi_end) + max(d * (L - 1), 0.0) + max(-s, 0.0), 1.0 - 1e-4)
    bound = max(-d, 0.0) + max(g, 0.0) / 4.0
    kD = cD * (1.0 - delta)
    smooth_ok = delta * bound * (1.0 + 1e-9) + 1e-12 < (1.0 - delta) * (1.0 - pmax + kD)
    if not smooth_ok:
        # the slow rows take the full pass; their drift is always added (an array of drifts)
        return full_row(r, E, d, True, True, float(kc), s, cD, tC, f, 1.0 - f, L, delta, tot)
    if 1 <= kc <= L - 1:
        return tail_row(r, E, d, s, cD, tC, f, int(kc), S_tab, L, delta, tot)
    return -1


@_njit
def first_war(ratio: Any, g: Any, per_row: bool, drift: Any, with_drift: bool, has_cliff: bool, cliff_at: Any,
              size: Any, c_D: Any, c_R: Any, phi: Any, L: int, delta: float, fast: bool) -> Any:
    """kernels.preventive_first_war, one row at a time; ``ok`` is False when a row's inputs are not
    usable (:func:`row_inputs_ok`; the caller then uses the numpy kernel)."""
    n = ratio.shape[0]
    first = np.full(n, -1, np.int32)
    tot = 1.0 / (1.0 - delta)
    for i in range(n):
        if not row_inputs_ok(ratio[i], g[i], drift[i], cliff_at[i], size[i], c_D[i], c_R[i], phi[i]):
            return first, False
    E = np.empty(L)
    S_tab = discount_table(L, delta, tot)
    if not per_row and not fill_trend(E, g[0], L):
        return first, False
    for i in range(n):
        if per_row and not fill_trend(E, g[i], L):
            return first, False
        first[i] = row_first_war(ratio[i], E, g[i], drift[i], with_drift, has_cliff, cliff_at[i], size[i],
                                 c_D[i], c_R[i], phi[i], L, delta, tot, S_tab, fast)
    return first, True


@_njit
def direction_pass(ev: Any, capD: Any, capR: Any, m: Any, g: Any, per_row: bool, drift: Any, with_drift: bool,
                   has_cliff: bool, rel: Any, size: Any, kD: Any, kR: Any, phi: Any, L: int, delta: float,
                   kmon: Any) -> bool:
    """The engine's preventive test of one direction in the runs ``ev`` (engine step 4): the power
    ratio ``(A_R/A_D)^m``, the costs ``κ/(1−δ)`` and the first-war month of each run, written to
    ``kmon`` (``inf`` for peace) as the numpy code does through ``kernels.preventive_first_war``.
    Returns False, with ``kmon`` untouched, when a run's inputs are not usable."""
    n = ev.shape[0]
    tot = 1.0 / (1.0 - delta)
    ratio = np.empty(n)
    for i in range(n):
        if ev[i]:
            ratio[i] = (capR[i] / capD[i]) ** m[i]
            if not row_inputs_ok(ratio[i], g[i], drift[i], rel[i], size[i], kD[i] / (1.0 - delta),
                                 kR[i] / (1.0 - delta), phi[i]):
                return False
    E = np.empty(L)
    S_tab = discount_table(L, delta, tot)
    if not per_row and not fill_trend(E, g[0], L):
        return False
    for i in range(n):
        if per_row and ev[i] and not fill_trend(E, g[i], L):
            return False
    for i in range(n):
        if not ev[i]:
            continue
        if per_row:
            fill_trend(E, g[i], L)
        k = row_first_war(ratio[i], E, g[i], drift[i], with_drift, has_cliff, rel[i], size[i], kD[i] / (1.0 - delta),
                          kR[i] / (1.0 - delta), phi[i], L, delta, tot, S_tab, True)
        kmon[i] = float(k) if k >= 0 else np.inf
    return True


@_njit
def forced_and_pressure(kr: Any, inv_tau: Any, pressure: bool, forced: Any, prox: Any) -> None:
    """Engine step 4's forced wars and preventive pressure of one direction from its months to
    the first forced war ``kr``: forced iff ``−1e-9 < kr < 1 − 1e-9``; pressure
    ``e^{max(kr, 0)/(−τ)}`` where ``kr > −1e-9`` (else 0), or 0 without ``preventive_pressure``."""
    n = kr.shape[0]
    if np.isinf(kr).all():
        for i in range(n):
            forced[i] = False
            prox[i] = 0.0
        return
    for i in range(n):
        k = kr[i]
        ok = k > -1e-9
        forced[i] = ok and k < 1.0 - 1e-9
        prox[i] = math.exp(max(k, 0.0) * inv_tau[i]) * (1.0 if ok else 0.0) if pressure else 0.0


@_njit
def screen(kmon_r: Any, bound: Any, kD: Any, delta: float, has_cliff: bool, kc: Any, tau: float, size: Any,
           L: int, periodic: bool, reeval: float, ev: Any, rel: Any) -> bool:
    """Engine step 4's screens of one direction, before its preventive test: without a cliff, the
    exact screen (every run's largest one-step decline ``bound`` stays below the Markov threshold:
    ``bound·δ ≤ (1−δ)κ_D`` in all runs, then ``kmon_r`` is all ``inf`` and nothing is evaluated);
    else the run-level screen (``bound·δ > (1−δ)κ_D``, or a believed cliff ``rel = kc − τ`` months
    ahead inside the look-ahead with a positive size), ``inf`` written where a run is screened out,
    and ``ev`` the runs to evaluate (all screened-in runs in a periodic month, else those whose
    forced date is within ``reeval``). The comparisons of the numpy code, in the same arithmetic;
    ``rel`` is filled with a cliff. Returns whether any run is to be evaluated."""
    n = kmon_r.shape[0]
    q = 1.0 - delta
    if not has_cliff:
        calm = True
        for i in range(n):
            if not bound[i] * delta <= q * kD[i]:
                calm = False
                break
        if calm:
            for i in range(n):
                kmon_r[i] = np.inf
            return False
    anyev = False
    for i in range(n):
        need = bound[i] * delta > q * kD[i]
        if has_cliff:
            x = kc[i] - tau
            rel[i] = x
            need = need or (x >= 1 and x <= L - 1 and size[i] > 0)
        if not need:
            kmon_r[i] = np.inf
        e = need and (periodic or kmon_r[i] <= reeval)
        ev[i] = e
        anyev = anyev or e
    return anyev


@_njit
def forced_and_pressure_all(kmon: Any, inv_tau: Any, pressure: bool, forced: Any, prox: Any) -> None:
    """:func:`forced_and_pressure` for every direction (rows of ``kmon``, ``forced``, ``prox``)."""
    for r in range(kmon.shape[0]):
        forced_and_pressure(kmon[r], inv_tau, pressure, forced[r], prox[r])
