"""Static HTML reports (`detente report`): self-contained, with the expected sections and figures."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from detente import examples
from detente.cli import app
from detente.formats import load
from detente.models.registry import run_model
from detente.report import charts as C
from detente.report.html import file_report, run_report
from detente.report.stored import load_crisis, save_crisis
from detente.store import Store

FIX = Path(__file__).parent / "fixtures"
runner = CliRunner()


def assert_self_contained(html: str) -> None:
    # plotly.js is inlined as shipped by the plotly package (its code names URLs in strings that
    # our charts never use, e.g. map tiles): everything else in the page is scanned
    from detente.plotting.export import plotlyjs

    js = plotlyjs()
    assert html.count(js) <= 1
    html = html.replace(js, "")
    # no resource is fetched from anywhere: every src/href is a data: URI or an in-page anchor
    refs = re.findall(r'(?:src|href)\s*=\s*["\']([^"\']*)["\']', html, flags=re.I)
    refs += re.findall(r'(?:src|href)\s*=\s*([^\s"\'>][^\s>]*)', html, flags=re.I)  # unquoted
    bad = [r for r in refs if not (r.startswith("data:") or r.startswith("#"))]
    assert not bad, bad
    assert not re.search(r'<(script|link|iframe)\b[^>]*\b(src|href)=', html, flags=re.I)
    # scripts are inline only (plotly.js and the figures): no script loads anything
    assert not re.search(r"<script\b[^>]*\bsrc\b", html, flags=re.I)
    assert not re.search(r"https?://", html), re.search(r".{40}https?://.{40}", html)
    # nor from CSS or responsive images: url(...) only with data: URIs, no @import, no srcset
    # candidates other than data: URIs
    urls = re.findall(r'url\(\s*["\']?\s*([^"\')\s]*)', html, flags=re.I)
    bad = [u for u in urls if not u.lower().startswith("data:")]
    assert not bad, bad
    assert not re.search(r"@import\b", html, flags=re.I), "CSS @import"
    for srcset in re.findall(r'srcset\s*=\s*(["\'])(.*?)\1', html, flags=re.I | re.S):
        cands = [c.strip().split()[0] for c in re.split(r",\s+(?=\S)", srcset[1]) if c.strip()]
        bad = [c for c in cands if not c.lower().startswith("data:")]
        assert not bad, bad
    assert not re.search(r"\bsrcset\s*=\s*[^\s\"']", html, flags=re.I), "unquoted srcset"


@pytest.mark.parametrize("html", [
    '<style>body { background: url(https://x.example/bg.png) }</style>',
    "<style>h1 { background-image: url( 'http://x.example/a.svg' ) }</style>",
    '<div style="background:url(//x.example/a.png)"></div>',
    '<style>@import "https://fonts.example/css";</style>',
    "<style>@import url(https://fonts.example/css);</style>",
    '<img alt="" src="data:image/png;base64,AAAA" srcset="data:image/png;base64,AAAA 1x, https://x.example/b.png 2x">',
    '<picture><source srcset="https://x.example/b.webp"></picture>',
    '<img alt="" src=https://x.example/a.png>',
])
def test_assert_self_contained_catches_remote_resources(html):
    with pytest.raises(AssertionError):
        assert_self_contained("<!doctype html><html><body>" + html + "</body></html>")


def test_assert_self_contained_accepts_data_uris():
    assert_self_contained('<style>body { background: url("data:image/png;base64,AAAA") }</style>'
                          '<img alt="" src="data:image/png;base64,AAAA" srcset="data:image/png;base64,AAAA 2x">'
                          '<a href="#top">top</a>')


def figure_ids(html: str) -> list[str]:
    """Ids of the report's figures that hold a drawn plotly figure (a div and its Plotly.newPlot call)."""
    return re.findall(r'<figure id="([^"]+)" class="figure"><div[^>]*>\s*<div id="\1-plot" class="plotly-graph-div"'
                      r'[^>]*></div>\s*<script[^>]*>.*?Plotly\.newPlot\(\s*"\1-plot"', html, flags=re.S)


@pytest.fixture
def store(tmp_path):
    return Store(tmp_path / "store")


def test_bdm_report(store):
    scn = examples.load("ec_emission")
    res = run_model(scn, "bdm", seed=0)
    rid = store.save(res, scenario=scn)
    html = run_report(store, rid)
    assert_self_contained(html)
    for anchor in ("provenance", "inputs", "forecasts", "trajectories", "perception", "notes"):
        assert f'id="{anchor}"' in html
    assert res.key in html and res.input_hash in html and "bdm" in html and "Netherlands" in html
    assert figure_ids(html) == ["fig-forecast", "fig-trajectory-emission", "fig-perception-emission"]
    assert 'id="scenario-table"' in html and 'id="forecasts"' in html


def test_exchange_report_has_network(store):
    scn = load(FIX / "exchange" / "exchange_4x2.csv")
    res = run_model(scn, "exchange", seed=0)
    rid = store.save(res, scenario=scn)
    html = run_report(store, rid)
    assert_self_contained(html)
    assert 'id="exchange-network"' in html and 'id="exchanges"' in html
    figs = figure_ids(html)
    assert "fig-exchange-network" in figs and "fig-trajectory-p" in figs and "fig-forecast" in figs
    net = C.result_charts(res.to_json_dict())["exchange_network"]
    assert sum(e["count"] for e in net["edges"]) == net["realized"] == sum(r["realized"] for r in res.extra["rounds"])


