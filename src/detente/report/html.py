"""Self-contained static HTML reports of stored runs (``detente report RUN_ID --format html``).

A report is one HTML file with no external resource: styles are inline and every figure is
a matplotlib PNG embedded as a ``data:`` URI, so it can be mailed, archived or opened
offline. Contents, by kind of run:

* **forecast** (a single model run): provenance (model, variant, parameters, seed, detente
  version, input hash, run key, run id, date), the scenario's actor × issue table, the
  forecasts, position trajectories per issue, BDM perception quadrants, the exchange
  model's network of realized exchanges, notes;
* **sweep**: provenance and sweep spec, the scenario, the outcome distribution per issue
  (quantile table and histogram), fan charts of positions (sweeps that traced positions),
  sensitivity (Sobol/Morris indices for sensitivity designs; tornado);
* **crisis** (the ``detente run --json`` object of a crisis scenario, from a file or
  stored with :func:`detente.report.stored.save_crisis`): the 48-months table, back-test,
  counterfactuals, cumulative P(war), hazard curves per flashpoint, strategic-triangle
  timeline, the triangle partners' alignment.

Nothing here prints; figures use matplotlib's Agg canvas.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from detente.errors import InputError, Problem
from detente.report import charts as C
from detente.report import figures as F

__all__ = ["result_report", "sweep_report", "crisis_report", "run_report", "file_report", "write_report"]

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1100px;margin:1.5rem auto;padding:0 1rem;color:#1d2433}
h1{font-size:1.6rem;margin-bottom:.2rem} h2{border-bottom:2px solid #d6dbe6;padding-bottom:.2rem;margin-top:2rem}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0} th,td{border:1px solid #d6dbe6;padding:.2rem .45rem;text-align:right}
th{background:#f2f4f8} td.l,th.l{text-align:left} .muted{color:#667} figure{margin:1rem 0} figcaption{font-size:.85rem;color:#445}
img{max-width:100%} .scroll{max-height:28rem;overflow:auto;border:1px solid #eee} code{background:#f2f4f8;padding:0 .2rem}
nav a{margin-right:.8rem} .bad{color:#a11;font-weight:600}
"""


def _e(x: Any) -> str:
    return html.escape("" if x is None else str(x), quote=True)


def _f(x: Any, nd: int = 4) -> str:
    if x is None:
        return "–"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, (int,)) and not isinstance(x, bool):
        return str(x)
    if isinstance(x, float):
        return f"{x:.{nd}g}"
    return _e(x)


class _Doc:
    """A small HTML builder: sections, tables, embedded figures."""

    def __init__(self, title: str, subtitle: str = ""):
        self.title, self.subtitle = title, subtitle
        self.parts: list[str] = []
        self.toc: list[tuple[str, str]] = []
        self.n_figures = 0

    def h2(self, text: str, anchor: str) -> None:
        self.toc.append((anchor, text))
        self.parts.append(f'<h2 id="{_e(anchor)}">{_e(text)}</h2>')

    def h3(self, text: str) -> None:
        self.parts.append(f"<h3>{_e(text)}</h3>")

    def p(self, text: str, cls: str = "", raw: bool = False) -> None:
        self.parts.append(f'<p{f" class={chr(34)}{cls}{chr(34)}" if cls else ""}>{text if raw else _e(text)}</p>')

    def table(self, head: Sequence[str], rows: Iterable[Sequence[Any]], *, left: int = 1, tid: str = "",
              scroll: bool = False) -> None:
        h = "".join(f'<th class="l">{_e(c)}</th>' if k < left else f"<th>{_e(c)}</th>" for k, c in enumerate(head))
        body = []
        for r in rows:
            body.append("<tr>" + "".join(
                f'<td class="l">{c if isinstance(c, _Raw) else _f(c)}</td>' if k < left else
                f"<td>{c if isinstance(c, _Raw) else _f(c)}</td>" for k, c in enumerate(r)) + "</tr>")
        t = f'<table{f" id={chr(34)}{tid}{chr(34)}" if tid else ""}><tr>{h}</tr>{"".join(body)}</table>'
        self.parts.append(f'<div class="scroll">{t}</div>' if scroll else t)

    def figure(self, make: Callable[[], Any], caption: str, fid: str) -> None:
        fig = make()
        data = F.to_png_base64(fig)
        self.n_figures += 1
        self.parts.append(f'<figure id="{_e(fid)}" class="figure"><img alt="{_e(caption)}" '
                          f'src="data:image/png;base64,{data}"><figcaption>{_e(caption)}</figcaption></figure>')

    def render(self) -> str:
        toc = " ".join(f'<a href="#{_e(a)}">{_e(t)}</a>' for a, t in self.toc)
        gen = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                f"<title>{_e(self.title)} — detente report</title>"
                '<meta name="viewport" content="width=device-width, initial-scale=1">'
                f'<meta name="generator" content="detente {_e(_version())}">'
                f"<style>{_STYLE}</style></head><body>"
                f"<h1>{_e(self.title)}</h1><p class=\"muted\">{_e(self.subtitle)} · report generated {gen} "
                f"by detente {_e(_version())}</p><nav>{toc}</nav>" + "\n".join(self.parts) + "</body></html>\n")


