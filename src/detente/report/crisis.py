"""The crisis report: markdown with PNG figures (plotly through kaleido) for a :func:`run_hypotheses` object.

:func:`write_report` takes the ``detente run --json`` object (plus, optionally, the
:class:`~detente.crisis.result.CrisisResult` objects for richer figures) and writes
``<out_dir>/<scenario>.md`` with PNG figures next to it. It never prints.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from detente.report.labels import output_label

__all__ = ["NO_TRIANGLE", "no_triangle", "write_report", "backtest_rows", "event_label", "forecast_lines", "forecast_rows", "likelihood_rows", "focal_rows", "claims_lines", "mechanism_rows", "triangle_glossary", "output_label",
           "output_legend"]


def event_label(key: str, obj: dict[str, Any] | None = None) -> str:
    """Plain words for a scored event key (``war_<actor>``, ``war_at_<flashpoint>``,
    ``initiator_<actor>``, ``[no_]<a>_<b>_split``, ``[no_]agreement_<track>``,
    ``[no_]rung_<flashpoint>_<R>_by_<date>``), from the run's own actors and flashpoints."""
    names = (obj or {}).get("flashpoint_names") or {}
    tri = [a.upper() for a in ((obj or {}).get("triangle_actors") or [])]
    if key.startswith("war_at_"):
        f = key[len("war_at_"):]
        return f"war at {names.get(f, f)}"
    if key.startswith("initiator_"):
        return f"war initiated by {key[len('initiator_'):]}"
    if key.startswith(("rung_", "no_rung_")) and "_by_" in key:
        neg = key.startswith("no_")
        fr, by = key[len("no_rung_" if neg else "rung_"):].rsplit("_by_", 1)
        f, r = fr.rsplit("_", 1)
        return f"{names.get(f, f)} {'did not reach' if neg else 'reached'} rung {r} by {by}"
    if key.startswith("no_agreement_"):
        return f"no agreement on {key[len('no_agreement_'):]}"
    if key.startswith("agreement_"):
        return f"agreement on {key[len('agreement_'):]}"
    if key.endswith("_split"):
        neg = key.startswith("no_")
        pair = key[3 if neg else 0:-len("_split")].upper().split("_")
        if len(tri) == 3 and len(pair) != 2:
            pair = tri[1:]
        return ("no " if neg else "") + "–".join(pair) + " split"
    if key.startswith("war_"):
        return f"war involving {key[len('war_'):].upper()}"
    return key


#: The report's one line for a scenario that declares no triangle (its triangle outputs are null).
NO_TRIANGLE = ("The scenario declares no triangle: no alignment, leaks, seesaw, split or triangle configuration "
               "is simulated, and contests use no alignment support.")


def no_triangle(obj: dict[str, Any]) -> bool:
    """Whether the result object comes from a scenario without a triangle (``triangle_actors`` null)."""
    return "triangle_actors" in obj and obj["triangle_actors"] is None


def _fmt(x: Any, nd: int = 3) -> str:
    if x is None:
        return "–"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float):
        return f"{x:.{nd}f}"
    return str(x)


def _event_keys(obj: dict[str, Any]) -> list[str]:
    first = next((b.get("backtest") for b in (obj.get("hypotheses") or {}).values() if b.get("backtest")), None) or {}
    return list(first.get("events") or [])


def backtest_head(obj: dict[str, Any]) -> list[str]:
    """Header of the per-event table (the scenario's own events)."""
    return ["hypothesis", "Brier", "log score"] + [event_label(e, obj) for e in _event_keys(obj)] + ["verdict"]


def backtest_rows(obj: dict[str, Any]) -> list[list[str]]:
    """Rows of the per-event table (hypothesis, Brier, log score, the probability of each scored
    event by the window's end, the likelihood verdict)."""
    rows = []
    keys = _event_keys(obj)
    hyps = obj.get("hypotheses") or {}
    for r in obj.get("backtest_table", []):
        h = r["hypothesis"]
        v = ((hyps.get(h) or {}).get("backtest") or {}).get("verdict") or ("rejected" if r["rejected"] else "kept")
        rows.append([h, _fmt(r["brier"]), _fmt(r["log_score"])] + [_fmt(r.get(f"p_{e}")) for e in keys]
                    + ["**rejected**" if v == "rejected" else v])
    return rows


def _sci(x: Any, nd: int = 4) -> str:
    return "–" if x is None else (f"{x:.{nd}f}" if x >= 10 ** -nd or x == 0 else f"{x:.2e}")


