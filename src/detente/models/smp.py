"""KTAB's Spatial Model of Politics (SMP): bargaining in a multi-dimensional policy space,
scored by probabilistic Condorcet elections.

Actors hold positions in ``[0, 1]^K`` (each issue of the scenario is one dimension, mapped
to the unit interval internally), care about the dimensions with absolute saliences, and
have a capability. Every turn each actor looks for the challenge that most improves its
expected utility, the challenge becomes a bargain (a compromise point for both parties), and
every actor resolves the queue of bargains that involve it by a probabilistic Condorcet
election among all actors. Risk attitudes are recomputed from every state, actors estimate
one another's risk attitudes imperfectly, and ideals may drift towards other actors'
positions (pragmatic affinity). The run stops when the total movement falls below 2 % of the
first turn's.

The implementation follows ``specs/smp.md`` (a checked description of ``smpc``, KTAB's SMP
1.4) and reproduces its deterministic reference runs; KTAB defects are not reproduced where
the spec recommends otherwise (see ``docs/models/smp.md``):

* stochastic queue resolution is reproducible from the seed (one generator, one draw per actor
  in actor order after all queues are built);
* the asymmetric voting rule uses a fixed evaluation order (a > b in every pair; queues in
  initiator order), so results never depend on thread timing;
* when all win probabilities are equal the risk attitudes are set to 0 instead of dividing by
  zero; when all positions coincide the run stops as converged;
* ``BigRAdjust = Full`` runs (KTAB aborts on a sanity check);
* only the O(N^3) work the dynamics need is done, vectorised with numpy.
* capabilities are rescaled so that the largest is 100 before use
  (``capability_scale="unit"``), so multiplying every capability by a constant does not change
  a run; KTAB adds absolute floors to capability-weighted votes (coalition strength 1e-8,
  contest strength 1e-10), which makes its own results depend on the capability scale (with
  capabilities of order 1e-10 the floors dominate the votes). ``capability_scale="raw"`` keeps
  KTAB's arithmetic on the capabilities as given.

References
----------
.. [1] Wise, B., Lester, L., Efird, B. (2015). "An introduction to the KAPSARC Toolkit for
   Behavioral Analysis (KTAB) using one-dimensional spatial models." KAPSARC discussion
   paper KS-1517-DP018A.
.. [2] Wise, B., Efird, B., Lester, L. et al. (2016). "Multidimensional spatial models of
   politics in KTAB." KAPSARC methodology paper (the SMP of ``smpc``).
.. [3] Wise, B. (2017). "Markov PCE with incentives" and "Pragmatic affinity in KTAB",
   technical notes in the KTAB repository (``kmodel/doc/markov-incentives.tex``,
   ``examples/smp/doc/Pragmatic-Affinity-in-KTAB.tex``).
.. [4] KAPSARC (2015-2019). KTAB, the KAPSARC Toolkit for Behavioral Analysis, MIT licence,
   https://github.com/KAPSARC/KTAB (release SMP 1.4).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
from pydantic import AliasChoices, ConfigDict, Field

from detente.errors import InputError, Problem
from detente.models.params import ModelParams
from detente.models.registry import ModelSpec
from detente.result import IssueResult, RoundRecord, RunResult
from detente.scenario.ktab import KTAB_PARAM_OPTIONS
from detente.seeding import run_seeded

__all__ = [
    "SMPParams",
    "SMPTrajectory",
    "PARAM_NAMES",
    "PARAM_OPTIONS",
    "KTAB_DEFAULTS",
    "params_from_codes",
    "vote",
    "bs_util",
    "bv_diff",
    "distances",
    "big_r_from_prob",
    "est_nra",
    "coalitions",
    "victory_probs",
    "pce",
    "scalar_pce",
    "third_party_vote",
    "little_contest_prob",
    "interpolate_bargain",
    "simulate",
    "unit_scale",
    "UNIT_MAX",
    "run",
    "tables",
    "SPEC",
]

# ----------------------------------------------------------------------------- parameters

VictoryProbModel = Literal["Linear", "Square", "Quartic", "Octic", "Binary"]
PCEModel = Literal["Conditional", "MarkovIncentive", "MarkovUniform"]
StateTransitions = Literal["Deterministic", "Stochastic"]
VotingRule = Literal["Binary", "PropBin", "Prop", "PropCbc", "Cubic", "ASymProsp"]
BigRAdjust = Literal["None", "OneThird", "Half", "TwoThirds", "Full"]
BigRRange = Literal["Min", "Mid", "Max"]
ThirdPartyCommit = Literal["NoCommit", "SemiCommit", "FullCommit"]
InterVecBrgn = Literal["S1P1", "S2P2", "S2PMax"]
BargnModel = Literal[
    "InitOnlyInterp", "InitRcvrInterp", "PWCompInterp", "InitRcvrInterpFixed", "PWCompInterpFixed"
]

#: KTAB parameter name -> SMPParams field, in KTAB's code order (``runSmpModel`` modelParams).
PARAM_NAMES: dict[str, str] = {
    "VictoryProbModel": "victory_prob_model",
    "PCEModel": "pce_model",
    "StateTransitions": "state_transitions",
    "VotingRule": "voting_rule",
    "BigRAdjust": "big_r_adjust",
    "BigRRange": "big_r_range",
    "ThirdPartyCommit": "third_party_commit",
    "InterVecBrgn": "inter_vec_brgn",
    "BargnModel": "bargn_model",
}

#: KTAB option names by parameter, index = KTAB's numeric code (shared with the KTAB readers).
PARAM_OPTIONS = KTAB_PARAM_OPTIONS

#: KTAB's default option of each parameter (code vector 0,0,0,2,1,1,1,1,0).
KTAB_DEFAULTS: dict[str, str] = {
    "VictoryProbModel": "Linear",
    "PCEModel": "Conditional",
    "StateTransitions": "Deterministic",
    "VotingRule": "Prop",
    "BigRAdjust": "OneThird",
    "BigRRange": "Mid",
    "ThirdPartyCommit": "SemiCommit",
    "InterVecBrgn": "S2P2",
    "BargnModel": "InitOnlyInterp",
}

_NONE_DOC = " None (default): the scenario's value (from a KTAB XML file), else KTAB's default "


def _f(ktab: str, doc: str) -> Any:
    return Field(
        None,
        validation_alias=AliasChoices(PARAM_NAMES[ktab], ktab),
        description=f"KTAB {ktab}: {doc}.{_NONE_DOC}({KTAB_DEFAULTS[ktab]}).",
    )


class SMPParams(ModelParams):
    """Parameters of the SMP model.

    The nine KTAB model parameters are named enums (KTAB's option names); each also accepts
    its KTAB name as key (``VotingRule="PropCbc"``). A parameter left at ``None`` takes the
    scenario's value (``scenario.metadata["smp"]["parameters"]``, written by the KTAB XML
    reader) and otherwise KTAB's default; the result records the values actually used.
    """

    model_config = ConfigDict(populate_by_name=True)

    victory_prob_model: VictoryProbModel | None = _f(
        "VictoryProbModel", "victory probability from coalition strengths, ratio to the power 1, 2, 4, 8, or Binary")
    pce_model: PCEModel | None = _f(
        "PCEModel", "probabilistic Condorcet election: Conditional, MarkovIncentive or MarkovUniform")
    state_transitions: StateTransitions | None = _f(
        "StateTransitions", "queue resolution: most probable entry, or drawn from the seeded generator")
    voting_rule: VotingRule | None = _f("VotingRule", "how a voter's utility difference becomes a vote")
    big_r_adjust: BigRAdjust | None = _f(
        "BigRAdjust", "how actor h estimates actor i's risk attitude (weight of i's true R)")
    big_r_range: BigRRange | None = _f("BigRRange", "range of risk attitudes: [0,1], [-1/2,1] or [-1,1]")
    third_party_commit: ThirdPartyCommit | None = _f(
        "ThirdPartyCommit", "how committed third parties are to the side they join")
    inter_vec_brgn: InterVecBrgn | None = _f("InterVecBrgn", "bargain interpolation (S1P1, S2P2, S2PMax)")
    bargn_model: BargnModel | None = Field(
        None,
        validation_alias=AliasChoices("bargn_model", "BargnModel"),
        description="KTAB BargnModel: InitOnlyInterp (one bargain per proposal), InitRcvrInterp and "
        "PWCompInterp (KTAB-compatible, with KTAB's defects), or the corrected InitRcvrInterpFixed "
        "(receiver's win probability) and PWCompInterpFixed (also each party's own capability). "
        + _NONE_DOC + "(InitOnlyInterp).",
    )
    rounds: int = Field(100, ge=1, le=100_000, description="Maximum number of turns (KTAB: 100).")
    capability_scale: Literal["unit", "raw"] = Field(
        "unit",
        description="'unit' (default): capabilities are rescaled so that the largest is 100 before use, so a "
        "common rescaling of the capabilities does not change a run; 'raw': KTAB's "
        "own arithmetic on the capabilities as given, where the coalition floor (1e-8) and the contest "
        "epsilon (1e-10) are absolute amounts of capability-weighted vote, so forecasts depend on the "
        "capability scale (KTAB reference mode: reproduces every KTAB conformance case; the default "
        "differs from KTAB on 1 of 52, see docs/models/smp.md).",
    )

    def resolved(self, scenario_params: dict[str, Any] | None = None) -> SMPParams:
        """A copy with every ``None`` parameter filled from the scenario, else KTAB's default."""
        sp = dict(scenario_params or {})
        upd: dict[str, Any] = {}
        for ktab, fld in PARAM_NAMES.items():
            if getattr(self, fld) is None:
                v = sp.get(ktab, sp.get(fld))
                upd[fld] = v if v is not None else KTAB_DEFAULTS[ktab]
        out = self.model_validate({**self.model_dump(), **upd})
        return out

    def codes(self) -> list[int]:
        """KTAB's 9-code parameter vector (Fixed bargain variants map to their KTAB base)."""
        r = self.resolved()
        out = []
        for ktab, fld in PARAM_NAMES.items():
            v = getattr(r, fld)
            v = {"InitRcvrInterpFixed": "InitRcvrInterp", "PWCompInterpFixed": "PWCompInterp"}.get(v, v)
            out.append(PARAM_OPTIONS[ktab].index(v))
        return out


