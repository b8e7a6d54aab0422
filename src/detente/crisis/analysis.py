"""Hypotheses, counterfactuals and the back-test of a crisis scenario.

:func:`run_hypotheses` runs every named hypothesis of a scenario (or a chosen few) with
common random numbers (the same root seed), scores each against the record
(:func:`backtest`) and computes the counterfactuals "with vs without stalling" and "with vs
without the seesaw" (months of peace gained for Russia). Its result is the ``detente run
--json`` object documented in ``docs/json-contract.md``.

Scoring (Brier 1950; Gneiting & Raftery 2007): for binary events with forecast p and outcome
o ∈ {0, 1}, Brier = mean (p − o)², log score = mean log(p if o else 1 − p) (higher is
better; p clipped to [1e-4, 1 − 1e-4]). The joint probability of the whole observed record
(``p_record``) is read directly off the simulated histories; a hypothesis is *rejected* by
the record when ``p_record < 0.01``.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from pathlib import Path
from typing import Any

import numpy as np

from detente.crisis.engine import CrisisParams, run
from detente.crisis.result import CrisisResult
from detente.crisis.spec import load_spec

__all__ = ["BACKTEST_END", "BASE", "backtest", "counterfactuals", "run_hypotheses", "load_timeline", "REJECT_BELOW"]

BACKTEST_END = "2022-02-28"
#: Name under which :func:`run_hypotheses` reports the base description of a scenario that
#: declares no hypotheses.
BASE = "base"
REJECT_BELOW = 0.01
_EPS = 1e-4


def load_timeline(path: str | Path) -> list[dict[str, str]]:
    """Read ``facts/timeline_2021_2022.csv`` (date, event, actors, kind, mechanism, verified)."""
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def observed_record(timeline: list[dict[str, str]] | None = None, *, end: str = BACKTEST_END) -> dict[str, int]:
    """Outcomes of the scored events by ``end``. With a timeline they are read from it
    (war_onset rows with actors; RU–CN tie kept: the 2022-02-04 statement and the 2022-02-25
    abstention); without one, the outcomes stated in ``facts/README.md`` are used."""
    out = {"war_ru": 1, "war_at_UA": 1, "war_at_TW": 0, "war_at_BY-PL": 0, "initiator_RU": 1, "no_ru_cn_split": 1}
    if timeline:
        wars = [r for r in timeline if r.get("kind") == "war_onset" and r["date"][:10] <= end]
        acts = set().union(*[set(r["actors"].split(";")) for r in wars]) if wars else set()
        out["war_ru"] = int("RU" in acts)
        out["war_at_UA"] = int("UA" in acts)
        out["war_at_TW"] = int("TW" in acts)
        out["war_at_BY-PL"] = int("PL" in acts)
        out["initiator_RU"] = int(bool(wars) and wars[0]["actors"].split(";")[0] == "RU")
    return out


def backtest(res: CrisisResult, *, end: str = BACKTEST_END, timeline: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """Score a result against the record of December 2021 – ``end``.

    Events (probability each hypothesis gave them, by ``end``): a war involving Russia; a war
    at each flashpoint; a war initiated by Russia; no RU–CN split (tie stays > 0).
    """
    k = res._date_step(end)
    obs = observed_record(timeline, end=end)
    ru = res.ru_war_step()
    by = lambda s: (s >= 0) & (s <= k)  # noqa: E731
    ev: dict[str, np.ndarray] = {"war_ru": by(ru)}
    for j, f in enumerate(res.flashpoints):
        ev[f"war_at_{f}"] = by(res.onset_step[:, j].astype(np.int64))
    iru = res.actors.index(res.russia)
    ev["initiator_RU"] = (by(res.onset_step.astype(np.int64)) & (res.onset_initiator == iru)).any(axis=1)
    ev["no_ru_cn_split"] = ~by(res.split_step.astype(np.int64))
    keys = [e for e in obs if e in ev]
    probs = {e: float(ev[e].mean()) for e in keys}
    brier = float(np.mean([(probs[e] - obs[e]) ** 2 for e in keys]))
    logs = float(np.mean([math.log(min(max(probs[e] if obs[e] else 1 - probs[e], _EPS), 1 - _EPS)) for e in keys]))
    joint = np.ones(res.runs, bool)
    for e in keys:
        joint &= ev[e] if obs[e] else ~ev[e]
    p_record = float(joint.mean())
    worst = min(keys, key=lambda e: probs[e] if obs[e] else 1 - probs[e])
    return {
        "brier": brier,
        "log_score": logs,
        "events": probs,
        "outcomes": obs,
        "p_record": p_record,
        "rejected": p_record < REJECT_BELOW,
        "worst_event": worst,
        "initiators_by_end": res.initiator_distribution(end),
        "locations_by_end": res.location_distribution(end),
    }


def counterfactuals(scenario: Any, hypothesis: str | None, *, runs: int, seed: int, base: CrisisResult | None = None,
                    chunk_size: int = 8192) -> dict[str, Any]:
    """Months of peace gained for Russia by stalling and by the seesaw (common random numbers)."""
    spec = load_spec(scenario.dynamics, hypothesis=hypothesis)
    common = {"runs": runs, "hypothesis": hypothesis, "record_paths": False, "chunk_size": chunk_size}
    if base is None:
        base = run(scenario, {**common}, seed=seed)
    out: dict[str, Any] = {}
    for name, path in (("stalling", "policies.stall.enabled"), ("seesaw", "policies.seesaw.enabled")):
        pol = getattr(spec.policies, name if name != "stalling" else "stall")
        if pol is None or not pol.enabled:
            out[name] = None
            continue
        alt = run(scenario, {**common, "set": {path: False}}, seed=seed)
        out[name] = {
            "months_of_peace_ru_48_with": base.months_of_peace_ru(48),
            "months_of_peace_ru_48_without": alt.months_of_peace_ru(48),
            "months_gained": base.months_of_peace_ru(48) - alt.months_of_peace_ru(48),
            "p_no_war_ru_48_with": base.p_no_war_ru(48),
            "p_no_war_ru_48_without": alt.p_no_war_ru(48),
            "p_war_by_48_with": list(base.p_war_by().values())[-1],
            "p_war_by_48_without": list(alt.p_war_by().values())[-1],
            "p_ru_cn_split_48_with": list(base.p_split_by().values())[-1],
            "p_ru_cn_split_48_without": list(alt.p_split_by().values())[-1],
        }
    return out


def run_hypotheses(scenario: Any, *, hypotheses: list[str] | None = None, runs: int | None = None,
                   seed: int | None = None, timeline: list[dict[str, str]] | None = None,
                   with_counterfactuals: bool = True, cf_runs: int | None = None, extra_set: dict[str, Any] | None = None,
                   chunk_size: int = 8192, keep_results: bool = False) -> dict[str, Any]:
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
    timeline
        Rows of ``facts/timeline_2021_2022.csv``; without it the README outcomes are used.
    with_counterfactuals, cf_runs
        Also compute stalling / seesaw counterfactuals (with ``cf_runs`` runs each).
    """
    spec = load_spec(scenario.dynamics)
    names: list[str | None] = list(hypotheses or spec.hypotheses)
    if not names:
        names = [None]   # no hypotheses declared: the base description, reported as BASE
    runs = runs or spec.settings.runs
    seed = spec.settings.seed if seed is None else seed
    out: dict[str, Any] = {"scenario": scenario.name, "runs": runs, "seed": seed, "chunk_size": chunk_size,
                           "start": spec.settings.start.isoformat(), "backtest_end": BACKTEST_END,
                           "hypotheses": {}}
    results: dict[str, CrisisResult] = {}
    for h in names:
        res = run(scenario, CrisisParams(runs=runs, hypothesis=h, set=extra_set or {}, chunk_size=chunk_size), seed=seed)
        block = res.summary()
        if h is None:
            block["label"] = "base scenario (the scenario declares no hypotheses)"
        else:
            block["label"] = spec.hypotheses[h].label if h in spec.hypotheses else h
        block["backtest"] = backtest(res, timeline=timeline)
        if with_counterfactuals:
            block["counterfactuals"] = counterfactuals(scenario, h, runs=cf_runs or runs, seed=seed, base=None
                                                       if cf_runs and cf_runs != runs else res, chunk_size=chunk_size)
        block["notes"] = list(res.notes)
        key = BASE if h is None else h
        out["hypotheses"][key] = block
        if keep_results:
            results[key] = res
    bt = {h: b["backtest"] for h, b in out["hypotheses"].items()}
    out["backtest_table"] = [
        {"hypothesis": h, "brier": b["brier"], "log_score": b["log_score"], "p_record": b["p_record"],
         "rejected": b["rejected"], **{f"p_{e}": p for e, p in b["events"].items()}}
        for h, b in sorted(bt.items(), key=lambda kv: kv[1]["brier"])
    ]
    out["rejected_by_record"] = [h for h, b in bt.items() if b["rejected"]]
    if keep_results:
        out["_results"] = results
    return out
