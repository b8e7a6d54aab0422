"""Maximum simulated likelihood fit of the ICB crisis scenarios (``preregistration/icb_crisis_engine.md`` §4).

The only random element of the ICB case scenarios that moves a hazard is each flashpoint's
rung chain (start at rung 2, fall one rung at monthly rate ``down_m``). For every crisis and
``down_m`` value the engine is run once through its public API (:func:`detente.crisis.run`)
with negligible base hazards (a *probe*: no onset happens, which is checked), and the rung
paths are read back from the recorded hazard paths. Given a path, the monthly hazard of
flashpoint ``k`` is ``exp(α_k + η_i + β_rung·rung/2)`` and the engine's monthly onset
probability is ``1 − e^{−λ}``, so survival over months ``u < t`` is
``exp(−e^{α_k+η_i} Σ_{u<t} e^{β_rung·rung(u)/2})``: onsets are integrated analytically
(Rao–Blackwell) and the simulated likelihood is smooth in every coefficient but ``down_m``,
with common random numbers (fixed seed per crisis) across all evaluations. ``down_m`` is
profiled over a fixed grid (then refined by a quadratic in ``log down_m``).

References
----------
McFadden (1989, *Econometrica* 57(5)); Gouriéroux & Monfort (1996), *Simulation-Based
Econometric Methods*; Brecher & Wilkenfeld (2000), *A Study of Crisis* (ICB).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize

from detente.cases.icb import PRIOR_COEFFICIENTS, CaseParams, IcbCase, case_scenario
from detente.errors import InputError, Problem

__all__ = [
    "OUTCOME_COLUMNS", "Outcome", "load_outcomes", "probe_counts", "probe_plan", "all_probe_counts", "FitData", "fit_data", "neg_loglik",
    "category_probs", "fit_profile", "ViolentAct", "load_violent_acts", "initiator_side", "INITIATOR_COLUMNS",
    "FROZEN_PATH", "DOWN_GRID", "THETA_NAMES", "PROBE_HAZARD", "PROBE_BETA",
]

#: Post-trigger ICB columns read here, as labels only (never by the case builder).
OUTCOME_COLUMNS = {"icb1": ("crisno", "viol", "yrtrig", "motrig"),
                   "icb2": ("crisno", "triggr", "yrtrig", "motrig", "majres", "yerres", "monres")}

#: Actor-level columns of the initiator label (:func:`load_violent_acts`): the violent triggers
#: (``triggr`` 8/9, dated ``yrtrig/motrig/datrig``, by the triggering entity ``trigent``) and the
#: violent major responses (``majres`` 8/9, dated ``yerres/monres/dayres``, by the actor itself).
INITIATOR_COLUMNS = ("crisno", "cracid", "yrtrig", "motrig", "datrig", "triggr", "trigent", "majres", "yerres",
                     "monres", "dayres")

#: Where the frozen fit is shipped (derived numbers only; provenance inside).
FROZEN_PATH = Path(__file__).resolve().parent.parent / "data" / "icb_engine.json"

#: The pre-registered grid of ``down_m`` (per month).
DOWN_GRID = (0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0)

#: Base hazard and rung coefficient of the probe runs.
PROBE_HAZARD, PROBE_BETA = 1e-10, 1.0

HORIZON = 12

#: Coefficients on the standardised scale (order of the parameter vector).
THETA_NAMES = ("alpha_violence", "alpha_war", "beta_ratio", "beta_trend", "beta_rivalry", "beta_mids", "beta_rung")
FEATURES = ("log_cinc_ratio", "trend_gap_m", "rivalry", "log1p_prior_mids")
STANDARDISED = ("log_cinc_ratio", "trend_gap_m", "log1p_prior_mids")


@dataclass(frozen=True)
class Outcome:
    """ICB outcome of a crisis: category (0 none, 1 limited, 2 war) and the month of first violence."""

    category: int
    month: int | None


def _trigger_months(i1: pd.DataFrame) -> dict[int, tuple[int, int]]:
    """Each crisis' system trigger (year, month) from the ICB system-level table."""
    return {int(cn): (int(y), int(m)) for cn, y, m in i1[["crisno", "yrtrig", "motrig"]].itertuples(index=False, name=None)
            if pd.notna(y) and pd.notna(m)}


def _months_after(start: dict[int, tuple[int, int]], cn: int, y: Any, m: Any) -> int | None:
    """Months from crisis ``cn``'s trigger month to ``y``/``m`` (``None``: undated, unknown crisis or before it)."""
    if cn in start and pd.notna(y) and pd.notna(m):
        k = (int(y) - start[cn][0]) * 12 + int(m) - start[cn][1]
        if k >= 0:
            return k
    return None


