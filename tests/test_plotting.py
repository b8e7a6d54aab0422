"""The plotting layer (detente.plotting): one colour per name, figures that mark what the charts
must show (bounds, positions, forecast, mean and median, plain labels, meaningful hazard bands),
and static export that fails politely."""

from __future__ import annotations

import zlib

import pytest

pytest.importorskip("plotly")

from detente import examples
from detente.models.registry import run_model
from detente.plotting import data as D
from detente.plotting import export as X
from detente.plotting import figures as F
from detente.plotting import palette as P


def _trace(fig, name):
    hits = [t for t in fig.data if t.name == name]
    assert hits, [t.name for t in fig.data]
    return hits[0]


def test_palette_is_keyed_by_name_not_order():
    names = ["Poland", "Germany", "France", "UK", "Italy"]
    a, b = P.colors(names), P.colors(names[::-1])
    assert a == b
    assert len(set(a.values())) == len(names)
    # a name alone gets its home slot: CRC-32 of the name modulo the palette size
    assert P.color("Poland") == P.PALETTE[zlib.crc32(b"Poland") % len(P.PALETTE)]


def test_palette_resolves_a_shared_home_slot_to_the_next_free_colour():
    n = len(P.PALETTE)
    base = "a0"
    home = zlib.crc32(base.encode()) % n
    other = next(f"b{k}" for k in range(10_000) if zlib.crc32(f"b{k}".encode()) % n == home)
    c = P.colors([other, base])
    # sorted order: "a0" keeps its home slot, the later name takes the next one
    assert c[base] == P.PALETTE[home] and c[other] == P.PALETTE[(home + 1) % n]


def test_palette_repeats_only_beyond_its_size():
    names = [f"actor{k}" for k in range(len(P.PALETTE) + 3)]
    c = P.colors(names)
    first = sorted(names)[: len(P.PALETTE)]
    assert len({c[x] for x in first}) == len(P.PALETTE)


@pytest.fixture(scope="module")
def emission():
    scn = examples.load("ec_emission")
    return scn, run_model(scn, "bdm", seed=0).to_json_dict()


def test_forecast_figure_marks_bounds_positions_and_forecast(emission):
    scn, res = emission
    cols = P.colors(a.id for a in scn.actors)
    fig = F.forecast_figure(D.forecast_rows(res, D.scenario_meta(scn)), colors=cols, model="bdm")
    iss = scn.issues[0]
    bounds = _trace(fig, "issue bounds")
    assert list(bounds.x) == [iss.lower, iss.upper]
    by = {(s.actor, s.issue): s.position for s in scn.stances}
    for a in scn.actors:
        t = _trace(fig, a.id)
        assert list(t.x) == [by[(a.id, iss.id)]] and t.marker.color == cols[a.id]
    f = _trace(fig, "bdm")
    assert list(f.x) == [res["issues"][iss.id]["forecast"]]
    # no bar from 0: the axis spans the issue's bounds (with a small margin) and says so
    lo, hi = fig.layout.xaxis.range
    assert lo < iss.lower < iss.lower + 0.1 * (iss.upper - iss.lower) and hi > iss.upper
    assert f"({iss.lower:g}–{iss.upper:g})" in fig.layout.xaxis.title.text
    assert not [t for t in fig.data if t.type == "bar"]


def test_forecast_figure_stacks_actors_at_the_same_position(emission):
    scn, res = emission
    fig = F.forecast_figure(D.forecast_rows(res, D.scenario_meta(scn)))
    at4 = [t for t in fig.data if t.mode == "markers" and list(t.x) == [4.0]]
    assert len(at4) > 1 and len({t.y[0] for t in at4}) == len(at4)


def test_trajectory_figure_names_mean_and_median_and_labels_axes(emission):
    _scn, res = emission
    from detente.report.charts import result_charts

    tr = result_charts(res)["trajectories"]["emission"]
    fig = F.trajectory_figure("emission", tr, (4.0, 10.0))
    mean = _trace(fig, "weighted mean (capability × salience)")
    med = _trace(fig, "weighted median")
    assert list(mean.y) == tr["mean"] and list(med.y) == tr["median"]
    assert mean.line.dash != med.line.dash
    assert fig.layout.xaxis.title.text.startswith("round") and "(4–10)" in fig.layout.yaxis.title.text
    assert list(fig.layout.yaxis.range) == [4.0, 10.0]


