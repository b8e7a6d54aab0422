"""Hypotheses, counterfactuals and the back-test of a crisis scenario.

:func:`run_hypotheses` runs every named hypothesis of a scenario (or a chosen few) with
common random numbers (the same root seed), scores each against the record
(:func:`backtest`) and computes the counterfactuals "with vs without stalling" and "with vs
without the seesaw" (months of peace gained for the focal actor). Its result is the ``detente run
--json`` object documented in ``docs/json-contract.md``.

The record belongs to the scenario (its ``record:`` block); it is scored as a likelihood with
Monte Carlo standard errors and hypotheses are compared by log Bayes factors against a
reference hypothesis (:mod:`detente.crisis.record`, docs/crisis.md "Back-test"). The
per-event Brier and log scores are kept as a secondary view.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal, TypedDict

import numpy as np
from pydantic import BaseModel

from detente.crisis import record as _record
from detente.crisis.engine import CrisisParams, CrisisPlan, plan, run, run_planned
from detente.crisis.fits import spec_fit_summary
from detente.crisis.result import CrisisResult
from detente.crisis.spec import CrisisSpec, Num, load_spec, resolve, spec_memo
from detente.errors import InputError, Problem

__all__ = ["BASE", "backtest", "counterfactuals", "run_hypotheses", "focal_summary", "forecast_path", "as_of_overrides",
           "mechanism_map", "declared_mechanisms", "paired_effect", "mean_se", "output_samples", "headline_outputs",
           "evaluate_claims", "INERT_Z", "CLAIM_Z"]

#: Name under which :func:`run_hypotheses` reports the base description of a scenario that
#: declares no hypotheses.
BASE = "base"


def backtest(res: CrisisResult, obs: dict[str, Any], start: dt.date) -> dict[str, Any]:
    """Score a result against the scenario's resolved record (:func:`detente.crisis.record.observed`):
    the likelihood of the observed history with its MC error, its components and the per-event
    table (:func:`detente.crisis.record.score`). Verdicts need the other hypotheses
    (:func:`detente.crisis.record.compare`)."""
    return _record.score(res, obs, start)[0]


def focal_summary(res: CrisisResult, actor: str, months: int) -> dict[str, Any]:
    """P(no war involving ``actor`` within ``months``) and its expected months of peace (≤ months)."""
    s = res.ru_war_step(actor)
    limit = res._step_of_month(months)
    t = np.where(s < 0, np.inf, (s + 0.5) * res.dt_months)
    return {"actor": actor, "horizon_months": months, "p_no_war": float(np.mean((s < 0) | (s > limit))),
            "months_of_peace": float(np.mean(np.minimum(t, min(months, len(res.month_ends)))))}


def as_of_overrides(spec: CrisisSpec, obs: dict[str, Any], date: dt.date, before: dt.date) -> tuple[dict[str, Any], Any]:
    """The ``--set`` overrides of a forecast as of ``date``: start on that date (the engine then
    uses only the calendar events and shocks known by it), run until ``before``, and start each
    flashpoint from the rung the record's latest state on or before ``date`` gives. Returns the
    overrides and the state used (or None)."""
    if date < spec.settings.start:
        raise InputError(Problem(f"--as-of {date} is before the scenario's start {spec.settings.start}",
                                 column="--as-of", value=date.isoformat(), expected=f"a date from {spec.settings.start}"))
    if before <= date:
        raise InputError(Problem(f"--as-of {date} is not before the question's date {before}", column="--as-of",
                                 value=date.isoformat(), expected=f"a date before {before}"))
    months = (before.year - date.year) * 12 + before.month - date.month + 1
    over: dict[str, Any] = {"settings.start": date.isoformat(), "settings.horizon_months": max(1, months)}
    states = [st for st in obs.get("states") or [] if dt.date.fromisoformat(st["date"]) <= date]
    state = max(states, key=lambda st: st["date"]) if states else None
    for f, k in (state or {}).get("rungs", {}).items():
        over[f"flashpoints[{f}].escalation.start_rung"] = int(k)
    return over, state


def forecast_path(scenario: Any, spec: CrisisSpec, obs: dict[str, Any] | None, hypothesis: str | None, *, runs: int, seed: int,
                  chunk_size: int = 8192, extra_set: dict[str, Any] | None = None,
                  dates: list[dt.date] | None = None) -> dict[str, Any] | None:
    """The record's forecast question answered as of each date (``record.forecast.dates`` plus
    ``dates``), each a run of ``hypothesis`` started on that date (:func:`as_of_overrides`), next
    to the crowd forecast of that date when the record lists one; Brier scores of both against
    the outcome. ``None`` when the record has no forecast question."""
    fc = obs.get("forecast") if obs else None
    if not fc or obs is None:
        if dates:
            raise InputError(Problem("--as-of needs a forecast question in the scenario's record "
                                     "(record.forecast: question, flashpoint, initiator, before, outcome)",
                                     column="--as-of", value=", ".join(d.isoformat() for d in dates)))
        return None
    before = dt.date.fromisoformat(fc["before"]) - dt.timedelta(days=1)   # "before D": by the day before D
    crowd = {c["date"]: c for c in fc.get("crowd") or []}
    o = int(bool(fc["outcome"]))
    rows = []
    todo = _forecast_runs(spec, obs, hypothesis, runs=runs, chunk_size=chunk_size, extra_set=extra_set, dates=dates)
    for *_, params in todo:
        _want(scenario, params, seed)   # in an analysis, the dates' runs are simulated together
    for d, over, state, params in todo:
        res = _simulate(scenario, params, seed)
        j = res.flashpoints.index(fc["flashpoint"])
        k = max((i for i, e in enumerate(res.step_end) if e <= before), default=-1)
        s = res.onset_step[:, j].astype(np.int64)
        hit = (s >= 0) & (s <= k)
        if fc.get("initiator"):
            hit &= res.onset_initiator[:, j] == res.actors.index(fc["initiator"])
        ms = mean_se(hit.astype(float))
        c = crowd.get(d.isoformat())
        rows.append({"date": d.isoformat(), "p": ms["value"], "se": ms["se"], "brier": (ms["value"] - o) ** 2,
                     "crowd": c["p"] if c else None, "crowd_source": c["source"] if c else None,
                     "crowd_approximate": c["approximate"] if c else None,
                     "crowd_brier": (c["p"] - o) ** 2 if c else None,
                     "start_rungs": (state or {}).get("rungs", {}), "state_date": (state or {}).get("date"),
                     "horizon_months": over["settings.horizon_months"]})
    return {"question": fc["question"], "flashpoint": fc["flashpoint"], "initiator": fc.get("initiator"),
            "before": fc["before"], "outcome": o, "hypothesis": hypothesis or BASE, "runs": runs, "chosen": fc.get("chosen", ""),
            "path": rows}


def _forecast_runs(spec: CrisisSpec, obs: dict[str, Any], hypothesis: str | None, *, runs: int, chunk_size: int,
                   extra_set: dict[str, Any] | None, dates: list[dt.date] | None) -> list[tuple[dt.date, dict[str, Any], Any, CrisisParams]]:
    """The engine runs of :func:`forecast_path` (a record with a forecast question): per date, in
    date order, the date, its overrides, the record's state used and the run's parameters. The
    runs record no paths (the forecast reads only the onsets; the numbers are the same)."""
    fc = obs["forecast"]
    before = dt.date.fromisoformat(fc["before"]) - dt.timedelta(days=1)
    out = []
    for d in sorted({*(dt.date.fromisoformat(x) for x in fc.get("dates") or []), *(dates or [])}):
        over, state = as_of_overrides(spec, obs, d, before)
        out.append((d, over, state, _run_params(hypothesis, runs=runs, chunk_size=chunk_size, extra_set=extra_set,
                                                off=over)))
    return out


def counterfactuals(scenario: Any, hypothesis: str | None, *, runs: int, seed: int, base: CrisisResult | None = None,
                    chunk_size: int = 8192, extra_set: dict[str, Any] | None = None,
                    cache: dict[str, CrisisResult] | None = None, focal_months: int = 48) -> dict[str, Any]:
    """Months of peace gained for the focal actor (``settings.russia``) within ``focal_months`` (the
    keys keep their historical ``ru_48`` names) by the stalling and seesaw policies (common
    random numbers: the same root seed with and without; ``months_gained_se`` is the paired
    standard error, :func:`paired_effect`). ``cache`` shares "without" runs with the mechanism map."""
    spec = load_spec(scenario.dynamics, hypothesis=hypothesis, extra=extra_set or None)
    if base is None:
        base = _run(scenario, hypothesis, runs=runs, seed=seed, chunk_size=chunk_size, extra_set=extra_set, off={})
    h = len(base.month_ends)
    out: dict[str, Any] = {}
    for name, path in (("stalling", "policies.stall.enabled"), ("seesaw", "policies.seesaw.enabled")):
        pol = getattr(spec.policies, name if name != "stalling" else "stall")
        if pol is None or not pol.enabled:
            out[name] = None
            continue
        alt = _cached_run(cache, scenario, hypothesis, runs=runs, seed=seed, chunk_size=chunk_size,
                          extra_set=extra_set, off={path: False})
        # the paired SE of months_gained itself: months of peace capped at focal_months, as in
        # months_of_peace_ru (output_samples' months_of_peace_focal is capped at the whole horizon)
        mp = paired_effect(base.months_of_peace_ru_runs(focal_months), alt.months_of_peace_ru_runs(focal_months))
        out[name] = {
            "months_of_peace_ru_48_with": base.months_of_peace_ru(focal_months),
            "months_of_peace_ru_48_without": alt.months_of_peace_ru(focal_months),
            "months_gained": base.months_of_peace_ru(focal_months) - alt.months_of_peace_ru(focal_months),
            "months_gained_se": mp["se"],
            "p_no_war_ru_48_with": base.p_no_war_ru(focal_months),
            "p_no_war_ru_48_without": alt.p_no_war_ru(focal_months),
            "p_war_by_48_with": list(base.p_war_by().values())[-1],
            "p_war_by_48_without": list(alt.p_war_by().values())[-1],
            # null when the scenario declares no triangle
            "p_ru_cn_split_48_with": list(base.p_split_by().values())[-1] if base.triangle is not None else None,
            "p_ru_cn_split_48_without": list(alt.p_split_by().values())[-1] if alt.triangle is not None else None,
            "horizon_months": h,
        }
    return out


# ====================================================================== per-run outputs and paired effects
#: An effect is distinguishable from zero when |diff| > INERT_Z · SE (paired); below it on
#: every headline output a mechanism is reported as inert (with a derived reason).
INERT_Z = 2.0
#: Claims: the interval quantity ± CLAIM_Z · SE is compared with the claim's threshold.
CLAIM_Z = 2.0
#: An intermediate quantity of the engine counts as "moved" by a switch when its mean changes
#: by more than this relative amount (used only to word inert reasons).
TRAIL_REL = 0.01


def _sides(spec_txt: str, res: CrisisResult) -> list[int]:
    out = []
    for a in spec_txt.split("+"):
        if a not in res.actors:
            raise InputError(Problem(f"output names an unknown actor {a!r}", column="claims.tests.output", value=spec_txt,
                                     expected=", ".join(res.actors)))
        out.append(res.actors.index(a))
    return out


def _fp(name: str, res: CrisisResult) -> int:
    if name not in res.flashpoints:
        raise InputError(Problem(f"output names an unknown flashpoint {name!r}", column="claims.tests.output",
                                 value=name, expected=", ".join(res.flashpoints)))
    return res.flashpoints.index(name)


def output_samples(res: CrisisResult, name: str, *, end: str | None = None) -> np.ndarray:
    """Per-run values of the output ``name`` (floats; the output is their mean).

    Names: ``p_war_by_end`` (any war by ``end``), ``p_war_horizon`` (any war within the
    horizon), ``p_no_focal_war_horizon`` (no war involving ``settings.russia`` within the
    horizon), ``months_of_peace_focal`` (min(onset, horizon) in months, onset at mid-step),
    ``p_first_war_by.A[+B…]`` (the first war started by A or B), ``p_first_war_at.F`` (the
    first war at flashpoint F), ``p_war_at.F`` and ``p_war_at.F.by.A[+B…]`` (a war at F, first
    or not, started by A or B), ``p_split_horizon`` (the triangle partners' tie fell to ≤ 0).
    """
    first = res.first_step.astype(np.int64)
    war = first >= 0
    if name == "p_war_by_end":
        if end is None:
            raise InputError(Problem("output p_war_by_end needs a record (its window's end); the scenario declares none",
                                     column="claims.tests.output", value=name))
        k = res._date_step(end)
        return (war & (first <= k)).astype(float)
    if name == "p_war_horizon":
        return war.astype(float)
    if name == "p_no_focal_war_horizon":
        return (res.ru_war_step() < 0).astype(float)
    if name == "months_of_peace_focal":
        return res.months_of_peace_ru_runs(len(res.month_ends))
    if name == "p_split_horizon":
        if res.triangle is None:
            raise InputError(Problem("output p_split_horizon needs `triangle` (the scenario declares none)",
                                     column="claims.tests.output", value=name))
        return (res.split_step >= 0).astype(float)
    if name.startswith("p_first_war_by."):
        who = _sides(name.split(".", 1)[1], res)
        return (war & np.isin(res.first_initiator.astype(np.int64), who)).astype(float)
    if name.startswith("p_first_war_at."):
        j = _fp(name.split(".", 1)[1], res)
        return (war & (res.first_flashpoint == j)).astype(float)
    if name.startswith("p_war_at."):
        rest = name.split(".", 1)[1]
        fp, _, by = rest.partition(".by.")
        j = _fp(fp, res)
        hit = res.onset_step[:, j] >= 0
        if by:
            hit &= np.isin(res.onset_initiator[:, j].astype(np.int64), _sides(by, res))
        return hit.astype(float)
    raise InputError(Problem(f"unknown output {name!r}", column="claims.tests.output", value=name,
                             expected="p_war_by_end, p_war_horizon, p_no_focal_war_horizon, months_of_peace_focal, "
                                      "p_split_horizon, p_first_war_by.A[+B], p_first_war_at.F, p_war_at.F[.by.A[+B]]"))


def headline_outputs(res: CrisisResult, *others: CrisisResult, end: str | None = None) -> list[str]:
    """The headline outputs of a result (and of paired results): P(war by ``end``) when ``end``
    falls in the horizon, P(war within the horizon), P(no war involving the focal actor), its
    months of peace, P(first war at each flashpoint), P(first war started by each actor that
    starts one in any of the results)."""
    names = []
    if end is not None and 0 <= res._date_step(end) < len(res.step_end) - 1:
        names.append("p_war_by_end")
    names += ["p_war_horizon", "p_no_focal_war_horizon", "months_of_peace_focal"]
    names += [f"p_first_war_at.{f}" for f in res.flashpoints]
    starters = set()
    for r in (res, *others):
        starters |= set(np.unique(r.first_initiator[r.first_step >= 0]).astype(int).tolist())
    names += [f"p_first_war_by.{a}" for i, a in enumerate(res.actors) if i in starters]
    return names


class MeanSE(TypedDict):
    """A Monte-Carlo mean and its standard error (None from a single run)."""

    value: float
    se: float | None


PairedEffect = TypedDict("PairedEffect", {"with": float, "without": float, "diff": float, "se": float | None})
"""Means with and without a change, their paired difference and its standard error."""


def mean_se(x: np.ndarray) -> MeanSE:
    """Mean of per-run values and its Monte-Carlo standard error sd/√n (ddof = 1)."""
    n = x.size
    return {"value": float(x.mean()), "se": float(x.std(ddof=1) / math.sqrt(n)) if n > 1 else None}


def paired_effect(with_: np.ndarray, without: np.ndarray) -> PairedEffect:
    """Paired comparison of two runs on the same random root (common random numbers).

    ``diff`` is the mean of the per-run differences d_i = with_i − without_i and ``se`` its
    standard error sd(d)/√n (sample sd, ddof = 1): the paired standard error, which is small
    when the two runs' histories are positively correlated (Glasserman 2004, §4.2 on common
    random numbers).
    """
    if with_.shape != without.shape:
        raise ValueError(f"paired runs must have the same number of runs ({with_.shape} vs {without.shape})")
    d = with_.astype(float) - without.astype(float)
    n = d.size
    return {"with": float(with_.mean()), "without": float(without.mean()), "diff": float(d.mean()),
            "se": float(d.std(ddof=1) / math.sqrt(n)) if n > 1 else None}


# ====================================================================== mechanisms
def _switch_text(off: dict[str, Any]) -> str:
    return "; ".join(f"{k} = {json.dumps(v)}" for k, v in off.items())


def declared_mechanisms(spec: CrisisSpec) -> dict[str, dict[str, Any]]:
    """The scenario's mechanisms: its ``mechanisms:`` block, or, when it declares none, one per
    policy, leak channel, ally-pressure channel, protégé war party, believed power path and
    flashpoint of the description (each with the switch that turns it off)."""
    if spec.mechanisms:
        return {k: {"label": m.label, "description": m.description, "off": dict(m.switch), "declared": True}
                for k, m in spec.mechanisms.items()}
    out: dict[str, dict[str, Any]] = {}
    p = spec.policies

    def add(name: str, label: str, off: dict[str, Any]) -> None:
        out[name] = {"label": label, "description": "", "off": off, "declared": False}

    if p.stall is not None:
        add("stalling", f"{p.stall.actor}'s stalling on track {p.stall.track}", {"policies.stall.enabled": False})
    if p.seesaw is not None:
        add("seesaw", f"{p.seesaw.actor}'s seesaw between {' and '.join(p.seesaw.targets)}",
            {"policies.seesaw.enabled": False})
    if p.leaks:
        add("leaks", "leaks and disinformation (" + ", ".join(f"{lk.sender}→{lk.receiver}" for lk in p.leaks) + ")",
            {f"policies.leaks.{i}.rate_m": 0.0 for i in range(len(p.leaks))})
    if p.ally_pressure:
        add("ally_requests", "patrons' requests to their protégés",
            {f"policies.ally_pressure.{i}.request_rate_m": 0.0 for i in range(len(p.ally_pressure))})
    hawks = [a for a, ad in spec.actors.items() if ad.hawk_share is not None]
    if hawks:
        add("war_parties", "war parties of " + ", ".join(hawks), {f"actors.{a}.hawk_share": 0.0 for a in hawks})
    for d in spec.dyads:
        if d.beliefs:
            add(f"beliefs_{d.id}", f"believed power path in {d.id} ("
                + ", ".join(b.believer for b in d.beliefs) + ")", {f"dyads[{d.id}].beliefs": []})
    for f in spec.flashpoints:
        add(f"flashpoint_{f.id}", f"flashpoint {f.name or f.id}", {f"flashpoints[{f.id}].base_hazard_m": 0.0})
    return out


def _norm(obj: Any, top: bool = True) -> Any:
    """A comparable form of a spec: numbers as (resolved value, per-run draw range)."""
    if isinstance(obj, Num):
        rng_ = obj.assumption.range if obj.drawn and obj.assumption is not None else None
        return ("num", resolve(obj), tuple(rng_) if rng_ is not None else None)
    if isinstance(obj, BaseModel):
        return {k: _norm(getattr(obj, k), False) for k in type(obj).model_fields
                if not (top and k in ("hypotheses", "mechanisms", "claims"))}
    if isinstance(obj, dict):
        return {k: _norm(v, False) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_norm(v, False) for v in obj]
    return obj


def _switch_problems(dyn: dict[str, Any], hypothesis: str | None, extra: dict[str, Any] | None,
                     path: str, value: Any) -> list[Problem]:
    """Why ``path = value`` cannot be applied under ``hypothesis`` (empty when it can): the path
    does not exist there (e.g. an index into a list the hypothesis empties) or the result is not
    a valid description."""
    try:
        load_spec(dyn, hypothesis=hypothesis, extra={**(extra or {}), path: value})
    except InputError as exc:
        return list(exc.problems)
    return []


def _run_params(hypothesis: str | None, *, runs: int, chunk_size: int, extra_set: dict[str, Any] | None,
                off: dict[str, Any], record_paths: bool = False) -> CrisisParams:
    return CrisisParams(runs=runs, hypothesis=hypothesis, set={**(extra_set or {}), **off}, chunk_size=chunk_size,
                        record_paths=record_paths)


def _hypothesis_params(hypothesis: str | None, *, runs: int, chunk_size: int,
                       extra_set: dict[str, Any] | None) -> CrisisParams:
    """The parameters of a hypothesis' own run in :func:`run_hypotheses` (paths recorded), planned
    and then asked for with these very parameters."""
    return _run_params(hypothesis, runs=runs, chunk_size=chunk_size, extra_set=extra_set, off={}, record_paths=True)


def _run(scenario: Any, hypothesis: str | None, *, runs: int, seed: int, chunk_size: int,
         extra_set: dict[str, Any] | None, off: dict[str, Any], record_paths: bool = False) -> CrisisResult:
    return _simulate(scenario, _run_params(hypothesis, runs=runs, chunk_size=chunk_size, extra_set=extra_set, off=off,
                                           record_paths=record_paths), seed)


# ====================================================================== passes planned together
class _HashedOnce:
    """The scenario of one analysis with its content hash computed once: every plan records it
    (:func:`detente.crisis.engine.plan`) and hashing the whole scenario cost as much as planning a
    pass (issue 17). The scenario does not change during an analysis; everything else is the
    scenario's own."""

    def __init__(self, scenario: Any) -> None:
        self._scenario = scenario
        self._hash: str | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._scenario, name)

    def content_hash(self) -> str:
        if self._hash is None:
            self._hash = self._scenario.content_hash()
        return self._hash