class _Raw(str):
    """Already-escaped cell content."""


def _version() -> str:
    from detente import __version__

    return __version__


def _slug(s: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in str(s)).strip("-").lower() or "x"


# --------------------------------------------------------------------------- pieces


def _provenance(doc: _Doc, rows: list[tuple[str, Any]]) -> None:
    doc.h2("Provenance", "provenance")
    doc.table(["", "value"], [(k, _Raw(f"<code>{_e(v)}</code>") if k in ("params", "input hash", "run key", "spec")
                               else v) for k, v in rows if v is not None], left=2, tid="provenance")


def _scenario_section(doc: _Doc, scn: Any) -> None:
    doc.h2("Inputs", "inputs")
    if scn is None:
        doc.p("The scenario was not stored with this run.", "muted")
        return
    doc.p(f"{scn.name}: {len(scn.actors)} actors, {len(scn.issues)} issues, {len(scn.stances)} stances; "
          f"salience scale {scn.salience_scale}." + (f" {scn.description}" if scn.description else ""))
    doc.table(["issue", "label", "lower", "upper"], [(i.id, i.label, i.lower, i.upper) for i in scn.issues], left=2)
    by = {(s.actor, s.issue): s for s in scn.stances}
    rows = []
    for a in scn.actors:
        cells: list[Any] = [a.label if a.label != a.id else a.id, a.capability]
        for i in scn.issues:
            s = by.get((a.id, i.id))
            cells.append("–" if s is None else _Raw(f"{_f(s.position)} / {_f(s.salience)}"))
        rows.append(cells)
    doc.p("Position / salience per actor and issue.", "muted")
    doc.table(["actor", "capability"] + [i.id for i in scn.issues], rows, tid="scenario-table", scroll=len(rows) > 30)


def _bounds(scn: Any, iid: str) -> tuple[float, float] | None:
    if scn is None:
        return None
    try:
        i = scn.issue(iid)
        return (i.lower, i.upper)
    except Exception:  # noqa: BLE001
        return None