def load_outcomes(data_dir: str | Path) -> dict[int, Outcome]:
    """Outcome labels (``viol``; first violence from violent actor triggers / major responses)."""
    p = Path(data_dir)
    try:
        i1 = pd.read_csv(p / "icb1v14.csv", encoding="utf-8-sig", usecols=list(OUTCOME_COLUMNS["icb1"]))
        i2 = pd.read_csv(p / "icb2v14.csv", encoding="utf-8-sig", usecols=list(OUTCOME_COLUMNS["icb2"]))
    except (OSError, ValueError) as exc:
        raise InputError(Problem(f"cannot read the ICB outcome columns: {exc}", file=str(p))) from None
    start = _trigger_months(i1)
    first: dict[int, int] = {}

    def note(cn: int, y: Any, m: Any) -> None:
        k = _months_after(start, cn, y, m)
        if k is not None:
            first[cn] = min(first.get(cn, k), k)

    cols2 = ["crisno", "triggr", "yrtrig", "motrig", "majres", "yerres", "monres"]
    for crisno, triggr, yrtrig, motrig, majres, yerres, monres in i2[cols2].itertuples(index=False, name=None):
        cn = int(crisno)
        if triggr in (8, 9):
            note(cn, yrtrig, motrig)
        if majres in (8, 9):
            note(cn, yerres, monres)
    out = {}
    for crisno, viol in i1[["crisno", "viol"]].itertuples(index=False, name=None):
        if pd.isna(viol):
            continue
        v = int(viol)
        cat = 0 if v == 1 else (2 if v == 4 else 1)
        m = first.get(int(crisno)) if cat > 0 else None
        out[int(crisno)] = Outcome(cat, m if m is not None and m < HORIZON else None)
    return out


@dataclass(frozen=True)
class ViolentAct:
    """A violent act coded by ICB: month after the system trigger month, day (None if unknown), the
    acting state's COW code (None for a non-state or multi-state entity) and ``response`` (False:
    the act triggered an actor's crisis; True: an actor's violent major response)."""

    month: int
    day: int | None
    state: int | None
    response: bool


def load_violent_acts(data_dir: str | Path) -> dict[int, list[ViolentAct]]:
    """The violent acts from which :func:`load_outcomes` dates the first violence, with who acted.

    A violent trigger of actor X (``triggr`` 8/9) is an act of X's triggering entity
    (``trigent``; 995–997 are not states) at X's trigger date; a violent major response
    (``majres`` 8/9) is an act of X at its response date. Post-trigger columns: labels only.
    """
    from detente.cases.icb import NON_STATE

    p = Path(data_dir)
    try:
        i1 = pd.read_csv(p / "icb1v14.csv", encoding="utf-8-sig", usecols=["crisno", "yrtrig", "motrig"])
        i2 = pd.read_csv(p / "icb2v14.csv", encoding="utf-8-sig", usecols=list(INITIATOR_COLUMNS))
    except (OSError, ValueError) as exc:
        raise InputError(Problem(f"cannot read the ICB initiator columns: {exc}", file=str(p))) from None
    start = _trigger_months(i1)

    def day(v: Any) -> int | None:
        return int(v) if pd.notna(v) and 1 <= float(v) <= 31 else None

    def state(v: Any) -> int | None:
        return int(v) if pd.notna(v) and int(v) not in NON_STATE else None

    acts: dict[int, list[ViolentAct]] = {}

    def add(cn: int, y: Any, m: Any, d: Any, who: int | None, response: bool) -> None:
        k = _months_after(start, cn, y, m)
        if k is not None:
            acts.setdefault(cn, []).append(ViolentAct(k, day(d), who, response))

    for r in i2.to_dict("records"):
        cn = int(r["crisno"])
        if r["triggr"] in (8, 9):
            add(cn, r["yrtrig"], r["motrig"], r["datrig"], state(r["trigent"]), False)
        if r["majres"] in (8, 9):
            add(cn, r["yerres"], r["monres"], r["dayres"], state(r["cracid"]), True)
    return acts


