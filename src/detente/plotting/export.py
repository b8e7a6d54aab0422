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

import contextlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["to_json", "html_fragment", "plotlyjs", "write_images", "ImageSession", "static_export_problem", "PLOT_CONFIG"]

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


def _specs(figs: Mapping[str | Path, Any], scale: float, width: int) -> list[dict[str, Any]]:
    """kaleido's job list for ``figs``, built as :func:`plotly.io.write_images` builds it: the
    page-width copy of each figure as a validated dict, the format from the suffix, ``width`` and
    the copy's own height (taller by its legend rows, :func:`_for_page`), or plotly's default
    height (``plotly.io.defaults``) for a figure that sets none. kaleido's ``height`` overrides the
    layout's, so passing the default for every figure would squeeze the plot area of a figure with
    a legend under it by the legend's rows."""
    from plotly.io import defaults
    from plotly.io._kaleido import infer_format
    from plotly.io._utils import validate_coerce_fig_to_dict

    out = []
    for p, f in figs.items():
        page = _for_page(f, width)
        out.append(dict(fig=validate_coerce_fig_to_dict(page, True), path=Path(p),
                        opts=dict(format=infer_format(Path(p), None) or defaults.default_format, width=width,
                                  height=page.layout.height or defaults.default_height, scale=scale),
                        topojson=defaults.topojson))
    return out


def _failure(exc: BaseException) -> str:
    msg = str(exc).strip()
    return f"static image export failed: {type(exc).__name__}: {msg.splitlines()[0] if msg else ''}"


def _session_kaleido(base: type) -> type:
    """``base`` (``kaleido.Kaleido``) as a report's session drives it (issue 17).

    kaleido renders each figure in a freshly loaded page: after a figure it reloads the tab
    (plotly.js again) before the tab takes the next one, and the batch waits for that reload. Two
    changes, the same pages and so the same images:

    * :meth:`warm` reloads each tab once right after the browser opens, in the background while
      the engine runs. The first reload after opening is the slow one (the page's script is
      compiled again, and only then kept in the browser's code cache: measured 1.4–2.9 s against
      0.2–0.4 s for later ones at load average 8–10), and it used to fall after the report's
      first figure.
    * A tab is reloaded in the background after each figure (:meth:`_return_kaleido_tab`) and goes
      back to the queue when reloaded, as before; the batch no longer waits for the reload after
      its last figure. A failed reload is raised by the next figure's :meth:`_get_kaleido_tab`;
      :meth:`close` stops the reloads still running (no figure will use their tabs).

    Both go through kaleido's tab queue (``_get_kaleido_tab``, ``_return_kaleido_tab``,
    ``tabs_ready``); a ``base`` without them (another kaleido) is used as it is."""

    class SessionKaleido(base):
        def __init__(self, *a: Any, **k: Any) -> None:
            super().__init__(*a, **k)
            self._reloads: set[Any] = set()
            self._reload_error: BaseException | None = None

        def _queued(self) -> bool:
            return all(hasattr(self, n) for n in ("_get_kaleido_tab", "_return_kaleido_tab", "tabs_ready"))

        async def warm(self) -> None:
            """Reload every tab once (the slow second load of the page), then put it back."""
            if not self._queued():
                return
            tabs = [await self._get_kaleido_tab() for _ in range(self.tabs_ready.qsize())]
            try:
                for tab in tabs:
                    await tab.reload()
            finally:
                for tab in tabs:
                    await self.tabs_ready.put(tab)

        async def _get_kaleido_tab(self) -> Any:
            if self._reload_error is not None:
                raise self._reload_error
            return await super()._get_kaleido_tab()

        async def _return_kaleido_tab(self, tab: Any) -> None:
            import asyncio

            async def reload_and_return() -> None:
                try:
                    await super(SessionKaleido, self)._return_kaleido_tab(tab)   # reload, then queue it
                except BaseException as exc:  # noqa: BLE001 - kept for the next figure, which raises it
                    self._reload_error = exc
                    await self.tabs_ready.put(tab)

            task = asyncio.create_task(reload_and_return())
            self._reloads.add(task)
            task.add_done_callback(self._reloads.discard)

        async def close(self) -> None:
            import asyncio

            for task in self._reloads:   # no tab is needed any more: the reloads still running stop
                task.cancel()
            if self._reloads:
                await asyncio.gather(*self._reloads, return_exceptions=True)
            await super().close()

    return SessionKaleido


