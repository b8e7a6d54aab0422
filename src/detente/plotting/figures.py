"""Every chart of detente as a :class:`plotly.graph_objects.Figure`, built once from the chart data
of :mod:`detente.report.charts` / :mod:`detente.plotting.data` and used as is by the web UI
(``fig.to_json()``), the HTML report (inline HTML), the markdown report (PNG through kaleido,
:mod:`detente.plotting.export`) and the ``.plot()`` methods (a figure displays itself in Jupyter).

Conventions, the same on every chart:

* one colour per name (:mod:`detente.plotting.palette`): pass the whole set of a run's actors
  (``colors=palette.colors(all_actors)``) so an actor keeps its colour across the run's charts;
* axes say what they measure and in which unit ("position on the issue scale (0–100)",
  "probability", "number of runs", "month end");
* a weighted mean is a black dashed line and a weighted median a grey dotted one, each named in the
  legend; technical names (triangle configurations, flashpoint ids) are in the hover text, plain
  words in the legend;
* legends list series in the order the tables beside them do (the order of the data given).

Plotly is imported only when a figure is built.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from detente.plotting import palette as P
from detente.plotting.labels import triangle_label, with_code

__all__ = ["forecast_figure", "trajectory_figure", "perception_figure", "exchange_network_figure",
           "distribution_figure", "fan_figure", "tornado_figure", "indices_figure", "compare_forecast_figure",
           "compare_rounds_figure", "compare_crisis_figure", "crisis_p_war_figure", "crisis_hazard_figure",
           "crisis_triangle_figure", "crisis_alignment_figure", "crisis_agreement_figure", "leaderboard_figure",
           "reliability_figure", "HAZARD_BAND", "QUADRANTS"]

#: Quadrants of the BDM perception chart, in legend (and table) order.
QUADRANTS = ("conflict", "compromise", "capitulation", "compromise (other yields)",
             "capitulation (other yields)", "stalemate", "boundary", "origin")

#: What the shaded band of the hazard chart is (said in its caption and legend).
HAZARD_BAND = ("Monte Carlo interval of the mean monthly hazard: mean ± 2 SE over the runs still at peace "
               "there (how precisely the runs pin the mean down, not the spread of the hazard across runs)")

_FONT = dict(family="system-ui, -apple-system, Segoe UI, sans-serif", size=12, color="#1d2433")


def _go():
    import plotly.graph_objects as go

    return go


def _new(title: str, height: int = 380, **layout: Any):
    """A figure with detente's small template (white, light grid, title top-left)."""
    go = _go()
    axis = dict(showline=True, linecolor="#888", gridcolor="#e6e9ef", zeroline=False, ticks="outside",
                automargin=True)
    fig = go.Figure(layout=dict(
        template="none", title=dict(text=title, x=0.01, xanchor="left", font=dict(size=14)),
        font=_FONT, height=height, margin=dict(l=70, r=20, t=50, b=60), plot_bgcolor="white",
        paper_bgcolor="white", hoverlabel=dict(namelength=-1), xaxis=dict(axis), yaxis=dict(axis),
        legend=dict(traceorder="normal")))
    fig.update_layout(**layout)
    return fig


def _nz(v: Iterable[Any]) -> list[float | None]:
    return [None if x is None or (isinstance(x, float) and not math.isfinite(x)) else x for x in v]


def _rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[k:k + 2], 16) for k in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def _scale(bounds: Sequence[float | None] | None) -> str:
    if bounds and bounds[0] is not None and bounds[1] is not None:
        return f"position on the issue scale ({bounds[0]:g}–{bounds[1]:g})"
    return "position on the issue scale"


def _colors(given: Mapping[str, str] | None, names: Iterable[Any]) -> Mapping[str, str]:
    names = [str(n) for n in names]
    if given is not None and all(n in given for n in names):
        return given
    return {**P.colors(names), **(given or {})}


def _band(go: Any, x: Sequence[Any], lo: Sequence[Any], hi: Sequence[Any], color: str, name: str | None,
          group: str, alpha: float = 0.2, show: bool = True) -> list[Any]:
    """A shaded band lo..hi: two traces, the upper one filled down to the lower."""
    return [go.Scatter(x=list(x), y=_nz(lo), mode="lines", line=dict(width=0, color=color), showlegend=False,
                       legendgroup=group, hoverinfo="skip"),
            go.Scatter(x=list(x), y=_nz(hi), mode="lines", line=dict(width=0, color=color), fill="tonexty",
                       fillcolor=_rgba(color, alpha), name=name or group, legendgroup=group, hoverinfo="skip",
                       showlegend=bool(name) and show)]


def _vline(fig: Any, x: float, dash: str, color: str, name: str, yref_max: float) -> None:
    """A vertical line drawn as a trace so that it is named in the legend."""
    go = _go()
    fig.add_trace(go.Scatter(x=[x, x], y=[0, yref_max], mode="lines", line=dict(dash=dash, color=color, width=1.5),
                             name=name, hovertemplate=f"{name}<extra></extra>"))


# --------------------------------------------------------------------------- single runs


