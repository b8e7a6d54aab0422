"""Baseline one-shot models: compromise (weighted mean), weighted median voter, and the
Nash bargaining solution.

These are the yardsticks every bargaining model has to beat. They work issue by issue.

References
----------
.. [1] Achen, C. H. (2006). "Evaluating political decision-making models." In Thomson,
   Stokman, Achen & König (eds.), *The European Union Decides*, CUP, ch. 10. (The
   compromise model: capability × salience weighted mean of positions.)
.. [2] Black, D. (1948). "On the rationale of group decision-making." *Journal of
   Political Economy* 56(1). (Median voter theorem; weighted median.)
.. [3] Nash, J. F. (1950). "The bargaining problem." *Econometrica* 18(2).
.. [4] Schneider, G., Finke, D. & Bailer, S. (2010). "Bargaining power in the European
   Union: an evaluation of competing game-theoretic models." *Political Studies* 58(1).
   (Weighted, asymmetric NBS with the status quo as disagreement point.)
.. [5] Thomson, R., Stokman, F. N., Achen, C. H. & König, T. (eds.) (2006). *The European
   Union Decides*. CUP. (The DEU data; the NBS and the compromise model compared.)
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from pydantic import Field

from detente.errors import RunError
from detente.models.capability import CAPABILITY_NOTE, capability_exponent, unit_capabilities
from detente.models.params import ModelParams
from detente.models.registry import ModelSpec
from detente.result import IssueResult, RunResult
from detente.scenario import IssueArrays, Scenario

__all__ = [
    "CompromiseParams",
    "MedianParams",
    "NBSParams",
    "compromise",
    "weighted_median",
    "nash_bargaining",
    "run_compromise",
    "run_median",
    "run_nbs",
]

Weights = Literal["capability_salience", "capability", "salience", "equal"]


class _Params(ModelParams):
    """Common base of the baseline models' parameters."""


class CompromiseParams(_Params):
    """Parameters of the compromise model."""

    weights: Weights = Field(
        "capability_salience",
        description="Actor weight: capability x salience (Achen's compromise model), capability "
        "only, salience only, or equal.",
    )
    zero_weight: Literal["mean", "error"] = Field(
        "mean",
        description="When every weight is zero: fall back to the unweighted mean of the positions "
        "(and say so in the notes), or fail.",
    )


class MedianParams(_Params):
    """Parameters of the weighted median voter model."""

    weights: Weights = Field("capability_salience", description="Voting weight of each actor.")
    tie: Literal["midpoint", "lower", "upper"] = Field(
        "midpoint",
        description="When the cumulative weight reaches exactly half between two positions, take "
        "their midpoint (equals numpy.median under equal weights), the lower or the upper one.",
    )
    zero_weight: Literal["mean", "error"] = Field(
        "mean", description="All weights zero: use equal weights (noted) or fail."
    )


class NBSParams(_Params):
    """Parameters of the Nash bargaining solution.

    The defaults (linear utility, 'worst' disagreement) were chosen by the pre-registered
    comparison on the DEU development file (``preregistration/nbs_variants.md``,
    ``docs/models/nbs.md``); until then they were quadratic utility with the status quo as
    disagreement point (MAE 38.60 there, against 22.79 now).
    """

    utility: Literal["quadratic", "linear"] = Field(
        "linear",
        description="Actor utility of outcome x: -(x - x_i)^2 (quadratic) or -|x - x_i| (linear), "
        "on the unit-normalised scale.",
    )
    weights: Weights = Field(
        "capability_salience",
        description="Bargaining power exponents of the asymmetric NBS (Schneider et al. 2010 use "
        "capability x salience).",
    )
    disagreement: Literal["status_quo", "worst"] = Field(
        "worst",
        description="Disagreement point: 'worst' gives each actor the utility of its worse scale end "
        "(no status quo needed); 'status_quo' uses the issue's status quo (issues without one fall "
        "back to 'worst', noted).",
    )
    when_no_gain: Literal["status_quo", "heavier_side"] = Field(
        "heavier_side",
        description="When no outcome makes every weighted actor strictly better off than the "
        "disagreement point (actors on both sides of the status quo): 'status_quo' returns the "
        "disagreement point (unanimity: anyone can veto); 'heavier_side' lets the actors on the "
        "heavier-weighted side of the status quo bargain among themselves (the others are outvoted); "
        "equal weight on both sides keeps the status quo.",
    )


# ------------------------------------------------------------------ weights