class _Passes:
    """The engine passes of one analysis (:func:`run_hypotheses`), planned before any is simulated.

    :meth:`want` plans a pass (:func:`detente.crisis.engine.plan`); :meth:`flush` submits the
    chunks of every pass planned and not yet simulated in one
    :func:`detente.crisis.engine.run_planned` call, so a process pool or a Dask cluster works on
    all of them at once rather than on one pass's chunks at a time; :meth:`get` returns a pass's
    result (flushing first when it is not simulated yet, so a pass that could not be foreseen is
    still run). A pass asked for twice (the same parameters and seed) is simulated once. The
    numbers are those of :func:`detente.crisis.engine.run` with the same parameters and seed:
    every chunk draws from its own stream and parts are assembled in chunk order.
    """

    def __init__(self, scenario: Any) -> None:
        self.scenario = scenario
        self._view = _HashedOnce(scenario)            # what the plans are made from
        self.plans: dict[str, CrisisPlan] = {}         # by request (parameters and seed)
        self.results: dict[str, CrisisResult] = {}     # by plan key
        self.memo: dict[str, Any] = {}                 # switch analyses of the mechanism map
        self.flushes = 0                               # run_planned calls (what the tests check)

    @staticmethod
    def _request(params: CrisisParams, seed: int) -> str:
        return json.dumps([params.model_dump(mode="json"), int(seed)], sort_keys=True, default=str)

    def want(self, params: CrisisParams, seed: int) -> CrisisPlan:
        req = self._request(params, seed)
        if req not in self.plans:
            self.plans[req] = plan(self._view, params, seed=seed)
        return self.plans[req]

    def flush(self) -> None:
        todo = list({p.key: p for p in self.plans.values() if p.key not in self.results}.values())
        if todo:
            self.flushes += 1
            for p, res in zip(todo, run_planned(todo)):
                self.results[p.key] = res

    def get(self, params: CrisisParams, seed: int) -> CrisisResult:
        p = self.want(params, seed)
        if p.key not in self.results:
            self.flush()
        return self.results[p.key]