def initiator_side(case: IcbCase, outcome: Outcome, acts: list[ViolentAct]) -> str | None:
    """Which side of the case first used violence: ``"adversary"``, ``"local"`` or ``None`` (not coded).

    Coded only for a violent crisis whose first violence is dated within the horizon
    (``outcome.month``). Among the violent acts of that month, when every day is known the earliest
    act decides (a triggering act before a response on the same day); otherwise all of them must
    come from one side. An act by a state that is not in the case (a late joiner, a non-state
    entity) leaves the initiator uncoded.
    """
    from detente.cases.icb import SUCCESSOR_CODES

    if outcome.category == 0 or outcome.month is None:
        return None
    sides = {a.ccode: a.side for a in case.actors}

    def side(c: int | None) -> str | None:
        if c is None:
            return None
        return sides.get(c) or sides.get(SUCCESSOR_CODES.get(c, (-1, None))[0])

    first = [a for a in acts if a.month == outcome.month]
    if not first:
        return None
    if all(a.day is not None for a in first):
        d0 = min((a.day, a.response) for a in first)
        first = [a for a in first if (a.day, a.response) == d0]
    found = {side(a.state) for a in first}
    return found.pop() if len(found) == 1 and None not in found else None


def _probe_coefficients(down_m: float) -> dict[str, dict[str, Any]]:
    coef = {k: dict(v) for k, v in PRIOR_COEFFICIENTS.items()}
    for k in ("beta_log_cinc_ratio", "beta_trend_gap", "beta_rivalry", "beta_log1p_mids"):
        coef[k] = {"value": 0.0, "source": "probe run"}
    for k in ("log_base_violence_m", "log_base_war_m"):
        coef[k] = {"value": math.log(PROBE_HAZARD), "source": "probe run"}
    coef["beta_rung"] = {"value": PROBE_BETA, "source": "probe run"}
    coef["escalation_down_m"] = {"value": float(down_m), "source": "probe run"}
    return coef


def probe_plan(case: IcbCase, down_m: float, runs: int, params: CaseParams | None = None) -> Any:
    """The engine plan (:func:`detente.crisis.engine.plan`) of one probe run: seed ``16000000 + crisno``."""
    from detente.crisis.engine import plan

    params = params or CaseParams()
    return plan(case_scenario(case, params, coefficients=_probe_coefficients(down_m)),
                {"runs": runs, "record_paths": True}, seed=16_000_000 + case.crisno)


def _counts(res: Any, crisno: int) -> np.ndarray:
    """Rung counts ``(runs, 13, 2, 3)`` from the recorded hazard paths of a probe run."""
    runs = res.runs
    if (res.onset_step >= 0).any():
        raise RuntimeError(f"probe run of ICB {crisno} had an onset: lower PROBE_HAZARD")
    h = np.asarray(res.hazard, float)  # (runs, steps, 2), monthly probability 1 − e^{−λ}
    lam = -np.log1p(-h)
    rung = np.rint(2.0 * np.log(lam / PROBE_HAZARD) / PROBE_BETA).astype(int)
    if rung.min() < 0 or rung.max() > 2:
        raise RuntimeError(f"probe run of ICB {crisno}: rung outside 0..2")
    T = rung.shape[1]
    onehot = (rung[..., None] == np.arange(3)).astype(np.int16)  # (runs, T, 2, 3)
    counts = np.zeros((runs, T + 1, 2, 3), np.int16)
    counts[:, 1:] = np.cumsum(onehot, axis=1)
    return counts


def probe_counts(case: IcbCase, down_m: float, runs: int, params: CaseParams | None = None) -> np.ndarray:
    """Months at each rung before each month end: ``(runs, 13, 2, 3)`` int16.

    ``[r, t, k, j]`` = number of months ``u < t`` in which flashpoint ``k`` (0 violence, 1 war)
    of run ``r`` was at rung ``j``, from a probe run of the engine (:func:`all_probe_counts` of
    the one case).
    """
    return all_probe_counts([case], down_m, runs, params)[0]


def all_probe_counts(cases: list[IcbCase], down_m: float, runs: int,
                     params: CaseParams | None = None) -> list[np.ndarray]:
    """:func:`probe_counts` of every case, their chunks simulated together on the executor of the
    enclosing :func:`detente.crisis.engine.execution` block (and kept in its chunk store), so a
    process pool or a Dask cluster works on many crises at once; same numbers as one by one."""
    from detente.crisis.engine import current_execution, run_plans

    executor, chunks = current_execution()
    plans = [probe_plan(c, down_m, runs, params) for c in cases]
    return [_counts(r, c.crisno) for r, c in zip(run_plans(plans, executor=executor, chunks=chunks), cases)]