def actor_weights(arr: IssueArrays, weights: Weights) -> np.ndarray:
    """Actor weights on one issue under a weighting rule.

    Capabilities are divided by a power of two (:mod:`detente.models.capability`) first, so
    weights of any capability scale neither overflow nor underflow; the models use only
    ratios of weights, so results equal those on the raw scale bit for bit.
    """
    if weights == "capability_salience":
        return unit_capabilities(arr.capability) * arr.salience
    if weights == "capability":
        return unit_capabilities(arr.capability)
    if weights == "salience":
        return arr.salience.copy()
    return np.ones(arr.n)


# ------------------------------------------------------------------ closed forms


def compromise(position: np.ndarray, weight: np.ndarray) -> float:
    """Weighted mean ``sum(w x) / sum(w)``.

    Examples
    --------
    >>> compromise(np.array([0.0, 10.0]), np.array([1.0, 3.0]))
    7.5
    """
    w = np.asarray(weight, float)
    x = np.asarray(position, float)
    tot = w.sum()
    if not tot > 0:
        raise ZeroDivisionError("all weights are zero")
    return float(np.dot(w, x) / tot)


def weighted_median(position: np.ndarray, weight: np.ndarray, tie: str = "midpoint") -> float:
    """Weighted median voter position.

    The smallest position at which the cumulative weight (positions sorted, equal positions
    pooled) reaches half of the total. If it reaches exactly half there, the median lies
    anywhere between that position and the next one; ``tie`` picks the midpoint, the lower
    or the upper one.

    Examples
    --------
    >>> weighted_median(np.array([4.0, 7.0, 10.0]), np.array([1.0, 1.0, 1.0]))
    7.0
    >>> weighted_median(np.array([0.0, 10.0]), np.array([1.0, 1.0]))
    5.0
    """
    x = np.asarray(position, float)
    w = np.asarray(weight, float)
    tot = w.sum()
    if not tot > 0:
        raise ZeroDivisionError("all weights are zero")
    ux, inv = np.unique(x, return_inverse=True)
    uw = np.bincount(inv, weights=w)
    cum = np.cumsum(uw)
    half = tot / 2.0
    tol = 1e-12 * tot
    k = int(np.searchsorted(cum, half - tol))
    k = min(k, len(ux) - 1)
    if abs(cum[k] - half) <= tol and k + 1 < len(ux):
        # the next position with positive weight
        j = k + 1
        while j < len(ux) - 1 and uw[j] <= 0:
            j += 1
        if tie == "lower":
            return float(ux[k])
        if tie == "upper":
            return float(ux[j])
        return float((ux[k] + ux[j]) / 2.0)
    return float(ux[k])


def nash_bargaining(
    position: np.ndarray,
    weight: np.ndarray,
    disagreement: float | None,
    *,
    lower: float = 0.0,
    upper: float = 1.0,
    utility: str = "quadratic",
    when_no_gain: str = "heavier_side",
) -> float:
    """Asymmetric Nash bargaining solution on an interval (Nash 1950; weighted as in
    Schneider, Finke & Bailer 2010).

    Maximises ``sum_i w_i log(u_i(x) - u_i(d))`` over outcomes ``x`` in ``[lower, upper]``
    that leave every actor with positive weight strictly better off than the disagreement
    outcome ``d``, where ``u_i(x) = -(x - x_i)^2`` (``utility="quadratic"``) or
    ``-|x - x_i|`` (``"linear"``). Actors with weight 0 take no part. With
    ``disagreement=None`` every actor's disagreement utility is that of its worse scale end
    (then every outcome in ``(lower, upper)`` is a gain for everyone).

    With a status quo ``d``, an actor at ``d`` or actors on both sides of it leave no outcome
    that is a gain for all. ``when_no_gain`` decides:

    * ``"status_quo"``: unanimity — ``d`` is kept (any such actor vetoes);
    * ``"heavier_side"``: if both sides of ``d`` hold weight, the actors strictly on the side
      with more total weight bargain among themselves (the lighter side and the actors at ``d``
      are outvoted); **equal weight on both sides (up to rounding, relative tolerance 1e-12)
      keeps ``d``**, so the answer does not depend on which side is left or listed first.
      If only one side holds weight, everyone bargains, and an actor at ``d`` (who cannot
      gain) leaves the feasible set empty: ``d`` is kept.

    Returns
    -------
    float
        The outcome on the same scale as ``position``; ``d`` when no outcome is a gain for
        every actor that bargains.

    Examples
    --------
    >>> round(nash_bargaining(np.array([0.2, 0.8]), np.array([1.0, 1.0]), None), 6)
    0.5
    >>> nash_bargaining(np.array([0.2, 0.8]), np.array([1.0, 1.0]), 0.5)
    0.5
    """
    if not lower < upper:
        raise ValueError(f"lower ({lower}) must be below upper ({upper})")
    x = np.asarray(position, float)
    w = np.asarray(weight, float)
    keep = w > 0
    x, w = x[keep], w[keep]
    if len(x) == 0:
        raise ZeroDivisionError("all weights are zero")

    def u(out: float | np.ndarray, ideal: np.ndarray) -> np.ndarray:
        d = np.abs(np.subtract.outer(np.atleast_1d(out), ideal))
        return -(d**2) if utility == "quadratic" else -d

    if disagreement is None:
        ud = np.minimum(u(lower, x)[0], u(upper, x)[0])
    else:
        ud = u(disagreement, x)[0]
        left = x < disagreement
        right = x > disagreement
        if when_no_gain == "heavier_side":
            wl, wr = w[left].sum(), w[right].sum()
            if wl > 0 and wr > 0:
                if abs(wl - wr) <= 1e-12 * (wl + wr):
                    return float(disagreement)
                side = left if wl > wr else right
                x, w, ud = x[side], w[side], ud[side]
        elif not (left.all() or right.all()):
            return float(disagreement)

    # feasible interval: every actor strictly gains (|x - x_i| < r_i)
    r = np.sqrt(-ud) if utility == "quadratic" else -ud
    lo = max(lower, float(np.max(x - r)))
    hi = min(upper, float(np.min(x + r)))
    if not lo < hi:
        # only with a status quo: without one, every r_i reaches the far scale end
        if disagreement is None:
            raise ArithmeticError("empty feasible interval without a status quo")
        return float(disagreement)

    def neg(v: float) -> float:
        gain = u(v, x)[0] - ud
        if np.any(gain <= 0):
            return math.inf
        return -float(np.dot(w, np.log(gain)))

    eps = (hi - lo) * 1e-12
    from scipy.optimize import minimize_scalar  # here, not at import: scipy.optimize costs ~0.5 s CPU

    res = minimize_scalar(neg, bounds=(lo + eps, hi - eps), method="bounded", options={"xatol": 1e-12 * (upper - lower)})
    return float(res.x)