_PASSES: ContextVar[_Passes | None] = ContextVar("detente_crisis_passes", default=None)


@contextmanager
def _passes(passes: _Passes) -> Iterator[_Passes]:
    token = _PASSES.set(passes)
    try:
        yield passes
    finally:
        _PASSES.reset(token)


def _want(scenario: Any, params: CrisisParams, seed: int) -> None:
    """Plan a pass in the enclosing analysis' planned passes (nothing outside one)."""
    ps = _PASSES.get()
    if ps is not None and ps.scenario is scenario:
        ps.want(params, seed)


def _simulate(scenario: Any, params: CrisisParams, seed: int) -> CrisisResult:
    """One engine pass: from the enclosing analysis' planned passes, else :func:`detente.crisis.engine.run`."""
    ps = _PASSES.get()
    if ps is not None and ps.scenario is scenario:
        return ps.get(params, seed)
    return run(scenario, params, seed=seed)


def _cached_run(cache: dict[str, CrisisResult] | None, scenario: Any, hypothesis: str | None, **kw: Any) -> CrisisResult:
    key = json.dumps([hypothesis, kw["runs"], kw["seed"], kw["chunk_size"], kw.get("extra_set"), kw["off"]],
                     sort_keys=True, default=str)
    if cache is not None and key in cache:
        return cache[key]
    res = _run(scenario, hypothesis, **kw)
    if cache is not None:
        cache[key] = res
    return res


