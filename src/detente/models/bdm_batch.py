"""The BDM expected-utility model batched over Monte Carlo runs (sweeps).

:func:`batch_bdm` advances many perturbed copies of a scenario at once: positions are arrays
of shape ``(runs, n)``, pairwise quantities ``(runs, n, n)`` and the vote sums behind the
probabilities ``(runs, n, n, n)``. Every arithmetic step mirrors :mod:`detente.models.bdm`
operation by operation (same expressions, same reduction order), so a batched run gives the
per-run engine's numbers, ties included; ``tests/test_bdm_batch.py`` checks it to 1e-9 on
every variant.

It is registered as ``SPEC.extra["batch"]`` of the ``bdm`` model and used by
:func:`detente.experiments.sweep.evaluate_chunk` for summary sweeps. When a parameter is
not supported (``risk="own_positions"``), or a run would make the per-run engine raise
(every actor weight zero on an issue), it returns ``None`` and the sweep falls back to the
per-run engine, which then gives the per-run answer or the per-run error.

Randomness: the per-run engine draws from one generator run after run, so a batch cannot
reproduce its stream. The batched engine draws its own, documented stream from the ``rng``
it is given (same chunk, same bytes): per issue, per block of :data:`BLOCK` runs, per round,
``u_hit = rng.random((m, n))`` and ``u_new = rng.random((m, n))`` when
``shock_probability > 0`` (actor ``a`` of run ``b`` is shocked when ``u_hit[b, a] < p`` and
its salience becomes ``u_new[b, a]``), then ``u_fight = rng.random((m, n))`` when conflicts
are drawn (the conflict of ``a < b`` is won by ``a`` when ``u_fight[run, a] < P(a beats b)``).
Forecasts are therefore equal in distribution, and equal draw by draw given the same
shocks and conflict outcomes, to the per-run engine's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from detente.models.bdm import _NORMALISED, BDMParams, _Opts, resolved_options

__all__ = ["batch_bdm", "unsupported", "run_batch_issue", "BLOCK"]

#: runs advanced together; blocks keep the (m, n, n, n) vote arrays small enough for the cache
BLOCK = 128


def unsupported(params: BDMParams) -> str | None:
    """Why the batched engine cannot run these parameters (``None`` if it can)."""
    o = resolved_options(params)
    if o["risk"] == "own_positions":
        return "risk='own_positions' (11 hypothetical positions per actor) is not batched"
    return None


# ------------------------------------------------------------------ building blocks (batched)


def _abs_dist(y: np.ndarray) -> np.ndarray:
    return np.abs(y[:, :, None] - y[:, None, :])  # [b, k, i] = |y_k - y_i|


def _probability(a: np.ndarray, w: np.ndarray, same: np.ndarray, rule: str, voter_r: np.ndarray | None) -> np.ndarray:
    """Batched :func:`detente.models.bdm.probability_matrix` from normalised distances ``a``."""
    if voter_r is not None:
        a = a ** voter_r[:, :, None]
    diff = a[:, :, None, :] - a[:, :, :, None]  # [b, k, i, j] = a_kj - a_ki
    v = np.multiply(w[:, :, None, None], diff, out=diff)
    den = None
    if rule == "net_vote":
        num = np.maximum(v.sum(axis=1), 0.0)
    else:
        num = np.where(v > 0, v, 0.0).sum(axis=1)
    if rule == "all_pairs":
        n = a.shape[1]
        srt = np.sort(a, axis=2)
        coef = 2.0 * np.arange(n) - n + 1
        pair_sum = 2.0 * (srt * coef[None, None, :]).sum(axis=2)
        den = np.broadcast_to((w * pair_sum).sum(axis=1)[:, None, None], num.shape)
    else:
        den = np.abs(v, out=v).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)
    p[same] = 0.0
    return p


def _expected_utility(d, P, s_target, r, Q, T, D, q_sign):
    """Batched :func:`detente.models.bdm.expected_utility` (same expression order)."""
    us = 2.0 - 4.0 * (0.5 - 0.5 * d) ** r
    uf = 2.0 - 4.0 * (0.5 + 0.5 * d) ** r
    usq = 2.0 - 4.0 * 0.5**r
    e = s_target * (P * us + (1.0 - P) * uf) + (1.0 - s_target) * us - Q * usq
    if D is not None and Q != 1.0:
        ub = 2.0 - 4.0 * np.maximum(0.5 - 0.25 * D, 0.0) ** r
        uw = 2.0 - 4.0 * (0.5 + 0.25 * D) ** r
        e = e + q_sign * (1.0 - Q) * (T * ub + (1.0 - T) * uw)
    return e


def _eu_matrix(d, D, sign, P, s, R, Q, T, same, tol=0.0):
    e = _expected_utility(d, P, s[:, None, :], R, Q, T, D, sign)
    e[same] = 0.0
    if tol > 0:
        e[np.abs(e) < tol] = 0.0
    return e


def _take(a: np.ndarray, j: np.ndarray) -> np.ndarray:
    """a[b, i, j[b, i]] for a (m, n, n), j (m, n)."""
    return np.take_along_axis(a, j[:, :, None], axis=2)[:, :, 0]


# ------------------------------------------------------------------ medians (batched)


def _median_weighted(y: np.ndarray, w: np.ndarray) -> np.ndarray:
    tot = w.sum(axis=1)
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
        val = (w * (np.abs(y - m[:, None]) - np.abs(y - c[:, None])) / delta[:, None]).sum(axis=1)
        m = np.where(fresh & (val > 0), c, m)
    return m


def _median_margin(y: np.ndarray, w: np.ndarray, delta: np.ndarray) -> np.ndarray:
    a = _abs_dist(y)
    cost = (w[:, :, None] * a).sum(axis=1)
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
    tot = w.sum(axis=1)
    ok = tot > 0
    return np.where(ok, (w * y).sum(axis=1) / np.where(ok, tot, 1.0), y.mean(axis=1))


def _summary(y, s, c, delta, rule):
    """Median (variant's rule) and mean of one state, as ``run_issue``'s ``summary``."""
    w = c * s
    w = np.where((w.sum(axis=1) > 0)[:, None], w, 1.0)
    med = _median(rule, y, w, np.where(delta > 0, delta, 1.0))
    mean = (w * y).sum(axis=1) / w.sum(axis=1)
    return med, mean


# ------------------------------------------------------------------ one round


def _step(y, s, c, delta, o: _Opts, Q: float, T: float, u_fight, fights: list | None) -> np.ndarray:
    """One round for m runs at once; mirrors :func:`detente.models.bdm._step`. Returns new y."""
    m, n = y.shape
    w = c * s
    same = y[:, :, None] == y[:, None, :]
    dl = delta[:, None, None]
    a = _abs_dist(y) / dl  # distances, also the EU's d
    d = a
    needs_mu = Q != 1.0 and o.ub_uw != "none"
    D1 = D2 = None
    sign = -1.0 if o.q_sign == "printed" else 1.0
    if needs_mu:
        med = _median(o.median_rule, y, w, delta)
        mean = _weighted_mean(y, w)
        mu1 = mean if o.reference_point == "mean" else med
        mu2 = mean if o.reference_point in ("mean", "median_then_mean") else med

        def Dof(mu):
            dm_ = np.abs(y - mu[:, None])
            if o.ub_uw == "challenger":
                return (dm_[:, :, None] + _abs_dist(y)) / dl
            return (dm_[:, :, None] + dm_[:, None, :]) / dl

        D1, D2 = Dof(mu1), Dof(mu2)

    # 1. risk exponents from the r = 1 pass
    P1 = _probability(a, w, same, o.probability, None)
    if o.risk == "neutral":
        r = np.ones((m, n))
    else:
        E1 = _eu_matrix(d, D1, sign, P1, s, 1.0, Q, T, same)
        E1[:, np.arange(n), np.arange(n)] = 0.0
        S = E1.sum(axis=1)  # S_k = sum_j E(U_jk)
        hi, lo = S.max(axis=1), S.min(axis=1)
        span = hi - lo
        ok = span > 1e-12 * np.maximum(np.maximum(1.0, np.abs(hi)), np.abs(lo))
        R = (2.0 * S - hi[:, None] - lo[:, None]) / np.where(ok, span, 1.0)[:, None]
        r = np.where(ok[:, None], (1.0 - R / 3.0) / (1.0 + R / 3.0), 1.0)

    # 2. second pass with the new exponents
    P = _probability(a, w, same, o.probability, r) if o.voter_exponent else P1
    E_row = _eu_matrix(d, D2, sign, P, s, r[:, :, None], Q, T, same, o.eu_tolerance)
    valid = ~same
    e_i = E_row
    if o.perspective == "own":
        e_j = E_row.transpose(0, 2, 1)
    else:
        E_col = _eu_matrix(d, D2, sign, P, s, r[:, None, :], Q, T, same, o.eu_tolerance)
        e_j = E_col.transpose(0, 2, 1)
    xj = y[:, None, :]
    xi = y[:, :, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.abs(np.where(e_j != 0, e_i / np.where(e_j != 0, e_j, 1.0), 0.0))
    comp_pos = xi + (xj - xi) * frac
    new = y.copy()

    if o.offers == "scholz2011":
        conf = valid & (e_j > e_i) & (e_i > 0)
        comp = valid & (e_j > 0) & (e_i < 0) & (e_j > np.abs(e_i))
        if o.capitulation_reachable:
            capit = valid & (e_j > 0) & (e_i < 0) & (np.abs(e_i) >= e_j)
        else:
            capit = np.zeros_like(conf)
        dist = np.where(conf, np.abs(xi - xj), np.inf)
        with np.errstate(invalid="ignore", divide="ignore"):
            wpos = (np.abs(e_i) * xi + np.abs(e_j) * xj) / (np.abs(e_i) + np.abs(e_j))
        wpos = np.where(comp, wpos, np.inf)
        cdist = np.where(capit, np.abs(xi - xj), np.inf)
        jc, jw, jk = dist.argmin(2), wpos.argmin(2), cdist.argmin(2)
        yj = np.broadcast_to(xj, (m, n, n))
        new = np.where(conf.any(2), _take(yj, jc),
                       np.where(comp.any(2), _take(comp_pos, jw), np.where(capit.any(2), _take(yj, jk), y)))
        return new

    offer = valid & (E_row.transpose(0, 2, 1) > o.offer_threshold)
    yj = np.broadcast_to(xj, (m, n, n))

    if o.offers == "masad2014":
        ej = np.where(offer, e_j, -np.inf)
        best = ej.max(axis=2)
        cand = offer & (ej == best[:, :, None])
        j = np.where(cand, np.abs(yj - xi), np.inf).argmin(2)
        has = offer.any(2)
        A, Bv = _take(e_i, j), _take(e_j, j)
        to_j = ((0 < A) & (A < Bv)) | ((A < 0) & ((np.abs(A) > Bv) | (o.capitulation_reachable & (np.abs(A) == Bv))))
        compm = (A < 0) & (np.abs(A) < Bv)
        new = np.where(has & compm, _take(comp_pos, j), np.where(has & to_j, _take(yj, j), y))
        return new

    # masad2016 / detente: credible threats, least movement, mutual conflicts
    credible = offer & (e_j >= 0)
    is_conf = e_i > 0
    is_comp = ~is_conf & (np.abs(e_i) <= e_j)
    cand_pos = np.where(is_conf, P * xi + (1.0 - P) * xj, np.where(is_comp, comp_pos, xj))
    move = np.where(credible, np.abs(cand_pos - xi), np.inf)
    has = credible.any(2)
    mv = move.min(axis=2)
    tied = move == mv[:, :, None]
    c0 = _take(cand_pos, tied.argmax(2))
    same_c = tied & (cand_pos == c0[:, :, None])
    j = np.where(same_c, e_j, -np.inf).argmax(2)
    A, Bv = _take(e_i, j), _take(e_j, j)
    if o.relabel_quirk:
        last = n - 1 - credible[:, :, ::-1].argmax(2)
        A = _take(e_i, last)
    conflict = has & (A > 0)
    acc = has & ~(A > 0)
    target = _take(cand_pos, j)
    accepted = np.zeros((m, n), dtype=bool)
    if o.renege:
        rr, ii = np.nonzero(acc)
        accepted[rr, j[rr, ii]] = True
    new = np.where(acc & ~accepted, target, y)
    opp = np.where(conflict, j, -1)
    opp0 = np.maximum(opp, 0)
    ar = np.arange(n)[None, :]
    fought = (opp > ar) & (np.take_along_axis(opp, opp0, 1) == ar) & ~accepted & ~np.take_along_axis(accepted, opp0, 1)
    if fought.any():
        rr, aa = np.nonzero(fought)
        bb = opp[rr, aa]
        if o.probability != "printed" or o.voter_exponent:
            Pw = _probability(a, w, same, "printed", None)
        else:
            Pw = P
        pa = Pw[rr, aa, bb]
        a_wins = pa >= 0.5 if o.conflict_winner == "likelier" else u_fight[rr, aa] < pa
        lose = np.where(a_wins, bb, aa)
        win = np.where(a_wins, aa, bb)
        new[rr, lose] = y[rr, win]
        if fights is not None:
            fights.append((rr, aa, bb, pa, a_wins))
    return new


# ------------------------------------------------------------------ one issue, many runs


def run_batch_issue(x, c, s, lower: float, width: float, params: BDMParams, rng: np.random.Generator,
                    *, trace: dict[str, Any] | None = None) -> np.ndarray:
    """Forecasts of one issue for many runs (rows of ``x``, ``c``, ``s``: positions on the
    issue scale, capabilities, unit-scale saliences). ``trace`` (a dict) receives the draws
    and conflict outcomes, for replaying runs in the per-run engine (tests)."""
    x = np.asarray(x, float)
    Btot, n = x.shape
    if n == 0:
        return np.full(Btot, np.nan)
    o = _Opts(**resolved_options(params))
    out = np.empty(Btot)
    if trace is not None:
        trace.setdefault("rounds", [])
    for b0 in range(0, Btot, BLOCK):
        sl = slice(b0, min(Btot, b0 + BLOCK))
        out[sl] = _run_block(x[sl], np.asarray(c[sl], float), np.asarray(s[sl], float).copy(), lower, width,
                             params, o, rng, trace, b0)
    return out


def _run_block(x, c, s, lower, width, params: BDMParams, o: _Opts, rng, trace, offset) -> np.ndarray:
    B, n = x.shape
    if params.scale_range == "issue":
        lo = np.full(B, float(lower))
        span = np.full(B, float(width))
    else:
        lo = x.min(axis=1)
        span = x.max(axis=1) - x.min(axis=1)
    norm = np.full(B, _NORMALISED[params.variant]) & (span > 0)
    y = np.where(norm[:, None], (x - lo[:, None]) / np.where(norm, span, 1.0)[:, None], x)
    delta = np.where(norm, 1.0, span)
    active = (n > 1) & (delta > 0) & ~np.all(y == y[:, :1], axis=1)
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
        if p_shock > 0:
            u_hit = rng.random((B, n))
            u_new = rng.random((B, n))
            hit = u_hit[idx] < p_shock
            s[idx] = np.where(hit, u_new[idx], s[idx])
        if draws_fight:
            u_fight = rng.random((B, n))
        fights: list | None = [] if trace is not None else None
        ya, sa = y[idx], s[idx]
        new = _step(ya, sa, c[idx], delta[idx], o, params.Q, params.T,
                    None if u_fight is None else u_fight[idx], fights)
        if trace is not None:
            trace["rounds"].append({
                "round": k, "runs": idx + offset, "u_hit": None if u_hit is None else u_hit[idx],
                "u_new": None if u_new is None else u_new[idx],
                "fights": [(idx[rr] + offset, aa, bb, pa, aw) for rr, aa, bb, pa, aw in fights],
            })
        y[idx] = new
        done = np.all(new == new[:, :1], axis=1)
        if track:
            dl = delta[idx]
            tol = params.tolerance * dl
            if stop == "convergence" and k >= 2:
                cyc = np.all(np.abs(new - h2[idx]) <= tol[:, None], axis=1) & \
                    ~np.all(np.abs(new - h1[idx]) <= tol[:, None], axis=1)
                done |= cyc
            med, mean = _summary(new, sa, c[idx], dl, o.median_rule)
            dm, dx = np.abs(med - med_prev[idx]), np.abs(mean - mean_prev[idx])
            if stop == "convergence":
                calm[idx] = np.where((dm <= tol) & (dx <= tol), calm[idx] + 1, 0)
                done |= calm[idx] >= params.patience
            else:
                done |= dm < params.discount * dl
            med_prev[idx], mean_prev[idx] = med, mean
            h2[idx] = h1[idx]
            h1[idx] = new
        active[idx[done]] = False
    med, mean = _summary(y, s, c, delta, o.median_rule)
    v = med if params.forecast == "median" else mean
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
        todo.append((iid, x, c, s, float(base.lower[i]), float(base.upper[i] - base.lower[i])))
    return {iid: run_batch_issue(x, c, s, lo, wd, params, rng) for iid, x, c, s, lo, wd in todo}
