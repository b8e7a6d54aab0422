"""numba twin of the crisis engine's capabilities: step 1 of the month loop (growth, followers'
cohesion) and the effective capabilities, alignment support and war-cost multipliers that step 4
and the crisis bargaining read (:func:`detente.crisis.engine._simulate_chunk`, the closures
``_eff_cap``, ``_alignment_support`` and ``cost_mult``).

The numpy code in the engine is the reference. :class:`CapsTwin` does the same IEEE operations in
the same order, one run at a time, so its results are the same bytes
(``tests/test_crisis_compiled_caps.py``; :mod:`detente.crisis.compiled` gives the general rules).
The details that keep the bytes equal:

* the normal draws of the growth stay numpy's (the engine draws them and hands them over);
* the factors that do not change within a chunk (growth scale and drift, quiet growth factors,
  the followers' ``1 − e^{−Δ/lag}``) are computed once by the numpy expressions the engine
  evaluates every month, so they are the same numbers;
* sums over support terms are the engine's, term by term in its order (``cap += w·level·P``);
* ``np.maximum(x, 0.0)`` is written out with numpy's rules (:func:`_np_max`);
* ``np.power`` with a scalar exponent takes numpy's shortcuts (2 → ``x·x``, 0.5 → ``sqrt``,
  −1 → ``1/x``, measured on numpy 2.4: the other exponents give the C library's ``pow``, as an
  array exponent always does), see :func:`_power`.

A capability or multiplier that comes out NaN is computed again by the numpy code (a NaN's
payload could differ); results that are not NaN are the numpy code's bytes whatever passed on the
way. The growth needs no such check (see :func:`_grow`). Importing this module imports numba (the ``fast`` extra); the engine
imports it only when it uses the compiled twins.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

# error_model="numpy": a float division by zero gives inf/NaN as numpy's does (no exception)
_njit = numba.njit(cache=True, nogil=True, error_model="numpy")

# kinds of a support term (the level multiplying weight × partner capability)
ONE, COH, MAX, PS_NOTIE, PS_TIE = 0, 1, 2, 3, 4
# how a scalar tie exponent is applied (numpy's np.power shortcuts); POW_ARRAY: one exponent per run
POW_ARRAY, POW_SCALAR, POW_SQUARE, POW_SQRT, POW_RECIP, POW_IDENT, POW_UNIT = 0, 1, 2, 3, 4, 5, 6


# numpy-semantics helpers are kept in each twin module (not shared): numba's on-disk cache
# does not notice a change in another module a cached function calls
@_njit
def _np_max(a: float, b: float) -> float:
    """``np.maximum(a, b)`` on two floats: NaN propagates, ``b`` when they compare equal (±0)."""
    if a != a:
        return a
    if b != b:
        return b
    return a if a > b else b


@_njit
def _power(x: float, k: float, mode: int) -> float:
    """``np.power(x, k)``: with a scalar exponent numpy squares, takes the square root or the
    reciprocal for 2, 0.5 and −1 (other values than pow's), and returns ``x`` or 1 for 1 and 0 (the
    values of pow, without its cost); otherwise (and for an array of exponents) the C library's pow."""
    if mode == POW_IDENT:
        return x
    if mode == POW_UNIT:
        return 1.0
    if mode == POW_SQUARE:
        return x * x
    if mode == POW_SQRT:
        return math.sqrt(x)
    if mode == POW_RECIP:
        return 1.0 / x
    return math.pow(x, k)