def params_from_codes(codes: Sequence[int], **extra: Any) -> SMPParams:
    """SMPParams from KTAB's 9-code vector (order of :data:`PARAM_NAMES`).

    Examples
    --------
    >>> params_from_codes([0, 1, 0, 3, 1, 1, 1, 1, 0]).voting_rule
    'PropCbc'
    """
    if len(codes) != 9:
        raise ValueError(f"expected 9 parameter codes, got {len(codes)}")
    data = {fld: PARAM_OPTIONS[k][int(c)] for (k, fld), c in zip(PARAM_NAMES.items(), codes)}
    return SMPParams(**data, **extra)


# ----------------------------------------------------------------------------- constants

MIN_TURNS = 2
STOP_RATIO = 0.02
DELTA1_OFFSET = 1e-4
EQUIV_TOL = 1e-3
MIN_DEU = 1e-5
COAL_FLOOR = 1e-8
CONTEST_EPS = 1e-10
BARGAIN_MU = 1e-6
BINARY_VOTE_SCALE = 1e-8
BINARY_VPM_T = 1.1
BINARY_VPM_FLOOR = 1e-6
MI_SELF = 1e-10
MI_TOL = 1e-8
MU_TOL = 1e-6

#: ``capability_scale="unit"`` rescales the capabilities so that the largest is ``UNIT_MAX``:
#: KTAB's nominal scale (positions and saliences on 0-100; its example capabilities are at most
#: about 100-200), on which its absolute floors above were set.
UNIT_MAX = 100.0


def unit_scale(capability: np.ndarray) -> np.ndarray:
    """Capabilities rescaled so that the largest is :data:`UNIT_MAX` (``capability_scale="unit"``).

    Unchanged (same bits) when the largest already is 100; a common rescaling of the input
    changes the result only by rounding (equal capabilities stay exactly equal).

    Examples
    --------
    >>> unit_scale(np.array([3.0, 1.5])).tolist()
    [100.0, 50.0]
    """
    c = np.asarray(capability, float)
    top = float(c.max())
    f = UNIT_MAX / top
    return c * f if math.isfinite(f) else c / top * UNIT_MAX

_VPM_POWER = {"Linear": 1, "Square": 2, "Quartic": 4, "Octic": 8}

# ----------------------------------------------------------------------------- building blocks


def vote(rule: str, w: Any, u1: Any, u2: Any) -> Any:
    """Vote of a voter with weight ``w`` for option 1 over option 2 (spec §3).

    Parameters
    ----------
    rule
        VotingRule name.
    w, u1, u2
        Weight and the voter's utilities of the two options (scalars or broadcastable arrays).

    Examples
    --------
    >>> float(vote("Prop", 2.0, 0.9, 0.6))
    0.6000000000000001
    >>> float(vote("ASymProsp", 3.0, 0.9, 0.6)) == (2 / 3) * 3.0 * (0.9 - 0.6)
    True
    """
    d = np.subtract(u1, u2)
    if rule == "Prop":
        return np.multiply(w, d)
    if rule == "Binary":
        return np.multiply(w, np.clip(d / BINARY_VOTE_SCALE, -1.0, 1.0))
    if rule == "PropBin":
        return np.multiply(w, 0.8 * d + 0.2 * np.clip(d / BINARY_VOTE_SCALE, -1.0, 1.0))
    if rule == "PropCbc":
        return np.multiply(w, 0.5 * d + 0.5 * (d * d * d))
    if rule == "Cubic":
        return np.multiply(w, d * d * d)
    if rule == "ASymProsp":
        wd = np.multiply(w, d)
        return np.where(d < 0, wd, np.where(d > 0, (2.0 / 3.0) * wd, 0.0 * wd))
    raise ValueError(f"unknown voting rule {rule!r}")


