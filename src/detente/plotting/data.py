"""Chart data of one model run, from its JSON form (``RunResult.to_json_dict()``): pure functions
over plain dicts, shared by the web UI, the HTML report and ``RunResult.plot()`` (re-exported by
:mod:`detente.report.charts`). Also the issue metadata (bounds, label, actors' positions) a forecast
chart needs, read from a scenario.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

__all__ = ["result_charts", "exchange_network", "scenario_meta", "forecast_rows", "finite_or_none"]


def finite_or_none(x: Any) -> float | None:
    """``float(x)`` when it is a finite number, else ``None`` (JSON has no NaN or infinity)."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None



def result_charts(result: Mapping[str, Any], *, max_actors: int = 400) -> dict[str, Any]:
    """Chart data of one model run given in its JSON form.

    Parameters
    ----------
    result
        ``RunResult.to_json_dict()`` (the ``forecast --json`` object).
    max_actors
        Trajectories of issues with more actors keep the ``max_actors`` actors with the
        largest movement (the mean line is kept as is).

    Returns
    -------
    dict
        ``forecasts`` (issue → forecast); ``trajectories`` (issue → ``{"rounds", "actors":
        {actor: [positions]}, "mean"}``) for models with rounds; ``perception`` (issue →
        ``{"actor", "other", "x", "y", "quadrants"}`` parallel lists) for BDM runs;
        ``exchange_network`` (``{"nodes", "edges", "rounds"}``) for exchange runs that list
        their realized exchanges.
    """
    issues = result.get("issues") or {}
    out: dict[str, Any] = {"forecasts": {i: finite_or_none(ir.get("forecast")) for i, ir in issues.items()}}
    traj: dict[str, Any] = {}
    for iid, ir in issues.items():
        rounds = ir.get("rounds") or []
        if not rounds:
            continue
        actors: dict[str, list[float | None]] = defaultdict(list)
        order = list(dict.fromkeys(a for r in rounds for a in (r.get("positions") or {})))
        for r in rounds:
            pos = r.get("positions") or {}
            for a in order:
                actors[a].append(finite_or_none(pos.get(a)))
        if len(order) > max_actors:
            def moved(a: str, actors: dict[str, list[float | None]] = actors) -> float:
                v = [x for x in actors[a] if x is not None]
                return (max(v) - min(v)) if v else 0.0
            keep = set(sorted(order, key=moved, reverse=True)[:max_actors])
            order = [a for a in order if a in keep]
        traj[iid] = {"rounds": list(range(len(rounds))), "actors": {a: actors[a] for a in order},
                     "mean": [finite_or_none(r.get("mean")) for r in rounds],
                     "median": [finite_or_none(r.get("median")) for r in rounds]}
    if traj:
        out["trajectories"] = traj
    perc: dict[str, Any] = {}
    for iid, ir in issues.items():
        rows = ir.get("perception")
        if not isinstance(rows, list) or not rows:
            continue
        perc[iid] = {"actor": [r.get("actor") for r in rows], "other": [r.get("other") for r in rows],
                     "x": [finite_or_none(r.get("eu_actor")) for r in rows], "y": [finite_or_none(r.get("eu_other")) for r in rows],
                     "quadrants": [r.get("quadrant") for r in rows]}
    if perc:
        out["perception"] = perc
    net = exchange_network(result)
    if net is not None:
        out["exchange_network"] = net
    return out


def exchange_network(result: Mapping[str, Any]) -> dict[str, Any] | None:
    """Realized exchanges between actors, aggregated over rounds (exchange model runs).

    Returns ``None`` unless ``result["extra"]["rounds"][k]["exchanges"]`` exists (the
    exchange model's ``detail: full``, its default). Nodes: ``{"id", "exchanges", "gain"}``;
    edges (one per unordered actor pair): ``{"source", "target", "count", "gain",
    "issues", "rounds"}`` with ``gain`` the summed expected utility gain of both sides.
    """
    rounds = (result.get("extra") or {}).get("rounds")
    if not isinstance(rounds, list) or not any(isinstance(r, dict) and "exchanges" in r for r in rounds):
        return None
    edges: dict[tuple[str, str], dict[str, Any]] = {}
    nodes: dict[str, dict[str, Any]] = {}
    first: Mapping[str, Any] = next(iter((result.get("issues") or {}).values()), {}) or {}
    for a in first.get("initial_positions") or {}:
        nodes.setdefault(a, {"id": a, "exchanges": 0, "gain": 0.0})
    for r in rounds:
        for e in r.get("exchanges") or []:
            i, j = e.get("i") or {}, e.get("j") or {}
            a, b = str(i.get("actor")), str(j.get("actor"))
            key = (a, b) if a <= b else (b, a)
            ed = edges.setdefault(key, {"source": key[0], "target": key[1], "count": 0, "gain": 0.0,
                                        "issues": [], "rounds": []})
            g = (finite_or_none(i.get("eu")) or 0.0) + (finite_or_none(j.get("eu")) or 0.0)
            ed["count"] += 1
            ed["gain"] += g
            pair = f"{e.get('p')}|{e.get('q')}"
            if pair not in ed["issues"]:
                ed["issues"].append(pair)
            if r.get("round") not in ed["rounds"]:
                ed["rounds"].append(r.get("round"))
            for x, eu in ((a, i.get("eu")), (b, j.get("eu"))):
                nd = nodes.setdefault(x, {"id": x, "exchanges": 0, "gain": 0.0})
                nd["exchanges"] += 1
                nd["gain"] += finite_or_none(eu) or 0.0
    return {"nodes": list(nodes.values()), "edges": sorted(edges.values(), key=lambda d: -d["count"]),
            "rounds": len(rounds), "realized": sum(int(r.get("realized") or 0) for r in rounds)}


def scenario_meta(scenario: Any) -> dict[str, dict[str, Any]]:
    """Per issue of ``scenario`` (a :class:`~detente.scenario.Scenario`): ``label``, ``lower``,
    ``upper`` and ``positions`` (actor → stated position), in the scenario's actor order."""
    if scenario is None:
        return {}
    out: dict[str, dict[str, Any]] = {}
    by = {(s.actor, s.issue): s for s in scenario.stances}
    for i in scenario.issues:
        pos = {a.id: finite_or_none(by[(a.id, i.id)].position) for a in scenario.actors if (a.id, i.id) in by}
        out[i.id] = {"label": i.name or i.id, "lower": finite_or_none(i.lower), "upper": finite_or_none(i.upper), "positions": pos}
    return out


def forecast_rows(result: Mapping[str, Any], meta: Mapping[str, Mapping[str, Any]] | None = None) -> list[dict[str, Any]]:
    """One row per issue of a run for :func:`detente.plotting.figures.forecast_figure`: ``issue``,
    ``label``, ``lower``/``upper`` (the issue's bounds, when ``meta`` has them), ``forecast``,
    ``positions`` (the actors' stated positions: from ``meta``, else the run's first round) and
    the first round's weighted ``mean``/``median`` when the model records rounds."""
    rows = []
    for iid, ir in (result.get("issues") or {}).items():
        m = (meta or {}).get(iid) or {}
        rounds = ir.get("rounds") or []
        first = rounds[0] if rounds else {}
        pos = dict(m.get("positions") or {}) or {a: finite_or_none(v) for a, v in (first.get("positions") or {}).items()}
        rows.append({"issue": iid, "label": m.get("label") or iid, "lower": m.get("lower"), "upper": m.get("upper"),
                     "forecast": finite_or_none(ir.get("forecast")), "positions": pos})
    return rows