@dataclass
class FitData:
    """Everything the likelihood needs, for a set of crises and one ``down_m``."""

    crisno: np.ndarray          # (N,)
    X: np.ndarray               # (N, 4) features (standardised where listed)
    trig: np.ndarray            # (N,) violent trigger 0/1
    category: np.ndarray        # (N,) 0/1/2
    month: np.ndarray           # (N,) first-violence month, -1 undated
    c_end: np.ndarray           # (N, R, 2, 3) counts over the whole horizon
    c_m: np.ndarray             # (N, R, 2, 3) counts before the observed month (zeros if undated)
    c_m1: np.ndarray            # (N, R, 2, 3) counts through the observed month


def standardiser(cases: list[IcbCase]) -> dict[str, tuple[float, float]]:
    """Training mean and SD of the standardised features."""
    out = {}
    for f in STANDARDISED:
        v = np.array([c.features()[f] for c in cases], float)
        out[f] = (float(v.mean()), float(v.std(ddof=0)) or 1.0)
    return out


def fit_data(cases: list[IcbCase], outcomes: dict[int, Outcome], down_m: float, runs: int,
             std: dict[str, tuple[float, float]], params: CaseParams | None = None) -> FitData:
    rows, X, trig, cat, mon, ce, cm, cm1 = [], [], [], [], [], [], [], []
    counts = all_probe_counts(cases, down_m, runs, params)
    for c, cnt in zip(cases, counts):
        o = outcomes[c.crisno]
        f = c.features()
        X.append([(f[k] - std[k][0]) / std[k][1] if k in std else float(f[k]) for k in FEATURES])
        trig.append(float(f["violent_trigger"] or 0))
        T = cnt.shape[1] - 1
        m = -1 if o.month is None else o.month
        rows.append(c.crisno)
        cat.append(o.category)
        mon.append(m)
        ce.append(cnt[:, T])
        cm.append(cnt[:, max(m, 0)])
        cm1.append(cnt[:, m + 1] if m >= 0 else cnt[:, 0])
    return FitData(np.array(rows), np.array(X, float), np.array(trig), np.array(cat), np.array(mon),
                   np.stack(ce).astype(float), np.stack(cm).astype(float), np.stack(cm1).astype(float))


def _exposure(c: np.ndarray, beta_rung: float) -> np.ndarray:
    """Σ_u e^{β_rung·rung(u)/2} from rung counts ``(..., 3)``."""
    w = np.exp(beta_rung * np.arange(3) / 2.0)
    return c @ w


def _rates(theta: np.ndarray, d: FitData, with_trigger: bool) -> tuple[np.ndarray, np.ndarray, float]:
    eta = d.X @ theta[2:6] + (theta[7] * d.trig if with_trigger else 0.0)
    return np.exp(theta[0] + eta), np.exp(theta[1] + eta), float(theta[6])


def category_probs(theta: np.ndarray, d: FitData, with_trigger: bool = False) -> np.ndarray:
    """``(N, 3)``: P(none), P(limited violence), P(full-scale war) within the horizon."""
    lv, lw, br = _rates(theta, d, with_trigger)
    E = _exposure(d.c_end, br)                     # (N, R, 2)
    Sv = np.exp(-lv[:, None] * E[..., 0])
    Sw = np.exp(-lw[:, None] * E[..., 1])
    return np.stack([(Sv * Sw).mean(1), (Sw * (1 - Sv)).mean(1), (1 - Sw).mean(1)], axis=1)


def _loglik_terms(theta: np.ndarray, d: FitData, with_trigger: bool) -> np.ndarray:
    lv, lw, br = _rates(theta, d, with_trigger)
    E = _exposure(d.c_end, br)
    Sv, Sw = np.exp(-lv[:, None] * E[..., 0]), np.exp(-lw[:, None] * E[..., 1])
    p_cat = np.stack([Sv * Sw, Sw * (1 - Sv), 1 - Sw], axis=-1)        # (N, R, 3)
    Em, Em1 = _exposure(d.c_m, br), _exposure(d.c_m1, br)
    Sv_m, Sw_m = np.exp(-lv[:, None] * Em[..., 0]), np.exp(-lw[:, None] * Em[..., 1])
    Sv_m1, Sw_m1 = np.exp(-lv[:, None] * Em1[..., 0]), np.exp(-lw[:, None] * Em1[..., 1])
    hv = Sv_m - Sv_m1                                                   # P(T_v = m)·(survival) per run
    first_at_m = Sv_m * Sw_m - Sv_m1 * Sw_m1                            # P(min(T_v, T_w) = m)
    lim_m = hv * Sw                                                     # violence at m, no war in horizon
    war_m = first_at_m - lim_m                                          # first violence at m and war by horizon
    idx = np.arange(len(d.category))
    undated = p_cat[idx, :, d.category]
    dated = np.where(d.category == 2, war_m.T, lim_m.T).T
    per_run = np.where((d.month >= 0)[:, None], dated, undated)
    return np.log(np.maximum(per_run.mean(axis=1), 1e-300))


