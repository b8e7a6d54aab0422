"""Figures out of Python: JSON for the web UI, HTML fragments for reports, and static images
(PNG/SVG) for the markdown report and papers.

Static images go through kaleido (1.x), which drives a Chrome/Chromium found by choreographer:
the ``BROWSER_PATH`` environment variable when set, else the first of ``chromium``,
``google-chrome``, ... on ``PATH`` (Debian's ``chromium`` package puts ``/usr/bin/chromium`` there).
kaleido is an optional dependency (the ``static`` extra); when it or a browser is missing,
:func:`write_images` says why instead of raising, so a report can be written without its images.

Examples
--------
>>> import plotly.graph_objects as go
>>> d = to_json(go.Figure(go.Scatter(x=[1], y=[2], name="Poland")))
>>> d["data"][0]["name"], d["data"][0]["y"]
('Poland', [2])
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["to_json", "html_fragment", "plotlyjs", "write_images", "static_export_problem", "PLOT_CONFIG"]

#: Plotly.js options of every interactive figure (no mode bar, resizes with its container).
PLOT_CONFIG = {"displayModeBar": False, "responsive": True}


def to_json(fig: Any) -> dict[str, Any]:
    """The figure as a plain JSON-serialisable dict ``{"data": [...], "layout": {...}}``
    (``fig.to_json()`` read back: numpy arrays become lists)."""
    return json.loads(fig.to_json())


def html_fragment(fig: Any, div_id: str) -> str:
    """A ``<div>`` with an inline ``<script>`` drawing ``fig`` (plotly.js itself is not included:
    put :func:`plotlyjs` once in the page). The figure's JSON escapes ``<``, so names cannot end
    the script."""
    return fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, config=PLOT_CONFIG,
                       default_width="100%")


def plotlyjs() -> str:
    """The plotly.js bundle shipped with the installed plotly package (to inline once in a
    self-contained HTML page)."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def _for_page(fig: Any, width: int) -> Any:
    """A copy of ``fig`` for a fixed-width image: the legend under the chart (on a page a legend
    beside the chart takes the width from the chart), the image taller by the legend's rows."""
    import plotly.graph_objects as go

    out = go.Figure(fig)
    names = [t.name for t in out.data if t.name and t.showlegend is not False]
    if not names or out.layout.showlegend is False:
        return out
    per_row = max(1, int(width // max(120, 7.5 * max(len(n) for n in names) + 40)))
    rows = -(-len(names) // per_row)
    height = out.layout.height or 450
    bottom = (out.layout.margin.b or 60) + 22 * rows + 10
    out.update_layout(legend=dict(orientation="h", yref="container", y=0, yanchor="bottom", x=0, xanchor="left"),
                      margin_b=bottom, height=height + 22 * rows + 10)
    return out


def static_export_problem() -> str | None:
    """Why static images cannot be written here (``None`` when kaleido and a browser are found)."""
    try:
        import kaleido  # noqa: F401
    except ImportError:
        return "kaleido is not installed (pip install 'detente[static]')"
    try:
        from choreographer.browsers.chromium import Chromium

        if Chromium.find_browser(skip_local=False) is None:
            return ("no Chrome/Chromium found for kaleido (install chromium, or set BROWSER_PATH to its "
                    "executable)")
    except Exception as exc:  # noqa: BLE001 - an unexpected choreographer: try the export anyway
        del exc
    return None


def write_images(figs: Mapping[str | Path, Any], *, scale: float = 1.5, width: int = 1000) -> str | None:
    """Write every figure to its path (format from the suffix: ``.png``, ``.svg``, ``.pdf``) in one
    browser session. Returns ``None`` on success, else the reason no image was written (kaleido
    or a browser missing, the browser failing); files already written by a failed call are removed."""
    if not figs:
        return None
    why = static_export_problem()
    if why:
        return why
    import plotly.io as pio

    paths = [Path(p) for p in figs]
    for p in paths:
        p.parent.mkdir(parents=True, exist_ok=True)
    try:
        pio.write_images([_for_page(f, width) for f in figs.values()], paths, scale=scale, width=width)
    except Exception as exc:  # noqa: BLE001 - a browser that cannot start, a timeout: report, do not crash
        for p in paths:
            if p.exists():
                p.unlink()
        return f"static image export failed: {type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
    return None
