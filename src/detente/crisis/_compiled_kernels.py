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
def first_war(ratio: Any, g: Any, per_row: bool, drift: Any, with_drift: bool, has_cliff: bool, cliff_at: Any,
              size: Any, c_D: Any, c_R: Any, phi: Any, L: int, delta: float, fast: bool) -> Any:
    """kernels.preventive_first_war, one row at a time; ``ok`` is False when an input is not
    finite or a ratio not positive (the caller then uses the numpy kernel: Python-style
    ``max``/``min`` do not propagate NaN as numpy's do)."""
    n = ratio.shape[0]
    first = np.full(n, -1, np.int32)
    tot = 1.0 / (1.0 - delta)
    for i in range(n):
        if not (ratio[i] > 0.0 and math.isfinite(ratio[i]) and math.isfinite(drift[i]) and math.isfinite(size[i])
                and math.isfinite(c_D[i]) and math.isfinite(c_R[i]) and math.isfinite(phi[i])
                and math.isfinite(g[i]) and math.isfinite(cliff_at[i])):
            return first, False
    E = np.empty(L)
    S_tab = np.empty(L)
    S_tab[L - 1] = tot
    for k in range(L - 2, -1, -1):
        S_tab[k] = S_tab[k + 1] * delta + 1.0
    if not per_row:
        for k in range(L):
            E[k] = math.exp(g[0] * k)
            if not math.isfinite(E[k]):
                return first, False
    for i in range(n):
        if per_row:
            for k in range(L):
                E[k] = math.exp(g[i] * float(k))
                if not math.isfinite(E[k]):
                    return first, False
        r = ratio[i]
        d = drift[i]
        s = size[i]
        cD = c_D[i]
        tC = tot - cD - c_R[i]
        f = phi[i]
        if not fast or not has_cliff:
            first[i] = full_row(r, E, d, with_drift, has_cliff, cliff_at[i], s, cD, tC, f, 1.0 - f, L, delta, tot)
            continue
        kc = math.ceil(cliff_at[i])
        # the smooth screen of kernels.preventive_first_war
        lo_end = 1.0 / (1.0 + r)
        hi_end = 1.0 / (1.0 + r * E[L - 1])
        pmax = min(max(lo_end, hi_end) + max(d * (L - 1), 0.0) + max(-s, 0.0), 1.0 - 1e-4)
        bound = max(-d, 0.0) + max(g[i], 0.0) / 4.0
        kD = cD * (1.0 - delta)
        smooth_ok = delta * bound * (1.0 + 1e-9) + 1e-12 < (1.0 - delta) * (1.0 - pmax + kD)
        if not smooth_ok:
            # the slow rows take the full pass; their drift is always added (an array of drifts)
            first[i] = full_row(r, E, d, True, True, float(kc), s, cD, tC, f, 1.0 - f, L, delta, tot)
        elif 1 <= kc <= L - 1:
            first[i] = tail_row(r, E, d, s, cD, tC, f, int(kc), S_tab, L, delta, tot)
    return first, True