def _diag_channels(res: CrisisResult) -> dict[str, float]:
    """Time-means per run of the engine's intermediate quantities, with readable names."""
    T = max(1, len(res.step_end))
    n = res.runs
    out: dict[str, float] = {}
    plain = {"meetings_held": "meetings held per month", "postponed": "meetings postponed per month",
             "online": "online meetings per month", "groups_active": "expert groups active",
             "group_stock": "expert-group progress stock", "leaks": "leaks received per month",
             "fake_leaks": "fake leaks per month", "verified_fakes": "fake leaks caught per month",
             "p_any": "monthly P(any war)"}
    t0, t1, t2 = res.triangle if res.triangle is not None else (None, None, None)
    for k, v in res.diagnostics.items():
        a = np.asarray(v, float)
        if k in plain:
            out[plain[k]] = float(a.sum() / n / T)
        elif k.startswith("deals_"):
            out[f"share of runs where {k[6:]} is ready to deal with {t0}"] = float(a.sum() / n / T)
        elif k == "dir_forced":
            for i, d in enumerate(res.directions):
                out[f"forced preventive war {d}"] = float(a[:, i].sum() / n / T)
        elif k == "dir_prox":
            for i, d in enumerate(res.directions):
                out[f"preventive pressure {d}"] = float(a[:, i].sum() / n / T)
        elif k == "phi":
            for i, d in enumerate(res.dyads):
                out[f"commitment capacity φ {d}"] = float(a[:, i].sum() / n / T)
        elif k == "rung":
            for i, f in enumerate(res.flashpoints):
                out[f"escalation rung at {f}"] = float(a[:, i].sum() / n / T)
        elif k == "q":
            for i in range(a.shape[1] if a.ndim == 2 else 0):
                out[f"perceived patron support (alliance {i})"] = float(a[:, i].sum() / n / T)
    if res.triangle is not None:
        out[f"P({t1}–{t2} split within the horizon)"] = float((res.split_step >= 0).mean())
    return out


def _hazard_parts(res: CrisisResult) -> dict[str, float]:
    """Mean monthly hazard per run by flashpoint and cause (the engine's hazard decomposition)."""
    from detente.crisis.result import CAUSES

    a = np.asarray(res.diagnostics.get("cause", np.zeros((1, len(res.flashpoints), len(CAUSES)))), float)
    T = max(1, a.shape[0])
    return {f"{f} {c}": float(a[:, j, ci].sum() / res.runs / T) for j, f in enumerate(res.flashpoints)
            for ci, c in enumerate(CAUSES)}


def _moved(a: dict[str, float], b: dict[str, float]) -> list[tuple[str, float, float, float]]:
    rows = []
    for k in a:
        x, y = a[k], b.get(k, 0.0)
        scale = max(abs(x), abs(y))
        if scale > 1e-12 and abs(x - y) > TRAIL_REL * scale:
            rows.append((k, x, y, abs(x - y) / scale))
    return sorted(rows, key=lambda r: -r[3])


def _inert_reason(effects: dict[str, PairedEffect], headline: list[str], base: CrisisResult, alt: CrisisResult,
                  same_histories: bool, allowed: list[str] | str = "all") -> str:
    """Words for a mechanism within INERT_Z SEs of zero on every headline output, from what was measured."""
    def z(e: PairedEffect) -> float:
        se = e["se"] or 0.0
        return abs(e["diff"]) / se if se > 0 else (0.0 if e["diff"] == 0 else math.inf)

    worst = max(headline, key=lambda o: z(effects[o]))
    e = effects[worst]
    head = (f"within {INERT_Z:g} paired SEs of zero on every headline output over {base.runs} paired runs "
            f"(largest: {worst} {e['diff']:+.4f} ± {e['se'] or 0.0:.4f}, {z(e):.1f} SE)")
    if same_histories:
        head = (f"no effect at all over {base.runs} paired runs: switching it off changed no run's history (every "
                "paired run has the same wars: dates, places, initiators)")
    moved = _moved(_diag_channels(base), _diag_channels(alt))
    hz = _moved(_hazard_parts(base), _hazard_parts(alt))
    if not moved and not hz:
        return (head + f"; and it moved none of the {len(_diag_channels(base))} quantities the engine records per step "
                "(meetings, postponements, expert groups, leaks, readiness to deal, the partners' split, preventive "
                f"tests and pressure, commitment capacity φ, rungs, patron support) nor any hazard part by more than "
                f"{TRAIL_REL:.0%}: in this regime its switch reaches nothing the hazards use" + _regime(base, allowed))
    txt = head
    if moved:
        txt += "; it does move " + ", ".join(f"{k} {x:.4g} → {y:.4g}" for k, x, y, _ in moved[:4])
    hb, ha = _hazard_parts(base), _hazard_parts(alt)
    tb, ta = sum(hb.values()), sum(ha.values())
    if hz:
        hz = sorted(hz, key=lambda r: -abs(r[1] - r[2]))
        txt += ("; the hazard parts (flashpoint × cause, mean per run-month) it changes most: "
                + ", ".join(f"{k} {x:.3g} → {y:.3g}" for k, x, y, _ in hz[:3])
                + f"; the total hazard moves {tb:.4g} → {ta:.4g} ({(ta - tb) / tb if tb else 0.0:+.1%})")
    else:
        txt += f"; but no hazard part (flashpoint × cause) changes by more than {TRAIL_REL:.0%}"
    return txt + _regime(base, allowed)


