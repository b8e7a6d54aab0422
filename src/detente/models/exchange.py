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

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from detente.errors import InputError, Problem
from detente.models.registry import ModelSpec
from detente.models.result import IssueResult, RoundRecord, RunResult

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


# ---------------------------------------------------------------------------- parameters


class ExchangeParams(BaseModel):
    """Parameters of the exchange model. Every interpretive choice of the spec is one here."""

    model_config = ConfigDict(extra="forbid")

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
        description="Stop early when no issue's forecast of the start positions moved by more "
        "than this (on the 0-100 scale) in a round. None = fixed rounds (the reference).",
    )
    mode: Literal["corrected", "reference"] = Field(
        "corrected",
        description="Move-history bookkeeping: 'corrected' checks the no-reversal and <= 100 "
        "rules against the moves actually executed in the round; 'reference' keeps the "
        "reference implementation's stale history (spec Q1), for compatibility.",
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
    ties: Literal["deterministic", "random"] = Field(
        "deterministic",
        description="Among candidates whose gains tie (relative tolerance tie_tolerance): take "
        "the first in enumeration order, or a uniformly random one (seeded).",
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
    def _check(self) -> "ExchangeParams":
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
    """Candidate exchanges of one round as parallel arrays, and their execution."""

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
        WS = np.where(P, C * S, 0.0)
        self.WS = WS
        self.W = WS.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            self.O0 = np.where(self.W > 0, (WS * X0).sum(axis=0) / self.W, np.nan)
        self.Xv = X0.copy()  # live voting positions
        self.Ov = self.O0.copy()
        self.hist_sum = np.zeros((self.n, self.m))
        self.hist_sign = np.zeros((self.n, self.m))
        self.ties = 0
        self.overshoots = 0
        self._enumerate()

    # -- candidates -------------------------------------------------------------------
    def _enumerate(self) -> None:
        X0, S, P, O = self.X0, self.S, self.P, self.O0
        left = X0 <= O[None, :]
        Is, Js, ps, qs, kind = [], [], [], [], []
        self.groups: dict[tuple[int, int], tuple[int, int, int, int]] = {}
        self.group_of: dict[tuple[int, int], np.ndarray] = {}
        for p in range(self.m):
            for q in range(p + 1, self.m):
                both = P[:, p] & P[:, q]
                g = np.where(both, left[:, p].astype(int) + 2 * left[:, q].astype(int), -1)
                self.group_of[(p, q)] = g
                A, B, Cc, D = (np.flatnonzero(g == k) for k in range(4))
                self.groups[(p, q)] = (len(A), len(B), len(Cc), len(D))
                for L, R, kd in ((A, D, 0), (B, Cc, 1)):
                    if len(L) == 0 or len(R) == 0:
                        continue
                    i = np.repeat(L, len(R))
                    j = np.tile(R, len(L))
                    with np.errstate(divide="ignore", invalid="ignore"):
                        i_supplies_p = S[i, p] / S[i, q] < S[j, p] / S[j, q]
                    Is.append(np.where(i_supplies_p, j, i))
                    Js.append(np.where(i_supplies_p, i, j))
                    ps.append(np.full(len(i), p))
                    qs.append(np.full(len(i), q))
                    kind.append(np.full(len(i), kd))
        cat = (lambda a: np.concatenate(a) if a else np.zeros(0, int))
        self.I, self.J, self.p, self.q, self.kind = cat(Is), cat(Js), cat(ps), cat(qs), cat(kind)
        N = self.N = len(self.I)
        I, J, p, q = self.I, self.J, self.p, self.q
        self.sIp, self.sIq, self.sJp, self.sJq = S[I, p], S[I, q], S[J, p], S[J, q]
        self.wIq, self.wJp = self.WS[I, q], self.WS[J, p]
        self.Wp, self.Wq = self.W[p], self.W[q]
        self.zI = X0[I, p]  # I's own position on p: where J moves to
        self.zJ = X0[J, q]  # J's own position on q: where I moves to
        self.xI = X0[I, q].copy()  # current supply positions (successive concessions)
        self.xJ = X0[J, p].copy()
        self.alive = np.ones(N, bool)
        f = np.zeros(N)
        self.G = f.copy()
        self.dOp, self.dOq, self.yI, self.yJ = f.copy(), f.copy(), f.copy(), f.copy()
        self.nbsI0, self.nbsI1, self.nbsJ0, self.nbsJ1 = f.copy(), f.copy(), f.copy(), f.copy()
        self.truncI = np.zeros(N, bool)
        self.truncJ = np.zeros(N, bool)
        self.euI, self.euJ = f.copy(), f.copy()
        # stale overshoot bases: forecast on the side's supply issue from start positions plus
        # the candidate's private updates of *other* actors.
        self.baseI = self.O0[q].copy() if N else f
        self.baseJ = self.O0[p].copy() if N else f
        self.priv: dict[tuple[int, int], float] = {}  # (candidate*2 + side, actor) -> position
        # reference-mode move history per candidate side (sum and signs)
        self.rsumI, self.rsumJ = f.copy(), f.copy()
        self.rposI, self.rnegI = np.zeros(N, bool), np.zeros(N, bool)
        self.rposJ, self.rnegJ = np.zeros(N, bool), np.zeros(N, bool)
        self.curI, self.curJ = f.copy(), f.copy()
        if N:
            z = np.zeros(N, bool)
            self._compute(np.arange(N), append_I=z, append_J=z)

    # -- equal gain, overshoot, REX, validity -------------------------------------------
    def _compute(self, idx: np.ndarray, append_I: np.ndarray, append_J: np.ndarray) -> None:
        """(Re)compute candidates ``idx`` from their current supply positions."""
        if len(idx) == 0:
            return
        sIp, sIq, sJp, sJq = self.sIp[idx], self.sIq[idx], self.sJp[idx], self.sJq[idx]
        wIq, wJp, Wp, Wq = self.wIq[idx], self.wJp[idx], self.Wp[idx], self.Wq[idx]
        xI, xJ, zI, zJ = self.xI[idx], self.xJ[idx], self.zI[idx], self.zJ[idx]
        fullI = np.abs(zJ - xI)
        fullJ = np.abs(zI - xJ)
        dirI = np.sign(zJ - xI)
        dirJ = np.sign(zI - xJ)
        rq = (sIp + sJp) / (sIq + sJq)  # dOq / dOp under equal gain
        with np.errstate(divide="ignore", invalid="ignore"):
            fdOp = fullJ * wJp / Wp
            fdOq = fullI * wIq / Wq
            dOp, dOq, mI, mJ, fullmoveI, fullmoveJ = self._split(fdOp, fdOq, rq, wIq, wJp, Wp, Wq, fullI, fullJ)
            G = dOp * (sIp * sJq - sIq * sJp) / (sIq + sJq)
        ok = self._valid_core(mI, mJ, G, xI, xJ, dirI, dirJ)
        # overshoot limit (I first, then J)
        if self.live:
            bI = self.Ov[self.q[idx]] + wIq * (xI - self.Xv[self.I[idx], self.q[idx]]) / Wq
            bJ = self.Ov[self.p[idx]] + wJp * (xJ - self.Xv[self.J[idx], self.p[idx]]) / Wp
        else:
            bI = self.baseI[idx] + wIq * (xI - self.X0[self.I[idx], self.q[idx]]) / Wq
            bJ = self.baseJ[idx] + wJp * (xJ - self.X0[self.J[idx], self.p[idx]]) / Wp
        with np.errstate(divide="ignore", invalid="ignore"):
            dOp, dOq, mI, mJ, fullmoveI, fullmoveJ, tI, tJ = self._overshoot(
                ok, dOp, dOq, mI, mJ, fullmoveI, fullmoveJ, rq, bI, bJ, zI, zJ, dirI, dirJ, wIq, wJp, Wp, Wq)
            G = dOp * (sIp * sJq - sIq * sJp) / (sIq + sJq)
        self.overshoots += int(np.count_nonzero(ok & tI)) + int(np.count_nonzero(ok & tJ))
        euI = euJ = G
        if self.pr > 0:
            ok &= self._valid_core(mI, mJ, G, xI, xJ, dirI, dirJ)
            k = np.flatnonzero(ok)
            if len(k):
                rnd = self.rng.random((len(k), 3)) if self.rng is not None else np.full((len(k), 3), 0.25)
                with np.errstate(divide="ignore", invalid="ignore"):
                    dOp, dOq, mI, mJ, fullmoveI, fullmoveJ, euI, euJ = self._rex(
                        k, rnd, G, dOp, dOq, mI, mJ, fullmoveI, fullmoveJ, fdOp, fdOq, sIp, sIq, sJp, sJq,
                        wIq, wJp, Wp, Wq, bI, bJ, zI, zJ, dirI, dirJ)
        yI = np.where(fullmoveI, zJ, xI + dirI * mI)
        yJ = np.where(fullmoveJ, zI, xJ + dirJ * mJ)
        mI_s = yI - xI
        mJ_s = yJ - xJ
        ok &= self._valid_core(mI, mJ, G, xI, xJ, dirI, dirJ)
        # move history
        if self.refhist:
            # the reference's history: at a successive concession the candidate freezes its own
            # last (never executed) move into the history instead of the executed one (spec Q1).
            oI, oJ = self.curI[idx], self.curJ[idx]
            self.rsumI[idx] += np.where(append_I, oI, 0.0)
            self.rsumJ[idx] += np.where(append_J, oJ, 0.0)
            self.rposI[idx] |= append_I & (oI > 0)
            self.rnegI[idx] |= append_I & (oI < 0)
            self.rposJ[idx] |= append_J & (oJ > 0)
            self.rnegJ[idx] |= append_J & (oJ < 0)
            ok &= (self.rsumI[idx] + mI_s <= SCALE) & (self.rsumJ[idx] + mJ_s <= SCALE)
            ok &= ~((self.rposI[idx] & (mI_s < 0)) | (self.rnegI[idx] & (mI_s > 0)) | (self.rposI[idx] & self.rnegI[idx]))
            ok &= ~((self.rposJ[idx] & (mJ_s < 0)) | (self.rnegJ[idx] & (mJ_s > 0)) | (self.rposJ[idx] & self.rnegJ[idx]))
            self.curI[idx], self.curJ[idx] = mI_s, mJ_s
        else:
            hI = self.hist_sum[self.I[idx], self.q[idx]]
            hJ = self.hist_sum[self.J[idx], self.p[idx]]
            sgI = self.hist_sign[self.I[idx], self.q[idx]]
            sgJ = self.hist_sign[self.J[idx], self.p[idx]]
            ok &= (np.abs(hI + mI_s) <= SCALE) & (np.abs(hJ + mJ_s) <= SCALE)
            ok &= (sgI * mI_s >= 0) & (sgJ * mJ_s >= 0)
        ok &= np.isfinite(G)
        self.alive[idx] = ok
        self.G[idx] = np.where(ok, G, -np.inf)
        self.dOp[idx], self.dOq[idx], self.yI[idx], self.yJ[idx] = dOp, dOq, yI, yJ
        self.nbsI0[idx], self.nbsJ0[idx] = bI, bJ
        self.nbsI1[idx] = bI + wIq * (yI - xI) / Wq
        self.nbsJ1[idx] = bJ + wJp * (yJ - xJ) / Wp
        self.truncI[idx], self.truncJ[idx] = tI, tJ
        self.euI[idx], self.euJ[idx] = euI, euJ

    @staticmethod
    def _split(fdOp, fdOq, rq, wIq, wJp, Wp, Wq, fullI, fullJ):
        """Equal-gain split: J moves fully unless I would then have to move past J (spec §2.4)."""
        dOq = fdOp * rq
        mI = dOq * Wq / wIq
        swap = ~(mI <= fullI)
        dOq = np.where(swap, fdOq, dOq)
        dOp = np.where(swap, fdOq / rq, fdOp)
        mJ = np.where(swap, dOp * Wp / wJp, fullJ)
        mI = np.where(swap, fullI, mI)
        return dOp, dOq, mI, mJ, swap, ~swap

    @staticmethod
    def _overshoot(ok, dOp, dOq, mI, mJ, fmI, fmJ, rq, bI, bJ, zI, zJ, dirI, dirJ, wIq, wJp, Wp, Wq):
        """Forecast-overshoot limit (spec §2.5); ``rq`` = dOq/dOp kept when truncating."""
        # side I moves on q: the forecast there must not pass J's position zJ
        o1 = bI + dirI * dOq
        tI = ok & ((bI - zJ) * (o1 - zJ) < 0)
        dq = np.abs(zJ - bI)
        dOq = np.where(tI, dq, dOq)
        dOp = np.where(tI, dq / rq, dOp)
        mI = np.where(tI, dq * Wq / wIq, mI)
        mJ = np.where(tI, dOp * Wp / wJp, mJ)
        fmI = fmI & ~tI
        fmJ = fmJ & ~tI
        # side J moves on p: the forecast there must not pass I's position zI
        o1 = bJ + dirJ * dOp
        tJ = ok & ((bJ - zI) * (o1 - zI) < 0)
        dp = np.abs(zI - bJ)
        dOp = np.where(tJ, dp, dOp)
        dOq = np.where(tJ, dp * rq, dOq)
        mJ = np.where(tJ, dp * Wp / wJp, mJ)
        mI = np.where(tJ, dOq * Wq / wIq, mI)
        fmI = fmI & ~tJ
        fmJ = fmJ & ~tJ
        return dOp, dOq, mI, mJ, fmI, fmJ, tI, tJ

    def _rex(self, k, rnd, G, dOp, dOq, mI, mJ, fmI, fmJ, fdOp, fdOq, sIp, sIq, sJp, sJq,
             wIq, wJp, Wp, Wq, bI, bJ, zI, zJ, dirI, dirJ):
        """Randomized equal gain (spec §2.10) for the valid candidates at positions ``k``.

        One side A (I if u < 0.5) is drawn to obtain ``EU_A = G + p z (eu_max_A - G)`` (v < 0.5,
        "wins") or ``G - p z G`` ("loses"); the moves are recomputed so that A gets EU_A: J moves
        fully on p unless I would then move past J's position, in which case I moves fully on q.
        The overshoot limit then scales both forecast shifts down at the drawn rate.
        """
        pr = self.pr
        dOp, dOq, mI, mJ, fmI, fmJ = dOp.copy(), dOq.copy(), mI.copy(), mJ.copy(), fmI.copy(), fmJ.copy()
        euI, euJ = G.copy(), G.copy()
        u, v, z = rnd[:, 0], rnd[:, 1], rnd[:, 2]
        g = G[k]
        fp, fq = fdOp[k], fdOq[k]
        sip, siq, sjp, sjq = sIp[k], sIq[k], sJp[k], sJq[k]
        # eu_max: the most one side gets while the other keeps a zero gain, within full moves
        dpJ = np.minimum(fp, fq * siq / sip)
        eumJ = sjq * dpJ * sip / siq - sjp * dpJ
        dpI = np.minimum(fp, fq * sjq / sjp)
        eumI = sip * dpI - siq * dpI * sjp / sjq
        pickI = u < 0.5
        win = v < 0.5
        eum = np.where(pickI, eumI, eumJ)
        EU = np.where(win, g + pr * z * (eum - g), g - pr * z * g)
        dq = np.where(pickI, (sip * fp - EU) / siq, (EU + sjp * fp) / sjq)
        swap = ~(dq <= fq)
        dp = np.where(swap, np.where(pickI, (EU + siq * fq) / sip, (sjq * fq - EU) / sjp), fp)
        dq = np.where(swap, fq, dq)
        dp = np.maximum(dp, 0.0)
        dq = np.maximum(dq, 0.0)
        r = dq / dp
        rq0 = (sip + sjp) / (siq + sjq)
        rr = np.where(np.isfinite(r) & (r > 0), r, rq0)
        mIk = dq * Wq[k] / wIq[k]
        mJk = dp * Wp[k] / wJp[k]
        res = self._overshoot(np.ones(len(k), bool), dp, dq, mIk, mJk, swap, ~swap, rr, bI[k], bJ[k],
                              zI[k], zJ[k], dirI[k], dirJ[k], wIq[k], wJp[k], Wp[k], Wq[k])
        dp, dq, mIk, mJk, fI, fJ = res[:6]
        dOp[k], dOq[k], mI[k], mJ[k], fmI[k], fmJ[k] = dp, dq, mIk, mJk, fI, fJ
        euI[k] = sip * dp - siq * dq
        euJ[k] = sjq * dq - sjp * dp
        return dOp, dOq, mI, mJ, fmI, fmJ, euI, euJ

    @staticmethod
    def _valid_core(mI, mJ, G, xI, xJ, dirI, dirJ):
        ok = (mI > _MIN) & (mJ > _MIN) & (mI <= SCALE) & (mJ <= SCALE) & (G >= _MIN)
        yI = xI + dirI * mI
        yJ = xJ + dirJ * mJ
        tol = 1e-9
        ok &= (yI >= -tol) & (yI <= SCALE + tol) & (yJ >= -tol) & (yJ <= SCALE + tol)
        return ok

    # -- execution ---------------------------------------------------------------------
    def _select(self) -> int:
        G = self.G
        if self.N == 0:
            return -1
        best = int(np.argmax(G))
        gmax = G[best]
        if not np.isfinite(gmax):
            return -1
        tied = np.flatnonzero(G >= gmax - self.params.tie_tolerance * abs(gmax))
        if len(tied) > 1:
            self.ties += 1
            if self.params.ties == "random" and self.rng is not None:
                return int(tied[self.rng.integers(len(tied))])
            return int(tied[0])
        return best

    def execute_all(self) -> list[int]:
        order: list[int] = []
        N = self.N
        if N == 0:
            return order
        I, J, p, q = self.I, self.J, self.p, self.q
        while True:
            r = self._select()
            if r < 0:
                break
            order.append(r)
            self._record_exec(r)
            Ir, Jr, pr, qr = I[r], J[r], p[r], q[r]
            yIr, yJr = self.yI[r], self.yJ[r]
            mIr, mJr = yIr - self.xI[r], yJr - self.xJ[r]
            self.alive[r] = False
            self.G[r] = -np.inf
            # live votes and forecasts
            self.Ov[qr] += self.wIq[r] * (yIr - self.Xv[Ir, qr]) / self.Wq[r]
            self.Ov[pr] += self.wJp[r] * (yJr - self.Xv[Jr, pr]) / self.Wp[r]
            self.Xv[Ir, qr] = yIr
            self.Xv[Jr, pr] = yJr
            self.hist_sum[Ir, qr] += mIr
            self.hist_sum[Jr, pr] += mJr
            self.hist_sign[Ir, qr] = np.sign(mIr) if mIr else self.hist_sign[Ir, qr]
            self.hist_sign[Jr, pr] = np.sign(mJr) if mJr else self.hist_sign[Jr, pr]
            al = self.alive
            # successive concessions: same actor on the same supply issue
            sI = al & (((I == Ir) & (q == qr)) | ((I == Jr) & (q == pr)))
            sJ = al & (((J == Ir) & (p == qr)) | ((J == Jr) & (p == pr)))
            self.xI[sI] = np.where(I[sI] == Ir, yIr, yJr)
            self.xJ[sJ] = np.where(J[sJ] == Ir, yIr, yJr)
            # private updates: an actor of R demanding the same issue records the supplier's vote
            # (I_R, q_R) -> y_I for candidates where J_R demands q_R; (J_R, p_R) -> y_J where I_R demands p_R.
            dI = al & (((I == Jr) & (p == qr)) | ((I == Ir) & (p == pr)))  # side I demands ...
            dJ = al & (((J == Jr) & (q == qr)) | ((J == Ir) & (q == pr)))  # side J demands ...
            if not self.live:
                self._private(np.flatnonzero(dI), side_supplies="J", Ir=Ir, Jr=Jr, pr=pr, qr=qr, yI=yIr, yJ=yJr)
                self._private(np.flatnonzero(dJ), side_supplies="I", Ir=Ir, Jr=Jr, pr=pr, qr=qr, yI=yIr, yJ=yJr)
            hit = sI | sJ | dI | dJ
            if self.recompute_all:
                hit |= al & ((p == pr) | (p == qr) | (q == pr) | (q == qr))
            idx = np.flatnonzero(hit)
            if len(idx):
                if self.refhist:
                    self._compute(idx, append_I=sI[idx], append_J=sJ[idx])
                else:
                    z = np.zeros(len(idx), bool)
                    self._compute(idx, append_I=z, append_J=z)
        return order

    def _private(self, idx: np.ndarray, *, side_supplies: str, Ir, Jr, pr, qr, yI, yJ) -> None:
        """Record R's supplier's new vote in candidates whose actor demanded that issue (stale mode)."""
        if len(idx) == 0:
            return
        supply = self.q if side_supplies == "I" else self.p
        actor = self.I if side_supplies == "I" else self.J
        base = self.baseI if side_supplies == "I" else self.baseJ
        W = self.Wq if side_supplies == "I" else self.Wp
        sd = 0 if side_supplies == "I" else 1
        for c in idx:
            d = supply[c]
            # the partner demands d, which R's supplier of d moved
            a, y = (Ir, yI) if d == qr else (Jr, yJ)
            if a == actor[c]:
                continue  # own position: handled by the successive-concession start
            key = (2 * int(c) + sd, int(a))
            old = self.priv.get(key, self.X0[a, d])
            self.priv[key] = y
            base[c] += self.WS[a, d] * (y - old) / W[c]

    def _record_exec(self, r: int) -> None:
        if not hasattr(self, "executed"):
            self.executed: list[dict[str, Any]] = []
        self.executed.append(dict(
            I=int(self.I[r]), J=int(self.J[r]), p=int(self.p[r]), q=int(self.q[r]), kind=int(self.kind[r]),
            G=float(self.G[r]), dOp=float(self.dOp[r]), dOq=float(self.dOq[r]),
            xI=float(self.xI[r]), xJ=float(self.xJ[r]), yI=float(self.yI[r]), yJ=float(self.yJ[r]),
            zI=float(self.zI[r]), zJ=float(self.zJ[r]),
            nbsI0=float(self.nbsI0[r]), nbsI1=float(self.nbsI1[r]), nbsJ0=float(self.nbsJ0[r]), nbsJ1=float(self.nbsJ1[r]),
            truncI=bool(self.truncI[r]), truncJ=bool(self.truncJ[r]),
            euI=float(self.euI[r]), euJ=float(self.euJ[r]),
        ))


def _play_round(X0: np.ndarray, S: np.ndarray, C: np.ndarray, P: np.ndarray, params: ExchangeParams,
                rng: np.random.Generator | None) -> RoundOutcome:
    rd = _Round(X0, S, C, P, params, rng)
    ncand = rd.N
    rd.execute_all()
    ex = getattr(rd, "executed", [])
    V = X0.copy()
    for e in ex:
        V[e["I"], e["q"]] = e["yI"]
        V[e["J"], e["p"]] = e["yJ"]
    lam = params.fixed_weight + params.salience_weight * (1.0 - S)
    moved = np.zeros_like(P)
    for e in ex:
        moved[e["I"], e["q"]] = True
        moved[e["J"], e["p"]] = True
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
    C = np.where(data.present, data.power, 0.0)
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
    C = np.where(P, data.power, 0.0)
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
        if len(who) == 0:
            out[iid] = IssueResult(forecast=None, extra={"reason": "no actor holds a position"})
            continue
        sc = lambda v: float(data.to_scale(v, d))  # noqa: E731
        scd = lambda v: float(v) * (data.upper[d] - data.lower[d]) / SCALE  # noqa: E731

        def stats(key: str, t: int) -> dict[str, Any]:
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
        Random generator (ties, REX draws, ensemble members).

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
    if rng is None:
        rng = np.random.default_rng()
    data = data_from_scenario(scenario)
    notes = ["positions normalised to 0-100 per issue internally; outputs on each issue's own scale",
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
