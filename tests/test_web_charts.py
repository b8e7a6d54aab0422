"""Web UI chart data, run pages of every kind of run, HTML report download, crisis jobs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
import itertools

from fastapi.testclient import TestClient

from detente import examples
from detente.formats import load
from detente.models.registry import run_model
from detente.store import Store
from detente.web.app import WebConfig, create_app

FIX = Path(__file__).parent / "fixtures"


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("DETENTE_HOME", str(tmp_path / "home"))
    app = create_app(WebConfig(library_dir=tmp_path / "lib", store_root=tmp_path / "store"))
    with TestClient(app) as c:
        yield c, Store(tmp_path / "store")


def _self_contained(html: str) -> bool:
    from detente.plotting.export import plotlyjs

    html = html.replace(plotlyjs(), "")   # inlined as shipped (its code names URLs our charts never use)
    refs = re.findall(r'(?:src|href)="([^"]*)"', html)
    return all(r.startswith(("data:", "#")) for r in refs) and not re.search(r"<script\b[^>]*\bsrc\b", html)


def test_bdm_charts_page_and_report(env):
    client, store = env
    scn = examples.load("ec_emission")
    rid = store.save(run_model(scn, "bdm", seed=0), scenario=scn)
    ch = client.get(f"/api/runs/{rid}/charts").json()
    assert ch["kind"] == "forecast" and ch["run_id"] == rid
    p = ch["perception"]["emission"]
    assert len(p["x"]) == len(p["y"]) == len(p["quadrants"]) == 90  # 10 actors, ordered pairs
    assert "conflict" in p["quadrants"]
    assert set(ch["trajectories"]["emission"]["actors"]) == {a.id for a in scn.actors}
    page = client.get(f"/runs/{rid}")
    assert page.status_code == 200 and 'id="dl-report"' in page.text and "detente.runCharts" in page.text
    rep = client.get(f"/api/runs/{rid}/report")
    assert rep.status_code == 200 and rep.headers["content-type"].startswith("text/html")
    assert "attachment" in rep.headers["content-disposition"]
    assert _self_contained(rep.text) and 'id="perception"' in rep.text


def test_exchange_network_chart(env):
    client, store = env
    scn = load(FIX / "exchange" / "exchange_4x2.csv")
    res = run_model(scn, "exchange", seed=0)
    rid = store.save(res, scenario=scn)
    net = client.get(f"/api/runs/{rid}/charts").json()["exchange_network"]
    assert {n["id"] for n in net["nodes"]} == {"a1", "a2", "a3", "a4"}
    assert sum(e["count"] for e in net["edges"]) == net["realized"] > 0
    assert all(e["source"] < e["target"] for e in net["edges"])


def test_sweep_run_page_charts_and_report(env):
    from detente.experiments.runner import run_sweep
    from detente.experiments.sweep import SweepSpec

    client, store = env
    spec = SweepSpec.model_validate(dict(
        name="w", scenario="example:ec_emission", model="compromise", seed=2, chunk_size=25,
        factors=[{"field": "position", "actors": ["UK"], "dist": {"kind": "uniform", "low": -3, "high": 0}}],
        design={"kind": "lhs", "runs": 50}))
    sw = run_sweep(spec, store=store)
    page = client.get(f"/runs/{sw.run_id}")
    assert page.status_code == 200 and "sweep run" in page.text
    ch = client.get(f"/api/runs/{sw.run_id}/charts").json()
    assert ch["kind"] == "sweep" and ch["runs"] == 50
    d = ch["distribution"]["emission"]
    assert sum(d["counts"]) == 50 and len(d["edges"]) == len(d["counts"]) + 1
    assert d["summary"]["q05"] <= d["summary"]["median"] <= d["summary"]["q95"]
    torn = ch["sensitivity"]["tornado"]["emission"]
    assert torn[0]["factor"] == "position[UK]" and torn[0]["output_high"] > torn[0]["output_low"]
    assert "fan" not in ch  # no traced positions
    assert client.get("/runs").text.count("(sweep)") == 1
    rep = client.get(f"/api/runs/{sw.run_id}/report")
    assert rep.status_code == 200 and 'id="distribution"' in rep.text and _self_contained(rep.text)


def test_crisis_job_charts_and_report(env):
    client, store = env
    r = client.post("/api/crisis-jobs", json={"source": "examples", "name": "seesaw-2021", "runs": 16,
                                              "hypotheses": ["article"], "seed": 5})
    assert r.status_code == 202, r.text
    done = client.app.state.jobs.wait(r.json()["id"], timeout=120)
    assert done.status == "done", done.error
    rid = done.result_id
    assert store.info(rid).kind == "crisis"
    ch = client.get(f"/api/runs/{rid}/charts").json()
    assert ch["kind"] == "crisis" and list(ch["p_war_by"]) == ["article"]
    pw = ch["p_war_by"]["article"]["p"]
    assert all(0 <= a <= b <= 1 for a, b in itertools.pairwise(pw))  # cumulative
    assert set(ch["hazard"]["article"]) and ch["triangle"]["article"]["dates"]
    assert client.get(f"/runs/{rid}").status_code == 200
    rep = client.get(f"/api/runs/{rid}/report")
    assert rep.status_code == 200 and 'id="hazard"' in rep.text and 'id="backtest"' in rep.text
    page = client.get("/scenario/examples/seesaw-2021")
    assert 'id="crisis-button"' in page.text


def test_crisis_job_refuses_plain_scenario_and_bad_hypothesis(env):
    client, _ = env
    r = client.post("/api/crisis-jobs", json={"source": "examples", "name": "ec_emission", "runs": 4})
    assert r.status_code == 422
    r = client.post("/api/crisis-jobs", json={"source": "examples", "name": "seesaw-2021", "runs": 0})
    assert r.status_code == 422
    # an unknown hypothesis is refused before a job starts (as `detente run -H nope` refuses it)
    r = client.post("/api/crisis-jobs", json={"source": "examples", "name": "seesaw-2021", "runs": 4, "hypotheses": ["nope"]})
    assert r.status_code == 422 and r.json()["problems"][0]["message"] == "unknown hypothesis 'nope'"
    assert client.get("/api/jobs").json()["jobs"] == []


def test_chart_errors(env):
    client, _ = env
    assert client.get("/api/runs/abcdef0123/charts").status_code == 404
    assert client.get("/api/runs/..%2f..%2fetc/charts").status_code in (400, 404)
    assert client.get("/api/runs/abcdef0123/report").status_code == 404
    assert client.get("/runs/abcdef0123").status_code == 404


def _report_traces(html: str, div_id: str) -> list[dict]:
    """The data array a report passes to Plotly.newPlot for the figure in ``div_id``."""
    import json

    m = re.search(r'Plotly\.newPlot\(\s*"' + re.escape(div_id) + r'",\s*', html)
    assert m, div_id
    data, _ = json.JSONDecoder().raw_decode(html, m.end())
    return data


def test_an_actor_has_one_colour_on_the_web_in_the_report_and_in_plot(env):
    """UK is drawn in the same colour by the web chart JSON, the HTML report and RunResult.plot(),
    on the trajectory chart and on the forecast chart, and it is the palette's colour of UK
    among the scenario's actors."""
    from detente.plotting.palette import colors
    from detente.report.html import run_report

    client, store = env
    scn = examples.load("ec_emission")
    res = run_model(scn, "bdm", seed=0)
    rid = store.save(res, scenario=scn)
    want = colors(a.id for a in scn.actors)["UK"]
    assert want != colors(a.id for a in scn.actors)["Germany"]

    figs = {f["id"]: f["figure"] for f in client.get(f"/api/runs/{rid}/charts").json()["figures"]}
    web_traj = next(t for t in figs["chart-trajectory-emission"]["data"] if t.get("name") == "UK")
    web_fc = next(t for t in figs["chart-forecast"]["data"] if t.get("name") == "UK")

    html = run_report(store, rid)
    rep_traj = next(t for t in _report_traces(html, "fig-trajectory-emission-plot") if t.get("name") == "UK")
    rep_fc = next(t for t in _report_traces(html, "fig-forecast-plot") if t.get("name") == "UK")

    fig = res.plot("emission")
    py_traj = next(t for t in fig.data if t.name == "UK")
    py_fc = next(t for t in run_model(scn, "compromise").plot(scenario=scn).data if t.name == "UK")

    assert web_traj["line"]["color"] == rep_traj["line"]["color"] == py_traj.line.color == want
    assert web_fc["marker"]["color"] == rep_fc["marker"]["color"] == py_fc.marker.color == want