@_njit
def _grow(P: Any, eps: Any, noisy: Any, scale: Any, add: Any, quiet: Any, qfac: Any, coh: Any, target: Any,
          rate: Any, lag_on: bool) -> None:
    """Step 1 in place: ``P[noisy] *= exp(eps·scale + add)`` row by row, ``P[quiet] *= fac`` where
    ``fac ≠ 1``, ``coh += (target − coh)·rate`` with the lag on. ``scale``, ``add``, ``qfac``,
    ``target`` and ``rate`` are finite (checked once per chunk) and the normal draws always are, so
    a NaN can only come from a state value (one NaN operand: its payload, whatever the operand
    order) or be made here from infinities (the default NaN): the numpy code gives the same bytes."""
    n = P.shape[1]
    for i in range(noisy.shape[0]):
        ai = noisy[i]
        sc = scale[i]
        ad = add[i]
        for r in range(n):
            e = eps[i, r] * sc
            e = e + ad
            P[ai, r] = P[ai, r] * math.exp(e)
    for i in range(quiet.shape[0]):
        f = qfac[i]
        if f != 1.0:                   # × 1.0 leaves every value as it is
            ai = quiet[i]
            for r in range(n):
                P[ai, r] = P[ai, r] * f
    if lag_on:
        for k in range(coh.shape[0]):
            for r in range(n):
                c = coh[k, r]
                coh[k, r] = c + (target[k, r] - c) * rate[k, r]


@_njit
def _support_sum(out: Any, base: int, P: Any, coh: Any, x01: Any, x02: Any, x12: Any, mu1: Any, mu2: Any,
                 ones: Any, terms: Any, W: Any, rho: Any, kh: Any, kh_mode: int) -> bool:
    """``out = P[base] (0 if base < 0) + Σ_t (W_t·level_t)·P[actor_t]``, term by term in order
    (``terms[t] = kind, actor, source, belief``); the level of a term by its kind: 1,
    ``coh[source]``, ``max(tie, 0)``, ``ρ·1·μ`` or ``ρ·max(tie, 0)^κ·μ`` (μ = 1, μ1 or μ2).

    Returns False when a result is NaN: every operation is the numpy code's, so results that are
    not NaN are its bytes whatever NaN passed on the way (a NaN propagates to the result unless an
    operation absorbs it, e.g. ``pow(NaN, 0) = 1``, and then the payload did not matter); a NaN
    result could carry another payload, and the engine then runs the numpy code."""
    n = out.shape[0]
    if base >= 0:
        for r in range(n):
            out[r] = P[base, r]
    else:
        for r in range(n):
            out[r] = 0.0
    for t in range(terms.shape[0]):
        kind = terms[t, 0]
        a = terms[t, 1]
        src = terms[t, 2]
        bel = terms[t, 3]
        w = W[t]
        pa = P[a]
        if kind == ONE:
            for r in range(n):
                out[r] = out[r] + (w[r] * 1.0) * pa[r]
        elif kind == COH:
            c = coh[src]
            for r in range(n):
                out[r] = out[r] + (w[r] * c[r]) * pa[r]
        else:
            tie = x01 if src == 0 else (x02 if src == 1 else x12)
            if kind == MAX:
                for r in range(n):
                    out[r] = out[r] + (w[r] * _np_max(tie[r], 0.0)) * pa[r]
            else:
                mu = ones if bel == 0 else (mu1 if bel == 1 else mu2)
                if kind == PS_NOTIE:
                    for r in range(n):
                        level = rho[r] * 1.0
                        level = level * mu[r]
                        out[r] = out[r] + (w[r] * level) * pa[r]
                else:
                    for r in range(n):
                        h = _power(_np_max(tie[r], 0.0), kh[r], kh_mode)
                        level = rho[r] * h
                        level = level * mu[r]
                        out[r] = out[r] + (w[r] * level) * pa[r]
    nan = False
    for r in range(n):
        nan |= out[r] != out[r]
    return not nan


@_njit
def _cost_mult(own_a: Any, eff_a: Any, own_b: Any, eff_b: Any, psi: Any, out_a: Any, out_b: Any) -> bool:
    """``kernels.war_cost_multipliers`` run by run; False when a result is NaN (see
    :func:`_support_sum`)."""
    nan = False
    for r in range(own_a.shape[0]):
        sa = 1.0 - own_a[r] / eff_a[r]
        sb = 1.0 - own_b[r] / eff_b[r]
        ps = psi[r]
        ma = _np_max(1.0 + ps * (sb - sa), 0.0)
        mb = _np_max(1.0 + ps * (sa - sb), 0.0)
        out_a[r] = ma
        out_b[r] = mb
        nan |= (ma != ma) | (mb != mb)
    return not nan