def forecast_figure(rows: Sequence[Mapping[str, Any]], title: str = "Forecast per issue", *,
                    colors: Mapping[str, str] | None = None, model: str = "forecast"):
    """One panel per issue on the issue's own scale: the bounds (the axis ends and a grey line
    between them), every actor's stated position (a dot in the actor's colour) and the forecast (a
    black diamond with its value). Rows come from :func:`detente.plotting.data.forecast_rows`."""
    from plotly.subplots import make_subplots

    go = _go()
    rows = list(rows)
    n = max(1, len(rows))
    actors = list(dict.fromkeys(a for r in rows for a in r.get("positions") or {}))
    cols = _colors(colors, actors)
    stacks = []
    for r in rows:   # actors at the same position are stacked upwards so that none hides another
        lo_, hi_ = r.get("lower"), r.get("upper")
        vals = [v for v in (r.get("positions") or {}).values() if v is not None]
        width = ((hi_ - lo_) if lo_ is not None and hi_ is not None else (max(vals) - min(vals) if vals else 1.0)) or 1.0
        stacks.append(_stack(r.get("positions") or {}, width))
    tall = max([max(s.values(), default=0) for s in stacks] or [0])
    fig = make_subplots(rows=n, cols=1, vertical_spacing=min(0.3, 1.2 / n) if n > 1 else 0.1,
                        subplot_titles=[with_code(r.get("label") or r["issue"], r["issue"]) for r in rows] or None)
    height = max(int(150 + (90 + 25 * tall / 0.35) * n), 170 + 20 * (len(actors) + 2))   # room for the legend
    fig.update_layout(_new(title, height=height, margin=dict(l=40, r=20, t=90, b=60)).layout)
    shown: set[str] = set()
    for k, r in enumerate(rows, start=1):
        lo, hi = r.get("lower"), r.get("upper")
        pos = {a: v for a, v in (r.get("positions") or {}).items() if v is not None}
        vals = list(pos.values()) + ([r["forecast"]] if r.get("forecast") is not None else [])
        if lo is None or hi is None:
            lo, hi = (min(vals), max(vals)) if vals else (0.0, 1.0)
            bounded = False
        else:
            bounded = True
        pad = 0.03 * ((hi - lo) or 1.0)
        fig.add_trace(go.Scatter(x=[lo, hi], y=[0, 0], mode="lines+markers", marker=dict(symbol="line-ns-open", size=14),
                                 line=dict(color=P.NEUTRAL, width=2), showlegend=k == 1,
                                 name="issue bounds" if bounded else "range of positions", legendgroup="bounds",
                                 hovertemplate="%{x:.4g}<extra>" + ("bound" if bounded else "end") + "</extra>"),
                      row=k, col=1)
        for a, v in pos.items():
            fig.add_trace(go.Scatter(x=[v], y=[stacks[k - 1][a]], mode="markers", name=a, legendgroup=a, showlegend=a not in shown,
                                     marker=dict(color=cols[a], size=11, opacity=0.85, line=dict(color="white", width=1)),
                                     hovertemplate=f"{a}: %{{x:.4g}}<extra>{r['issue']}</extra>"), row=k, col=1)
            shown.add(a)
        f = r.get("forecast")
        if f is not None:
            fig.add_trace(go.Scatter(x=[f], y=[0], mode="markers+text", name=model, legendgroup="forecast",
                                     showlegend=k == 1, text=[f"{f:.4g}"], textposition="top center",
                                     marker=dict(symbol="diamond", size=16, color=P.FORECAST_COLOR,
                                                 line=dict(color="white", width=1.5)),
                                     hovertemplate=f"{model}: %{{x:.4g}}<extra>{r['issue']}</extra>"), row=k, col=1)
        fig.update_xaxes(range=[lo - pad, hi + pad], title_text=_scale((r.get("lower"), r.get("upper"))),
                         showline=True, linecolor="#888", gridcolor="#e6e9ef", row=k, col=1)
        fig.update_yaxes(visible=False, range=[-0.6, tall + 0.6], row=k, col=1)
    return fig


def trajectory_figure(issue: str, tr: Mapping[str, Any], bounds: Sequence[float | None] | None = None, *,
                      colors: Mapping[str, str] | None = None, label: str | None = None, max_legend: int = 30):
    """Position of every actor by round on one issue (one colour per actor), with the weighted mean
    (black dashed) and the weighted median (grey dotted) of each round, both named."""
    go = _go()
    actors = tr.get("actors") or {}
    cols = _colors(colors, actors)
    x = list(tr.get("rounds") or [])
    fig = _new(f"Positions by round — {with_code(label or issue, issue)}", height=400,
               xaxis_title="round (0 = stated positions)", yaxis_title=_scale(bounds),
               showlegend=len(actors) <= max_legend)
    mark = "lines+markers" if len(x) <= 20 else "lines"
    for a, ys in actors.items():
        fig.add_trace(go.Scatter(x=x, y=_nz(ys), mode=mark, name=a, line=dict(color=cols[a], width=1.5),
                                 marker=dict(size=5), hovertemplate=f"{a}: %{{y:.4g}} (round %{{x}})<extra></extra>"))
    for key, name, dash, c in (("mean", "weighted mean (capability × salience)", "dash", P.MEAN_COLOR),
                               ("median", "weighted median", "dot", P.MEDIAN_COLOR)):
        v = tr.get(key) or []
        if any(y is not None for y in v):
            fig.add_trace(go.Scatter(x=x, y=_nz(v), mode="lines", name=name, line=dict(color=c, dash=dash, width=2.2),
                                     hovertemplate=f"{name}: %{{y:.4g}}<extra></extra>"))
    if bounds and bounds[0] is not None and bounds[1] is not None:
        fig.update_yaxes(range=[bounds[0], bounds[1]])
    _round_ticks(fig, x)
    return fig


