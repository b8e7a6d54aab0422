"""The figures of a run, built once (plotly, :mod:`detente.plotting.figures`) and shown by both the
web UI and the HTML report.

Each builder returns a list of *entries* in display order; an entry is a dict with

* ``key`` — a stable name (``forecast``, ``trajectory-emission``, ``p-war``, ``hazard``, …): the
  web draws it in ``<div id="chart-KEY">``, the HTML report in ``<figure id="fig-KEY">``;
* ``figure`` — a :class:`plotly.graph_objects.Figure`, or ``variants`` — ``{value: Figure}``
  with a ``select`` (``{"id", "label", "options": [[value, text]]}``): the web shows one variant
  at a time through that ``<select>`` (entries may share one), the report shows every variant
  (``fig-KEY-VALUE``);
* ``caption`` — what the chart shows, in words (and what its bands are);
* optionally ``heading`` (a section title the web puts before it), ``note``/``note_id`` (a line
  under the heading), ``filter`` (a ``<select>`` filtering points on ``customdata[0]``: the BDM
  perception chart's "perspective of" an actor), ``height`` (pixels).

Every builder uses one colour per name for the whole run (``palette.colors`` of all its actors,
hypotheses or flashpoints), so an actor has the same colour on every chart of the run.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from detente.plotting import figures as F
from detente.plotting import palette as P
from detente.plotting.data import forecast_rows, result_charts, scenario_meta
from detente.plotting.labels import with_code

__all__ = ["slug", "result_figures", "sweep_figures", "crisis_figures", "compare_figures", "compare_crisis_figures",
           "actor_colors"]


def slug(s: Any) -> str:
    """``s`` as an id fragment: runs of other characters than ASCII letters and digits become ``-``."""
    return re.sub(r"[^A-Za-z0-9]+", "-", str(s)).strip("-").lower() or "x"


def actor_colors(result: Mapping[str, Any], scenario: Any = None) -> dict[str, str]:
    """The colour of every actor of a run (from the scenario's actors, else every actor the run
    names in its rounds or initial positions)."""
    if scenario is not None:
        names: list[str] = [a.id for a in scenario.actors]
    else:
        names = []
        for ir in (result.get("issues") or {}).values():
            names += list(ir.get("initial_positions") or {})
            for r in ir.get("rounds") or []:
                names += list(r.get("positions") or {})
    return P.colors(names)


def _bounds(meta: Mapping[str, Mapping[str, Any]], iid: str) -> tuple[float | None, float | None] | None:
    m = meta.get(iid)
    return (m.get("lower"), m.get("upper")) if m else None


def result_figures(result: Mapping[str, Any], scenario: Any = None) -> list[dict[str, Any]]:
    """Figures of one model run (its JSON form): forecasts on each issue's scale, position
    trajectories, BDM perception quadrants, the exchange network."""
    ch = result_charts(result)
    meta = scenario_meta(scenario)
    cols = actor_colors(result, scenario)
    model = f"{result.get('model')}" + (f" ({result['variant']})" if result.get("variant") else "")
    out: list[dict[str, Any]] = []
    rows = forecast_rows(result, meta)
    out.append({"key": "forecast", "figure": F.forecast_figure(rows, f"Forecast per issue — {model}", colors=cols, model=model),
                "caption": ("The forecast (black diamond) on each issue's own scale, between the issue's bounds, with every "
                            "actor's stated position (one colour per actor)." if meta else
                            "The forecast (black diamond) on each issue, with the actors' positions of the first round; "
                            "the issue's bounds are not stored with this run, so the line spans the positions.")})
    for iid, tr in (ch.get("trajectories") or {}).items():
        out.append({"key": f"trajectory-{slug(iid)}", "height": 400,
                    "figure": F.trajectory_figure(iid, tr, _bounds(meta, iid), colors=cols,
                                                  label=(meta.get(iid) or {}).get("label")),
                    "caption": f"Positions of every actor by round on {iid}; black dashed: the capability × salience "
                               "weighted mean of each round, grey dotted: the weighted median."})
    for k, (iid, p) in enumerate((ch.get("perception") or {}).items()):
        out.append({"key": f"perception-{slug(iid)}", "height": 480, "figure": F.perception_figure(iid, p),
                    "heading": "Perceptions (BDM, round 1)" if k == 0 else None,
                    "note": ("Each point is an ordered pair: x = the actor's expected utility of challenging the other, "
                             "y = the other's of challenging the actor, as the actor perceives them.") if k == 0 else None,
                    "filter": {"class": "perception-actor", "label": "perspective of ", "all": "(every actor)",
                               "options": list(dict.fromkeys(a for a in p["actor"] if a is not None))},
                    "caption": f"Perception quadrants on {iid} (Bueno de Mesquita 1994); the legend counts the pairs "
                               "in each quadrant, in the order of the quadrant table."})
    net = ch.get("exchange_network")
    if net and net.get("edges"):
        out.append({"key": "exchange-network", "height": 500, "heading": "Exchange network",
                    "note": f"{net['realized']} exchanges realized in {net['rounds']} rounds; line width = number of "
                            "exchanges between two actors.",
                    "figure": F.exchange_network_figure(net, colors=cols),
                    "caption": "Realized exchanges between actors (Stokman's exchange model)."})
    return out


def _crisis_output_axis(name: str) -> tuple[str, str]:
    """Plain words for a crisis output (title) and its axis label with the unit."""
    from detente.report.labels import output_label

    words = output_label(name)
    unit = "months" if name.startswith("months") else "probability" if name.startswith("p_") else "the output's unit"
    return with_code(words, name), f"{words} ({unit})"


def sweep_figures(ch: Mapping[str, Any], scenario: Any = None, *, crisis_outputs: bool = False) -> list[dict[str, Any]]:
    """Figures of a stored sweep from :func:`detente.report.charts.sweep_charts`: outcome
    distribution per issue, fan charts of positions, sensitivity indices and tornado.
    ``crisis_outputs``: the sensitivity block is a crisis study's, whose outputs are crisis
    outputs (``p_war_horizon``, ``months_of_peace_focal``, …), named in plain words with their unit."""
    meta = scenario_meta(scenario)
    runs = int(ch.get("runs") or 0)
    out: list[dict[str, Any]] = []
    for k, (iss, d) in enumerate((ch.get("distribution") or {}).items()):
        out.append({"key": f"distribution-{slug(iss)}", "height": 340,
                    "heading": f"Outcome distribution ({runs} runs)" if k == 0 else None,
                    "figure": F.distribution_figure(iss, d, runs, _bounds(meta, iss)),
                    "caption": f"Distribution of the forecast on {iss} over the sweep's runs, with its mean, median and "
                               "5 % / 95 % quantiles."})
    fan = ch.get("fan") or {}
    if fan:
        names = [a.id for a in scenario.actors] if scenario is not None else [a for f in fan.values() for a in f]
        cols = P.colors(names)
        for k, (iss, f) in enumerate(fan.items()):
            order = [n for n in names if n in f] + [a for a in f if a not in names]
            out.append({"key": f"fan-{slug(iss)}", "height": 420,
                        "heading": "Fan charts of positions (median, 25–75 %, 5–95 % over runs)" if k == 0 else None,
                        "figure": F.fan_figure(iss, {a: f[a] for a in order}, colors=cols, bounds=_bounds(meta, iss)),
                        "caption": f"Positions by round on {iss}: median over runs with 25–75 % and 5–95 % bands."})
    sens = ch.get("sensitivity")
    if sens:
        first = True
        for iss, rows in (sens.get("indices") or {}).items():
            method = str(sens.get("method"))
            out.append({"key": f"indices-{slug(iss)}", "height": 110 + 34 * max(3, len(rows)),
                        "heading": "Sensitivity" if first else None,
                        "note": f"Tornado: {sens.get('tornado_kind', '')}." if first else None,
                        "figure": F.indices_figure(_crisis_output_axis(iss)[0] if crisis_outputs else iss, rows, method),
                        "caption": f"{method} indices on {iss}."})
            first = False
        for iss, rows in (sens.get("tornado") or {}).items():
            if not rows:
                continue
            out.append({"key": f"tornado-{slug(iss)}", "height": 110 + 30 * max(3, min(len(rows), 15)),
                        "heading": "Sensitivity" if first else None,
                        "note": f"Tornado: {sens.get('tornado_kind', '')}." if first else None,
                        "figure": F.tornado_figure(_crisis_output_axis(iss)[0] if crisis_outputs else iss, rows,
                                                   (sens.get("baseline") or {}).get(iss), str(sens.get("tornado_kind", "")),
                                                   xlabel=_crisis_output_axis(iss)[1] if crisis_outputs else None),
                        "caption": f"Tornado of the forecast on {iss}: {sens.get('tornado_kind', '')}."})
            first = False
    return out


def crisis_figures(ch: Mapping[str, Any], obj: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Figures of a crisis run from :func:`detente.report.charts.crisis_charts` (with
    :func:`~detente.report.charts.add_bands`) and its ``--json`` object: P(war by date) per
    hypothesis, mean hazard per flashpoint and triangle configurations (one hypothesis at a time
    on the web), the partners' tie, the negotiation tracks."""
    hyps = list(ch.get("p_war_by") or {})
    hcols = P.colors(hyps)
    bands = ch.get("bands") or {}
    z = float(bands.get("z") or 2)
    runs = bands.get("runs") or obj.get("runs")
    on = ((obj.get("record") or {}).get("onset") or {}).get("date")
    names = dict(obj.get("flashpoint_names") or {})
    fps = list(dict.fromkeys(f for h in hyps for f in (ch.get("hazard") or {}).get(h) or {}))
    fcols = P.colors(fps)
    hlabels = {h: (ch["p_war_by"][h].get("label") or "") for h in hyps}
    select = {"id": "crisis-hypothesis", "label": "hypothesis ",
              "options": [[h, f"{h} — {hlabels[h]}" if hlabels[h] and hlabels[h] != h else h] for h in hyps]}
    out: list[dict[str, Any]] = [{
        "key": "p-war", "height": 400, "heading": "Cumulative probability of war",
        "note": (f"Shaded bands: Monte Carlo intervals, estimate ±{z:g} SE at {runs} runs per hypothesis "
                 f"({bands.get('method')}).") if bands else None, "note_id": "crisis-bands-note",
        "figure": F.crisis_p_war_figure(ch, colors=hcols),
        "caption": "Cumulative probability of war by date (any flashpoint), per hypothesis"
                   + (f", with its Monte Carlo band (±{z:g} SE)" if bands else "")
                   + (f"; dashed: the observed onset, {on}" if on else "") + "."}]
    hz = {h: F.crisis_hazard_figure(h, ch["hazard"][h], ch.get("events"), names=names, colors=fcols, z=z)
          for h in hyps if (ch.get("hazard") or {}).get(h)}
    if hz:
        out.append({"key": "hazard", "height": 400, "heading": "Hazard curves and strategic triangle",
                    "variants": hz, "select": select,
                    "caption": "Mean monthly hazard per flashpoint. Shaded: " + F.HAZARD_BAND
                               + (f" ({bands.get('hazard')})" if bands.get("hazard") else "") + "."})
    tri_actors = obj.get("triangle_actors")
    tri = {h: F.crisis_triangle_figure(h, t, tri_actors, z=z) for h, t in (ch.get("triangle") or {}).items() if t.get("configs")}
    if tri:
        out.append({"key": "triangle", "height": 380, "variants": tri, "select": select,
                    "caption": "Share of runs in each configuration of the strategic triangle (Dittmer 1981), in plain "
                               "words; the configuration's name is in the tooltip"
                               + (f"; shaded: ±{z:g} SE" if bands else "") + "."})
    al = ch.get("alignment") or {}
    if any((s or {}).get("dates") for s in al.values()):
        pair = list(tri_actors or [])[1:]
        out.append({"key": "alignment", "height": 360, "figure": F.crisis_alignment_figure(al, pair, colors=hcols, z=z),
                    "caption": f"{'–'.join(pair) or 'The partners'} tie over time (mean over runs"
                               + (f", ±{z:g} SE" if bands else "") + ")."})
    ag = {h: F.crisis_agreement_figure(h, b["p_agreement_by"]) for h, b in (obj.get("hypotheses") or {}).items()
          if b.get("p_agreement_by")}
    if ag:
        out.append({"key": "agreement", "height": 360, "variants": ag, "select": select,
                    "caption": "Probability that each negotiation track has reached an agreement by date."})
    return out


