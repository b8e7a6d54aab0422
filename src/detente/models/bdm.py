"""Bueno de Mesquita's expected-utility model (EUM) of group decision making.

Actors hold positions on a one-dimensional issue, with a capability and a salience. Every
round each actor works out, for every pair of actors, the expected utility of challenging
the other (a lottery over winning, losing and the status quo, with a risk attitude derived
from how exposed the actor is to challenges), offers are made and the receivers move:
they lose a confrontation, compromise, or capitulate. The median position after the last
round is the forecast.

BDM never published code; every public version is a reconstruction and they disagree. This
module implements one engine whose every interpretive choice is a parameter
(:class:`BDMParams`), and four named variants that fix those choices:

``detente``
    The project's corrected variant: the printed probability formula (P_ij + P_ji = 1), the
    evaluating actor's perspective, a reachable capitulation branch, ``r = 1`` with a warning
    when all security levels are equal, least-movement offer selection, stochastic conflicts
    between actors who choose each other, and optional stopping rules (BDM's discount
    criterion, convergence, consensus) beside fixed rounds.
``scholz2011``
    The port of the Scholz, Calbert & Smith (2011) code (all-pairs probability denominator,
    receiver's perspective, nearest confrontation / smallest weighted compromise, the
    unreachable capitulation branch).
``masad2014``
    Masad's 2014 "replication of the replication" (net-vote probability, each challenger's own
    view, largest-EU offer, median then mean as the reference point).
``masad2016``
    The agent-based reading of Masad's 2016 dissertation (printed formula, evaluator's view,
    least-movement threats, stochastic mutual conflicts with the renege rule, including the
    reference's category relabelling quirk).

The computations are vectorised with numpy: per round, expected utilities are O(n^2) and the
vote sums behind the probabilities are either O(n^3) arithmetic in O(n^2) memory (one
vectorised step over all actor pairs per voter, in voter order) or, for utilities linear in
distance, O(n^2 log n) from the voters sorted by position and split at each pair's midpoint
(:mod:`detente.models.bdm_votes`); ``BDMParams.vote_sums`` chooses (by default the sorted sums
from :data:`~detente.models.bdm_params.SORTED_MIN_ACTORS` actors on). The two agree in real
arithmetic and differ by round-off. There are no Python loops over actor pairs or triples.

Capabilities are divided by the power of two just above their largest value on the issue
before use (exact, :mod:`detente.models.capability`). Every variant uses capabilities only
through ratios of vote sums (the probability of success) and weighted means and medians, so
results are bit for bit those on the raw scale wherever the raw arithmetic stayed finite,
and a common rescaling of the capabilities (to ``1e300`` or ``1e-300``) no longer overflows
``scholz2011``'s all-pairs denominator or underflows the vote sums.

References
----------
.. [1] Bueno de Mesquita, B. (1994). "Political forecasting: an expected utility method."
   In Bueno de Mesquita & Stokman (eds.), *European Community Decision Making*. Yale UP.
.. [2] Bueno de Mesquita, B. (2002). *Predicting Politics*. Ohio State UP.
.. [3] Scholz, J. B., Calbert, G. J. & Smith, G. A. (2011). "Unravelling Bueno De Mesquita's
   group decision model." *Journal of Theoretical Politics* 23(4):510-531.
.. [4] Masad, D. (2014). BDM_DecisionModel_Replication (replication notes and code).
.. [5] Masad, D. (2016). *Agents in Conflict: Comparative Agent-Based Modeling of
   International Crises and Conflicts*. PhD dissertation, George Mason University, ch. 3.

Examples
--------
>>> from detente.scenario import Actor, Issue, Scenario, Stance
>>> s = Scenario(salience_scale="unit",
...     actors=[Actor(id=a, capability=c) for a, c in [("A", 1), ("B", 2), ("C", 1)]],
...     issues=[Issue(id="x", lower=0, upper=10)],
...     stances=[Stance(actor="A", issue="x", position=0, salience=0.5),
...              Stance(actor="B", issue="x", position=5, salience=0.8),
...              Stance(actor="C", issue="x", position=10, salience=0.5)])
>>> res = run(s, BDMParams(rounds=3), rng=np.random.default_rng(0))
>>> res.forecast("x")
5.0
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from detente.errors import InputError, Problem
from detente.models.bdm_params import (
    NORMALISED,
    VARIANT_DEFAULTS,
    BDMParams,
    Options,
    resolved_options,
    uses_sorted_sums,
)
from detente.models.bdm_votes import vote_sums_sorted
from detente.models.capability import CAPABILITY_NOTE, unit_capabilities
from detente.models.registry import ModelSpec
from detente.result import IssueResult, RoundRecord, RunResult

__all__ = [
    "BDMParams",
    "VARIANT_DEFAULTS",
    "ConflictResolver",
    "run",
    "run_issue",
    "explain",
    "probability_matrix",
    "expected_utility",
    "risk_exponents",
    "SPEC",
]

#: A conflict resolver: ``resolver(a, b, p_a, rng) -> winner`` where ``a``/``b`` are actor ids,
#: ``p_a`` the probability that ``a`` wins and ``winner`` one of ``a``/``b``.
ConflictResolver = Callable[[str, str, float, np.random.Generator], str]


# ---------------------------------------------------------------------------------------
# building blocks (vectorised)


def _ssum(x: np.ndarray) -> float:
    """Sum of a 1-D array strictly left to right (numpy's ``sum`` is pairwise; a fixed order
    lets the batched engine, :mod:`detente.models.bdm_batch`, reproduce every bit)."""
    return float(np.cumsum(x)[-1]) if len(x) else 0.0


def _reference_mean(y: np.ndarray, w: np.ndarray) -> float:
    """The weighted mean position (``w = c s``) used as a reference point; the plain mean when
    every weight is zero."""
    return float(_ssum(w * y) / _ssum(w)) if _ssum(w) > 0 else float(_ssum(y) / len(y))


def _abs_dist(y: np.ndarray) -> np.ndarray:
    return np.abs(y[:, None] - y[None, :])


#: Elements of one row block of :func:`_vote_sums` (32,768 floats: 256 kB per buffer). Speed only.
VOTE_BLOCK_ELEMENTS = 32768


def _vote_sums(a: np.ndarray, w: np.ndarray, *, pos: bool = False, absolute: bool = False, net: bool = False):
    """Sums over voters k of the votes ``v_k[i, j] = w_k (a[k, j] - a[k, i])``: of their positive
    parts, of their absolute values and of the votes themselves (each only when asked for).

    The sums run strictly in voter order (k = 0, 1, ..., n-1, as ``np.cumsum`` along the voter
    axis and as the batched engine sums), one voter at a time, so memory is O(n^2) (two n x n
    buffers) instead of the O(n^3) vote array and the round-off is that of the sequential sum.
    ``+ 0.0`` turns a ``-0.0`` (all votes zero) into ``+0.0``.
    """
    n = a.shape[0]
    # each sum starts at +0.0: 0.0 + v_0 is v_0 bit for bit (bar the sign of a zero, which the
    # final + 0.0 settles; absolute values carry no negative zero)
    sp, sa, sn = np.zeros((n, n)), np.zeros((n, n)), np.zeros((n, n))
    # rows i in blocks of VOTE_BLOCK_ELEMENTS // n: the buffers of a block stay in the processor's
    # cache at any n (at 800 actors whole n x n buffers do not); each element is still summed
    # over voters k = 0, 1, ..., n-1 in order, so the sums are the same bits
    b = max(1, min(n, VOTE_BLOCK_ELEMENTS // max(n, 1)))
    v = np.empty((b, n))
    t = np.empty((b, n))
    for i0 in range(0, n, b):
        i1 = min(n, i0 + b)
        vb, tb = v[: i1 - i0], t[: i1 - i0]
        bp, ba, bn = sp[i0:i1], sa[i0:i1], sn[i0:i1]
        for k in range(n):
            ak = a[k]
            np.subtract(ak[None, :], ak[i0:i1, None], out=vb)  # a_kj - a_ki
            vb *= w[k]
            if net:
                bn += vb
            if pos:
                np.fmax(vb, 0.0, out=tb)  # positive part (0 for NaN, as where(v > 0, v, 0))
                bp += tb
            if absolute:
                np.abs(vb, out=vb)
                ba += vb
    return sp + 0.0, sa, sn + 0.0


def probability_matrix(
    y: np.ndarray, w: np.ndarray, *, rule: str = "printed", delta: float = 1.0, voter_r: np.ndarray | None = None,
    vote_sums: str = "auto",
) -> np.ndarray:
    """P[i, j], the probability that actor i beats actor j in a contest.

    Voter k supports i against j with ``v_k = w_k (dist(k, j) - dist(k, i))`` (``w = c s``),
    distances normalised by ``delta`` and raised to ``voter_r[k]`` when given.

    * ``printed`` (Scholz 2011; Masad 2016): ``sum of positive v_k / sum |v_k|``, so
      ``P_ij + P_ji = 1``;
    * ``net_vote`` (Masad 2014): ``max(0, sum v_k) / sum |v_k|``;
    * ``all_pairs`` (Scholz code): ``sum of positive v_k`` over the sum of ``|v_k|`` for every
      ordered pair of actors.

    ``vote_sums`` (``BDMParams.vote_sums``): ``"pairwise"`` sums the votes voter by voter
    (:func:`_vote_sums`, O(n^3)); ``"sorted"`` uses :func:`detente.models.bdm_votes.vote_sums_sorted`
    (O(n^2 log n), exact in real arithmetic only for linear utilities, so with voter exponents
    other than 1 the pairwise sums are used); ``"auto"`` is ``"sorted"`` from
    :data:`~detente.models.bdm_params.SORTED_MIN_ACTORS` actors on.

    ``P[i, j] = 0`` when ``y_i == y_j`` and whenever no one votes.

    Examples
    --------
    >>> P = probability_matrix(np.array([0.0, 1.0, 0.4]), np.array([1.0, 1.0, 1.0]))
    >>> bool(np.allclose(P + P.T, 1 - np.eye(3)))
    True
    """
    a = _abs_dist(y) / delta  # a[k, i] = dist(k, i)
    linear = voter_r is None or bool(np.all(voter_r == 1.0))  # a ** 1.0 == a exactly
    if voter_r is not None and not linear:
        a = a ** voter_r[:, None]
    if linear and uses_sorted_sums(vote_sums, len(y)):
        sums = vote_sums_sorted(y, w, delta)
    else:
        sums = _vote_sums(a, w, pos=rule != "net_vote", absolute=rule != "all_pairs", net=rule == "net_vote")
    if rule == "printed":
        pos, tot, _ = sums
        num, den = pos, tot
    elif rule == "net_vote":
        _, tot, net = sums
        num, den = np.maximum(net, 0.0) + 0.0, tot
    elif rule == "all_pairs":
        pos = sums[0]
        # sum over a, b of |a_kb - a_ka| per voter, in O(n log n) per voter via sorting
        n = len(y)
        srt = np.sort(a, axis=1)
        coef = 2.0 * np.arange(n) - n + 1
        pair_sum = 2.0 * np.cumsum(srt * coef[None, :], axis=1)[:, -1]
        num, den = pos, np.full_like(pos, float(_ssum(w * pair_sum)))
    else:  # pragma: no cover - validated by pydantic
        raise ValueError(rule)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)
    p[y[:, None] == y[None, :]] = 0.0
    return p


def expected_utility(
    d: np.ndarray,
    P: np.ndarray,
    s_target: np.ndarray,
    r: np.ndarray,
    *,
    Q: float = 1.0,
    T: float = 1.0,
    D: np.ndarray | None = None,
    q_sign: float = -1.0,
) -> np.ndarray:
    """Expected utility of challenging, elementwise (Scholz et al. 2011, eqs. for E(U_ij)).

    ``E = s_j [P U_s + (1-P) U_f] + (1-s_j) U_s - Q U_sq + q_sign (1-Q)[T U_b + (1-T) U_w]``
    with ``U_s = 2 - 4(0.5 - 0.5 d)^r``, ``U_f = 2 - 4(0.5 + 0.5 d)^r``, ``U_sq = 2 - 4 (0.5)^r``,
    ``U_b = 2 - 4(0.5 - 0.25 D)^r`` and ``U_w = 2 - 4(0.5 + 0.25 D)^r``. ``D=None`` drops the
    (1-Q) term (scholz2011). All arguments broadcast.
    """
    us = 2.0 - 4.0 * (0.5 - 0.5 * d) ** r
    uf = 2.0 - 4.0 * (0.5 + 0.5 * d) ** r
    usq = 2.0 - 4.0 * 0.5**r
    e = s_target * (P * us + (1.0 - P) * uf) + (1.0 - s_target) * us - Q * usq
    if D is not None and Q != 1.0:
        ub = 2.0 - 4.0 * np.maximum(0.5 - 0.25 * D, 0.0) ** r
        uw = 2.0 - 4.0 * (0.5 + 0.25 * D) ** r
        e = e + q_sign * (1.0 - Q) * (T * ub + (1.0 - T) * uw)
    return e


def risk_exponents(S: np.ndarray) -> tuple[np.ndarray, bool]:
    """Risk exponents from security levels (BDM 1994): the most challenged actor gets 0.5,
    the least challenged 2.

    ``R_i = (2 S_i - max S - min S) / (max S - min S)``, ``r_i = (1 - R_i/3) / (1 + R_i/3)``.
    Returns ``(r, degenerate)``; when all security levels are equal every ``r_i = 1`` and
    ``degenerate`` is True.

    Examples
    --------
    >>> r, _ = risk_exponents(np.array([0.0, 1.0, 2.0]))
    >>> np.round(r, 12).tolist()
    [2.0, 1.0, 0.5]
    """
    hi, lo = S.max(), S.min()
    span = hi - lo
    if not span > 1e-12 * max(1.0, abs(hi), abs(lo)):
        return np.ones_like(S), True
    R = (2.0 * S - hi - lo) / span
    return (1.0 - R / 3.0) / (1.0 + R / 3.0), False


# ---------------------------------------------------------------------------------------
# medians


def _median_sequential(y: np.ndarray, w: np.ndarray, delta: float) -> float:
    cand = np.unique(y)
    m = cand[0]
    for c in cand[1:]:
        if _ssum(w * (np.abs(y - m) - np.abs(y - c)) / delta) > 0:
            m = c
    return float(m)


def _median_margin(y: np.ndarray, w: np.ndarray, delta: float) -> float:
    a = _abs_dist(y)  # a[k, i]
    # margin[a, b] = sum_k w_k (|y_k - y_b| - |y_k - y_a|) / delta
    cost = np.cumsum(w[:, None] * a, axis=0)[-1]  # cost[i] = sum_k w_k |y_k - y_i|
    margin = (cost[None, :] - cost[:, None]) / delta
    idx = int(np.argmax(margin))
    return float(y[idx // len(y)])


def _median_weighted(y: np.ndarray, w: np.ndarray) -> float:
    tot = _ssum(w)
    order = np.argsort(y, kind="stable")
    ys, cum = y[order], np.cumsum(w[order])
    k = int(np.searchsorted(cum, tot / 2.0 - 1e-12 * tot))
    return float(ys[min(k, len(ys) - 1)])


def _median(rule: str, y: np.ndarray, w: np.ndarray, delta: float) -> float:
    if rule == "sequential":
        return _median_sequential(y, w, delta)
    if rule == "largest_margin":
        return _median_margin(y, w, delta)
    return _median_weighted(y, w)


# ---------------------------------------------------------------------------------------
# one issue


@dataclass
class _Issue:
    ids: tuple[str, ...]
    y: np.ndarray  # positions in internal coordinates
    w: np.ndarray  # capability x salience
    c: np.ndarray
    s: np.ndarray
    delta: float
    to_scale: Callable[[float], float]


@dataclass
class _Round:
    y: np.ndarray
    r: np.ndarray | None
    events: list[dict[str, Any]] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    eu: np.ndarray | None = None
    warnings: list[str] = field(default_factory=list)
    salience: np.ndarray | None = None
    P1: np.ndarray | None = None  # probability matrix without voter exponents (internal, reused)
    P: np.ndarray | None = None  # probability matrix of the second pass (internal, reused)


def _eu_pass(y, w, s, r_row, delta, mu, P, o: Options, Q, T):
    """E[i, j] = E(U_ij) computed with exponent r_row[i] (the challenger's) and the matrix
    with exponent r of the target (column), used for the receiver's view of the reverse."""
    d = _abs_dist(y) / delta
    D = None
    if o.ub_uw == "challenger":
        D = (np.abs(y - mu)[:, None] + _abs_dist(y)) / delta
    elif o.ub_uw == "both":
        D = (np.abs(y - mu)[:, None] + np.abs(y - mu)[None, :]) / delta
    sign = -1.0 if o.q_sign == "printed" else 1.0
    return d, D, sign


def _eu_matrix(d, D, sign, P, s, R, Q, T, same, tol=0.0):
    e = expected_utility(d, P, s[None, :], R, Q=Q, T=T, D=D, q_sign=sign)
    e[same] = 0.0
    if tol > 0:
        e[np.abs(e) < tol] = 0.0
    return e


def _security(y, w, s, delta, mu, o: Options, Q, T, same, P1=None):
    if P1 is None:
        P1 = probability_matrix(y, w, rule=o.probability, delta=delta, voter_r=None, vote_sums=o.vote_sums)
    d, D, sign = _eu_pass(y, w, s, None, delta, mu, None, o, Q, T)
    E1 = _eu_matrix(d, D, sign, P1, s, 1.0, Q, T, same)
    np.fill_diagonal(E1, 0.0)
    return np.cumsum(E1, axis=0)[-1]  # S_k = sum_j E(U_jk)


def _risk(y, w, s, delta, mu, o: Options, Q, T, same, P1=None) -> tuple[np.ndarray, bool]:
    """Risk exponents; ``P1`` = ``probability_matrix`` without voter exponents at ``y`` when
    already computed (it does not depend on ``mu``)."""
    if o.risk == "neutral":
        return np.ones(len(y)), False
    if o.risk == "security":
        return risk_exponents(_security(y, w, s, delta, mu, o, Q, T, same, P1))
    # own_positions: compare i's security at 11 hypothetical positions of the range
    lo = float(y.min()) if delta == 0 else float(np.min(y))
    grid = lo + np.linspace(0.0, 1.0, 11) * delta
    n = len(y)
    r = np.ones(n)
    base = _security(y, w, s, delta, mu, o, Q, T, same, P1)
    for i in range(n):  # n x 11 security evaluations, each O(n^3) vectorised
        levels = []
        for g in grid:
            yy = y.copy()
            yy[i] = g
            sm = yy[:, None] == yy[None, :]
            levels.append(_security(yy, w, s, delta, mu, o, Q, T, sm)[i])
        vals = np.asarray(levels)
        hi, lo_ = vals.max(), vals.min()
        if hi - lo_ > 1e-12:
            R = (2.0 * base[i] - hi - lo_) / (hi - lo_)
            R = min(1.0, max(-1.0, R))
            r[i] = (1.0 - R / 3.0) / (1.0 + R / 3.0)
    return np.clip(r, 0.5, 2.0), False


def _default_resolver(a: str, b: str, p_a: float, rng: np.random.Generator) -> str:
    return a if rng.random() < p_a else b


def _step(
    iss: _Issue, y: np.ndarray, s: np.ndarray, o: Options, Q: float, T: float,
    rng: np.random.Generator, resolver: ConflictResolver | None, record_eu: bool,
) -> _Round:
    """One bargaining round; returns the new positions and what happened."""
    n = len(y)
    w = iss.c * s
    delta = iss.delta
    same = y[:, None] == y[None, :]
    out = _Round(y=y.copy(), r=None)

    # reference point(s)
    med = _median(o.median_rule, y, w, delta)
    mean = _reference_mean(y, w)
    mu1 = mean if o.reference_point == "mean" else med
    mu2 = mean if o.reference_point in ("mean", "median_then_mean") else med

    # 1. risk exponents from the r = 1 pass (P1 is computed once and reused below when the
    # same matrix is needed again: same call, same bits)
    P1 = probability_matrix(y, w, rule=o.probability, delta=delta, voter_r=None, vote_sums=o.vote_sums) if o.risk != "neutral" or not o.voter_exponent else None
    r, degenerate = _risk(y, w, s, delta, mu1, o, Q, T, same, P1)
    if degenerate:
        out.warnings.append("all security levels equal; r set to 1")
    out.r = r

    # 2. second pass with the new exponents
    if o.voter_exponent:
        P = probability_matrix(y, w, rule=o.probability, delta=delta, voter_r=r, vote_sums=o.vote_sums)
    else:
        assert P1 is not None  # computed above whenever voter exponents are off
        P = P1
    out.P1, out.P = P1, P
    d, D, sign = _eu_pass(y, w, s, None, delta, mu2, P, o, Q, T)
    E_row = _eu_matrix(d, D, sign, P, s, r[:, None], Q, T, same, o.eu_tolerance)  # E^i(U_ij), challenger's own r
    if record_eu:
        out.eu = E_row
    diag = np.eye(n, dtype=bool)
    valid = ~same & ~diag

    # e_i[i, j]: receiver i's EU of challenging proposer j; e_j[i, j]: j challenging i.
    e_i = E_row
    if o.perspective == "own":
        e_j = E_row.T
    else:
        E_col = _eu_matrix(d, D, sign, P, s, r[None, :], Q, T, same, o.eu_tolerance)  # exponent of the target
        e_j = E_col.T  # E(U_ji) with exponent r_i
    xj = np.broadcast_to(y[None, :], (n, n))
    xi = np.broadcast_to(y[:, None], (n, n))
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.abs(np.where(e_j != 0, e_i / np.where(e_j != 0, e_j, 1.0), 0.0))
    comp_pos = xi + (xj - xi) * frac

    new = y.copy()
    rows = np.arange(n)

    def event(i, j, kind, ei, ej, x_new):
        out.events.append({
            "actor": iss.ids[i], "counterpart": iss.ids[j], "type": kind,
            "eu_actor": float(ei), "eu_counterpart": float(ej), "new_position": float(iss.to_scale(x_new)),
        })

    if o.offers == "scholz2011":
        conf = valid & (e_j > e_i) & (e_i > 0)
        comp = valid & (e_j > 0) & (e_i < 0) & (e_j > np.abs(e_i))
        if o.capitulation_reachable:
            capit = valid & (e_j > 0) & (e_i < 0) & (np.abs(e_i) >= e_j)
        else:  # the reference's test "e_j < |e_j|" is never true
            capit = np.zeros_like(conf)
        dist = np.where(conf, np.abs(xi - xj), np.inf)
        with np.errstate(invalid="ignore", divide="ignore"):
            wpos = (np.abs(e_i) * xi + np.abs(e_j) * xj) / (np.abs(e_i) + np.abs(e_j))
        wpos = np.where(comp, wpos, np.inf)
        cdist = np.where(capit, np.abs(xi - xj), np.inf)
        for i in rows[conf.any(1) | comp.any(1) | capit.any(1)]:
            if conf[i].any():
                j = int(np.argmin(dist[i]))
                new[i] = y[j]
                event(i, j, "confrontation", e_i[i, j], e_j[i, j], y[j])
            elif comp[i].any():
                j = int(np.argmin(wpos[i]))
                new[i] = comp_pos[i, j]
                event(i, j, "compromise", e_i[i, j], e_j[i, j], new[i])
            else:
                j = int(np.argmin(cdist[i]))
                new[i] = y[j]
                event(i, j, "capitulation", e_i[i, j], e_j[i, j], y[j])
        out.y = new
        return out

    # proposals: j offers to i when j's own expected utility of challenging i exceeds the threshold
    offer = valid & (E_row.T > o.offer_threshold)

    if o.offers == "masad2014":
        ej = np.where(offer, e_j, -np.inf)
        best = ej.max(axis=1)
        for i in rows[offer.any(1)]:
            cand = np.flatnonzero(ej[i] == best[i])
            j = int(cand[np.argmin(np.abs(y[cand] - y[i]))])
            a, b = e_i[i, j], e_j[i, j]
            if 0 < a < b:
                new[i] = y[j]
                event(i, j, "confrontation", a, b, y[j])
            elif a < 0 and abs(a) < b:
                new[i] = comp_pos[i, j]
                event(i, j, "compromise", a, b, new[i])
            elif a < 0 and (abs(a) > b or (o.capitulation_reachable and abs(a) == b)):
                new[i] = y[j]
                event(i, j, "capitulation", a, b, y[j])
        out.y = new
        return out

    # masad2016 / detente: credible threats, least-movement selection, mutual conflicts
    credible = offer & (e_j >= 0)
    is_conf = e_i > 0
    is_comp = ~is_conf & (np.abs(e_i) <= e_j)
    cand_pos = np.where(is_conf, P * xi + (1.0 - P) * xj, np.where(is_comp, comp_pos, xj))
    move = np.where(credible, np.abs(cand_pos - xi), np.inf)
    opponent = np.full(n, -1)
    accepted_by = np.full(n, -1)  # i accepted j's offer
    chosen = np.full(n, -1)
    kinds: list[str | None] = [None] * n
    target = y.copy()
    for i in rows[credible.any(1)]:
        mv = move[i]
        m = mv.min()
        tied = np.flatnonzero(mv == m)
        c0 = cand_pos[i, tied[0]]
        same_c = tied[cand_pos[i, tied] == c0]
        j = int(same_c[np.argmax(e_j[i, same_c])])
        a, b = e_i[i, j], e_j[i, j]
        if o.relabel_quirk:
            a = e_i[i, np.flatnonzero(credible[i])[-1]]
        if a > 0:
            kind = "conflict"
        elif abs(a) <= b:  # the reference raises on |e_i| = e_j; we call it a compromise (moves to x_j)
            kind = "compromise"
        else:
            kind = "capitulation"
        chosen[i] = j
        kinds[i] = kind
        if kind == "conflict":
            opponent[i] = j
        else:
            accepted_by[i] = j
            target[i] = cand_pos[i, j]
    offer_accepted = np.zeros(n, dtype=bool)
    if o.renege:
        offer_accepted[accepted_by[accepted_by >= 0]] = True
    for i in rows[chosen >= 0]:
        j = chosen[i]
        event(i, j, kinds[i], e_i[i, j], e_j[i, j], target[i] if kinds[i] != "conflict" else y[i])
    for i in rows[accepted_by >= 0]:
        if not offer_accepted[i]:
            new[i] = target[i]
    if o.probability == "printed" and not o.voter_exponent:
        Pw = P
    elif o.probability == "printed" and P1 is not None:
        Pw = P1
    else:
        Pw = probability_matrix(y, w, rule="printed", delta=delta, vote_sums=o.vote_sums)
    for a in rows:
        b = opponent[a]
        if b <= a or opponent[b] != a or offer_accepted[a] or offer_accepted[b]:
            continue
        pa = float(Pw[a, b])
        if o.conflict_winner == "likelier":
            win = a if pa >= 0.5 else b
        else:
            wid = (resolver or _default_resolver)(iss.ids[a], iss.ids[b], pa, rng)
            win = a if wid == iss.ids[a] else b
        lose = b if win == a else a
        new[lose] = y[win]
        out.conflicts.append({
            "a": iss.ids[a], "b": iss.ids[b], "p_a": pa, "winner": iss.ids[win],
            "loser": iss.ids[lose], "new_position": float(iss.to_scale(y[win])),
        })
    out.y = new
    return out


def _prepare(scenario, issue_id: str, params: BDMParams, o: dict[str, Any]) -> tuple[_Issue, list[str]]:
    arr = scenario.issue_arrays(issue_id)
    notes: list[str] = []
    x = arr.position.astype(float)
    iss = arr.issue
    if params.scale_range == "issue":
        lo, span = float(iss.lower), float(iss.width)
    else:
        lo, span = (float(x.min()), float(x.max() - x.min())) if len(x) else (0.0, 0.0)
    normalise = NORMALISED[params.variant]
    if normalise and span > 0:
        y, delta = (x - lo) / span, 1.0

        def to_scale(v: Any) -> Any:
            return lo + v * span
    else:
        y, delta = x.copy(), span

        def to_scale(v: Any) -> Any:
            return v
    _ = o
    c = unit_capabilities(arr.capability)  # exact power-of-two rescaling (detente.models.capability)
    return _Issue(arr.actors, y, c * arr.salience, c, arr.salience, delta, to_scale), notes


def _check_weights(scenario, issue_id: str, data: _Issue) -> None:
    if len(data.ids) and not data.w.sum() > 0:
        problems = [
            Problem(
                message="capability x salience is zero for every actor on this issue, so the weighted mean is undefined",
                column="capability,salience", value=a, expected=f"at least one actor with positive capability and salience on issue {issue_id!r}",
            )
            for a in data.ids
        ]
        raise InputError(problems, file=scenario.name)


def run_issue(
    scenario,
    issue_id: str,
    params: BDMParams,
    *,
    rng: np.random.Generator,
    resolver: ConflictResolver | None = None,
) -> IssueResult:
    """Run the model on one issue of a scenario.

    Parameters
    ----------
    scenario
        A :class:`~detente.scenario.Scenario`.
    issue_id
        The issue to run.
    params
        :class:`BDMParams`.
    rng
        Random generator (conflict draws, salience shocks).
    resolver
        Optional conflict resolver ``resolver(a, b, p_a, rng) -> winner id`` replacing the
        seeded draw (e.g. to replay recorded conflict outcomes).

    Returns
    -------
    IssueResult
        ``forecast`` on the issue scale and one :class:`RoundRecord` per round (round 0 = input).
    """
    od = resolved_options(params)
    o = Options(**od, vote_sums=params.vote_sums)
    data, _ = _prepare(scenario, issue_id, params, od)
    _check_weights(scenario, issue_id, data)
    n = len(data.ids)
    if n == 0:
        return IssueResult(forecast=None, extra={"stop_reason": "no actor holds a position"})
    normalised = NORMALISED[params.variant] and data.delta > 0

    def summary(y, s) -> tuple[float, float, float]:
        w = data.c * s
        if not _ssum(w) > 0:
            w = np.ones(n)
        med = _median(o.median_rule, y, w, data.delta if data.delta > 0 else 1.0)
        mean = float(_ssum(w * y) / _ssum(w))
        return med, mean, _median_weighted(y, w)

    def record(k, y, s, rd: _Round | None, warnings) -> RoundRecord:
        med, mean, wmed = summary(y, s)
        extra: dict[str, Any] = {
            "round": k,
            "weighted_median": data.to_scale(wmed),
            "risk_exponents": None if rd is None or rd.r is None else dict(zip(data.ids, rd.r.tolist())),
            "events": [] if rd is None else rd.events,
        }
        if rd is not None and rd.conflicts:
            extra["conflicts"] = rd.conflicts
        if normalised:
            extra["positions_normalised"] = dict(zip(data.ids, y.tolist()))
            extra["median_normalised"] = med
            extra["mean_normalised"] = mean
        if rd is not None and rd.eu is not None:
            extra["eu"] = {a: dict(zip(data.ids, row.tolist())) for a, row in zip(data.ids, rd.eu)}
        if rd is not None and rd.salience is not None:
            extra["salience"] = dict(zip(data.ids, rd.salience.tolist()))
        if warnings:
            extra["warnings"] = list(warnings)
        return RoundRecord(
            positions={a: float(data.to_scale(v)) for a, v in zip(data.ids, y)},
            median=float(data.to_scale(med)), mean=float(data.to_scale(mean)), extra=extra,
        )

    y = data.y.copy()
    s = data.s.copy()
    rounds = [record(0, y, s, None, [])]
    stop_reason = None
    cycle_round = None
    perception = None
    history = [y.copy()]
    meds = [summary(y, s)[:2]]
    calm = 0
    warnings_all: list[str] = []
    if n == 1:
        stop_reason = "single actor"
    elif data.delta == 0 or np.all(y == y[0]):
        stop_reason = "consensus"
    else:
        for k in range(1, params.rounds + 1):
            shocked = None
            if params.shock_probability > 0:
                hit = rng.random(n) < params.shock_probability
                if hit.any():
                    s = s.copy()
                    s[hit] = rng.random(int(hit.sum()))
                    shocked = s.copy()
            rd = _step(data, y, s, o, params.Q, params.T, rng, resolver, params.record_eu or k == 1)
            rd.salience = shocked
            if k == 1:
                perception = _perception(data, y, s, o, params, rd)
            if not params.record_eu:
                rd.eu = None
            warnings_all += [f"round {k}: {w_}" for w_ in rd.warnings]
            y = rd.y
            rounds.append(record(k, y, s, rd, rd.warnings))
            history.append(y.copy())
            meds.append(summary(y, s)[:2])
            if np.all(y == y[0]):
                stop_reason = "consensus"
                break
            tol = params.tolerance * data.delta
            if k >= 2 and cycle_round is None and np.allclose(history[-1], history[-3], rtol=0, atol=tol) and not np.allclose(history[-1], history[-2], rtol=0, atol=tol):
                cycle_round = k
                if params.stop == "convergence":
                    stop_reason = "cycle (period 2)"
                    break
            dm, dx = abs(meds[-1][0] - meds[-2][0]), abs(meds[-1][1] - meds[-2][1])
            if params.stop == "convergence":
                calm = calm + 1 if (dm <= tol and dx <= tol) else 0
                if calm >= params.patience:
                    stop_reason = "converged"
                    break
            elif params.stop == "discount" and dm < params.discount * data.delta:
                stop_reason = "discount"
                break
        if stop_reason is None:
            stop_reason = "rounds"
    last = rounds[-1]
    fc = last.median if params.forecast == "median" else last.mean
    extra: dict[str, Any] = {"stop_reason": stop_reason, "rounds_run": len(rounds) - 1}
    if cycle_round is not None:
        extra["cycle"] = {"period": 2, "detected_at_round": cycle_round}
    if perception is not None:
        extra["perception"] = perception
    if warnings_all:
        extra["warnings"] = warnings_all
    if normalised:
        lo = data.to_scale(0.0)
        extra["scale"] = {"kind": "normalised", "x_min": lo, "x_max": data.to_scale(1.0)}
    else:
        extra["scale"] = {"kind": "input", "delta": data.delta}
    return IssueResult(forecast=fc, rounds=tuple(rounds), extra=extra)


def _quadrants(a: np.ndarray, b: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """The quadrant of each pair (a, b) (scalar reference: ``tests/test_bdm_bite.py``)."""
    return np.select(
        [(np.abs(a) <= eps) & (np.abs(b) <= eps), (a > 0) & (b > 0), (a < 0) & (0 < b) & (np.abs(a) < b),
         (a < 0) & (0 < b), (b < 0) & (0 < a) & (np.abs(b) < a), (b < 0) & (0 < a), (a > 0) | (b > 0)],
        ["origin", "conflict", "compromise", "capitulation", "compromise (other yields)",
         "capitulation (other yields)", "boundary"], "stalemate")


def _perception(data: _Issue, y: np.ndarray, s: np.ndarray, o: Options, params: BDMParams,
                rd: _Round | None = None) -> list[dict[str, Any]]:
    """Round-1 perception table: for every actor p and other actor j, p's expected utility of
    challenging j (x) and of j challenging p (y), as p perceives them, with the quadrant.
    ``rd`` (round 1 computed from the same positions and saliences) lends its probability
    matrices when they are the ones needed here."""
    w = data.c * s
    same = y[:, None] == y[None, :]
    med = _median(o.median_rule, y, w, data.delta)
    mean = _reference_mean(y, w)
    P1 = None if rd is None else rd.P1
    # the reference points of round 1 (:func:`_step`): the risk pass, then the expected utilities
    r, _ = _risk(y, w, s, data.delta, mean if o.reference_point == "mean" else med, o, params.Q, params.T, same, P1)
    if not o.voter_exponent and P1 is not None:
        P = P1
    elif o.voter_exponent and rd is not None and rd.P is not None and rd.r is not None and np.array_equal(r, rd.r):
        P = rd.P
    else:
        P = probability_matrix(y, w, rule=o.probability, delta=data.delta, voter_r=r if o.voter_exponent else None,
                               vote_sums=o.vote_sums)
    mu = mean if o.reference_point in ("mean", "median_then_mean") else med
    d, D, sign = _eu_pass(y, w, s, None, data.delta, mu, P, o, params.Q, params.T)
    E_row = _eu_matrix(d, D, sign, P, s, r[:, None], params.Q, params.T, same)
    if o.perspective == "own":
        other = E_row.T
    else:
        other = _eu_matrix(d, D, sign, P, s, r[None, :], params.Q, params.T, same).T
    n = len(y)
    off = ~np.eye(n, dtype=bool)
    pp, jj = np.nonzero(off)  # row-major: p, then j
    a, b = E_row[off], other[off]
    ids = data.ids
    return [{"actor": ids[p], "other": ids[j], "eu_actor": x, "eu_other": z, "quadrant": q}
            for p, j, x, z, q in zip(pp.tolist(), jj.tolist(), a.tolist(), b.tolist(), _quadrants(a, b).tolist())]


# ---------------------------------------------------------------------------------------
# Monte Carlo


def _mc_summary(vals: np.ndarray, interval: float) -> dict[str, Any]:
    lo_q, hi_q = (1 - interval) / 2, 1 - (1 - interval) / 2
    return {
        "n": len(vals), "mean": float(vals.mean()), "sd": float(vals.std()),
        "min": float(vals.min()), "median": float(np.median(vals)), "max": float(vals.max()),
        "interval": [float(np.quantile(vals, lo_q)), float(np.quantile(vals, hi_q))], "level": interval,
    }


def _mc_generators(params: BDMParams, rng: np.random.Generator) -> list[np.random.Generator]:
    """One generator per Monte Carlo run: children of ``rng``'s seed sequence (else seeds drawn
    from ``rng``), in run order."""
    ss = getattr(rng.bit_generator, "seed_seq", None)
    seeds = ss.spawn(params.monte_carlo) if isinstance(ss, np.random.SeedSequence) else None
    return [np.random.default_rng(seeds[k]) if seeds else np.random.default_rng(rng.integers(2**63))
            for k in range(params.monte_carlo)]


def _mc_batched(scenario, issue_id, p1: BDMParams, gens) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Forecasts, final medians and final means of the Monte Carlo runs through the batched
    engine, run ``k`` drawing from ``gens[k]`` exactly what ``run_issue`` draws (same numbers
    as the per-run loop, see ``tests/test_bdm_batch.py``); ``None`` when not batchable."""
    from detente.models import bdm_batch

    arr = scenario.issue_arrays(issue_id)
    m = len(gens)
    if bdm_batch.unsupported(p1, arr.n) is not None or arr.n < 1 or m == 0:
        return None
    tile = lambda v: np.tile(np.asarray(v, float), (m, 1))  # noqa: E731
    summ: dict[str, np.ndarray] = {}
    fc = bdm_batch.run_batch_issue(tile(arr.position), tile(arr.capability), tile(arr.salience), float(arr.issue.lower),
                                   float(arr.issue.width), p1, np.random.default_rng(0), run_rngs=gens, summaries=summ)
    return fc, summ["median"], summ["mean"]


def _monte_carlo(scenario, issue_id, params: BDMParams, rng: np.random.Generator, resolver,
                 batched: bool = True) -> dict[str, Any]:
    """Monte Carlo summary: ``params.monte_carlo`` runs, run k seeded with the k-th child of
    ``rng``'s seed sequence. Without a custom ``resolver`` and with batchable options (every
    option but ``risk="own_positions"``) the runs go through the batched engine, which gives
    the per-run loop's numbers (``batched=False`` forces the loop)."""
    p1 = params.model_copy(update={"monte_carlo": 0, "record_eu": False})
    gens = _mc_generators(params, rng)
    got = _mc_batched(scenario, issue_id, p1, gens) if batched and resolver is None else None
    if got is not None:
        fc_a, md_a, mn_a = got
    else:
        fc, md, mn = [], [], []
        for g in gens:
            r = run_issue(scenario, issue_id, p1, rng=g, resolver=resolver)
            fc.append(r.forecast)
            md.append(r.rounds[-1].median)
            mn.append(r.rounds[-1].mean)
        fc_a, md_a, mn_a = (np.asarray(v, float) for v in (fc, md, mn))
    vals, counts = np.unique(np.round(fc_a, 9), return_counts=True)
    return {
        "runs": params.monte_carlo,
        "forecast": _mc_summary(fc_a, params.interval),
        "final_median": _mc_summary(md_a, params.interval),
        "final_mean": _mc_summary(mn_a, params.interval),
        "forecast_frequencies": {f"{v:.6g}": int(c) for v, c in zip(vals[:20], counts[:20])},
    }


# ---------------------------------------------------------------------------------------
# entry point


def run(scenario, params: BDMParams, *, rng: np.random.Generator, resolver: ConflictResolver | None = None) -> RunResult:
    """Run the expected-utility model on every issue of a scenario, one issue at a time.

    Parameters
    ----------
    scenario
        A :class:`~detente.scenario.Scenario`.
    params
        :class:`BDMParams` (variant, rounds, and every interpretive choice).
    rng
        ``numpy.random.Generator`` used for conflict draws, salience shocks and Monte Carlo.
    resolver
        Optional conflict resolver (see :func:`run_issue`).

    Returns
    -------
    RunResult
        Per issue: the forecast (median of the final round by default), per-round positions,
        median, mean, risk exponents, events, conflicts and the expected-utility matrix; the
        round-1 perception table; a Monte Carlo summary when ``params.monte_carlo > 0``.
    """
    issues: dict[str, IssueResult] = {}
    notes: list[str] = [CAPABILITY_NOTE]
    if NORMALISED[params.variant]:
        notes.append("positions normalised to 0-1 internally (range of the initial positions"
                     if params.scale_range == "positions" else "positions normalised to 0-1 internally (issue bounds")
        notes[-1] += "); results mapped back to the issue scale"
    for iss in scenario.issues:
        res = run_issue(scenario, iss.id, params, rng=rng, resolver=resolver)
        if params.monte_carlo > 0 and res.rounds:
            extra = dict(res.extra)
            extra["monte_carlo"] = _monte_carlo(scenario, iss.id, params, rng, resolver)
            res = IssueResult(forecast=res.forecast, rounds=res.rounds, extra=extra)
        for wmsg in res.extra.get("warnings", []):
            notes.append(f"issue {iss.id}: {wmsg}")
        issues[iss.id] = res
    return RunResult.build(model="bdm", scenario=scenario, params=params, issues=issues,
                           variant=params.variant, notes=notes, extra={"options": resolved_options(params)})


def _fmt(x: float | None) -> str:
    if x is None:
        return "–"
    return f"{x:.4g}" if abs(x - round(x)) > 1e-9 else f"{x:.1f}"


def explain(result: RunResult) -> list[str]:
    """Each round's moves in words.

    Examples
    --------
    ``"Round 1: Luxembourg loses a confrontation to Belgium and moves to 7.0."``
    """
    lines: list[str] = []
    multi = len(result.issues) > 1
    for iid, ir in result.issues.items():
        pre = f"[{iid}] " if multi else ""
        for rd in ir.rounds[1:]:
            k = rd.extra.get("round")
            evs = rd.extra.get("events", [])
            fought = {(c["a"], c["b"]) for c in rd.extra.get("conflicts", [])}
            said = False
            for e in evs:
                a, b, x = e["actor"], e["counterpart"], e.get("new_position")
                t = e["type"]
                if t == "confrontation":
                    s = f"{a} loses a confrontation to {b} and moves to {_fmt(x)}"
                elif t == "compromise":
                    s = f"{a} compromises with {b} and moves to {_fmt(x)}"
                elif t == "capitulation":
                    s = f"{a} gives in to {b} and moves to {_fmt(x)}"
                elif t == "conflict":
                    if (a, b) in fought or (b, a) in fought:
                        continue
                    s = f"{a} is ready to fight {b} rather than yield"
                else:
                    s = f"{a}: {t} with {b}"
                moved = rd.positions.get(a)
                if t in ("compromise", "capitulation") and x is not None and moved is not None and abs(moved - x) > 1e-9:
                    s += f", but {a} stays at {_fmt(moved)} because its own offer was accepted"
                lines.append(f"{pre}Round {k}: {s}.")
                said = True
            for c in rd.extra.get("conflicts", []):
                lines.append(
                    f"{pre}Round {k}: {c['a']} and {c['b']} fight; {c['winner']} wins "
                    f"(P({c['a']} wins) = {c['p_a']:.2f}) and {c['loser']} moves to {_fmt(c['new_position'])}."
                )
                said = True
            if not said:
                lines.append(f"{pre}Round {k}: nobody moves.")
            lines.append(f"{pre}Round {k}: median {_fmt(rd.median)}, mean {rd.mean:.4g}.")
        reason = ir.extra.get("stop_reason")
        if reason:
            lines.append(f"{pre}Stopped: {reason}; forecast {_fmt(ir.forecast) if ir.forecast is not None else '-'}.")
    return lines


def _batch(base, pert, params: BDMParams, *, rng: np.random.Generator):
    """Sweep batch kernel: :func:`detente.models.bdm_batch.batch_bdm` (imported when used)."""
    from detente.models.bdm_batch import batch_bdm

    return batch_bdm(base, pert, params, rng=rng)


SPEC = ModelSpec(
    name="bdm",
    summary="Bueno de Mesquita's expected-utility model (variants: detente, scholz2011, masad2014, masad2016).",
    params_class=BDMParams,
    run=run,
    multi_issue=True,
    dynamics=True,
    stochastic=True,
    variants=("detente", "scholz2011", "masad2014", "masad2016"),
    citation="Bueno de Mesquita (1994, 2002); Scholz, Calbert & Smith (2011), JTP 23(4); Masad (2014, 2016)",
    extra={"explain": explain, "batch": _batch},
)
