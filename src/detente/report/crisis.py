"""The crisis report: markdown with matplotlib figures for a :func:`run_hypotheses` object.

:func:`write_report` takes the ``detente run --json`` object (plus, optionally, the
:class:`~detente.crisis.result.CrisisResult` objects for richer figures) and writes
``<out_dir>/<scenario>.md`` with PNG figures next to it. It never prints.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["write_report", "backtest_rows"]


_EVENT_LABELS = {"war_ru": "war involving Russia", "war_at_UA": "war in Ukraine", "war_at_TW": "war in the Taiwan Strait",
                 "war_at_BY-PL": "war on the Belarus–Poland border", "initiator_RU": "war initiated by Russia",
                 "no_ru_cn_split": "no RU–CN split"}


def _fmt(x: Any, nd: int = 3) -> str:
    if x is None:
        return "–"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float):
        return f"{x:.{nd}f}"
    return str(x)


def backtest_rows(obj: dict[str, Any]) -> list[list[str]]:
    """Rows of the back-test table (hypothesis, Brier, log score, P(record), events…, verdict)."""
    rows = []
    for r in obj.get("backtest_table", []):
        h = r["hypothesis"]
        rows.append([h, _fmt(r["brier"]), _fmt(r["log_score"]), _fmt(r["p_record"], 4),
                     _fmt(r.get("p_war_ru")), _fmt(r.get("p_war_at_UA")), _fmt(r.get("p_initiator_RU")),
                     _fmt(r.get("p_war_at_TW")), _fmt(r.get("p_war_at_BY-PL")), _fmt(r.get("p_no_ru_cn_split")),
                     "**rejected**" if r["rejected"] else "not rejected"])
    return rows


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def _figures(obj: dict[str, Any], out_dir: Path, stem: str) -> dict[str, str]:
    """PNG files of the report's figures (the same figures the HTML report embeds)."""
    from detente.report.charts import crisis_charts
    from detente.report.figures import (_dates, _fig, crisis_alignment_figure, crisis_hazard_figure,
                                        crisis_p_war_figure)

    figs: dict[str, str] = {}

    def save(fig: Any, key: str) -> None:
        p = out_dir / f"{stem}-{key}.png"
        fig.savefig(p, dpi=110, bbox_inches="tight")
        figs[key] = p.name

    hyps = obj["hypotheses"]
    ch = crisis_charts(obj)
    save(crisis_p_war_figure(ch), "p_war_by")
    for h, hz in ch["hazard"].items():
        if hz:
            save(crisis_hazard_figure(h, hz, ch.get("events")), f"hazard-{h}")
    save(crisis_alignment_figure(ch["alignment"]), "alignment")

    main = "article" if "article" in hyps else next(iter(hyps), None)
    ag = (hyps[main].get("p_agreement_by") or {}) if main is not None else {}
    if ag:
        fig = _fig(8.0, 4.2)
        ax = fig.add_subplot()
        for t, row in ag.items():
            ax.plot(_dates(list(row)), list(row.values()), label=t)
        ax.set_ylabel("P(agreement by date)")
        ax.set_ylim(0, 1)
        ax.legend(fontsize=8)
        ax.set_title(f"Negotiation tracks — {main}")
        fig.autofmt_xdate()
        save(fig, "agreement")
    return figs


def write_report(obj: dict[str, Any], out_dir: str | Path, *, figures: bool = True) -> Path:
    """Write the markdown report of a :func:`detente.crisis.analysis.run_hypotheses` object."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = obj["scenario"]
    figs = _figures(obj, out_dir, stem) if figures else {}
    hyps = obj["hypotheses"]
    L: list[str] = [f"# {stem}: crisis report", "",
                    f"{obj['runs']} Monte-Carlo runs per hypothesis, root seed {obj['seed']} "
                    f"(chunk size {obj.get('chunk_size')}), start {obj.get('start')}.", ""]
    end = obj.get("backtest_end", "2022-02-28")
    L += ["## Russia's 48 months", ""]
    L += _table(["hypothesis", f"P(war by {end})", "P(war by 48 months)", "P(no war involving RU, 48 m)",
                 "E[months of peace for RU, ≤ 48]"],
                [[h, _fmt(b["p_war_by"].get(end)), _fmt(list(b["p_war_by"].values())[-1]),
                  _fmt(b["p_no_war_ru_48"]), _fmt(b["months_of_peace_ru_48"], 1)] for h, b in hyps.items()])
    first = next(iter(hyps.values()), {}).get("backtest") or {}
    outcomes = first.get("outcomes") or {}
    scored = ", ".join(f"{_EVENT_LABELS.get(e, e)} [{o}]" for e, o in outcomes.items())
    src = f"outcomes read from {Path(obj['timeline']).name}" if obj.get("timeline") else "outcomes as stated in facts/README.md"
    L += ["", f"## Back-test against {obj.get('start', '')} – {end}", "",
          f"Scored events by {end} (outcome in brackets; {src}): {scored or '–'}. "
          "Brier: lower is better; log score: higher is better. P(record) is the "
          "simulated probability of the whole observed record; a hypothesis is rejected when it is below 0.01.", ""]
    L += _table(["hypothesis", "Brier", "log score", "P(record)", "war RU", "war UA", "init. RU", "war TW",
                 "war BY-PL", "no split", "verdict"], backtest_rows(obj))
    rej = obj.get("rejected_by_record") or []
    L += ["", f"**The record rejects:** {', '.join(rej) if rej else 'none of the hypotheses'}.", ""]
    L += ["## Where it breaks and who starts it (whole horizon)", ""]
    for h, b in hyps.items():
        loc = ", ".join(f"{k} {v:.2f}" for k, v in (b.get("locations") or {}).items())
        ini = ", ".join(f"{k} {v:.2f}" for k, v in sorted((b.get("initiators") or {}).items(), key=lambda kv: -kv[1]))
        cau = ", ".join(f"{k} {v:.2f}" for k, v in (b.get("causes") or {}).items() if v > 0)
        L.append(f"* **{h}** ({b.get('label', '')}): first war at {loc or '–'}; initiators {ini or '–'}; causes {cau or '–'}.")
    L += ["", "## Counterfactuals (common random numbers)", ""]
    rows = []
    for h, b in hyps.items():
        cf = b.get("counterfactuals") or {}
        for name in ("stalling", "seesaw"):
            c = cf.get(name)
            if c:
                rows.append([h, name, _fmt(c["months_of_peace_ru_48_with"], 2), _fmt(c["months_of_peace_ru_48_without"], 2),
                             _fmt(c["months_gained"], 2), _fmt(c["p_ru_cn_split_48_with"]), _fmt(c["p_ru_cn_split_48_without"])])
    L += _table(["hypothesis", "policy", "RU months of peace with", "without", "months gained",
                 "P(RU–CN split) with", "without"], rows) if rows else ["(none)"]
    L += ["", "## Triangle configuration at the horizon", ""]
    for h, b in hyps.items():
        tri = b.get("triangle") or {}
        if tri:
            last = list(tri.values())[-1]
            L.append(f"* **{h}**: " + ", ".join(f"{k} {v:.2f}" for k, v in sorted(last.items(), key=lambda kv: -kv[1])))
    if figs:
        L += ["", "## Figures", ""]
        for k, name in figs.items():
            L += [f"![{k}]({name})", ""]
    notes = sorted({n for b in hyps.values() for n in b.get("notes", [])})
    if notes:
        L += ["## Notes", ""] + [f"* {n}" for n in notes]
    p = out_dir / f"{stem}.md"
    p.write_text("\n".join(L) + "\n", encoding="utf-8")
    return p
