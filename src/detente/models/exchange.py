"""Stokman's exchange model of voting positions (equal gain and randomized equal gain).

Actors who sit on opposite sides of the forecast on two issues can trade: each moves its
vote on the issue it cares relatively less about, towards the other's position, so that
the forecast on the issue it cares more about moves its way. In the *equal gain* model
(EG, Stokman & Van Oosten 1994) both partners gain the same utility; in the *randomized*
variant (REX, Dijkstra et al. 2018) one side is drawn to obtain more or less than that,
within the range where both still gain. Exchanges are executed best-first within a round;
at the end of the round actors shift their preferred positions part of the way towards the
votes they gave. This module implements the whole of ``specs/exchange.md`` in float64 with
numpy, one array entry per candidate exchange.

Model in brief (positions normalised to 0–100 per issue; ``W_d = Σ c s``):

* forecast per issue: ``O_d = Σ c s x / W_d`` (the reference calls it "NBS");
* candidates: pairs of actors on opposite sides of both forecasts of an issue pair;
* equal gain: ``ΔO_q = ΔO_p (s_Ip + s_Jp)/(s_Iq + s_Jq)``, one side moves fully;
* overshoot limit: a move never pushes a forecast past the partner's position;
* validity, best-first execution with successive concessions and a move history;
* end of round: ``x_new = x + (f + w (1 - s)) (y - x)``.

Bookkeeping choices (``mode``) and the positions used by the overshoot limit
(``overshoot``) are parameters; see ``docs/models/exchange.md``.

References
----------
.. [1] Stokman, F. N. & Van Oosten, R. (1994). "The exchange of voting positions: an
   object-oriented model of policy networks." In Bueno de Mesquita & Stokman (eds.),
   *European Community Decision Making*. Yale University Press.
.. [2] Dijkstra, J., Van Assen, M. A. L. M., Stokman, F. N. & Draaijer, J. (2018).
   "Random variation of exchange rates in the equal utility exchange model." (draft).
.. [3] Stokman, F. N. & Thomson, R. (2015). Forecasting the Paris 2015 UNFCCC
   negotiations; Sprinz, D. F. et al. (2016). "Predicting Paris." *Politics and
   Governance* 4(3):172–187.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from pydantic import Field, model_validator

from detente.errors import InputError, Problem
from detente.models.capability import CAPABILITY_NOTE, unit_capabilities
from detente.models.params import ModelParams
from detente.models.registry import ModelSpec
from detente.result import IssueResult, RoundRecord, RunResult
from detente.seeding import run_seeded

__all__ = [
    "ExchangeParams",
    "ExchangeData",
    "RoundOutcome",
    "Simulation",
    "SPEC",
    "run",
    "simulate",
    "data_from_scenario",
    "position_update",
    "forecast",
    "rex_eu_max",
    "ensemble_summary",
]

SCALE = 100.0
_MIN = 1e-10  # validity threshold on moves and gains (spec §2.6, D3)
_NF = 22  # columns of _Round.F
_AT = 1e-9  # a forecast this close to a position is at it (0-100 scale; float noise of exact ties)


# ---------------------------------------------------------------------------- parameters


class ExchangeParams(ModelParams):
    """Parameters of the exchange model. Every interpretive choice of the spec is one here."""

    variant: Literal["equal_gain", "rex"] = Field(
        "equal_gain",
        description="'equal_gain': Stokman & Van Oosten (1994); 'rex': randomized equal gain "
        "(Dijkstra et al. 2018) with parameter p.",
    )
    p: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="REX randomisation in [0, 1] (0 reproduces equal gain). Default 1.0 for "
        "variant 'rex'; must be unset (or 0) for 'equal_gain'.",
    )
    rounds: int = Field(10, ge=1, le=10_000, description="Number of rounds (maximum when converging).")
    convergence: float | None = Field(
        None,
        gt=0,
        description="Stop early after a round in which every issue's forecast of the start "
        "positions moved by less than this (on the 0-100 scale). None = fixed rounds (the reference).",
    )
    mode: Literal["corrected", "reference"] = Field(
        "corrected",
        description="Move-history bookkeeping: 'corrected' checks the no-reversal and <= 100 "
        "rules against the moves actually executed in the round; 'reference' keeps the "
        "reference implementation's stale history (spec Q1), for compatibility; in this mode "
        "REX also follows the reference's move rule and deterministic ties its stable-sorted "
        "candidate list (docs/models/exchange.md).",
    )
    overshoot: Literal["live", "stale"] | None = Field(
        None,
        description="Positions used by the forecast-overshoot limit: 'live' = votes after every "
        "exchange executed so far (affected candidates are recomputed after each execution); "
        "'stale' = start-of-round positions plus each candidate's private updates (reference). "
        "Default: 'live' in mode 'corrected', 'stale' in mode 'reference'.",
    )
    recompute: Literal["affected", "all"] = Field(
        "affected",
        description="Which candidates are recomputed after an exchange is executed: 'affected' = "
        "those sharing an actor and supply issue with it or whose actor demands an issue it "
        "moved (the reference); 'all' = also every other candidate on one of its two issues, so "
        "that no candidate keeps an overshoot limit computed on outdated forecasts (spec D6).",
    )
    ties: Literal["deterministic", "random", "coin"] = Field(
        "deterministic",
        description="Among candidates whose gains tie (relative tolerance tie_tolerance): take "
        "the first in enumeration order ('deterministic'), a uniformly random one ('random'), or "
        "the first or second by a fair coin ('coin', the reference's rule without its duplicate "
        "bug). Random rules use the run's seeded generator.",
    )
    tie_tolerance: float = Field(1e-9, ge=0, description="Relative tolerance for equal gains.")
    fixed_weight: float = Field(0.1, ge=0, le=1, description="f in lambda = f + w (1 - s).")
    salience_weight: float = Field(0.4, ge=0, le=1, description="w in lambda = f + w (1 - s).")
    ensemble: int = Field(
        1,
        ge=1,
        le=100_000,
        description="Number of seeded members; > 1 returns ensemble means with sd and "
        "intervals per issue and round (members use child streams of the run's generator).",
    )
    interval: float = Field(0.9, gt=0, lt=1, description="Central interval of ensemble summaries.")
    detail: Literal["full", "summary"] = Field(
        "full",
        description="'full' records every realized exchange and the externalities per round; "
        "'summary' only forecasts, positions and counts.",
    )

    @model_validator(mode="after")
    def _check(self) -> ExchangeParams:
        if self.fixed_weight + self.salience_weight > 1.0 + 1e-12:
            raise ValueError("fixed_weight + salience_weight must not exceed 1 (positions would leave the scale)")
        if self.variant == "equal_gain" and self.p not in (None, 0.0):
            raise ValueError("p applies to variant 'rex' only")
        return self

    @property
    def p_value(self) -> float:
        if self.variant == "rex":
            return 1.0 if self.p is None else float(self.p)
        return 0.0

    @property
    def overshoot_positions(self) -> str:
        if self.overshoot is not None:
            return self.overshoot
        return "live" if self.mode == "corrected" else "stale"


# ---------------------------------------------------------------------------- closed forms


def forecast(position: np.ndarray, salience: np.ndarray, power: np.ndarray) -> float:
    """Power × salience weighted mean of positions (the model's forecast, spec §2.2).

    Examples
    --------
    >>> forecast(np.array([0.0, 100.0]), np.ones(2), np.ones(2))
    50.0
    >>> round(forecast(np.array([0.0, 100.0, 100.0]), np.ones(3), np.ones(3)), 9)
    66.666666667
    """
    w = np.asarray(salience, float) * np.asarray(power, float)
    return float(np.dot(w, position) / w.sum())


def position_update(x: float | np.ndarray, y: float | np.ndarray, salience: float | np.ndarray,
                    *, fixed_weight: float = 0.1, salience_weight: float = 0.4) -> Any:
    """New preferred position after voting ``y`` from preference ``x`` (spec §2.8).

    ``x + (f + w (1 - s)) (y - x)``: high-salience actors adjust less.

    Examples
    --------
    >>> position_update(0.0, 100.0, 1.0)
    10.0
    >>> position_update(100.0, 0.0, 1.0)
    90.0
    """
    lam = fixed_weight + salience_weight * (1.0 - np.asarray(salience, float))
    out = x + lam * (np.asarray(y, float) - x)
    return float(out) if np.ndim(out) == 0 else out


def rex_eu_max(full_dOp: float, full_dOq: float, sIp: float, sIq: float, sJp: float, sJq: float) -> tuple[float, float]:
    """Most each side can get in a REX exchange while the partner keeps a non-negative gain.

    I supplies q and demands p; J supplies p and demands q. ``full_dO*`` are the forecast
    shifts of full moves. Utilities are salience × forecast shift (Dijkstra et al. 2018).

    Returns
    -------
    (eu_max_I, eu_max_J)

    Examples
    --------
    Spec §2.10 (C6, saliences on 0-100):

    >>> i, j = rex_eu_max(100/7, 250/7, 60, 50, 10, 90)
    >>> round(i, 4), round(j, 4)
    (777.7778, 1400.0)
    """
    # J's best: I at zero gain, dOq = dOp sIp/sIq.
    dp = min(full_dOp, full_dOq * sIq / sIp) if sIp > 0 else 0.0
    eu_j = sJq * dp * sIp / sIq - sJp * dp if sIq > 0 else 0.0
    # I's best: J at zero gain, dOq = dOp sJp/sJq.
    dp = min(full_dOp, full_dOq * sJq / sJp) if sJp > 0 else full_dOp
    eu_i = sIp * dp - sIq * dp * sJp / sJq if sJq > 0 else 0.0
    return float(eu_i), float(eu_j)


# ---------------------------------------------------------------------------- data


@dataclass(frozen=True)
class ExchangeData:
    """Numbers of a multi-issue scenario as dense arrays (actors × issues).

    Positions are on each issue's own scale; ``present`` marks actor–issue stances. Saliences
    must lie in [0, 1].
    """

    actors: tuple[str, ...]
    issues: tuple[str, ...]
    position: np.ndarray
    salience: np.ndarray
    power: np.ndarray
    present: np.ndarray
    lower: np.ndarray
    upper: np.ndarray

    def __post_init__(self) -> None:
        problems = []
        s = np.where(self.present, self.salience, 0.0)
        for a, d in zip(*np.nonzero(self.present & ((s > 1.0) | (s < 0.0) | ~np.isfinite(self.salience)))):
            problems.append(Problem(
                f"salience of {self.actors[a]} on issue {self.issues[d]} outside [0, 1]; the exchange "
                "model's position update needs unit saliences (rescale explicitly, e.g. declare a percent "
                "salience scale)", column="salience", value=float(self.salience[a, d]), expected="a number in [0, 1]"))
        c = np.where(self.present, self.power, 0.0)
        for a, d in zip(*np.nonzero(self.present & ((c < 0) | ~np.isfinite(self.power)))):
            problems.append(Problem(f"power of {self.actors[a]} on issue {self.issues[d]} is negative",
                                    column="power", value=float(self.power[a, d]), expected="a number >= 0"))
        for d in range(len(self.issues)):
            if not self.lower[d] < self.upper[d]:
                problems.append(Problem(f"issue {self.issues[d]}: lower bound not below upper bound", column="bounds"))
                continue
            col = self.position[self.present[:, d], d]
            bad = (col < self.lower[d]) | (col > self.upper[d]) | ~np.isfinite(col)
            for a, v in zip(np.flatnonzero(self.present[:, d])[bad], col[bad]):
                problems.append(Problem(f"position of {self.actors[a]} outside the bounds of issue {self.issues[d]}",
                                        column="position", value=float(v),
                                        expected=f"a number in [{self.lower[d]:g}, {self.upper[d]:g}]"))
        if problems:
            raise InputError(problems)

    @property
    def unit_power(self) -> np.ndarray:
        """Power of the present entries (absent 0) divided by the power of two just above the
        largest one (exact, :mod:`detente.models.capability`). One unit for every issue: the
        model compares gains across issues. The model computes with these, so any common
        rescaling of the capabilities gives the same run and large ones do not overflow."""
        return unit_capabilities(np.where(self.present, self.power, 0.0))

    @property
    def normalised(self) -> np.ndarray:
        """Positions on 0–100 per issue (absent entries 0)."""
        x = SCALE * (self.position - self.lower) / (self.upper - self.lower)
        return np.where(self.present, x, 0.0)

    def to_scale(self, x: np.ndarray, d: int | slice = slice(None)) -> np.ndarray:
        return self.lower[d] + np.asarray(x) * (self.upper[d] - self.lower[d]) / SCALE


def data_from_scenario(scenario: Any) -> ExchangeData:
    """Dense arrays from a :class:`~detente.scenario.Scenario` (unit saliences, per-issue power)."""
    actors = tuple(scenario.actor_ids)
    issues = tuple(scenario.issue_ids)
    n, m = len(actors), len(issues)
    pos = np.zeros((n, m))
    sal = np.zeros((n, m))
    cap = np.zeros((n, m))
    pres = np.zeros((n, m), bool)
    lo = np.zeros(m)
    hi = np.zeros(m)
    ai = {a: k for k, a in enumerate(actors)}
    for d, iid in enumerate(issues):
        arr = scenario.issue_arrays(iid)
        lo[d], hi[d] = arr.issue.lower, arr.issue.upper
        idx = np.array([ai[a] for a in arr.actors], dtype=int)
        if len(idx):
            pos[idx, d] = arr.position
            sal[idx, d] = arr.salience
            cap[idx, d] = arr.capability
            pres[idx, d] = True
    return ExchangeData(actors, issues, pos, sal, cap, pres, lo, hi)


# ---------------------------------------------------------------------------- one round


@dataclass
class RoundOutcome:
    """What happened in one round (positions normalised to 0–100)."""

    start: np.ndarray
    voting: np.ndarray
    next_start: np.ndarray
    preference_forecast: np.ndarray
    voting_forecast: np.ndarray
    next_forecast: np.ndarray
    candidates: int
    groups: dict[tuple[int, int], tuple[int, int, int, int]]
    exchanges: list[dict[str, Any]]
    externalities: np.ndarray  # actors × (own, inner+, inner-, outer+, outer-)
    ties: int
    overshoots: int


_EXT_KEYS = ("own", "inner_positive", "inner_negative", "outer_positive", "outer_negative")


class _Round:
    """Candidate exchanges of one round as parallel arrays, and their execution.

    Every candidate has two sides: I supplies issue q (the later issue of its pair) and
    demands p; J supplies p and demands q. Per-side numbers come in pairs (side I, side J) so
    that both sides are computed by one array operation.

    Speed (issue 5). The cost of a round is about one recomputation per executed exchange,
    each of about 100 candidates, so the cost is the number of numpy calls per execution,
    not the arithmetic. Therefore: all numbers of a candidate sit in one row of ``F`` (one
    gather per recomputation, few cache lines); the candidates touched by an execution are
    found in two lookup tables keyed by actor × issue (``_sup``: the actor supplies the
    issue; ``_dem``: the actor demands it), each entry carrying the column it updates;
    selection is an ``argmax`` over a compacted copy of the live gains (a candidate that
    became invalid never becomes valid again within a round). The stale overshoot bases need
    no per-candidate memory: every live candidate in which actor b demands issue d has
    recorded the same last vote of each partner a of b on d (they are all updated at every
    such exchange), so one number per (b, d, a) replaces the reference's per-candidate
    records. All floating-point expressions are those of the straightforward version, so
    results are bit-for-bit unchanged.
    """

    # columns of F, one row per candidate; pairs are (side I, side J)
    #   0/1 w = c s of the supplier on its supply issue (wIq, wJp)
    #   2/3 W of the supply issue (Wq, Wp)
    #   4/5 z = partner's position on the supply issue (zJ = X0[J, q], zI = X0[I, p])
    #   6/7 x0 = start-of-round supply position (X0[I, q], X0[J, p])
    #   8..11 sIp, sIq, sJp, sJq;  12 rq = dOq/dOp under equal gain, 13 one, 14 rq again (for
    #   stacked products);  15 gf = G/dOp
    #   16/17 current supply position (successive concessions);  18/19 stale overshoot base
    #   20/21 reference mode, stale: the vote of the supplier itself recorded in the candidate's
    #   private updates (NaN: none), which the reference uses for the truncation amount
    # columns of K (int): supply keys actor*m + issue (kIs, kJs), supply issues (q, p)
    # columns of R (last computation): 0 dOq, 1 dOp, 2 yI, 3 yJ, 4 bI, 5 bJ, 6 euI, 7 euJ, 8 cI, 9 cJ
    #   (6, 7 only with REX; equal gain has euI = euJ = G)

    def __init__(self, X0: np.ndarray, S: np.ndarray, C: np.ndarray, P: np.ndarray,
                 params: ExchangeParams, rng: np.random.Generator | None):
        self.X0, self.S, self.C, self.P = X0, S, C, P
        self.n, self.m = X0.shape
        self.params = params
        self.rng = rng
        self.pr = params.p_value
        self.live = params.overshoot_positions == "live"
        self.refhist = params.mode == "reference"
        self.recompute_all = params.recompute == "all"
        self.tol = params.tie_tolerance
        self.listorder = self.refhist and params.ties in ("deterministic", "coin")
        WS = np.where(P, C * S, 0.0)
        self.WS = WS
        self.W = WS.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            self.O0 = np.where(self.W > 0, (WS * X0).sum(axis=0) / self.W, np.nan)
        self.Xv = X0.copy()  # live voting positions
        self.Ov = self.O0.copy()
        self.hist_sign = np.zeros(self.n * self.m)  # sign of the executed moves per actor-issue (flat)
        self.last: dict[tuple[int, int, int], float] = {}  # stale mode: (b, d, a) -> a's last vote recorded
        self.ties = 0
        self.overshoots = 0
        self.executed: list[dict[str, Any]] = []
        self._steps = 0
        with np.errstate(divide="ignore", invalid="ignore"):
            self._enumerate()

    # -- candidates -------------------------------------------------------------------
    def _enumerate(self) -> None:
        X0, S, P, O, n, m = self.X0, self.S, self.P, self.O0, self.n, self.m
        left = X0 <= O[None, :]
        pp, qq = np.triu_indices(m, 1)  # issue pairs in input order (p-major)
        both = P[:, pp] & P[:, qq]
        g = np.where(both, left[:, pp].astype(int) + 2 * left[:, qq].astype(int), -1).T  # pairs x actors
        counts = np.stack([np.count_nonzero(g == k, axis=1) for k in range(4)], axis=1)
        pairs = list(zip(pp.tolist(), qq.tolist()))
        self.groups = {pq: tuple(c) for pq, c in zip(pairs, counts.tolist())}
        self.group_of = {pq: g[k] for k, pq in enumerate(pairs)}
        # blocks (pair, kind): kind 0 = A x D, kind 1 = B x C; rows i-major within a block
        Lm = np.stack([g == 0, g == 1], axis=1).reshape(2 * len(pp), n)
        Rm = np.stack([g == 3, g == 2], axis=1).reshape(2 * len(pp), n)
        blkL, aL = np.nonzero(Lm)
        _, aR = np.nonzero(Rm)
        nR = np.count_nonzero(Rm, axis=1)
        reps = nR[blkL]
        i = np.repeat(aL, reps)
        blk = np.repeat(blkL, reps)
        j = aR[(np.cumsum(nR) - nR)[blk] + np.arange(len(i)) - np.repeat(np.cumsum(reps) - reps, reps)]
        p, q, kind = pp[blk // 2], qq[blk // 2], blk % 2
        N = self.N = len(i)
        # who supplies what: i supplies p (i is J) if s_ip/s_iq < s_jp/s_jq
        Sf, X0f, WSf = S.ravel(), X0.ravel(), self.WS.ravel()
        ip, iq, jp, jq = i * m + p, i * m + q, j * m + p, j * m + q
        Sip, Siq, Sjp, Sjq = Sf.take(ip), Sf.take(iq), Sf.take(jp), Sf.take(jq)
        isp = Sip / Siq < Sjp / Sjq
        I, J = np.where(isp, j, i), np.where(isp, i, j)
        kIs, kJs = np.where(isp, jq, iq), np.where(isp, ip, jp)  # supply keys: I on q, J on p
        kId, kJd = np.where(isp, jp, ip), np.where(isp, iq, jq)  # demand keys: I on p, J on q
        Fc = np.empty((_NF, N))
        Fc[20:22] = np.nan
        WSf.take(kIs, out=Fc[0])
        WSf.take(kJs, out=Fc[1])
        self.W.take(q, out=Fc[2])
        self.W.take(p, out=Fc[3])
        X0f.take(kJd, out=Fc[4])
        X0f.take(kId, out=Fc[5])
        X0f.take(kIs, out=Fc[6])
        X0f.take(kJs, out=Fc[7])
        sIp, sIq, sJp, sJq = Fc[8:12]
        np.copyto(sIp, np.where(isp, Sjp, Sip))
        np.copyto(sIq, np.where(isp, Sjq, Siq))
        np.copyto(sJp, np.where(isp, Sip, Sjp))
        np.copyto(sJq, np.where(isp, Siq, Sjq))
        np.divide(sIp + sJp, sIq + sJq, out=Fc[12])  # dOq / dOp under equal gain
        Fc[13] = 1.0
        Fc[14] = Fc[12]
        np.divide(sIp * sJq - sIq * sJp, sIq + sJq, out=Fc[15])  # G / dOp
        Fc[16:18] = Fc[6:8]
        self.O0.take(q, out=Fc[18])
        self.O0.take(p, out=Fc[19])
        Kc = np.array([kIs, kJs, q, p]).reshape(4, N)
        self.IJPQ = np.array([I, J, p, q, kind]).reshape(5, N).T.copy()
        # lookup tables keyed by actor*m + issue; entries carry the column of F they touch
        ar = np.arange(N)
        ar2 = np.concatenate((ar, ar))
        side = np.repeat(np.array([0, 1]), N)
        # supply: flat index of the supplier's position in F and of its history in RH
        self._sup = self._table(np.concatenate((kIs, kJs)), n * m, ar2, ar2 * _NF + 16 + side, ar2 * 6 + side)
        # demand: I demands p (its J supplies p: base column 19, supplier J) or J demands q
        # (base column 18, supplier I); flat index of the base in F and the supplier
        self._dem = self._table(np.concatenate((kId, kJd)), n * m, ar2, ar2 * _NF + 19 - side,
                                np.concatenate((J, I)))
        if self.recompute_all:
            self._iss = self._table(np.concatenate((p, q)), m, ar2)
        self.R = np.zeros((N, 10))
        self.alive = np.ones(N, bool)
        self.slot = np.arange(N)
        self.Gc = np.zeros(N)  # gains of the candidates in self.act (-inf = invalid or executed)
        self.act = ar
        if self.listorder:
            self.lpos = np.arange(N, dtype=np.int64)  # place in the reference's list (_reorder)
            self._front, self._back = 0, N
        if self.refhist:
            # reference-mode history per side (I, J): sum of the frozen moves, the last computed
            # move, and the signs seen: 0 none, +1 / -1 only positive / negative, NaN both
            self.RH = np.zeros((N, 6))
            self.RHf = self.RH.ravel()
        if N:
            self._compute(np.arange(N), Fc, Kc)
        self.F = Fc.T.copy()
        self.Ff = self.F.ravel()
        self.K = Kc.T.copy()
        if not self.live:  # scalars of the stale records as Python floats
            self._x0, self._ws, self._w = X0.tolist(), self.WS.tolist(), self.W.tolist()

    @staticmethod
    def _table(key: np.ndarray, size: int, cand: np.ndarray, *cols: np.ndarray) -> tuple:
        """Entries (candidate, extra columns) sorted by key (stable), and the start of each
        key's run (a Python list)."""
        small = np.int16 if size < 2**15 else np.int32 if size < 2**31 else np.int64
        order = np.argsort(key.astype(small), kind="stable")  # radix sort for int16
        starts = np.zeros(size + 1, np.int64)
        np.cumsum(np.bincount(key, minlength=size), out=starts[1:])
        return (cand[order], *(c[order] for c in cols), starts.tolist())

    # -- equal gain, overshoot, REX, validity -------------------------------------------
    def _compute(self, idx: np.ndarray, st: np.ndarray | None = None, kt: np.ndarray | None = None) -> None:
        """(Re)compute candidates ``idx`` (all alive) from their current supply positions (§2.4–§2.6).

        ``st``/``kt``: the rows of F/K of ``idx`` transposed (given for the initial computation).
        """
        every = st is not None  # initial computation of all candidates: idx = arange(N)
        k = self.N if every else len(idx)
        if k == 0:
            return
        if st is None or kt is None:
            st = np.ascontiguousarray(self.F.take(idx, axis=0).T)  # strided 2-D operands are slow
            kt = np.ascontiguousarray(self.K.take(idx, axis=0).T)
        w2, W2, z2, x2 = st[0:2], st[2:4], st[4:6], st[16:18]
        gf = st[15]
        buf = np.empty((10, k))
        # forecast before the move, on each side's supply issue
        b2 = buf[4:6]
        if self.live:
            self.Ov.take(kt[2:4], out=b2)
        else:
            np.add(st[18:20], w2 * (x2 - st[6:8]) / W2, out=b2)
        d2 = z2 - x2
        sg2 = np.sign(d2)
        fd2 = np.abs(d2) * w2 / W2  # forecast shifts of full moves: fdOq (I on q), fdOp (J on p)
        fdOq, fdOp = fd2
        # equal gain: J moves fully on p unless I would then have to move past J on q
        eg = fdOp * st[12:14]  # fdOp rq, fdOp
        le = eg[0] <= fdOq  # not swapped
        T = np.where(le, eg, fdOq / st[13:15])  # dOq, dOp (fdOq / 1 = fdOq, fdOq / rq)
        # overshoot limit (spec §2.5): side I (on q) first, the forecast must not pass J's
        # position; then side J (on p) with the reduced shift; one factor scales both shifts.
        # Both sides at once with the unreduced shifts, side J again where side I was cut
        # (elsewhere dOp * 1.0 = dOp, so this is exact)
        a2 = b2 - z2
        aa2 = np.abs(a2)
        # (a forecast that starts or ends at the partner's position does not pass it: exact
        # arithmetic says so, float noise must not decide)
        e2 = a2 + sg2 * T
        c2 = np.less(a2 * e2, 0.0) & (aa2 > _AT) & (np.abs(e2) > _AT)
        cut2 = aa2  # how far the forecast may still move
        if self.refhist and not self.live:
            # the reference computes the truncation amount with the supplier at its own vote as
            # recorded in the candidate's private updates, when there is one (its base for
            # detecting the overshoot has the supplier at its current position)
            r2 = st[20:22]
            own = ~np.isnan(r2)
            if own.any():
                cut2 = np.where(own, np.abs(st[18:20] + w2 * (r2 - st[6:8]) / W2 - z2), aa2)
        f2 = np.where(c2, cut2 / T, 1.0)
        if c2[0].any():
            dp1 = T[1] * f2[0]
            aJ = a2[1]
            eJ = aJ + sg2[1] * dp1
            np.less(aJ * eJ, 0.0, out=c2[1])
            c2[1] &= (aa2[1] > _AT) & (np.abs(eJ) > _AT)
            f2[1] = np.where(c2[1], cut2[1] / dp1, 1.0)
        f = f2[0] * f2[1]
        dO2 = buf[0:2]
        np.multiply(T, f, out=dO2)
        G = dO2[1] * gf
        m2 = dO2 * W2 / w2  # mI, mJ
        ok = (np.minimum(m2[0], m2[1]) > _MIN) & (G >= _MIN)
        self.overshoots += int(np.count_nonzero(c2 & ok))
        buf[8:10] = c2
        full = f == 1.0
        fm2 = np.empty((2, k), bool)  # full moves: I (swapped), J (not swapped)
        np.greater(full, le, out=fm2[0])
        np.logical_and(full, le, out=fm2[1])
        if self.refhist:
            rh = np.ascontiguousarray((self.RH[idx] if every else self.RH.take(idx, axis=0)).T)
        if self.pr > 0 and self.refhist:
            # the reference's REX: drawn for every candidate whose *untruncated* equal-gain
            # moves were valid; the randomized moves alone then decide validity
            buf[6], buf[7] = G, G
            mT = T * W2 / w2
            full0 = np.abs(d2)  # a full move is exactly the distance (0 -> 100 is 100, not 100 + ulp)
            np.copyto(mT[0], full0[0], where=~le)
            np.copyto(mT[1], full0[1], where=le)
            msT = sg2 * mT
            ok = ((np.minimum(mT[0], mT[1]) > _MIN) & (np.maximum(mT[0], mT[1]) <= SCALE)
                  & (T[1] * gf >= _MIN))
            good = (rh[0:2] + msT <= SCALE) & (rh[4:6] * msT >= 0)
            ok &= good[0]
            ok &= good[1]
            y2 = buf[2:4]
            np.multiply(sg2, m2, out=y2)
            np.add(x2, y2, out=y2)
            np.copyto(y2, z2, where=fm2)
            kk = np.flatnonzero(ok)
            if len(kk):
                cand = kk if every else idx[kk]
                yI, yJ, okr, euI, euJ = self._rex_reference(
                    kk, self._draws(cand), G, x2, z2, w2, W2, b2, cut2, y2, st[8:12], fdOq, fdOp)
                y2[0, kk], y2[1, kk] = yI, yJ
                ok[kk] &= okr
                buf[6, kk], buf[7, kk] = euI, euJ
                np.abs((y2 - x2) * w2 / W2, out=dO2)  # realised forecast shifts (dOq, dOp)
        else:
            if self.pr > 0:
                buf[6], buf[7] = G, G
                kk = np.flatnonzero(ok)
                if len(kk):
                    rnd = self._draws(kk if every else idx[kk])
                    sIp, sIq, sJp, sJq = st[8:12]
                    dOp, dOq, mI, mJ, fmI, fmJ, euI, euJ = self._rex(
                        kk, rnd, G, dO2[1], dO2[0], m2[0], m2[1], fm2[0], fm2[1], fdOp, fdOq, sIp, sIq, sJp, sJq,
                        w2[0], w2[1], W2[1], W2[0], b2[0], b2[1], z2[1], z2[0], sg2[0], sg2[1])
                    ok &= (mI > _MIN) & (mJ > _MIN)
                    dO2[0], dO2[1] = dOq, dOp
                    m2 = np.array([mI, mJ])
                    fm2 = np.array([fmI, fmJ])
                    buf[6], buf[7] = euI, euJ
            y2 = buf[2:4]
            np.multiply(sg2, m2, out=y2)
            np.add(x2, y2, out=y2)
            np.copyto(y2, z2, where=fm2)
        ms2 = y2 - x2  # signed moves
        # move history within the round (spec §2.6)
        if self.refhist:
            # the reference's history: at a successive concession the candidate froze its own
            # last (never executed) move into the history instead of the executed one (spec Q1;
            # done in _execute)
            good = (rh[0:2] + ms2 <= SCALE) & (rh[4:6] * ms2 >= 0)  # sum <= 100, no reversal
            ok &= good[0]
            ok &= good[1]
            self.RH[idx, 2:4] = ms2.T
        else:
            # no reversal of executed moves within the round; with moves towards partners inside
            # [0, 100] the sum of the history cannot exceed 100 then
            good = self.hist_sign.take(kt[0:2]) * ms2 >= 0
            ok &= good[0]
            ok &= good[1]
        Gn = np.where(ok, G, -np.inf)
        if self.listorder and not every:
            sl = self.slot.take(idx)
            self._reorder(idx, self.Gc.take(sl), Gn)
            self.Gc[sl] = Gn
        else:
            self.Gc[idx if every else self.slot.take(idx)] = Gn
        self.alive[idx] = ok
        self.R[idx] = buf.T

    @staticmethod
    def _overshoot(dOp, dOq, bI, bJ, zI, zJ, sgI, sgJ):
        """Forecast-overshoot limit (spec §2.5) as a common factor on both forecast shifts.

        Side I (on q) first: the forecast must not pass J's position zJ; then side J (on p)
        with the reduced shift. Both shifts keep their ratio, so one factor scales moves and
        gain alike. (Used by REX; ``_compute`` has the same steps inline.)
        """
        aI = bI - zJ
        eI = aI + sgI * dOq
        cI = (aI * eI < 0) & (np.abs(aI) > _AT) & (np.abs(eI) > _AT)
        fI = np.where(cI, np.abs(aI) / dOq, 1.0)
        aJ = bJ - zI
        dp1 = dOp * fI
        eJ = aJ + sgJ * dp1
        cJ = (aJ * eJ < 0) & (np.abs(aJ) > _AT) & (np.abs(eJ) > _AT)
        fJ = np.where(cJ, np.abs(aJ) / dp1, 1.0)
        return fI * fJ, cI, cJ

    def _draws(self, cand: np.ndarray) -> np.ndarray:
        """REX draws (u, v, z) for candidates ``cand`` (rows), from the run's generator.

        One row per (re)computation of a candidate, in candidate order. Without a generator
        every draw is 0.25 (a deterministic, documented fallback used only by direct calls).
        """
        if self.rng is None:
            return np.full((len(cand), 3), 0.25)
        return self.rng.random((len(cand), 3))

    def _rex_reference(self, k, rnd, G, x2, z2, w2, W2, b2, cut2, y2, sal, fdOq, fdOp):
        """REX as the reference implementation computes it (``mode="reference"``, spec §2.10).

        For the candidates at positions ``k`` (their untruncated equal-gain moves were valid),
        with draws ``rnd`` = (u, v, z) and the equal-gain solution after the overshoot limit
        (gain ``G``, votes ``y2``, and ``cut2``, each side's forecast distance to its partner's
        position as the reference's truncation amount measures it):

        * eu_max. Shifts Δ_I on q and Δ_J on p are those of full moves, except that a side
          whose equal-gain vote equals its own position on its *demand* issue (the
          reference's "Pareto optimal" test, which compares positions on different issues)
          uses the shift of that vote. The side whose partner would gain more from its full
          move than it would gain from the partner's ("actor") gets ``gain − loss·s_a,supply/s_o,demand``, the other
          ``gain·s_o,demand/s_a,supply − loss`` (C6: 777.78 and 1400), unless the Pareto test
          held with a positive full-move utility, which substitutes a third expression.
        * The drawn side A (I if u < 0.5) is to receive ``EU_A = G + p z (eu_max_A − G)``
          (v < 0.5) or ``G − p z G``. A moves *fully* to its partner B's position; B's shift
          follows from EU_A. If B would then pass A's position, B moves fully and A's shift
          follows from EU_A (in absolute value, so a negative required shift becomes a move
          towards B, possibly past it). Otherwise, if A's full move would carry the forecast
          past B's position, B's shift is recomputed from the shift that puts the forecast
          exactly on B's position — but A's vote is still a full move, applied *upwards*
          (the reference flips the already signed move a second time): towards B when B is
          above A, away from B by the same distance when B is below.
        * A move is valid if 1e-10 < |move| ≤ 100 and the vote stays inside [0, 100]; the
          move history is checked by the caller. G (the ranking key) is unchanged.

        Returns (yI, yJ, valid, eu_I, eu_J) for the rows ``k``; eu of A is EU_A, of B the
        absolute value of B's utility (both as the reference reports them).
        """
        pr = self.pr
        u, v, zr = rnd[:, 0], rnd[:, 1], rnd[:, 2]
        g = G[k]
        xI, xJ = x2[0, k], x2[1, k]
        zJ, zI = z2[0, k], z2[1, k]  # I moves towards zJ (J on q), J towards zI (I on p)
        wI, wJ, WI, WJ = w2[0, k], w2[1, k], W2[0, k], W2[1, k]
        bI, bJ = b2[0, k], b2[1, k]
        yI0, yJ0 = y2[0, k], y2[1, k]
        sIp, sIq, sJp, sJq = (a[k] for a in sal)
        # eu_max (the reference's calculate_maximum_utility)
        parI = zI == yI0  # I's position on p (its demand issue) equals its vote on q
        parJ = zJ == yJ0
        dI = np.where(parI, np.abs(yI0 - xI) * wI / WI, fdOq[k])
        dJ = np.where(parJ, np.abs(yJ0 - xJ) * wJ / WJ, fdOp[k])
        g2, g1 = dJ * sIp, dI * sJq  # I's gain from J's move, J's gain from I's move
        l1, l2 = dJ * sJp, dI * sIq  # J's loss, I's loss
        ow = np.full(len(k), np.nan)
        ow = np.where(parI & (g1 - l1 > 0), g2 - l1 / sJq * sIq, ow)
        ow = np.where(parJ & (g2 - l2 > 0), g1 - l2 / sIp * sJp, ow)
        use_ow = ~np.isnan(ow) & (ow != 0)
        actJ = g2 > g1
        emI = np.where(actJ, np.where(use_ow, ow, g1 * sIp / sJp - l2), g2 - l1 * sIq / sJq)
        emJ = np.where(actJ, g1 - l2 * sJp / sIp, np.where(use_ow, ow, g2 * sJq / sIq - l1))
        # the drawn side A and its utility
        pickI = u < 0.5
        EU = np.where(v < 0.5, g + pr * zr * (np.where(pickI, emI, emJ) - g), g - pr * zr * g)

        def side(a_is_i):
            return (np.where(a_is_i, xI, xJ), np.where(a_is_i, zJ, zI), np.where(a_is_i, wI, wJ),
                    np.where(a_is_i, WI, WJ), np.where(a_is_i, bI, bJ),
                    np.where(a_is_i, sIq, sJp), np.where(a_is_i, sIp, sJq))

        xA, zA, wA, WA, bA, sAs, sAd = side(pickI)
        xB, zB, wB, WB, _, sBs, sBd = side(~pickI)
        cutA = np.where(pickI, cut2[0, k], cut2[1, k])
        fullA, fullB = np.abs(xA - zA), np.abs(xB - zB)
        dA = fullA * wA / WA
        dB = (EU + dA * sAs) / sAd
        tA, tB = fullA, dB * WB / wB
        euB = np.abs(dB * sBs - dA * sBd)
        # B would pass A: B moves fully, A's shift from EU_A
        c1 = np.abs(tB) > fullB
        dB1 = fullB * wB / WB
        dA1 = np.abs((EU - dB1 * sAd) / sAs)
        tA1 = dA1 * WA / wA
        euB = np.where(c1 & (np.abs(tA1) < fullA), np.abs(dB1 * sBs - dA1 * sBd), euB)
        tA = np.where(c1, tA1, tA)
        tB = np.where(c1, fullB, tB)
        # else: would A's full move carry the forecast past B's position?
        bA1 = bA + wA * (zA - xA) / WA
        over = ~c1 & (zA > np.minimum(bA, bA1) + _AT) & (zA < np.maximum(bA, bA1) - _AT)
        dA2 = cutA  # the shift that puts the forecast on B's position
        dB2 = (EU + dA2 * sAs) / sAd
        tB = np.where(over, dB2 * WB / wB, tB)
        euB = np.where(over, np.abs(dB2 * sBs - dA2 * sBd), euB)
        flipA = xA > zA
        tA = np.where(over, np.where(flipA, -fullA, fullA), tA)
        mA = np.where(flipA, -tA, tA)
        mB = np.where(xB > zB, -tB, tB)
        yA, yB = xA + mA, xB + mB
        okr = np.ones(len(k), bool)
        for m_, y_ in ((mA, yA), (mB, yB)):
            am = np.abs(m_)
            okr &= (am > _MIN) & (am <= SCALE) & (y_ >= 0.0) & (y_ <= SCALE)
        yI, yJ = np.where(pickI, yA, yB), np.where(pickI, yB, yA)
        euI, euJ = np.where(pickI, EU, euB), np.where(pickI, euB, EU)
        return yI, yJ, okr, euI, euJ

    def _rex(self, k, rnd, G, dOp, dOq, mI, mJ, fmI, fmJ, fdOp, fdOq, sIp, sIq, sJp, sJq,
             wIq, wJp, Wp, Wq, bI, bJ, zI, zJ, sgI, sgJ):
        """Randomized equal gain (spec §2.10) for the valid candidates at positions ``k``.

        One side A (I if u < 0.5) is drawn to obtain ``EU_A = G + p z (eu_max_A - G)`` (v < 0.5,
        "wins") or ``G - p z G`` ("loses"), where eu_max_A is the most A can get while the
        partner keeps a non-negative gain. The moves are recomputed so that A gets EU_A: J
        moves fully on p unless I would then move past J's position, in which case I moves
        fully on q. G (the ranking key) stays the equal-gain gain.

        This is the corrected mode's reading (Dijkstra et al. 2018): eu_max bounded by full
        moves on both issues, the overshoot limit applied to the randomized moves (both shifts
        scaled at the drawn rate), no negative shifts. Reference mode uses
        ``_rex_reference`` instead.

        Returns the arrays with entries ``k`` replaced and the per-side utilities.
        """
        pr = self.pr
        dOp, dOq, mI, mJ, fmI, fmJ = dOp.copy(), dOq.copy(), mI.copy(), mJ.copy(), fmI.copy(), fmJ.copy()
        euI, euJ = G.copy(), G.copy()
        u, v, z = rnd[:, 0], rnd[:, 1], rnd[:, 2]
        g = G[k]
        fp, fq = fdOp[k], fdOq[k]
        sip, siq, sjp, sjq = sIp[k], sIq[k], sJp[k], sJq[k]
        dpJ = np.minimum(fp, fq * siq / sip)
        eumJ = sjq * dpJ * sip / siq - sjp * dpJ
        dpI = np.minimum(fp, fq * sjq / sjp)
        eumI = sip * dpI - siq * dpI * sjp / sjq
        pickI = u < 0.5
        eum = np.where(pickI, eumI, eumJ)
        EU = np.where(v < 0.5, g + pr * z * (eum - g), g - pr * z * g)
        dq = np.where(pickI, (sip * fp - EU) / siq, (EU + sjp * fp) / sjq)
        swap = ~(dq <= fq)
        dp = np.where(swap, np.where(pickI, (EU + siq * fq) / sip, (sjq * fq - EU) / sjp), fp)
        dq = np.where(swap, fq, dq)
        dq = np.maximum(dq, 0.0)
        dp = np.maximum(dp, 0.0)
        f, _, _ = self._overshoot(dp, dq, bI[k], bJ[k], zI[k], zJ[k], sgI[k], sgJ[k])
        dp, dq = dp * f, dq * f
        full = f == 1.0
        fI, fJ = swap & full, ~swap & full
        dOp[k], dOq[k] = dp, dq
        mI[k] = dq * Wq[k] / wIq[k]
        mJ[k] = dp * Wp[k] / wJp[k]
        fmI[k], fmJ[k] = fI, fJ
        euI[k] = sip * dp - siq * dq
        euJ[k] = sjq * dq - sjp * dp
        return dOp, dOq, mI, mJ, fmI, fmJ, euI, euJ

    # -- execution ---------------------------------------------------------------------
    def _select(self) -> int:
        self._steps += 1
        if not self._steps & 15:  # every 16 steps: shrink the selection copy if half of it is dead
            keep = self.Gc > -np.inf
            if np.count_nonzero(keep) * 2 <= len(keep):
                self.act = self.act[keep]
                self.Gc = self.Gc[keep]
                self.slot[self.act] = np.arange(len(self.act))
        Gc = self.Gc
        if len(Gc) == 0:
            return -1
        best = int(Gc.argmax())
        gmax = Gc[best]
        if gmax == -np.inf:
            return -1
        over = Gc >= gmax - self.tol * abs(gmax)
        if np.count_nonzero(over) > 1:
            tied = self.act[np.flatnonzero(over)]
            self.ties += 1
            if self.listorder:
                lp = self.lpos.take(tied)
                if self.params.ties == "coin" and self.rng is not None:
                    # the reference's coin: between the first two of its list; when the second
                    # wins, the first goes to the back of the list (its duplicate-candidate
                    # bug, Q2, is not reproduced)
                    first, second = tied[np.argsort(lp, kind="stable")[:2]]
                    if self.rng.random() >= 0.5:
                        self._back += 1
                        self.lpos[first] = self._back
                        return int(second)
                    return int(first)
                return int(tied[lp.argmin()])
            if self.params.ties == "random" and self.rng is not None:
                return int(tied[self.rng.integers(len(tied))])
            if self.params.ties == "coin" and self.rng is not None:
                return int(tied[1] if self.rng.random() < 0.5 else tied[0])
            return int(tied[0])
        return int(self.act[best])

    def _reorder(self, idx: np.ndarray, old: np.ndarray, new: np.ndarray) -> None:
        """Reference mode, deterministic ties: keep ``lpos`` in the reference's list order.

        The reference keeps its candidates in one list, sorts it stably by gain (highest first)
        before every execution and takes the head; the remaining list keeps that order. Among
        equal gains the winner is therefore the one that came first in the *previous* sort,
        which after gains have changed is not the enumeration order. Instead of sorting all
        candidates at every execution, ``lpos`` only has to order candidates of equal gain
        the way the list does: a candidate whose gain *fell* was above every candidate of its
        new gain in the previous list, so it moves in front of all of them; one whose gain
        *rose* moves behind them; simultaneous movers keep their previous relative order.
        Candidates whose gain did not change keep their place. Gains within the tie
        tolerance count as equal.
        """
        with np.errstate(invalid="ignore"):  # -inf (died): the comparisons below are False
            diff = new - old
            moved = np.abs(diff) > self.tol * np.maximum(np.abs(old), np.abs(new))
        if not moved.any():
            return
        fell = moved & (diff < 0)
        for mask, front in ((fell, True), (moved & ~fell, False)):
            if not mask.any():
                continue
            c, g = idx[mask], old[mask]
            k = len(c)
            if k > 1:  # previous list order: by old gain (equal within the tolerance), then place
                o = np.argsort(-g, kind="stable")
                gs = g[o]
                grp = np.concatenate(([0], np.cumsum(gs[:-1] - gs[1:] > self.tol * np.abs(gs[:-1]))))
                c = c[o][np.lexsort((self.lpos.take(c[o]), grp))]
            if front:
                self.lpos[c] = self._front - k + np.arange(k)
                self._front -= k
            else:
                self.lpos[c] = self._back + 1 + np.arange(k)
                self._back += k

    def execute_all(self) -> None:
        """Execute candidates best-first until none is left (spec §2.7)."""
        if self.N == 0:
            return
        with np.errstate(divide="ignore", invalid="ignore"):
            while True:
                r = self._select()
                if r < 0:
                    break
                self._execute(r)

    def _execute(self, r: int) -> None:
        m = self.m
        Ir, Jr, pr, qr, kind = self.IJPQ[r].tolist()
        res = self.R[r].tolist()
        fr = self.F[r].tolist()
        yIr, yJr = res[2], res[3]
        wIq, wJp, Wq, Wp = fr[0:4]
        xIr, xJr = fr[16], fr[17]
        s = self.slot[r]
        self._record(Ir, Jr, pr, qr, kind, float(self.Gc[s]), res, fr)
        self.Gc[s] = -np.inf
        al = self.alive
        al[r] = False
        # live votes and forecasts
        Xv, Ov = self.Xv, self.Ov
        Ov[qr] += wIq * (yIr - Xv[Ir, qr]) / Wq
        Ov[pr] += wJp * (yJr - Xv[Jr, pr]) / Wp
        Xv[Ir, qr] = yIr
        Xv[Jr, pr] = yJr
        kIq, kJp = Ir * m + qr, Jr * m + pr
        mIr, mJr = yIr - xIr, yJr - xJr
        if mIr:
            self.hist_sign[kIq] = 1.0 if mIr > 0 else -1.0
        if mJr:
            self.hist_sign[kJp] = 1.0 if mJr > 0 else -1.0
        # successive concessions: candidates in which an actor of R supplies the same issue
        # start from R's vote
        Ff = self.Ff
        sc, sflat, shist, st = self._sup
        a0, a1, b0, b1 = st[kIq], st[kIq + 1], st[kJp], st[kJp + 1]
        s1, s2 = sc[a0:a1], sc[b0:b1]
        Ff[sflat[a0:a1]] = yIr
        Ff[sflat[b0:b1]] = yJr
        # an actor of R demanding the same issue as in R: R's supplier of that issue moved
        dc, dflat, dsup, dt = self._dem
        kJq, kIp = Jr * m + qr, Ir * m + pr
        c0, c1, e0, e1 = dt[kJq], dt[kJq + 1], dt[kIp], dt[kIp + 1]
        parts = [s1, s2, dc[c0:c1], dc[e0:e1]]
        if self.recompute_all:
            ic, ist = self._iss
            parts += [ic[ist[pr]:ist[pr + 1]], ic[ist[qr]:ist[qr + 1]]]
        cat = np.concatenate(parts)
        live = al.take(cat)
        ns, nd1 = len(s1) + len(s2), c1 - c0
        if not self.live:
            # stale mode: the candidates record the supplier's new vote in their overshoot base
            # (not those in which that supplier is their own supplier of the issue)
            # (not those in which that supplier is their own supplier of the issue: reference
            # mode keeps its recorded vote apart, column 20/21 = base column + 2)
            if c1 > c0:
                dlt, rec = self._private(Jr, qr, Ir, yIr)
                lv, own = live[ns:ns + nd1], dsup[c0:c1] == Ir
                Ff[dflat[c0:c1][lv & ~own]] += dlt
                if self.refhist:
                    Ff[dflat[c0:c1][lv & own] + 2] = rec
            if e1 > e0:
                dlt, rec = self._private(Ir, pr, Jr, yJr)
                lv, own = live[ns + nd1:ns + nd1 + e1 - e0], dsup[e0:e1] == Jr
                Ff[dflat[e0:e1][lv & ~own]] += dlt
                if self.refhist:
                    Ff[dflat[e0:e1][lv & own] + 2] = rec
        if self.refhist and ns:
            # the reference's history: a successive concession appends the candidate's own last
            # computed move (spec Q1)
            h = np.concatenate((shist[a0:a1], shist[b0:b1]))[live[:ns]]
            if len(h):
                RHf = self.RHf
                o = RHf.take(h + 2)
                RHf[h] += o
                # sign record: a move against the recorded sign makes it NaN ("both"), for good
                h += 4
                RHf[h] = np.where(RHf.take(h) * o >= 0, np.sign(o), np.nan)
        cat = cat[live]
        if len(cat) == 0:
            return
        cat.sort()
        self._compute(cat[np.concatenate(([True], cat[1:] != cat[:-1]))])

    def _private(self, b: int, d: int, a: int, y: float) -> tuple[float, float]:
        """Stale mode: actor a voted y on issue d in an exchange with b; returns the change of
        the overshoot base of the candidates in which b demands d (spec §2.5, §2.7) and the
        vote now recorded for a."""
        key = (b, d, a)
        x0 = self._x0[a][d]
        old = self.last.get(key)
        rec = y
        if old is not None and self.refhist:
            # the reference keeps, of the recorded and the new vote, the one nearer a's
            # start-of-round position (after successive concessions: the first vote)
            rec = (old if old < y else y) if x0 <= old else (old if old > y else y)
        self.last[key] = rec
        return self._ws[a][d] / self._w[d] * (rec - (x0 if old is None else old)), rec

    def _record(self, I: int, J: int, p: int, q: int, kind: int, G: float, res: list[float],
                fr: list[float]) -> None:
        dOq, dOp, yI, yJ, bI, bJ, euI, euJ, cI, cJ = res
        wIq, wJp, Wq, Wp, zJ, zI = fr[0:6]
        xI, xJ = fr[16], fr[17]
        if self.pr == 0:
            euI = euJ = G
        self.executed.append(dict(
            I=I, J=J, p=p, q=q, kind=kind, G=G, dOp=dOp, dOq=dOq, xI=xI, xJ=xJ, yI=yI, yJ=yJ,
            zI=zI, zJ=zJ, nbsI0=bI, nbsI1=bI + wIq * (yI - xI) / Wq,
            nbsJ0=bJ, nbsJ1=bJ + wJp * (yJ - xJ) / Wp, truncI=bool(cI), truncJ=bool(cJ),
            euI=euI, euJ=euJ,
        ))


def _play_round(X0: np.ndarray, S: np.ndarray, C: np.ndarray, P: np.ndarray, params: ExchangeParams,
                rng: np.random.Generator | None) -> RoundOutcome:
    rd = _Round(X0, S, C, P, params, rng)
    ncand = rd.N
    rd.execute_all()
    ex = rd.executed
    V = rd.Xv  # votes after the round's exchanges (the last exchange of an actor-issue wins)
    lam = params.fixed_weight + params.salience_weight * (1.0 - S)
    moved = np.zeros_like(P)
    if ex:
        moved[[e["I"] for e in ex], [e["q"] for e in ex]] = True
        moved[[e["J"] for e in ex], [e["p"] for e in ex]] = True
    Xn = np.where(moved, X0 + lam * (V - X0), X0)
    Xn = np.clip(Xn, 0.0, SCALE)
    WS, W = rd.WS, rd.W
    with np.errstate(invalid="ignore", divide="ignore"):
        Ov = np.where(W > 0, (WS * V).sum(0) / W, np.nan)
        On = np.where(W > 0, (WS * Xn).sum(0) / W, np.nan)
    # externalities (spec §2.12)
    ext = np.zeros((rd.n, 5))
    if params.detail == "full":
        for e in ex:
            I, J, p, q = e["I"], e["J"], e["p"], e["q"]
            ext[I, 0] += e["euI"]
            ext[J, 0] += e["euJ"]
            both = P[:, p] & P[:, q]
            both[[I, J]] = False
            ks = np.flatnonzero(both)
            if len(ks) == 0:
                continue
            Xk = X0[ks]
            val = (S[ks, p] * (np.abs(e["nbsJ0"] - Xk[:, p]) - np.abs(e["nbsJ1"] - Xk[:, p]))
                   + S[ks, q] * (np.abs(e["nbsI0"] - Xk[:, q]) - np.abs(e["nbsI1"] - Xk[:, q])))
            g = rd.group_of[(p, q)][ks]
            inner = np.isin(g, (0, 3)) if e["kind"] == 0 else np.isin(g, (1, 2))
            ext[ks, np.where(inner, np.where(val >= 0, 1, 2), np.where(val >= 0, 3, 4))] += val
    return RoundOutcome(start=X0, voting=V, next_start=Xn, preference_forecast=rd.O0, voting_forecast=Ov,
                        next_forecast=On, candidates=ncand, groups=rd.groups, exchanges=ex,
                        externalities=ext, ties=rd.ties, overshoots=rd.overshoots)


@dataclass
class Simulation:
    """All rounds of one run (normalised positions) plus the data it ran on."""

    data: ExchangeData
    params: ExchangeParams
    rounds: list[RoundOutcome] = field(default_factory=list)
    converged: bool = False


def simulate(data: ExchangeData, params: ExchangeParams | None = None, *,
             rng: np.random.Generator | None = None) -> Simulation:
    """Run the exchange model on dense arrays; see :func:`run` for the scenario entry point."""
    params = params or ExchangeParams()
    if rng is None:
        rng = np.random.default_rng(0)
    S = np.where(data.present, data.salience, 0.0)
    C = data.unit_power
    X = data.normalised
    sim = Simulation(data, params)
    for _ in range(params.rounds):
        out = _play_round(X, S, C, data.present, params, rng)
        sim.rounds.append(out)
        X = out.next_start
        if params.convergence is not None:
            if np.nanmax(np.abs(out.next_forecast - out.preference_forecast), initial=0.0) < params.convergence:
                sim.converged = True
                break
    return sim


# ---------------------------------------------------------------------------- results


def _exchange_dict(e: dict[str, Any], data: ExchangeData) -> dict[str, Any]:
    A, Iss = data.actors, data.issues
    sc = lambda v, d: float(data.to_scale(v, d))  # noqa: E731
    p, q = e["p"], e["q"]
    return {
        "gain": e["G"], "dp": e["dOp"], "dq": e["dOq"], "p": Iss[p], "q": Iss[q],
        "groups": "ad" if e["kind"] == 0 else "bc",
        "i": {"actor": A[e["I"]], "supply_issue": Iss[q], "demand_issue": Iss[p], "x": sc(e["xI"], q),
              "y": sc(e["yI"], q), "move_norm": e["yI"] - e["xI"], "eu": e["euI"],
              "demand_position_of_opposite": sc(e["zJ"], q), "nbs_0": sc(e["nbsI0"], q),
              "nbs_1": sc(e["nbsI1"], q), "overshoot": e["truncI"]},
        "j": {"actor": A[e["J"]], "supply_issue": Iss[p], "demand_issue": Iss[q], "x": sc(e["xJ"], p),
              "y": sc(e["yJ"], p), "move_norm": e["yJ"] - e["xJ"], "eu": e["euJ"],
              "demand_position_of_opposite": sc(e["zI"], p), "nbs_0": sc(e["nbsJ0"], p),
              "nbs_1": sc(e["nbsJ1"], p), "overshoot": e["truncJ"]},
    }


def _wmedian(x: np.ndarray, w: np.ndarray) -> float | None:
    if len(x) == 0 or not w.sum() > 0:
        return None
    from detente.models.baseline import weighted_median

    return weighted_median(x, w)


def _issue_results(sim: Simulation) -> tuple[dict[str, IssueResult], list[dict[str, Any]]]:
    data = sim.data
    P = data.present
    S = np.where(P, data.salience, 0.0)
    C = data.unit_power
    out: dict[str, IssueResult] = {}
    for d, iid in enumerate(data.issues):
        who = np.flatnonzero(P[:, d])
        if len(who) == 0 or not (S[who, d] * C[who, d]).sum() > 0:
            out[iid] = IssueResult(forecast=None, extra={"reason": "no actor with positive power x salience"})
            continue
        recs = []
        for k, r in enumerate(sim.rounds):
            pos = data.to_scale(r.next_start[who, d], d)
            vot = data.to_scale(r.voting[who, d], d)
            recs.append(RoundRecord(
                positions={data.actors[a]: float(v) for a, v in zip(who, pos)},
                median=_wmedian(pos, S[who, d] * C[who, d]),
                mean=float(data.to_scale(r.next_forecast[d], d)),
                extra={
                    "round": k,
                    "preference_forecast": float(data.to_scale(r.preference_forecast[d], d)),
                    "voting_forecast": float(data.to_scale(r.voting_forecast[d], d)),
                    "next_start_forecast": float(data.to_scale(r.next_forecast[d], d)),
                    "voting_positions": {data.actors[a]: float(v) for a, v in zip(who, vot)},
                    "exchanges_on_issue": sum(1 for e in r.exchanges if d in (e["p"], e["q"])),
                },
            ))
        first = sim.rounds[0]
        out[iid] = IssueResult(
            forecast=float(data.to_scale(sim.rounds[-1].next_forecast[d], d)),
            rounds=tuple(recs),
            extra={"initial_forecast": float(data.to_scale(first.preference_forecast[d], d)),
                   "initial_positions": {data.actors[a]: float(data.position[a, d]) for a in who},
                   "bounds": [float(data.lower[d]), float(data.upper[d])]},
        )
    rounds = []
    for k, r in enumerate(sim.rounds):
        rd: dict[str, Any] = {
            "round": k,
            "candidates": r.candidates,
            "realized": len(r.exchanges),
            "ties": r.ties,
            "overshoot_truncations": r.overshoots,
            "groups": {f"{data.issues[p]}|{data.issues[q]}": dict(zip("abcd", g)) for (p, q), g in r.groups.items()},
        }
        if sim.params.detail == "full":
            rd["exchanges"] = [_exchange_dict(e, data) for e in r.exchanges]
            rd["externalities"] = {
                data.actors[a]: dict(zip(_EXT_KEYS, map(float, r.externalities[a]))) for a in range(len(data.actors))
            }
        rounds.append(rd)
    return out, rounds


def ensemble_summary(values: np.ndarray, interval: float = 0.9) -> dict[str, Any]:
    """mean, sd (n-1), min, max and a central interval over axis 0 of ``values``."""
    v = np.asarray(values, float)
    n = v.shape[0]
    lo, hi = (1 - interval) / 2, 1 - (1 - interval) / 2
    return {
        "mean": v.mean(0), "sd": v.std(0, ddof=1) if n > 1 else np.zeros(v.shape[1:]),
        "min": v.min(0), "max": v.max(0), "lower": np.quantile(v, lo, axis=0),
        "upper": np.quantile(v, hi, axis=0), "n": n, "interval": interval,
    }


def _ensemble(scenario: Any, data: ExchangeData, params: ExchangeParams, rng: np.random.Generator,
              notes: list[str]) -> RunResult:
    members = rng.spawn(params.ensemble)
    single = params.model_copy(update={"ensemble": 1, "detail": "summary"})
    sims = [simulate(data, single, rng=g) for g in members]
    R = min(len(s.rounds) for s in sims)
    keys = ("preference_forecast", "voting_forecast", "next_forecast")
    arr = {k: np.array([[getattr(s.rounds[t], k) for t in range(R)] for s in sims]) for k in keys}
    pos = np.array([[s.rounds[t].next_start for t in range(R)] for s in sims])  # members x R x n x m
    summ = {k: ensemble_summary(v, params.interval) for k, v in arr.items()}
    psum = ensemble_summary(pos, params.interval)
    P = data.present
    out: dict[str, IssueResult] = {}
    for d, iid in enumerate(data.issues):
        who = np.flatnonzero(P[:, d])
        if len(who) == 0 or not (data.salience[who, d] * data.unit_power[who, d]).sum() > 0:
            out[iid] = IssueResult(forecast=None, extra={"reason": "no actor with positive power x salience"})
            continue
        def sc(v: Any, d: int = d) -> float:
            return float(data.to_scale(v, d))

        def scd(v: Any, d: int = d) -> float:
            return float(v) * (data.upper[d] - data.lower[d]) / SCALE

        def stats(key: str, t: int, d: int = d, sc: Callable[[Any], float] = sc,
                  scd: Callable[[Any], float] = scd) -> dict[str, Any]:
            s = summ[key]
            return {"mean": sc(s["mean"][t, d]), "sd": scd(s["sd"][t, d]), "min": sc(s["min"][t, d]),
                    "max": sc(s["max"][t, d]), "lower": sc(s["lower"][t, d]), "upper": sc(s["upper"][t, d])}

        recs = []
        for t in range(R):
            recs.append(RoundRecord(
                positions={data.actors[a]: sc(psum["mean"][t, a, d]) for a in who},
                median=None,
                mean=sc(summ["next_forecast"]["mean"][t, d]),
                extra={"round": t, "preference_forecast": stats("preference_forecast", t),
                       "voting_forecast": stats("voting_forecast", t),
                       "next_start_forecast": stats("next_forecast", t),
                       "positions_sd": {data.actors[a]: scd(psum["sd"][t, a, d]) for a in who}},
            ))
        out[iid] = IssueResult(forecast=sc(summ["next_forecast"]["mean"][R - 1, d]), rounds=tuple(recs),
                               extra={"forecast_sd": scd(summ["next_forecast"]["sd"][R - 1, d]),
                                      "forecast_interval": [sc(summ["next_forecast"]["lower"][R - 1, d]),
                                                            sc(summ["next_forecast"]["upper"][R - 1, d])],
                                      "members": params.ensemble, "interval": params.interval})
    notes.append(f"seed ensemble of {params.ensemble} members (child streams of the run's generator); "
                 "forecasts are ensemble means, sd is the sample sd (n-1)")
    counts = {"realized": np.array([[len(s.rounds[t].exchanges) for t in range(R)] for s in sims]).mean(0).tolist(),
              "ties": np.array([[s.rounds[t].ties for t in range(R)] for s in sims]).mean(0).tolist()}
    return RunResult.build(model="exchange", scenario=scenario, params=params, issues=out,
                           variant=params.variant, notes=notes,
                           extra={"ensemble": {"members": params.ensemble, "rounds": R, "mean_counts": counts}})


def run(scenario: Any, params: ExchangeParams | None = None, *, rng: np.random.Generator | None = None) -> RunResult:
    """Run the exchange model on a scenario.

    Parameters
    ----------
    scenario
        A :class:`~detente.scenario.Scenario` with at least two issues. Power per actor ×
        issue comes from ``Stance.capability`` (default: the actor's capability).
    params
        :class:`ExchangeParams`.
    rng
        Random generator (ties, REX draws, ensemble members). Without one, the seed policy of
        :mod:`detente.seeding` applies (as in :func:`~detente.models.registry.run_model`): a
        seed is drawn and recorded in ``RunResult.seed`` if the run drew from it; with one,
        ``seed`` is ``None``.

    Returns
    -------
    RunResult
        One entry per issue; ``rounds`` hold the next-start positions after each round with
        the preference, voting and next-start forecasts; ``extra["rounds"]`` lists candidates,
        groups, realized exchanges and externalities per round.

    Examples
    --------
    >>> from detente.scenario import Scenario, Actor, Issue, Stance
    >>> sc = Scenario(salience_scale="unit", actors=[Actor(id="a"), Actor(id="b")],
    ...     issues=[Issue(id="p"), Issue(id="q")],
    ...     stances=[Stance(actor="a", issue="p", position=0, salience=0.9),
    ...              Stance(actor="a", issue="q", position=0, salience=0.2),
    ...              Stance(actor="b", issue="p", position=100, salience=0.2),
    ...              Stance(actor="b", issue="q", position=100, salience=0.9)])
    >>> res = run(sc, ExchangeParams(rounds=1), rng=np.random.default_rng(1))
    >>> res.to_json_dict()["extra"]["rounds"][0]["realized"]
    1
    """
    params = params or ExchangeParams()
    if rng is None:  # called directly: the one seed policy (detente.seeding), seed recorded
        result, seed = run_seeded(lambda g: run(scenario, params, rng=g), None, stochastic=True)
        return result.with_seed(seed)
    data = data_from_scenario(scenario)
    notes = ["positions normalised to 0-100 per issue internally; outputs on each issue's own scale",
             CAPABILITY_NOTE,
             f"mode {params.mode}, overshoot limit on {params.overshoot_positions} positions"]
    if getattr(scenario, "salience_scale", "unit") != "unit":
        notes.append(f"saliences divided by 100 (scenario declares a {scenario.salience_scale} scale)")
    if len(data.issues) < 2:
        notes.append("fewer than two issues: no exchange is possible")
    if params.ensemble > 1:
        return _ensemble(scenario, data, params, rng, notes)
    sim = simulate(data, params, rng=rng)
    issues, rounds = _issue_results(sim)
    if sim.converged:
        notes.append(f"converged after {len(sim.rounds)} rounds")
    return RunResult.build(model="exchange", scenario=scenario, params=params, issues=issues,
                           variant=params.variant, notes=notes, extra={"rounds": rounds, "converged": sim.converged})


SPEC = ModelSpec(
    name="exchange",
    summary="Stokman's exchange model: actors trade votes across issues (equal gain, randomized REX).",
    params_class=ExchangeParams,
    run=run,
    multi_issue=True,
    dynamics=True,
    stochastic=True,
    variants=("equal_gain", "rex"),
    citation="Stokman & Van Oosten (1994), in European Community Decision Making, Yale UP; "
    "Dijkstra, Van Assen, Stokman & Draaijer (2018)",
)