def neg_loglik(theta: np.ndarray, d: FitData, with_trigger: bool = False) -> float:
    """−ℓ (pre-registration §4): simulated likelihood of category and (where dated) first month."""
    return float(-_loglik_terms(np.asarray(theta, float), d, with_trigger).sum())


def start_values(d: FitData, with_trigger: bool) -> np.ndarray:
    pv = float(np.mean(d.category >= 1))
    pw = float(np.mean(d.category == 2))
    th = [math.log(-math.log1p(-min(pv, 0.99)) / HORIZON), math.log(-math.log1p(-min(pw, 0.99)) / HORIZON),
          0.0, 0.0, 0.0, 0.0, 1.0]
    return np.array(th + ([0.0] if with_trigger else []))


def fit_one(d: FitData, with_trigger: bool, x0: np.ndarray | None = None, *,
            rung_zero: bool = False) -> optimize.OptimizeResult:
    """L-BFGS-B on −ℓ; ``rung_zero`` fixes β_rung at 0 (constant hazards; identification fallback)."""
    x0 = start_values(d, with_trigger) if x0 is None else np.array(x0, float)
    bounds = [(-15, 3), (-15, 3), (-5, 5), (-5, 5), (-5, 5), (-5, 5), (0.0, 0.0 if rung_zero else 15.0)] + \
        ([(-5, 8)] if with_trigger else [])
    if rung_zero:
        x0[6] = 0.0
    return optimize.minimize(neg_loglik, x0, args=(d, with_trigger), method="L-BFGS-B", bounds=bounds,
                             options={"maxiter": 500})


def fit_profile(cases: list[IcbCase], outcomes: dict[int, Outcome], *, runs: int = 1000,
                grid: tuple[float, ...] = DOWN_GRID, variants: tuple[bool, ...] = (False, True),
                params: CaseParams | None = None, refine: bool = True) -> dict[bool, dict[str, Any]]:
    """Profile the likelihood over ``down_m`` (grid, then a quadratic refinement in ``log down_m``).

    Returns one fit record per variant (``False``: without the trigger type; ``True``: with it).
    The probe runs of a grid value are shared by the variants (same paths: common random numbers).
    """
    std = standardiser(cases)
    prof: dict[bool, list[tuple[float, float]]] = {v: [] for v in variants}
    best: dict[bool, Any] = {v: None for v in variants}
    for dm in grid:
        d = fit_data(cases, outcomes, dm, runs, std, params)
        for v in variants:
            r = fit_one(d, v, None if best[v] is None else best[v][2].x)
            prof[v].append((dm, float(r.fun)))
            if best[v] is None or r.fun < best[v][2].fun:
                best[v] = (dm, d, r)
    out = {}
    for v in variants:
        dm_hat, d_hat, r_hat = best[v]
        k = [g for g, _ in prof[v]].index(dm_hat)
        refined = None
        if refine and 0 < k < len(prof[v]) - 1:
            xs = np.log([prof[v][k - 1][0], prof[v][k][0], prof[v][k + 1][0]])
            ys = np.array([prof[v][k - 1][1], prof[v][k][1], prof[v][k + 1][1]])
            a, b, _c = np.polyfit(xs, ys, 2)
            if a > 0:
                dm_ref = float(math.exp(-b / (2 * a)))
                d_ref = fit_data(cases, outcomes, dm_ref, runs, std, params)
                r_ref = fit_one(d_ref, v, r_hat.x)
                refined = {"down_m": dm_ref, "neg_loglik": float(r_ref.fun), "curvature_log_down": float(2 * a)}
                if r_ref.fun < r_hat.fun:
                    dm_hat, d_hat, r_hat = dm_ref, d_ref, r_ref
        out[v] = {"down_m": dm_hat, "theta": r_hat.x, "neg_loglik": float(r_hat.fun), "converged": bool(r_hat.success),
                  "profile": prof[v], "refined": refined, "std": std, "data": d_hat, "with_trigger": v}
    return out