def _regime(res: CrisisResult, allowed: list[str] | str) -> str:
    """What the regime shuts: hazard causes that carry no hazard anywhere, and barred initiators."""
    from detente.crisis.result import CAUSES

    hp = _hazard_parts(res)
    zero = [c for c in CAUSES if all(hp.get(f"{f} {c}", 0.0) == 0.0 for f in res.flashpoints)]
    bits = []
    if zero:
        bits.append(f"the hazard part{'s' if len(zero) > 1 else ''} {', '.join(zero)} "
                    f"{'are' if len(zero) > 1 else 'is'} zero at every flashpoint")
    if allowed != "all":
        barred = [a for a in res.actors if a not in allowed]
        bits.append(f"only {', '.join(allowed)} may start a war (settings.initiators_allowed), so every hazard part "
                    f"attributed to {', '.join(barred)} is removed")
    return ("; in this regime " + "; ".join(bits)) if bits else ""


def _mechanism_switches(scenario: Any, hypothesis: str | None, names: list[str] | None,
                        extra_set: dict[str, Any] | None) -> tuple[CrisisSpec, list[tuple[str, dict[str, Any], dict[str, Any], list[str], str]]]:
    """What :func:`mechanism_map` switches under ``hypothesis``, before anything is run: the
    description, and per mechanism its name, declaration, the switch paths that apply, those
    that do not, and its status (``measured``: a run without it is needed; ``already_off``: the
    switch leaves the description unchanged; ``absent``: no path applies). Raises the map's input
    errors (unknown mechanism, a switch that applies nowhere or gives an invalid description).
    Kept per analysis (:class:`_Passes`), so planning and mapping validate each switch once."""
    ps = _PASSES.get()
    memo_key = json.dumps([hypothesis, names, extra_set], sort_keys=True, default=str)
    if ps is not None and ps.scenario is scenario and memo_key in ps.memo:
        return ps.memo[memo_key]
    spec_on = load_spec(scenario.dynamics, hypothesis=hypothesis, extra=extra_set or None)
    mechs = declared_mechanisms(spec_on)
    if names is not None:
        unknown = [m for m in names if m not in mechs]
        if unknown:
            raise InputError(Problem(f"unknown mechanism {', '.join(map(repr, unknown))}", column="--mechanisms",
                                     value=",".join(unknown), expected=", ".join(mechs) or "no mechanisms declared"))
        mechs = {k: mechs[k] for k in names}
    norm_on = _norm(spec_on)
    dyn = scenario.dynamics   # the scenario's own mapping (only read): the plans load the same variants
    rows: list[tuple[str, dict[str, Any], dict[str, Any], list[str], str]] = []
    for name, m in mechs.items():
        where = f"mechanisms.{name}.switch"
        try:   # the common case: every path applies under this hypothesis (one validation)
            spec_off = load_spec(dyn, hypothesis=hypothesis, extra={**(extra_set or {}), **m["off"]})
            why: dict[str, list[Problem]] = {k: [] for k in m["off"]}
        except InputError:
            why = {k: _switch_problems(dyn, hypothesis, extra_set, k, v) for k, v in m["off"].items()}
            spec_off = None
        present = {k: v for k, v in m["off"].items() if not why[k]}
        absent = [k for k in m["off"] if why[k]]
        if not present:   # the switch must apply somewhere: in the base description or under some hypothesis
            anywhere = any(not _switch_problems(dyn, h, extra_set, k, v) for h in [None, *(dyn.get("hypotheses") or {})]
                           for k, v in m["off"].items())
            if not anywhere:
                raise InputError([Problem(f"{where}: {p.message}", file=p.file, column=p.column, value=p.value,
                                          expected=p.expected) for k in absent for p in why[k]])
            rows.append((name, m, present, absent, "absent"))
            continue
        if spec_off is None:
            try:
                spec_off = load_spec(dyn, hypothesis=hypothesis, extra={**(extra_set or {}), **present})
            except InputError as exc:
                raise InputError([Problem(f"{where}: {p.message}", file=p.file, column=p.column, value=p.value,
                                          expected=p.expected) for p in exc.problems]) from None
        rows.append((name, m, present, absent, "already_off" if _norm(spec_off) == norm_on else "measured"))
    if ps is not None and ps.scenario is scenario:
        ps.memo[memo_key] = (spec_on, rows)
    return spec_on, rows


def mechanism_map(scenario: Any, hypothesis: str | None, *, runs: int, seed: int, base: CrisisResult | None = None,
                  names: list[str] | None = None, extra_set: dict[str, Any] | None = None, chunk_size: int = 8192,
                  end: str | None = None, outputs: list[str] | None = None,
                  cache: dict[str, CrisisResult] | None = None) -> dict[str, Any]:
    """Effect of switching off each mechanism of the scenario on the headline outputs.

    For each mechanism (:func:`declared_mechanisms`, or the chosen ``names``) the hypothesis is
    run again with the mechanism's ``off`` switch on top of it, with the same number of runs,
    chunk size and root ``seed`` as ``base`` (common random numbers), and every output gets
    ``with``, ``without``, ``diff`` and the paired ``se`` (:func:`paired_effect`). A switch that
    leaves the hypothesis' description unchanged (already off under it) is not run. A mechanism
    whose effect is within :data:`INERT_Z` SEs of zero on every headline output gets an
    ``inert_reason`` derived from the run (or the description); otherwise ``null``.
    """
    spec_on, switches = _mechanism_switches(scenario, hypothesis, names, extra_set)
    if base is None or base.runs != runs or base.root_seed != seed or base.chunk_size != chunk_size:
        base = _run(scenario, hypothesis, runs=runs, seed=seed, chunk_size=chunk_size, extra_set=extra_set, off={})
    hname = "the base description" if hypothesis is None else f"hypothesis {hypothesis!r}"
    out: dict[str, Any] = {}
    for name, m, present, absent, status in switches:
        entry: dict[str, Any] = {"label": m["label"], "switch": _switch_text(m["off"]), "declared": m["declared"]}
        if absent:
            entry["absent_paths"] = absent
        entry["status"] = status
        if status == "measured":
            alt = _cached_run(cache, scenario, hypothesis, runs=runs, seed=seed, chunk_size=chunk_size,
                              extra_set=extra_set, off=present)
        else:
            alt = base
        heads = headline_outputs(base, alt, end=end)
        names_out = heads + [o for o in (outputs or []) if o not in heads]
        eff = {o: paired_effect(output_samples(base, o, end=end), output_samples(alt, o, end=end)) for o in names_out}
        entry["effects"] = eff
        entry["headline"] = heads
        inert = all(abs(eff[o]["diff"]) <= INERT_Z * (eff[o]["se"] or 0.0) for o in heads)
        if not inert:
            entry["inert_reason"] = None
        elif entry["status"] == "already_off":
            entry["inert_reason"] = (f"switched off in {hname}: its switch ({_switch_text(present)}) leaves the "
                                     "description unchanged, so the run without it is the run with it")
        elif entry["status"] == "absent":
            entry["inert_reason"] = (f"absent from {hname}: its switch path{'s' if len(absent) > 1 else ''} "
                                     f"{', '.join(absent)} do{'' if len(absent) > 1 else 'es'} not exist there (the "
                                     "hypothesis removes what it switches), so there is nothing to switch off")
        else:
            same = all(np.array_equal(a, b) for a, b in ((base.first_step, alt.first_step),
                                                         (base.first_flashpoint, alt.first_flashpoint),
                                                         (base.first_initiator, alt.first_initiator),
                                                         (base.onset_step, alt.onset_step)))
            entry["inert_reason"] = _inert_reason(eff, heads, base, alt, same, spec_on.settings.initiators_allowed)
        out[name] = entry
    return out


