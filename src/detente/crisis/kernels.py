"""Vectorised mechanism kernels of the crisis engine (arrays over Monte-Carlo runs).

Each function is pure: numpy arrays (or floats) in, arrays out, no global state. They are
the batch counterparts of the scalar closed forms in :mod:`detente.crisis.theory` and are
cross-tested against them (``tests/test_crisis_engine.py``, section "kernels = theory").

References
----------
Fearon, J. (1995). Rationalist explanations for war. *International Organization* 49(3).
Powell, R. (2006). War as a commitment problem. *International Organization* 60(1).
Krainin, C. (2017). Preventive war as a result of long-term shifts in power. *PSRM* 5(1).
Abreu, D. & Gul, F. (2000). Bargaining and reputation. *Econometrica* 68(1).
Marvel, S., Kleinberg, J., Kleinberg, R. & Strogatz, S. (2011). Continuous-time model of
structural balance. *PNAS* 108(5).
Kamenica, E. & Gentzkow, M. (2011). Bayesian persuasion. *AER* 101(6).
Dittmer, L. (1981). The strategic triangle. *World Politics* 33(4).
"""

from __future__ import annotations

import math

import numpy as np

#: The clip ufunc that ``np.clip`` dispatches to for arrays with both bounds (same values), called
#: directly: ``np.clip``'s Python-level wrapper costs several times the work on the engine's arrays.
clip = getattr((getattr(np, "_core", None) or np.core).umath, "clip", np.clip)

def exp_common(x: np.ndarray) -> np.ndarray:
    """``np.exp(x)`` for an array whose elements mostly equal its first one: the exponential is
    evaluated once for that value and separately for the elements that differ (the same values
    element by element, through the same ufunc); falls back to ``np.exp(x)`` when many differ."""
    x = np.asarray(x)
    if x.ndim != 1 or x.size < 64:
        return np.exp(x)
    diff = np.flatnonzero(x != x[0])
    if 4 * diff.size > x.size:
        return np.exp(x)
    out = np.full(x.shape, np.exp(x[:1])[0])
    out[diff] = np.exp(x[diff])
    return out


__all__ = [
    "markov_path_batch", "preventive_first_war", "contest_p", "risk_return_pwar", "partner_support", "war_cost_multipliers", "failed_wedge_step", "pending_step", "leak_posterior", "stag_hunt_mu_star",
    "abreu_gul_rates", "group_step", "hazard_prob", "competing_risks_step", "triangle_config",
    "CONFIGS", "balance_step", "exp_common", "clip",
]

CONFIGS = ("menage", "romantic_pivot0", "romantic_pivot1", "romantic_pivot2",
           "marriage_outcast0", "marriage_outcast1", "marriage_outcast2", "unit_veto")


def markov_path_batch(MD: np.ndarray, MR: np.ndarray, *, delta: float, tot: float, C: np.ndarray,
                      phi: np.ndarray) -> np.ndarray:
    """First forced-war index of the partial-commitment backward pass, for many paths at once.

    Parameters
    ----------
    MD, MR
        War values of the declining and rising side along the look-ahead, shape ``(L, n)``:
        ``M_D(k) = p_k/(1-δ) - c_D``, ``M_R(k) = (1-p_k)/(1-δ) - c_R`` (lump-sum costs).
    delta, tot
        Per-step discount factor and ``1/(1-δ)``.
    C, phi
        Total cost ``c_D + c_R`` and commitment capacity φ ∈ [0, 1], shape ``(n,)``.

    Returns
    -------
    numpy.ndarray of int32, shape ``(n,)``: the smallest ``k`` with war, ``-1`` for peace.

    Notes
    -----
    The recursion of specs/crisis.md §4.3 (Powell 2006; Krainin 2017): war at ``k`` iff
    ``M_D(k) > (1-φ)(1+δV) + φ(1+δS-max(M_R(k), δR_min)) + 1e-12``; forced wars reset
    ``V``, the surplus ``S`` (to ``tot - C``) and ``R_min`` so that later wars cut what can
    be promised earlier. Same numbers as :func:`detente.crisis.theory.markov_path`.
    """
    L, n = MD.shape
    V = MD[-1].copy()
    S = np.full(n, tot)
    Rmin = MR[-1].copy()
    first = np.full(n, -1, dtype=np.int32)
    phi = np.broadcast_to(np.asarray(phi, dtype=float), (n,))
    omp = 1.0 - phi
    totC = np.broadcast_to(tot - np.asarray(C, dtype=float), (n,))
    m = np.empty(n)
    a = np.empty(n)
    b = np.empty(n)
    war = np.empty(n, dtype=bool)
    for k in range(L - 2, -1, -1):
        _backward_step(k, MD[k], MR[k], V, S, Rmin, first, phi, omp, totC, delta, m, a, b, war)
    return first