# ---------------------------------------------------------------------------------- freezing
def hessian_covariance(theta: np.ndarray, d: FitData, with_trigger: bool) -> tuple[np.ndarray, bool]:
    """Covariance of the standardised coefficients: the (pseudo-)inverse of the numerical Hessian of
    −ℓ at ``theta`` (``statsmodels.tools.numdiff.approx_hess3``, symmetrised), and whether that
    Hessian is positive definite (pre-registration §4)."""
    from statsmodels.tools.numdiff import approx_hess3

    H = approx_hess3(np.asarray(theta, float), lambda t: neg_loglik(t, d, with_trigger))
    H = (H + H.T) / 2
    try:
        np.linalg.cholesky(H)
        pd_ok = True
    except np.linalg.LinAlgError:
        pd_ok = False
    return np.linalg.pinv(H), pd_ok


def standard_errors(theta: np.ndarray, d: FitData, with_trigger: bool) -> tuple[np.ndarray, bool]:
    """SEs from the inverse numerical Hessian of −ℓ (:func:`hessian_covariance`)."""
    cov, pd_ok = hessian_covariance(theta, d, with_trigger)
    return np.sqrt(np.maximum(np.diag(cov), 0.0)), pd_ok


def covariance_block(names: tuple[str, ...] | list[str], cov: np.ndarray) -> dict[str, Any]:
    """The ``covariance_standardised`` entry of a frozen variant: coefficient names and the matrix."""
    return {"names": list(names), "matrix": [[float(x) for x in row] for row in np.asarray(cov, float)]}


def add_covariance(data_dir: str | Path, record: dict[str, Any], *, executor: Any = None) -> dict[str, Any]:
    """The frozen ``record`` with each variant's covariance added, nothing else changed.

    The pre-registration (§4) promised the covariance in the frozen output; the first record stored
    only the SEs. This recomputes it exactly as the SEs were computed — the probe runs of the same
    training crises (pre-registered builder, same seeds, the record's ``runs``) at the variant's
    frozen ``down_m``, and :func:`hessian_covariance` at the frozen ``theta_standardised`` — without
    refitting. It checks that the training standardisation and ``neg_loglik`` reproduce the
    record's exactly and that the square roots of the diagonal reproduce ``se_standardised``
    (relative 1e-9); ``RuntimeError`` otherwise. Variants whose identification rule fixed
    ``beta_rung`` at 0 are left without a covariance (their SEs come from a sub-Hessian).
    """
    import copy
    import datetime as dt
    import time

    from detente.cases.icb import build_cases
    from detente.crisis.engine import execution

    t0 = time.time()
    rec = copy.deepcopy(record)
    prov = rec["provenance"]
    split, runs = int(prov["train"]["last_year"]), int(prov["runs"])
    params = CaseParams(split=split, code_corrections=False)  # the builder as pre-registered (as the fit)
    cases, _ = build_cases(data_dir, params)
    outcomes = load_outcomes(data_dir)
    train = [c for c in cases.values() if c.year <= split and c.crisno in outcomes]
    std = standardiser(train)
    if len(train) != prov["train"]["crises"] or std != {k: (v["mean"], v["sd"]) for k, v in prov["standardisation"].items()}:
        raise RuntimeError("the training crises do not reproduce the frozen record (count or standardisation)")
    done = []
    for vname, v in rec["variants"].items():
        if str(v.get("identification_rule", "")).startswith("beta_rung fixed"):
            continue
        wt = vname == "with_trigger"
        names = list(v["theta_standardised"])
        theta = np.array([v["theta_standardised"][n] for n in names], float)
        with execution(executor, None):
            d = fit_data(train, outcomes, float(v["down_m"]), runs, std, params)
        nll = neg_loglik(theta, d, wt)
        if nll != v["neg_loglik"]:
            raise RuntimeError(f"{vname}: −ℓ at the frozen point is {nll!r}, the record says {v['neg_loglik']!r}")
        cov, pd_ok = hessian_covariance(theta, d, wt)
        se = np.sqrt(np.maximum(np.diag(cov), 0.0))
        want = np.array([v["se_standardised"][n] for n in names], float)
        if pd_ok != v["hessian_positive_definite"] or not np.allclose(se, want, rtol=1e-9, atol=0.0):
            raise RuntimeError(f"{vname}: the Hessian does not reproduce the frozen SEs ({se} vs {want})")
        v["covariance_standardised"] = covariance_block(names, cov)
        done.append(vname)
    prov["covariance"] = {
        "variants": done,
        "method": "inverse of the numerical Hessian of −ℓ (statsmodels approx_hess3) at the frozen theta_standardised, "
                  "on the same probe runs as the fit (pre-registered builder, seeds 16000000+crisno, the record's runs, "
                  "the variant's down_m); no coefficient refitted; sqrt(diag) reproduces se_standardised",
        "added": dt.date.today().isoformat(),
        "note": "added after the first look at the test scores (promised by preregistration §4, missing from the "
                "first record); coefficients, SEs and everything else unchanged",
        "command": "python -m detente.cases.fit DATA_DIR --add-covariance src/detente/data/icb_engine.json --out FILE",
        "seconds": round(time.time() - t0, 1),
    }
    return rec


