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