def test_perception_legend_follows_the_quadrant_order():
    p = {"actor": ["a", "b", "c"], "other": ["b", "c", "a"], "x": [1, -1, 0.5], "y": [1, 1, -2],
         "quadrants": ["stalemate", "conflict", "compromise"]}
    fig = F.perception_figure("i", p)
    assert [t.name for t in fig.data] == ["conflict (1)", "compromise (1)", "stalemate (1)"]
    assert [list(c) for c in _trace(fig, "conflict (1)").customdata] == [["b", "c"]]


def test_distribution_names_mean_and_median_with_values():
    d = {"edges": [0.0, 1.0, 2.0], "counts": [3, 5], "summary": {"mean": 1.1, "median": 1.25, "q05": 0.1, "q95": 1.9}}
    fig = F.distribution_figure("i", d, 8)
    names = [t.name for t in fig.data]
    assert "mean 1.1" in names and "median 1.25" in names and "5 % quantile 0.1" in names
    assert fig.layout.yaxis.title.text == "number of runs"


def test_hazard_figure_draws_the_mean_band_not_run_quantiles():
    hz = {"TW": {"dates": ["2022-01-31", "2022-02-28"], "mean": [0.10, 0.12], "q10": [0.0, 0.0], "q90": [0.95, 0.9],
                 "lo": [0.08, 0.1], "hi": [0.12, 0.14]}}
    fig = F.crisis_hazard_figure("h", hz, names={"TW": "Taiwan Strait"})
    ys = [v for t in fig.data for v in (t.y or []) if v is not None]
    assert max(ys) == pytest.approx(0.14)          # nothing reaches the 90 % quantile of 0.95
    mean = _trace(fig, "Taiwan Strait: mean")
    assert "[TW]" in mean.hovertemplate            # the id stays in the tooltip
    assert "SE" in _trace(fig, "Taiwan Strait: mean ±2 SE").name


def test_triangle_configurations_in_plain_words_with_the_name_in_the_hover():
    tri = {"dates": ["2022-01-31"], "configs": {"marriage_US_outcast": [0.7], "menage": [0.3]}}
    fig = F.crisis_triangle_figure("h", tri, ["US", "RU", "CN"])
    t = _trace(fig, "RU and CN aligned, US isolated")
    assert "marriage_US_outcast" in t.hovertemplate
    assert not any(tr.name == "marriage_US_outcast" for tr in fig.data)


def test_to_json_is_plain_data():
    import json

    fig = F.crisis_agreement_figure("h", {"SSD": {"2022-01-31": 0.1}})
    d = X.to_json(fig)
    assert json.loads(json.dumps(d)) == d and d["data"][0]["name"] == "SSD"


def test_html_fragment_escapes_names():
    fig = F.crisis_agreement_figure("h", {"</script><b>x": {"2022-01-31": 0.1}})
    html = X.html_fragment(fig, "fig-x")
    assert 'id="fig-x"' in html and "</script><b>" not in html


def test_write_images_reports_a_missing_exporter(tmp_path, monkeypatch):
    monkeypatch.setattr(X, "static_export_problem", lambda: "kaleido is not installed")
    fig = F.crisis_agreement_figure("h", {"SSD": {"2022-01-31": 0.1}})
    assert X.write_images({tmp_path / "a.png": fig}) == "kaleido is not installed"
    assert not (tmp_path / "a.png").exists()