def _round_ticks(fig: Any, rounds: Sequence[Any]) -> None:
    """Rounds are whole numbers: ticks on integers (every round when there are few)."""
    fig.update_xaxes(tickformat="d", **({"tickmode": "linear", "dtick": 1} if len(rounds) <= 12 else {}))


def perception_figure(issue: str, p: Mapping[str, Any]):
    """BDM perception quadrants (round 1): each point an ordered pair (actor, other); x = the
    actor's expected utility of challenging the other, y = the other's of challenging the actor,
    both as the actor perceives them. Colours name the quadrant; legend in :data:`QUADRANTS` order.
    Each point's ``customdata`` is ``[actor, other]`` (the web filters on the actor)."""
    go = _go()
    qs = list(p.get("quadrants") or [])
    big = len(qs) > 2000
    trace = go.Scattergl if big else go.Scatter
    fig = _new(f"Perception quadrants (round 1) — {issue}", height=480,
               xaxis_title="E[U] of the actor challenging the other (utility, actor's view)",
               yaxis_title="E[U] of the other challenging the actor (utility, actor's view)")
    order = [q for q in QUADRANTS if q in qs] + [q for q in dict.fromkeys(qs) if q not in QUADRANTS]
    for q in order:
        sel = [k for k, v in enumerate(qs) if v == q]
        fig.add_trace(trace(x=[p["x"][k] for k in sel], y=[p["y"][k] for k in sel], mode="markers", name=f"{q} ({len(sel)})",
                            customdata=[[p["actor"][k], p["other"][k]] for k in sel],
                            marker=dict(color=P.QUADRANT_COLORS.get(q, P.NEUTRAL), size=8, opacity=0.85),
                            hovertemplate="%{customdata[0]} → %{customdata[1]}<br>x %{x:.3g}, y %{y:.3g}<extra>" + q + "</extra>"))
    vals = [abs(v) for v in list(p.get("x") or []) + list(p.get("y") or []) if v is not None] or [1.0]
    lim = max(max(vals), 1e-9) * 1.1
    fig.update_xaxes(range=[-lim, lim], zeroline=True, zerolinecolor="#333", zerolinewidth=1.5)
    fig.update_yaxes(range=[-lim, lim], zeroline=True, zerolinecolor="#333", zerolinewidth=1.5)
    fig.add_shape(type="line", x0=-lim, y0=lim, x1=lim, y1=-lim, line=dict(color="#999", dash="dot", width=1))
    return fig


def exchange_network_figure(net: Mapping[str, Any], *, colors: Mapping[str, str] | None = None, max_edges: int = 300):
    """Actors on a circle in their own colours; a line per pair that exchanged, its width the
    number of exchanges; node size the actor's number of exchanges."""
    go = _go()
    nodes = [n["id"] for n in net.get("nodes") or []]
    cols = _colors(colors, nodes)
    xy = {a: (math.cos(2 * math.pi * k / max(len(nodes), 1) + math.pi / 2),
              math.sin(2 * math.pi * k / max(len(nodes), 1) + math.pi / 2)) for k, a in enumerate(nodes)}
    fig = _new(f"Realized exchanges ({net.get('realized', 0)} in {net.get('rounds', 0)} rounds): line width = number "
               "of exchanges, dot size = an actor's exchanges", height=500, showlegend=False)
    cmax = max([e["count"] for e in net.get("edges") or []] or [1])
    for e in (net.get("edges") or [])[:max_edges]:
        (x0, y0), (x1, y1) = xy[e["source"]], xy[e["target"]]
        fig.add_trace(go.Scatter(x=[x0, x1], y=[y0, y1], mode="lines", showlegend=False,
                                 line=dict(width=1 + 7 * e["count"] / cmax, color="rgba(52,101,164,0.55)"),
                                 hovertemplate=(f"{e['source']} ↔ {e['target']}: {e['count']} exchanges, summed gain "
                                                f"{e.get('gain', 0):.3g} ({', '.join(e.get('issues') or [])})<extra></extra>")))
    gmax = max([n["exchanges"] for n in net.get("nodes") or []] or [1]) or 1
    for n in net.get("nodes") or []:
        x, y = xy[n["id"]]
        fig.add_trace(go.Scatter(x=[x], y=[y], mode="markers+text", name=n["id"], text=[n["id"]], textposition="top center",
                                 marker=dict(size=12 + 26 * n["exchanges"] / gmax, color=cols[n["id"]],
                                             line=dict(color="#000", width=1)),
                                 hovertemplate=f"{n['id']}: {n['exchanges']} exchanges<extra></extra>"))
    fig.update_xaxes(visible=False, range=[-1.4, 1.4])
    fig.update_yaxes(visible=False, range=[-1.4, 1.4], scaleanchor="x")
    return fig


# --------------------------------------------------------------------------- sweeps