def raw_coefficients(theta: np.ndarray, std: dict[str, tuple[float, float]], down_m: float,
                     with_trigger: bool) -> dict[str, float]:
    """Coefficients on the features' own scale (the keys of ``icb.PRIOR_COEFFICIENTS``)."""
    names = {"log_cinc_ratio": "beta_log_cinc_ratio", "trend_gap_m": "beta_trend_gap", "rivalry": "beta_rivalry",
             "log1p_prior_mids": "beta_log1p_mids"}
    shift = 0.0
    out: dict[str, float] = {}
    for i, f in enumerate(FEATURES):
        b = float(theta[2 + i])
        if f in std:
            mu, sd = std[f]
            out[names[f]] = b / sd
            shift += b * mu / sd
        else:
            out[names[f]] = b
    out["log_base_violence_m"] = float(theta[0]) - shift
    out["log_base_war_m"] = float(theta[1]) - shift
    out["beta_rung"] = float(theta[6])
    out["escalation_down_m"] = float(down_m)
    if with_trigger:
        out["beta_violent_trigger"] = float(theta[7])
    return out


def identify(r: dict[str, Any], train: list[IcbCase], outcomes: dict[int, Outcome], runs: int,
             params: CaseParams | None) -> tuple[dict[str, Any], np.ndarray, bool, str]:
    """The pre-registered identification rule (§4): SEs, and the fallbacks if β_rung/down_m are not identified."""
    v = r["with_trigger"]
    se, pd_ok = standard_errors(r["theta"], r["data"], v)
    curv = (r["refined"] or {}).get("curvature_log_down")
    se_logd = 1 / math.sqrt(curv) if curv else math.inf
    rel_rung = se[6] / abs(r["theta"][6]) if r["theta"][6] else math.inf
    if pd_ok and rel_rung <= 1 and se_logd <= 1:
        return r, se, pd_ok, "none: all coefficients identified"
    d = fit_data(train, outcomes, 1.0, runs, r["std"], params)
    f1 = fit_one(d, v, r["theta"])
    se1, pd1 = standard_errors(f1.x, d, v)
    r1 = dict(r, down_m=1.0, theta=f1.x, neg_loglik=float(f1.fun), converged=bool(f1.success), data=d, refined=None)
    if pd1 and f1.x[6] and se1[6] / abs(f1.x[6]) <= 1:
        return r1, se1, pd1, "down_m fixed at 1.0 (not identified by the profile)"
    f0 = fit_one(d, v, f1.x, rung_zero=True)
    keep = [i for i in range(len(f0.x)) if i != 6]
    se0 = np.zeros(len(f0.x))
    from statsmodels.tools.numdiff import approx_hess3

    def sub(t: np.ndarray) -> float:
        full = f0.x.copy()
        full[keep] = t
        return neg_loglik(full, d, v)

    H = approx_hess3(f0.x[keep], sub)
    se0[keep] = np.sqrt(np.maximum(np.diag(np.linalg.pinv((H + H.T) / 2)), 0.0))
    r0 = dict(r, down_m=1.0, theta=f0.x, neg_loglik=float(f0.fun), converged=bool(f0.success), data=d, refined=None)
    return r0, se0, bool(np.all(np.linalg.eigvalsh((H + H.T) / 2) > 0)), "beta_rung fixed at 0 (constant hazards)"


def _sha(p: Path) -> str:
    import hashlib

    return hashlib.sha256(p.read_bytes()).hexdigest()