def _backward_step(k: int, md: np.ndarray, mr: np.ndarray, V: np.ndarray, S: np.ndarray, Rmin: np.ndarray,
                   first: np.ndarray, phi: np.ndarray, omp: np.ndarray, totC: np.ndarray, delta: float,
                   m: np.ndarray, a: np.ndarray, b: np.ndarray, war: np.ndarray) -> None:
    """One month of the partial-commitment backward pass, in place on ``V, S, Rmin, first``
    (``m, a, b, war`` are scratch buffers)."""
    np.multiply(Rmin, delta, out=m)
    np.maximum(mr, m, out=m)                      # max(M_R(k), δ R_min(k+1))
    np.multiply(V, omp, out=a)
    np.multiply(S, phi, out=b)
    a += b
    a *= delta
    np.multiply(m, phi, out=b)
    a -= b
    a += 1.0 + 1e-12                              # (1-φ)·lo + φ·hi + margin
    np.greater(md, a, out=war)
    V *= delta
    np.maximum(V, md, out=V)
    np.copyto(V, md, where=war)
    S *= delta
    S += 1.0
    np.copyto(S, totC, where=war)
    np.copyto(Rmin, m)
    np.copyto(Rmin, mr, where=war)
    np.copyto(first, k, where=war)


#: Months of the fast path's tail pass whose believed paths are built together (speed only).
TAIL_BLOCK = 8


