"""Markdown report of a sensitivity study (``detente sensitivity … --out DIR``): per output the top
factors by total index (Sobol) or μ* (Morris) with their intervals, the one-at-a-time tornado as a
figure, and the warnings about the sample size. Reads the ``--json`` object (docs/json-contract.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["write_sensitivity_report", "sensitivity_lines"]


def _f(x: Any, nd: int = 3) -> str:
    return "–" if x is None else f"{x:.{nd}f}"


def _tornado_png(rows: list[dict[str, Any]], base: float | None, output: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    rows = list(reversed(rows))
    fig, ax = plt.subplots(figsize=(8.5, 0.4 * max(3, len(rows)) + 1.4))
    for k, r in enumerate(rows):
        lo, hi = r["output_low"], r["output_high"]
        ax.barh(k, hi - lo, left=lo, color="#3465a4" if hi >= lo else "#cc0000")
    if base is not None:
        ax.axvline(base, color="black", lw=1)
    ax.set_yticks(range(len(rows)), [r["factor"] for r in rows], fontsize=8)
    ax.set_xlabel(f"{output}: from each number's low to its high end (red: falls); line: baseline")
    lo_all = min([min(r["output_low"], r["output_high"]) for r in rows] + ([base] if base is not None else []))
    hi_all = max([max(r["output_low"], r["output_high"]) for r in rows] + ([base] if base is not None else []))
    pad = 0.05 * (hi_all - lo_all) if hi_all > lo_all else 0.01
    ax.set_xlim(lo_all - pad, hi_all + pad)
    ax.set_title(f"Tornado: {output}, top {len(rows)}")
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def write_sensitivity_report(obj: dict[str, Any], out_dir: str | Path, name: str, *, top: int = 10) -> Path:
    """Write ``OUT/NAME-sensitivity.md`` and one tornado PNG per output; return the markdown path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    L = [f"# {name}: {obj['method']} sensitivity", ""] + sensitivity_lines(obj, out, name, top=top, level=2)
    path = out / f"{name}-sensitivity.md"
    path.write_text("\n".join(L) + "\n", encoding="utf-8")
    return path


def sensitivity_lines(obj: dict[str, Any], out: Path, name: str, *, top: int = 10, level: int = 2) -> list[str]:
    """Markdown lines of a sensitivity study (tables, tornado figures written to ``out``, warnings)."""
    h = "#" * level
    sobol = obj["method"] == "sobol"
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
            _tornado_png(torn[:top], (obj.get("baseline") or {}).get(o), o, png)
            L += ["", f"![tornado of {o}]({png.name})", "",
                  f"Baseline (every number at its value): {_f((obj.get('baseline') or {}).get(o))}.", ""]
        ws = [w for w in obj.get("warnings") or [] if w.startswith(f"{o}: ")]
        if ws:
            L += ["**Warning — the sample is too small for these indices:**", ""] + [f"* {w[len(o) + 2:]}" for w in ws] + [""]
    return L
