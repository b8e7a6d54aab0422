"""Chart data of stored runs: plain JSON-serialisable dicts shared by the static HTML
report (:mod:`detente.report.html`) and the web UI, both drawing the plotly figures of
:mod:`detente.report.figures`.

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
from collections.abc import Mapping
from typing import Any

from detente.plotting.data import finite_or_none, result_charts

__all__ = ["result_charts", "sweep_charts", "sensitivity_charts", "crisis_charts", "add_bands", "banded_crisis_charts",
           "QUADRANTS", "TORNADO_CONDITIONAL", "BAND_Z", "Q10_Q90_SD"]

#: Width of the Monte Carlo bands on the crisis charts, in standard errors (estimate ± 2 SE).
BAND_Z = 2.0
#: Distance between the 10 % and 90 % quantiles of a normal distribution, in sds (2 × 1.2816):
#: the sd of the Russia–China tie over runs (and of the monthly hazard of runs stored before the
#: hazard's own SE was recorded) is read from the 10–90 % spread, assuming a normal spread.
Q10_Q90_SD = 2.0 * 1.2815515655446004

#: Quadrant labels of the BDM perception table, in legend order.
QUADRANTS = ("conflict", "compromise", "capitulation", "compromise (other yields)",
             "capitulation (other yields)", "stalemate", "boundary", "origin")

#: How the sweep tornado is computed (said on every chart that shows it).
TORNADO_CONDITIONAL = ("conditional means: forecast averaged over the runs with the factor in its lowest "
                       "vs highest decile (other factors as sampled)")


# single runs: detente.plotting.data (re-exported)


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
        lo, hi = finite_or_none(row["min"]), finite_or_none(row["max"])
        dist[iss] = {"summary": {k: finite_or_none(v) for k, v in row.items()}, "edges": [], "counts": []}
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
                    **{q: [finite_or_none(x) for x in g[q]] for q in ("q05", "q25", "q50", "q75", "q95")}}
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
        out["baseline"][str(iss)] = finite_or_none(np.mean(y[ok])) if ok.any() else None
        rows: list[dict[str, Any]] = []
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
        return [{"factor": f, "S1": finite_or_none(r["S1"][j]), "S1_conf": finite_or_none(r["S1_conf"][j]), "ST": finite_or_none(r["ST"][j]),
                 "ST_conf": finite_or_none(r["ST_conf"][j])} for j, f in enumerate(factors)]
    from SALib.analyze import morris
    from SALib.sample import morris as morris_sample

    levels = int(design.get("morris_levels") or 4)
    X = morris_sample.sample(problem, int(design["n"]), num_levels=levels, seed=seed)
    r = morris.analyze(problem, X, y, num_levels=levels, seed=seed, print_to_console=False)
    return [{"factor": f, "mu": finite_or_none(r["mu"][j]), "mu_star": finite_or_none(r["mu_star"][j]),
             "mu_star_conf": finite_or_none(r["mu_star_conf"][j]), "sigma": finite_or_none(r["sigma"][j])} for j, f in enumerate(factors)]


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
        out["p_war_by"][h] = {"dates": list(pw), "p": [finite_or_none(v) for v in pw.values()], "label": b.get("label", h)}
        out["p_war_at_by"][h] = {f: {"dates": list(row), "p": [finite_or_none(v) for v in row.values()]}
                                 for f, row in (b.get("p_war_at_by") or {}).items()}
        hz = {}
        for f, row in (b.get("hazard_by_flashpoint") or {}).items():
            if row:
                hz[f] = {"dates": list(row), **{k: [finite_or_none(v.get(k)) for v in row.values()] for k in ("mean", "q10", "q90")}}
                if any("se" in v for v in row.values()):   # recorded since the hazard band is that of the mean
                    hz[f]["se_recorded"] = [finite_or_none(v.get("se")) for v in row.values()]
        out["hazard"][h] = hz
        tri = b.get("triangle") or {}
        names = list(dict.fromkeys(n for v in tri.values() for n in v))
        out["triangle"][h] = {"dates": list(tri), "configs": {n: [finite_or_none(v.get(n, 0.0)) for v in tri.values()] for n in names}}
        al = b.get("ru_cn_alignment") or {}
        out["alignment"][h] = {"dates": list(al), **{k: [finite_or_none(v.get(k)) for v in al.values()] for k in ("mean", "q10", "q90")}}
    rec = obj.get("record") or {}
    on = rec.get("onset") if rec.get("war") else None   # the observed onset, as the scenario's record states it
    out["events"] = [{"date": on["date"], "label": "observed onset" + (f" at {rec['flashpoint']}" if rec.get("flashpoint") else "")
                      + (f" ({rec['initiator']})" if rec.get("initiator") else "")}] if on else []
    return out


def _se_binomial(p: float | None, n: int) -> float | None:
    if p is None or n <= 0:
        return None
    return math.sqrt(max(p * (1.0 - p), 0.0) / n)


def _band(values: list[float | None], ses: list[float | None], z: float, lo: float | None = None,
          hi: float | None = None) -> tuple[list[float | None], list[float | None]]:
    los: list[float | None] = []
    his: list[float | None] = []
    for v, s in zip(values, ses):
        if v is None or s is None:
            los.append(None)
            his.append(None)
            continue
        a, b = v - z * s, v + z * s
        los.append(max(a, lo) if lo is not None else a)
        his.append(min(b, hi) if hi is not None else b)
    return los, his


def add_bands(charts: dict[str, Any], runs: int, z: float = BAND_Z) -> dict[str, Any]:
    """Add Monte Carlo bands (estimate ± ``z`` standard errors, ``runs`` runs per hypothesis)
    to the series of :func:`detente.report.charts.crisis_charts`, in place; returns ``charts``.

    * P(war by date), P(war at a flashpoint by date) and the triangle shares are proportions
      of runs: SE = √(p(1 − p)/runs), bands clipped to [0, 1];
    * the mean monthly hazard: the Monte Carlo SE of the mean the run records (``se`` of
      ``hazard_by_flashpoint``: sd over the runs at peace / √their number); runs stored before
      that field existed fall back to sd/√runs with the sd read from the 10–90 % spread
      (:data:`Q10_Q90_SD`, an approximation that assumes a normal spread; ``bands["hazard"]``
      says which was used);
    * the mean Russia–China tie: SE = sd/√runs with the sd over runs read from the recorded
      10–90 % spread (:data:`Q10_Q90_SD`).

    Each series gets ``se``, ``lo`` and ``hi`` lists beside its estimate; ``charts["bands"]``
    says how they were made.
    """
    n = int(runs)
    for s in charts.get("p_war_by", {}).values():
        s["se"] = [_se_binomial(p, n) for p in s["p"]]
        s["lo"], s["hi"] = _band(s["p"], s["se"], z, 0.0, 1.0)
    for by_fp in charts.get("p_war_at_by", {}).values():
        for s in by_fp.values():
            s["se"] = [_se_binomial(p, n) for p in s["p"]]
            s["lo"], s["hi"] = _band(s["p"], s["se"], z, 0.0, 1.0)
    for t in charts.get("triangle", {}).values():
        t["se"], t["lo"], t["hi"] = {}, {}, {}
        for name, share in t.get("configs", {}).items():
            t["se"][name] = [_se_binomial(p, n) for p in share]
            t["lo"][name], t["hi"][name] = _band(share, t["se"][name], z, 0.0, 1.0)

    def spread_se(q10: list[float | None], q90: list[float | None]) -> list[float | None]:
        return [None if a is None or b is None or n <= 0 else (b - a) / Q10_Q90_SD / math.sqrt(n) for a, b in zip(q10, q90)]

    how = set()
    for by_fp in charts.get("hazard", {}).values():
        for s in by_fp.values():
            rec = s.pop("se_recorded", None)
            s["se"] = rec if rec is not None else spread_se(s["q10"], s["q90"])
            how.add("recorded" if rec is not None else "spread")
            s["lo"], s["hi"] = _band(s["mean"], s["se"], z, 0.0, None)
    for s in charts.get("alignment", {}).values():
        if s.get("mean"):
            s["se"] = spread_se(s["q10"], s["q90"])
            s["lo"], s["hi"] = _band(s["mean"], s["se"], z, -1.0, 1.0)
    hz_method = ("sd/sqrt(n) over the runs at peace (recorded)" if how == {"recorded"} else
                 "sd/sqrt(runs), sd = (q90 - q10) / 2.563 (normal spread; approximate)" if how == {"spread"} else
                 "recorded sd/sqrt(n) where the run has it, else (q90 - q10) / 2.563 / sqrt(runs)")
    charts["bands"] = {"z": z, "runs": n, "hazard": hz_method,
                       "method": "proportions: sqrt(p(1-p)/runs); mean hazard: " + hz_method
                                 + "; tie mean: sd/sqrt(runs), sd = (q90 - q10) / 2.563 (normal spread)"}
    return charts


def banded_crisis_charts(obj: Mapping[str, Any], z: float = BAND_Z) -> dict[str, Any]:
    """:func:`crisis_charts` of a crisis ``--json`` object with its Monte Carlo bands
    (:func:`add_bands`, for the object's own ``runs`` per hypothesis): the series the web, the HTML
    report and the report's PNG figures draw."""
    return add_bands(crisis_charts(obj), int(obj.get("runs") or 0), z)