class ImageSession:
    """One headless browser (kaleido's) for every static image of a report, started in the background.

    Starting Chromium and loading plotly.js into its page is most of the cost of a report's PNGs
    (seconds; each figure then takes a fraction of a second), so a command that will write images
    calls :meth:`start` before its long computation and passes the session to
    :func:`write_images`: the browser starts while the computation runs, and every
    :func:`write_images` call of the report (its figures, its tornado figures) goes through the same
    browser, one batch per call. The browser runs in a daemon thread with its own event loop;
    :meth:`close` (or leaving the ``with`` block) ends it. When kaleido or a browser is missing, or
    the browser fails to start, :meth:`write` returns the reason instead of raising.
    """

    def __init__(self) -> None:
        self._why: str | None = None
        self._loop: Any = None
        self._thread: Any = None
        self._opened: Any = None          # concurrent.futures.Future of the open kaleido.Kaleido
        self._closing: Any = None         # concurrent.futures.Future of the browser's closing
        #: number of batches sent to the browser (one per :meth:`write` with figures)
        self.batches = 0

    def __enter__(self) -> ImageSession:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> ImageSession:
        """Start the browser in the background (returns at once; a second call does nothing)."""
        if self._thread is not None or self._why is not None:
            return self
        self._why = static_export_problem()
        if self._why:
            return self
        import asyncio
        import threading

        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="detente-image-export", daemon=True)
        self._thread.start()
        self._opened = asyncio.run_coroutine_threadsafe(self._open(), self._loop)
        return self

    @staticmethod
    async def _open() -> Any:
        import kaleido
        from plotly.io import defaults

        # the browser options plotly.io.write_images passes (the same page, so the same images)
        kopts = {k: getattr(defaults, k) for k in ("plotlyjs", "mathjax", "headers") if getattr(defaults, k, None)}
        k = _session_kaleido(kaleido.Kaleido)(**kopts)
        await k.open()
        await k.warm()
        return k

    def write(self, figs: Mapping[str | Path, Any], *, scale: float = 1.5, width: int = 1000) -> str | None:
        """Write every figure to its path in one batch (see :func:`write_images`)."""
        if not figs:
            return None
        if self._closing is not None:
            return "static image export failed: the browser session is closing"
        self.start()
        if self._why:
            return self._why
        import asyncio

        paths = [Path(p) for p in figs]
        for p in paths:
            p.parent.mkdir(parents=True, exist_ok=True)
        try:
            k = self._opened.result()
            specs = _specs(figs, scale, width)
            self.batches += 1
            asyncio.run_coroutine_threadsafe(k.write_fig_from_object(specs, cancel_on_error=True), self._loop).result()
        except Exception as exc:  # noqa: BLE001 - a browser that cannot start, a timeout: report, do not crash
            for p in paths:
                if p.exists():
                    p.unlink()
            return _failure(exc)
        return None

    def close(self, wait: bool = True) -> None:
        """Close the browser and end its thread (also when it failed to start).

        ``wait=False`` only starts closing the browser and returns: the caller's next work (another
        report without images) goes on while Chromium shuts down; nothing may be written through the
        session any more, and a later ``close()`` (the ``with`` block's end) waits for it."""
        if self._thread is None:
            return
        import asyncio

        if self._closing is None:
            self._closing = asyncio.run_coroutine_threadsafe(self._shut(), self._loop)
        if not wait:
            return
        with contextlib.suppress(Exception):
            self._closing.result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()
        self._thread = self._loop = self._opened = self._closing = None

    async def _shut(self) -> None:
        """Close the browser once it has opened (nothing to close when it never did)."""
        import asyncio

        try:
            k = await asyncio.wrap_future(self._opened)
        except Exception:  # noqa: BLE001 - it never opened: nothing to close
            return
        with contextlib.suppress(Exception):
            await k.close()


def write_images(figs: Mapping[str | Path, Any], *, scale: float = 1.5, width: int = 1000,
                 session: ImageSession | None = None) -> str | None:
    """Write every figure to its path (format from the suffix: ``.png``, ``.svg``, ``.pdf``) in one
    browser batch: through ``session`` when given (a browser already started, see
    :class:`ImageSession`), else through a browser started and closed for this call. Returns
    ``None`` on success, else the reason no image was written (kaleido or a browser missing, the
    browser failing); files already written by a failed call are removed."""
    if not figs:
        return None
    if session is not None:
        return session.write(figs, scale=scale, width=width)
    with ImageSession() as s:
        return s.write(figs, scale=scale, width=width)