def distribution_figure(issue: str, d: Mapping[str, Any], runs: int, bounds: Sequence[float | None] | None = None):
    """Histogram of a sweep's forecasts on one issue with the mean (dashed), the median (solid)
    and the 5 % / 95 % quantiles (dotted), each named with its value in the legend."""
    go = _go()
    edges, counts = list(d.get("edges") or []), list(d.get("counts") or [])
    fig = _new(f"Outcome distribution — {issue} ({runs} runs)", height=340, bargap=0.02,
               xaxis_title=f"forecast, {_scale(bounds)}", yaxis_title="number of runs")
    if counts:
        mids = [(edges[k] + edges[k + 1]) / 2 for k in range(len(counts))]
        fig.add_trace(go.Bar(x=mids, y=counts, width=[edges[k + 1] - edges[k] for k in range(len(counts))],
                             name="runs per bin", marker=dict(color="#3465a4", opacity=0.8),
                             hovertemplate="%{x:.4g}: %{y} runs<extra></extra>"))
    top = max(counts or [1])
    s = d.get("summary") or {}
    for k, name, dash, c in (("mean", "mean", "dash", P.MEAN_COLOR), ("median", "median", "solid", P.MEDIAN_COLOR),
                             ("q05", "5 % quantile", "dot", P.NEUTRAL), ("q95", "95 % quantile", "dot", P.NEUTRAL)):
        if s.get(k) is not None:
            _vline(fig, s[k], dash, c, f"{name} {s[k]:.4g}", top)
    return fig


def fan_figure(issue: str, fan: Mapping[str, Mapping[str, Any]], *, colors: Mapping[str, str] | None = None,
               max_actors: int = 12, bounds: Sequence[float | None] | None = None):
    """Per actor (its own colour): median position by round over the sweep's runs with its
    25–75 % (darker) and 5–95 % (lighter) bands. With more than ``max_actors`` actors, those with
    the widest final 5–95 % band are shown (in the order given)."""
    go = _go()
    cols = _colors(colors, fan)
    items = list(fan.items())
    if len(items) > max_actors:
        keep = {a for a, f in sorted(items, key=lambda kv: -((kv[1]["q95"][-1] or 0) - (kv[1]["q05"][-1] or 0)))[:max_actors]}
        items = [kv for kv in items if kv[0] in keep]
    fig = _new(f"Positions by round over runs — {issue} (line: median; bands: 25–75 % and 5–95 % of runs)",
               height=420, xaxis_title="round (0 = stated positions)", yaxis_title=_scale(bounds))
    for a, f in items:
        c, r = cols[a], f["round"]
        for t in _band(go, r, f["q05"], f["q95"], c, None, a, 0.10) + _band(go, r, f["q25"], f["q75"], c, None, a, 0.25):
            fig.add_trace(t)
        fig.add_trace(go.Scatter(x=r, y=_nz(f["q50"]), mode="lines", name=a, legendgroup=a, line=dict(color=c, width=2),
                                 hovertemplate=f"{a} median: %{{y:.4g}} (round %{{x}})<extra></extra>"))
    if bounds and bounds[0] is not None and bounds[1] is not None:
        fig.update_yaxes(range=[bounds[0], bounds[1]])
    _round_ticks(fig, max((f["round"] for _a, f in items), key=len, default=[]))
    return fig


def tornado_figure(issue: str, rows: Sequence[Mapping[str, Any]], baseline: float | None, kind: str, *,
                   max_rows: int = 15, xlabel: str | None = None):
    """One bar per factor from the output at the factor's low end to its high end (red: a higher
    factor raises the output; blue: lowers it), largest swing on top; the baseline as a line."""
    go = _go()
    rows = [r for r in list(rows)[:max_rows] if r.get("output_low") is not None and r.get("output_high") is not None][::-1]
    fig = _new(f"Tornado — {issue}", height=130 + 30 * max(3, len(rows)), showlegend=True,
               xaxis_title=xlabel or f"forecast on {issue} (issue scale)", yaxis_title=None, margin=dict(l=200, r=20, t=75, b=60))
    lines = textwrap.wrap(kind, 95) or [""]
    fig.update_layout(title_subtitle_text="<br>".join(lines), title_subtitle_font=dict(size=11, color="#555"),
                      margin_t=55 + 16 * len(lines), height=fig.layout.height + 16 * (len(lines) - 1))
    for up, name, c in ((True, "higher factor raises it", "#cc3311"), (False, "higher factor lowers it", "#0077bb")):
        sel = [r for r in rows if (r["output_high"] >= r["output_low"]) == up]
        if not sel:
            continue
        lo = [min(r["output_low"], r["output_high"]) for r in sel]
        hi = [max(r["output_low"], r["output_high"]) for r in sel]
        fig.add_trace(go.Bar(y=[str(r["factor"]) for r in sel], base=lo, x=[(b - a) or 1e-12 for b, a in zip(hi, lo)],
                             orientation="h", name=name, marker=dict(color=c),
                             customdata=[[r["output_low"], r["output_high"]] for r in sel],
                             hovertemplate="%{y}: low end → %{customdata[0]:.4g}, high end → %{customdata[1]:.4g}<extra></extra>"))
    fig.update_yaxes(categoryorder="array", categoryarray=[str(r["factor"]) for r in rows])
    if baseline is not None:
        _vline_paper(fig, baseline, f"baseline {baseline:.4g}")
    return fig


def _vline_paper(fig: Any, x: float, name: str) -> None:
    go = _go()
    fig.add_shape(type="line", x0=x, x1=x, yref="paper", y0=0, y1=1, line=dict(color="black", width=1.5))
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", line=dict(color="black", width=1.5), name=name))


