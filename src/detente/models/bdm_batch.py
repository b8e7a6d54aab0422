"""The BDM expected-utility model batched over Monte Carlo runs (sweeps).

:func:`batch_bdm` advances many perturbed copies of a scenario at once: positions are arrays
of shape ``(runs, n)``, pairwise quantities ``(runs, n, n)`` and the vote sums behind the
probabilities ``(runs, n, n, n)``. Every arithmetic step mirrors :mod:`detente.models.bdm`
operation by operation (same expressions, same reduction order), so a batched run gives the
per-run engine's numbers, ties included; ``tests/test_bdm_batch.py`` checks it to 1e-9 on
every variant.

It is registered as ``SPEC.extra["batch"]`` of the ``bdm`` model and used by
:func:`detente.experiments.sweep.evaluate_chunk` for summary sweeps. When a parameter is
not supported (``risk="own_positions"``, or vote sums that the per-run engine computes sorted:
``vote_sums="sorted"``, or ``"auto"`` from 64 actors on, see :func:`unsupported`), or a run
would make the per-run engine raise
(every actor weight zero on an issue), it returns ``None`` and the sweep falls back to the
per-run engine, which then gives the per-run answer or the per-run error.

Randomness: the per-run engine draws from one generator run after run, so a batch cannot
reproduce its stream. The batched engine draws its own, documented stream from the ``rng``
it is given (same chunk, same bytes): per issue, per block of :func:`block_size` runs, per round,
``u_hit = rng.random((m, n))`` and ``u_new = rng.random((m, n))`` when
``shock_probability > 0`` (actor ``a`` of run ``b`` is shocked when ``u_hit[b, a] < p`` and
its salience becomes ``u_new[b, a]``), then ``u_fight = rng.random((m, n))`` when conflicts
are drawn (the conflict of ``a < b`` is won by ``a`` when ``u_fight[run, a] < P(a beats b)``);
a block stops drawing once none of its runs is still active. Forecasts are therefore equal
in distribution, and equal draw by draw given the same shocks and conflict outcomes, to the
per-run engine's.

A run stops early when it reaches consensus, when its stopping rule fires, or (without
salience shocks) when a round leaves every position unchanged and no conflict was fought:
such a fixed point repeats bit for bit in every later round, so the final state, and the
forecast, are those of a run that went on.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from detente.models.bdm_params import (
    NORMALISED,
    SORTED_MIN_ACTORS,
    BDMParams,
    Options,
    resolved_options,
    uses_sorted_sums,
)
from detente.models.capability import capability_exponent, unit_capabilities

__all__ = ["batch_bdm", "unsupported", "run_batch_issue", "block_size", "BLOCK"]

#: runs advanced together (fewer for many actors, see :func:`block_size`)
BLOCK = 128
#: bytes allowed for one (n, n(n-1)/2, runs) vote array
VOTE_BYTES = 8_000_000


def block_size(n: int) -> int:
    """Runs per block for ``n`` actors: :data:`BLOCK`, fewer when the vote array of a block
    would exceed :data:`VOTE_BYTES` (a function of ``n`` only, so results stay deterministic)."""
    per_run = 8 * n * max(1, n * (n - 1) // 2)
    return int(max(1, min(BLOCK, VOTE_BYTES // per_run)))


def unsupported(params: BDMParams, n: int | None = None) -> str | None:
    """Why the batched engine cannot run these parameters (``None`` if it can) on an issue with
    ``n`` actors (``None``: any number the parameters allow).

    The batched engine sums votes pairwise in voter order; where the per-run engine would use
    the sorted vote sums (``vote_sums="sorted"``, or ``"auto"`` from
    :data:`~detente.models.bdm_params.SORTED_MIN_ACTORS` actors on) it would not give the
    per-run numbers bit for bit, so those runs go through the per-run engine (at such sizes
    its O(n^2 log n) sums are also faster than the batch's O(n^3) vote arrays)."""
    o = resolved_options(params)
    if o["risk"] == "own_positions":
        return "risk='own_positions' (11 hypothetical positions per actor) is not batched"
    if params.vote_sums == "sorted":
        return "vote_sums='sorted' is not batched (the batched engine sums votes pairwise)"
    if n is not None and uses_sorted_sums(params.vote_sums, n):
        return f"vote_sums='auto' uses the sorted vote sums at {n} actors (>= {SORTED_MIN_ACTORS}), which are not batched"
    return None


# ------------------------------------------------------------------ building blocks (batched)
#
# Layout: actors first, runs last. Positions are (n, m) arrays, pairwise quantities (n, n, m)
# with [i, j, b] = (row actor i, column actor j, run b), so every numpy loop runs over the
# contiguous run axis. Sums over actors that the per-run engine does along axis 0 (voters,
# challengers) are sums over axis 0 here (the same sequential order); sums it does along a
# contiguous last axis (numpy's pairwise summation) are done on (m, n) copies along axis 1.


def _seq0(v: np.ndarray) -> np.ndarray:
    """Sum over axis 0 strictly in order (``np.cumsum(v, axis=0)[-1]`` of the per-run engine)."""
    acc = v[0].copy()
    for k in range(1, len(v)):
        acc += v[k]
    return acc


def _rsum(x: np.ndarray) -> np.ndarray:
    """Sum over the last axis strictly in order (the per-run engine's ``_ssum`` per row)."""
    return np.cumsum(x, axis=-1)[..., -1]


def _pick(arr: np.ndarray, j: np.ndarray) -> np.ndarray:
    """arr[i, j[i, b], b] for arr (n, n, m) and j (n, m)."""
    n, _, m = arr.shape
    flat = np.ascontiguousarray(arr).reshape(-1)
    return flat[(np.arange(n)[:, None] * n + j) * m + np.arange(m)[None, :]]


def _pairs_probability(a: np.ndarray, w: np.ndarray, same: np.ndarray, rule: str, voter_r: np.ndarray | None,
                       ip: np.ndarray, jp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Batched :func:`detente.models.bdm.probability_matrix`: returns ``(P, P.T)``.

    Only the pairs i < j are summed: the vote of k in the contest j vs i is exactly minus its
    vote in i vs j, so the positive part of one is minus the negative part of the other and
    ``|v|`` is the same; ``+ 0.0`` turns a ``-0.0`` sum into the per-run engine's ``+0.0``.
    """
    n, _, m = a.shape
    if voter_r is not None:
        a = a ** voter_r[:, None, :]  # voter k's own exponent on its distances
    v = a[:, jp, :]
    v -= a[:, ip, :]  # [k, p, b] = a_k,j - a_k,i
    v *= w[:, None, :]
    if rule == "net_vote":
        sv = _seq0(v)
        up, lo = np.maximum(sv, 0.0) + 0.0, np.maximum(-sv, 0.0) + 0.0
    else:
        up = _seq0(np.maximum(v, 0.0)) + 0.0
        lo = -_seq0(np.minimum(v, 0.0)) + 0.0
    if rule == "all_pairs":
        at = np.ascontiguousarray(a.transpose(2, 0, 1))  # (m, k, i)
        srt = np.sort(at, axis=2)
        coef = 2.0 * np.arange(n) - n + 1
        pair_sum = 2.0 * _rsum(srt * coef)  # (m, k)
        den = _rsum(w.T * pair_sum)[None, :]
    else:
        den = _seq0(np.abs(v, out=v))
    ok = den > 0
    safe = np.where(ok, den, 1.0)
    P = np.zeros((n, n, m))
    P[ip, jp, :] = (up / safe) * ok
    P[jp, ip, :] = (lo / safe) * ok
    P *= ~same
    return P, np.ascontiguousarray(P.transpose(1, 0, 2))


def _eu(s_t, P, us, uf, usq, Q, T, ub_uw, q_sign):
    """``E = s_t [P U_s + (1-P) U_f] + (1-s_t) U_s - Q U_sq (+/- (1-Q)[T U_b + (1-T) U_w])``,
    the expression of :func:`detente.models.bdm.expected_utility` with the powers precomputed."""
    e = s_t * (P * us + (1.0 - P) * uf) + (1.0 - s_t) * us - Q * usq
    if ub_uw is not None:
        ub, uw = ub_uw
        e = e + q_sign * (1.0 - Q) * (T * ub + (1.0 - T) * uw)
    return e


def _zero(e: np.ndarray, same: np.ndarray, tol: float) -> np.ndarray:
    e[same] = 0.0
    if tol > 0:
        e[np.abs(e) < tol] = 0.0
    return e


def _bits(x: Any) -> np.ndarray | np.int64:
    x = np.asarray(x, dtype=np.float64)
    return x.view(np.int64) if x.ndim else np.int64(x.view(np.int64))


def _sel(mask: np.ndarray, a, b) -> np.ndarray:
    """``np.where(mask, a, b)`` for float64, bit for bit, branch-free (np.where is slow on
    unpredictable masks)."""
    ai, bi = _bits(a), _bits(b)
    M = np.subtract(0, mask, dtype=np.int64)  # all ones where mask
    return (bi ^ ((ai ^ bi) & M)).view(np.float64)


def _first(eq: np.ndarray) -> np.ndarray:
    """Index of the first True along axis 1 of an (n, n, m) mask (n where none)."""
    n = eq.shape[1]
    dt = np.uint8 if n < 256 else np.int64
    key = eq.view(np.uint8).astype(dt, copy=False) * (n - np.arange(n)).astype(dt)[None, :, None]
    return n - key.max(axis=1).astype(np.int64)


def _first_min(x: np.ndarray) -> np.ndarray:
    """``x.argmin(axis=1)`` (first minimum) for arrays without NaN."""
    return _first(x == x.min(axis=1)[:, None, :])


def _first_max(x: np.ndarray) -> np.ndarray:
    """``x.argmax(axis=1)`` (first maximum) for arrays without NaN."""
    return _first(x == x.max(axis=1)[:, None, :])


# ------------------------------------------------------------------ medians (batched)


def _median_weighted(y: np.ndarray, w: np.ndarray) -> np.ndarray:
    tot = _rsum(w)
    order = np.argsort(y, axis=1, kind="stable")
    ys = np.take_along_axis(y, order, 1)
    cum = np.cumsum(np.take_along_axis(w, order, 1), axis=1)
    k = (cum < (tot / 2.0 - 1e-12 * tot)[:, None]).sum(axis=1)  # searchsorted, side="left"
    k = np.minimum(k, y.shape[1] - 1)
    return np.take_along_axis(ys, k[:, None], 1)[:, 0]


def _median_sequential(y: np.ndarray, w: np.ndarray, delta: np.ndarray) -> np.ndarray:
    ys = np.sort(y, axis=1)
    m = ys[:, 0].copy()
    for k in range(1, y.shape[1]):
        c = ys[:, k]
        fresh = c != ys[:, k - 1]  # visit each distinct position once, ascending
        val = _rsum(w * (np.abs(y - m[:, None]) - np.abs(y - c[:, None])) / delta[:, None])
        m = np.where(fresh & (val > 0), c, m)
    return m


def _median_margin(y: np.ndarray, w: np.ndarray, delta: np.ndarray) -> np.ndarray:
    a = np.abs(y[:, :, None] - y[:, None, :])  # [b, k, i] = |y_k - y_i|
    cost = np.cumsum(w[:, :, None] * a, axis=1)[:, -1, :]
    margin = (cost[:, None, :] - cost[:, :, None]) / delta[:, None, None]
    n = y.shape[1]
    idx = margin.reshape(len(y), n * n).argmax(axis=1)
    return np.take_along_axis(y, (idx // n)[:, None], 1)[:, 0]


def _median(rule: str, y: np.ndarray, w: np.ndarray, delta: np.ndarray) -> np.ndarray:
    if rule == "sequential":
        return _median_sequential(y, w, delta)
    if rule == "largest_margin":
        return _median_margin(y, w, delta)
    return _median_weighted(y, w)


def _weighted_mean(y: np.ndarray, w: np.ndarray) -> np.ndarray:
    tot = _rsum(w)
    ok = tot > 0
    return np.where(ok, _rsum(w * y) / np.where(ok, tot, 1.0), _rsum(y) / y.shape[1])


def _summary(y, s, c, delta, rule):
    """Median (variant's rule) and mean of one state ((n, m) arrays), as ``run_issue``'s ``summary``."""
    y, w = np.ascontiguousarray(y.T), np.ascontiguousarray((c * s).T)
    w = np.where((_rsum(w) > 0)[:, None], w, 1.0)
    med = _median(rule, y, w, np.where(delta > 0, delta, 1.0))
    mean = _rsum(w * y) / _rsum(w)
    return med, mean


# ------------------------------------------------------------------ one round


def _step(y, s, c, delta, o: Options, Q: float, T: float, u_fight, fights: list | None,
          draw=None) -> tuple[np.ndarray, np.ndarray]:
    """One round for m runs at once (``y``, ``s``, ``c``: (n, m); ``delta``: (m,)); mirrors
    :func:`detente.models.bdm._step`. Returns the new positions and, per run, whether a
    conflict was fought. ``draw(aa, runs, pa) -> a_wins``, when given, decides drawn conflicts
    instead of ``u_fight`` (conflicts listed by actor ``aa`` ascending, then by run)."""
    no_fight = np.zeros(y.shape[1], dtype=bool)
    n, m = y.shape
    w = c * s
    xi = y[:, None, :]
    xj = y[None, :, :]
    same = xi == xj
    a = np.abs(xi - xj) / delta  # a[i, j] = |y_i - y_j| / delta (symmetric), also the EU's d
    ip, jp = np.triu_indices(n, 1)
    sign = -1.0 if o.q_sign == "printed" else 1.0
    base_s = 0.5 - 0.5 * a
    base_f = 0.5 + 0.5 * a
    D1 = D2 = None
    if Q != 1.0 and o.ub_uw != "none":
        yt, wt = np.ascontiguousarray(y.T), np.ascontiguousarray(w.T)
        med = _median(o.median_rule, yt, wt, delta)
        mean = _weighted_mean(yt, wt)
        mu1 = mean if o.reference_point == "mean" else med
        mu2 = mean if o.reference_point in ("mean", "median_then_mean") else med

        def Dof(mu):
            dmu = np.abs(y - mu)
            if o.ub_uw == "challenger":
                return (dmu[:, None, :] + np.abs(xi - xj)) / delta
            return (dmu[:, None, :] + dmu[None, :, :]) / delta

        D1, D2 = Dof(mu1), Dof(mu2)

    def ubw(D, r):
        if D is None:
            return None
        return (2.0 - 4.0 * np.maximum(0.5 - 0.25 * D, 0.0) ** r, 2.0 - 4.0 * (0.5 + 0.25 * D) ** r)

    s_t = s[None, :, :]  # salience of the target (column)
    # 1. risk exponents from the r = 1 pass (x ** 1.0 == x exactly)
    P1, P1T = _pairs_probability(a, w, same, o.probability, None, ip, jp)
    if o.risk == "neutral":
        r = np.ones((n, m))
    else:
        us1 = 2.0 - 4.0 * base_s
        uf1 = 2.0 - 4.0 * base_f
        usq1 = 2.0 - 4.0 * 0.5**1.0
        E1 = _zero(_eu(s_t, P1, us1, uf1, usq1, Q, T, ubw(D1, 1.0), sign), same, 0.0)
        S = _seq0(E1)  # S_k = sum_j E(U_jk), (n, m)
        hi, lo = S.max(axis=0), S.min(axis=0)
        span = hi - lo
        ok = span > 1e-12 * np.maximum(np.maximum(1.0, np.abs(hi)), np.abs(lo))
        R = (2.0 * S - hi - lo) / np.where(ok, span, 1.0)
        r = np.where(ok, (1.0 - R / 3.0) / (1.0 + R / 3.0), 1.0)

    # 2. second pass with the new exponents
    if o.voter_exponent:
        P, PT = _pairs_probability(a, w, same, o.probability, r, ip, jp)
    else:
        P, PT = P1, P1T
    rr = r[:, None, :]  # exponent of the row actor
    us = 2.0 - 4.0 * base_s ** rr
    uf = 2.0 - 4.0 * base_f ** rr
    usq = 2.0 - 4.0 * 0.5**rr
    e_i = _zero(_eu(s_t, P, us, uf, usq, Q, T, ubw(D2, rr), sign), same, o.eu_tolerance)  # E^i(U_ij)
    e_iT = np.ascontiguousarray(e_i.transpose(1, 0, 2))  # [i, j] = E^j(U_ji), j's own view
    if o.perspective == "own":
        e_j = e_iT
    else:
        # E(U_ji) with exponent r_i: U_s(d_ji, r_i) = us[i, j] since d is symmetric
        D2T = None if D2 is None else np.ascontiguousarray(D2.transpose(1, 0, 2))
        e_j = _zero(_eu(s[:, None, :], PT, us, uf, usq, Q, T, ubw(D2T, rr), sign), same, o.eu_tolerance)
    nz = e_j != 0
    # |where(e_j != 0, e_i / where(e_j != 0, e_j, 1), 0)|, exactly: e_j + 0 == e_j, 0 + 1 == 1,
    # and q * 0 is a zero whose sign abs() removes
    frac = np.abs((e_i / (e_j + ~nz)) * nz)
    comp_pos = xi + (xj - xi) * frac
    valid = ~same
    yj = np.broadcast_to(xj, (n, n, m))

    if o.offers == "scholz2011":
        conf = valid & (e_j > e_i) & (e_i > 0)
        comp = valid & (e_j > 0) & (e_i < 0) & (e_j > np.abs(e_i))
        if o.capitulation_reachable:
            capit = valid & (e_j > 0) & (e_i < 0) & (np.abs(e_i) >= e_j)
        else:
            capit = np.zeros_like(conf)
        adist = np.abs(xi - xj)
        with np.errstate(invalid="ignore", divide="ignore"):
            wpos = (np.abs(e_i) * xi + np.abs(e_j) * xj) / (np.abs(e_i) + np.abs(e_j))
        jc = _first_min(_sel(conf, adist, np.inf))
        jw = _first_min(_sel(comp, wpos, np.inf))
        jk = _first_min(_sel(capit, adist, np.inf))
        return np.where(conf.any(1), np.take_along_axis(y, jc, 0),
                        np.where(comp.any(1), _pick(comp_pos, jw), np.where(capit.any(1), np.take_along_axis(y, jk, 0), y))), no_fight

    offer = valid & (e_iT > o.offer_threshold)

    if o.offers == "masad2014":
        ej = _sel(offer, e_j, -np.inf)
        best = ej.max(axis=1)
        cand = offer & (ej == best[:, None, :])
        j = _first_min(_sel(cand, np.abs(yj - xi), np.inf))
        has = offer.any(1)
        A, Bv = _pick(e_i, j), _pick(e_j, j)
        to_j = ((0 < A) & (A < Bv)) | ((A < 0) & ((np.abs(A) > Bv) | (o.capitulation_reachable & (np.abs(A) == Bv))))
        compm = (A < 0) & (np.abs(A) < Bv)
        return np.where(has & compm, _pick(comp_pos, j), np.where(has & to_j, np.take_along_axis(y, j, 0), y)), no_fight

    # masad2016 / detente: credible threats, least movement, mutual conflicts
    credible = offer & (e_j >= 0)
    is_conf = e_i > 0
    is_comp = ~is_conf & (np.abs(e_i) <= e_j)
    cand_pos = _sel(is_conf, P * xi + (1.0 - P) * xj, _sel(is_comp, comp_pos, yj))
    move = _sel(credible, np.abs(cand_pos - xi), np.inf)
    has = credible.any(1)
    tied = move == move.min(axis=1)[:, None, :]
    c0 = _pick(cand_pos, _first(tied))
    same_c = tied & (cand_pos == c0[:, None, :])
    j = _first_max(_sel(same_c, e_j, -np.inf))
    A = _pick(e_i, j)
    if o.relabel_quirk:
        A = _pick(e_i, n - 1 - _first(np.ascontiguousarray(credible[:, ::-1, :])))
    conflict = has & (A > 0)
    acc = has & ~(A > 0)
    target = _pick(cand_pos, j)
    accepted = np.zeros((n, m), dtype=bool)
    if o.renege:
        ii, bb = np.nonzero(acc)
        accepted[j[ii, bb], bb] = True
    new = np.where(acc & ~accepted, target, y)
    opp = np.where(conflict, j, -1)
    opp0 = np.maximum(opp, 0)
    ar = np.arange(n)[:, None]
    fought = (opp > ar) & (np.take_along_axis(opp, opp0, 0) == ar) & ~accepted & ~np.take_along_axis(accepted, opp0, 0)
    if fought.any():
        aa, rr_ = np.nonzero(fought)
        bb = opp[aa, rr_]
        if o.probability != "printed" or o.voter_exponent:
            Pw, _ = _pairs_probability(a, w, same, "printed", None, ip, jp)
        else:
            Pw = P
        pa = Pw[aa, bb, rr_]
        if o.conflict_winner == "likelier":
            a_wins = pa >= 0.5
        elif draw is not None:
            a_wins = draw(aa, rr_, pa)
        else:
            a_wins = u_fight[aa, rr_] < pa
        lose = np.where(a_wins, bb, aa)
        win = np.where(a_wins, aa, bb)
        new[lose, rr_] = y[win, rr_]
        if fights is not None:
            fights.append((rr_, aa, bb, pa, a_wins))
    return new, fought.any(axis=0)


# ------------------------------------------------------------------ one issue, many runs


def run_batch_issue(x, c, s, lower: float, width: float, params: BDMParams, rng: np.random.Generator,
                    *, trace: dict[str, Any] | None = None, run_rngs: list | None = None,
                    summaries: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """Forecasts of one issue for many runs (rows of ``x``, ``c``, ``s``: positions on the
    issue scale, capabilities, unit-scale saliences). ``trace`` (a dict) receives the draws
    and conflict outcomes, for replaying runs in the per-run engine (tests).

    ``run_rngs`` (one generator per run) replaces the batch's own stream: run ``b`` then draws
    from ``run_rngs[b]`` exactly what :func:`detente.models.bdm.run_issue` draws from its
    ``rng`` (per round ``random(n)`` and ``random(hits)`` for salience shocks, one
    ``random()`` per drawn conflict in actor order), so each run equals ``run_issue`` with that
    generator (the Monte Carlo summary path); ``rng`` is then not used. ``summaries`` (a dict)
    receives the final ``"median"`` and ``"mean"`` of every run on the issue scale."""
    x = np.asarray(x, float)
    Btot, n = x.shape
    why = unsupported(params, n)
    if why is not None:
        raise ValueError(f"run_batch_issue: {why}; use the per-run engine (detente.models.bdm.run_issue)")
    if n == 0:
        return np.full(Btot, np.nan)
    c = np.asarray(c, float)
    c = unit_capabilities(c, capability_exponent(c, axis=1)[:, None])  # per run, as bdm._prepare does
    o = Options(**resolved_options(params))
    out = np.empty(Btot)
    if trace is not None:
        trace.setdefault("rounds", [])
    if summaries is not None:
        summaries["median"], summaries["mean"] = np.empty(Btot), np.empty(Btot)
    blk = block_size(n)
    for b0 in range(0, Btot, blk):
        sl = slice(b0, min(Btot, b0 + blk))
        out[sl] = _run_block(x[sl], np.asarray(c[sl], float), np.asarray(s[sl], float), lower, width,
                             params, o, rng, trace, b0, None if run_rngs is None else run_rngs[sl],
                             None if summaries is None else (summaries["median"][sl], summaries["mean"][sl]))
    return out


def _run_block(x, c, s, lower, width, params: BDMParams, o: Options, rng, trace, offset, gens=None,
               summ=None) -> np.ndarray:
    """One block of runs; ``x``, ``c``, ``s`` are (runs, n) and are used (n, runs) inside.
    ``gens``: one generator per run of the block (see :func:`run_batch_issue`); ``summ``:
    (median, mean) arrays to fill."""
    B, n = x.shape
    if params.scale_range == "issue":
        lo = np.full(B, float(lower))
        span = np.full(B, float(width))
    else:
        lo = x.min(axis=1)
        span = x.max(axis=1) - x.min(axis=1)
    norm = np.full(B, NORMALISED[params.variant]) & (span > 0)
    yb = np.where(norm[:, None], (x - lo[:, None]) / np.where(norm, span, 1.0)[:, None], x)
    delta = np.where(norm, 1.0, span)
    y = np.ascontiguousarray(yb.T)  # (n, B)
    s = np.ascontiguousarray(s.T)
    c = np.ascontiguousarray(c.T)
    active = (n > 1) & (delta > 0) & ~np.all(y == y[:1], axis=0)
    stop = params.stop
    track = stop in ("convergence", "discount")
    if track:
        med_prev, mean_prev = _summary(y, s, c, delta, o.median_rule)
        h1 = y.copy()  # positions one round back
        h2 = y.copy()  # two rounds back
        calm = np.zeros(B, dtype=int)
    draws_fight = o.offers in ("detente", "masad2016") and o.conflict_winner == "draw"
    p_shock = params.shock_probability
    for k in range(1, params.rounds + 1):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        u_hit = u_new = u_fight = None
        draw = None
        if gens is not None:
            if p_shock > 0:  # run_issue's draws, run by run
                for b in idx.tolist():
                    g = gens[b]
                    hit = g.random(n) < p_shock
                    if hit.any():
                        s[hit, b] = g.random(int(hit.sum()))
            if draws_fight:
                def draw(aa, rr_, pa, idx=idx):
                    return np.array([gens[b].random() < p for b, p in zip(idx[rr_].tolist(), pa.tolist())], dtype=bool)
        else:
            if p_shock > 0:
                u_hit = rng.random((B, n))
                u_new = rng.random((B, n))
                hit = u_hit[idx].T < p_shock
                s[:, idx] = np.where(hit, u_new[idx].T, s[:, idx])
            if draws_fight:
                u_fight = rng.random((B, n))
        fights: list | None = [] if trace is not None else None
        ya, sa, ca, da = y[:, idx], s[:, idx], c[:, idx], delta[idx]
        new, fought = _step(ya, sa, ca, da, o, params.Q, params.T, None if u_fight is None else u_fight[idx].T, fights,
                            draw)
        if trace is not None and fights is not None:   # a trace collects the fights
            trace["rounds"].append({
                "round": k, "runs": idx + offset, "u_hit": None if u_hit is None else u_hit[idx],
                "u_new": None if u_new is None else u_new[idx],
                "fights": [(idx[r_] + offset, aa, bb, pa, aw) for r_, aa, bb, pa, aw in fights],
            })
        y[:, idx] = new
        done = np.all(new == new[:1], axis=0)
        if p_shock == 0:
            # a fixed point without a conflict repeats bit for bit in every later round: the
            # run's final state is known, so it stops here (the forecast is unchanged)
            done |= np.all(new == ya, axis=0) & ~fought
        if track:
            tol = params.tolerance * da
            if stop == "convergence" and k >= 2:
                cyc = np.all(np.abs(new - h2[:, idx]) <= tol, axis=0) & ~np.all(np.abs(new - h1[:, idx]) <= tol, axis=0)
                done |= cyc
            med, mean = _summary(new, sa, ca, da, o.median_rule)
            dm, dx = np.abs(med - med_prev[idx]), np.abs(mean - mean_prev[idx])
            if stop == "convergence":
                calm[idx] = np.where((dm <= tol) & (dx <= tol), calm[idx] + 1, 0)
                done |= calm[idx] >= params.patience
            else:
                done |= dm < params.discount * da
            med_prev[idx], mean_prev[idx] = med, mean
            h2[:, idx] = h1[:, idx]
            h1[:, idx] = new
        active[idx[done]] = False
    med, mean = _summary(y, s, c, delta, o.median_rule)
    v = med if params.forecast == "median" else mean
    if summ is not None:
        summ[0][:] = np.where(norm, lo + med * span, med)
        summ[1][:] = np.where(norm, lo + mean * span, mean)
    if trace is not None:
        trace.setdefault("final_internal", []).append(y.T.copy())
        trace.setdefault("final", []).append(np.where(norm[:, None], lo[:, None] + y.T * span[:, None], y.T))
    return np.where(norm, lo + v * span, v)


# ------------------------------------------------------------------ sweep entry point


def batch_bdm(base, pert, params: BDMParams, *, rng: np.random.Generator) -> dict[str, np.ndarray] | None:
    """BDM forecasts of many perturbed copies of a scenario at once (the sweep batch kernel).

    ``base`` is a :class:`~detente.experiments.distributions.ScenarioArrays`, ``pert`` the
    perturbed arrays (runs x actors x issues). Returns issue -> forecasts (one per run; NaN for
    an issue without stances), or ``None`` when the per-run engine must be used instead
    (unsupported parameters, or a run in which every actor weight on an issue is zero, which
    the per-run engine reports as an input error).
    """
    if unsupported(params) is not None:
        return None
    todo = []
    for i, iid in enumerate(base.issues):
        has = base.has[:, i]
        x = pert.position[:, has, i]
        s = pert.salience[:, has, i] / base.salience_max
        c = pert.capability[:, has, i]
        if has.any() and not np.all((c * s).sum(axis=1) > 0):
            return None
        if unsupported(params, int(has.sum())) is not None:
            return None
        todo.append((iid, x, c, s, float(base.lower[i]), float(base.upper[i] - base.lower[i])))
    return {iid: run_batch_issue(x, c, s, lo, wd, params, rng) for iid, x, c, s, lo, wd in todo}