def preventive_first_war(ratio: np.ndarray, gdiff: float | np.ndarray, drift: np.ndarray | float, cliff_at: np.ndarray | None,
                         cliff_size: np.ndarray | float, *, L: int, delta: float, c_D: np.ndarray, c_R: np.ndarray,
                         phi: np.ndarray, fast: bool = True) -> np.ndarray:
    """:func:`markov_path_batch` on believed contest paths built row by row (cache-friendly).

    The believed path of the declining side D, for ``k = 0 … L-1`` months ahead, is
    ``p_k = 1/(1 + ratio·e^{gdiff·k}) + drift·k − size·[k ≥ cliff_at]`` clipped to
    ``[1e-4, 1 − 1e-4]`` (``ratio = (A_R/A_D)^m`` now, ``gdiff = m(g_R − g_D)``).
    Identical numbers to building the ``(L, n)`` path and calling :func:`markov_path_batch`.
    ``gdiff`` is one float for all rows or an array of shape ``(n,)`` (one trend per row, e.g.
    when the contest exponent ``m`` is drawn per run); a float takes the scalar code path
    (``math.exp``), an array ``numpy.exp`` per row.

    With ``fast=True`` (default) rows whose smooth part cannot hold a forced war are
    decided by a short tail pass: a Markov (φ = 0) war at ``t`` needs the one-step
    condition ``δ(p_t − p_{t+1}) > (1 − δ)(1 − p_t + κ_D)`` (specs/crisis.md §4.1, since
    ``V(t+1) ≥ M_D(t+1)``), and raising φ never brings the first war earlier (the spec
    property, tested). That condition is tested with ``p_t`` at its largest on the path,
    ``p_max = max(p_0, p_{L-1})`` of the logistic ``+ max(drift·(L−1), 0) + max(−size, 0)`` (a
    cliff of negative size lifts the tail). If the smooth decline bound
    ``|drift| + max(gdiff, 0)/4`` fails that condition everywhere, the only candidate is ``t* = cliff_at − 1``; the peaceful tail
    ``k ≥ cliff_at`` gives ``V``, ``R_min`` (running discounted maxima) and ``S`` (the same
    scalar recursion as the full pass), and one test at ``t*`` decides. The operations
    are those of the full pass in the same order, so results are bit-identical; other rows
    take the full pass.
    """
    n = ratio.shape[0]
    per_row = np.ndim(gdiff) > 0
    if per_row:
        gdiff = np.broadcast_to(np.asarray(gdiff, dtype=float), (n,))
    if not fast or cliff_at is None or n == 0:
        return _preventive_full(ratio, gdiff, drift, cliff_at, cliff_size, L=L, delta=delta, c_D=c_D, c_R=c_R, phi=phi)
    tot = 1.0 / (1.0 - delta)
    c_D = np.broadcast_to(np.asarray(c_D, dtype=float), (n,))
    c_R = np.broadcast_to(np.asarray(c_R, dtype=float), (n,))
    drift_a = np.broadcast_to(np.asarray(drift, dtype=float), (n,))
    size_a = np.broadcast_to(np.asarray(cliff_size, dtype=float), (n,))
    phi_a = np.broadcast_to(np.asarray(phi, dtype=float), (n,))
    kc = np.ceil(np.broadcast_to(np.asarray(cliff_at, dtype=float), (n,)))  # first month with the cliff applied
    # smooth screen (necessary condition for a forced war at any point other than t*)
    lo_end = 1.0 / (1.0 + ratio)
    hi_end = 1.0 / (1.0 + ratio * (np.exp(gdiff * (L - 1)) if per_row else math.exp(gdiff * (L - 1))))
    # largest p on the path: the smooth part's (monotone logistic plus positive drift) raised by a
    # cliff of negative size (one that lifts D's believed strength)
    pmax = np.minimum(np.maximum(lo_end, hi_end) + np.maximum(drift_a * (L - 1), 0.0) + np.maximum(-size_a, 0.0),
                      1.0 - 1e-4)
    bound = np.maximum(-drift_a, 0.0) + (np.maximum(gdiff, 0.0) if per_row else max(gdiff, 0.0)) / 4.0
    kD = c_D * (1.0 - delta)
    smooth_ok = delta * bound * (1.0 + 1e-9) + 1e-12 < (1.0 - delta) * (1.0 - pmax + kD)
    first = np.full(n, -1, dtype=np.int32)
    slow = np.nonzero(~smooth_ok)[0]
    if slow.size:
        sub = lambda x: x[slow]  # noqa: E731
        first[slow] = _preventive_full(ratio[slow], sub(gdiff) if per_row else gdiff, sub(drift_a), sub(kc), sub(size_a), L=L, delta=delta,
                                       c_D=sub(c_D), c_R=sub(c_R), phi=sub(phi_a))
    # fast rows with the cliff inside (1 … L-1): candidate t* = kc - 1; others are peaceful
    cand = np.nonzero(smooth_ok & (kc >= 1) & (kc <= L - 1))[0]
    if not cand.size:
        return first
    order = cand[np.argsort(kc[cand], kind="stable")]
    kcs = kc[order].astype(np.int64)
    r_, d_, s_, cD_, cR_, ph_ = (x[order] for x in (ratio, drift_a, size_a, c_D, c_R, phi_a))
    totC = tot - cD_ - cR_
    g_ = np.asarray(gdiff)[order] if per_row else None
    # discount table of a scalar trend (read only when g_ is None)
    E = np.empty(0) if per_row else np.array([math.exp(gdiff * k) for k in range(L)])
    S_tab = np.empty(L)
    S_tab[L - 1] = tot
    for k in range(L - 2, -1, -1):
        S_tab[k] = S_tab[k + 1] * delta + 1.0

    if len(order) <= TAIL_SCALAR_ROWS:
        got = _tail_rows(r_, d_, s_, cD_, totC, ph_, kcs, g_, E, S_tab, L=L, delta=delta, tot=tot)
        if got is not None:
            first[order] = got
            return first

    def rows(ks: np.ndarray, c: int) -> tuple[np.ndarray, np.ndarray]:
        """M_D and M_R of the first ``c`` rows at the months ``ks`` (shape ``(len(ks), c)``)."""
        kf = ks.astype(float)[:, None]
        p = np.multiply(r_[None, :c], E[ks][:, None] if g_ is None else np.exp(g_[None, :c] * kf))
        p += 1.0
        np.reciprocal(p, out=p)
        p += d_[None, :c] * kf
        p -= s_[None, :c]                 # k >= kc for every active row (the others are not read)
        clip(p, 1e-4, 1.0 - 1e-4, out=p)
        md = np.multiply(p, tot)
        md -= cD_[None, :c]
        return md, np.subtract(totC[None, :c], md)

    m = len(order)
    V, Rmin = (x[0] for x in rows(np.array([L - 1]), m))
    cnt = np.searchsorted(kcs, np.arange(L), side="right")   # rows with kc <= k form a prefix
    # the tail pass, month by month from L-2 down to the smallest cliff month; the paths are built
    # for blocks of TAIL_BLOCK months at once (element by element the same arithmetic)
    for top in range(L - 2, int(kcs[0]) - 1, -TAIL_BLOCK):
        ks = np.arange(top, max(top - TAIL_BLOCK, int(kcs[0]) - 1), -1)
        MD, MR = rows(ks, int(cnt[top]))
        for b, kk in enumerate(ks):
            c = int(cnt[kk])
            Vc = V[:c]
            Vc *= delta
            np.maximum(Vc, MD[b, :c], out=Vc)
            Rc = Rmin[:c]
            Rc *= delta
            np.maximum(MR[b, :c], Rc, out=Rc)
    # the test at t* = kc - 1 (no cliff yet), same arithmetic as the full pass
    ts = kcs - 1
    p = r_ * (E[ts] if g_ is None else np.exp(g_ * ts))
    p += 1.0
    np.reciprocal(p, out=p)
    p += d_ * ts.astype(float)
    clip(p, 1e-4, 1.0 - 1e-4, out=p)
    md = p * tot
    md -= cD_
    mr = totC - md
    mm = np.maximum(mr, Rmin * delta)
    a = V * (1.0 - ph_)
    a += S_tab[kcs] * ph_
    a *= delta
    a -= mm * ph_
    a += 1.0 + 1e-12
    war = md > a
    first[order[war]] = ts[war].astype(np.int32)
    return first