def indices_figure(issue: str, rows: Sequence[Mapping[str, Any]], method: str):
    """Sobol first-order (S1) and total (ST) indices, or Morris μ*, per factor with their
    confidence intervals, in the order of the indices table."""
    go = _go()
    rows = list(rows)
    names = [str(r["factor"]) for r in rows]
    fig = _new(f"{method.capitalize()} indices — {issue}", height=110 + 34 * max(3, len(rows)), barmode="group",
               xaxis_title=("share of the output variance (0–1)" if method == "sobol" else "μ*: mean absolute elementary effect (output units)"),
               margin=dict(l=200, r=20, t=50, b=60))
    if method == "sobol":
        for key, name, c in (("S1", "S1 (first order)", "#3465a4"), ("ST", "ST (total)", "#f57900")):
            fig.add_trace(go.Bar(y=names, x=[r.get(key) for r in rows], orientation="h", name=name, marker=dict(color=c),
                                 error_x=dict(type="data", array=[r.get(key + "_conf") or 0 for r in rows])))
    else:
        fig.add_trace(go.Bar(y=names, x=[r.get("mu_star") for r in rows], orientation="h", name="μ* (Morris)",
                             marker=dict(color="#3465a4"), error_x=dict(type="data", array=[r.get("mu_star_conf") or 0 for r in rows])))
    fig.update_yaxes(categoryorder="array", categoryarray=names[::-1])
    return fig


# --------------------------------------------------------------------------- comparisons


def _model_name(r: Mapping[str, Any]) -> str:
    return f"{r.get('model')}" + (f" ({r['variant']})" if r.get("variant") else "")


def _stack(pos: Mapping[str, float | None], width: float, step: float = 0.35, base: float = 0.0) -> dict[str, float]:
    """Heights that keep actors at the same position (within 1 % of the scale) from hiding each other."""
    seen: dict[int, int] = {}
    ys = {}
    for a, v in pos.items():
        if v is None:
            continue
        key = round(v / (width or 1.0) * 100)
        ys[a] = base + step * (seen.get(key, 0) + 1)
        seen[key] = seen.get(key, 0) + 1
    return ys


#: Marker shapes of the runs on the comparison chart (forecasts are black shapes, actors colours).
_RUN_SYMBOLS = ("diamond", "square", "triangle-up", "star", "x", "cross", "triangle-down", "hexagon")


def run_symbol(j: int) -> str:
    """The marker shape of the ``j``-th run of a comparison (the same on all its charts)."""
    return _RUN_SYMBOLS[j % len(_RUN_SYMBOLS)]


def compare_forecast_figure(results: Mapping[str, Mapping[str, Any]], meta: Mapping[str, Mapping[str, Any]] | None = None,
                            *, colors: Mapping[str, str] | None = None):
    """Several runs' forecasts, one panel per issue on the issue's own scale: the bounds, every
    actor's stated position (a dot in the actor's colour, when ``meta`` has the scenario) and each
    run's forecast as a black shape of its own (diamond, square, triangle, …) with its value."""
    from plotly.subplots import make_subplots

    go = _go()
    issues = list(dict.fromkeys(i for r in results.values() for i in (r.get("issues") or {})))
    names = {rid: f"{_model_name(r)} · {rid[:8]}" if sum(_model_name(x) == _model_name(r) for x in results.values()) > 1
             else _model_name(r) for rid, r in results.items()}
    symbols = {rid: run_symbol(j) for j, rid in enumerate(results)}
    actors = list(dict.fromkeys(a for i in issues for a in (((meta or {}).get(i) or {}).get("positions") or {})))
    cols = _colors(colors, actors)
    n = max(1, len(issues))
    stacks = {}
    for iid in issues:
        m = (meta or {}).get(iid) or {}
        lo, hi = m.get("lower"), m.get("upper")
        stacks[iid] = _stack(m.get("positions") or {}, (hi - lo) if lo is not None and hi is not None else 1.0)
    tall = max([max(s.values(), default=0) for s in stacks.values()] or [0])
    height = max(int(150 + (90 + 25 * tall / 0.35) * n), 170 + 20 * (len(actors) + len(results) + 1))
    fig = make_subplots(rows=n, cols=1, vertical_spacing=min(0.3, 1.2 / n) if n > 1 else 0.1,
                        subplot_titles=[with_code(((meta or {}).get(i) or {}).get("label") or i, i) for i in issues] or None)
    fig.update_layout(_new("Forecasts side by side", height=height, margin=dict(l=40, r=20, t=90, b=60)).layout)
    shown: set[str] = set()
    for k, iid in enumerate(issues, start=1):
        m = (meta or {}).get(iid) or {}
        vals = [float(v) for r in results.values()
                if (v := ((r.get("issues") or {}).get(iid) or {}).get("forecast")) is not None]
        vals += [float(v) for v in (m.get("positions") or {}).values() if v is not None]
        lo, hi = m.get("lower"), m.get("upper")
        if lo is None or hi is None:
            lo, hi = (min(vals), max(vals)) if vals else (0.0, 1.0)
        pad = 0.03 * ((hi - lo) or 1.0)
        fig.add_trace(go.Scatter(x=[lo, hi], y=[0, 0], mode="lines", line=dict(color=P.NEUTRAL, width=2), showlegend=k == 1,
                                 name="issue bounds" if m.get("lower") is not None else "range of forecasts",
                                 legendgroup="bounds", hoverinfo="skip"), row=k, col=1)
        for a, y in stacks[iid].items():
            fig.add_trace(go.Scatter(x=[m["positions"][a]], y=[y], mode="markers", name=a, legendgroup=a,
                                     showlegend=a not in shown, marker=dict(color=cols[a], size=10, opacity=0.85),
                                     hovertemplate=f"{a}: %{{x:.4g}}<extra>{iid}</extra>"), row=k, col=1)
            shown.add(a)
        for rid, r in results.items():
            v = ((r.get("issues") or {}).get(iid) or {}).get("forecast")
            if v is None:
                continue
            fig.add_trace(go.Scatter(x=[v], y=[0], mode="markers", name=names[rid], legendgroup=rid, showlegend=k == 1,
                                     marker=dict(symbol=symbols[rid], size=14, color=P.FORECAST_COLOR,
                                                 line=dict(color="white", width=1)),
                                     hovertemplate=f"{names[rid]}: %{{x:.4g}}<extra>{iid}</extra>"), row=k, col=1)
        fig.update_xaxes(range=[lo - pad, hi + pad], title_text=_scale((m.get("lower"), m.get("upper"))), row=k, col=1,
                         showline=True, linecolor="#888", gridcolor="#e6e9ef")
        fig.update_yaxes(visible=False, range=[-0.6, tall + 0.6], row=k, col=1)
    return fig


