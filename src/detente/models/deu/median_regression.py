"""``deu_candidate`` — the pre-registered DEU forecasting candidate: a least-absolute-deviation
(median-regression) stack of the compromise model and procedural anchors.

Specification: ``preregistration/deu_candidate.md`` (committed before any fitting); it names this
file by its former path ``src/detente/models/deu_candidate.py``. Per
issue the features are

* ``C`` — the compromise model (capability × salience weighted mean; Achen 2006);
* ``R`` — the status quo / reference point (``C`` when missing);
* ``K`` — the Commission's position (``C`` when missing);
* ``E`` — the European Parliament's position (``C`` when missing);
* ``M`` — the capability × salience weighted median;
* ``U`` — 1 under unanimity; ``D`` — 1 under codecision (``proc`` COD);

and the forecast of spec S1–S4 is ``clip(β · X, lower, upper)`` with the design columns of
:data:`SPEC_COLUMNS`; S5 adds "snapping" to the nearest actor position within ``δ``. The
frozen coefficients (:data:`FROZEN`) were fitted on the training side of the pre-registered
split only and selected on its validation side (``docs/deu-benchmark.md``).

Positions are used on the unit-normalised scale internally and mapped back to the issue's
scale, so the model runs on any scenario (coefficients were fitted on DEU's 0–100 scale).
Capabilities are divided by the power of two just above their largest value first (exact,
:mod:`detente.models.capability`), so any common rescaling gives the same forecast.

References
----------
.. [1] Achen, C. H. (2006). "Evaluating political decision-making models." In Thomson,
   Stokman, Achen & König (eds.), *The European Union Decides*, CUP, ch. 10.
.. [2] Thomson, R. et al. (2006). *The European Union Decides*. CUP.
.. [3] Schneider, G., Finke, D. & Bailer, S. (2010). *Political Studies* 58(1).
.. [4] Koenker, R. & Bassett, G. (1978). "Regression quantiles." *Econometrica* 46(1).
.. [5] Arregui, J. & Perarnaud, C. (2021). DEU III dataset, *JEPP*; doi:10.34810/data53 (CC BY 4.0).
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from pydantic import Field

from detente.models.baseline import compromise, weighted_median
from detente.models.capability import CAPABILITY_NOTE, unit_capabilities
from detente.models.params import ModelParams
from detente.models.registry import ModelSpec
from detente.result import IssueResult, RunResult
from detente.scenario import Scenario

__all__ = ["FEATURES", "SPEC_COLUMNS", "features", "design", "predict", "FROZEN", "CandidateParams", "SPEC"]

FEATURES = ("C", "R", "K", "E", "M", "U", "D")

SPEC_COLUMNS: dict[str, tuple[str, ...]] = {
    "S1": ("1", "C"),
    "S2": ("1", "C", "R"),
    "S3": ("1", "C", "R", "K", "E", "M"),
    "S4": ("1", "C", "R", "K", "E", "M", "U*(R-C)", "D*(E-C)"),
    "S5": ("1", "C", "R", "K", "E", "M"),
}

#: The frozen candidate: spec S5 (selected on the validation side by the pre-registered rule),
#: LAD coefficients of S3 fitted on the 156 scoreable train issues only, snapping distance δ
#: chosen on train from {0, 2.5, 5, 10, 15, 20}. Columns: 1, C, R, K, E, M.
#: Validation (87 issues): MAE 19.565 vs compromise 19.824 — see docs/deu-benchmark.md.
FROZEN: dict = {
    "spec": "S5",
    "coef": [0.09397540407671323, 0.8618953449501404, -0.09971804706076037,
             0.008650908968189791, 0.192792654637035, -0.09398864350857755],
    "delta": 15.0,
}


def _meta(scenario: Scenario, issue_id: str) -> dict:
    m = scenario.metadata or {}
    if isinstance(m.get("issues"), dict) and issue_id in m["issues"]:
        return m["issues"][issue_id]
    return m


def features(scenario: Scenario, issue_id: str) -> dict[str, float] | None:
    """The candidate's features of one issue on the 0–100 scale (``None`` without positions)."""
    a = scenario.issue_arrays(issue_id)
    if a.n == 0:
        return None
    iss = a.issue
    x = (a.position - iss.lower) / iss.width * 100.0
    w = unit_capabilities(a.capability) * a.salience  # exact power-of-two rescaling (no overflow)
    if not w.sum() > 0:
        w = np.ones(a.n)
    c = compromise(x, w)
    ids = list(a.actors)
    r = c if iss.status_quo is None else (iss.status_quo - iss.lower) / iss.width * 100.0
    k = float(x[ids.index("COM")]) if "COM" in ids else c
    e = float(x[ids.index("EP")]) if "EP" in ids else c
    m = weighted_median(x, w)
    meta = _meta(scenario, issue_id)
    u = 1.0 if iss.decision_rule == "unanimity" else 0.0
    d = 1.0 if str(meta.get("proc", "")).upper() == "COD" else 0.0
    return {"C": c, "R": r, "K": k, "E": e, "M": m, "U": u, "D": d}