# ====================================================================== claims
def _verdict(q: float, se: float | None, op: str, v: float, z: float = CLAIM_Z) -> tuple[str, float, float]:
    s = se or 0.0
    lo, hi = q - z * s, q + z * s
    if op == ">":
        return ("supported" if lo > v else "contradicted" if hi <= v else "undecided"), lo, hi
    return ("supported" if hi < v else "contradicted" if lo >= v else "undecided"), lo, hi


def evaluate_claims(spec: CrisisSpec, blocks: dict[str, dict[str, Any]], results: dict[str, CrisisResult],
                    *, end: str | None = None) -> list[dict[str, Any]]:
    """Each claim of the scenario: per hypothesis, the tested quantities with their MC error
    and a verdict (``supported`` when the interval quantity ± CLAIM_Z·SE lies on the claimed
    side of the threshold, ``contradicted`` when it lies on the other side, ``undecided`` when
    it spans it, ``not evaluated`` when a needed mechanism was not mapped); the claim's
    verdict under a hypothesis is contradicted if any test is, supported if all are."""
    out = []
    for cl in spec.claims:
        by: dict[str, Any] = {}
        for h, b in blocks.items():
            tests = []
            for t in cl.tests:
                row: dict[str, Any] = {"output": t.output, "op": t.op, "value": t.value, "mechanism": t.mechanism,
                                       "meaning": t.meaning}
                if t.mechanism is None:
                    ms = mean_se(output_samples(results[h], t.output, end=end))
                    q, se = ms["value"], ms["se"]
                else:
                    m_entry = (b.get("mechanisms") or {}).get(t.mechanism) or {}
                    e = m_entry.get("effects", {}).get(t.output)
                    if m_entry.get("inert_reason") and e is not None and e["diff"] == 0 and not e["se"]:
                        # an exactly-zero effect (switched off, absent, barred initiators, no run
                        # changed): the verdict stands, but the reader sees it is the hypothesis's regime
                        row["inert_reason"] = m_entry["inert_reason"]
                    if e is None:
                        row.update({"quantity": None, "se": None, "verdict": "not evaluated",
                                    "why": f"the mechanism map was not computed for {t.mechanism!r} under {h!r}"})
                        tests.append(row)
                        continue
                    q, se = e["diff"], e["se"]
                verdict, lo, hi = _verdict(q, se, t.op, t.value)
                row.update({"quantity": q, "se": se, "lo": lo, "hi": hi, "verdict": verdict})
                tests.append(row)
            vs = [t["verdict"] for t in tests]
            overall = ("contradicted" if "contradicted" in vs else "not evaluated" if "not evaluated" in vs
                       else "undecided" if "undecided" in vs else "supported" if vs else "not evaluated")
            ev = (b.get("backtest") or {}).get("events") or {}
            by[h] = {"verdict": overall, "tests": tests,
                     "record_events": {e: ev.get(e) for e in cl.record_events},
                     "rejected_by_record": bool((b.get("backtest") or {}).get("rejected"))}
        outcomes = (next(iter(blocks.values()), {}).get("backtest") or {}).get("outcomes", {}) if blocks else {}
        groups: dict[str, list[str]] = {}
        for h, r in by.items():
            groups.setdefault(r["verdict"], []).append(h)
        summary = "; ".join(f"{v} under {', '.join(hs)}" for v, hs in groups.items()) or "no hypothesis run"
        out.append({"id": cl.id, "text": cl.text, "mechanisms": list(cl.mechanisms), "record": cl.record,
                    "record_outcomes": {e: outcomes.get(e) for e in cl.record_events},
                    "by_hypothesis": by, "summary": summary})
    return out


def _mechanism_names(choice: str | list[str] | None) -> list[str] | Literal[False] | None:
    """``"all"``/None → None (every mechanism), ``"none"`` → False, ``"a,b"`` or a list → the names."""
    if choice is None or choice == "all":
        return None
    if choice == "none":
        return False
    names = [x.strip() for x in (choice.split(",") if isinstance(choice, str) else choice) if x.strip()]
    return names or False


def run_hypotheses(scenario: Any, *, hypotheses: list[str] | None = None, runs: int | None = None,
                   seed: int | None = None, base_dir: str | Path | None = None,
                   with_counterfactuals: bool = True, cf_runs: int | None = None, extra_set: dict[str, Any] | None = None,
                   chunk_size: int = 8192, keep_results: bool = False, mechanisms: str | list[str] | None = None,
                   mechanism_runs: int | None = None, mechanism_hypotheses: list[str] | None = None,
                   as_of: list[dt.date] | None = None, forecast: bool = False) -> dict[str, Any]:
    """Run hypotheses, back-test each, and return the ``detente run --json`` object.

    Parameters
    ----------
    scenario
        A scenario with a crisis ``dynamics`` block.
    hypotheses
        Names to run (default: every hypothesis declared in the scenario; a scenario without
        hypotheses runs its base description, reported under the name ``"base"``).
    runs, seed
        Monte-Carlo runs per hypothesis and the root seed (default: the scenario's).
    base_dir
        Folder of the scenario file: the record's ``facts:`` path is read relative to it
        (:func:`detente.crisis.record.observed`).
    with_counterfactuals, cf_runs
        Also compute stalling / seesaw counterfactuals (with ``cf_runs`` runs each).
    mechanisms, mechanism_runs, mechanism_hypotheses
        The mechanism map (:func:`mechanism_map`): ``"all"``, ``"none"``, ``"claims"`` (the mechanisms
        the scenario's claims test) or a list / comma-separated names; default ``"none"`` (the
        ``detente run`` command asks for ``"all"``). It uses
        ``mechanism_runs`` runs (default ``cf_runs`` or ``runs``) and covers the hypotheses in
        ``mechanism_hypotheses`` (default: every hypothesis run).
    forecast, as_of
        Compute the forecast path (:func:`forecast_path`, one run of the reference hypothesis per
        date: the record's ``forecast.dates`` plus ``as_of``); ``as_of`` implies ``forecast``.
        ``detente run`` asks for it; off by default here (it costs one run per date).
    """
    with spec_memo():   # every variant of the description validated once in this analysis
        return _run_hypotheses(scenario, hypotheses=hypotheses, runs=runs, seed=seed, base_dir=base_dir,
                               with_counterfactuals=with_counterfactuals, cf_runs=cf_runs, extra_set=extra_set,
                               chunk_size=chunk_size, keep_results=keep_results, mechanisms=mechanisms,
                               mechanism_runs=mechanism_runs, mechanism_hypotheses=mechanism_hypotheses, as_of=as_of,
                               forecast=forecast)