def likelihood_rows(obj: dict[str, Any]) -> list[list[str]]:
    """Rows of the likelihood table: P(record) ± SE (hits), log L ± SE, log BF ± SE, its
    interval, verdict."""
    rows = []
    for r in obj.get("likelihood_table") or []:
        lo, hi = (r.get("log_lr_interval") or [None, None])
        p = f"{_sci(r['p_record'])} ± {_sci(r['p_record_se'])} ({r['hits']} runs)"
        if r.get("log_likelihood") is None:
            ll = f"< {math.log(r['p_record_upper']):.2f} (P < {_sci(r['p_record_upper'])}, 95 %)"
        else:
            ll = f"{r['log_likelihood']:.2f} ± {r['log_likelihood_se']:.2f}"
        lr = "0 (reference)" if r["verdict"] == "reference" else (
            f"{r['log_lr']:+.2f} ± {r['log_lr_se']:.2f}" if r.get("log_lr") is not None else "–")
        iv = "–" if r["verdict"] == "reference" else (f"[{'−∞' if lo is None else f'{lo:+.2f}'}, "
                                                        f"{'+∞' if hi is None else f'{hi:+.2f}'}]")
        rows.append([r["hypothesis"], p, ll, lr, iv, "**rejected**" if r["verdict"] == "rejected" else r["verdict"]])
    return rows


