"""Self-contained static HTML reports of stored runs (``detente report RUN_ID --format html``).

A report is one HTML file with no external resource: styles, plotly.js and every figure are
inline (the figures are the plotly figures the web UI shows, :mod:`detente.report.figures`,
interactive in the file), so it can be mailed, archived or opened offline. The page is rendered
by the Jinja2 template ``report/templates/report.html``, whose styles (``detente.css``) the web
UI shares. Contents, by kind of run:

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
  timeline, the triangle partners' alignment;
* **crisis sensitivity** (a stored ``crisis_sensitivity`` run): the request, the warnings, the
  indices with their confidence intervals per output, their chart and the tornado.

Nothing here prints.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from detente.errors import InputError, Problem
from detente.report import charts as C
from detente.report import figures as RF
from detente.report.figures import slug

__all__ = ["result_report", "sweep_report", "crisis_report", "crisis_sensitivity_report", "run_report", "file_report", "write_report", "when"]

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
    return str(x)


def _env() -> Any:
    from jinja2 import Environment, PackageLoader, select_autoescape

    return Environment(loader=PackageLoader("detente.report", "templates"), autoescape=select_autoescape(["html"]),
                       keep_trailing_newline=True)


def when(x: Any) -> str:
    """A stored timestamp (ISO 8601) to the second, ``2026-12-06 07:42:17 UTC``; other values as is."""
    if x is None:
        return "–"
    try:
        t = dt.datetime.fromisoformat(str(x))
    except ValueError:
        return str(x)
    if t.tzinfo is not None:
        t = t.astimezone(dt.UTC)
        return t.strftime("%Y-%m-%d %H:%M:%S UTC")
    return t.strftime("%Y-%m-%d %H:%M:%S")


class _Doc:
    """The blocks of a report (sections, paragraphs, tables, figures), rendered by the Jinja2
    template ``report/templates/report.html``; figures are plotly (:mod:`detente.report.figures`),
    inlined as HTML with plotly.js once in the page."""

    def __init__(self, title: str, subtitle: str = ""):
        self.title, self.subtitle = title, subtitle
        self.blocks: list[dict[str, Any]] = []
        self.toc: list[tuple[str, str]] = []
        self.n_figures = 0

    def h2(self, text: str, anchor: str) -> None:
        self.toc.append((anchor, text))
        self.blocks.append({"kind": "h2", "text": text, "anchor": anchor})

    def h3(self, text: str) -> None:
        self.blocks.append({"kind": "h3", "text": text})

    def p(self, text: str, cls: str = "", raw: bool = False) -> None:
        self.blocks.append({"kind": "p", "text": _markup(text) if raw else text, "cls": cls})

    def items(self, items: Iterable[str], raw: bool = False) -> None:
        self.blocks.append({"kind": "list", "items": [_markup(i) if raw else i for i in items]})

    def table(self, head: Sequence[str], rows: Iterable[Sequence[Any]], *, left: int = 1, tid: str = "",
              scroll: bool = False) -> None:
        body = [[_markup(c) if isinstance(c, _Raw) else _f(c) for c in r] for r in rows]
        self.blocks.append({"kind": "table", "head": list(head), "rows": body, "left": left, "tid": tid, "scroll": scroll})

    def figure(self, entry: Mapping[str, Any] | None, variant: str | None = None, caption: str | None = None) -> None:
        """Add one figure entry (:mod:`detente.report.figures`), or one ``variant`` of it."""
        if entry is None:
            return
        from detente.plotting.export import html_fragment

        fig = entry["variants"][variant] if variant is not None else entry["figure"]
        fid = f"fig-{entry['key']}" + (f"-{slug(variant)}" if variant is not None else "")
        self.n_figures += 1
        self.blocks.append({"kind": "figure", "fid": fid, "html": _markup(html_fragment(fig, f"{fid}-plot")),
                            "caption": caption or entry.get("caption", "")})

    def render(self) -> str:
        from detente.plotting.export import plotlyjs

        gen = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        return _env().get_template("report.html").render(
            title=self.title, subtitle=self.subtitle, generated=gen, version=_version(), toc=self.toc,
            blocks=self.blocks, plotlyjs=_markup(plotlyjs()) if self.n_figures else None)


class _Raw(str):
    """Already-escaped cell content."""


def _markup(text: str) -> Any:
    from markupsafe import Markup

    return Markup(text)


def _entries(entries: Sequence[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    return {e["key"]: e for e in entries}


def _version() -> str:
    from detente import __version__

    return __version__


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


def _result_sections(doc: _Doc, d: Mapping[str, Any], scn: Any) -> None:
    ch = C.result_charts(d)
    figs = _entries(RF.result_figures(d, scn))
    doc.h2("Forecasts", "forecasts")
    doc.table(["issue", "forecast", "rounds", "model-specific"],
              [(iid, ir.get("forecast"), len(ir.get("rounds") or []) or "–",
                ", ".join(f"{k}: {v}" for k, v in ir.items() if k in ("stop_reason", "reason", "forecast_sd"))
                or "–") for iid, ir in (d.get("issues") or {}).items()], tid="forecasts")
    doc.figure(figs.get("forecast"))
    if ch.get("trajectories"):
        doc.h2("Position trajectories", "trajectories")
        for iid in ch["trajectories"]:
            doc.figure(figs.get(f"trajectory-{slug(iid)}"))
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
            # the table lists the quadrants in the order of the chart's legend
            order = [q for q in C.QUADRANTS if q in counts] + [q for q in counts if q not in C.QUADRANTS]
            doc.table(["quadrant", "pairs"], [(q, counts[q]) for q in order], tid=f"quadrants-{slug(iid)}")
            doc.figure(figs.get(f"perception-{slug(iid)}"))
    net = ch.get("exchange_network")
    if net:
        doc.h2("Exchange network", "exchange-network")
        doc.p(f"{net['realized']} exchanges realized in {net['rounds']} rounds (Stokman's exchange model). "
              "A line joins two actors that exchanged positions; its width is the number of exchanges.")
        doc.figure(figs.get("exchange-network"))
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
        doc.items(notes)


def _sensitivity_section(doc: _Doc, sens: Mapping[str, Any], figs: Mapping[str, Mapping[str, Any]]) -> None:
    doc.h2("Sensitivity", "sensitivity")
    doc.p(f"Tornado: {sens.get('tornado_kind', '')}.", "muted")
    for iss, rows in (sens.get("indices") or {}).items():
        method = str(sens.get("method"))
        head = ["factor", "S1", "S1 conf", "ST", "ST conf"] if method == "sobol" else ["factor", "mu", "mu*", "mu* conf", "sigma"]
        keys = ["S1", "S1_conf", "ST", "ST_conf"] if method == "sobol" else ["mu", "mu_star", "mu_star_conf", "sigma"]
        doc.h3(f"{method} indices — {iss}")
        doc.table(head, [[r["factor"], *[r.get(k) for k in keys]] for r in rows], tid=f"indices-{slug(iss)}")
        doc.figure(figs.get(f"indices-{slug(iss)}"))
    for iss, rows in (sens.get("tornado") or {}).items():
        if rows:
            doc.figure(figs.get(f"tornado-{slug(iss)}"))


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
        ("date", when(getattr(info, "created", None)) if info is not None else None),
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
    figs = _entries(RF.sweep_figures(ch, scn))
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
        ("status", info.status), ("label", info.label), ("date", when(info.created)),
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
    for iss in dist:
        doc.figure(figs.get(f"distribution-{slug(iss)}"))
    if ch.get("fan"):
        doc.h2("Fan charts", "fan")
        for iss in ch["fan"]:
            doc.figure(figs.get(f"fan-{slug(iss)}"))
    if ch.get("sensitivity"):
        _sensitivity_section(doc, ch["sensitivity"], figs)
    return doc.render()


def _design_text(design: Mapping[str, Any]) -> str:
    kind = design.get("kind")
    keys = {"montecarlo": ("runs",), "lhs": ("runs",), "grid": ("levels",), "table": ("file",),
            "sobol": ("n", "second_order"), "morris": ("n", "morris_levels")}.get(str(kind), ())
    return f"{kind} " + ", ".join(f"{k}={design[k]}" for k in keys if design.get(k) is not None)


def crisis_report(obj: Mapping[str, Any], *, info: Any = None) -> str:
    """HTML report of a crisis ``detente run --json`` object (the flagship report). It opens
    with the Claims section (what the model concludes, in words) before any table."""
    from detente.report.crisis import (
        NO_TRIANGLE,
        backtest_head,
        backtest_rows,
        focal_rows,
        forecast_lines,
        forecast_rows,
        likelihood_rows,
        mechanism_rows,
        no_triangle,
        out_of_sample_blocks,
        output_legend,
        record_lines,
        triangle_glossary,
    )

    ch = C.banded_crisis_charts(obj)
    figs = _entries(RF.crisis_figures(ch, obj))
    hyps = obj.get("hypotheses") or {}
    doc = _Doc(f"{obj.get('scenario')}: crisis report",
               f"{obj.get('runs')} Monte-Carlo runs per hypothesis, root seed {obj.get('seed')}")
    _claims_section(doc, obj)
    _provenance(doc, [
        ("run id", getattr(info, "run_id", None)), ("kind", "crisis"), ("scenario", obj.get("scenario")),
        ("hypotheses", ", ".join(hyps)), ("runs per hypothesis", obj.get("runs")), ("seed", obj.get("seed")),
        ("chunk size", obj.get("chunk_size")), ("start", obj.get("start")), ("back-test end", obj.get("backtest_end")),
        ("record", ((obj.get("record") or {}).get("facts") or "stated in the scenario") if obj.get("record") else "none declared"), ("input hash", getattr(info, "input_hash", None)),
        ("detente version", getattr(info, "version", None) or _version()), ("date", when(getattr(info, "created", None)) if info is not None else None),
    ])
    fhead, frows = focal_rows(dict(obj))
    doc.h2((obj.get("focal") or {}).get("label") or "The focal actor", "months")
    doc.table(fhead[:1] + ["label"] + fhead[1:],
              [r[:1] + [(hyps.get(r[0]) or {}).get("label", "")] + r[1:] for r in frows], left=2, tid="months")
    doc.figure(figs.get("p-war"))
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
    for h in (figs.get("hazard") or {}).get("variants") or {}:
        doc.figure(figs["hazard"], h, f"{figs['hazard']['caption']} Hypothesis {h}.")
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
        for h in (figs.get("triangle") or {}).get("variants") or {}:
            doc.figure(figs["triangle"], h, f"{figs['triangle']['caption']} Hypothesis {h}.")
    doc.figure(figs.get("alignment"))
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
            doc.items([_md_inline(b) for b in bullets], raw=True)
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


def crisis_sensitivity_report(obj: Mapping[str, Any], *, info: Any = None) -> str:
    """HTML report of a crisis sensitivity study (the ``detente sensitivity SCENARIO --json``
    object, e.g. read back from a stored ``crisis_sensitivity`` run): provenance and request,
    the warnings, per output the indices with their confidence intervals and their chart, and
    the one-at-a-time tornado."""
    req = dict(obj.get("request") or {})
    sens = {k: obj.get(k) for k in ("method", "factors", "indices", "tornado", "baseline")}
    sens["tornado_kind"] = ("one at a time: each number at the low and the high end of its assumption range, "
                            "the others at their values")
    figs = _entries(RF.sweep_figures({"sensitivity": sens}))
    name = obj.get("scenario") or getattr(info, "scenario_name", None) or "crisis"
    doc = _Doc(f"{name}: {obj.get('method')} sensitivity",
               f"run {getattr(info, 'run_id', '') or obj.get('run_id') or ''}, {obj.get('points')} points × "
               f"{obj.get('runs_per_point')} runs")
    _provenance(doc, [
        ("run id", getattr(info, "run_id", None) or obj.get("run_id") or None), ("kind", "crisis_sensitivity"),
        ("hypothesis", req.get("hypothesis") or "(base description)"), ("method", obj.get("method")),
        ("sample size", obj.get("sample_size")), ("points", obj.get("points")),
        ("runs per point", obj.get("runs_per_point")), ("tornado runs per point", req.get("tornado_runs")),
        ("seed", req.get("seed")), ("numbers varied", len(obj.get("factors") or [])),
        ("--set", ", ".join(f"{k}={v}" for k, v in (req.get("set") or {}).items()) or None),
        ("confidence level", obj.get("confidence_level")),
        ("detente version", getattr(info, "version", None)), ("input hash", getattr(info, "input_hash", None)),
        ("run key", getattr(info, "key", None)), ("date", when(getattr(info, "created", None)) if info is not None else None),
    ])
    if obj.get("warnings"):
        doc.h2("Warnings", "warnings")
        doc.items(obj["warnings"])
    _sensitivity_section(doc, sens, figs)
    return doc.render()


def run_report(store: Any, ref: str, *, sensitivity: Any = None) -> str:
    """HTML report of any stored run: dispatches on the run's kind (forecast, sweep, crisis,
    crisis sensitivity)."""
    info = store.info(ref)
    if info.kind == "sweep":
        return sweep_report(store, info.run_id, sensitivity=sensitivity)
    if info.kind == "crisis_sensitivity":   # its result is the JSON text of its last part
        from detente.errors import StoreError

        if info.status != "done":
            raise StoreError(f"crisis sensitivity study {info.run_id} is {info.status}: run it again to finish it")
        store.check_parts(info.run_id)
        df = store.read_part(info.run_id, int((info.meta or {})["n_chunks"]) - 1)
        obj = {**json.loads(df["result"].iloc[0]), "scenario": info.scenario_name,
               "request": (info.meta or {}).get("request")}
        return crisis_sensitivity_report(obj, info=info)
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