def _preventive_full(ratio: np.ndarray, gdiff: float | np.ndarray, drift: np.ndarray | float, cliff_at: np.ndarray | None,
                     cliff_size: np.ndarray | float, *, L: int, delta: float, c_D: np.ndarray, c_R: np.ndarray,
                     phi: np.ndarray) -> np.ndarray:
    """The full backward pass of :func:`preventive_first_war` (every row, every month)."""
    n = ratio.shape[0]
    tot = 1.0 / (1.0 - delta)
    c_D = np.broadcast_to(np.asarray(c_D, dtype=float), (n,))
    c_R = np.broadcast_to(np.asarray(c_R, dtype=float), (n,))
    totC = tot - c_D - c_R
    drift = np.asarray(drift, dtype=float)
    size = np.asarray(cliff_size, dtype=float)
    phi = np.broadcast_to(np.asarray(phi, dtype=float), (n,))
    omp = 1.0 - phi
    per_row = np.ndim(gdiff) > 0
    if n <= SCALAR_ROWS:
        got = _preventive_full_rows(ratio, gdiff, drift, cliff_at, size, L=L, delta=delta, c_D=c_D, totC=totC,
                                    phi=phi, omp=omp, per_row=per_row)
        if got is not None:
            return got
    p = np.empty(n)
    md = np.empty(n)
    mr = np.empty(n)
    msk = np.empty(n, dtype=bool)

    def row(k: int) -> None:
        np.multiply(ratio, np.exp(gdiff * k) if per_row else math.exp(gdiff * k), out=p)
        np.add(p, 1.0, out=p)
        np.reciprocal(p, out=p)
        if drift.ndim or drift != 0.0:
            np.add(p, drift * k, out=p)
        if cliff_at is not None:
            np.less_equal(cliff_at, k, out=msk)
            np.subtract(p, size, out=p, where=msk)
        clip(p, 1e-4, 1.0 - 1e-4, out=p)
        np.multiply(p, tot, out=md)
        np.subtract(md, c_D, out=md)
        np.subtract(totC, md, out=mr)

    row(L - 1)
    V = md.copy()
    S = np.full(n, tot)
    Rmin = mr.copy()
    first = np.full(n, -1, dtype=np.int32)
    m = np.empty(n)
    a = np.empty(n)
    b = np.empty(n)
    war = np.empty(n, dtype=bool)
    for k in range(L - 2, -1, -1):
        row(k)
        # _backward_step, with R_min ← m by swapping buffers and the war updates only when a row
        # goes to war (the same values)
        np.multiply(Rmin, delta, out=m)
        np.maximum(mr, m, out=m)                      # max(M_R(k), δ R_min(k+1))
        np.multiply(V, omp, out=a)
        np.multiply(S, phi, out=b)
        a += b
        a *= delta
        np.multiply(m, phi, out=b)
        a -= b
        a += 1.0 + 1e-12
        np.greater(md, a, out=war)
        V *= delta
        np.maximum(V, md, out=V)
        S *= delta
        S += 1.0
        Rmin, m = m, Rmin
        if war.any():
            np.copyto(V, md, where=war)
            np.copyto(S, totC, where=war)
            np.copyto(Rmin, mr, where=war)
            np.copyto(first, k, where=war)
    return first


