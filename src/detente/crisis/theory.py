"""Closed forms of the crisis mechanisms: scalar, documented reference implementations.

Every formal piece of ``specs/crisis.md`` (§3–§8) lives here as a pure function of plain
floats (or short 1-D arrays) with no global state. The time-stepped engine
(:mod:`detente.crisis.engine`) composes vectorised versions of these functions; the
functions here are the slow, readable reference the engine is cross-tested against, and
each is tested against ``conformance/crisis/closed_forms.csv`` (T1–T21).

API at a glance
---------------

Preventive war under shifting power (§4; Fearon 1995, Powell 2006, Krainin 2017)

* :func:`preventive_war` ``(p_path, *, delta, kappa_D, kappa_R, phi=0.0, cost_kind="flow")``
  (or ``c_D=``, ``c_R=`` with ``cost_kind="lump_sum"``) → :class:`PreventiveWar`
  (``war_date``, ``offers``, ``values``, ``surplus``, ``r_min``, ``war``, ``pressure``,
  ``protocol_free_gap``, ...).
* :func:`markov_path` ``(p, delta, c_D, c_R, phi=0.0)`` → ``(war_date | None, offers)``,
  the spec's required signature (lump-sum costs).
* :func:`protocol_free_gap` ``(p, delta, c_D, c_R)`` → array (``> 0``: war unavoidable).
* :func:`preventive_war_threshold` → :class:`ShiftThresholds` (one-period Δp*).
* :func:`preventive_war_one_step` → :class:`OneStepCondition` (δq₍ₜ₊₁₎ − qₜ vs κ_D + δκ_R).
* :func:`preventive_war_continuous_approx` → :class:`ContinuousApprox` (ṗ/r vs 1 − p + κ).
* :func:`preventive_war_phi_scan` → smallest peaceful φ on a grid, or ``None``.
* :func:`flow_to_lump_sum`, :func:`monthly_delta`.

Crisis bargaining (§3; Fearon 1995, Powell 2002)

* :func:`fearon_bargaining_range` ``(p, c_A, c_B)`` → ``(lo, hi)``.
* :func:`risk_return` ``(p, c_A, c_bar)`` → :class:`RiskReturn` ``(x_star, p_war)``;
  :func:`risk_return_payoff` gives A's expected utility of any demand.

Alternating offers, stalling (§6; Rubinstein 1982, Shaked–Sutton 1984, Ståhl 1972,
Abreu–Gul 2000, Maynard Smith 1974)

* :func:`rubinstein`, :func:`rubinstein_continuous`, :func:`outside_option`,
  :func:`stahl_finite_horizon`, :func:`abreu_gul` → :class:`AbreuGul`,
  :func:`war_of_attrition` → :class:`WarOfAttrition`.

Alliances, wedges, information (§5; Dittmer 1981, Heider 1946, Cartwright–Harary 1956,
Marvel et al. 2011, Crawford 2011, Crawford–Sobel 1982, Kamenica–Gentzkow 2011,
Axelrod–Bennett 1993, Leeds et al. 2000)

* :func:`triangle_scores` → :class:`TriangleScores`; :func:`balance_dynamics` →
  :class:`BalanceDynamics`; :func:`landscape_energy`, :func:`landscape_minimum`.
* :func:`stag_hunt_threshold`, :func:`wedge_affordability` → :class:`Wedge`.
* :func:`leak_posterior` (alias :func:`leak_bayes`), :func:`leak_posterior_verified`,
  :func:`persuasion_bound`, :func:`crawford_sobel_partition`.
* :data:`ALLIANCE_RELIABILITY_PRIOR` = 0.745.

Escalation, allies, hazards (§7; Richardson 1960, Schelling 1966, Snyder 1984)

* :func:`richardson` → :class:`Richardson`; :func:`brinkmanship_risk`;
  :func:`protege_provokes`; :func:`entrapment_probability`.
* :func:`flashpoint_hazard`, :func:`cumulative_hazard`,
  :func:`competing_risks_continuous` (alias :func:`competing_risks`),
  :func:`competing_risks_discrete` → :class:`CompetingRisks`.

Expert groups (§8, [proposal])

* :func:`expert_group_progress`, :func:`expert_group_commitment`,
  :func:`expert_group_hazard_damping`, :func:`expert_group_momentum`.

Conventions (spec §2): one period = one month unless stated; each contested issue is a unit
flow per period split ``x`` to the declining state D and ``1 − x`` to the rising state R;
``p_t`` is the probability that D wins a war started at ``t``; war is absorbing. Costs come
in two explicit forms: *lump-sum* ``c_i`` in units of the per-period flow, or
*flow-equivalent* ``κ_i`` (share of the flow destroyed for ever), ``c_i = κ_i / (1 − δ)``.

Examples
--------
>>> w = preventive_war([0.6, 0.3, 0.3], delta=0.9, c_D=0.1, c_R=0.1, cost_kind="lump_sum")
>>> w.war_date
0
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

__all__ = [
    # preventive war
    "PreventiveWar", "preventive_war", "markov_path", "protocol_free_gap",
    "ShiftThresholds", "preventive_war_threshold", "OneStepCondition",
    "preventive_war_one_step", "ContinuousApprox", "preventive_war_continuous_approx",
    "preventive_war_phi_scan", "flow_to_lump_sum", "monthly_delta", "WAR_MARGIN",
    # crisis bargaining
    "fearon_bargaining_range", "RiskReturn", "risk_return", "risk_return_payoff",
    # alternating offers, stalling
    "rubinstein", "rubinstein_continuous", "outside_option", "stahl_finite_horizon",
    "AbreuGul", "abreu_gul", "WarOfAttrition", "war_of_attrition",
    # triangle, balance, alliances, information
    "ALLIANCE_RELIABILITY_PRIOR", "TriangleScores", "triangle_scores", "BalanceDynamics",
    "balance_dynamics", "landscape_energy", "landscape_minimum", "stag_hunt_threshold",
    "Wedge", "wedge_affordability", "leak_posterior", "leak_bayes", "leak_posterior_verified",
    "persuasion_bound", "crawford_sobel_partition", "partner_support", "war_cost_multipliers",
    # escalation, allies, hazards
    "Richardson", "richardson", "brinkmanship_risk", "protege_provokes",
    "entrapment_probability", "flashpoint_hazard", "cumulative_hazard", "CompetingRisks",
    "competing_risks_continuous", "competing_risks", "competing_risks_discrete",
    # expert groups
    "expert_group_progress", "expert_group_commitment", "expert_group_hazard_damping",
    "expert_group_momentum",
]

#: Margin in the war test of :func:`preventive_war` (spec §4.3): war iff value > bound + margin.
WAR_MARGIN = 1e-12

_COST_KINDS = ("flow", "lump_sum")


# ---------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------

def monthly_delta(delta_annual: float) -> float:
    """Monthly discount factor ``δ = δ_y^(1/12)`` (spec §2).

    >>> round(monthly_delta(0.9), 6)
    0.991258
    """
    _check_delta(delta_annual)
    return float(delta_annual) ** (1.0 / 12.0)


def flow_to_lump_sum(kappa: float, delta: float) -> float:
    """Lump-sum equivalent ``c = κ / (1 − δ)`` of a flow cost ``κ`` (spec §2).

    >>> round(flow_to_lump_sum(0.1, 0.9), 12)
    1.0
    """
    _check_delta(delta)
    return float(kappa) / (1.0 - float(delta))


def _check_delta(delta: float) -> None:
    if not (0.0 < float(delta) < 1.0):
        raise ValueError(f"discount factor delta must lie in (0, 1), got {delta!r}")


def _costs(delta: float, cost_kind: str, kappa_D, kappa_R, c_D, c_R) -> tuple[float, float]:
    """Resolve the two cost conventions into lump-sum ``(c_D, c_R)``."""
    if cost_kind not in _COST_KINDS:
        raise ValueError(f"cost_kind must be one of {_COST_KINDS}, got {cost_kind!r}")
    if cost_kind == "flow":
        if kappa_D is None or kappa_R is None or c_D is not None or c_R is not None:
            raise ValueError("cost_kind='flow' takes kappa_D and kappa_R (not c_D, c_R)")
        return flow_to_lump_sum(kappa_D, delta), flow_to_lump_sum(kappa_R, delta)
    if c_D is None or c_R is None or kappa_D is not None or kappa_R is not None:
        raise ValueError("cost_kind='lump_sum' takes c_D and c_R (not kappa_D, kappa_R)")
    return float(c_D), float(c_R)


def _as_path(p_path) -> np.ndarray:
    p = np.asarray(p_path, dtype=float)
    if p.ndim != 1 or p.size == 0:
        raise ValueError("p_path must be a non-empty 1-D sequence of probabilities")
    if np.any(~np.isfinite(p)) or np.any(p < 0.0) or np.any(p > 1.0):
        raise ValueError("p_path entries must be finite probabilities in [0, 1]")
    return p


# ---------------------------------------------------------------------------------------
# §4 preventive war under shifting power
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PreventiveWar:
    """Result of the backward pass of :func:`preventive_war` (spec §4.3).

    Arrays have one entry per period ``t = 0 … T−1`` of the input path.

    Attributes
    ----------
    war_date : int or None
        First period at which war is forced (smallest ``t`` with ``war[t]``), else ``None``.
    war : ndarray of bool
        ``war[t]``: the recursion records a forced war at ``t`` (given the continuation).
    offers : ndarray
        Markov offer to D, ``x_t = V(t) − δV(t+1)``; ``NaN`` where war is forced; the last
        entry is the stationary tail offer ``p_{T−1} − (1 − δ)c_D``.
    values : ndarray
        ``V(t)``, D's continuation value in the Markov equilibrium.
    surplus : ndarray
        ``S(t)``, total surplus of the continuation path (falls by ``C`` at any later war).
    r_min : ndarray
        ``R_min(t)``, R's lowest acceptable continuation value.
    bound : ndarray
        D's best peaceful value ``(1 − φ)·lo + φ·hi`` (``NaN`` at the last period).
    pressure : ndarray
        ``M_D(t) − bound(t)``: size of the violated inequality (> 0 at a forced war).
    protocol_free_gap : ndarray
        :func:`protocol_free_gap` of the path (> 0: war unavoidable under any protocol).
    war_value_D, war_value_R : ndarray
        Minmax values ``M_D(t) = p_t/(1−δ) − c_D`` and ``M_R(t) = (1−p_t)/(1−δ) − c_R``.
    delta, c_D, c_R, phi : float
        Inputs, costs converted to lump sums.
    cost_kind : str
        ``"flow"`` or ``"lump_sum"`` as given.
    """

    war_date: int | None
    war: np.ndarray
    offers: np.ndarray
    values: np.ndarray
    surplus: np.ndarray
    r_min: np.ndarray
    bound: np.ndarray
    pressure: np.ndarray
    protocol_free_gap: np.ndarray
    war_value_D: np.ndarray
    war_value_R: np.ndarray
    delta: float
    c_D: float
    c_R: float
    phi: float
    cost_kind: str

    @property
    def peaceful(self) -> bool:
        """True when no war is forced anywhere on the path."""
        return self.war_date is None

    @property
    def offer_tail(self) -> float:
        """Stationary offer after the last period, ``p_{T−1} − (1 − δ)c_D``."""
        return float(self.offers[-1])


def preventive_war(
    p_path: Sequence[float],
    *,
    delta: float,
    kappa_D: float | None = None,
    kappa_R: float | None = None,
    phi: float = 0.0,
    cost_kind: str = "flow",
    c_D: float | None = None,
    c_R: float | None = None,
) -> PreventiveWar:
    """Preventive war as a commitment problem: one backward pass (spec §4.1–§4.3).

    Each period the rising state R offers ``x_t`` of a unit flow to the declining state D,
    who accepts or fights; a war started at ``t`` is won by D with probability ``p_t`` and
    ends the game. ``p_t`` is constant after the last entry of ``p_path``. With
    ``tot = 1/(1 − δ)``, ``M_D(t) = p_t·tot − c_D``, ``M_R(t) = (1 − p_t)·tot − c_R`` and
    ``C = c_D + c_R``, the recursion is (terminal ``V = M_D``, ``S = tot``, ``R_min = M_R``)::

        lo = 1 + δV(t+1)                                   # R cannot commit (Markov, φ = 0)
        hi = 1 + δS(t+1) − max(M_R(t), δR_min(t+1))        # best protocol-free value (φ = 1)
        war at t  iff  M_D(t) > (1 − φ)·lo + φ·hi + 1e-12
        war:   V = M_D(t), S = tot − C, R_min = M_R(t)
        peace: V = max(M_D(t), δV(t+1)), S = 1 + δS(t+1), R_min = max(M_R(t), δR_min(t+1))

    The pass carries ``S`` and ``R_min`` so that a war forced later cuts the surplus
    available earlier (the spec's caution: a naive "φ = 1 is peace forever" continuation
    puts the T5 war in month 9 instead of 36).

    Parameters
    ----------
    p_path : sequence of float
        ``p_0 … p_{T−1}``, D's probability of winning a war started at ``t``.
    delta : float
        Per-period discount factor in (0, 1) (monthly: ``0.9 ** (1/12)``).
    kappa_D, kappa_R : float
        Flow costs of war (``cost_kind="flow"``): ``c_i = κ_i/(1 − δ)``.
    phi : float
        Partial commitment in [0, 1] ([proposal], spec §4.3): share of future surplus R can
        lock in through institutions. 0 = Markov (Fearon/Powell), 1 = protocol-free bound.
    cost_kind : {"flow", "lump_sum"}
        Which cost convention the keyword arguments use; must match them.
    c_D, c_R : float
        Lump-sum costs (``cost_kind="lump_sum"``), in units of the per-period flow.

    Returns
    -------
    PreventiveWar

    Examples
    --------
    T3 of the spec (one-period drop from 0.6 to 0.58: peace, offer 0.77 then 0.57):

    >>> w = preventive_war([0.6] + [0.58] * 5, delta=0.9, c_D=0.1, c_R=0.1, cost_kind="lump_sum")
    >>> w.war_date is None, round(float(w.offers[0]), 6), round(w.offer_tail, 6)
    (True, 0.77, 0.57)

    References
    ----------
    Fearon, J. D. (1995). Rationalist explanations for war. *International Organization*
    49(3), 379–414. Powell, R. (2006). War as a commitment problem. *International
    Organization* 60(1), 169–203. Krainin, C. (2017). Preventive war as a result of
    long-term shifts in power. *Political Science Research and Methods* 5(1), 103–121.
    """
    _check_delta(delta)
    if not (0.0 <= float(phi) <= 1.0):
        raise ValueError(f"phi must lie in [0, 1], got {phi!r}")
    cD, cR = _costs(delta, cost_kind, kappa_D, kappa_R, c_D, c_R)
    p = _as_path(p_path)
    d = float(delta)
    ph = float(phi)
    n = p.size
    tot = 1.0 / (1.0 - d)
    C = cD + cR
    MD = p * tot - cD
    MR = (1.0 - p) * tot - cR

    V = np.empty(n)
    S = np.empty(n)
    Rmin = np.empty(n)
    war = np.zeros(n, dtype=bool)
    bound = np.full(n, np.nan)
    V[-1], S[-1], Rmin[-1] = MD[-1], tot, MR[-1]
    for t in range(n - 2, -1, -1):
        lo = 1.0 + d * V[t + 1]
        hi = 1.0 + d * S[t + 1] - max(MR[t], d * Rmin[t + 1])
        b = (1.0 - ph) * lo + ph * hi
        bound[t] = b
        if MD[t] > b + WAR_MARGIN:
            war[t] = True
            V[t], S[t], Rmin[t] = MD[t], tot - C, MR[t]
        else:
            V[t] = max(MD[t], d * V[t + 1])
            S[t] = 1.0 + d * S[t + 1]
            Rmin[t] = max(MR[t], d * Rmin[t + 1])

    offers = np.full(n, np.nan)
    offers[:-1] = V[:-1] - d * V[1:]
    offers[:-1][war[:-1]] = np.nan
    offers[-1] = p[-1] - (1.0 - d) * cD
    hits = np.flatnonzero(war)
    return PreventiveWar(
        war_date=int(hits[0]) if hits.size else None,
        war=war, offers=offers, values=V, surplus=S, r_min=Rmin, bound=bound,
        pressure=MD - bound,
        protocol_free_gap=_protocol_free_gap(MR, d, C),
        war_value_D=MD, war_value_R=MR,
        delta=d, c_D=cD, c_R=cR, phi=ph, cost_kind=cost_kind,
    )


def markov_path(p, delta: float, c_D: float, c_R: float, phi: float = 0.0):
    """The spec's required signature (§4.3): ``(first_war_date | None, offers)``.

    Lump-sum costs; flow costs enter as ``κ/(1 − δ)`` (see :func:`flow_to_lump_sum`).
    ``offers`` is NaN at war dates. Thin wrapper over :func:`preventive_war`.

    >>> markov_path([0.6, 0.3, 0.3], 0.9, 0.1, 0.1)[0]
    0
    """
    w = preventive_war(p, delta=delta, c_D=c_D, c_R=c_R, phi=phi, cost_kind="lump_sum")
    return w.war_date, w.offers


def _protocol_free_gap(MR: np.ndarray, d: float, C: float) -> np.ndarray:
    n = MR.size
    gap = np.full(n, -np.inf)
    for t in range(n - 1):
        k = np.arange(1, n - t)
        gap[t] = float(np.max(d ** k * MR[t + 1:])) - MR[t] - C
    return gap


def protocol_free_gap(p, delta: float, c_D: float, c_R: float) -> np.ndarray:
    """Protocol-free war test (spec §4.2): ``max_{1≤k≤T−1−t} δ^k M_R(t+k) − M_R(t) − C``.

    Positive at ``t`` means peace at ``t`` is impossible under any bargaining protocol when
    everything after is peaceful: the discounted jump in the rising side's war value
    exceeds the total cost of war. The last period has no look-ahead (``−inf``).
    Lump-sum costs.

    >>> round(float(protocol_free_gap([0.6, 0.3, 0.3], 0.9, 0.1, 0.1)[0]), 6)
    2.11
    """
    _check_delta(delta)
    p = _as_path(p)
    d = float(delta)
    tot = 1.0 / (1.0 - d)
    return _protocol_free_gap((1.0 - p) * tot - float(c_R), d, float(c_D) + float(c_R))


class ShiftThresholds(NamedTuple):
    """Smallest one-period drop Δ = p₀ − p₁ that forces war at t = 0 (spec T4)."""

    markov: float
    protocol_free: float


def preventive_war_threshold(
    p0: float, *, delta: float, kappa_D: float | None = None, kappa_R: float | None = None,
    cost_kind: str = "flow", c_D: float | None = None, c_R: float | None = None,
) -> ShiftThresholds:
    """One-period shift thresholds from ``p₀`` (spec §4.1–§4.2, T4).

    Markov (R cannot commit): war iff ``δΔ/(1 − δ) > 1 − p₀ + (1 − δ)c_D``, i.e.
    ``Δ* = (1 − δ)(1 − p₀ + (1 − δ)c_D)/δ``. Protocol-free: war iff
    ``δM_R(1) − M_R(0) > C``, i.e. ``Δ* = (1 − δ)(1 − p₀ + c_D + δc_R)/δ``.

    >>> t = preventive_war_threshold(0.6, delta=0.9, c_D=0.1, c_R=0.1, cost_kind="lump_sum")
    >>> round(t.markov, 7), round(t.protocol_free, 7)
    (0.0455556, 0.0655556)
    """
    _check_delta(delta)
    cD, cR = _costs(delta, cost_kind, kappa_D, kappa_R, c_D, c_R)
    d = float(delta)
    q0 = 1.0 - float(p0)
    return ShiftThresholds(
        markov=(1.0 - d) * (q0 + (1.0 - d) * cD) / d,
        protocol_free=(1.0 - d) * (q0 + cD + d * cR) / d,
    )


class OneStepCondition(NamedTuple):
    """One-step flow-cost condition at ``t``: war iff ``lhs > κ_D + δκ_R``."""

    lhs: float
    kappa_star_symmetric: float


def preventive_war_one_step(p_path, *, delta: float, t: int) -> OneStepCondition:
    """One-step protocol-free condition with flow costs (spec §4.2, T5d).

    ``lhs = δ·q_{t+1} − q_t`` with ``q = 1 − p``; war is unavoidable at ``t`` (given peace
    after) iff ``lhs > κ_D + δκ_R``. With symmetric costs the threshold is
    ``κ* = lhs/(1 + δ)``.

    >>> c = preventive_war_one_step([0.6, 0.3], delta=0.9, t=0)
    >>> round(c.lhs, 6), round(c.kappa_star_symmetric, 6)
    (0.23, 0.121053)
    """
    _check_delta(delta)
    p = _as_path(p_path)
    t = int(t)
    if not 0 <= t < p.size:
        raise ValueError(f"t must index p_path (0 … {p.size - 1}), got {t}")
    q_next = 1.0 - p[min(t + 1, p.size - 1)]
    lhs = float(delta) * q_next - (1.0 - p[t])
    return OneStepCondition(lhs=float(lhs), kappa_star_symmetric=float(lhs / (1.0 + delta)))


class ContinuousApprox(NamedTuple):
    """Continuous-time reading of the Markov condition: war iff ``pdot_over_r > rhs``."""

    r: float
    pdot_over_r: float
    rhs: float
    war: bool


def preventive_war_continuous_approx(
    p: float, pdot: float, *, delta: float, kappa: float
) -> ContinuousApprox:
    """Continuous approximation of §4.1: war iff ``ṗ_decline / r > 1 − p + κ_D``.

    ``r = −ln δ`` per period (``δ/(1 − δ) ≈ 1/r``), ``pdot`` the rate of decline of
    D's win probability per period (positive number).

    >>> a = preventive_war_continuous_approx(0.6, 0.005, delta=0.9 ** (1 / 12), kappa=0.05)
    >>> round(a.r, 8), round(a.pdot_over_r, 6), a.rhs, a.war
    (0.00878004, 0.569473, 0.45, True)
    """
    _check_delta(delta)
    r = -math.log(float(delta))
    ratio = float(pdot) / r
    rhs = 1.0 - float(p) + float(kappa)
    return ContinuousApprox(r=r, pdot_over_r=ratio, rhs=rhs, war=bool(ratio > rhs))


def preventive_war_phi_scan(
    p_path, *, delta: float, kappa_D: float | None = None, kappa_R: float | None = None,
    cost_kind: str = "flow", c_D: float | None = None, c_R: float | None = None,
    grid: Sequence[float] | None = None,
) -> float | None:
    """Smallest commitment φ on a grid for which :func:`preventive_war` finds no war (T5f).

    The default grid is ``linspace(0, 1, 1001)`` and the result is rounded to 3 decimals;
    ``None`` when no φ on the grid gives peace.

    >>> preventive_war_phi_scan([0.6, 0.3, 0.3], delta=0.9, c_D=0.1, c_R=0.1,
    ...                         cost_kind="lump_sum", grid=[0.0, 0.5, 1.0]) is None
    True
    """
    _check_delta(delta)
    cD, cR = _costs(delta, cost_kind, kappa_D, kappa_R, c_D, c_R)
    phis = np.linspace(0.0, 1.0, 1001) if grid is None else np.asarray(grid, dtype=float)
    if phis.ndim != 1 or np.any(phis < 0.0) or np.any(phis > 1.0):
        raise ValueError("grid must be a 1-D sequence of phi values in [0, 1]")
    # The same recursion as preventive_war, run for all grid values at once (arrays over φ).
    p = _as_path(p_path)
    d = float(delta)
    tot = 1.0 / (1.0 - d)
    C = cD + cR
    MD = p * tot - cD
    MR = (1.0 - p) * tot - cR
    V = np.full(phis.shape, MD[-1])
    S = np.full(phis.shape, tot)
    Rmin = np.full(phis.shape, MR[-1])
    any_war = np.zeros(phis.shape, dtype=bool)
    for t in range(p.size - 2, -1, -1):
        lo = 1.0 + d * V
        hi = 1.0 + d * S - np.maximum(MR[t], d * Rmin)
        war = MD[t] > (1.0 - phis) * lo + phis * hi + WAR_MARGIN
        any_war |= war
        V = np.where(war, MD[t], np.maximum(MD[t], d * V))
        S = np.where(war, tot - C, 1.0 + d * S)
        Rmin = np.where(war, MR[t], np.maximum(MR[t], d * Rmin))
    peaceful = np.flatnonzero(~any_war)
    return round(float(phis[peaceful[0]]), 3) if peaceful.size else None


# ---------------------------------------------------------------------------------------
# §3 crisis bargaining and the risk–return trade-off
# ---------------------------------------------------------------------------------------

def fearon_bargaining_range(p: float, c_A: float, c_B: float) -> tuple[float, float]:
    """Bargaining range ``[p − c_A, p + c_B] ∩ [0, 1]`` that both sides prefer to war (§3).

    Two risk-neutral states split a unit good; war gives A ``p − c_A`` and B ``1 − p − c_B``.
    With positive costs the range is never empty, so war needs private information,
    commitment problems or indivisibility (Fearon 1995, *International Organization* 49(3)).

    >>> fearon_bargaining_range(0.6, 0.1, 0.15)
    (0.5, 0.75)
    """
    if c_A < 0 or c_B < 0:
        raise ValueError("costs of war must be non-negative")
    return max(0.0, float(p) - float(c_A)), min(1.0, float(p) + float(c_B))


class RiskReturn(NamedTuple):
    """Optimal take-it-or-leave-it demand ``x_star`` and the resulting war probability."""

    x_star: float
    p_war: float


def risk_return(p: float, c_A: float, c_bar: float) -> RiskReturn:
    """Risk–return trade-off of a take-it-or-leave-it demand (spec §3, [derived]).

    A demands ``x``; B's cost ``c_B ~ U[0, c̄]`` is private and B fights iff
    ``c_B < x − p``. A maximises ``(1 − (x − p)/c̄)·x + ((x − p)/c̄)·(p − c_A)``, giving
    ``x* = p + (c̄ − c_A)/2`` and ``P(war) = (c̄ − c_A)/(2c̄)`` when ``c_A < c̄`` (``x`` capped
    at 1, then ``P(war) = (1 − p)/c̄``); otherwise ``x* = p`` and no war. P(war) does not
    depend on ``p`` (neutrality; Benson, Meirowitz & Ramsay) and lies in ``[0, ½]``.

    References: Fearon (1995); Powell, R. (2002). Bargaining theory and international
    conflict. *Annual Review of Political Science* 5, 1–30.

    >>> risk_return(0.5, 0.1, 0.4)
    RiskReturn(x_star=0.65, p_war=0.37500000000000006)
    """
    p, c_A, c_bar = float(p), float(c_A), float(c_bar)
    if not 0.0 <= p <= 1.0 or c_A < 0.0 or c_bar <= 0.0:
        raise ValueError("need p in [0, 1], c_A >= 0 and c_bar > 0")
    if c_A >= c_bar:
        return RiskReturn(x_star=p, p_war=0.0)
    x = min(p + (c_bar - c_A) / 2.0, 1.0)
    return RiskReturn(x_star=x, p_war=(x - p) / c_bar)


def risk_return_payoff(p: float, c_A: float, c_bar: float, x: float | None = None) -> float:
    """A's expected utility of demand ``x`` (default: the optimal ``x*``) in :func:`risk_return`.

    >>> round(risk_return_payoff(0.5, 0.1, 0.4), 10)
    0.55625
    """
    if x is None:
        x = risk_return(p, c_A, c_bar).x_star
    pw = min(max((float(x) - p) / c_bar, 0.0), 1.0)
    return (1.0 - pw) * float(x) + pw * (p - c_A)


# ---------------------------------------------------------------------------------------
# §6 alternating offers, deadlines, stalling
# ---------------------------------------------------------------------------------------

def rubinstein(delta_1: float, delta_2: float) -> float:
    """Proposer's share ``x₁ = (1 − δ₂)/(1 − δ₁δ₂)`` in Rubinstein's game (§6.1).

    Rubinstein, A. (1982). Perfect equilibrium in a bargaining model. *Econometrica* 50(1).

    >>> round(rubinstein(0.95, 0.9), 6)
    0.689655
    """
    for dl in (delta_1, delta_2):
        _check_delta(dl)
    return (1.0 - delta_2) / (1.0 - delta_1 * delta_2)


def rubinstein_continuous(r_1: float, r_2: float) -> tuple[float, float]:
    """Continuous-time limit with discount rates ``r_i``: shares ``(r₂, r₁)/(r₁ + r₂)``.

    The more patient side (lower ``r``) gets more; returns ``(share_1, share_2)``.

    >>> round(rubinstein_continuous(0.2, 0.1)[1], 12)
    0.666666666667
    """
    if r_1 <= 0 or r_2 <= 0:
        raise ValueError("discount rates must be positive")
    return r_2 / (r_1 + r_2), r_1 / (r_1 + r_2)


def outside_option(delta: float, w_responder: float) -> tuple[float, float]:
    """Outside-option principle: ``(proposer, responder)`` shares (§6.1).

    The responder's option ``w`` binds only if it beats its inside share ``δ/(1 + δ)``;
    the responder gets ``max(inside, w)``. Shaked & Sutton (1984); Binmore, Shaked &
    Sutton (1989, *QJE* 104(4)).

    >>> outside_option(0.9, 0.6)
    (0.4, 0.6)
    """
    inside = 1.0 - rubinstein(delta, delta)
    resp = max(inside, float(w_responder))
    return 1.0 - resp, resp


def stahl_finite_horizon(delta: float, T: int) -> float:
    """First proposer's share with ``T`` offer rounds: ``(1 − (−δ)^T)/(1 + δ)`` (Ståhl 1972).

    Who makes the last offer matters; agreement is still immediate, so a deadline alone
    does not create delay (§6.1).

    >>> round(stahl_finite_horizon(0.9, 3), 12)
    0.91
    """
    _check_delta(delta)
    if int(T) != T or T < 1:
        raise ValueError("T must be a positive integer")
    return (1.0 - (-delta) ** int(T)) / (1.0 + delta)


@dataclass(frozen=True)
class AbreuGul:
    """Equilibrium of Abreu–Gul reputational bargaining (two sides, continuous time).

    ``lambda_i`` concession hazard of side i's rational type; ``T_i = −ln z_i/λ_i`` the
    date by which i is revealed obstinate; ``T_star = min(T₁, T₂)``; ``c_i`` probability that
    i concedes at time 0 (positive only for the side with the larger ``T_i``).
    """

    lambda_1: float
    lambda_2: float
    T_1: float
    T_2: float
    T_star: float
    c_1: float
    c_2: float

    def p_agreement_by(self, t: float) -> float:
        """P(some side has conceded by ``t``), obstinate types included.

        Each side's concession probability by ``t ≤ T*`` is ``1 − (1 − c_i)e^(−λ_i t)``;
        the two are independent; at ``T*`` the rational types have all conceded.
        """
        t = min(max(float(t), 0.0), self.T_star)
        s1 = (1.0 - self.c_1) * math.exp(-self.lambda_1 * t)
        s2 = (1.0 - self.c_2) * math.exp(-self.lambda_2 * t)
        return 1.0 - s1 * s2


def abreu_gul(r_1: float, r_2: float, a_1: float, a_2: float, z_1: float, z_2: float) -> AbreuGul:
    """Reputational bargaining with obstinate types (Abreu & Gul 2000, §6.3).

    Side i is obstinate with probability ``z_i`` and then always demands ``a_i``
    (``a₁ + a₂ > 1``). Rational types imitate, then concede at the constant hazard
    ``λ_i = r_j(1 − a_i)/(a₁ + a₂ − 1)`` that keeps the opponent indifferent. Reputations
    reach 1 at ``T_i = −ln z_i/λ_i``; the game ends by ``T* = min(T₁, T₂)``, so the side
    with the larger ``T_i`` concedes at once with probability ``c_i = 1 − z_i e^(λ_i T*)``.
    Stalling maps to a higher ``z`` (looks committed) and lower ``r`` (looks patient).

    Abreu, D. & Gul, F. (2000). Bargaining and reputation. *Econometrica* 68(1), 85–117.

    >>> g = abreu_gul(0.1, 0.1, 0.6, 0.6, 0.1, 0.2)
    >>> round(g.T_star, 5), round(g.c_1, 6), g.c_2
    (8.04719, 0.5, 0.0)
    """
    if a_1 + a_2 <= 1.0:
        raise ValueError("obstinate demands must be incompatible: a_1 + a_2 > 1")
    for z in (z_1, z_2):
        if not 0.0 < z < 1.0:
            raise ValueError("z_i must lie in (0, 1)")
    if r_1 <= 0 or r_2 <= 0:
        raise ValueError("discount rates must be positive")
    k = a_1 + a_2 - 1.0
    lam1 = r_2 * (1.0 - a_1) / k
    lam2 = r_1 * (1.0 - a_2) / k
    T1 = -math.log(z_1) / lam1 if lam1 > 0 else math.inf
    T2 = -math.log(z_2) / lam2 if lam2 > 0 else math.inf
    Ts = min(T1, T2)
    c1 = 1.0 - z_1 * math.exp(lam1 * Ts) if T1 > T2 else 0.0
    c2 = 1.0 - z_2 * math.exp(lam2 * Ts) if T2 > T1 else 0.0
    return AbreuGul(lambda_1=lam1, lambda_2=lam2, T_1=T1, T_2=T2, T_star=Ts,
                    c_1=max(c1, 0.0), c_2=max(c2, 0.0))


class WarOfAttrition(NamedTuple):
    """Symmetric war of attrition: per-side quit hazard, mean duration, P(still running)."""

    hazard_each: float
    mean_duration: float
    p_running_at_t: float | None


def war_of_attrition(V: float, c: float, t: float | None = None) -> WarOfAttrition:
    """Symmetric war of attrition with prize ``V`` and flow cost ``c`` (§6.3).

    Each side quits at hazard ``λ = c/V``; the contest ends at rate ``2λ``: mean duration
    ``V/(2c)`` and ``P(running at t) = e^(−2λt)``. Maynard Smith (1974, *J. Theor. Biol.*
    47); Hendricks, Weiss & Wilson (1988, *Int. Econ. Rev.* 29(4)).

    >>> war_of_attrition(10.0, 0.5).mean_duration
    10.0
    """
    if V <= 0 or c <= 0:
        raise ValueError("V and c must be positive")
    lam = float(c) / float(V)
    return WarOfAttrition(lam, 1.0 / (2.0 * lam),
                          None if t is None else math.exp(-2.0 * lam * float(t)))


# ---------------------------------------------------------------------------------------
# §5 triangle, balance, wedges, alliances, information
# ---------------------------------------------------------------------------------------

#: Prior that an ally honours its commitment (Leeds, Long & Mitchell 2000, *JCR* 44(5); Leeds 2003).
ALLIANCE_RELIABILITY_PRIOR = 0.745


@dataclass(frozen=True)
class TriangleScores:
    """Scores of a signed strategic triangle (spec §5.1, T15).

    ``configuration`` is Dittmer's label (``menage``, ``romantic``, ``marriage``,
    ``unit_veto``); ``pivot`` the actor with two friendly ties in a romantic triangle,
    ``outcast`` the actor with two hostile ties in a stable marriage.
    """

    balanced: bool
    own_ties: dict
    wu_style: dict
    configuration: str
    pivot: str | None
    outcast: str | None


def triangle_scores(sign_ab: int, sign_ac: int, sign_bc: int,
                    names: Sequence[str] = ("US", "RU", "CN")) -> TriangleScores:
    """Dittmer configuration, structural balance and role scores of a triangle (§5.1).

    Signs are +1 (amity) or −1 (enmity) for the pairs (a, b), (a, c), (b, c) of ``names``.
    Balanced iff the product of signs is positive (Heider 1946; Cartwright & Harary 1956,
    *Psychological Review* 63(5)). Own ties: sum of an actor's two ties; Wu-style
    [configurable, after Yu-Shan Wu]: own ties minus the tie between the other two.
    Dittmer, L. (1981). The strategic triangle. *World Politics* 33(4), 485–515.

    >>> s = triangle_scores(1, 1, -1)
    >>> s.configuration, s.pivot, s.balanced, s.wu_style["US"]
    ('romantic', 'US', False, 3)
    """
    signs = (int(sign_ab), int(sign_ac), int(sign_bc))
    if any(x not in (-1, 1) for x in signs):
        raise ValueError("triangle signs must be +1 or -1")
    a, b, c = names
    tie = {frozenset((a, b)): signs[0], frozenset((a, c)): signs[1], frozenset((b, c)): signs[2]}
    own, wu = {}, {}
    for x in names:
        y, z = (n for n in names if n != x)
        own[x] = tie[frozenset((x, y))] + tie[frozenset((x, z))]
        wu[x] = own[x] - tie[frozenset((y, z))]
    n_pos = signs.count(1)
    label = {3: "menage", 2: "romantic", 1: "marriage", 0: "unit_veto"}[n_pos]
    pivot = next((x for x in names if own[x] == 2), None) if n_pos == 2 else None
    outcast = next((x for x in names if own[x] == -2), None) if n_pos == 1 else None
    return TriangleScores(balanced=signs[0] * signs[1] * signs[2] > 0, own_ties=own,
                          wu_style=wu, configuration=label, pivot=pivot, outcast=outcast)


@dataclass(frozen=True)
class BalanceDynamics:
    """Continuous structural balance ``dX/dt = X²`` from a symmetric ``X₀`` (§5.2, T16)."""

    lambda_max: float
    t_star: float
    camps: tuple[tuple[int, ...], tuple[int, ...]]
    X0: np.ndarray

    def at(self, t: float) -> np.ndarray:
        """Closed-form solution ``X(t) = X₀(I − tX₀)⁻¹`` (valid for ``t < t*``)."""
        n = self.X0.shape[0]
        return self.X0 @ np.linalg.inv(np.eye(n) - float(t) * self.X0)


def balance_dynamics(X0) -> BalanceDynamics:
    """Blow-up time and camps of ``dX/dt = X²`` (Marvel, Kleinberg, Kleinberg & Strogatz 2011).

    The solution ``X(t) = X₀(I − tX₀)⁻¹`` blows up at ``t* = 1/λ_max(X₀)``; the system then
    splits into two camps given by the sign pattern of the leading eigenvector
    (*PNAS* 108(5), 1771–1776). ``camps`` holds index tuples, the first containing index 0.

    >>> b = balance_dynamics([[0, -0.3, -0.2], [-0.3, 0, 0.5], [-0.2, 0.5, 0]])
    >>> round(b.t_star, 5), b.camps
    (1.46218, ((0,), (1, 2)))
    """
    X = np.asarray(X0, dtype=float)
    if X.ndim != 2 or X.shape[0] != X.shape[1] or not np.allclose(X, X.T):
        raise ValueError("X0 must be a symmetric square matrix")
    vals, vecs = np.linalg.eigh(X)
    lam = float(vals[-1])
    v = vecs[:, -1]
    side = v >= 0 if v[0] >= 0 else v < 0
    first = tuple(int(i) for i in np.flatnonzero(side))
    second = tuple(int(i) for i in np.flatnonzero(~side))
    return BalanceDynamics(lambda_max=lam, t_star=1.0 / lam if lam > 0 else math.inf,
                           camps=(first, second), X0=X)


def landscape_energy(sizes, propensity, camp) -> float:
    """Frustration ``E = Σ_{i<j} s_i s_j p_ij d_ij`` of a two-camp partition (§5.2).

    ``d_ij = 1`` iff i and j are in different camps; ``camp`` is a sequence of 0/1 labels.
    Axelrod, R. & Bennett, D. S. (1993). A landscape theory of aggregation. *BJPS* 23(2).

    >>> landscape_energy([1, 1, 1], [[0, 1, -1], [1, 0, -1], [-1, -1, 0]], [0, 0, 1])
    -2.0
    """
    s = np.asarray(sizes, dtype=float)
    P = np.asarray(propensity, dtype=float)
    g = np.asarray(camp)
    D = (g[:, None] != g[None, :]).astype(float)
    return float(np.sum(np.triu(np.outer(s, s) * P * D, k=1)))


def landscape_minimum(sizes, propensity) -> tuple[tuple[int, ...], float]:
    """Enumerate the 2^(n−1) two-camp partitions; return ``(labels, energy)`` of the minimum.

    Ties resolve to the first partition in enumeration order (actor 0 always in camp 0).

    >>> landscape_minimum([1, 1, 1], [[0, 1, -1], [1, 0, -1], [-1, -1, 0]])
    ((0, 0, 1), -2.0)
    """
    n = len(sizes)
    best: tuple[tuple[int, ...], float] | None = None
    for mask in range(2 ** (n - 1)):
        labels = (0,) + tuple((mask >> i) & 1 for i in range(n - 1))
        e = landscape_energy(sizes, propensity, labels)
        if best is None or e < best[1] - 1e-15:
            best = (labels, e)
    assert best is not None
    return best


def stag_hunt_threshold(R: float, T: float, P: float, S: float, s: float = 0.0) -> float:
    """Belief threshold for loyalty in the alliance stag hunt (§5.4, T11).

    Payoffs: R both loyal > T you deal, partner loyal ≥ P both deal > S you loyal, partner
    deals. A side payment ``s`` from the divider raises T to ``T + s``. Loyalty is a best
    response iff ``μ ≥ μ* = (P − S)/((R − T − s) + (P − S))``; μ* is also the mixed-equilibrium
    probability of loyalty. Returns ``inf`` when ``T + s > R`` (dealing dominant).

    >>> stag_hunt_threshold(4, 3, 1, 0), stag_hunt_threshold(4, 3, 1, 0, s=1.0)
    (0.5, 1.0)
    """
    if not P > S:
        raise ValueError("a stag hunt needs P > S")
    gain = float(R) - (float(T) + float(s))
    if gain < 0:
        return math.inf
    return (P - S) / (gain + (P - S))


class Wedge(NamedTuple):
    """Crawford's wedge as inequalities: inducement needed and whether the divider can pay."""

    s_star: float
    feasible: bool