def _result_sections(doc: _Doc, d: Mapping[str, Any], scn: Any) -> None:
    ch = C.result_charts(d)
    doc.h2("Forecasts", "forecasts")
    doc.table(["issue", "forecast", "rounds", "model-specific"],
              [(iid, ir.get("forecast"), len(ir.get("rounds") or []) or "–",
                ", ".join(f"{k}: {v}" for k, v in ir.items() if k in ("stop_reason", "reason", "forecast_sd"))
                or "–") for iid, ir in (d.get("issues") or {}).items()], tid="forecasts")
    if len(ch["forecasts"]) > 1:
        doc.figure(lambda: F.forecast_figure(ch["forecasts"], f"Forecast per issue ({d.get('model')})"),
                   "Forecast per issue", "fig-forecast")
    if ch.get("trajectories"):
        doc.h2("Position trajectories", "trajectories")
        for iid, tr in ch["trajectories"].items():
            doc.figure(lambda iid=iid, tr=tr: F.trajectory_figure(iid, tr, _bounds(scn, iid)),
                       f"Positions of every actor by round on {iid}; dashed: capability × salience weighted mean.",
                       f"fig-trajectory-{_slug(iid)}")
    if ch.get("perception"):
        doc.h2("Perceptions (BDM)", "perception")
        doc.p("Each point is an ordered pair (actor, other) in round 1: x is the actor's expected utility of "
              "challenging the other, y the other's expected utility of challenging the actor, both as the actor "
              "perceives them (Bueno de Mesquita 1994). Quadrants: conflict (both positive), compromise / "
              "capitulation (one side negative), stalemate (both negative).")
        for iid, p in ch["perception"].items():
            counts: dict[str, int] = {}
            for q in p["quadrants"]:
                counts[q] = counts.get(q, 0) + 1
            doc.table(["quadrant", "pairs"], sorted(counts.items(), key=lambda kv: -kv[1]))
            doc.figure(lambda iid=iid, p=p: F.perception_figure(iid, p), f"Perception quadrants on {iid}",
                       f"fig-perception-{_slug(iid)}")
    net = ch.get("exchange_network")
    if net:
        doc.h2("Exchange network", "exchange-network")
        doc.p(f"{net['realized']} exchanges realized in {net['rounds']} rounds (Stokman's exchange model). "
              "A line joins two actors that exchanged positions; its width is the number of exchanges.")
        if net["edges"]:
            doc.figure(lambda: F.exchange_network_figure(net), "Realized exchanges between actors",
                       "fig-exchange-network")
        doc.table(["actor", "other", "exchanges", "summed gain", "issue pairs", "rounds"],
                  [(e["source"], e["target"], e["count"], e["gain"], ", ".join(e["issues"]),
                    ", ".join(str(r) for r in e["rounds"])) for e in net["edges"]], left=2, tid="exchanges",
                  scroll=len(net["edges"]) > 30)
    extra = d.get("extra") or {}
    ens = extra.get("ensemble")
    if ens:
        doc.p(f"Seed ensemble of {ens.get('members')} members; forecasts are ensemble means.", "muted")