def focal_rows(obj: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """The focal actor's table (header and rows), labelled from the scenario's record."""
    f = obj.get("focal") or {}
    a, m = f.get("actor", "?"), f.get("horizon_months", obj.get("horizon_months"))
    end = obj.get("backtest_end")
    first_h: dict[str, Any] = next(iter((obj.get("hypotheses") or {}).values()), {})
    dates = list(first_h.get("p_war_by") or {})
    shown = end if end in dates or not end else next((d for d in reversed(dates) if d <= end), end)
    head = ["hypothesis"] + ([f"P(war by {shown})"] if end else []) + [f"P(war within {m} months)",
                                                                    f"P(no war involving {a}, {m} months)",
                                                                    f"E[months of peace for {a}, ≤ {m}]"]
    rows = []
    for h, b in (obj.get("hypotheses") or {}).items():
        pw = b.get("p_war_by") or {}
        fb = b.get("focal") or {}
        last = list(pw.values())[min(int(m), len(pw)) - 1] if pw and m else None
        at_end = pw.get(end) if end in pw else next((pw[d] for d in reversed(list(pw)) if end and d <= end), None)
        rows.append([h] + ([_fmt(at_end)] if end else []) + [_fmt(last), _fmt(fb.get("p_no_war")),
                                                                    _fmt(fb.get("months_of_peace"), 1)])
    unc = [b.get("uncertainty") for b in (obj.get("hypotheses") or {}).values()]
    if any(unc):   # `run --draw-assumptions`: both intervals of the two headline outputs
        lev = next(u for u in unc if u)["level"]
        for o, nd, what in (("p_war_by_end", 3, f"P(war by {end})"), ("months_of_peace_focal", 1, f"months of peace for {a}")):
            if not any(o in ((u or {}).get("outputs") or {}) for u in unc):
                continue
            head += [f"{what}: MC 95%", f"{what}: parameters {lev:.0%}"]
            for r, u in zip(rows, unc):
                x = ((u or {}).get("outputs") or {}).get(o)
                r += [f"[{_fmt(x['mc_interval'][0], nd)}, {_fmt(x['mc_interval'][1], nd)}]" if x else "–",
                      f"[{_fmt(x['param_interval'][0], nd)}, {_fmt(x['param_interval'][1], nd)}]" if x else "–"]
    return head, rows


def _pm(q: Any, se: Any, nd: int = 3) -> str:
    if q is None:
        return "–"
    return f"{q:+.{nd}f} ± {se:.{nd}f}" if se is not None else f"{q:+.{nd}f}"


def _val(q: Any, se: Any, nd: int = 3) -> str:
    if q is None:
        return "–"
    return f"{q:.{nd}f} ± {se:.{nd}f}" if se is not None else f"{q:.{nd}f}"


def claims_lines(obj: dict[str, Any]) -> list[str]:
    """The Claims section (markdown): each claim as a proposition, what each hypothesis implies
    for it (quantities ± their Monte-Carlo standard error), what the record says, and the verdict."""
    focal = obj.get("focal_actor") or "the focal actor"
    end = obj.get("backtest_end") or "the back-test end"
    hz = obj.get("horizon_months")
    claims = obj.get("claims") or []
    L = ["## Claims: what the model concludes", ""]
    if "claims" not in obj:
        L += ["This run object carries no claims (it was made before claims were evaluated); the tables below "
              "give the numbers.", ""]
        return L
    if not claims:
        L += ["The scenario declares no claims (a `claims:` list in its dynamics), so the report cannot state a "
              "verdict in words; the tables below give the numbers.", ""]
        return L
    L += ["Each claim of the source is a proposition tested under every hypothesis. A test compares a quantity "
          "— an output, or a mechanism's effect on it (with the mechanism minus without it, same random numbers) — "
          "with a threshold: **supported** when the quantity ± 2 standard errors lies on the claimed side, "
          "**contradicted** when it lies on the other side, **undecided** when the Monte-Carlo error spans the "
          "threshold. The claim's verdict under a hypothesis is contradicted if any test is, supported if all are.", ""]
    rejected = set(obj.get("rejected_by_record") or [])
    for i, c in enumerate(claims, 1):
        L += [f"### {i}. {c['text'].strip()}", ""]
        rej = sorted(rejected & set(c["by_hypothesis"]))
        L += [f"**Verdict:** {c['summary']}." + (f" (The record rejects {', '.join(rej)}.)" if rej else ""), ""]
        for h, r in c["by_hypothesis"].items():
            parts = []
            for t in r["tests"]:
                what = output_label(t["output"], focal, end, hz)
                if t["mechanism"]:
                    what = f"effect of {t['mechanism']} on {what}"
                if t.get("quantity") is None:
                    parts.append(f"{what}: not evaluated ({t.get('why', '')})")
                    continue
                q = _pm(t["quantity"], t["se"]) if t["mechanism"] else _val(t["quantity"], t["se"])
                why = re.split(r":|;| \(", t["inert_reason"], maxsplit=1)[0] if t.get("inert_reason") else ""
                parts.append(f"{what} = {q} (claimed {t['op']} {t['value']:g}: {t['verdict']}"
                             + (f"; {t['mechanism']} is inert here: {why}" if why else "") + ")")
            ev = ", ".join(f"{event_label(e, obj)} {p:.3f}" for e, p in r["record_events"].items() if p is not None)
            L.append(f"* under **{h}**: {r['verdict']} — " + "; ".join(parts)
                     + (f"; the probability it gave the scored events by {end}: {ev}" if ev else "") + ".")
        rec = c.get("record") or ""
        outc = ", ".join(f"{event_label(e, obj)}: {'yes' if o else 'no'}" for e, o in (c.get("record_outcomes") or {}).items()
                         if o is not None)
        L += ["", f"*What the record says:* {rec.strip()}" + (f" (scored events: {outc})" if outc else ""), ""]
        by_h: dict[str, Any] = next(iter(c["by_hypothesis"].values()), {})
        meanings = [t["meaning"] for t in by_h.get("tests", []) if t.get("meaning")]
        if meanings:
            L += ["*Tests:* " + "; ".join(meanings) + ".", ""]
        if c.get("mechanisms"):
            L += [_claim_mechanisms(obj, c), ""]
    return L


def _claim_mechanisms(obj: dict[str, Any], c: dict[str, Any]) -> str:
    """One line: each mechanism bearing on a claim, its effect (with − without ± paired SE) on the
    output of the claim's first test, per hypothesis; "inert" where the map found it inert."""
    focal = obj.get("focal_actor") or "the focal actor"
    by_h: dict[str, Any] = next(iter(c["by_hypothesis"].values()), {})
    tests = by_h.get("tests", [])
    out = tests[0]["output"] if tests else "p_war_horizon"
    parts = []
    for m in c["mechanisms"]:
        per = []
        for h, b in (obj.get("hypotheses") or {}).items():
            e = (b.get("mechanisms") or {}).get(m)
            if not e:
                continue
            eff = (e.get("effects") or {}).get(out)
            if eff is None:
                continue
            per.append(f"{h} {_pm(eff['diff'], eff['se'])}" + (" (inert on the headline outputs)" if e.get("inert_reason") else ""))
        parts.append(f"{m}: " + (", ".join(per) if per else "not mapped"))
    label = output_label(out, focal, obj.get("backtest_end") or "the back-test end", obj.get("horizon_months"))
    return (f"*Mechanisms that bear on it* (effect on {label}, with minus without ± paired SE; details in the "
            "mechanism map below): " + "; ".join(parts) + ".")


def output_legend(obj: dict[str, Any]) -> list[tuple[str, str]]:
    """The output names used in the mechanism map with their meaning in words."""
    focal = obj.get("focal_actor") or "the focal actor"
    names: dict[str, None] = {}
    for b in (obj.get("hypotheses") or {}).values():
        for e in (b.get("mechanisms") or {}).values():
            for o in e.get("headline") or []:
                names[o] = None
    return [(o, output_label(o, focal, obj.get("backtest_end") or "the back-test end", obj.get("horizon_months")))
            for o in names]


def triangle_glossary(tri: Any) -> list[tuple[str, str]]:
    """Plain-language meaning of the strategic-triangle configuration labels (Dittmer 1981)."""
    if not tri or len(tri) != 3:
        return []
    out = [("menage", "all three on friendly terms (a ménage à trois)")]
    for a in tri:
        o = [x for x in tri if x != a]
        out.append((f"romantic_{a}_pivot", f"{a} is friendly with both {o[0]} and {o[1]}, who are hostile to each "
                    f"other ({a} is the pivot)"))
    for a in tri:
        o = [x for x in tri if x != a]
        out.append((f"marriage_{a}_outcast", f"{o[0]} and {o[1]} are friendly with each other and both hostile to "
                    f"{a} ({a} is the outcast)"))
    out.append(("unit_veto", "all three hostile to one another"))
    return out


def mechanism_rows(obj: dict[str, Any]) -> list[list[str]]:
    """One row per hypothesis × mechanism: switch, the effect on the headline outputs that move
    (diff ± paired SE, those beyond 2 SE), the focal actor's months of peace, and the inert reason."""
    rows = []
    for h, b in (obj.get("hypotheses") or {}).items():
        for m, e in (b.get("mechanisms") or {}).items():
            eff = e.get("effects") or {}
            heads = e.get("headline") or list(eff)
            moved = [o for o in heads if (eff[o]["se"] is not None and abs(eff[o]["diff"]) > 2 * eff[o]["se"])
                     or (eff[o]["se"] in (0, None) and eff[o]["diff"] != 0)]
            mp = eff.get("months_of_peace_focal") or {}
            wc = eff.get("p_war_horizon") or {}
            rows.append([h, m, e.get("label", ""), f"`{e.get('switch', '')}`",
                         _pm(wc.get("diff"), wc.get("se")), _pm(mp.get("diff"), mp.get("se"), 2),
                         "; ".join(f"{o} {_pm(eff[o]['diff'], eff[o]['se'])}" for o in moved) or "–",
                         e.get("inert_reason") or "–"])
    return rows


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def _figures(obj: dict[str, Any], out_dir: Path, stem: str, images: Any = None) -> tuple[dict[str, str], str | None]:
    """PNG files of the report's figures: the same plotly figures the HTML report and the web show
    (:func:`detente.report.figures.crisis_figures`), written through kaleido. Returns ``{key: file
    name}`` and, when no image could be written (no kaleido, no browser), the reason."""
    from detente.plotting.export import write_images
    from detente.report.charts import banded_crisis_charts
    from detente.report.figures import crisis_figures

    hyps = obj["hypotheses"]
    ch = banded_crisis_charts(obj)
    entries = {e["key"]: e for e in crisis_figures(ch, obj)}
    todo: dict[str, Any] = {}
    if "p-war" in entries:
        todo["p_war_by"] = entries["p-war"]["figure"]
    for h, fig in ((entries.get("hazard") or {}).get("variants") or {}).items():
        todo[f"hazard-{h}"] = fig
    if not no_triangle(obj) and "alignment" in entries:
        todo["alignment"] = entries["alignment"]["figure"]
    main = obj.get("reference") if obj.get("reference") in hyps else next(iter(hyps), None)
    ag = (entries.get("agreement") or {}).get("variants") or {}
    if main in ag:
        todo["agreement"] = ag[main]
    paths = {k: out_dir / f"{stem}-{k}.png" for k in todo}
    why = write_images({paths[k]: fig for k, fig in todo.items()}, session=images)
    if why:
        return {}, why
    return {k: p.name for k, p in paths.items()}, None


def forecast_rows(obj: dict[str, Any]) -> list[list[str]]:
    """Rows of the forecast path: as-of date, state used, model P ± SE, crowd, both Brier scores."""
    fp = obj.get("forecast_path") or {}
    rows = []
    for r in fp.get("path") or []:
        st = ", ".join(f"{f} rung {k}" for f, k in (r.get("start_rungs") or {}).items()) or "the base description"
        crowd = "–" if r.get("crowd") is None else f"{'≈ ' if r.get('crowd_approximate') else ''}{r['crowd']:.2f}"
        rows.append([r["date"], st, f"{r['p']:.3f} ± {r['se']:.3f}", _fmt(r["brier"]), crowd, _fmt(r.get("crowd_brier"))])
    return rows


def forecast_lines(obj: dict[str, Any]) -> list[str]:
    """The forecast-path section (``record.forecast`` and ``--as-of``), empty without one."""
    fp = obj.get("forecast_path")
    if not fp:
        return []
    L = [f"## Forecasts as of each date: {fp['question']}", "",
         f"Each row is a run of **{fp['hypothesis']}** ({fp['runs']} runs) started on that date from the state the "
         "record gives for it (the rung of each flashpoint), with only the calendar events and shocks known by then; "
         f"P = the share of runs with a war at {fp['flashpoint']}"
         + (f" started by {fp['initiator']}" if fp.get("initiator") else "") + f" before {fp['before']} ± its binomial "
         f"SE. Outcome: {'yes' if fp['outcome'] else 'no'}; Brier = (P − outcome)², lower is better.", ""]
    L += _table(["as of", "state", "model P ± SE", "model Brier", "crowd", "crowd Brier"], forecast_rows(obj))
    srcs = [r["crowd_source"] for r in fp.get("path") or [] if r.get("crowd_source")]
    if srcs:
        L += ["", "Crowd forecasts (approximate where marked ≈): " + "; ".join(srcs) + "."]
    if fp.get("chosen"):
        L += ["", f"*Chosen before and after the outcome was known:* {fp['chosen'].strip()}"]
    return L + [""]


def _p_cell(p: float, se: float, runs: Any) -> str:
    """P ± SE, or the exact one-sided 95 % bound when no run hit (0 ± 0 says nothing)."""
    if p == 0 and isinstance(runs, int) and runs > 0:
        return f"0 (< {1.0 - 0.05 ** (1.0 / runs):.4f}, 95 %)"
    return f"{p:.3f} ± {se:.3f}"


def numbers_label(obj: dict[str, Any], h: str) -> str:
    """Where a hypothesis' hazard numbers come from, for the report's tables."""
    ff = ((obj.get("hypotheses") or {}).get(h) or {}).get("frozen_fit")
    if ff and ff.get("label"):
        return ff["label"]
    if ff:
        return "frozen fit on " + "; ".join(f"{f['dataset']} {f['period']}" for f in ff["fits"])
    return "labelled assumptions and calibrated base rates"


def out_of_sample_blocks(obj: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The section on the hypotheses whose numbers come from frozen fits trained before the record
    window (``out_of_sample``) as blocks — ``("h2", text)``, ``("p", markdown text)``,
    ``("table", head, rows)`` — rendered by :func:`out_of_sample_lines` (markdown) and the HTML
    report: which numbers, from which fit (file hash, period, SE), the mapping and what stays an
    assumption, their P(record) next to every hypothesis with Monte Carlo errors, and their
    forecasts as of each date next to the reference's and the crowd's. Empty when there is none."""
    oos = [h for h in obj.get("out_of_sample") or [] if h in (obj.get("hypotheses") or {})]
    if not oos:
        return []
    hyps = obj["hypotheses"]
    end = str(obj.get("backtest_end") or "")[:4] or "the record"
    one = len(oos) == 1
    names = ", ".join(f"**{h}**" for h in oos)
    B: list[tuple[Any, ...]] = [
        ("h2", f"Out of sample: the forecast{'' if one else 's'} of {end} whose numbers were not chosen knowing {end}"),
        ("p", f"{names} {'is the one hypothesis' if one else 'are the hypotheses'} whose hazard and escalation numbers "
              f"were not chosen knowing {end}: they come from fits frozen on history before the record window. Every "
              "other hypothesis rests on labelled assumptions and calibrated base rates chosen by the project (see "
              "each number's note, and the record's note on what was chosen after the outcome was known).")]
    for h in oos:
        ff = hyps[h]["frozen_fit"]
        fits = "; ".join(f"`{f['file']}` (sha256 {f['sha256'][:12]}…, {f['dataset']} crises {f['period']}, "
                         f"{f['crises']} crises" + (f", {f['preregistration']}" if f.get("preregistration") else "") + ")"
                         for f in ff["fits"])
        B.append(("p", f"**{h}** ({hyps[h].get('label', '')}): {len(ff['numbers'])} numbers from {fits} — "
                       f"*{ff.get('label')}*."))
        rows = []
        for n in ff["numbers"]:
            what = n["coefficient"] or (f"hazard floor exp(log_base_{n['hazard']}_m + Σβx) at the flashpoint's "
                                        "trigger-time features")
            if n.get("scale", 1.0) != 1.0:
                what += f" × {n['scale']:g}"
            rows.append([n["path"], f"{n['fit']} / {n['variant']}: {what}", f"{n['value']:.6g}",
                         "–" if n["se"] is None else f"{n['se']:.3g}"])
        B.append(("table", ["number", "from the fit", "value", "SE"], rows))
        if any(n["se"] is None for n in ff["numbers"]):
            B.append(("p", "SE –: the standard error of a hazard floor needs the fitted coefficients' covariance, "
                           "which the frozen record does not store; each number's source lists its parts' SEs."))
        if hyps[h].get("description"):
            B.append(("p", f"*Mapping, and what stays an assumption:* {hyps[h]['description'].strip()}"))
    lik = obj.get("likelihood_table") or []
    if lik:
        B.append(("p", f"The likelihood of the record ({((obj.get('record') or {}).get('window') or ['', ''])[0]} – "
                       f"{obj.get('backtest_end')}) under every hypothesis, with its Monte Carlo error "
                       f"({obj.get('runs')} runs each):"))
        rows = []
        for r in lik:
            p = (f"{_sci(r['p_record'])} ± {_sci(r['p_record_se'])} ({r['hits']} runs)" if r["hits"]
                 else f"0 (< {_sci(r['p_record_upper'])}, 95 %)")
            ll = (f"{r['log_likelihood']:.2f} ± {r['log_likelihood_se']:.2f}" if r.get("log_likelihood") is not None
                  else f"< {math.log(r['p_record_upper']):.2f}")
            rows.append([r["hypothesis"] + (" (out of sample)" if r["hypothesis"] in oos else ""),
                         numbers_label(obj, r["hypothesis"]), p, ll, r["verdict"]])
        B.append(("table", ["hypothesis", "its hazard numbers", "P(record) ± SE", "log L ± SE", "verdict"], rows))
    paths = obj.get("forecast_paths") or {}
    ref = (obj.get("forecast_path") or {}).get("hypothesis")
    cols = [h for h in oos if h in paths] + ([ref] if ref in paths and ref not in oos else [])
    if cols:
        fp = paths[cols[0]]
        by_date: dict[str, dict[str, Any]] = {}
        for h in cols:
            for r in paths[h]["path"]:
                by_date.setdefault(r["date"], {})[h] = r
        B.append(("p", f"Forecasts as of each date — {fp['question']} (outcome: {'yes' if fp['outcome'] else 'no'}): "
                       f"each a run started on that date from the record's state, {fp['runs']} runs, P ± Monte Carlo "
                       "SE (no hit: the exact one-sided 95 % bound), Brier score in brackets."))
        rows = []
        for d, row in by_date.items():
            first = next(iter(row.values()))
            st = ", ".join(f"{f} rung {k}" for f, k in (first.get("start_rungs") or {}).items()) or "base description"
            cells = [f"{_p_cell(row[h]['p'], row[h]['se'], paths[h]['runs'])} [{row[h]['brier']:.3f}]" if h in row
                     else "–" for h in cols]
            crowd = "–" if first.get("crowd") is None else (f"{'≈ ' if first.get('crowd_approximate') else ''}"
                                                            f"{first['crowd']:.2f} [{first['crowd_brier']:.3f}]")
            rows.append([d, st, *cells, crowd])
        B.append(("table", ["as of", "state", *[h + (" (out of sample)" if h in oos else " (reference)") for h in cols],
                            "crowd"], rows))
        B.append(("p", "The states of the later dates (the rung of each flashpoint) are the record's reading of the "
                       "facts, chosen after the outcome was known; they apply to every hypothesis alike."))
    return B


def out_of_sample_lines(obj: dict[str, Any]) -> list[str]:
    """:func:`out_of_sample_blocks` as markdown lines (empty when no hypothesis is out of sample)."""
    L: list[str] = []
    for b in out_of_sample_blocks(obj):
        if b[0] == "h2":
            L += [f"## {b[1]}", ""]
        elif b[0] == "p":
            L += [b[1], ""]
        else:
            rows = [[f"`{c}`" if k == 0 and b[1][0] == "number" else c for k, c in enumerate(r)] for r in b[2]]
            L += _table(b[1], rows) + [""]
    return L


def record_lines(obj: dict[str, Any]) -> list[str]:
    """The Back-test section: the scenario's record, the likelihood table with Monte Carlo
    errors and Bayes factors, the verdicts, and the per-event table (secondary view)."""
    rec = obj.get("record")
    if not rec:
        return ["## Back-test", "", "The scenario declares no record (a `record:` block in its dynamics: window, "
                "what happened), so nothing is scored and no hypothesis is rejected.", ""]
    w0, w1 = rec["window"]
    if rec["war"]:
        o = rec["onset"]
        what = (f"a war (use of force) began on {o['date']} (known to the {o['precision']})"
                + (f" at {(obj.get('flashpoint_names') or {}).get(rec['flashpoint'], rec['flashpoint'])}"
                   if rec.get("flashpoint") else "")
                + (f", started by {rec['initiator']}" if rec.get("initiator") else ""))
    else:
        what = "no war (use of force) began in the window"
    evs = "; ".join(("" if e["happened"] else "no ") + (f"agreement on {e['track']}" if e["kind"] == "agreement"
                    else f"rung {e['rung']} reached at {e['flashpoint']}" if e["kind"] == "rung"
                    else "split of " + "–".join((obj.get("triangle_actors") or ["?", "?", "?"])[1:]))
                    + f" by {e['by']}" for e in rec.get("events") or [])
    src = f"read from {Path(rec['facts']).name}" if rec.get("facts") else "stated in the scenario"
    rule = obj.get("verdict_rule") or {}
    T, z = rule.get("threshold_log_bf", math.log(20)), rule.get("z", 2.0)
    L = [f"## Back-test against {w0} – {w1}", "",
         f"The record ({src}; information cutoff {rec['cutoff']}): {what}" + (f"; {evs}" if evs else "") + ".", ""]
    if rec.get("sources"):
        L += ["Sources: " + "; ".join(rec["sources"]) + ".", ""]
    L += [f"**Likelihood of the record.** P(record) is the share of runs that reproduce the observed history "
          "(the first war in the onset's step at its precision, at its place, by its initiator — or no war in the "
          "window — and every declared event), with its binomial standard error; log L with its delta-method SE "
          "(when no run reproduces it, the exact one-sided 95 % upper bound). log BF is the log Bayes factor "
          f"against **{obj.get('reference')}** (paired delta-method SE: the hypotheses share their random numbers). "
          f"A hypothesis is **rejected** when log BF + {z:g}·SE < −{T:.2f} (the record favours the reference more "
          f"than {math.exp(T):.0f} : 1 across the Monte Carlo interval), **kept** when log BF − {z:g}·SE > −{T:.2f}, "
          "**undecided** when the interval spans the threshold (more runs may decide it).", ""]
    L += _table(["hypothesis", "P(record) ± SE", "log L ± SE", f"log BF vs {obj.get('reference')} ± SE",
                 f"interval (± {z:g} SE)", "verdict"], likelihood_rows(obj))
    rej = obj.get("rejected_by_record") or []
    und = [r["hypothesis"] for r in obj.get("likelihood_table") or [] if r["verdict"] == "undecided"]
    L += ["", f"**The record rejects:** {', '.join(rej) if rej else 'none of the hypotheses'}"
          + (f"; undecided at {obj.get('runs')} runs: {', '.join(und)}" if und else "") + ".", ""]
    first: dict[str, Any] = next((b.get("backtest") for b in (obj.get("hypotheses") or {}).values() if b.get("backtest")), {}) or {}
    scored = ", ".join(f"{event_label(e, obj)} [{o}]" for e, o in (first.get("outcomes") or {}).items())
    L += [f"Per-event view (secondary; by {w1}, outcome in brackets): {scored or '–'}. Brier: lower is better; "
          "log score: higher is better. These events overlap (one war is several of them), so they are not "
          "independent evidence; the verdict comes from the likelihood above.", ""]
    L += _table(backtest_head(obj), backtest_rows(obj))
    return L + [""]


def write_report(obj: dict[str, Any], out_dir: str | Path, *, figures: bool = True, images: Any = None) -> Path:
    """Write the markdown report of a :func:`detente.crisis.analysis.run_hypotheses` object.

    ``images`` is the :class:`detente.plotting.export.ImageSession` (a browser, perhaps started
    earlier) that writes the PNGs; without one the report starts its own. Either way every PNG of
    the report (its figures and, with a sensitivity study, the tornado figures) goes through one
    browser."""
    if figures and images is None:
        from detente.plotting.export import ImageSession

        with ImageSession() as own:
            return write_report(obj, out_dir, figures=True, images=own)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = obj["scenario"]
    figs, no_figs = _figures(obj, out_dir, stem, images) if figures else ({}, None)
    hyps = obj["hypotheses"]
    L: list[str] = [f"# {stem}: crisis report", "",
                    f"{obj['runs']} Monte-Carlo runs per hypothesis, root seed {obj['seed']} "
                    f"(chunk size {obj.get('chunk_size')}), start {obj.get('start')}.", ""]
    L += claims_lines(obj)
    f = obj.get("focal") or {}
    L += [f"## {f.get('label') or 'The focal actor'}", ""]
    L += _table(*focal_rows(obj))
    L += [""] + record_lines(obj) + forecast_lines(obj) + out_of_sample_lines(obj)
    L += ["## Where it breaks and who starts it (whole horizon)", ""]
    for h, b in hyps.items():
        loc = ", ".join(f"{k} {v:.2f}" for k, v in (b.get("locations") or {}).items())
        ini = ", ".join(f"{k} {v:.2f}" for k, v in sorted((b.get("initiators") or {}).items(), key=lambda kv: -kv[1]))
        cau = ", ".join(f"{k} {v:.2f}" for k, v in (b.get("causes") or {}).items() if v > 0)
        L.append(f"* **{h}** ({b.get('label', '')}): first war at {loc or '–'}; initiators {ini or '–'}; causes {cau or '–'}.")
    L += ["", "## Counterfactuals: the mechanism map (common random numbers)", ""]
    mrows = mechanism_rows(obj)
    if mrows:
        L += ["Each mechanism switched off on top of each hypothesis, with the same seed and number of runs "
              "(paired runs). Effects are *with minus without* ± the paired standard error (SE of the mean of "
              "per-run differences); an effect counts when it exceeds 2 SE. A mechanism within 2 SE of zero on every "
              "headline output is *inert*, and the last column says why.", ""]
        L += ["Outputs: " + "; ".join(f"`{k}` = {v}" for k, v in output_legend(obj)) + ".", ""]
        L += _table(["hypothesis", "mechanism", "what it is", "switch (off)", "Δ P(war within horizon)",
                     "Δ months of peace", "headline outputs it moves (> 2 SE)", "inert because"], mrows)
    rows = []
    for h, b in hyps.items():
        cf = b.get("counterfactuals") or {}
        for name in ("stalling", "seesaw"):
            c = cf.get(name)
            if c:
                se = c.get("months_gained_se")
                rows.append([h, name, _fmt(c["months_of_peace_ru_48_with"], 2), _fmt(c["months_of_peace_ru_48_without"], 2),
                             _fmt(c["months_gained"], 2) + (f" ± {se:.2f}" if se is not None else ""),
                             _fmt(c["p_ru_cn_split_48_with"]), _fmt(c["p_ru_cn_split_48_without"])])
    tri_cols = not no_triangle(obj)   # without a triangle there is no split to report
    if rows:
        L += ["", "Policy counterfactuals (the policy's `enabled` switch):", ""]
        L += _table(["hypothesis", "policy", "months of peace with", "without", "months gained ± paired SE",
                     *(("P(split) with", "without") if tri_cols else ())], [r if tri_cols else r[:-2] for r in rows])
    elif not mrows:
        L += ["(none)"]
    if not tri_cols:
        L += ["", NO_TRIANGLE]
    else:
        L += ["", "## Triangle configuration at the horizon", ""]
    tri_names: dict[str, Any] = next((list(b.get("triangle", {}).values())[-1] for b in hyps.values() if b.get("triangle")), {})
    gl = triangle_glossary(obj.get("triangle_actors"))
    if gl and tri_names:
        L += ["Configurations of the strategic triangle (a tie above 0 counts as friendly): "
              + "; ".join(f"`{k}`: {v}" for k, v in gl) + ".", ""]
    for h, b in hyps.items():
        tri = b.get("triangle") or {}
        if tri:
            last = list(tri.values())[-1]
            L.append(f"* **{h}**: " + ", ".join(f"{k} {v:.2f}" for k, v in sorted(last.items(), key=lambda kv: -kv[1])))
    if obj.get("sensitivity"):   # `--sensitivity`: Sobol indices and tornado figures
        from detente.report.sensitivity import sensitivity_lines

        sens = obj["sensitivity"]
        L += ["", f"## Sensitivity: which assumptions drive it (hypothesis {sens.get('hypothesis')})", ""]
        L += sensitivity_lines(sens, out_dir, stem, level=3, images=images) if figures else []
    if figs:
        L += ["", "## Figures", ""]
        for k, name in figs.items():
            L += [f"![{k}]({name})", ""]
    elif no_figs:
        L += ["", "## Figures", "", f"The figures were not written: {no_figs}. The HTML report "
              "(`detente report … --format html`) shows them without a browser on this machine.", ""]
    notes = sorted({n for b in hyps.values() for n in b.get("notes", [])})
    if notes:
        L += ["## Notes", ""] + [f"* {n}" for n in notes]
    p = out_dir / f"{stem}.md"
    p.write_text("\n".join(L) + "\n", encoding="utf-8")
    return p