def _row(x: Any, n: int) -> np.ndarray:
    """``x`` (a number or an array over runs) as a float array over ``n`` runs: the same values."""
    return np.ascontiguousarray(np.broadcast_to(np.asarray(x, dtype=float), (n,)))


def _pow_mode(k: Any) -> int:
    """How ``np.power(array, k)`` computes (see :func:`_power`)."""
    if np.ndim(k):
        return POW_ARRAY
    k = float(k)
    return {2.0: POW_SQUARE, 0.5: POW_SQRT, -1.0: POW_RECIP, 1.0: POW_IDENT, 0.0: POW_UNIT}.get(k, POW_SCALAR)


class CapsTwin:
    """The compiled capabilities of one chunk: step 1 (:meth:`grow`), effective capabilities
    (:meth:`eff_cap`), alignment support (:meth:`alignment_support`) and war-cost multipliers
    (:meth:`cost_mult`). The arguments are the engine's chunk set-up (``g`` after the growth
    switch, ``fol`` the followers in ``coh``'s row order, the triangle's members and switches);
    the parameter paths read are exactly those the numpy code reads, under the same conditions."""

    def __init__(self, spec: Any, V: Any, n: int, dtm: float, g: np.ndarray, gsd: np.ndarray,
                 noisy: np.ndarray, quiet: np.ndarray, fol: list[str], aidx: dict[str, int], *, has_tri: bool,
                 tri_actors: tuple[str, str, str], coupled: bool, cp_support: bool, rho: Any, kh: Any,
                 psi: Any) -> None:
        self.spec, self.V, self.n, self.aidx, self.fol = spec, V, n, aidx, fol
        # step 1: the factors the numpy code evaluates every month, evaluated once by the same expressions
        self.noisy = np.asarray(noisy, dtype=np.int64)
        self.quiet = np.asarray(quiet, dtype=np.int64)
        self.scale = np.ascontiguousarray(gsd[noisy] * math.sqrt(dtm), dtype=float)
        self.add = np.ascontiguousarray(g[noisy] * dtm, dtype=float)
        self.qfac = np.ascontiguousarray(np.exp(g[quiet] * dtm), dtype=float)
        self.lag_on = bool(spec.settings.allies_lag) and bool(fol)
        self.target = np.zeros((len(fol), n))
        self.rate = np.zeros((len(fol), n))
        if self.lag_on:
            for k, fo in enumerate(fol):
                lag = V[f"followers.{fo}.lag_mean_m"]
                self.target[k] = V[f"followers.{fo}.follows_patron"]
                self.rate[k] = 1.0 - np.exp(-dtm / lag)
        self.grow_ok = bool(np.isfinite(self.scale).all() and np.isfinite(self.add).all()
                            and np.isfinite(self.qfac).all() and np.isfinite(self.target).all()
                            and np.isfinite(self.rate).all())
        self._eps0 = np.zeros((0, n))
        self._ones = np.ones(n)
        # capabilities: the triangle's ties by pair (the engine's dict: a later duplicate key wins)
        t0, t1, t2 = tri_actors
        self.t1, self.t2 = t1, t2
        self.ties = {frozenset((t0, t1)): 0, frozenset((t0, t2)): 1, frozenset((t1, t2)): 2}
        self.has_tri, self.coupled, self.cp_support = has_tri, coupled, cp_support
        self.rho = _row(rho, n)
        self.kh = _row(kh, n)
        self.kh_mode = _pow_mode(kh)
        self.psi = _row(psi, n)
        self._plans: dict[tuple[Any, ...], tuple[np.ndarray, np.ndarray]] = {}

    # ------------------------------------------------------------------ step 1
    def grow(self, eps: np.ndarray | None, P: np.ndarray, coh: np.ndarray) -> bool:
        """Step 1 of a month in place on ``P`` and ``coh`` with the month's normal draws ``eps``
        (None without noisy actors); False, nothing changed, when a factor of the chunk is not
        finite (the engine then runs the numpy code with the same draws)."""
        if not self.grow_ok:
            return False
        _grow(P, self._eps0 if eps is None else eps, self.noisy, self.scale, self.add, self.quiet, self.qfac, coh,
              self.target, self.rate, self.lag_on)
        return True

    # ------------------------------------------------------------------ capabilities
    def _belief(self, side: str, partner: str) -> int:
        if (side, partner) == (self.t1, self.t2):
            return 1
        if (side, partner) == (self.t2, self.t1):
            return 2
        return 0

    def _plan(self, di: int, side: str, align: bool) -> tuple[np.ndarray, np.ndarray]:
        """The support terms of ``side`` in dyad ``di`` (rows kind, actor, source, belief) and their
        weights, in the engine's order: of ``_eff_cap`` or (``align``) of ``_alignment_support``."""
        key = (di, side, align)
        got = self._plans.get(key)
        if got is not None:
            return got
        d = self.spec.dyads[di]
        rows: list[tuple[int, int, int, int]] = []
        weights: list[np.ndarray] = []
        if not align or (self.has_tri and self.cp_support):
            for si, s in enumerate(d.support):
                if s.side != side or (align and s.via != "alignment"):
                    continue
                w = _row(self.V[f"dyads[{d.id}].support.{si}.weight"], self.n)
                for a in s.actors:
                    src, bel = -1, 0
                    if s.via == "alignment":
                        if not align and not self.has_tri:
                            continue
                        src = self.ties.get(frozenset((side, a)), -1)
                        if not align and not self.coupled:
                            kind = MAX if src >= 0 else ONE
                        elif not align and not self.cp_support:
                            continue
                        else:
                            kind = PS_TIE if src >= 0 else PS_NOTIE
                            bel = self._belief(side, a)
                    elif a in self.fol:
                        kind, src = COH, self.fol.index(a)
                    else:
                        kind = ONE
                    rows.append((kind, self.aidx[a], src, bel))
                    weights.append(w)
        terms = np.array(rows, dtype=np.int64).reshape(len(rows), 4)
        W = np.array(weights, dtype=float).reshape(len(rows), self.n)
        self._plans[key] = got = (terms, W)
        return got

    def _sum(self, di: int, side: str, align: bool, P: np.ndarray, coh: np.ndarray, x01: np.ndarray,
             x02: np.ndarray, x12: np.ndarray, mu1: np.ndarray, mu2: np.ndarray) -> np.ndarray | None:
        terms, W = self._plan(di, side, align)
        out = np.empty(self.n)
        c = np.ascontiguousarray
        ok = _support_sum(out, -1 if align else self.aidx[side], P, coh, c(x01), c(x02), c(x12), c(mu1), c(mu2),
                          self._ones, terms, W, self.rho, self.kh, self.kh_mode)
        return out if ok else None

    def eff_cap(self, di: int, side: str, P: np.ndarray, coh: np.ndarray, x01: np.ndarray, x02: np.ndarray,
                x12: np.ndarray, mu1: np.ndarray, mu2: np.ndarray) -> np.ndarray | None:
        """The engine's ``_eff_cap(di, side)`` (own capability plus expected support, term by term),
        or None when a value is not finite (the engine then runs the numpy code)."""
        return self._sum(di, side, False, P, coh, x01, x02, x12, mu1, mu2)

    def alignment_support(self, di: int, side: str, P: np.ndarray, coh: np.ndarray, x01: np.ndarray,
                          x02: np.ndarray, x12: np.ndarray, mu1: np.ndarray, mu2: np.ndarray) -> np.ndarray | None:
        """The engine's ``_alignment_support(di, side)``, or None when a value is not finite."""
        return self._sum(di, side, True, P, coh, x01, x02, x12, mu1, mu2)

    def cost_mult(self, own_a: np.ndarray, eff_a: np.ndarray, own_b: np.ndarray,
                  eff_b: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """``kernels.war_cost_multipliers(own_a, eff_a, own_b, eff_b, ψ)``, or None when a result
        is NaN."""
        out_a = np.empty(self.n)
        out_b = np.empty(self.n)
        if not _cost_mult(own_a, eff_a, own_b, eff_b, self.psi, out_a, out_b):
            return None
        return out_a, out_b