#: Up to this many rows the full pass runs row by row in Python floats (fewer numpy calls on
#: tiny arrays; speed only: IEEE double arithmetic gives the same numbers).
SCALAR_ROWS = 12
#: The same for the fast path's tail pass (its array version needs fewer calls: break-even lower).
TAIL_SCALAR_ROWS = 6


def _tail_rows(r_: np.ndarray, d_: np.ndarray, s_: np.ndarray, cD_: np.ndarray, totC: np.ndarray, ph_: np.ndarray,
               kcs: np.ndarray, g_: np.ndarray | None, E: np.ndarray, S_tab: np.ndarray, *, L: int, delta: float,
               tot: float) -> np.ndarray | None:
    """The fast path's tail pass and test at ``t* = kc - 1`` for a few rows, one row at a time with
    the operations of the array version in the same order; the first-war month per row (-1 for
    peace), or ``None`` (use the array version) when an input is not finite or a ratio negative."""
    m = len(kcs)
    ks = np.arange(L, dtype=float)
    Etab = np.exp(g_[:, None] * ks[None, :]) if g_ is not None else None   # as np.exp(g_ * k), element by element
    if not ((r_ >= 0).all() and np.isfinite(r_).all() and np.isfinite(d_).all() and np.isfinite(s_).all() and np.isfinite(cD_).all()
            and np.isfinite(totC).all() and np.isfinite(ph_).all() and (Etab is None or np.isfinite(Etab).all())
            and (Etab is not None or np.isfinite(E).all())):
        return None
    lo, hi, margin = 1e-4, 1.0 - 1e-4, 1.0 + 1e-12
    out = np.full(m, -1, dtype=np.int32)
    Er: list[float] = [] if Etab is not None else E.tolist()   # the scalar trend's table (unused with Etab)
    St = S_tab.tolist()
    for i, (r, d, sz, cd, tc, ph, kc) in enumerate(zip(r_.tolist(), d_.tolist(), s_.tolist(), cD_.tolist(),
                                                        totC.tolist(), ph_.tolist(), kcs.tolist())):
        Ei = Etab[i].tolist() if Etab is not None else Er
        V = Rmin = 0.0
        for k in range(L - 1, kc - 1, -1):
            p = r * Ei[k]
            p = p + 1.0
            p = 1.0 / p
            p = p + d * float(k)
            p = p - sz
            p = min(max(p, lo), hi)
            md = p * tot
            md = md - cd
            mr = tc - md
            if k == L - 1:
                V, Rmin = md, mr
            else:
                V = max(V * delta, md)
                Rmin = max(mr, Rmin * delta)
        t = kc - 1
        p = r * Ei[t]
        p = p + 1.0
        p = 1.0 / p
        p = p + d * float(t)
        p = min(max(p, lo), hi)
        md = p * tot
        md = md - cd
        mr = tc - md
        mm = max(mr, Rmin * delta)
        a = V * (1.0 - ph)
        a = a + St[kc] * ph
        a = a * delta
        a = a - mm * ph
        a = a + margin
        if md > a:
            out[i] = t
    return out