def wedge_affordability(u_align: float, u_neutral: float, B_D: float,
                        coercion: float = 0.0) -> Wedge:
    """Selective accommodation (Crawford 2011, *International Security* 35(4)) [proposal form].

    The target stays with its partner iff ``u_align − u_neutral > s``; the wedge works iff
    ``s* = u_align − u_neutral + ε ≤ B_D``, where ``ε ≥ 0`` is the extra alignment value
    created by coercion (Izumikawa 2013: coercion pushes targets together).

    >>> wedge_affordability(5.0, 3.0, 1.5)
    Wedge(s_star=2.0, feasible=False)
    """
    s_star = float(u_align) - float(u_neutral) + float(coercion)
    return Wedge(s_star=s_star, feasible=bool(s_star <= float(B_D)))


def partner_support(tie: float, reliability: float, exponent: float, belief: float) -> float:
    """Expected support of an aligned partner, π = ρ·max(X, 0)^κ·μ (§5.8, [proposal]).

    ``tie`` X ∈ [−1, 1] is the signed tie between a side and its partner, ``reliability`` ρ the
    prior that an ally honours its commitment (Leeds, Long & Mitchell 2000: 0.745;
    Leeds 2003), ``exponent`` κ > 0 maps the tie to a propensity, ``belief`` μ the side's
    belief that the partner stays loyal (the stag-hunt belief, §5.4). A hostile tie gives 0.

    >>> round(partner_support(0.6, 0.745, 1.0, 0.8), 6)
    0.3576
    >>> partner_support(-0.4, 0.745, 1.0, 0.8)
    0.0
    """
    if not (0.0 <= reliability <= 1.0 and 0.0 <= belief <= 1.0 and exponent > 0.0):
        raise ValueError("need reliability and belief in [0, 1] and exponent > 0")
    return float(reliability) * max(float(tie), 0.0) ** float(exponent) * float(belief)