@pytest.mark.slow
def test_write_images_png_and_svg(tmp_path):
    why = X.static_export_problem()
    if why:
        pytest.skip(why)
    fig = F.crisis_agreement_figure("h", {"SSD": {"2022-01-31": 0.1, "2022-02-28": 0.2}})
    assert X.write_images({tmp_path / "a.png": fig, tmp_path / "a.svg": fig}) is None
    assert (tmp_path / "a.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in (tmp_path / "a.svg").read_text()[:500]


def test_hazard_bands_record_the_monte_carlo_se_of_the_mean():
    import numpy as np

    from detente.crisis import run

    res = run(examples.load("seesaw-2021"), {"runs": 40}, seed=3)
    hb = res.hazard_bands()
    f, j = res.flashpoints[0], 0
    # the first month end: runs at peace at that flashpoint from the first step on
    _me, k = next((me, k) for me, k in zip(res.month_ends, res.month_end_step) if k >= 0)
    steps = np.arange(0, k + 1)
    h = res.hazard[:, steps, j].astype(float)
    hm = 1.0 - np.prod(1.0 - h, axis=1) if len(steps) > 1 else h[:, 0]
    at_peace = (res.onset_step[:, j] < 0) | (res.onset_step[:, j] >= 0)
    v = hm[at_peace]
    row = next(iter(hb[f].values()))
    assert row["mean"] == pytest.approx(v.mean())
    assert row["se"] == pytest.approx(v.std(ddof=1) / np.sqrt(v.size))


def test_bands_use_the_recorded_hazard_se():
    from detente.report.charts import add_bands

    ch = {"hazard": {"h": {"F": {"dates": ["d1"], "mean": [0.10], "q10": [0.0], "q90": [0.95], "se_recorded": [0.01]}}}}
    add_bands(ch, 100)
    s = ch["hazard"]["h"]["F"]
    assert s["se"] == [0.01] and s["lo"] == [pytest.approx(0.08)] and s["hi"] == [pytest.approx(0.12)]
    assert "se_recorded" not in s and "recorded" in ch["bands"]["hazard"]


def test_markdown_report_without_static_export_says_why(tmp_path, monkeypatch):
    """No kaleido or no browser: the markdown report is still written, with a line saying why its
    figures are missing, and no half-written image is left."""
    from pathlib import Path

    from detente.crisis.analysis import run_hypotheses
    from detente.formats import load
    from detente.report.crisis import write_report

    monkeypatch.setattr(X, "static_export_problem", lambda: "kaleido is not installed (pip install 'detente[static]')")
    obj = run_hypotheses(load(Path(__file__).parent / "fixtures" / "crisis" / "toy-crisis.yaml"), hypotheses=["live"],
                         runs=50, seed=5, mechanisms="none")
    p = write_report(obj, tmp_path)
    text = p.read_text(encoding="utf-8")
    assert "The figures were not written: kaleido is not installed" in text
    assert "](" not in text.split("## Figures", 1)[1]   # no image link to a missing file
    assert not list(tmp_path.glob("*.png"))


def test_sensitivity_report_without_static_export_says_why(tmp_path, monkeypatch):
    from detente.report.sensitivity import sensitivity_lines

    monkeypatch.setattr(X, "static_export_problem", lambda: "no Chrome/Chromium found for kaleido")
    obj = {"method": "sobol", "factors": ["a"], "points": 8, "sample_size": 4,
           "indices": {"p": [{"factor": "a", "S1": 0.5, "S1_conf": 0.1, "ST": 0.6, "ST_conf": 0.1}]},
           "tornado": {"p": [{"factor": "a", "output_low": 0.1, "output_high": 0.3}]}, "baseline": {"p": 0.2}}
    lines = sensitivity_lines(obj, tmp_path, "s")
    assert "(tornado figure not written: no Chrome/Chromium found for kaleido)" in lines
    assert not any(ln.startswith("![") for ln in lines) and not list(tmp_path.glob("*.png"))


def test_leaderboard_figure_marks_the_reference_and_the_paired_intervals():
    rows = [{"name": "compromise", "mae": 20.0, "n": 50}, {"name": "bdm", "mae": 25.0, "n": 50, "ci_vs_compromise": [2.0, 8.0]},
            {"name": "nbs", "mae": 22.0, "n": 50, "n_in_sample": 10, "ci_vs_compromise": [-1.0, 5.0]}]
    fig = F.leaderboard_figure(rows, "compromise", "DEU")
    bars = fig.data[0]
    assert list(bars.y) == ["nbs", "bdm", "compromise"]   # reversed: the first row (the best) is drawn on top
    colours = dict(zip(bars.y, bars.marker.color))
    assert colours["compromise"] != colours["bdm"] == colours["nbs"]
    assert dict(zip(bars.y, bars.marker.pattern.shape))["nbs"] == "/"
    ci = {t.y[0]: list(t.x) for t in fig.data[1:]}
    assert ci == {"bdm": [22.0, 28.0], "nbs": [19.0, 25.0]}   # reference MAE + the paired CI of the difference


def test_compare_figure_marks_bounds_actors_and_each_runs_forecast(emission):
    scn, bdm = emission
    comp = run_model(scn, "compromise").to_json_dict()
    cols = P.colors(a.id for a in scn.actors)
    fig = F.compare_forecast_figure({"r1": bdm, "r2": comp}, D.scenario_meta(scn), colors=cols)
    assert list(_trace(fig, "issue bounds").x) == [4.0, 10.0]
    assert _trace(fig, "UK").marker.color == cols["UK"]
    b, c = _trace(fig, "bdm (detente)"), _trace(fig, "compromise")
    assert list(b.x) == [bdm["issues"]["emission"]["forecast"]] and list(c.x) == [comp["issues"]["emission"]["forecast"]]
    assert b.marker.symbol != c.marker.symbol and b.marker.color == c.marker.color == P.FORECAST_COLOR