def _preventive_full_rows(ratio: np.ndarray, gdiff: float | np.ndarray, drift: np.ndarray, cliff_at: np.ndarray | None,
                          size: np.ndarray, *, L: int, delta: float, c_D: np.ndarray, totC: np.ndarray, phi: np.ndarray,
                          omp: np.ndarray, per_row: bool) -> np.ndarray | None:
    """:func:`_preventive_full` for a few rows, one row at a time with the same operations in the
    same order (products, sums, the reciprocal, clip as max then min, comparisons), so the same
    first-war months. Only the sign of a zero can differ from the array version's ``maximum``,
    and no comparison or later sum depends on it. ``None`` (use the array pass) when an input is
    not finite or a ratio is not positive: Python's ``max`` does not propagate NaN as numpy does."""
    n = ratio.shape[0]
    tot = 1.0 / (1.0 - delta)
    lo, hi, margin = 1e-4, 1.0 - 1e-4, 1.0 + 1e-12
    first = np.full(n, -1, dtype=np.int32)
    if per_row:   # e^{gdiff·k} per row through numpy's exp, element by element as in the array pass
        Etab = np.exp(np.broadcast_to(np.asarray(gdiff, dtype=float), (n,))[:, None] * np.arange(L, dtype=float)[None, :])
        if not np.isfinite(Etab).all():
            return None
    else:
        Erow = [math.exp(gdiff * k) for k in range(L)]
    if not ((ratio > 0).all() and np.isfinite(ratio).all() and np.isfinite(drift).all() and np.isfinite(size).all()
            and np.isfinite(c_D).all() and np.isfinite(totC).all() and np.isfinite(phi).all()):
        return None
    with_drift = bool(drift.ndim or drift != 0.0)
    dr = np.broadcast_to(drift, (n,)).tolist()
    sz = np.broadcast_to(size, (n,)).tolist()
    ca = None if cliff_at is None else np.broadcast_to(cliff_at, (n,)).tolist()
    rt, cd, tc, ph, om = (x.tolist() for x in (ratio, c_D, totC, phi, omp))
    for i in range(n):
        E = Etab[i].tolist() if per_row else Erow
        r_, d_, s_, cD, tC, f_, o_ = rt[i], dr[i], sz[i], cd[i], tc[i], ph[i], om[i]
        c_ = None if ca is None else ca[i]
        fw = -1
        for k in range(L - 1, -1, -1):
            p = r_ * E[k]
            p = p + 1.0
            p = 1.0 / p
            if with_drift:
                p = p + d_ * k
            if c_ is not None and c_ <= k:
                p = p - s_
            p = max(p, lo)
            p = min(p, hi)
            md = p * tot
            md = md - cD
            mr = tC - md
            if k == L - 1:
                V, S, Rmin = md, tot, mr
                continue
            m = Rmin * delta
            m = max(mr, m)
            a = V * o_ + S * f_
            a = a * delta
            a = a - m * f_
            a = a + margin
            V = max(V * delta, md)
            S = S * delta + 1.0
            Rmin = m
            if md > a:
                V, S, Rmin, fw = md, tC, mr, k
        first[i] = fw
    return first


def contest_p(Pa: np.ndarray, Pb: np.ndarray, m: float | np.ndarray = 1.0) -> np.ndarray:
    """Contest success function p_a = P_a^m / (P_a^m + P_b^m) (Tullock; Hirshleifer 1989)."""
    a = np.power(Pa, m)
    return a / (a + np.power(Pb, m))