def freeze(data_dir: str | Path, *, runs: int = 1000, split: int = 1989, executor: Any = None,
           chunks: Any = None) -> dict[str, Any]:
    """Run the pre-registered fit on the training crises and return the record to freeze.

    The probe runs of all training crises at one ``down_m`` run together on ``executor``
    (:mod:`detente.executors`; default: in this process), their finished chunks kept in
    ``chunks`` (a chunk store, e.g. :class:`detente.experiments.crisis_runs.StoredChunks`, so a
    killed fit resumes); the record does not depend on either (but its ``seconds``).
    """
    import datetime as dt
    import subprocess
    import time

    from detente.cases.icb import FILES, build_cases
    from detente.crisis.engine import execution

    t0 = time.time()
    params = CaseParams(split=split, code_corrections=False)  # the builder as pre-registered
    cases, _skipped = build_cases(data_dir, params)
    outcomes = load_outcomes(data_dir)
    train = [c for c in cases.values() if c.year <= split and c.crisno in outcomes]
    with execution(executor, chunks):
        fits = fit_profile(train, outcomes, runs=runs, params=params)
        identified = {v: identify(r, train, outcomes, runs, params) for v, r in fits.items()}
    variants = {}
    for v in fits:
        names = THETA_NAMES + (("beta_trigger",) if v else ())
        r, se, pd_ok, rule = identified[v]
        rel = {n: (float(s) / abs(float(x)) if x else None) for n, s, x in zip(names, se, r["theta"])}
        curv = (r["refined"] or {}).get("curvature_log_down")
        variants["with_trigger" if v else "without_trigger"] = {
            "theta_standardised": {n: float(x) for n, x in zip(names, r["theta"])},
            "se_standardised": {n: float(s) for n, s in zip(names, se)},
            **({} if rule.startswith("beta_rung fixed") else {
                "covariance_standardised": covariance_block(names, hessian_covariance(r["theta"], r["data"], v)[0])}),
            "hessian_positive_definite": pd_ok,
            "down_m": float(r["down_m"]),
            "se_log_down_m": float(1 / math.sqrt(curv)) if curv else None,
            "coefficients": raw_coefficients(r["theta"], r["std"], r["down_m"], v),
            "neg_loglik": r["neg_loglik"], "converged": r["converged"],
            "profile": [[g, f] for g, f in r["profile"]], "refined": r["refined"],
            "relative_se": rel, "identification_rule": rule,
        }
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                                cwd=Path(__file__).resolve().parent, check=False).stdout.strip() or None
    except OSError:
        commit = None
    p = Path(data_dir)
    return {
        "provenance": {
            "preregistration": "preregistration/icb_crisis_engine.md",
            "method": "maximum simulated likelihood (detente.cases.fit), probe runs of detente.crisis.run with "
                      "seed 16000000+crisno, onsets integrated given the rung paths, down_m profiled",
            "train": {"first_year": 1918, "last_year": split, "crises": len(train),
                      "categories": [int(np.sum([outcomes[c.crisno].category == k for c in train])) for k in range(3)],
                      "dated_first_violence": int(sum(outcomes[c.crisno].month is not None for c in train))},
            "runs": runs, "grid_down_m": list(DOWN_GRID), "horizon_months": HORIZON,
            "standardisation": {k: {"mean": m, "sd": s} for k, (m, s) in fits[False]["std"].items()},
            "files": {k: {"name": f, "sha256": _sha(p / f)} for k, f in FILES.items()},
            "git_commit": commit, "date": dt.date.today().isoformat(), "seconds": round(time.time() - t0, 1),
            "test_set_looked_at": False,
        },
        "variants": variants,
    }


def main(argv: list[str] | None = None) -> int:
    import argparse
    import json

    ap = argparse.ArgumentParser(prog="python -m detente.cases.fit",
                                 description="Fit the ICB crisis scenarios on the training crises (pre-registered).")
    ap.add_argument("data_dir")
    ap.add_argument("--out", required=True)
    ap.add_argument("--add-covariance", metavar="RECORD", default=None,
                    help="do not fit: write RECORD (a frozen fit) with each variant's covariance added (Hessian at "
                         "the frozen point, no coefficient changed)")
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--executor", choices=("serial", "process", "dask"), default="serial",
                    help="where the probe runs' chunks run (same numbers on any)")
    ap.add_argument("--workers", type=int, default=2, help="worker processes (process, local dask)")
    ap.add_argument("--address", default=None, help="Dask scheduler tcp://HOST:PORT")
    a = ap.parse_args(argv)
    from detente.executors import make_executor

    with make_executor(a.executor, workers=a.workers, address=a.address) as ex:
        if a.add_covariance:
            rec = add_covariance(a.data_dir, json.loads(Path(a.add_covariance).read_text(encoding="utf-8")), executor=ex)
        else:
            rec = freeze(a.data_dir, runs=a.runs, executor=ex)
    Path(a.out).write_text(json.dumps(rec, indent=1, allow_nan=False, default=float) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
