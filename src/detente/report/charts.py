"""Chart data of stored runs: plain JSON-serialisable dicts shared by the static HTML
report (:mod:`detente.report.html`, matplotlib) and the web UI (Plotly.js).

Every function is pure (no printing, no files written) and returns only what the run
actually recorded; a key is absent when the run has nothing for it.

* :func:`result_charts` — a single model run (``RunResult.to_json_dict()`` form):
  forecasts, position trajectories per issue, BDM perception quadrants, the exchange
  model's network of realized exchanges;
* :func:`sweep_charts` — a stored sweep: outcome distribution per issue (histogram and
  quantiles), fan charts of positions per actor and round (sweeps with ``trace:
  positions``/``full``), and sensitivity (SALib indices for Sobol/Morris designs,
  tornado of conditional means for any sweep with factors);
* :func:`sensitivity_charts` — the same ``sensitivity`` block from a
  :class:`~detente.experiments.sensitivity.SensitivityResult` (exact one-at-a-time tornado);
* :func:`crisis_charts` — the ``detente run --json`` object of a crisis scenario:
  cumulative P(war), monthly hazard bands per flashpoint, triangle occupancy, the triangle partners'
  alignment.

Examples
--------
>>> from detente import examples
>>> from detente.models.registry import run_model
>>> res = run_model(examples.load("ec_emission"), "bdm", seed=0)
>>> ch = result_charts(res.to_json_dict())
>>> sorted(ch)
['forecasts', 'perception', 'trajectories']
>>> ch["perception"]["emission"]["quadrants"][0]
'conflict'
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any, Mapping

__all__ = ["result_charts", "sweep_charts", "sensitivity_charts", "crisis_charts", "QUADRANTS",
           "TORNADO_CONDITIONAL"]

#: Quadrant labels of the BDM perception table, in legend order.
QUADRANTS = ("conflict", "compromise", "capitulation", "compromise (other yields)",
             "capitulation (other yields)", "stalemate", "boundary", "origin")

#: How the sweep tornado is computed (said on every chart that shows it).
TORNADO_CONDITIONAL = ("conditional means: forecast averaged over the runs with the factor in its lowest "
                       "vs highest decile (other factors as sampled)")


def _num(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


# --------------------------------------------------------------------------- single runs


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
    out: dict[str, Any] = {"forecasts": {i: _num(ir.get("forecast")) for i, ir in issues.items()}}
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
                actors[a].append(_num(pos.get(a)))
        if len(order) > max_actors:
            def moved(a: str) -> float:
                v = [x for x in actors[a] if x is not None]
                return (max(v) - min(v)) if v else 0.0
            keep = set(sorted(order, key=moved, reverse=True)[:max_actors])
            order = [a for a in order if a in keep]
        traj[iid] = {"rounds": list(range(len(rounds))), "actors": {a: actors[a] for a in order},
                     "mean": [_num(r.get("mean")) for r in rounds],
                     "median": [_num(r.get("median")) for r in rounds]}
    if traj:
        out["trajectories"] = traj
    perc: dict[str, Any] = {}
    for iid, ir in issues.items():
        rows = ir.get("perception")
        if not isinstance(rows, list) or not rows:
            continue
        perc[iid] = {"actor": [r.get("actor") for r in rows], "other": [r.get("other") for r in rows],
                     "x": [_num(r.get("eu_actor")) for r in rows], "y": [_num(r.get("eu_other")) for r in rows],
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
    for a in (next(iter((result.get("issues") or {}).values()), {}) or {}).get("initial_positions", {}) or {}:
        nodes.setdefault(a, {"id": a, "exchanges": 0, "gain": 0.0})
    for r in rounds:
        for e in r.get("exchanges") or []:
            i, j = e.get("i") or {}, e.get("j") or {}
            a, b = str(i.get("actor")), str(j.get("actor"))
            key = (a, b) if a <= b else (b, a)
            ed = edges.setdefault(key, {"source": key[0], "target": key[1], "count": 0, "gain": 0.0,
                                        "issues": [], "rounds": []})
            g = (_num(i.get("eu")) or 0.0) + (_num(j.get("eu")) or 0.0)
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
                nd["gain"] += _num(eu) or 0.0
    return {"nodes": list(nodes.values()), "edges": sorted(edges.values(), key=lambda d: -d["count"]),
            "rounds": len(rounds), "realized": sum(int(r.get("realized") or 0) for r in rounds)}


# --------------------------------------------------------------------------- sweeps


def sweep_charts(store: Any, run_id: str, *, bins: int = 40) -> dict[str, Any]:
    """Chart data of a stored sweep (``kind == "sweep"``), computed with DuckDB over its parts.

    Returns
    -------
    dict
        ``runs`` (number of runs stored), ``distribution`` (issue → ``{"summary": {mean, sd,
        q05, q25, median, q75, q95}, "edges", "counts"}``), ``fan`` (issue → actor →
        ``{"round", "q05", "q25", "q50", "q75", "q95"}``; only with traced positions) and
        ``sensitivity`` (see :func:`sensitivity_charts`; only when the sweep has factors).
    """
    info = store.info(run_id)
    rid = info.run_id
    if not store.part_files(rid):
        return {"runs": 0, "distribution": {}}
    summ = store.query(
        "SELECT issue, count(*) AS n, avg(value) AS mean, stddev_samp(value) AS sd, min(value) AS min, "
        "max(value) AS max, quantile_cont(value, 0.05) AS q05, quantile_cont(value, 0.25) AS q25, "
        "quantile_cont(value, 0.5) AS median, quantile_cont(value, 0.75) AS q75, "
        "quantile_cont(value, 0.95) AS q95 FROM parts WHERE round IS NULL AND isfinite(value) "
        "GROUP BY issue ORDER BY issue", run_id=rid)
    dist: dict[str, Any] = {}
    for row in summ.to_dict(orient="records"):
        iss = str(row.pop("issue"))
        lo, hi = _num(row["min"]), _num(row["max"])
        dist[iss] = {"summary": {k: _num(v) for k, v in row.items()}, "edges": [], "counts": []}
        if lo is None or hi is None:
            continue
        if hi <= lo:
            hi = lo + 1e-9
        w = (hi - lo) / bins
        h = store.query(
            f"SELECT least(CAST(floor((value - {lo!r}) / {w!r}) AS BIGINT), {bins - 1}) AS b, count(*) AS c "
            f"FROM parts WHERE round IS NULL AND issue = '{_sql_str(iss)}' AND isfinite(value) GROUP BY b ORDER BY b",
            run_id=rid)
        counts = [0] * bins
        for b, c in zip(h["b"], h["c"]):
            counts[int(b)] = int(c)
        dist[iss]["edges"] = [lo + k * w for k in range(bins + 1)]
        dist[iss]["counts"] = counts
    out: dict[str, Any] = {"runs": int((info.meta or {}).get("n_runs") or (summ["n"].max() if len(summ) else 0)),
                           "distribution": dist}
    cols = store.query("SELECT * FROM parts LIMIT 0", run_id=rid).columns
    if "actor" in cols:
        fan_df = store.query(
            "SELECT issue, actor, round, quantile_cont(value, 0.05) AS q05, quantile_cont(value, 0.25) AS q25, "
            "quantile_cont(value, 0.5) AS q50, quantile_cont(value, 0.75) AS q75, quantile_cont(value, 0.95) AS q95 "
            "FROM parts WHERE round IS NOT NULL GROUP BY issue, actor, round ORDER BY issue, actor, round", run_id=rid)
        if len(fan_df):
            fan: dict[str, dict[str, Any]] = {}
            for (iss, actor), g in fan_df.groupby(["issue", "actor"], sort=False):
                fan.setdefault(str(iss), {})[str(actor)] = {
                    "round": [int(x) for x in g["round"]],
                    **{q: [_num(x) for x in g[q]] for q in ("q05", "q25", "q50", "q75", "q95")}}
            out["fan"] = fan
    factors = [str(c) for c in (info.meta or {}).get("columns") or [] if c in cols]
    if factors:
        out["sensitivity"] = _sweep_sensitivity(store, rid, info, factors)
    return out


def _sql_str(s: str) -> str:
    return s.replace("'", "''")


def _sweep_sensitivity(store: Any, rid: str, info: Any, factors: list[str]) -> dict[str, Any]:
    import numpy as np

    df = store.query("SELECT * FROM parts WHERE round IS NULL ORDER BY run, issue", run_id=rid)
    spec = (info.meta or {}).get("spec") or {}
    design = spec.get("design") or {}
    method = design.get("kind")
    out: dict[str, Any] = {"method": method, "factors": factors, "tornado_kind": TORNADO_CONDITIONAL,
                           "tornado": {}, "baseline": {}, "indices": {}}
    for iss, g in df.groupby("issue", sort=True):
        y = g["value"].to_numpy(dtype=float)
        ok = np.isfinite(y)
        out["baseline"][str(iss)] = _num(np.mean(y[ok])) if ok.any() else None
        rows = []
        for f in factors:
            x = g[f].to_numpy(dtype=float)
            m = ok & np.isfinite(x)
            if m.sum() < 10 or np.ptp(x[m]) == 0:
                continue
            lo_q, hi_q = np.quantile(x[m], [0.1, 0.9])
            lo_sel, hi_sel = m & (x <= lo_q), m & (x >= hi_q)
            if not lo_sel.any() or not hi_sel.any():
                continue
            o_lo, o_hi = float(y[lo_sel].mean()), float(y[hi_sel].mean())
            rows.append({"factor": f, "low": float(lo_q), "high": float(hi_q), "output_low": o_lo,
                         "output_high": o_hi, "swing": abs(o_hi - o_lo)})
        out["tornado"][str(iss)] = sorted(rows, key=lambda r: -r["swing"])
        if method in ("sobol", "morris"):
            try:
                out["indices"][str(iss)] = _salib_indices(method, design, spec, factors, g, y)
            except Exception:  # noqa: BLE001 - a sample SALib cannot analyse: no indices, tornado stays
                pass
    if not out["indices"]:
        out.pop("indices")
    return out


def _salib_indices(method: str, design: Mapping[str, Any], spec: Mapping[str, Any], factors: list[str],
                   g: Any, y: Any) -> list[dict[str, Any]]:
    """Sobol S1/ST or Morris mu* of a stored sensitivity sample (as ``run_sensitivity`` does)."""
    problem = {"num_vars": len(factors), "names": factors, "bounds": [[0.0, 1.0]] * len(factors)}
    seed = int(spec.get("seed") or 0)
    if method == "sobol":
        from SALib.analyze import sobol

        r = sobol.analyze(problem, y, calc_second_order=bool(design.get("second_order")), seed=seed,
                          print_to_console=False)
        return [{"factor": f, "S1": _num(r["S1"][j]), "S1_conf": _num(r["S1_conf"][j]), "ST": _num(r["ST"][j]),
                 "ST_conf": _num(r["ST_conf"][j])} for j, f in enumerate(factors)]
    from SALib.analyze import morris
    from SALib.sample import morris as morris_sample

    levels = int(design.get("morris_levels") or 4)
    X = morris_sample.sample(problem, int(design.get("n")), num_levels=levels, seed=seed)
    r = morris.analyze(problem, X, y, num_levels=levels, seed=seed, print_to_console=False)
    return [{"factor": f, "mu": _num(r["mu"][j]), "mu_star": _num(r["mu_star"][j]),
             "mu_star_conf": _num(r["mu_star_conf"][j]), "sigma": _num(r["sigma"][j])} for j, f in enumerate(factors)]


def sensitivity_charts(sres: Any) -> dict[str, Any]:
    """The ``sensitivity`` block of :func:`sweep_charts` from a ``SensitivityResult``
    (its tornado is the exact one-at-a-time swing around the medians)."""
    d = sres.to_json_dict()
    return {"method": d["method"], "factors": d["factors"], "indices": d["indices"], "tornado": d["tornado"],
            "baseline": d["baseline"],
            "tornado_kind": "one at a time: each factor at its 5 % and 95 % quantile, the others at their medians"}


# --------------------------------------------------------------------------- crisis


def crisis_charts(obj: Mapping[str, Any]) -> dict[str, Any]:
    """Series of a crisis ``detente run --json`` object for plotting.

    Returns ``{"p_war_by": {hyp: {"dates", "p"}}, "hazard": {hyp: {flashpoint: {"dates",
    "mean", "q10", "q90"}}}, "triangle": {hyp: {"dates", "configs": {name: [share]}}},
    "alignment": {hyp: {"dates", "mean", "q10", "q90"}}, "p_war_at_by": {hyp: {fp: {"dates",
    "p"}}}, "events": [{"date", "label"}]}``.
    """
    out: dict[str, Any] = {"p_war_by": {}, "hazard": {}, "triangle": {}, "alignment": {}, "p_war_at_by": {}}
    for h, b in (obj.get("hypotheses") or {}).items():
        pw = b.get("p_war_by") or {}
        out["p_war_by"][h] = {"dates": list(pw), "p": [_num(v) for v in pw.values()], "label": b.get("label", h)}
        out["p_war_at_by"][h] = {f: {"dates": list(row), "p": [_num(v) for v in row.values()]}
                                 for f, row in (b.get("p_war_at_by") or {}).items()}
        hz = {}
        for f, row in (b.get("hazard_by_flashpoint") or {}).items():
            if row:
                hz[f] = {"dates": list(row), **{k: [_num(v.get(k)) for v in row.values()] for k in ("mean", "q10", "q90")}}
        out["hazard"][h] = hz
        tri = b.get("triangle") or {}
        names = list(dict.fromkeys(n for v in tri.values() for n in v))
        out["triangle"][h] = {"dates": list(tri), "configs": {n: [_num(v.get(n, 0.0)) for v in tri.values()] for n in names}}
        al = b.get("ru_cn_alignment") or {}
        out["alignment"][h] = {"dates": list(al), **{k: [_num(v.get(k)) for v in al.values()] for k in ("mean", "q10", "q90")}}
    rec = obj.get("record") or {}
    on = rec.get("onset") if rec.get("war") else None   # the observed onset, as the scenario's record states it
    out["events"] = [{"date": on["date"], "label": "observed onset" + (f" at {rec['flashpoint']}" if rec.get("flashpoint") else "")
                      + (f" ({rec['initiator']})" if rec.get("initiator") else "")}] if on else []
    return out
