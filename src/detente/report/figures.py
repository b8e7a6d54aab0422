"""matplotlib figures of the chart data in :mod:`detente.report.charts`.

Every function returns a :class:`matplotlib.figure.Figure` built without pyplot (no global
state, Agg canvas), so they are safe in threads (the web server) and never open windows.
:func:`to_png_base64` turns a figure into a ``data:`` URI body for self-contained HTML.
"""

from __future__ import annotations

import base64
import io
import math
from typing import Any, Mapping, Sequence

__all__ = ["to_png_base64", "trajectory_figure", "perception_figure", "exchange_network_figure",
           "distribution_figure", "fan_figure", "tornado_figure", "indices_figure", "forecast_figure",
           "crisis_p_war_figure", "crisis_hazard_figure", "crisis_triangle_figure", "crisis_alignment_figure",
           "compare_figure"]

QUADRANT_COLORS = {
    "conflict": "#cc3311", "compromise": "#0077bb", "capitulation": "#009988",
    "compromise (other yields)": "#33bbee", "capitulation (other yields)": "#66ccaa",
    "stalemate": "#bbbbbb", "boundary": "#ee7733", "origin": "#000000",
}


def _fig(w: float = 7.0, h: float = 3.8):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w, h))
    FigureCanvasAgg(fig)
    return fig


def to_png_base64(fig: Any, dpi: int = 96) -> str:
    """PNG bytes of ``fig``, base64-encoded (ASCII)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _dates(xs: Sequence[str]):
    import datetime as dt

    return [dt.date.fromisoformat(x) for x in xs]


def forecast_figure(forecasts: Mapping[str, float | None], title: str = "Forecast per issue"):
    fig = _fig(max(4.0, 0.8 * len(forecasts) + 2), 3.2)
    ax = fig.add_subplot()
    ids = list(forecasts)
    ax.bar(range(len(ids)), [forecasts[i] if forecasts[i] is not None else math.nan for i in ids], color="#3465a4")
    ax.set_xticks(range(len(ids)), ids, rotation=30 if len(ids) > 4 else 0, ha="right" if len(ids) > 4 else "center")
    ax.set_title(title)
    return fig


def trajectory_figure(issue: str, tr: Mapping[str, Any], bounds: tuple[float, float] | None = None, max_legend: int = 15):
    """Position of every actor by round on one issue, with the weighted mean (dashed)."""
    fig = _fig(7.0, 3.8)
    ax = fig.add_subplot()
    x = tr["rounds"]
    actors = tr["actors"]
    for a, ys in actors.items():
        ax.plot(x, [math.nan if v is None else v for v in ys], marker="o" if len(x) <= 20 else None, ms=3, lw=1.2,
                label=a if len(actors) <= max_legend else None)
    mean = tr.get("mean") or []
    if any(v is not None for v in mean):
        ax.plot(x, [math.nan if v is None else v for v in mean], "k--", lw=1.6, label="weighted mean")
    if bounds:
        ax.set_ylim(*bounds)
    ax.set_xlabel("round")
    ax.set_ylabel("position")
    ax.set_title(f"Positions by round — {issue}")
    if len(actors) <= max_legend:
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return fig


def perception_figure(issue: str, p: Mapping[str, Any], annotate_max: int = 30):
    """BDM perception quadrants: each point is an ordered pair (actor, other), x = the actor's
    expected utility of challenging the other, y = the other's of challenging the actor, as
    the actor perceives them; colours name the quadrant."""
    fig = _fig(6.4, 5.2)
    ax = fig.add_subplot()
    qs = p["quadrants"]
    for q in dict.fromkeys(qs):
        sel = [k for k, v in enumerate(qs) if v == q]
        ax.scatter([p["x"][k] for k in sel], [p["y"][k] for k in sel], s=22, alpha=0.8,
                   color=QUADRANT_COLORS.get(q, "#777777"), label=f"{q} ({len(sel)})")
    if len(qs) <= annotate_max:
        for k in range(len(qs)):
            if p["x"][k] is not None and p["y"][k] is not None:
                ax.annotate(f"{p['actor'][k]}→{p['other'][k]}", (p["x"][k], p["y"][k]), fontsize=6, alpha=0.7)
    ax.axhline(0, color="k", lw=0.7)
    ax.axvline(0, color="k", lw=0.7)
    ax.plot([-1e9, 1e9], [1e9, -1e9], color="#999", lw=0.6, ls=":")  # |x| = y boundary (compromise/capitulation)
    xs = [v for v in p["x"] if v is not None] + [v for v in p["y"] if v is not None] or [1.0]
    lim = max(abs(min(xs)), abs(max(xs)), 1e-9) * 1.1
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_xlabel("E[U] of the actor challenging the other (actor's view)")
    ax.set_ylabel("E[U] of the other challenging the actor (actor's view)")
    ax.set_title(f"Perceptions (round 1) — {issue}")
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return fig


def _circle(n: int) -> list[tuple[float, float]]:
    return [(math.cos(2 * math.pi * k / max(n, 1) + math.pi / 2), math.sin(2 * math.pi * k / max(n, 1) + math.pi / 2))
            for k in range(n)]


def exchange_network_figure(net: Mapping[str, Any]):
    """Actors on a circle; a line per pair that exchanged, width ∝ number of exchanges."""
    fig = _fig(6.0, 6.0)
    ax = fig.add_subplot()
    nodes = [n["id"] for n in net["nodes"]]
    xy = dict(zip(nodes, _circle(len(nodes))))
    cmax = max([e["count"] for e in net["edges"]] or [1])
    for e in net["edges"]:
        (x0, y0), (x1, y1) = xy[e["source"]], xy[e["target"]]
        ax.plot([x0, x1], [y0, y1], color="#3465a4", alpha=0.6, lw=0.8 + 5.0 * e["count"] / cmax, zorder=1)
        if len(net["edges"]) <= 30:
            ax.annotate(str(e["count"]), ((x0 + x1) / 2, (y0 + y1) / 2), fontsize=7, color="#333", ha="center")
    gmax = max([n["exchanges"] for n in net["nodes"]] or [1]) or 1
    for n in net["nodes"]:
        x, y = xy[n["id"]]
        ax.scatter([x], [y], s=60 + 340 * n["exchanges"] / gmax, color="#f57900", edgecolor="k", zorder=2)
        ax.annotate(n["id"], (x * 1.13, y * 1.13), ha="center", va="center", fontsize=8)
    ax.set_xlim(-1.35, 1.35)
    ax.set_ylim(-1.35, 1.35)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(f"Realized exchanges ({net.get('realized', 0)} in {net.get('rounds', 0)} rounds); "
                 "line width = count, node size = exchanges", fontsize=9)
    return fig


def distribution_figure(issue: str, d: Mapping[str, Any], runs: int):
    """Histogram of the sweep's forecasts on one issue with the 5/50/95 % quantiles."""
    fig = _fig(6.4, 3.2)
    ax = fig.add_subplot()
    edges, counts = d.get("edges") or [], d.get("counts") or []
    if counts:
        ax.bar(edges[:-1], counts, width=(edges[1] - edges[0]), align="edge", color="#3465a4", alpha=0.85)
    s = d.get("summary") or {}
    for k, ls in (("q05", ":"), ("median", "-"), ("q95", ":")):
        if s.get(k) is not None:
            ax.axvline(s[k], color="k", ls=ls, lw=1, label=f"{k} {s[k]:.4g}")
    ax.set_xlabel("forecast")
    ax.set_ylabel("runs")
    ax.set_title(f"Outcome distribution — {issue} ({runs} runs)")
    ax.legend(fontsize=7)
    return fig