def _run_hypotheses(scenario: Any, *, hypotheses: list[str] | None, runs: int | None, seed: int | None,
                    base_dir: str | Path | None, with_counterfactuals: bool, cf_runs: int | None,
                    extra_set: dict[str, Any] | None, chunk_size: int, keep_results: bool,
                    mechanisms: str | list[str] | None, mechanism_runs: int | None,
                    mechanism_hypotheses: list[str] | None, as_of: list[dt.date] | None, forecast: bool) -> dict[str, Any]:
    """The body of :func:`run_hypotheses`."""
    spec = load_spec(scenario.dynamics)
    names: list[str | None] = list(hypotheses or spec.hypotheses)
    if not names:
        names = [None]   # no hypotheses declared: the base description, reported as BASE
    runs = runs or spec.settings.runs
    seed = spec.settings.seed if seed is None else seed
    if mechanisms == "claims":   # the mechanisms the scenario's claims test: what the Claims section needs
        mechanisms = list(dict.fromkeys(t.mechanism for c in spec.claims for t in c.tests if t.mechanism)) or "none"
    mech_choice = _mechanism_names(mechanisms if mechanisms is not None else "none")
    m_runs = mechanism_runs or cf_runs or runs
    if mechanism_hypotheses:
        known = {BASE if h is None else h for h in names}
        bad = [h for h in mechanism_hypotheses if h not in known]
        if bad:
            raise InputError(Problem(f"mechanism map asked for hypotheses that are not run: {', '.join(bad)}",
                                     column="--mechanism-hypotheses", value=",".join(bad), expected=", ".join(sorted(known))))
    claim_outputs = [t.output for c in spec.claims for t in c.tests]
    rspec = load_spec(scenario.dynamics, extra=extra_set) if extra_set else spec   # --set may change the record
    obs = _record.observed(rspec, base_dir)
    end = obs["window"][1] if obs else None
    focal: dict[str, Any] = obs["focal"] if obs else {"actor": rspec.settings.russia, "horizon_months": rspec.settings.horizon_months,
                                      "label": f"{rspec.settings.russia}: {rspec.settings.horizon_months} months"}
    out: dict[str, Any] = {"scenario": scenario.name, "runs": runs, "seed": seed, "chunk_size": chunk_size,
                           "start": spec.settings.start.isoformat(), "backtest_end": end, "record": obs,
                           "focal": focal, "hypotheses": {}}
    frozen = {h: spec_fit_summary(
        load_spec(scenario.dynamics, hypothesis=h, extra=extra_set or None),
        record_start=dt.date.fromisoformat(str(obs["window"][0])) if obs else None,
        record_end=dt.date.fromisoformat(str(obs["window"][1])) if obs else None) for h in names}
    passes = _Passes(scenario)
    _warm_workers(scenario, spec, names, runs=runs, seed=seed, chunk_size=chunk_size, extra_set=extra_set)
    with _passes(passes):
        _plan_passes(passes, scenario, spec, names, runs=runs, seed=seed, chunk_size=chunk_size, extra_set=extra_set,
                     with_counterfactuals=with_counterfactuals, cf_runs=cf_runs, mech_choice=mech_choice, m_runs=m_runs,
                     mechanism_hypotheses=mechanism_hypotheses, rspec=rspec, obs=obs, frozen=frozen,
                     forecast=forecast or bool(as_of), as_of=as_of)
        passes.flush()   # every foreseen pass's chunks submitted together
        _analyse_passes(out, scenario, spec, rspec, names, obs=obs, end=end, focal=focal, frozen=frozen, runs=runs,
                        seed=seed, chunk_size=chunk_size, extra_set=extra_set, with_counterfactuals=with_counterfactuals,
                        cf_runs=cf_runs, mech_choice=mech_choice, m_runs=m_runs, mechanism_hypotheses=mechanism_hypotheses,
                        claim_outputs=claim_outputs, forecast=forecast, as_of=as_of, keep_results=keep_results)
    return out


#: The module a crisis pool's forkserver imports when the batch uses the compiled twins: it loads
#: the engine and the twins (:mod:`detente.experiments.crisis_preload`). A name, not an import: it is
#: imported in the forkserver, not here, and loading the twins simulates a bundled scenario, which
#: only the experiments layer may read.
TWINS_PRELOAD = "detente.experiments.crisis_preload"


def _warm_workers(scenario: Any, spec: CrisisSpec, names: list[str | None], *, runs: int, seed: int, chunk_size: int,
                  extra_set: dict[str, Any] | None) -> None:
    """Let the enclosing executor start its workers while the passes are planned (speed only: the
    pool's start and each worker's imports, and the compiled twins' load, ≈ 1 s, overlap the
    planning). The estimate of the batch's work counts each hypothesis' run and two counterfactual
    passes (the bulk of a large analysis; :attr:`detente.crisis.engine.CrisisChunk.work`'s units);
    each worker first simulates 8 runs of 2 steps of the first hypothesis, with the twins when that
    estimate chooses them (:func:`detente.crisis.compiled.choose`), which loads what the batch uses.
    The pool's forkserver preloads the engine, with the twins when they will be used
    (:data:`TWINS_PRELOAD`), so that they are loaded once, not once per worker."""
    from detente.crisis import compiled as _compiled
    from detente.crisis.engine import chunk_work, current_execution, simulate_chunk

    ex = current_execution()[0]
    warm = getattr(ex, "warm", None)
    if warm is None:
        return
    months = spec.settings.horizon_months
    steps = months if spec.settings.step == "month" else math.ceil(months * 52 / 12)
    size = max(1, chunk_size)
    work = len(names) * 3 * sum(chunk_work(min(size, runs - k), steps) for k in range(0, runs, size))

    twins = _compiled.choose(work)

    def make_job() -> Any:
        job = plan(scenario, _run_params(names[0], runs=8, chunk_size=8, extra_set=extra_set,
                                         off={"settings.horizon_months": 2}), seed=seed).chunks[0]
        return dataclasses.replace(job, use_compiled=twins)

    warm(simulate_chunk, make_job, work=work, preload=(TWINS_PRELOAD if twins else "detente.crisis.engine",))