def war_cost_multipliers(own_a: float, eff_a: float, own_b: float, eff_b: float,
                         psi: float) -> tuple[float, float]:
    """War-cost multipliers of two sides with partner support (§5.8, [proposal]).

    ``s_i = 1 − C_i/A_i`` is the share of side i's effective capability ``A_i`` (own ``C_i``
    plus expected partner support) that comes from partners. A supported rival is costlier to
    fight, support makes one's own war cheaper; the costs bound the bargaining range (Fearon
    1995). Side a's cost is multiplied by ``max(1 + ψ(s_b − s_a), 0)``, side b's by
    ``max(1 + ψ(s_a − s_b), 0)``.

    >>> war_cost_multipliers(1.0, 2.0, 1.0, 1.0, 0.5)
    (0.75, 1.25)
    """
    if own_a <= 0 or own_b <= 0 or eff_a < own_a or eff_b < own_b or psi < 0:
        raise ValueError("need 0 < own <= effective capability and psi >= 0")
    sa = 1.0 - own_a / eff_a
    sb = 1.0 - own_b / eff_b
    return max(1.0 + psi * (sb - sa), 0.0), max(1.0 + psi * (sa - sb), 0.0)


def leak_posterior(mu0: float, a: float, b: float) -> float:
    """Posterior that the partner is loyal after a leak "the partner is dealing" (§5.5).

    The leak arrives with probability ``a`` if the partner is disloyal and ``b`` if loyal:
    ``μ′ = μ₀b/(μ₀b + (1 − μ₀)a)``. With cheap fabrication (``b = a``) the posterior equals
    the prior; a fake-leak wedge then works only through a receiver that believes a
    smaller ``b`` than the true one (pass the *believed* likelihoods here).

    >>> round(leak_posterior(0.8, 0.9, 0.4), 12)
    0.64
    """
    mu0, a, b = float(mu0), float(a), float(b)
    if not (0.0 <= mu0 <= 1.0 and 0.0 <= a <= 1.0 and 0.0 <= b <= 1.0):
        raise ValueError("mu0, a and b must be probabilities")
    den = mu0 * b + (1.0 - mu0) * a
    if den == 0.0:
        return mu0  # the leak has probability zero under both types: no update defined
    return mu0 * b / den