def compare_rounds_figure(issue: str, results: Mapping[str, Mapping[str, Any]], bounds: Sequence[float | None] | None = None,
                          *, symbols: Mapping[str, str] | None = None):
    """The capability × salience weighted mean position by round of each run that records rounds,
    on one issue: black lines told apart by their marker shape (the run's shape on the
    comparison chart when ``symbols`` gives it) and dash."""
    go = _go()
    scale = f" ({bounds[0]:g}–{bounds[1]:g})" if bounds and None not in tuple(bounds) else ""
    fig = _new(f"Weighted mean position by round — {issue}", height=340, xaxis_title="round (0 = stated positions)",
               yaxis_title=f"weighted mean position{scale}", showlegend=True)
    dashes = ("solid", "dash", "dot", "dashdot")
    longest: list[Any] = []
    for j, (rid, r) in enumerate(results.items()):
        rounds = ((r.get("issues") or {}).get(issue) or {}).get("rounds") or []
        if rounds:
            longest = max(longest, rounds, key=len)
            fig.add_trace(go.Scatter(x=list(range(len(rounds))), y=_nz(x.get("mean") for x in rounds), mode="lines+markers",
                                     name=f"{_model_name(r)} · {rid[:8]}",
                                     line=dict(color=P.FORECAST_COLOR, dash=dashes[j % len(dashes)], width=1.8),
                                     marker=dict(symbol=(symbols or {}).get(rid, _RUN_SYMBOLS[j % len(_RUN_SYMBOLS)]), size=8)))
    if bounds and None not in tuple(bounds):
        fig.update_yaxes(range=[bounds[0], bounds[1]])
    _round_ticks(fig, longest)
    return fig


def compare_crisis_figure(rows: Sequence[Mapping[str, Any]], labels: Mapping[str, str] | None = None):
    """Two crisis runs: B − A per output with ±2 SE error bars, one colour per hypothesis; outputs
    in plain words on the axis, the output's name in the hover text."""
    go = _go()
    hyps = list(dict.fromkeys(r["hypothesis"] for r in rows))
    cols = P.colors(hyps)
    outs = list(dict.fromkeys(r["output"] for r in rows))
    lab = {o: (labels or {}).get(o) or o for o in outs}
    fig = _new("Difference B − A of each output (±2 SE)", height=140 + 26 * max(4, len(outs)),
               xaxis_title="difference B − A (in the output's own unit: probability or months)",
               margin=dict(l=320, r=20, t=50, b=60))
    for h in hyps:
        rs = [r for r in rows if r["hypothesis"] == h and r.get("diff") is not None]
        fig.add_trace(go.Scatter(x=[r["diff"] for r in rs], y=[lab[r["output"]] for r in rs], mode="markers", name=h,
                                 marker=dict(size=9, color=cols[h]), customdata=[[r["output"]] for r in rs],
                                 error_x=dict(type="data", array=[2 * (r.get("diff_se") or 0) for r in rs]),
                                 hovertemplate="%{y} [%{customdata[0]}]: %{x:.4g}<extra>" + h + "</extra>"))
    fig.add_shape(type="line", x0=0, x1=0, yref="paper", y0=0, y1=1, line=dict(color="black", width=1))
    fig.update_yaxes(categoryorder="array", categoryarray=[lab[o] for o in outs][::-1])
    return fig


# --------------------------------------------------------------------------- crisis


def _events(fig: Any, events: Sequence[Mapping[str, str]] | None) -> None:
    for e in events or []:
        fig.add_shape(type="line", x0=e["date"], x1=e["date"], yref="paper", y0=0, y1=1,
                      line=dict(dash="dash", color="black", width=1))
        fig.add_annotation(x=e["date"], yref="paper", y=1, text=e.get("label", ""), showarrow=False, yanchor="bottom",
                           font=dict(size=10))