def _plan_passes(passes: _Passes, scenario: Any, spec: CrisisSpec, names: list[str | None], *, runs: int, seed: int,
                 chunk_size: int, extra_set: dict[str, Any] | None, with_counterfactuals: bool, cf_runs: int | None,
                 mech_choice: list[str] | Literal[False] | None, m_runs: int, mechanism_hypotheses: list[str] | None,
                 rspec: CrisisSpec, obs: dict[str, Any] | None, frozen: dict[str | None, dict[str, Any] | None],
                 forecast: bool, as_of: list[dt.date] | None) -> None:
    """Plan every engine pass :func:`_analyse_passes` will ask for (the same parameters and seeds):
    per hypothesis its run, the counterfactual passes, the mechanism map's base and switched-off
    passes, and the forecast paths of the reference hypothesis (when it is known before the
    back-test: the record's reference when it is run, or the only hypothesis run) and of the
    out-of-sample hypotheses. A pass not foreseen here is still run when asked for (later)."""
    keys = [BASE if h is None else h for h in names]
    for h, key in zip(names, keys):
        passes.want(_hypothesis_params(h, runs=runs, chunk_size=chunk_size, extra_set=extra_set), seed)
        if with_counterfactuals:
            cfn = cf_runs or runs
            if cfn != runs:
                passes.want(_run_params(h, runs=cfn, chunk_size=chunk_size, extra_set=extra_set, off={}), seed)
            hspec = load_spec(scenario.dynamics, hypothesis=h, extra=extra_set or None)
            for pol, path in ((hspec.policies.stall, "policies.stall.enabled"), (hspec.policies.seesaw, "policies.seesaw.enabled")):
                if pol is not None and pol.enabled:
                    passes.want(_run_params(h, runs=cfn, chunk_size=chunk_size, extra_set=extra_set, off={path: False}), seed)
        if mech_choice is not False and (not mechanism_hypotheses or key in mechanism_hypotheses):
            if m_runs != runs:
                passes.want(_run_params(h, runs=m_runs, chunk_size=chunk_size, extra_set=extra_set, off={}), seed)
            for _name, _m, present, _absent, status in _mechanism_switches(scenario, h, mech_choice or None, extra_set)[1]:
                if status == "measured":
                    passes.want(_run_params(h, runs=m_runs, chunk_size=chunk_size, extra_set=extra_set, off=present), seed)
    if not forecast or not obs or not obs.get("forecast"):
        return
    ref = obs.get("reference") if obs.get("reference") in keys else (keys[0] if len(keys) == 1 else None)
    paths = [ref] if ref is not None else []
    paths += [BASE if h is None else h for h in names if (frozen[h] or {}).get("before_record")]
    for k in dict.fromkeys(paths):
        for *_, params in _forecast_runs(rspec, obs, None if k == BASE else k, runs=runs, chunk_size=chunk_size,
                                         extra_set=extra_set, dates=as_of):
            passes.want(params, seed)


def _analyse_passes(out: dict[str, Any], scenario: Any, spec: CrisisSpec, rspec: CrisisSpec, names: list[str | None], *,
                    obs: dict[str, Any] | None, end: str | None, focal: dict[str, Any],
                    frozen: dict[str | None, dict[str, Any] | None], runs: int, seed: int, chunk_size: int,
                    extra_set: dict[str, Any] | None, with_counterfactuals: bool, cf_runs: int | None,
                    mech_choice: list[str] | Literal[False] | None, m_runs: int, mechanism_hypotheses: list[str] | None,
                    claim_outputs: list[str], forecast: bool, as_of: list[dt.date] | None, keep_results: bool) -> None:
    """The body of :func:`run_hypotheses` once its passes are planned (each pass from :func:`_simulate`)."""
    hist: dict[str, np.ndarray] = {}
    results: dict[str, CrisisResult] = {}
    for h in names:
        key = BASE if h is None else h
        res = _simulate(scenario, _hypothesis_params(h, runs=runs, chunk_size=chunk_size, extra_set=extra_set), seed)
        block = res.summary()
        if h is None:
            block["label"] = "base scenario (the scenario declares no hypotheses)"
        else:
            block["label"] = spec.hypotheses[h].label if h in spec.hypotheses else h
            block["description"] = spec.hypotheses[h].description if h in spec.hypotheses else ""
        block["focal"] = focal_summary(res, focal["actor"], focal["horizon_months"])
        block["frozen_fit"] = frozen[h]
        if obs is not None:
            block["backtest"], hist[key] = _record.score(res, obs, spec.settings.start)
        else:
            block["backtest"] = None
        heads = headline_outputs(res, end=end)
        block["outputs"] = {o: mean_se(output_samples(res, o, end=end))
                            for o in heads + [c for c in claim_outputs if c not in heads]}
        cache: dict[str, CrisisResult] = {}
        mbase = res if m_runs == runs else None
        if with_counterfactuals:
            cfn = cf_runs or runs
            block["counterfactuals"] = counterfactuals(scenario, h, runs=cfn, seed=seed, base=res if cfn == runs else None,
                                                       chunk_size=chunk_size, extra_set=extra_set,
                                                       cache=cache if cfn == m_runs else None,
                                                       focal_months=focal["horizon_months"])
        if mech_choice is not False and (not mechanism_hypotheses or key in mechanism_hypotheses):
            block["mechanisms"] = mechanism_map(scenario, h, runs=m_runs, seed=seed, base=mbase,
                                                names=mech_choice or None, extra_set=extra_set, chunk_size=chunk_size,
                                                outputs=claim_outputs, cache=cache, end=end)
            block["mechanism_runs"] = m_runs
        block["notes"] = list(res.notes)
        out["hypotheses"][key] = block
        results[key] = res
    bt = {h: b["backtest"] for h, b in out["hypotheses"].items() if b["backtest"] is not None}
    out["reference"] = _record.compare(bt, hist, obs["reference"] if obs else None)
    out["backtest_table"] = [
        {"hypothesis": h, "brier": b["brier"], "log_score": b["log_score"], "p_record": b["p_record"],
         "rejected": b["rejected"], **{f"p_{e}": p for e, p in b["events"].items()}}
        for h, b in sorted(bt.items(), key=lambda kv: kv[1]["brier"])
    ]
    out["likelihood_table"] = [
        {"hypothesis": h, "p_record": b["likelihood"]["p"], "p_record_se": b["likelihood"]["se"],
         "hits": b["likelihood"]["hits"], "log_likelihood": b["likelihood"]["log"],
         "log_likelihood_se": b["likelihood"]["log_se"], "p_record_upper": b["likelihood"]["upper"],
         "log_lr": b["log_lr"], "log_lr_se": b["log_lr_se"], "log_lr_interval": b["log_lr_interval"],
         "bayes_factor": b["bayes_factor"], "verdict": b["verdict"]}
        for h, b in bt.items()
    ]
    out["verdict_rule"] = {"threshold_log_bf": _record.LOG_BF_REJECT, "z": _record.VERDICT_Z,
                           "upper_level": _record.UPPER_LEVEL}
    out["rejected_by_record"] = [h for h, b in bt.items() if b["rejected"]]
    first = next(iter(results.values()))
    out["horizon_months"] = len(first.month_ends)
    out["focal_actor"] = focal["actor"]
    out["triangle_actors"] = list(first.triangle) if first.triangle is not None else None
    out["flashpoint_names"] = {f.id: f.name or f.id for f in spec.flashpoints}
    out["claims"] = evaluate_claims(spec, out["hypotheses"], results, end=end)
    ref = out.get("reference")
    out["forecast_path"] = forecast_path(scenario, rspec, obs, None if ref in (None, BASE) else ref, runs=runs, seed=seed,
                                         chunk_size=chunk_size, extra_set=extra_set, dates=as_of) if forecast or as_of else None
    # the hypotheses whose numbers from frozen fits were all trained before the record window
    out["out_of_sample"] = [h for h, b in out["hypotheses"].items() if (b.get("frozen_fit") or {}).get("before_record")]
    paths: dict[str, Any] = {}
    if out["forecast_path"] is not None:
        paths[out["forecast_path"]["hypothesis"]] = out["forecast_path"]
        for h in out["out_of_sample"]:
            if h not in paths:
                paths[h] = forecast_path(scenario, rspec, obs, None if h == BASE else h, runs=runs, seed=seed,
                                         chunk_size=chunk_size, extra_set=extra_set, dates=as_of)
    out["forecast_paths"] = paths or None
    if keep_results:
        out["_results"] = results