#: Spec §10 name of :func:`leak_posterior`.
leak_bayes = leak_posterior


def leak_posterior_verified(mu0: float, a: float, b: float, *, v: float, fake: bool) -> float:
    """Expected posterior when the receiver checks a leak with probability ``v`` (§5.5).

    A checked fake leak is discarded (the receiver keeps ``μ₀``; Milgrom 1981, Grossman 1981);
    an unchecked or genuine leak updates by :func:`leak_posterior`. [proposal]

    >>> round(leak_posterior_verified(0.8, 0.9, 0.4, v=0.5, fake=True), 12)
    0.72
    """
    post = leak_posterior(mu0, a, b)
    if not fake:
        return post
    return float(v) * float(mu0) + (1.0 - float(v)) * post


def persuasion_bound(mu0: float, mu_star: float, v: float = 0.0) -> float:
    """Highest probability of defection a committed sender can induce (§5.5, binary case).

    The receiver defects iff its posterior ``μ < μ*``. If ``μ₀ > μ*``, Bayesian persuasion
    (Kamenica & Gentzkow 2011, *AER* 101(6)) splits the prior into posteriors ``μ*`` and 1,
    so defection has probability at most ``(1 − μ₀)/(1 − μ*)``; if ``μ₀ ≤ μ*`` the receiver
    defects anyway (1). Verification with probability ``v`` scales persuasion by ``1 − v``
    [proposal].

    >>> round(persuasion_bound(0.8, 2 / 3), 12)
    0.6
    """
    mu0, mu_star = float(mu0), float(mu_star)
    if mu0 <= mu_star:
        return 1.0
    return (1.0 - float(v)) * (1.0 - mu0) / (1.0 - mu_star)