def _z(ch: Mapping[str, Any]) -> float:
    return float((ch.get("bands") or {}).get("z") or 2)


def crisis_p_war_figure(ch: Mapping[str, Any], *, colors: Mapping[str, str] | None = None):
    """Cumulative P(war by date), any flashpoint, one line per hypothesis (in table order) with
    its Monte Carlo band (estimate ± 2 SE) when the chart data has one; dashed: the observed onset."""
    go = _go()
    hyps = list(ch.get("p_war_by") or {})
    cols = _colors(colors, hyps)
    z = _z(ch)
    fig = _new("Cumulative probability of war by date (any flashpoint)", height=400, xaxis_title="month end",
               yaxis_title="P(war by date) (probability)", yaxis_range=[0, 1])
    for h in hyps:
        s = ch["p_war_by"][h]
        if s.get("lo"):
            for t in _band(go, s["dates"], s["lo"], s["hi"], cols[h], f"{h} ±{z:g} SE", h, show=False):
                fig.add_trace(t)
        se = s.get("se")
        fig.add_trace(go.Scatter(x=s["dates"], y=_nz(s["p"]), mode="lines", name=f"{h} — {s['label']}"
                                 if s.get("label") and s.get("label") != h else h, legendgroup=h,
                                 line=dict(color=cols[h], width=2), customdata=_nz(se) if se else None,
                                 hovertemplate="%{x}: %{y:.3f}" + (" ± %{customdata:.3f} (SE)" if se else "") + f"<extra>{h}</extra>"))
    _events(fig, ch.get("events"))
    return fig


def crisis_hazard_figure(h: str, hz: Mapping[str, Any], events: Sequence[Mapping[str, str]] | None = (), *,
                         names: Mapping[str, str] | None = None, colors: Mapping[str, str] | None = None, z: float = 2.0):
    """Mean monthly hazard per flashpoint (plain name in the legend, id in the hover) with the
    Monte Carlo interval of the mean (:data:`HAZARD_BAND`) when the series has ``lo``/``hi``.
    Per-run quantiles are not drawn: the hazard is very skewed across runs (its 90 % quantile
    can sit below its mean), so they say nothing about the curve."""
    go = _go()
    cols = _colors(colors, hz)
    fig = _new(f"Mean monthly hazard per flashpoint — {h}", height=400, xaxis_title="month end",
               yaxis_title="hazard (probability of war starting that month)", yaxis_rangemode="tozero")
    for f, s in hz.items():
        nm = (names or {}).get(f) or f
        if s.get("lo"):
            for t in _band(go, s["dates"], s["lo"], s["hi"], cols[f], f"{nm}: mean ±{z:g} SE", f):
                fig.add_trace(t)
        fig.add_trace(go.Scatter(x=s["dates"], y=_nz(s["mean"]), mode="lines", name=f"{nm}: mean", legendgroup=f,
                                 line=dict(color=cols[f], width=2),
                                 hovertemplate="%{x}: %{y:.4f}<extra>" + with_code(nm, f) + "</extra>"))
    _events(fig, events)
    return fig


def crisis_triangle_figure(h: str, tri: Mapping[str, Any], actors: Sequence[str] | None = None, *, z: float = 2.0):
    """Share of runs in each configuration of the strategic triangle by month end, configurations
    in plain words (the technical name in the hover), with Monte Carlo bands when given."""
    go = _go()
    names = list(tri.get("configs") or {})
    cols = P.colors(names)
    fig = _new(f"Strategic triangle: share of runs in each configuration — {h}", height=380, xaxis_title="month end",
               yaxis_title="share of runs (0–1)", yaxis_range=[0, 1])
    for n in names:
        lab = triangle_label(n, actors)
        lo, hi = (tri.get("lo") or {}).get(n), (tri.get("hi") or {}).get(n)
        if lo and hi:
            for t in _band(go, tri["dates"], lo, hi, cols[n], None, n):
                fig.add_trace(t)
        fig.add_trace(go.Scatter(x=tri["dates"], y=_nz(tri["configs"][n]), mode="lines", name=lab, legendgroup=n,
                                 line=dict(color=cols[n], width=2),
                                 hovertemplate="%{x}: %{y:.3f}<extra>" + with_code(lab, n) + "</extra>"))
    return fig


def crisis_alignment_figure(al: Mapping[str, Any], pair: Sequence[str] | None = None, *,
                            colors: Mapping[str, str] | None = None, z: float = 2.0):
    """The triangle partners' tie (−1 hostile … +1 friendly), mean over runs per hypothesis with
    its Monte Carlo band when given."""
    go = _go()
    a, b = (list(pair or []) + ["partner 1", "partner 2"])[:2]
    hyps = [h for h, s in al.items() if s.get("dates")]
    cols = _colors(colors, hyps)
    fig = _new(f"{a}–{b} tie over time (mean over runs)", height=360, xaxis_title="month end",
               yaxis_title=f"{a}–{b} tie (−1 hostile … +1 friendly)", yaxis_range=[-1, 1])
    for h in hyps:
        s = al[h]
        if s.get("lo"):
            for t in _band(go, s["dates"], s["lo"], s["hi"], cols[h], None, h):
                fig.add_trace(t)
        fig.add_trace(go.Scatter(x=s["dates"], y=_nz(s["mean"]), mode="lines", name=h, legendgroup=h,
                                 line=dict(color=cols[h], width=2)))
    fig.add_shape(type="line", xref="paper", x0=0, x1=1, y0=0, y1=0, line=dict(color="#333", width=1))
    return fig