# ------------------------------------------------------------------ model entry points


def _weights_or_fallback(arr: IssueArrays, rule: Weights, zero_weight: str, notes: list[str], model: str) -> np.ndarray:
    w = actor_weights(arr, rule)
    if not w.sum() > 0:
        if zero_weight == "error":
            raise RunError(f"{model}: every actor weight on issue {arr.issue.id!r} is zero")
        notes.append(f"issue {arr.issue.id}: every weight is zero; equal weights used")
        w = np.ones(arr.n)
    return w


def _per_issue(scenario: Scenario, fn) -> dict[str, IssueResult]:
    out: dict[str, IssueResult] = {}
    for iss in scenario.issues:
        arr = scenario.issue_arrays(iss.id)
        if arr.n == 0:
            out[iss.id] = IssueResult(forecast=None, extra={"reason": "no actor holds a position"})
            continue
        out[iss.id] = IssueResult(forecast=fn(arr))
    return out


def run_compromise(scenario: Scenario, params: CompromiseParams, *, rng: np.random.Generator | None = None) -> RunResult:
    """Compromise model: capability × salience weighted mean per issue (Achen 2006).

    Capabilities are divided by a power of two internally (exact; see
    :mod:`detente.models.capability`), so any finite capability scale gives the same forecast.
    """
    notes: list[str] = [CAPABILITY_NOTE] if params.weights in ("capability_salience", "capability") else []
    issues = _per_issue(
        scenario,
        lambda a: compromise(a.position, _weights_or_fallback(a, params.weights, params.zero_weight, notes, "compromise")),
    )
    return RunResult.build(model="compromise", scenario=scenario, params=params, issues=issues, notes=notes)


def run_median(scenario: Scenario, params: MedianParams, *, rng: np.random.Generator | None = None) -> RunResult:
    """Weighted median voter per issue (Black 1948); capabilities normalised as in
    :func:`run_compromise`."""
    notes: list[str] = [CAPABILITY_NOTE] if params.weights in ("capability_salience", "capability") else []
    issues = _per_issue(
        scenario,
        lambda a: weighted_median(a.position, _weights_or_fallback(a, params.weights, params.zero_weight, notes, "median"), params.tie),
    )
    return RunResult.build(model="median", scenario=scenario, params=params, issues=issues, notes=notes)