def crawford_sobel_partition(bias: float) -> int:
    """Largest number of message classes in uniform-quadratic cheap talk (§5.5).

    ``N(b)`` is the largest N with ``2N(N − 1)b < 1``, i.e. ``⌈−½ + ½√(1 + 2/b)⌉``;
    ``b ≥ ¼`` leaves only babbling (N = 1). Crawford, V. & Sobel, J. (1982). Strategic
    information transmission. *Econometrica* 50(6), 1431–1451.

    >>> [crawford_sobel_partition(b) for b in (0.01, 0.1, 0.25)]
    [7, 2, 1]
    """
    b = float(bias)
    if b <= 0:
        raise ValueError("bias must be positive (N is unbounded at b = 0)")
    n = max(1, math.ceil(-0.5 + 0.5 * math.sqrt(1.0 + 2.0 / b)))
    while n > 1 and 2 * n * (n - 1) * b >= 1.0:  # guard against rounding at exact integers
        n -= 1
    while 2 * (n + 1) * n * b < 1.0:
        n += 1
    return n


# ---------------------------------------------------------------------------------------
# §7 escalation, allies, hazards
# ---------------------------------------------------------------------------------------

class Richardson(NamedTuple):
    """Richardson arms race equilibrium; ``x_star``/``y_star`` are NaN when unstable."""

    stable: bool
    x_star: float
    y_star: float