def bs_util(d: Any, R: Any) -> Any:
    """Utility of distance ``d`` for risk attitude ``R`` (spec §2).

    ``(1 - d)(1 + d R)`` for ``d <= 1`` and ``(1 - d)(1 + R)`` beyond.

    Examples
    --------
    >>> float(bs_util(0.25, 1.0))
    0.9375
    """
    d = np.asarray(d, float)
    return np.where(d <= 1.0, (1.0 - d) * (1.0 + d * R), (1.0 - d) * (1.0 + np.asarray(R, float) + 0.0 * d))


def bv_diff(diff: Any, sal: Any) -> float:
    """Salience-weighted distance of a difference vector (ideal - position), spec §2.

    Examples
    --------
    >>> round(bv_diff([0.3, 0.0], [1.0, 1.0]), 6)
    0.212132
    """
    diff = np.asarray(diff, float)
    s = np.asarray(sal, float)
    den = float(np.sum(s * s))
    if not den > 0:
        raise ValueError("salience-weighted distance with all saliences zero")
    return math.sqrt(float(np.sum((s * diff) ** 2)) / den)


def distances(ideal: np.ndarray, pos: np.ndarray, sal: np.ndarray) -> np.ndarray:
    """Matrix ``d[i, j]``: distance from i's ideal to position ``pos[j]`` with i's saliences.

    ``ideal`` and ``sal`` are (N, K), ``pos`` is (M, K); the result is (N, M).
    """
    den = np.sum(sal * sal, axis=1)  # (N,)
    diff = ideal[:, None, :] - pos[None, :, :]  # (N, M, K)
    wd = sal[:, None, :] * diff
    num = np.sum(wd * wd, axis=2)
    return np.sqrt(num / den[:, None])


def big_r_from_prob(p: Any, rng_name: str) -> np.ndarray:
    """Risk attitudes from win probabilities (spec §7, BigRRange).

    When every probability is equal the attitudes are 0 (KTAB divides by zero).

    Examples
    --------
    >>> big_r_from_prob([0.1, 0.2, 0.3, 0.4], "Mid").round(6).tolist()
    [-0.5, 0.0, 0.5, 1.0]
    """
    p = np.asarray(p, float).ravel()
    pmax, pmin = float(p.max()), float(p.min())
    span = pmax - pmin
    if not span > 0:
        return np.zeros_like(p)
    if rng_name == "Min":
        return (p - pmin) / span
    if rng_name == "Mid":
        return (3.0 * p - pmax - 2.0 * pmin) / (2.0 * span)
    if rng_name == "Max":
        return (2.0 * p - pmax - pmin) / span
    raise ValueError(f"unknown BigRRange {rng_name!r}")


def est_nra(rh: Any, ri: Any, adjust: str) -> Any:
    """Actor h's estimate of actor i's risk attitude (spec §7, BigRAdjust).

    Examples
    --------
    >>> float(est_nra(0.9, -0.3, "OneThird"))
    0.5
    """
    rh = np.asarray(rh, float)
    ri = np.asarray(ri, float)
    if adjust == "None":
        return rh + 0.0 * ri
    if adjust == "OneThird":
        return (2.0 * rh + ri) / 3.0
    if adjust == "Half":
        return (rh + ri) / 2.0
    if adjust == "TwoThirds":
        return (rh + 2.0 * ri) / 3.0
    if adjust == "Full":
        return ri + 0.0 * rh
    raise ValueError(f"unknown BigRAdjust {adjust!r}")


_CHUNK = 2_000_000  # elements of the (options, options, voters) vote tensor per block