def _notes(doc: _Doc, notes: Sequence[str]) -> None:
    if notes:
        doc.h2("Notes", "notes")
        doc.parts.append("<ul>" + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>")


def _sensitivity_section(doc: _Doc, sens: Mapping[str, Any]) -> None:
    doc.h2("Sensitivity", "sensitivity")
    doc.p(f"Tornado: {sens.get('tornado_kind', '')}.", "muted")
    for iss, rows in (sens.get("indices") or {}).items():
        method = str(sens.get("method"))
        head = ["factor", "S1", "S1 conf", "ST", "ST conf"] if method == "sobol" else ["factor", "mu", "mu*", "mu* conf", "sigma"]
        keys = ["S1", "S1_conf", "ST", "ST_conf"] if method == "sobol" else ["mu", "mu_star", "mu_star_conf", "sigma"]
        doc.h3(f"{method} indices — {iss}")
        doc.table(head, [[r["factor"], *[r.get(k) for k in keys]] for r in rows], tid=f"indices-{_slug(iss)}")
        doc.figure(lambda iss=iss, rows=rows, method=method: F.indices_figure(iss, rows, method),
                   f"{method} indices on {iss}", f"fig-indices-{_slug(iss)}")
    for iss, rows in (sens.get("tornado") or {}).items():
        if not rows:
            continue
        doc.figure(lambda iss=iss, rows=rows: F.tornado_figure(iss, rows, (sens.get("baseline") or {}).get(iss),
                                                               str(sens.get("tornado_kind", ""))),
                   f"Tornado of the forecast on {iss}", f"fig-tornado-{_slug(iss)}")


# --------------------------------------------------------------------------- reports


def result_report(result: Any, *, scenario: Any = None, info: Any = None) -> str:
    """HTML report of one model run (a ``RunResult`` or its JSON form)."""
    d = result.to_json_dict() if hasattr(result, "to_json_dict") else dict(result)
    title = f"{d.get('model')}" + (f" ({d['variant']})" if d.get("variant") else "")
    name = getattr(scenario, "name", None) or (getattr(info, "scenario_name", None) if info is not None else None)
    doc = _Doc(f"{name or 'Run'}: {title}", f"run {getattr(info, 'run_id', None) or str(d.get('run_key', ''))[:12]}")
    _provenance(doc, [
        ("run id", getattr(info, "run_id", None) or d.get("run_id")), ("kind", getattr(info, "kind", "forecast")),
        ("model", d.get("model")), ("variant", d.get("variant") or "–"),
        ("params", json.dumps(d.get("params") or {}, sort_keys=True)), ("seed", d.get("seed")),
        ("detente version", d.get("version")), ("input hash", d.get("input_hash")), ("run key", d.get("run_key")),
        ("scenario", name), ("label", getattr(info, "label", None)),
        ("date", getattr(info, "created", None)),
    ])
    _scenario_section(doc, scenario)
    _result_sections(doc, d, scenario)
    _notes(doc, d.get("notes") or [])
    return doc.render()


def sweep_report(store: Any, ref: str, *, sensitivity: Any = None) -> str:
    """HTML report of a stored sweep (outcome distributions, fan charts, sensitivity).

    ``sensitivity`` (a ``SensitivityResult`` of this sweep) replaces the conditional-means
    tornado by the exact one-at-a-time tornado it carries.
    """
    info = store.info(ref)
    scn = store.scenario(info.run_id)
    ch = C.sweep_charts(store, info.run_id)
    if sensitivity is not None:
        ch["sensitivity"] = C.sensitivity_charts(sensitivity)
    spec = (info.meta or {}).get("spec") or {}
    design = spec.get("design") or {}
    doc = _Doc(f"{info.scenario_name or 'Sweep'}: {info.model} sweep {info.label or ''}".strip(),
               f"run {info.run_id}, {ch.get('runs', 0)} runs")
    _provenance(doc, [
        ("run id", info.run_id), ("kind", info.kind), ("model", info.model), ("variant", info.variant or "–"),
        ("params", json.dumps(dict(info.params), sort_keys=True)), ("seed", info.seed),
        ("design", _design_text(design)),
        ("runs", ch.get("runs")), ("chunk size", (info.meta or {}).get("chunk_size")),
        ("chunks", (info.meta or {}).get("n_chunks")), ("trace", spec.get("trace")),
        ("factors", ", ".join((info.meta or {}).get("columns") or []) or "–"),
        ("detente version", info.version), ("input hash", info.input_hash), ("run key", info.key),
        ("status", info.status), ("label", info.label), ("date", info.created),
    ])
    _scenario_section(doc, scn)
    doc.h2("Outcome distribution", "distribution")
    dist = ch.get("distribution") or {}
    if not dist:
        doc.p("The sweep has no stored parts yet.", "muted")
    doc.table(["issue", "runs", "mean", "sd", "5 %", "25 %", "median", "75 %", "95 %"],
              [(iss, d["summary"].get("n"), d["summary"].get("mean"), d["summary"].get("sd"), d["summary"].get("q05"),
                d["summary"].get("q25"), d["summary"].get("median"), d["summary"].get("q75"), d["summary"].get("q95"))
               for iss, d in dist.items()], tid="distribution")
    for iss, d in dist.items():
        doc.figure(lambda iss=iss, d=d: F.distribution_figure(iss, d, ch.get("runs", 0)),
                   f"Distribution of the forecast on {iss} over the sweep's runs", f"fig-distribution-{_slug(iss)}")
    if ch.get("fan"):
        doc.h2("Fan charts", "fan")
        for iss, fan in ch["fan"].items():
            doc.figure(lambda iss=iss, fan=fan: F.fan_figure(iss, fan),
                       f"Positions by round on {iss}: median over runs with 25–75 % and 5–95 % bands",
                       f"fig-fan-{_slug(iss)}")
    if ch.get("sensitivity"):
        _sensitivity_section(doc, ch["sensitivity"])
    return doc.render()


def _design_text(design: Mapping[str, Any]) -> str:
    kind = design.get("kind")
    keys = {"montecarlo": ("runs",), "lhs": ("runs",), "grid": ("levels",), "table": ("file",),
            "sobol": ("n", "second_order"), "morris": ("n", "morris_levels")}.get(str(kind), ())
    return f"{kind} " + ", ".join(f"{k}={design[k]}" for k in keys if design.get(k) is not None)


def crisis_report(obj: Mapping[str, Any], *, info: Any = None) -> str:
    """HTML report of a crisis ``detente run --json`` object (the flagship report). It opens
    with the Claims section (what the model concludes, in words) before any table."""
    from detente.report.crisis import (backtest_head, backtest_rows, focal_rows, forecast_lines, forecast_rows,
                                       likelihood_rows, mechanism_rows, out_of_sample_blocks,
                                       output_legend, record_lines, triangle_glossary, NO_TRIANGLE, no_triangle)

    ch = C.crisis_charts(obj)
    hyps = obj.get("hypotheses") or {}
    doc = _Doc(f"{obj.get('scenario')}: crisis report",
               f"{obj.get('runs')} Monte-Carlo runs per hypothesis, root seed {obj.get('seed')}")
    _claims_section(doc, obj)
    _provenance(doc, [
        ("run id", getattr(info, "run_id", None)), ("kind", "crisis"), ("scenario", obj.get("scenario")),
        ("hypotheses", ", ".join(hyps)), ("runs per hypothesis", obj.get("runs")), ("seed", obj.get("seed")),
        ("chunk size", obj.get("chunk_size")), ("start", obj.get("start")), ("back-test end", obj.get("backtest_end")),
        ("record", ((obj.get("record") or {}).get("facts") or "stated in the scenario") if obj.get("record") else "none declared"), ("input hash", getattr(info, "input_hash", None)),
        ("detente version", getattr(info, "version", None) or _version()), ("date", getattr(info, "created", None)),
    ])
    end = obj.get("backtest_end")   # the end of the scenario's record window (None: no record)
    fhead, frows = focal_rows(dict(obj))
    doc.h2((obj.get("focal") or {}).get("label") or "The focal actor", "months")
    doc.table(fhead[:1] + ["label"] + fhead[1:],
              [r[:1] + [(hyps.get(r[0]) or {}).get("label", "")] + r[1:] for r in frows], left=2, tid="months")
    on = ((obj.get("record") or {}).get("onset") or {}).get("date")
    doc.figure(lambda: F.crisis_p_war_figure(ch), "Cumulative probability of war by date, per hypothesis"
               + (f" (dashed: the observed onset, {on})" if on else ""), "fig-p-war")
    doc.h2("Back-test", "backtest")
    rec_md = record_lines(dict(obj))[2:]
    for ln in rec_md:
        if ln and not ln.startswith("|"):
            doc.p(_md_inline(ln), raw=True)
    if obj.get("likelihood_table"):
        doc.table(["hypothesis", "P(record) ± SE", "log L ± SE", f"log BF vs {obj.get('reference')} ± SE",
                   "interval", "verdict"], [[c.replace("**", "") for c in r] for r in likelihood_rows(dict(obj))],
                  tid="likelihood")
        doc.table(backtest_head(dict(obj)), [[c.replace("**", "") for c in r] for r in backtest_rows(dict(obj))],
                  tid="backtest")
    if obj.get("forecast_path"):
        fl = forecast_lines(dict(obj))
        doc.h2(fl[0][3:], "forecast-path")
        for ln in fl[2:]:
            if ln and not ln.startswith("|"):
                doc.p(_md_inline(ln), raw=True)
        doc.table(["as of", "state", "model P ± SE", "model Brier", "crowd", "crowd Brier"], forecast_rows(dict(obj)),
                  left=2, tid="forecast-path")
    for k_blk, blk in enumerate(out_of_sample_blocks(dict(obj))):   # hypotheses from frozen fits (`history`)
        if blk[0] == "h2":
            doc.h2(blk[1], "out-of-sample")
        elif blk[0] == "p":
            doc.p(_md_inline(blk[1]), raw=True)
        else:
            doc.table(blk[1], blk[2], left=2, tid=f"out-of-sample-{k_blk}")
    doc.h2("Hazard curves", "hazard")
    for h, hz in ch["hazard"].items():
        if hz:
            doc.figure(lambda h=h, hz=hz: F.crisis_hazard_figure(h, hz, ch.get("events")),
                       f"Monthly hazard per flashpoint (mean, 10–90 % band) — {h}", f"fig-hazard-{_slug(h)}")
    doc.h2("Where it breaks and who starts it", "where")
    doc.table(["hypothesis", "first war at", "initiators", "causes"],
              [(h, ", ".join(f"{k} {v:.2f}" for k, v in (b.get("locations") or {}).items()) or "–",
                ", ".join(f"{k} {v:.2f}" for k, v in sorted((b.get("initiators") or {}).items(), key=lambda kv: -kv[1])) or "–",
                ", ".join(f"{k} {v:.2f}" for k, v in (b.get("causes") or {}).items() if v > 0) or "–")
               for h, b in hyps.items()], left=4)
    mrows = mechanism_rows(dict(obj))
    cf_rows = []
    for h, b in hyps.items():
        for name in ("stalling", "seesaw"):
            c = (b.get("counterfactuals") or {}).get(name)
            if c:
                se = c.get("months_gained_se")
                cf_rows.append((h, name, c.get("months_of_peace_ru_48_with"), c.get("months_of_peace_ru_48_without"),
                                _Raw(_e(f"{c.get('months_gained'):+.2f}" + (f" ± {se:.2f}" if se is not None else ""))),
                                c.get("p_ru_cn_split_48_with"), c.get("p_ru_cn_split_48_without")))
    if mrows or cf_rows:
        doc.h2("Counterfactuals: the mechanism map", "counterfactuals")
    if mrows:
        doc.p("Each mechanism switched off on top of each hypothesis with the same seed and number of runs (common "
              "random numbers). Effects are with minus without ± the paired standard error (SE of the mean of the "
              "per-run differences); an effect counts beyond 2 SE. A mechanism within 2 SE of zero on every headline "
              "output is inert, and the last column says why.", "muted")
        doc.p("Outputs: " + "; ".join(f"{k} = {v}" for k, v in output_legend(dict(obj))) + ".", "muted")
        doc.table(["hypothesis", "mechanism", "what it is", "switch (off)", "Δ P(war within horizon)",
                   "Δ months of peace", "headline outputs it moves (> 2 SE)", "inert because"],
                  [[c.strip("`") for c in r] for r in mrows], left=8, tid="mechanisms", scroll=True)
    tri_cols = not no_triangle(dict(obj))   # without a triangle there is no split to report
    if cf_rows:
        doc.p("Policy counterfactuals (the policy's enabled switch), common random numbers.", "muted")
        doc.table(["hypothesis", "policy", "months of peace with", "without", "months gained ± paired SE",
                   *(("P(split) with", "without") if tri_cols else ())],
                  [r if tri_cols else r[:-2] for r in cf_rows], left=2, tid="policy-counterfactuals")
    if not tri_cols:
        doc.p(NO_TRIANGLE, "muted")
    if any(t["configs"] for t in ch["triangle"].values()):
        doc.h2("Strategic triangle", "triangle")
        gl = triangle_glossary(obj.get("triangle_actors"))
        if gl:
            doc.p("Configurations (a tie above 0 counts as friendly): "
                  + "; ".join(f"{k}: {v}" for k, v in gl) + ".", "muted")
        for h, tri in ch["triangle"].items():
            if tri["configs"]:
                doc.figure(lambda h=h, tri=tri: F.crisis_triangle_figure(h, tri),
                           f"Share of runs in each configuration of the strategic triangle — {h}",
                           f"fig-triangle-{_slug(h)}")
    if any(a["dates"] for a in ch["alignment"].values()):
        pair = (obj.get("triangle_actors") or [])[1:]
        doc.figure(lambda: F.crisis_alignment_figure(ch["alignment"], pair), f"{'–'.join(pair)} tie over time (mean over runs)",
                   "fig-alignment")
    _notes(doc, sorted({n for b in hyps.values() for n in b.get("notes", [])}))
    return doc.render()


def _claims_section(doc: _Doc, obj: Mapping[str, Any]) -> None:
    """Claims, in words, first: the same content as the markdown report's Claims section."""
    from detente.report.crisis import claims_lines

    doc.h2("Claims: what the model concludes", "claims")
    lines = claims_lines(dict(obj))[2:]
    bullets: list[str] = []

    def flush() -> None:
        if bullets:
            doc.parts.append("<ul>" + "".join(f"<li>{_md_inline(b)}</li>" for b in bullets) + "</ul>")
            bullets.clear()

    for ln in lines:
        if ln.startswith("* "):
            bullets.append(ln[2:])
            continue
        flush()
        if ln.startswith("### "):
            doc.h3(ln[4:])
        elif ln.strip():
            doc.p(_md_inline(ln), raw=True)
    flush()


def _md_inline(text: str) -> str:
    """Escape, then render the markdown emphasis used by the claims text (**bold**, *italic*, `code`)."""
    import re

    t = _e(text)
    t = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", t)
    t = re.sub(r"(?<![*\w])\*(?!\s)(.+?)(?<!\s)\*(?![*\w])", r"<em>\1</em>", t)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", t)


def run_report(store: Any, ref: str, *, sensitivity: Any = None) -> str:
    """HTML report of any stored run: dispatches on the run's kind (forecast, sweep, crisis)."""
    info = store.info(ref)
    if info.kind == "sweep":
        return sweep_report(store, info.run_id, sensitivity=sensitivity)
    if info.kind == "crisis":
        from detente.report.stored import load_crisis

        return crisis_report(load_crisis(store, info.run_id), info=info)
    return result_report(store.get(info.run_id), scenario=store.scenario(info.run_id), info=info)


def file_report(path: str | Path) -> str:
    """HTML report of a JSON file: a crisis ``detente run --json`` object or a
    ``detente forecast --json`` object."""
    from detente.errors import InputError, Problem

    p = Path(path)
    try:
        obj = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(Problem(f"cannot read the JSON file: {exc}", file=str(p))) from None
    if isinstance(obj, dict) and "hypotheses" in obj and "scenario" in obj:
        return crisis_report(obj)
    if isinstance(obj, dict) and "model" in obj and "issues" in obj:
        return result_report(obj)
    raise InputError(Problem("not a detente result", file=str(p),
                             expected="the output of `detente run --json` or `detente forecast --json`"))


def write_report(text: str, path: str | Path) -> Path:
    """Write a report atomically (temporary file + rename); return the path."""
    p = Path(path)
    tmp = p.with_name(f".{p.name}.tmp")
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(p)
    except OSError as exc:  # unwritable path, a directory, disk full: the user's --out, not a bug
        if tmp.is_file():
            tmp.unlink()
        raise InputError(Problem(f"cannot write: {exc.strerror or exc}", file=str(p), column="--out",
                                 expected="a writable file path")) from None
    return p