def richardson(k: float, l: float, a: float, b: float, g: float, h: float) -> Richardson:
    """Equilibrium of ``dx/dt = ky − ax + g``, ``dy/dt = lx − by + h`` (§7.1).

    Stable iff ``ab > kl``; then ``x* = (bg + kh)/(ab − kl)``, ``y* = (ah + lg)/(ab − kl)``.
    Richardson, L. F. (1960). *Arms and Insecurity*.

    >>> richardson(0.5, 0.5, 1.0, 1.0, 0.1, 0.1).stable
    True
    """
    det = a * b - k * l
    if det <= 0:
        return Richardson(False, math.nan, math.nan)
    return Richardson(True, (b * g + k * h) / det, (a * h + l * g) / det)


def brinkmanship_risk(risks: Sequence[float]) -> float:
    """Cumulative uncontrolled risk of escalation steps, ``1 − Π(1 − r_k)`` (Schelling 1966).

    >>> round(brinkmanship_risk([0.1, 0.1]), 12)
    0.19
    """
    return 1.0 - float(np.prod(1.0 - np.asarray(risks, dtype=float)))


def protege_provokes(p0: float, dp: float, q: float, V: float, c_A: float, v_sq: float) -> bool:
    """Protégé war-party decision [proposal, §7.2]: provoke iff ``(p₀ + qΔp)V − c_A > v_SQ``.

    ``q`` is the perceived probability that the patron intervenes (moral hazard: patron
    signals raise ``q``). Snyder (1984, *World Politics* 36(4)); Benson (2012).

    >>> protege_provokes(0.3, 0.5, 0.8, 1.0, 0.1, 0.5)
    True
    """
    return (p0 + q * dp) * V - c_A > v_sq