def design(f: dict[str, float], spec: str) -> np.ndarray:
    """The design row of features ``f`` under ``spec``."""
    col = {"1": 1.0, **f, "U*(R-C)": f["U"] * (f["R"] - f["C"]), "D*(E-C)": f["D"] * (f["E"] - f["C"])}
    return np.array([col[c] for c in SPEC_COLUMNS[spec]], float)


def predict(f: dict[str, float], spec: str, coef, delta: float = 0.0, positions=None) -> float:
    """Forecast on 0–100 from features (and, for S5, the actor positions on 0–100)."""
    # The linear predictor is summed exactly (math.fsum of the element-wise products), not with
    # a BLAS dot product: LAD fits interpolate training points, so a forecast can sit exactly at
    # the snapping distance, and a BLAS kernel chosen by CPU (OpenBLAS DYNAMIC_ARCH, FMA or not)
    # could round it one ulp either side and flip the snap from one machine to the next.
    y = float(np.clip(math.fsum(np.multiply(design(f, spec), np.asarray(coef, float))), 0.0, 100.0))
    if spec == "S5" and delta > 0 and positions is not None and len(positions):
        p = np.asarray(positions, float)
        j = int(np.argmin(np.abs(p - y)))
        if abs(p[j] - y) <= delta:
            y = float(p[j])
    return y


class CandidateParams(ModelParams):
    """Parameters of ``deu_candidate`` (defaults: the frozen, pre-registered fit)."""

    spec: Literal["S1", "S2", "S3", "S4", "S5"] | None = Field(None, description="Spec; None = the frozen one.")
    coef: list[float] | None = Field(None, description="Coefficients in SPEC_COLUMNS order; None = frozen.")
    delta: float | None = Field(None, ge=0, description="S5 snapping distance on 0-100; None = frozen.")


def run_candidate(scenario: Scenario, params: CandidateParams, *, rng: np.random.Generator | None = None) -> RunResult:
    """Forecast every issue with the (frozen) LAD-stacked compromise."""
    spec = params.spec or FROZEN["spec"]
    coef = params.coef if params.coef is not None else FROZEN["coef"]
    delta = params.delta if params.delta is not None else FROZEN["delta"]
    if spec is None or coef is None:
        from detente.errors import RunError

        raise RunError("deu_candidate: no frozen coefficients yet; pass spec and coef")
    if len(coef) != len(SPEC_COLUMNS[spec]):
        from detente.errors import InputError, Problem

        raise InputError(Problem("wrong number of coefficients", column="coef", value=len(coef),
                                 expected=f"{len(SPEC_COLUMNS[spec])} for {spec}"))
    out: dict[str, IssueResult] = {}
    for iss in scenario.issues:
        f = features(scenario, iss.id)
        if f is None:
            out[iss.id] = IssueResult(None, extra={"reason": "no actor holds a position"})
            continue
        pos = (scenario.issue_arrays(iss.id).position - iss.lower) / iss.width * 100.0
        y = predict(f, spec, coef, delta, pos)
        out[iss.id] = IssueResult(iss.lower + y / 100.0 * iss.width)
    return RunResult.build(model="deu_candidate", scenario=scenario, params={"spec": spec, "coef": list(coef), "delta": delta},
                           issues=out, notes=["features on the 0-100 normalised scale; forecast mapped back",
                                                                CAPABILITY_NOTE])


SPEC = ModelSpec(
    name="deu_candidate",
    summary="Pre-registered LAD stack of compromise, status quo, Commission, EP and weighted median (DEU).",
    params_class=CandidateParams,
    run=run_candidate,
    citation="Achen (2006) in Thomson et al. (eds.), The European Union Decides; Koenker & Bassett (1978)",
)
