"""Procedural (agenda-setter) models of EU legislation: the Commission proposes the point it
likes best among those the Council — and, under codecision, the Parliament — prefer to the
status quo.

One issue at a time, on a one-dimensional scale with Euclidean (distance) preferences:

* a member state ``i`` prefers ``y`` to the status quo ``q`` iff ``|y − x_i| ≤ |q − x_i|``;
* under **unanimity** ``y`` passes iff every member state with a position prefers it (the
  status-quo-sensitive winset: the intersection of the intervals
  ``[x_i − |q − x_i|, x_i + |q − x_i|]``, which always contains ``q``);
* under **QMV** ``y`` passes iff the states preferring it hold at least the qualified-majority
  share of the Council weight of the states with a position (``qmv_share``: by default the
  wave's threshold, 62/87 in DEU I, 255/345 in DEU II, 65 % in DEU III);
* under **codecision** (variant ``codecision``, issues with ``proc`` COD) the Parliament is a
  co-legislator: ``y`` must also leave the EP no worse than ``q``, and the proposal is made by
  the Commission and the EP jointly (their ideal points' midpoint is the target);
* the setter's target is the Commission's position (variant ``setter``, and non-COD issues);
  the forecast is the passing point nearest to the target, found on a grid of ``grid`` steps
  of the scale (ties → the point nearest the status quo).

Capabilities are divided by the power of two just above their largest value on the issue
(exact, :mod:`detente.models.capability`) before use, so the ``1e-9`` margin of the QMV test
is relative to the largest vote weight and any common rescaling of the capabilities gives
the same forecast (with raw weights of order ``1e-100`` every grid point passed).

Issues without a status quo use ``no_status_quo``: the compromise (capability × salience
weighted mean; noted) or no forecast. A missing Commission position uses the Council's
capability × salience weighted median as target (noted).

References
----------
.. [1] Tsebelis, G. & Garrett, G. (2000). "Legislative politics in the European Union."
   *European Union Politics* 1(1).
.. [2] Crombez, C. (1996). "Legislative procedures in the European Community." *British
   Journal of Political Science* 26(2).
.. [3] Steunenberg, B. & Selck, T. J. (2006). "Testing procedural models of EU legislative
   decision-making." In Thomson, Stokman, Achen & König (eds.), *The European Union
   Decides*, CUP, ch. 3.
.. [4] Schneider, G., Finke, D. & Bailer, S. (2010). "Bargaining power in the European Union:
   an evaluation of competing game-theoretic models." *Political Studies* 58(1).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from detente.models.baseline import compromise, weighted_median
from detente.models.capability import CAPABILITY_NOTE, unit_capabilities
from detente.models.params import ModelParams
from detente.models.registry import ModelSpec
from detente.result import IssueResult, RunResult
from detente.scenario import Scenario

__all__ = ["ProceduralParams", "run_procedural", "SPEC", "QMV_SHARE"]

#: Qualified-majority share of the Council weight by DEU wave (see detente.scenario.eu_council).
QMV_SHARE = {"DEU I": 62 / 87, "DEU II": 255 / 345, "DEU III": 0.65}
INSTITUTIONS = ("COM", "EP")


class ProceduralParams(ModelParams):
    """Parameters of the procedural agenda-setter model."""

    variant: Literal["codecision", "setter"] = Field(
        "codecision", description="'codecision': the EP co-legislates on COD issues (veto + joint proposal); "
        "'setter': the Commission alone sets the agenda and the EP is ignored.")
    qmv_share: float | None = Field(
        None, gt=0.5, le=1.0, description="Qualified-majority share of Council weight; None = the wave's "
        "threshold (62/87, 255/345, 0.65), 255/345 when the wave is unknown.")
    grid: int = Field(1000, ge=10, le=100000, description="Grid steps over the issue scale.")
    no_status_quo: Literal["compromise", "none"] = Field(
        "compromise", description="Issues without a status quo: forecast the compromise (noted) or nothing.")


def _meta(scenario: Scenario, issue_id: str) -> dict:
    m = scenario.metadata or {}
    if "issues" in m and isinstance(m["issues"], dict) and issue_id in m["issues"]:
        return m["issues"][issue_id]
    return m


def run_procedural(scenario: Scenario, params: ProceduralParams, *, rng: np.random.Generator | None = None) -> RunResult:
    """Agenda-setter forecast per issue (Tsebelis & Garrett 2000; Steunenberg & Selck 2006)."""
    notes: list[str] = [CAPABILITY_NOTE]
    out: dict[str, IssueResult] = {}
    for iss in scenario.issues:
        a = scenario.issue_arrays(iss.id)
        if a.n == 0:
            out[iss.id] = IssueResult(None, extra={"reason": "no actor holds a position"})
            continue
        c_all = unit_capabilities(a.capability)  # exact power-of-two rescaling: the 1e-9 margin below is relative
        w_all = c_all * a.salience
        if not w_all.sum() > 0:
            w_all = np.ones(a.n)
        q = iss.status_quo
        if q is None:
            if params.no_status_quo == "none":
                out[iss.id] = IssueResult(None, extra={"reason": "no status quo"})
                continue
            notes.append(f"issue {iss.id}: no status quo; compromise forecast used")
            out[iss.id] = IssueResult(compromise(a.position, w_all), extra={"fallback": "compromise"})
            continue
        meta = _meta(scenario, iss.id)
        ids = list(a.actors)
        member = np.array([x not in INSTITUTIONS for x in ids])
        xs, cap = a.position[member], c_all[member]
        if not member.any():
            out[iss.id] = IssueResult(None, extra={"reason": "no Council member holds a position"})
            continue
        grid = np.linspace(iss.lower, iss.upper, params.grid + 1)
        prefers = np.abs(grid[:, None] - xs[None, :]) <= np.abs(q - xs)[None, :] + 1e-9
        if iss.decision_rule == "unanimity":
            passes = prefers.all(axis=1)
        else:
            share = params.qmv_share or QMV_SHARE.get(str(meta.get("wave")), 255 / 345)
            tot = cap.sum() if cap.sum() > 0 else float(len(cap))
            wv = cap if cap.sum() > 0 else np.ones(len(cap))
            passes = (prefers * wv[None, :]).sum(axis=1) >= share * tot - 1e-9
        target = a.position[ids.index("COM")] if "COM" in ids else None
        if target is None:
            target = weighted_median(xs, w_all[member] if w_all[member].sum() > 0 else np.ones(len(xs)))
            notes.append(f"issue {iss.id}: no Commission position; Council weighted median used as agenda target")
        cod = params.variant == "codecision" and str(meta.get("proc", "")).upper() == "COD"
        if cod and "EP" in ids:
            xe = a.position[ids.index("EP")]
            passes &= np.abs(grid - xe) <= abs(q - xe) + 1e-9
            target = (target + xe) / 2.0
        passes[np.argmin(np.abs(grid - q))] = True  # the status quo always "passes"
        cand = grid[passes]
        d = np.abs(cand - target)
        best = cand[d <= d.min() + 1e-9]
        f = float(best[np.argmin(np.abs(best - q))])
        out[iss.id] = IssueResult(f, extra={"codecision": cod, "rule": iss.decision_rule})
    return RunResult.build(model="procedural", variant=params.variant, scenario=scenario, params=params,
                           issues=out, notes=notes)


SPEC = ModelSpec(
    name="procedural",
    summary="Agenda-setter model: Commission (and EP under codecision) propose within the status-quo winset.",
    params_class=ProceduralParams,
    run=run_procedural,
    variants=("codecision", "setter"),
    citation="Tsebelis & Garrett (2000), EUP 1(1); Steunenberg & Selck (2006) in Thomson et al. (eds.), "
    "The European Union Decides, ch. 3",
)
