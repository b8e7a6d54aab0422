"""Markdown report of a sensitivity study (``detente sensitivity … --out DIR``): per output the top
factors by total index (Sobol) or μ* (Morris) with their intervals, the one-at-a-time tornado as a
figure (PNG through kaleido; a note instead when it cannot be written), and the warnings about the
sample size. Reads the ``--json`` object (docs/json-contract.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["write_sensitivity_report", "sensitivity_lines"]


def _f(x: Any, nd: int = 3) -> str:
    return "–" if x is None else f"{x:.{nd}f}"


def _tornado(rows: list[dict[str, Any]], base: float | None, output: str) -> Any:
    """The tornado of one output (the same figure as the web's and the HTML report's)."""
    from detente.plotting.figures import tornado_figure

    return tornado_figure(output, rows, base, "one at a time: each number from its low to its high end, the others "
                          "at their values", max_rows=len(rows),
                          xlabel=f"{output}: from each number's low to its high end; line: baseline")


def write_sensitivity_report(obj: dict[str, Any], out_dir: str | Path, name: str, *, top: int = 10) -> Path:
    """Write ``OUT/NAME-sensitivity.md`` and one tornado PNG per output; return the markdown path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    L = [f"# {name}: {obj['method']} sensitivity", ""] + sensitivity_lines(obj, out, name, top=top, level=2)
    path = out / f"{name}-sensitivity.md"
    path.write_text("\n".join(L) + "\n", encoding="utf-8")
    return path


def sensitivity_lines(obj: dict[str, Any], out: Path, name: str, *, top: int = 10, level: int = 2,
                      images: Any = None) -> list[str]:
    """Markdown lines of a sensitivity study (tables, tornado figures written to ``out``, warnings);
    ``images``: the :class:`detente.plotting.export.ImageSession` to write the figures with (else
    a browser is started for them)."""
    from detente.plotting.export import write_images

    h = "#" * level
    sobol = obj["method"] == "sobol"
    figs: dict[str | Path, Any] = {}
    L = [f"{obj.get('points')} parameter points" + (f" × {obj['runs_per_point']} runs (common random numbers)"
                                                     if obj.get("runs_per_point") else "")
         + f", base sample N = {obj.get('sample_size')}, {len(obj['factors'])} numbers; intervals at "
         f"{obj.get('confidence_level', 0.95):.0%}." + "".join(f" Numbers: {x}." for x in obj.get("notes") or []), ""]
    for o, rows in obj["indices"].items():
        key = "ST" if sobol else "mu_star"
        best = sorted(rows, key=lambda r: -(r[key] if r[key] is not None else -1e300))[:top]
        L += [f"{h} {o}", ""]
        if sobol:
            L += ["| number | S1 | ± | ST | ± |", "|---|---|---|---|---|"]
            L += [f"| `{r['factor']}` | {_f(r['S1'])} | {_f(r['S1_conf'])} | {_f(r['ST'])} | {_f(r['ST_conf'])} |" for r in best]
        else:
            L += ["| number | μ | μ* | ± | σ |", "|---|---|---|---|---|"]
            L += [f"| `{r['factor']}` | {_f(r['mu'])} | {_f(r['mu_star'])} | {_f(r['mu_star_conf'])} | {_f(r['sigma'])} |"
                  for r in best]
        torn = (obj.get("tornado") or {}).get(o) or []
        if torn:
            png = out / f"{name}-sensitivity-{o.replace('.', '_')}.png"
            figs[png] = _tornado(torn[:top], (obj.get("baseline") or {}).get(o), o)
            L += ["", f"![tornado of {o}]({png.name})", "",
                  f"Baseline (every number at its value): {_f((obj.get('baseline') or {}).get(o))}.", ""]
        ws = [w for w in obj.get("warnings") or [] if w.startswith(f"{o}: ")]
        if ws:
            L += ["**Warning — the sample is too small for these indices:**", ""] + [f"* {w[len(o) + 2:]}" for w in ws] + [""]
    why = write_images(figs, session=images)
    if why:   # no image: say so where each would have been
        names = {f"![tornado of {o}]" for o in obj["indices"]}
        L = [f"(tornado figure not written: {why})" if any(ln.startswith(n) for n in names) else ln for ln in L]
    return L