def compare_figures(results: Mapping[str, Mapping[str, Any]], scenario: Any = None) -> list[dict[str, Any]]:
    """Several model runs side by side: forecasts on each issue's scale, and the weighted mean by
    round of the models that record rounds."""
    meta = scenario_meta(scenario)
    cols = P.colors(a.id for a in scenario.actors) if scenario is not None else None
    out: list[dict[str, Any]] = [{"key": "compare", "figure": F.compare_forecast_figure(results, meta, colors=cols),
                                  "caption": "Each run's forecast (a black shape per run) on each issue's scale, between "
                                             "the issue's bounds, with every actor's stated position (one colour per actor)."
                                             if meta else "Each run's forecast (a black shape per run) on each issue."}]
    issues = list(dict.fromkeys(i for r in results.values() for i in (r.get("issues") or {})))
    for iid in issues:
        with_rounds = {rid: r for rid, r in results.items() if ((r.get("issues") or {}).get(iid) or {}).get("rounds")}
        if with_rounds:
            out.append({"key": f"compare-rounds-{slug(iid)}", "height": 340,
                        "figure": F.compare_rounds_figure(iid, with_rounds, _bounds(meta, iid),
                                                          symbols={rid: F.run_symbol(j) for j, rid in enumerate(results)}),
                        "caption": f"Weighted mean position by round on {iid}, per run that records rounds."})
    return out


def compare_crisis_figures(rows: Sequence[Mapping[str, Any]], labels: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """Two crisis runs: the difference B − A of each shared output with ±2 SE, per hypothesis."""
    return [{"key": "compare-crisis", "height": 140 + 26 * max(4, len({r["output"] for r in rows})),
             "figure": F.compare_crisis_figure(rows, labels),
             "caption": "Difference B − A of each output the two runs share, ±2 SE, one colour per hypothesis."}]