def entrapment_probability(p_provoke: float, q_true: float) -> float:
    """Probability the patron is entrapped: ``P(protégé provokes) · q_true`` (§7.2).

    >>> entrapment_probability(0.5, 0.745)
    0.3725
    """
    return float(p_provoke) * float(q_true)


def flashpoint_hazard(lambda0: float, beta, x) -> tuple[float, float]:
    """Hazard layer (§7.4): rate ``λ = λ₀ exp(β·x)`` and monthly probability ``1 − e^(−λ)``.

    Monotone in each ``β_k x_k``. Returns ``(rate, probability)``.

    >>> lam, h = flashpoint_hazard(0.01, [1.0], [0.0])
    >>> lam, round(h, 8)
    (0.01, 0.00995017)
    """
    lam = float(lambda0) * math.exp(float(np.dot(np.asarray(beta, float), np.asarray(x, float))))
    return lam, -math.expm1(-lam)


def cumulative_hazard(h_month, months: int | None = None) -> float:
    """P(war by T) ``= 1 − Π_t (1 − h_t)`` from monthly probabilities (§7.4, T18).

    ``h_month`` is a constant (with ``months``) or a sequence of monthly probabilities.

    >>> round(cumulative_hazard(0.02, 48), 6)
    0.620815
    """
    h = np.asarray(h_month, dtype=float)
    if h.ndim == 0:
        if months is None:
            raise ValueError("a constant hazard needs months")
        return 1.0 - (1.0 - float(h)) ** int(months)
    return 1.0 - float(np.prod(1.0 - h))