def fan_figure(issue: str, fan: Mapping[str, Mapping[str, Any]], max_actors: int = 12):
    """Fan chart per actor: median position by round with 25–75 % and 5–95 % bands over runs."""
    fig = _fig(7.2, 4.0)
    ax = fig.add_subplot()
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    items = list(fan.items())
    if len(items) > max_actors:  # keep the actors with the widest final 5-95 % band
        items = sorted(items, key=lambda kv: -((kv[1]["q95"][-1] or 0) - (kv[1]["q05"][-1] or 0)))[:max_actors]
    for k, (a, f) in enumerate(items):
        c = cmap(k % 10)
        r = f["round"]
        nz = lambda v: [math.nan if x is None else x for x in v]  # noqa: E731
        ax.fill_between(r, nz(f["q05"]), nz(f["q95"]), color=c, alpha=0.10, lw=0)
        ax.fill_between(r, nz(f["q25"]), nz(f["q75"]), color=c, alpha=0.25, lw=0)
        ax.plot(r, nz(f["q50"]), color=c, lw=1.4, label=a)
    ax.set_xlabel("round")
    ax.set_ylabel("position")
    ax.set_title(f"Fan chart of positions over runs — {issue} (median, 25–75 %, 5–95 %)", fontsize=10)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return fig


def tornado_figure(issue: str, rows: Sequence[Mapping[str, Any]], baseline: float | None, kind: str, max_rows: int = 15):
    rows = list(rows)[:max_rows][::-1]
    fig = _fig(7.0, 0.38 * max(3, len(rows)) + 1.4)
    ax = fig.add_subplot()
    for k, r in enumerate(rows):
        lo, hi = r.get("output_low"), r.get("output_high")
        if lo is None or hi is None:
            continue
        a, b = sorted((lo, hi))
        ax.barh(k, b - a if b > a else 1e-12, left=a, color="#cc3311" if hi >= lo else "#0077bb")
    if baseline is not None:
        ax.axvline(baseline, color="k", lw=1)
    ax.set_yticks(range(len(rows)), [str(r["factor"]) for r in rows], fontsize=8)
    ax.set_xlabel(f"forecast on {issue} (red: higher factor raises it, blue: lowers it)")
    ax.set_title(f"Tornado — {issue}", fontsize=10)
    fig.text(0.01, -0.02, kind, fontsize=7, color="#555")
    return fig