def coalitions(w: Any, u: Any, rule: str) -> np.ndarray:
    """Coalition strengths ``S[a, b]`` over options (spec §4).

    Parameters
    ----------
    w
        Voter weights, shape (n,).
    u
        Voter utilities, shape (n voters, M options).
    rule
        VotingRule name.

    Each unordered pair is evaluated once with the higher-indexed option first (KTAB's order,
    which matters only for ``ASymProsp``); ``S[a, a] = 1e-8``.
    """
    w = np.asarray(w, float)
    u = np.asarray(u, float)
    n, m = u.shape
    ut = np.ascontiguousarray(u.T)  # (M, n)
    S = np.full((m, m), COAL_FLOOR)
    rows = max(1, _CHUNK // max(1, m * n))
    if rule != "ASymProsp":
        # antisymmetric rules: vote(b, a) == -vote(a, b) bit for bit, so the strength of a
        # against b is the positive part of the (a, b) votes for every ordered pair
        for a0 in range(0, m, rows):
            a1 = min(m, a0 + rows)
            v = vote(rule, w[None, None, :], ut[a0:a1, None, :], ut[None, :, :])
            S[a0:a1] = COAL_FLOOR + np.sum(np.maximum(v, 0.0), axis=2)
        np.fill_diagonal(S, COAL_FLOOR)
        return S
    for a0 in range(1, m, rows):
        a1 = min(m, a0 + rows)
        # pairs (a, b) with b < a only; evaluate against all b then mask
        v = vote(rule, w[None, None, :], ut[a0:a1, None, :], ut[None, :, :])  # (r, M, n)
        pos = np.sum(np.maximum(v, 0.0), axis=2)
        neg = np.sum(np.maximum(-v, 0.0), axis=2)
        for r, a in enumerate(range(a0, a1)):
            S[a, :a] = COAL_FLOOR + pos[r, :a]
            S[:a, a] = COAL_FLOOR + neg[r, :a]
    return S


def victory_probs(S: Any, vpm: str) -> np.ndarray:
    """Victory probabilities ``V[a, b]`` from coalition strengths (spec §5)."""
    S = np.asarray(S, float)
    if vpm in _VPM_POWER:
        nu = _VPM_POWER[vpm]
        Sp = S**nu if nu > 1 else S
        V = Sp / (Sp + Sp.T)
    elif vpm == "Binary":
        t = BINARY_VPM_T
        St = S.T
        r = S / (S + St)
        xa = (r * (1.0 + t) - 1.0) / (t - 1.0)
        xb = 1.0 - xa
        win = S >= t * St
        lose = St >= t * S
        xa = np.where(win, 1.0, np.where(lose, BINARY_VPM_FLOOR, xa))
        xb = np.where(win, BINARY_VPM_FLOOR, np.where(lose, 1.0, xb))
        V = xa / (xa + xb)
    else:
        raise ValueError(f"unknown VictoryProbModel {vpm!r}")
    np.fill_diagonal(V, 0.5)
    return V


def pce(S: Any, vpm: str, pcm: str) -> tuple[np.ndarray, np.ndarray]:
    """Probabilistic Condorcet election over M options from coalition strengths (spec §6).

    Returns
    -------
    (V, p)
        The victory-probability matrix and the probability of each option (sums to 1).

    Examples
    --------
    >>> S = np.array([[1e-8, 3, 1], [1, 1e-8, 2], [2.5, 0.5, 1e-8]])
    >>> pce(S, "Linear", "Conditional")[1].round(4).tolist()
    [0.3846, 0.359, 0.2564]
    """
    S = np.asarray(S, float)
    V = victory_probs(S, vpm)
    m = V.shape[0]
    if pcm == "Conditional":
        raw = np.prod(V, axis=1)
        tot = raw.sum()
        if not tot > 0:  # every product underflowed: fall back to logs
            lg = np.sum(np.log(V), axis=1)
            raw = np.exp(lg - lg.max())
            tot = raw.sum()
        return V, raw / tot
    p = np.full(m, 1.0 / m)
    if pcm == "MarkovIncentive":
        inc = S * V
        inc[np.diag_indices(m)] += MI_SELF
        chal = inc / inc.sum(axis=0, keepdims=True)  # chal[a, b] = P[a -> b | b]
        chal_t = chal.T  # chal_t[a, b] = P[b -> a | a]
        for _ in range(1_000_000):
            C = p[:, None] * chal_t  # C[a, b] = P(a) P[b -> a | a]
            q = np.sum(V * (C + C.T), axis=1)
            change = float(np.max(np.abs(q - p)))
            p = (p + q) / 2.0
            if not change > MI_TOL:
                break
        return V, p
    if pcm == "MarkovUniform":
        for _ in range(1_000_000):
            q = np.sum(V * (p[:, None] + p[None, :]), axis=1) / m
            change = float(np.max(np.abs(q - p)))
            p = (p + q) / 2.0
            if not change > MU_TOL:
                break
        return V, p
    raise ValueError(f"unknown PCEModel {pcm!r}")


def scalar_pce(w: Any, u: Any, rule: str, vpm: str, pcm: str) -> np.ndarray:
    """PCE over options from voters' utilities ``u`` (voters x options) and weights ``w``.

    Examples
    --------
    >>> u = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    >>> scalar_pce([1, 1, 1], u, "Prop", "Linear", "Conditional").round(4).tolist()
    [0.6667, 0.3333]
    """
    return pce(coalitions(w, u, rule), vpm, pcm)[1]


def _tpc_utils(tpc: str, uni: Any, unj: Any, unn: Any) -> tuple[Any, Any, Any, Any]:
    """Third party's utilities (x3) of U(ik>j), U(j>ik), U(i>jk), U(jk>i) (spec §8)."""
    if tpc == "NoCommit":
        a = 2.0 * uni + unn
        b = 2.0 * unj + unn
        return a, b, a, b
    if tpc == "SemiCommit":
        return 2.0 * uni + unn, 3.0 * unj, 3.0 * uni, 2.0 * unj + unn
    if tpc == "FullCommit":
        a = 3.0 * uni
        b = 3.0 * unj
        return a, b, a, b
    raise ValueError(f"unknown ThirdPartyCommit {tpc!r}")


def third_party_vote(w: Any, rule: str, tpc: str, pin: Any, uni: Any, unj: Any, unn: Any) -> tuple[Any, Any, Any]:
    """A third party's vote between joining i and joining j (spec §8).

    Returns ``(v, U(ik>j), U(i>jk))``; ``v > 0`` means the third party joins i.
    """
    ikj, jik, ijk, jki = _tpc_utils(tpc, uni, unj, unn)
    pjn = 1.0 - pin
    v = vote(rule, w, pin * ikj + pjn * jik, pin * ijk + pjn * jki)
    return v, ikj, ijk


def little_contest_prob(rule: str, wn: Any, uni: Any, unj: Any, ci: Any, cj: Any) -> Any:
    """Probability that i wins the principals' contest joined by one third party (spec §8)."""
    v0 = vote(rule, wn, uni, unj)
    a = ci + np.maximum(v0, 0.0)
    return a / (a + cj + np.maximum(-v0, 0.0))


def _round4(x: np.ndarray) -> np.ndarray:
    return np.floor(1e4 * x + 0.5) / 1e4


def interpolate_bargain(ivb: str, pos_i: Any, sal_i: Any, pos_j: Any, sal_j: Any, p_i: float, p_j: float
                        ) -> tuple[np.ndarray, np.ndarray]:
    """New positions ``(b_I, b_J)`` of a bargain between I and J (spec §9.2, InterVecBrgn).

    Examples
    --------
    >>> bi, bj = interpolate_bargain("S1P1", [0.2, 0.9], [0.6, 0.2], [0.7, 0.4], [0.3, 0.5], 0.65, 0.35)
    >>> bi.round(4).tolist()
    [0.3061, 0.6131]
    """
    xi = np.asarray(pos_i, float)
    xj = np.asarray(pos_j, float)
    si = np.asarray(sal_i, float)
    sj = np.asarray(sal_j, float)
    mu = BARGAIN_MU
    if ivb in ("S1P1", "S2P2"):
        e = 1 if ivb == "S1P1" else 2
        wi = si**e * p_i**e
        wj = sj**e * p_j**e
        den = wi + mu + wj
        bi = _round4(((wi + mu) * xi + wj * xj) / den)
        bj = _round4((wi * xi + (wj + mu) * xj) / den)
        return bi, bj
    if ivb == "S2PMax":
        di = max(0.0, p_j - p_i)
        dj = max(0.0, p_i - p_j)
        si2, sj2 = si * si, sj * sj
        bi = xi + di * sj2 / (di * sj2 + mu + (1.0 - di) * si2) * (xj - xi)
        bj = xj + dj * si2 / (dj * si2 + mu + (1.0 - dj) * sj2) * (xi - xj)
        return bi, bj
    raise ValueError(f"unknown InterVecBrgn {ivb!r}")


# ----------------------------------------------------------------------------- the model


@dataclass
class _State:
    pos: np.ndarray  # (N, K)
    ideal: np.ndarray  # (N, K)
    d: np.ndarray  # (N, N) distance from i's ideal to j's position
    R: np.ndarray  # (N,)
    uown: np.ndarray  # (N, N) u(d_ij, R_i)


@dataclass(frozen=True)
class SMPTrajectory:
    """Everything a run produced, on the internal unit scale.

    Attributes
    ----------
    positions, ideals
        (T+1, N, K) per state.
    risk
        (T+1, N) risk attitudes R per state.
    probabilities
        (T+1, N) reported probability per actor (spec §11).
    classes
        Per state, the equivalence classes: list of (representative, members, probability).
    turns
        Per turn t = 1..T: proposals, bargains, queues, delta, stopping ratio.
    ratios
        (T,) stopping ratio per turn.
    stop_reason
        ``"converged"``, ``"max_turns"`` or ``"coincide"``.
    params
        The resolved parameters.
    """

    positions: np.ndarray
    ideals: np.ndarray
    risk: np.ndarray
    probabilities: np.ndarray
    classes: list[list[tuple[int, list[int], float]]]
    turns: list[dict[str, Any]]
    ratios: np.ndarray
    stop_reason: str
    params: SMPParams
    #: The seed :func:`simulate` drew when called without ``rng`` (see :mod:`detente.seeding`);
    #: ``None`` when the caller gave its own generator or the run drew nothing.
    seed: int | None = None

    @property
    def num_states(self) -> int:
        return int(self.positions.shape[0])


@dataclass(frozen=True)
class _Options:
    """The engine's options of a resolved :class:`SMPParams` (every one set)."""

    voting_rule: str
    victory_prob_model: str
    pce_model: str
    big_r_range: str
    big_r_adjust: str
    third_party_commit: str
    inter_vec_brgn: str
    bargn_model: str

    @classmethod
    def of(cls, params: SMPParams) -> _Options:
        vals = {f: getattr(params, f) for f in cls.__dataclass_fields__}
        missing = [f for f, v in vals.items() if v is None]
        if missing:
            raise ValueError(f"SMP parameters not resolved (call SMPParams.resolved() first): {', '.join(missing)}")
        return cls(**vals)


class _Engine:
    def __init__(self, cap: np.ndarray, sal: np.ndarray, params: SMPParams, affinity: np.ndarray | None,
                 rng: np.random.Generator | None):
        # KTAB's floors (COAL_FLOOR, CONTEST_EPS) are absolute amounts of capability-weighted
        # vote: on the 'unit' scale they are relative to the largest capability
        if params.capability_scale == "unit":
            cap = unit_scale(cap)
        self.cap = cap
        self.sal = sal
        self.S = sal.sum(axis=1)
        self.w = self.S * cap  # challenge weights
        self.n = cap.shape[0]
        self.p = params
        self.o = _Options.of(params)
        self.A = affinity
        self.rng = rng

    # -- state helpers
    def make_state(self, pos: np.ndarray, ideal: np.ndarray) -> _State:
        d = distances(ideal, pos, self.sal)
        u0 = 1.0 - d
        pr = scalar_pce(self.cap, u0, self.o.voting_rule, self.o.victory_prob_model, self.o.pce_model)
        R = big_r_from_prob(pr, self.o.big_r_range)
        uown = bs_util(d, R[:, None])
        return _State(pos=pos, ideal=ideal, d=d, R=R, uown=uown)

    def perceived(self, st: _State, h: int) -> np.ndarray:
        """U^h[i, j] = u(d_ij, r_hi)."""
        r = est_nra(st.R[h], st.R, self.o.big_r_adjust)
        return bs_util(st.d, r[:, None])

    def report(self, st: _State) -> tuple[np.ndarray, list[tuple[int, list[int], float]]]:
        pos = st.pos
        diff = pos[:, None, :] - pos[None, :, :]
        close = (np.sqrt(np.sum(diff * diff, axis=2)) < EQUIV_TOL).tolist()
        reps: list[int] = []
        members: dict[int, list[int]] = {}
        for i in range(self.n):
            row = close[i]
            for r in reps:
                if row[r]:
                    members[r].append(i)
                    break
            else:
                reps.append(i)
                members[i] = [i]
        pr = scalar_pce(self.cap, st.uown[:, reps], self.o.voting_rule, self.o.victory_prob_model, self.o.pce_model)
        out = np.empty(self.n)
        for i in range(self.n):
            row = close[i]
            last = [k for k, r in enumerate(reps) if row[r]][-1]  # i is within reach of its own rep
            out[i] = pr[last]
        classes = [(r, members[r], float(pv)) for r, pv in zip(reps, pr)]
        return out, classes

    # -- challenges
    def challenges(self, U: np.ndarray, i: int, js: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """P_h(i > j) and dEU for beneficiary i, for targets ``js``, with h's utilities U."""
        rule = self.o.voting_rule
        w = self.w
        uii = U[i, i]
        uij = U[i, js]
        a = vote(rule, w[i], uii, uij)
        b = vote(rule, w[js], U[js, i], U[js, js])
        cij = CONTEST_EPS + np.maximum(a, 0.0) + np.maximum(b, 0.0)
        cji = CONTEST_EPS + np.maximum(-a, 0.0) + np.maximum(-b, 0.0)
        # third parties n: arrays (len(js), N)
        uni = U[:, i][None, :]
        unj = U[:, js].T
        unn = np.diag(U)[None, :]
        wn = w[None, :]
        v0 = vote(rule, wn, uni, unj)
        ci = cij[:, None] + np.maximum(v0, 0.0)
        pin = ci / (ci + cji[:, None] + np.maximum(-v0, 0.0))
        v, _, _ = third_party_vote(wn, rule, self.o.third_party_commit, pin, uni, unj, unn)
        v = np.array(v, dtype=float, copy=True)
        v[:, i] = 0.0
        v[np.arange(len(js)), js] = 0.0
        cij = cij + np.sum(np.maximum(v, 0.0), axis=1)
        cji = cji + np.sum(np.maximum(-v, 0.0), axis=1)
        P = cij / (cij + cji)
        sj = self.S[js]
        sq = uii + uij
        vict = 2.0 * uii
        contest = P * (2.0 * uii) + (1.0 - P) * (2.0 * uij)
        deu = ((1.0 - sj) * vict + sj * contest) - sq
        return P, deu

    # -- one turn
    def turn(self, st: _State) -> tuple[np.ndarray, dict[str, Any]]:
        N = self.n
        p = self.p
        sal = self.sal
        pos = st.pos
        proposals: list[dict[str, Any]] = []
        bargains: list[tuple[int, int, np.ndarray, np.ndarray]] = []
        brec: list[dict[str, Any]] = []
        allj = np.arange(N)
        for i in range(N):
            Ui = self.perceived(st, i)
            P, deu = self.challenges(Ui, i, allj)
            deu = deu.copy()
            deu[i] = -np.inf
            j = int(np.argmax(deu))
            if not deu[j] > MIN_DEU:
                proposals.append({"actor": i, "target": None})
                continue
            pI = float(P[j])
            proposals.append({"actor": i, "target": j, "p_win": pI, "delta_eu": float(deu[j])})
            b1 = interpolate_bargain(self.o.inter_vec_brgn, pos[i], sal[i], pos[j], sal[j], pI, 1.0 - pI)
            bm = self.o.bargn_model
            if bm == "InitOnlyInterp":
                new = [b1]
            else:
                Uj = self.perceived(st, j)
                Pj, deuj = self.challenges(Uj, i, np.array([j]))
                q = float(deuj[0]) if bm in ("InitRcvrInterp", "PWCompInterp") else float(Pj[0])
                b2 = interpolate_bargain(self.o.inter_vec_brgn, pos[i], sal[i], pos[j], sal[j], q, 1.0 - q)
                if bm.startswith("InitRcvr"):
                    new = [b1, b2]
                else:
                    wI = self.cap[i] * self.S[i]
                    wJ = (self.cap[i] if bm == "PWCompInterp" else self.cap[j]) * self.S[j]
                    tot = wI + wJ
                    new = [((wI * b1[0] + wJ * b2[0]) / tot, (wI * b1[1] + wJ * b2[1]) / tot)]
            for bi, bj in new:
                bargains.append((i, j, bi, bj))
                brec.append({"initiator": i, "receiver": j, "b_initiator": bi, "b_receiver": bj})

        # values of queue entries to every voter a (rows), own view
        uown = st.uown
        sq_val = np.sum(uown, axis=1) / N
        nb = len(bargains)
        if nb:
            bI = np.array([b[2] for b in bargains])  # (nb, K)
            bJ = np.array([b[3] for b in bargains])
            I = np.array([b[0] for b in bargains])
            J = np.array([b[1] for b in bargains])
            uI = bs_util(distances(st.ideal, bI, sal), st.R[:, None]).T  # (nb, N voters)
            uJ = bs_util(distances(st.ideal, bJ, sal), st.R[:, None]).T
            # each bargain's utility rows with I's and J's positions replaced, summed in the
            # same order as the status quo's (exact ties stay exact); blocks bound the memory
            b_val = np.empty((nb, N))
            step = max(1, _CHUNK // (N * N))
            for b0 in range(0, nb, step):
                b1 = min(nb, b0 + step)
                T = np.broadcast_to(uown, (b1 - b0, N, N)).copy()
                ar = np.arange(b1 - b0)
                T[ar, :, I[b0:b1]] = uI[b0:b1]
                T[ar, :, J[b0:b1]] = uJ[b0:b1]
                b_val[b0:b1] = np.sum(T, axis=2) / N  # (block, N voters)
        else:
            b_val = np.zeros((0, N))
            I = J = np.zeros(0, dtype=int)
        queues: list[list[int]] = [[] for _ in range(N)]
        for b, (bi_, bj_, _, _) in enumerate(bargains):
            queues[bi_].append(b)
            if bj_ != bi_:
                queues[bj_].append(b)
        qprobs: list[np.ndarray] = []
        for k in range(N):
            if queues[k]:
                u = np.column_stack([sq_val, b_val[queues[k]].T])  # (voters, M)
                qp = scalar_pce(self.cap, u, self.o.voting_rule, self.o.victory_prob_model, self.o.pce_model)
            else:
                qp = np.ones(1)
            qprobs.append(qp)
        chosen = []
        if p.state_transitions == "Stochastic":
            assert self.rng is not None
            for k in range(N):
                qp = qprobs[k]
                if len(qp) == 1:
                    chosen.append(0)
                    continue
                c = np.cumsum(qp)
                x = self.rng.random() * c[-1]
                chosen.append(int(min(np.searchsorted(c, x, side="right"), len(qp) - 1)))
        else:
            chosen = [int(np.argmax(qp)) for qp in qprobs]
        new_pos = pos.copy()
        qrec = []
        for k in range(N):
            m = chosen[k]
            entry = None
            if m > 0:
                b = queues[k][m - 1]
                entry = b
                new_pos[k] = bargains[b][2] if bargains[b][0] == k else bargains[b][3]
            qrec.append({"actor": k, "entries": [None] + queues[k], "probabilities": qprobs[k],
                         "chosen": entry, "moved": bool(np.any(new_pos[k] != pos[k]))})
        rec = {"proposals": proposals, "bargains": brec, "queues": qrec}
        return new_pos, rec

    def new_ideals(self, new_pos: np.ndarray, old_ideal: np.ndarray) -> np.ndarray:
        if self.A is None:
            return new_pos.copy()
        A = self.A
        keep = 1.0 - np.minimum(1.0, A.sum(axis=1))
        return A @ new_pos + keep[:, None] * old_ideal

    def run(self, pos0: np.ndarray, ideal0: np.ndarray | None = None, *, report: bool = True) -> SMPTrajectory:
        st = self.make_state(pos0.copy(), pos0.copy() if ideal0 is None else ideal0.copy())
        states = [st]
        turns: list[dict[str, Any]] = []
        ratios: list[float] = []
        delta1 = None
        stop = "max_turns"
        if _all_coincide(st.pos):
            stop = "coincide"
        else:
            for t in range(1, self.p.rounds + 1):
                new_pos, rec = self.turn(st)
                ideal = self.new_ideals(new_pos, st.ideal)
                nst = self.make_state(new_pos, ideal)
                delta = float(np.sum(np.linalg.norm(new_pos - st.pos, axis=1)))
                if delta1 is None:
                    delta1 = delta
                r = delta / (delta1 + DELTA1_OFFSET)
                rec["turn"] = t
                rec["delta"] = delta
                rec["stopping_ratio"] = r
                turns.append(rec)
                ratios.append(r)
                states.append(nst)
                st = nst
                if t >= MIN_TURNS and r < STOP_RATIO:
                    stop = "converged"
                    break
                if _all_coincide(st.pos):
                    stop = "coincide"
                    break
        probs = []
        classes = []
        for s in states:
            if report:
                pr, cl = self.report(s)
            else:
                pr, cl = np.full(self.n, np.nan), []
            probs.append(pr)
            classes.append(cl)
        return SMPTrajectory(
            positions=np.array([s.pos for s in states]),
            ideals=np.array([s.ideal for s in states]),
            risk=np.array([s.R for s in states]),
            probabilities=np.array(probs),
            classes=classes,
            turns=turns,
            ratios=np.array(ratios),
            stop_reason=stop,
            params=self.p,
        )


def _all_coincide(pos: np.ndarray) -> bool:
    return bool(np.all(pos == pos[0]))


def simulate(
    capability: Any,
    position: Any,
    salience: Any,
    params: SMPParams | None = None,
    *,
    affinity: Any = None,
    rng: np.random.Generator | None = None,
    report: bool = True,
) -> SMPTrajectory:
    """Run SMP on arrays on the unit scale.

    Parameters
    ----------
    capability
        (N,) positive capabilities (rescaled to a largest of 100 unless ``params.capability_scale`` is "raw").
    position
        (N, K) positions in [0, 1].
    salience
        (N, K) saliences in [0, 1], each row summing to at most 1 and not all zero.
    params
        :class:`SMPParams` (``None`` parameters take KTAB's defaults).
    affinity
        (N, N) ideal-adjustment matrix; ``None`` is the identity (ideals follow positions).
    rng
        Generator for Stochastic transitions. Without one, the seed policy of
        :mod:`detente.seeding` applies: a seed is drawn, and recorded in ``SMPTrajectory.seed``
        if the run drew from it (``None`` otherwise).
    report
        Compute the reported probabilities (spec §11) of every state.

    Returns
    -------
    SMPTrajectory
    """
    cap = np.asarray(capability, float).ravel()
    pos = np.atleast_2d(np.asarray(position, float))
    sal = np.atleast_2d(np.asarray(salience, float))
    if pos.shape != sal.shape or pos.shape[0] != cap.shape[0]:
        raise ValueError("capability (N,), position and salience (N, K) shapes disagree")
    if np.any(~(cap > 0)):
        raise ValueError("every capability must be positive")
    if np.any(~(np.sum(sal * sal, axis=1) > 0)):
        raise ValueError("every actor needs a positive salience on some dimension")
    p = (params or SMPParams()).resolved()
    A = None
    if affinity is not None:
        A = np.asarray(affinity, float)
        if A.shape != (cap.shape[0],) * 2:
            raise ValueError("affinity must be N x N")
        if np.array_equal(A, np.eye(cap.shape[0])):
            A = None
    if rng is None:  # the one seed policy: draw a seed, record it if the run used it
        traj, seed = run_seeded(lambda g: _Engine(cap, sal, p, A, g).run(pos, report=report), None, stochastic=True)
        return replace(traj, seed=seed)
    return _Engine(cap, sal, p, A, rng).run(pos, report=report)


# ----------------------------------------------------------------------------- scenario adapter


def _scenario_arrays(scenario: Any, notes: list[str]) -> tuple[list[str], list[Any], np.ndarray, np.ndarray, np.ndarray]:
    from detente.scenario import SALIENCE_MAX

    issues = list(scenario.issues)
    if not issues:
        raise InputError(Problem("smp needs at least one issue", column="issues", expected="one issue per dimension"))
    smax = SALIENCE_MAX[scenario.salience_scale]
    stance = {(s.actor, s.issue): s for s in scenario.stances}
    ids, cap, pos, sal = [], [], [], []
    problems: list[Problem] = []
    for a in scenario.actors:
        row = [stance.get((a.id, iss.id)) for iss in issues]
        if all(s is None for s in row):
            notes.append(f"actor {a.id} has no stance on any issue and is left out")
            continue
        caps = {s.capability for s in row if s is not None and s.capability is not None}
        c = a.capability
        if caps:
            with np.errstate(over="ignore"):
                c = float(np.mean(sorted(caps)))
            if not math.isfinite(c):  # the sum overflowed (capabilities near 1e308): average ratios
                top = max(caps)
                c = float(np.mean(np.asarray(sorted(caps)) / top)) * top
            if len(caps) > 1:
                notes.append(f"actor {a.id}: per-issue capabilities differ; their mean {c:g} is used")
        p_row, s_row = [], []
        for iss, s in zip(issues, row):
            if s is None:
                ref = iss.status_quo if iss.status_quo is not None else (iss.lower + iss.upper) / 2
                notes.append(f"actor {a.id} has no stance on issue {iss.id}: salience 0, position {ref:g}")
                p_row.append((ref - iss.lower) / iss.width)
                s_row.append(0.0)
            else:
                p_row.append((s.position - iss.lower) / iss.width)
                s_row.append(s.salience / smax)
        if not c > 0:
            problems.append(Problem("smp needs a positive capability", column=f"actors.{a.id}.capability", value=c,
                                    expected="a number > 0"))
        tot = sum(s_row)
        if not tot > 0:
            problems.append(Problem("smp needs a positive salience on at least one issue",
                                    column=f"actors.{a.id}.salience", value=0, expected="a total salience > 0"))
        elif tot > 1.0 + 1e-9:
            notes.append(f"actor {a.id}: total salience {tot:.6g} above 1 (100 %) rescaled to 1")
            s_row = [x / tot for x in s_row]
        ids.append(a.id)
        cap.append(c)
        pos.append(p_row)
        sal.append(s_row)
    if len(ids) < 2:
        problems.append(Problem("smp needs at least two actors with stances", column="actors", value=len(ids),
                                expected="2 or more actors (KTAB: 3 to 250)"))
    if problems:
        raise InputError(problems)
    return ids, issues, np.array(cap), np.array(pos), np.array(sal)


def _affinity(meta: dict[str, Any], ids: list[str]) -> np.ndarray | None:
    pairs = meta.get("ideal_adjustment")
    if not pairs:
        return None
    A = np.eye(len(ids))
    idx = {a: k for k, a in enumerate(ids)}
    problems = []
    for k, pr in enumerate(pairs):
        adj, ref, val = pr.get("adjusting"), pr.get("reference"), pr.get("adjust")
        for what, name in (("adjusting", adj), ("reference", ref)):
            if name not in idx:
                problems.append(Problem("ideal adjustment names an unknown actor",
                                        column=f"metadata.smp.ideal_adjustment.{k}.{what}", value=name,
                                        expected="an actor of the scenario"))
        try:
            v = float(val)
        except (TypeError, ValueError):
            problems.append(Problem("ideal adjustment is not a number",
                                    column=f"metadata.smp.ideal_adjustment.{k}.adjust", value=val, expected="a number"))
            continue
        if adj in idx and ref in idx:
            A[idx[adj], idx[ref]] = v
    if problems:
        raise InputError(problems)
    return A


def _round_extra(traj: SMPTrajectory, t: int, ids: list[str]) -> dict[str, Any]:
    return {
        "state": t,
        "probabilities": {a: float(traj.probabilities[t, i]) for i, a in enumerate(ids)},
        "risk": {a: float(traj.risk[t, i]) for i, a in enumerate(ids)},
        "stopping_ratio": float(traj.ratios[t - 1]) if t >= 1 else None,
    }


def run(scenario: Any, params: SMPParams, *, rng: np.random.Generator | None = None) -> RunResult:
    """Run SMP on a scenario (each issue one dimension; see the module docstring).

    Parameters left at ``None`` come from ``scenario.metadata["smp"]["parameters"]`` (KTAB
    XML ``ModelParameters``) or KTAB's defaults; the ideal-adjustment (pragmatic affinity)
    matrix from ``scenario.metadata["smp"]["ideal_adjustment"]`` (pairs of actor names).

    Called without ``rng``, the seed policy of :mod:`detente.seeding` applies (as in
    :func:`~detente.models.registry.run_model`): a seed is drawn and recorded in
    ``RunResult.seed`` if the run drew from it. With ``rng``, ``seed`` is ``None``.

    The per-issue forecast is the coordinate of the most probable final position (the final
    probabilistic Condorcet election over the distinct positions); the whole outcome
    distribution is in ``extra["outcome"]``.
    """
    notes: list[str] = [
        "positions mapped to [0,1] per issue internally (KTAB: value/100); results on each issue's scale",
    ]
    if rng is None:  # called directly: the one seed policy (detente.seeding), seed recorded
        result, seed = run_seeded(lambda g: run(scenario, params, rng=g), None, stochastic=True)
        return result.with_seed(seed)
    meta = dict((scenario.metadata or {}).get("smp") or {})
    ids, issues, cap, pos, sal = _scenario_arrays(scenario, notes)
    p = params.resolved(meta.get("parameters"))
    A = _affinity(meta, ids)
    eng = _Engine(cap, sal, p, A, rng)
    cap = eng.cap  # the capabilities the engine used (unit scale by default)
    traj = eng.run(pos)
    T = traj.num_states

    lo = np.array([iss.lower for iss in issues])
    wd = np.array([iss.width for iss in issues])

    def scale(x: np.ndarray) -> np.ndarray:
        return lo + x * wd

    P = scale(traj.positions)  # (T, N, K)
    Q = scale(traj.ideals)
    final_classes = traj.classes[-1]
    best = max(final_classes, key=lambda c: c[2]) if final_classes else None
    outcome = [
        {
            "position": {iss.id: float(P[-1, rep, k]) for k, iss in enumerate(issues)},
            "probability": prob,
            "actors": [ids[m] for m in members],
        }
        for rep, members, prob in final_classes
    ]
    out_issues: dict[str, IssueResult] = {}
    from detente.models.baseline import weighted_median

    for k, iss in enumerate(issues):
        wts = cap * sal[:, k]
        rounds = []
        for t in range(T):
            x = P[t, :, k]
            rounds.append(RoundRecord(
                positions={a: float(x[i]) for i, a in enumerate(ids)},
                median=weighted_median(x, wts) if wts.sum() > 0 else None,
                mean=float(np.dot(wts, x) / wts.sum()) if wts.sum() > 0 else None,
                extra={**_round_extra(traj, t, ids), "ideals": {a: float(Q[t, i, k]) for i, a in enumerate(ids)}},
            ))
        exp_val = float(sum(c[2] * P[-1, c[0], k] for c in final_classes))
        out_issues[iss.id] = IssueResult(
            forecast=float(P[-1, best[0], k]) if best is not None else None,
            rounds=tuple(rounds),
            extra={"expected": exp_val, "num_states": T},
        )

    def vec(x: np.ndarray) -> dict[str, float]:
        return {iss.id: float(v) for iss, v in zip(issues, scale(np.asarray(x)))}

    turns_json = []
    for rec in traj.turns:
        turns_json.append({
            "turn": rec["turn"],
            "delta": rec["delta"],
            "stopping_ratio": rec["stopping_ratio"],
            "proposals": [
                {"actor": ids[pr["actor"]], "target": None if pr["target"] is None else ids[pr["target"]],
                 **({"p_win": pr["p_win"], "delta_eu": pr["delta_eu"]} if pr["target"] is not None else {})}
                for pr in rec["proposals"]
            ],
            "bargains": [
                {"initiator": ids[b["initiator"]], "receiver": ids[b["receiver"]],
                 "initiator_position": vec(b["b_initiator"]), "receiver_position": vec(b["b_receiver"])}
                for b in rec["bargains"]
            ],
            "queues": [
                {"actor": ids[q["actor"]], "entries": q["entries"], "probabilities": q["probabilities"],
                 "chosen": q["chosen"], "moved": q["moved"]}
                for q in rec["queues"]
            ],
        })
    extra = {
        "num_states": T,
        "turns": T - 1,
        "stop_reason": traj.stop_reason,
        "stopping_ratios": traj.ratios.tolist(),
        "outcome": outcome,
        "states": [
            {"state": t,
             "classes": [{"representative": ids[r], "actors": [ids[m] for m in mem], "probability": pv}
                         for r, mem, pv in traj.classes[t]]}
            for t in range(T)
        ],
        "turn_records": turns_json,
        "ktab_codes": p.codes(),
    }
    notes.append(f"{T} states ({T - 1} turns), stopped: {traj.stop_reason}")
    if p.capability_scale == "unit":
        notes.append("capabilities rescaled so that the largest is 100 internally (KTAB's nominal scale; "
                     "forecasts depend only on capability ratios)")
    else:
        notes.append("capabilities used as given (capability_scale='raw', KTAB's arithmetic): the result "
                     "depends on the capability scale through KTAB's absolute floors")
    if A is not None:
        notes.append("ideal adjustment (pragmatic affinity) matrix from the scenario")
    return RunResult.build(model="smp", scenario=scenario, params=p, issues=out_issues, notes=notes, extra=extra)


def tables(result: RunResult) -> tuple[Any, Any]:
    """The by-turn exports of an SMP result as two pandas DataFrames.

    Returns
    -------
    (positions, probabilities)
        ``positions`` has columns state, actor, dimension, position, ideal (issue scale);
        ``probabilities`` has columns state, actor, probability (spec §11, §14).
    """
    import pandas as pd

    pos_rows: list[tuple[Any, ...]] = []
    prob_rows: list[tuple[Any, ...]] = []
    for k, (iss, ir) in enumerate(result.issues.items()):
        for rr in ir.rounds:
            t = rr.extra["state"]
            ideals = rr.extra["ideals"]
            for a, x in rr.positions.items():
                pos_rows.append((t, a, iss, x, ideals[a]))
                if k == 0:
                    prob_rows.append((t, a, rr.extra["probabilities"][a]))
    return (pd.DataFrame(pos_rows, columns=["state", "actor", "dimension", "position", "ideal"]),
            pd.DataFrame(prob_rows, columns=["state", "actor", "probability"]))


SPEC = ModelSpec(
    name="smp",
    summary="KTAB's spatial model of politics: bargaining in a multi-dimensional space scored by "
    "probabilistic Condorcet elections.",
    params_class=SMPParams,
    run=run,
    multi_issue=True,
    dynamics=True,
    stochastic=True,
    citation="Wise, Lester & Efird (2015), KAPSARC KS-1517-DP018A; KAPSARC KTAB (SMP 1.4)",
)