def _sweep(store, **kw):
    from detente.experiments.runner import run_sweep
    from detente.experiments.sweep import SweepSpec

    base = dict(name="t", scenario="example:ec_emission", model="bdm", seed=1, chunk_size=8, trace="positions",
                params={"rounds": 3},
                factors=[{"field": "salience", "actors": ["UK", "Germany"], "dist": {"kind": "uniform", "low": -20, "high": 20},
                          "clip": [0, 100], "per": "cell"}],
                design={"kind": "montecarlo", "runs": 16})
    base.update(kw)
    return run_sweep(SweepSpec.model_validate(base), store=store)


def test_sweep_report_distribution_fan_tornado(store):
    sw = _sweep(store)
    ch = C.sweep_charts(store, sw.run_id)
    assert sum(ch["distribution"]["emission"]["counts"]) == 16
    assert ch["distribution"]["emission"]["summary"]["median"] == pytest.approx(sw.summary()["median"].iloc[0])
    assert set(ch["fan"]["emission"]) == {a.id for a in examples.load("ec_emission").actors}
    assert len(ch["fan"]["emission"]["UK"]["round"]) == 4
    assert {r["factor"] for r in ch["sensitivity"]["tornado"]["emission"]} <= set(sw.columns)
    html = run_report(store, sw.run_id)
    assert_self_contained(html)
    for anchor in ("provenance", "inputs", "distribution", "fan", "sensitivity"):
        assert f'id="{anchor}"' in html
    assert figure_ids(html) == ["fig-distribution-emission", "fig-fan-emission", "fig-tornado-emission"]
    assert html.count("<script") == 1 + 3   # plotly.js once, then one script per figure


def test_sensitivity_sweep_report_has_sobol_indices(store):
    from detente.experiments.sensitivity import run_sensitivity
    from detente.experiments.sweep import SweepSpec

    spec = SweepSpec.model_validate(dict(
        name="s", scenario="example:ec_emission", model="compromise", seed=3,
        factors=[{"field": "salience", "actors": ["UK"], "dist": {"kind": "uniform", "low": -10, "high": 10}, "clip": [0, 100]},
                 {"field": "position", "actors": ["Germany"], "dist": {"kind": "uniform", "low": -2, "high": 2}}]))
    sres = run_sensitivity(spec, method="sobol", n=16, store=store)
    ch = C.sweep_charts(store, sres.run_id)
    # the same SALib analysis of the stored sample as run_sensitivity
    for key in ("S1", "ST"):
        assert [r[key] for r in ch["sensitivity"]["indices"]["emission"]] == pytest.approx(
            [r[key] for r in sres.indices["emission"]])
    html = run_report(store, sres.run_id, sensitivity=sres)
    assert "fig-indices-emission" in figure_ids(html) and "fig-tornado-emission" in figure_ids(html)
    assert "one at a time" in html


def test_crisis_stored_and_file_reports(store, tmp_path):
    from detente.crisis.analysis import run_hypotheses

    scn = examples.load("seesaw-2021")
    obj = run_hypotheses(scn, hypotheses=["article"], runs=64, with_counterfactuals=False)
    rid = save_crisis(store, obj, scenario=scn)
    assert save_crisis(store, obj, scenario=scn) == rid and store.info(rid).kind == "crisis"
    assert load_crisis(store, rid) == json.loads(json.dumps(obj))
    html = run_report(store, rid)
    assert_self_contained(html)
    for anchor in ("provenance", "months", "backtest", "hazard", "triangle"):
        assert f'id="{anchor}"' in html
    figs = figure_ids(html)
    assert "fig-p-war" in figs and "fig-hazard-article" in figs and "fig-triangle-article" in figs
    f = tmp_path / "crisis.json"
    f.write_text(json.dumps(obj))
    assert figure_ids(file_report(f)) == figs


def test_cli_report(tmp_path, monkeypatch):
    monkeypatch.setenv("DETENTE_HOME", str(tmp_path / "home"))
    ex = Path(examples.path("ec_emission"))
    r = runner.invoke(app, ["forecast", str(ex), "-m", "compromise", "--json"])
    rid = json.loads(r.stdout)["run_id"]
    out = tmp_path / "r.html"
    r = runner.invoke(app, ["report", rid, "--format", "html", "--out", str(out), "--json"])
    assert r.exit_code == 0, r.output
    obj = json.loads(r.stdout)
    assert set(obj) == {"run", "kind", "format", "path", "bytes"} and obj["kind"] == "forecast"
    assert_self_contained(out.read_text())
    assert runner.invoke(app, ["report", "abcd0000", "--json"]).exit_code == 2
    assert runner.invoke(app, ["report", rid, "--format", "pdf"]).exit_code == 2
    bad = tmp_path / "bad.json"
    bad.write_text('{"hello": 1}')
    r = runner.invoke(app, ["report", str(bad), "--json"])
    assert r.exit_code == 2 and json.loads(r.stdout)["error"] == "invalid input"
