"""One plotting layer for detente: every chart is a :class:`plotly.graph_objects.Figure` built
here from plain chart data (:mod:`detente.report.charts`), then shown as JSON by the web UI,
inlined in HTML reports, exported to PNG/SVG for the markdown report, or returned by ``.plot()``
methods (a plotly figure displays itself in Jupyter).

The package imports nothing of detente, so every layer may use it (``models``' ``.plot()``
included); plotly is imported only when a figure is built.

* :mod:`detente.plotting.palette` — one colour per name (actor, hypothesis, flashpoint, model);
* :mod:`detente.plotting.labels` — plain-language labels of model jargon;
* :mod:`detente.plotting.figures` — the figures;
* :mod:`detente.plotting.export` — static images through kaleido, HTML fragments.
"""