def indices_figure(issue: str, rows: Sequence[Mapping[str, Any]], method: str):
    fig = _fig(7.0, 0.38 * max(3, len(rows)) + 1.4)
    ax = fig.add_subplot()
    names = [str(r["factor"]) for r in rows]
    y = list(range(len(rows)))
    if method == "sobol":
        ax.barh([v - 0.2 for v in y], [r.get("S1") or 0 for r in rows], height=0.4, xerr=[r.get("S1_conf") or 0 for r in rows],
                label="S1 (first order)", color="#3465a4")
        ax.barh([v + 0.2 for v in y], [r.get("ST") or 0 for r in rows], height=0.4, xerr=[r.get("ST_conf") or 0 for r in rows],
                label="ST (total)", color="#f57900")
    else:
        ax.barh(y, [r.get("mu_star") or 0 for r in rows], xerr=[r.get("mu_star_conf") or 0 for r in rows],
                label="mu* (Morris)", color="#3465a4")
    ax.set_yticks(y, names, fontsize=8)
    ax.legend(fontsize=7)
    ax.set_title(f"{method.capitalize()} indices — {issue}", fontsize=10)
    return fig


def compare_figure(results: Mapping[str, Mapping[str, Any]]):
    fig = _fig(7.0, 3.4)
    ax = fig.add_subplot()
    issues = list(dict.fromkeys(i for r in results.values() for i in (r.get("issues") or {})))
    n = max(1, len(results))
    for k, (rid, r) in enumerate(results.items()):
        ys = [((r.get("issues") or {}).get(i) or {}).get("forecast") for i in issues]
        ax.bar([j + (k - (n - 1) / 2) * 0.8 / n for j in range(len(issues))], [math.nan if v is None else v for v in ys],
               width=0.8 / n, label=f"{r.get('model')}" + (f" ({r['variant']})" if r.get("variant") else ""))
    ax.set_xticks(range(len(issues)), issues)
    ax.legend(fontsize=7)
    ax.set_title("Forecasts side by side")
    return fig


# --------------------------------------------------------------------------- crisis


def _event_lines(ax, events: Sequence[Mapping[str, str]]) -> None:
    for e in events or []:
        ax.axvline(_dates([e["date"]])[0], color="k", lw=0.8, ls="--")


def crisis_p_war_figure(ch: Mapping[str, Any]):
    fig = _fig(8.0, 4.0)
    ax = fig.add_subplot()
    for h, s in ch["p_war_by"].items():
        ax.plot(_dates(s["dates"]), [math.nan if v is None else v for v in s["p"]], label=h)
    _event_lines(ax, ch.get("events"))
    ax.set_ylim(0, 1)
    ax.set_ylabel("P(war by date)")
    ax.set_title("Cumulative probability of war (any flashpoint)")
    ax.legend(fontsize=7)
    fig.autofmt_xdate()
    return fig


def crisis_hazard_figure(h: str, hz: Mapping[str, Any], events=()):
    fig = _fig(8.0, 3.6)
    ax = fig.add_subplot()
    for f, s in hz.items():
        x = _dates(s["dates"])
        nz = lambda v: [math.nan if x is None else x for x in v]  # noqa: E731
        ax.plot(x, nz(s["mean"]), label=f"{f} mean")
        ax.fill_between(x, nz(s["q10"]), nz(s["q90"]), alpha=0.2)
    _event_lines(ax, events)
    ax.set_ylabel("monthly hazard")
    ax.set_title(f"Monthly hazard per flashpoint, 10–90 % band — {h}", fontsize=10)
    ax.legend(fontsize=7)
    fig.autofmt_xdate()
    return fig


def crisis_triangle_figure(h: str, tri: Mapping[str, Any]):
    fig = _fig(8.0, 3.4)
    ax = fig.add_subplot()
    x = _dates(tri["dates"])
    names = list(tri["configs"])
    if names:
        ax.stackplot(x, *[[0.0 if v is None else v for v in tri["configs"][n]] for n in names], labels=names, alpha=0.85)
    ax.set_ylim(0, 1)
    ax.set_ylabel("share of runs")
    ax.set_title(f"Strategic triangle configuration over time — {h}", fontsize=10)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.autofmt_xdate()
    return fig


def crisis_alignment_figure(al: Mapping[str, Any], pair: Any = None):
    """The triangle partners' tie over time; ``pair`` names them (from the scenario's triangle)."""
    a, b = (list(pair) + ["partner 1", "partner 2"])[:2] if pair else ("partner 1", "partner 2")
    fig = _fig(8.0, 3.4)
    ax = fig.add_subplot()
    for h, s in al.items():
        if s["dates"]:
            ax.plot(_dates(s["dates"]), [math.nan if v is None else v for v in s["mean"]], label=h)
    ax.axhline(0, color="k", lw=0.6)
    ax.set_ylim(-1, 1)
    ax.set_ylabel(f"{a}–{b} tie (mean)")
    ax.set_title(f"{a}–{b} alignment")
    ax.legend(fontsize=7)
    fig.autofmt_xdate()
    return fig
