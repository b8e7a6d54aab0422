"""``deu_candidate3`` — the third pre-registered DEU candidate: the compromise model with
point masses. Under absolute error the best point forecast is the conditional median of the
outcome, and DEU outcomes have atoms (the Commission's proposal, the status quo, actor
positions); where an atom is likely enough the forecast is put on it instead of on the
weighted mean.

Specification: ``preregistration/deu_candidate3.md`` (committed before any fitting); it names this
file by its former path ``src/detente/models/deu_candidate3.py``. Per
issue, with positions ``x`` on 0–100:

* ``C`` — the compromise model (capability × salience weighted mean, Commission and EP at the
  largest member-state weight; unweighted mean if every weight × salience is 0);
* ``share_K`` / ``share_q`` — the Council weight of the member states whose position is within
  ``tol`` of the Commission's position ``K`` / of the reference point ``q``, as a share of the
  Council weight of all member states with a position (the institutions do not count);
* **Commission rule** (agenda setting [2]_ [3]_): if ``share_K ≥ theta``, forecast ``K``;
* **status-quo rule** (a blocking coalition defends the reference point [4]_ [5]_): else if
  ``share_q ≥ phi``, forecast ``q``;
* **snap**: else if ``delta > 0`` and an actor position (Commission, EP or member state) lies
  within ``delta`` of ``C``, the nearest one (ties: the first in the reader's actor order —
  COM, EP, then the member states in column order);
* else ``C``.

Salience enters only ``C``. A member state whose salience is missing in the file (read as 0
by :func:`detente.formats.deu.load_deu`, listed in ``metadata["salience_missing"]``) has no
weight in ``C`` but, like every actor with a position, still counts with its full Council
weight toward ``share_K``, ``share_q`` and their denominator, and is still a snap target.

A share is at most 1, so a threshold above 1 (:data:`OFF`) switches its rule off; with
``theta = phi = OFF`` and ``delta = 0`` the model is exactly the compromise. The frozen values
(:data:`FROZEN`) were fitted on the training side of the pre-registered split only and the spec
was selected on its validation side (``docs/deu-benchmark.md``,
``preregistration/deu_candidate3_fit.json``).

Positions are used on the unit-normalised scale ×100 internally and mapped back, so the model
runs on any scenario; actors other than ``COM`` and ``EP`` count as member states. Issue data
are read by :func:`detente.models.deu.reweighted_compromise.issue_data` (same capabilities, same
reference point handling).

References
----------
.. [1] Achen, C. H. (2006). "Evaluating political decision-making models." In Thomson,
   Stokman, Achen & König (eds.), *The European Union Decides*, CUP, ch. 10.
.. [2] Tsebelis, G. & Garrett, G. (2000). "Legislative politics in the European Union."
   *European Union Politics* 1(1).
.. [3] Crombez, C. (1996). "Legislative procedures in the European Community." *British
   Journal of Political Science* 26(2).
.. [4] Schneider, G., Finke, D. & Bailer, S. (2010). "Bargaining power in the European Union:
   an evaluation of competing game-theoretic models." *Political Studies* 58(1).
.. [5] König, T. & Proksch, S.-O. (2006). "A procedural exchange model of EU legislative
   politics." In Thomson, Stokman, Achen & König (eds.), *The European Union Decides*, CUP.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from pydantic import Field

from detente.models.deu.reweighted_compromise import IssueData, forecast_issues, frozen_spec_name
from detente.models.params import ModelParams
from detente.models.registry import ModelSpec
from detente.result import RunResult
from detente.scenario import Scenario

__all__ = ["OFF", "BASELINE", "FROZEN", "predict", "shares", "Candidate3Params", "SPEC", "spec_name"]

#: A threshold above every possible share: the rule never fires (the pre-registration's ∞).
OFF = 2.0

#: The compromise model in this parameterisation (every rule off).
BASELINE: dict[str, float] = {"theta": OFF, "phi": OFF, "delta": 0.0, "tol": 0.5}

#: The frozen candidate: spec P3 (selected on the validation side by the pre-registered rule),
#: fitted on the 156 scoreable train issues only (grid search, train MAE 24.442 vs compromise
#: 25.305): the compromise, snapped to the nearest actor position when one lies within 20
#: points; the Commission and status-quo rules are off. Validation (87 issues, the third use of
#: that split): MAE 17.847 vs compromise 19.824, difference -1.98, paired bootstrap 95 % CI
#: [-3.56, -0.35] over issues, [-3.66, -0.20] over proposals — optimistic, see
#: docs/deu-benchmark.md and preregistration/deu_candidate3_fit.json.
FROZEN: dict[str, Any] = {"spec": "P3", "theta": OFF, "phi": OFF, "delta": 20.0, "tol": 0.5}


def _compromise(d: IssueData) -> float:
    """The baseline compromise on 0–100 (institutions at the largest member-state weight)."""
    a = np.where(d.role == 0, d.v, 1.0)
    w = a * d.s
    return float((w * d.x).sum() / w.sum()) if w.sum() > 0 else float(d.x.mean())


def shares(d: IssueData, tol: float = 0.5) -> tuple[float | None, float | None]:
    """``(share_K, share_q)``: the member states' Council weight at the Commission's position
    and at the reference point, as shares of the weight of the member states with a position
    (``None`` where that position is missing or no member state holds a position)."""
    ms = d.role == 0
    v, x = d.v[ms], d.x[ms]
    tot = float(v.sum())
    if not ms.any() or tot <= 0:
        return None, None
    com = np.flatnonzero(d.role == 1)
    sk = float(v[np.abs(x - d.x[com[0]]) <= tol].sum() / tot) if len(com) else None
    sq = float(v[np.abs(x - d.rp) <= tol].sum() / tot) if d.rp is not None else None
    return sk, sq


def predict(d: IssueData, p: Mapping[str, float]) -> tuple[float, str]:
    """Forecast on 0–100 of one issue under parameters ``p`` (keys of :data:`BASELINE`) and the
    rule that produced it (``"commission"``, ``"status_quo"``, ``"snap"`` or ``"compromise"``)."""
    sk, sq = shares(d, p.get("tol", 0.5))
    if sk is not None and sk >= p["theta"]:
        return float(d.x[np.flatnonzero(d.role == 1)[0]]), "commission"
    if sq is not None and d.rp is not None and sq >= p["phi"]:  # sq exists only with a reference point
        return float(d.rp), "status_quo"
    c = _compromise(d)
    if p.get("delta", 0.0) > 0:
        j = int(np.argmin(np.abs(d.x - c)))
        if abs(d.x[j] - c) <= p["delta"]:
            return float(d.x[j]), "snap"
    return c, "compromise"


class Candidate3Params(ModelParams):
    """Parameters of ``deu_candidate3`` (``None``: the frozen, pre-registered fit). A run reports
    ``params["spec"]`` as the frozen spec's name only with the frozen values, else ``"custom"``."""

    theta: float | None = Field(None, ge=0, description="Commission rule: forecast the Commission's position when "
                                "member states holding this share of Council weight share it (> 1: off).")
    phi: float | None = Field(None, ge=0, description="Status-quo rule: forecast the reference point when member "
                              "states holding this share of Council weight sit on it (> 1: off).")
    delta: float | None = Field(None, ge=0, description="Snap the compromise to the nearest actor position within "
                                "delta (0-100 scale; 0: off).")
    tol: float | None = Field(None, ge=0, description="A state is 'at' a position within this distance (0-100).")

    def values(self) -> dict[str, float]:
        return {k: float(FROZEN[k] if getattr(self, k) is None else getattr(self, k)) for k in BASELINE}


def spec_name(p: Mapping[str, float]) -> str:
    """:func:`detente.models.deu.reweighted_compromise.frozen_spec_name` of this candidate."""
    return frozen_spec_name(p, FROZEN, BASELINE)


def run_candidate3(scenario: Scenario, params: Candidate3Params, *, rng: np.random.Generator | None = None) -> RunResult:
    """Forecast every issue with the (frozen) point-mass rules."""
    p = params.values()

    def forecast(d: IssueData) -> tuple[float, dict[str, str]]:
        f, rule = predict(d, p)
        return f, {"rule": rule}

    out = forecast_issues(scenario, forecast)
    return RunResult.build(model="deu_candidate3", scenario=scenario, params={**p, "spec": spec_name(p)},
                           issues=out, notes=["positions on the 0-100 normalised scale internally; forecast mapped back"])


SPEC = ModelSpec(
    name="deu_candidate3",
    summary="Third pre-registered DEU candidate: the compromise model with point masses (Commission position "
            "when a Council majority shares it, status quo when a blocking share defends it, snapping).",
    params_class=Candidate3Params,
    run=run_candidate3,
    citation="Achen (2006) in Thomson et al. (eds.), The European Union Decides; Tsebelis & Garrett (2000)",
)