def run_nbs(scenario: Scenario, params: NBSParams, *, rng: np.random.Generator | None = None) -> RunResult:
    """Asymmetric Nash bargaining solution per issue.

    The Nash (1950) bargaining solution maximises the product of the actors' utility gains
    over the disagreement point; the asymmetric (generalised) form raises each gain to a
    bargaining-power exponent. As a model of EU legislative bargaining it is the
    salience-weighted NBS of Schneider, Finke & Bailer (2010, *Political Studies* 58(1)), who
    weight each member state's gain by capability x salience and take the status quo (the
    DEU reference point) as disagreement point, and which Achen (2006) and the other chapters
    of Thomson, Stokman, Achen & König (eds.), *The European Union Decides* (CUP, 2006) compare
    with the compromise model (Achen derives the compromise model as an approximation of a
    weighted NBS with quadratic utilities and a distant disagreement point).

    Defaults: linear utility and the 'worst' disagreement point (each actor's worse scale end),
    chosen by a pre-registered comparison on the DEU development file
    (``preregistration/nbs_variants.md``); ``disagreement="status_quo"`` gives Schneider et
    al.'s status-quo version.

    Per issue, positions and the status quo are mapped to the unit interval
    (``(v - lower) / width``), :func:`nash_bargaining` is solved there, and the solution is
    mapped back (``lower + x * width``). Choices (all in :class:`NBSParams`): ``utility``,
    ``weights``, ``disagreement`` (an issue without a status quo uses the 'worst' rule, noted),
    ``when_no_gain`` (actors on both sides of the status quo; a tie keeps the status quo).
    If every weight on an issue is zero, equal weights are used (noted). See
    ``docs/models/nbs.md``.
    """
    notes: list[str] = ["positions normalised to the unit interval internally; forecasts on the issue scale"]
    if params.weights in ("capability_salience", "capability"):
        notes.append(CAPABILITY_NOTE)  # actor_weights

    def one(a: IssueArrays) -> float:
        iss = a.issue
        xs = (a.position - iss.lower) / iss.width
        d = None
        if params.disagreement == "status_quo" and iss.status_quo is not None:
            d = (iss.status_quo - iss.lower) / iss.width
        elif params.disagreement == "status_quo":
            notes.append(f"issue {iss.id}: no status quo; 'worst' disagreement rule used")
        w = _weights_or_fallback(a, params.weights, "mean", notes, "nbs")
        sol = nash_bargaining(xs, w, d, utility=params.utility, when_no_gain=params.when_no_gain)
        return iss.lower + sol * iss.width

    issues = _per_issue(scenario, one)
    return RunResult.build(model="nbs", scenario=scenario, params=params, issues=issues, notes=notes)


def batch_compromise(base, pert, params: CompromiseParams, *, rng: np.random.Generator | None = None) -> dict[str, np.ndarray]:
    """The compromise model over many perturbed copies of a scenario at once (sweeps).

    ``base`` is a :class:`~detente.experiments.distributions.ScenarioArrays`, ``pert`` the
    perturbed arrays (runs × actors × issues). Returns issue -> forecasts (one per run), equal
    to :func:`run_compromise` on each copy up to rounding.
    """
    out: dict[str, np.ndarray] = {}
    n = pert.position.shape[0]
    for i, iid in enumerate(base.issues):
        has = base.has[:, i]
        if not has.any():
            out[iid] = np.full(n, np.nan)
            continue
        x = pert.position[:, has, i]
        sal = pert.salience[:, has, i] / base.salience_max
        cap = pert.capability[:, has, i]
        cap = unit_capabilities(cap, capability_exponent(cap, axis=1)[:, None])
        w = {"capability_salience": cap * sal, "capability": cap, "salience": sal}.get(params.weights, np.ones_like(x))
        tot = w.sum(axis=1)
        zero = ~(tot > 0)
        if zero.any() and params.zero_weight == "error":
            raise RunError(f"compromise: every actor weight on issue {iid!r} is zero in some run")
        f = np.where(zero, x.mean(axis=1), (w * x).sum(axis=1) / np.where(zero, 1.0, tot))
        out[iid] = f
    return out


_CITE_COMPROMISE = "Achen (2006), in Thomson et al. (eds.), The European Union Decides, ch. 10"

COMPROMISE = ModelSpec(
    name="compromise",
    summary="Capability x salience weighted mean of positions (Achen's compromise model).",
    params_class=CompromiseParams,
    run=run_compromise,
    citation=_CITE_COMPROMISE,
    extra={"batch": batch_compromise},
)
MEDIAN = ModelSpec(
    name="median",
    summary="Weighted median voter (capability x salience weights by default).",
    params_class=MedianParams,
    run=run_median,
    citation="Black (1948), JPE 56(1)",
)
NBS = ModelSpec(
    name="nbs",
    summary="Asymmetric (capability x salience) Nash bargaining solution; linear utilities, each actor's "
    "worse scale end as disagreement point (status quo optional).",
    params_class=NBSParams,
    run=run_nbs,
    citation="Nash (1950), Econometrica 18(2); Schneider, Finke & Bailer (2010), Political Studies 58(1)",
)