@dataclass(frozen=True)
class CompetingRisks:
    """Weakest link by competing risks: ``p_first[j]`` sums to ``p_any``."""

    p_any: float
    shares: dict
    p_first: dict


def competing_risks_continuous(rates: Mapping[str, float], T: float) -> CompetingRisks:
    """Constant-rate competing risks (§7.4, T19).

    With ``Λ = Σλ_j``: ``P(any by T) = 1 − e^(−ΛT)`` and
    ``P(first war at j by T) = (λ_j/Λ)(1 − e^(−ΛT))``.

    >>> c = competing_risks_continuous({"UA": 0.03, "TW": 0.01, "BY": 0.005}, 48)
    >>> round(c.p_first["UA"], 6)
    0.589783
    """
    lam = {k: float(v) for k, v in rates.items()}
    if any(v < 0 for v in lam.values()):
        raise ValueError("rates must be non-negative")
    total = sum(lam.values())
    p_any = -math.expm1(-total * float(T))
    shares = {k: (v / total if total > 0 else 0.0) for k, v in lam.items()}
    return CompetingRisks(p_any=p_any, shares=shares,
                          p_first={k: s * p_any for k, s in shares.items()})


#: Name used in the task brief for :func:`competing_risks_continuous`.
competing_risks = competing_risks_continuous


def competing_risks_discrete(monthly_probs: Mapping[str, object], months: int) -> CompetingRisks:
    """Discrete-month competing risks with the proportional tie rule (§7.4, T19b).

    Each month ``P(any) = 1 − Π_j(1 − h_j)``, attributed to j with share ``h_j/Σh``;
    survival is multiplied by ``1 − P(any)``. Values may be constants or sequences of
    length ``months`` (time-varying hazards). ``shares`` reports ``p_first[j]/p_any``.

    >>> c = competing_risks_discrete({"UA": 0.03, "TW": 0.01, "BY": 0.005}, 48)
    >>> round(c.p_any, 6), round(c.p_first["UA"], 6)
    (0.887529, 0.591686)
    """
    keys = list(monthly_probs)
    H = np.empty((len(keys), int(months)))
    for i, k in enumerate(keys):
        H[i] = np.broadcast_to(np.asarray(monthly_probs[k], dtype=float), (int(months),))
    if np.any(H < 0) or np.any(H > 1):
        raise ValueError("monthly probabilities must lie in [0, 1]")
    surv = 1.0
    first = np.zeros(len(keys))
    for t in range(int(months)):
        h = H[:, t]
        tot = h.sum()
        p_any_t = 1.0 - float(np.prod(1.0 - h))
        if tot > 0:
            first += surv * p_any_t * h / tot
        surv *= 1.0 - p_any_t
    p_any = 1.0 - surv
    p_first = {k: float(first[i]) for i, k in enumerate(keys)}
    shares = {k: (v / p_any if p_any > 0 else 0.0) for k, v in p_first.items()}
    return CompetingRisks(p_any=p_any, shares=shares, p_first=p_first)


# ---------------------------------------------------------------------------------------
# §8 expert groups [proposal]
# ---------------------------------------------------------------------------------------

def expert_group_progress(months: int, *, eta: float, a0: float = 0.0, omega: float = 0.0,
                          held: Sequence[bool] | None = None) -> np.ndarray:
    """Progress stock path ``a(0 … months)`` of one expert group [proposal, §8.2, T21].

    A held meeting moves ``a ← a + η(1 − a)``; a postponed one ``a ← a(1 − ω)``. ``held``
    defaults to a meeting every month, giving ``a(n) = 1 − (1 − a₀)(1 − η)^n``.
    Templates: Bendor & Moe (1985, *APSR* 79(3)); Kelly & Amburgey (1991).

    >>> round(float(expert_group_progress(12, eta=0.1)[12]), 6)
    0.71757
    """
    n = int(months)
    flags = [True] * n if held is None else [bool(x) for x in held]
    if len(flags) != n:
        raise ValueError("held must have one entry per month")
    a = np.empty(n + 1)
    a[0] = float(a0)
    for t, met in enumerate(flags):
        a[t + 1] = a[t] + eta * (1.0 - a[t]) if met else a[t] * (1.0 - omega)
    return a


def expert_group_commitment(stocks: Sequence[float], phi_max: float) -> float:
    """Channel 1: commitment capacity ``φ = φ_max · mean_k a_k`` fed into §4.3 (0 if none).

    >>> expert_group_commitment([0.5, 1.0], 0.8)
    0.6000000000000001
    """
    a = np.asarray(stocks, dtype=float)
    return float(phi_max) * float(a.mean()) if a.size else 0.0


def expert_group_hazard_damping(theta: float, g: float) -> float:
    """Channel 2: hazard multiplier ``exp(−θg)``, g = active groups (or Σa_k); ≤ 1 for θ, g ≥ 0.

    >>> round(expert_group_hazard_damping(0.2, 2), 6)
    0.67032
    """
    return math.exp(-float(theta) * float(g))


def expert_group_momentum(h0: float, gamma: float, n: int) -> float:
    """Channel 3: hazard of the next concession step ``h₀ exp(γn)`` after n earlier steps.

    Momentum after Kelly & Amburgey (1991, *AMJ* 34(3)).

    >>> round(expert_group_momentum(0.05, 0.3, 3), 6)
    0.12298
    """
    return float(h0) * math.exp(float(gamma) * float(n))