def crisis_agreement_figure(h: str, ag: Mapping[str, Mapping[str, float]]):
    """P(agreement by date) per negotiation track of one hypothesis."""
    go = _go()
    cols = P.colors(ag)
    fig = _new(f"Negotiation tracks: P(agreement by date) — {h}", height=360, xaxis_title="month end",
               yaxis_title="P(agreement by date) (probability)", yaxis_range=[0, 1])
    for t, row in ag.items():
        fig.add_trace(go.Scatter(x=list(row), y=_nz(row.values()), mode="lines", name=t, line=dict(color=cols[t], width=2)))
    return fig


# --------------------------------------------------------------------------- benchmarks


def leaderboard_figure(rows: Sequence[Mapping[str, Any]], reference: str, title: str):
    """Horizontal bars of each model's MAE (0–100 scale), the reference model in red, the paired
    95 % CI of the difference to the reference drawn around reference MAE + difference; hatched:
    models fitted on some of the scored issues."""
    go = _go()
    rows = [r for r in rows if r.get("mae") is not None][::-1]
    ref = next((r["mae"] for r in rows if r["name"] == reference), None)
    fig = _new(title, height=120 + 26 * max(3, len(rows)), showlegend=False, margin=dict(l=200, r=40, t=50, b=80),
               xaxis_title="MAE (0–100 scale); black: reference MAE + paired 95 % CI of the difference")
    fig.add_trace(go.Bar(y=[r["name"] for r in rows], x=[r["mae"] for r in rows], orientation="h",
                         marker=dict(color=["#cc4444" if r["name"] == reference else "#4488aa" for r in rows],
                                     pattern=dict(shape=["/" if r.get("n_in_sample") else "" for r in rows])),
                         text=[f"{r['mae']:.2f} (n={r.get('n')}" + (f", {r['n_in_sample']} in-sample" if r.get("n_in_sample") else "")
                               + ")" for r in rows], textposition="outside"))
    for r in rows:
        ci = r.get("ci_vs_compromise")
        if ci and ref is not None and r["name"] != reference and None not in ci:
            fig.add_trace(go.Scatter(x=[ref + ci[0], ref + ci[1]], y=[r["name"], r["name"]], mode="lines",
                                     line=dict(color="black", width=2), hoverinfo="skip"))
    if ref is not None:
        fig.add_shape(type="line", x0=ref, x1=ref, yref="paper", y0=0, y1=1, line=dict(color="#cc4444", dash="dash", width=1))
    return fig


def reliability_figure(panels: Mapping[str, Mapping[str, Sequence[Mapping[str, Any]]]], title: str):
    """Reliability diagram: one panel per outcome, per model the observed frequency in each forecast bin
    against the bin's mean forecast, with the bin's interval as an error bar and the bin size in the
    hover; the diagonal is perfect calibration.

    ``panels`` maps an outcome label to ``{model: [bin, ...]}`` with each bin ``{"mean_forecast",
    "observed", "n", "wilson90": [lo, hi]}`` (as ``detente.cases.score.reliability`` returns them).
    """
    go = _go()
    from plotly.subplots import make_subplots

    names = list(panels)
    models = list(dict.fromkeys(m for pan in panels.values() for m in pan))
    colors = _colors(None, models)
    fig = make_subplots(rows=1, cols=len(names), subplot_titles=names, horizontal_spacing=0.12)
    fig.update_layout(template="none", title=dict(text=title, x=0.01, xanchor="left", font=dict(size=14)),
                      font=_FONT, height=420, margin=dict(l=70, r=20, t=80, b=60), plot_bgcolor="white",
                      paper_bgcolor="white")
    for j, name in enumerate(names, start=1):
        fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line=dict(color="#888", dash="dot", width=1),
                                 name="perfect calibration", showlegend=j == 1, legendgroup="diag",
                                 hoverinfo="skip"), row=1, col=j)
        for m in models:
            bins = list(panels[name].get(m, ()))
            if not bins:
                continue
            x = [b["mean_forecast"] for b in bins]
            y = [b["observed"] for b in bins]
            lo = [b["observed"] - b["wilson90"][0] for b in bins]
            hi = [b["wilson90"][1] - b["observed"] for b in bins]
            fig.add_trace(go.Scatter(
                x=x, y=y, mode="lines+markers", name=m, legendgroup=m, showlegend=j == 1,
                line=dict(color=colors[m]), marker=dict(size=8, color=colors[m]),
                error_y=dict(type="data", symmetric=False, array=hi, arrayminus=lo, thickness=1, width=4),
                customdata=[b["n"] for b in bins],
                hovertemplate=f"{m}<br>mean forecast %{{x:.3f}}<br>observed %{{y:.3f}} (%{{customdata}} crises)<extra></extra>"),
                row=1, col=j)
        axis = dict(range=[0, 1], showline=True, linecolor="#888", gridcolor="#e6e9ef", zeroline=False,
                    ticks="outside")
        fig.update_xaxes(title_text="mean forecast probability in the bin", row=1, col=j, **axis)
        fig.update_yaxes(title_text="observed frequency (90 % Wilson interval)" if j == 1 else None, row=1, col=j,
                         **axis)
    return fig