def risk_return_pwar(p: np.ndarray | float, c_A: np.ndarray | float, c_bar: np.ndarray | float) -> np.ndarray:
    """P(war) of a take-it-or-leave-it demand with B's cost ~ U[0, c̄] (Fearon 1995; Powell 2002).

    ``p`` is the demander A's probability of winning. A demands ``x* = min(p + (c̄ − c_A)/2, 1)``
    and B fights iff ``c_B < x* − p``, so ``P(war) = (x* − p)/c̄`` when ``c_A < c̄`` (without the
    cap ``(c̄ − c_A)/(2c̄)``, independent of p: the neutrality result), else 0. Always in
    ``[0, 1/2]``. Same numbers as :func:`detente.crisis.theory.risk_return`.
    """
    p = np.asarray(p, dtype=float)
    c_A = np.asarray(c_A, dtype=float)
    c_bar = np.asarray(c_bar, dtype=float)
    x = np.minimum(p + (c_bar - c_A) / 2.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        pw = (x - p) / c_bar
    return np.where(c_A < c_bar, clip(pw, 0.0, 0.5), 0.0)


def partner_support(tie: np.ndarray | float | None, reliability: np.ndarray | float, exponent: np.ndarray | float,
                    belief: np.ndarray | float) -> np.ndarray | float:
    """Expected support π = ρ·max(X, 0)^κ·μ of an aligned partner (specs/crisis.md §5.8, [proposal]).

    ``tie`` X is the signed tie between the side and its partner (``None``: no tie recorded,
    taken as 1), ``reliability`` ρ the prior that an ally honours its commitment (Leeds,
    Long & Mitchell 2000: 0.745), ``exponent`` κ maps the tie to a propensity and ``belief`` μ
    is the side's belief that the partner stays loyal (the stag-hunt belief). π ∈ [0, 1].
    """
    h = 1.0 if tie is None else np.power(np.maximum(tie, 0.0), exponent)
    return reliability * h * belief


def war_cost_multipliers(own_a: np.ndarray, eff_a: np.ndarray, own_b: np.ndarray, eff_b: np.ndarray,
                         psi: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """War-cost multipliers of two sides with partner support (specs/crisis.md §5.8, [proposal]).

    ``s_i = 1 − C_i/A_i`` is the share of side i's effective capability ``A_i`` that comes from
    partners (``C_i`` its own). Fighting a supported rival is costlier and fighting with support
    cheaper (Fearon 1995: costs bound the bargaining range): side a's flow cost is multiplied by
    ``max(1 + ψ(s_b − s_a), 0)``, side b's by ``max(1 + ψ(s_a − s_b), 0)``. ψ = 0 leaves costs alone.
    """
    sa = 1.0 - own_a / eff_a
    sb = 1.0 - own_b / eff_b
    return np.maximum(1.0 + psi * (sb - sa), 0.0), np.maximum(1.0 + psi * (sa - sb), 0.0)


def failed_wedge_step(belief: np.ndarray, holds: np.ndarray, gain: np.ndarray | float,
                      wait: np.ndarray | float = 0.0) -> np.ndarray:
    """One step of the pivot's belief that its wedge has failed (specs/crisis.md §5.8, [proposal]).

    An exponential moving average of the indicator "the pair holds":
    ``b ← b + (holds − b)·gain·(1 − wait)``, with ``gain = 1 − e^{−Δ/patience}`` and ``wait`` ∈ [0, 1]
    the part of the step during which a postponed meeting with the pivot is pending (the pivot
    still waits for it, so its belief does not move). Starting from 0 with the pair holding every
    step, ``b_k = 1 − (1 − gain)^k``.
    """
    return belief + (np.asarray(holds, dtype=float) - belief) * gain * (1.0 - np.asarray(wait, dtype=float))


def pending_step(stock: np.ndarray, keep: np.ndarray | float, postponed: np.ndarray) -> np.ndarray:
    """Stock of postponed meetings still pending: ``stock·keep + postponed``, ``keep = e^{−Δ/hold_months}``."""
    return stock * keep + postponed


def leak_posterior(mu: np.ndarray, a: np.ndarray | float, b: np.ndarray | float) -> np.ndarray:
    """Bayes on a leak "partner is dealing": μ' = μb / (μb + (1-μ)a).

    ``a`` = believed P(leak | disloyal), ``b`` = believed P(leak | loyal). With ``a == b``
    the leak carries no information and μ' = μ.
    """
    mu = np.asarray(mu, dtype=float)
    num = mu * b
    den = num + (1.0 - mu) * a
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(den > 0, num / np.where(den > 0, den, 1.0), mu)
    return out


def stag_hunt_mu_star(R: float, T: np.ndarray | float, P: float, S: float) -> np.ndarray:
    """Loyalty threshold μ* = (P − S)/((R − T) + (P − S)); 1 when dealing is dominant (T ≥ R)."""
    T = np.asarray(T, dtype=float)
    den = (R - T) + (P - S)
    with np.errstate(divide="ignore", invalid="ignore"):
        mu = np.where((R - T) > 0, (P - S) / np.where(den > 0, den, 1.0), 1.0)
    return clip(mu, 0.0, 1.0)


def abreu_gul_rates(a1, a2, r1, r2):
    """Concession hazards of the rational types, λ_i = r_j (1 − a_i)/(a_1 + a_2 − 1) (Abreu & Gul 2000)."""
    excess = np.maximum(np.asarray(a1) + np.asarray(a2) - 1.0, 1e-9)
    return r2 * (1.0 - np.asarray(a1)) / excess, r1 * (1.0 - np.asarray(a2)) / excess


def group_step(a: np.ndarray, met: np.ndarray, postponed: np.ndarray, eta: float, omega: float,
               omega_idle: float) -> np.ndarray:
    """Expert-group progress stocks (specs §8.2): meet → a + η(1−a); postponed → a(1−ω); idle → a(1−ω_idle)."""
    mult = np.where(met, 1.0 - eta, np.where(postponed, 1.0 - omega, 1.0 - omega_idle))
    add = np.where(met, eta, 0.0)
    return a * mult + add


def hazard_prob(lam: np.ndarray, dt: float = 1.0) -> np.ndarray:
    """h = 1 − exp(−λ·dt)."""
    return -np.expm1(-lam * dt)


def competing_risks_step(h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One discrete step of competing risks with the proportional tie rule.

    ``h`` has the cause axis last. Returns ``(p_any, shares)`` with
    ``p_any = 1 − Π(1 − h)`` and ``shares = p_any · h/Σh`` (sums to ``p_any``).
    """
    h = np.asarray(h, dtype=float)
    p_any = -np.expm1(np.log1p(-clip(h, 0.0, 1.0 - 1e-15)).sum(axis=-1))
    tot = h.sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(tot[..., None] > 0, h / np.where(tot > 0, tot, 1.0)[..., None], 0.0)
    return p_any, share * p_any[..., None]


def triangle_config(x01: np.ndarray, x02: np.ndarray, x12: np.ndarray) -> np.ndarray:
    """Dittmer configuration code (index into :data:`CONFIGS`) from the three tie values.

    Ties ``> 0`` count as amity. ``romantic_pivotK``: K friendly with both, the other pair
    hostile; ``marriage_outcastK``: the other two friendly, both hostile to K.
    """
    s01, s02, s12 = x01 > 0, x02 > 0, x12 > 0
    npos = s01.astype(np.int8) + s02 + s12
    code = np.full(np.shape(x01), 7, dtype=np.int8)
    code[npos == 3] = 0
    two = npos == 2
    code[two & ~s12] = 1
    code[two & ~s02] = 2
    code[two & ~s01] = 3
    one = npos == 1
    code[one & s12] = 4
    code[one & s02] = 5
    code[one & s01] = 6
    return code


def balance_step(x01: np.ndarray, x02: np.ndarray, x12: np.ndarray, dt: float):
    """Euler step of dX/dt = X² (Marvel et al. 2011) for a 3-actor symmetric X, clipped to [−1, 1]."""
    n01 = clip(x01 + dt * x02 * x12, -1.0, 1.0)
    n02 = clip(x02 + dt * x01 * x12, -1.0, 1.0)
    n12 = clip(x12 + dt * x01 * x02, -1.0, 1.0)
    return n01, n02, n12
