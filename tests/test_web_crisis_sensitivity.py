"""A crisis sensitivity study from the web UI (FastAPI's TestClient): the form's "vary" boxes and
outputs, the request checked as `detente sensitivity` checks it (422 with the problems, and a cap
on the cost), the job stored as a `crisis_sensitivity` run with the numbers of the library call,
its page (indices with their intervals, tornado table) and its charts."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("fastapi")

from web_helpers import library_client, wait_job

TOY = Path(__file__).parent / "fixtures" / "crisis" / "toy-sobol.yaml"
FA, FB = "flashpoints[F].base_hazard_m", "flashpoints[G].base_hazard_m"
BODY = {"source": "library", "name": "toy-sobol.yaml", "method": "sobol", "n": 16, "factors": [FA, FB],
        "outputs": ["p_war_horizon"], "runs_per_point": 40, "tornado_runs": 200, "seed": 3}


@pytest.fixture
def client(tmp_path, monkeypatch):
    with library_client(tmp_path, monkeypatch, TOY) as c:
        yield c


def test_the_form_offers_vary_boxes_for_numbers_with_a_range_and_the_outputs(client):
    html = client.get("/scenario/library/toy-sobol.yaml").text
    assert 'id="crisis-sens-card"' in html
    for p in (FA, FB):
        assert f'class="sens-vary" value="{p}"' in html
    assert html.count('class="sens-vary"') == 2            # only the two numbers with an assumption range
    assert 'class="sens-output" value="p_war_horizon"' in html
    assert 'value="p_war_by_end"' not in html              # the toy has no record


def test_bad_requests_are_refused_before_the_job_starts(client):
    r = client.post("/api/crisis-sensitivity-jobs", json={**BODY, "factors": ["flashpoints[F].beta.rung"]})
    assert r.status_code == 422 and "no assumption range" in r.text
    r = client.post("/api/crisis-sensitivity-jobs", json={**BODY, "outputs": ["p_war_by_end"]})
    assert r.status_code == 422 and "unknown output" in r.text
    r = client.post("/api/crisis-sensitivity-jobs", json={**BODY, "hypothesis": "nope"})
    assert r.status_code == 422 and "unknown hypothesis" in r.text
    r = client.post("/api/crisis-sensitivity-jobs", json={**BODY, "n": 8192, "runs_per_point": 1000})
    assert r.status_code == 422 and "at most 5,000,000" in r.text and "32,768 points" in r.text
    assert client.get("/api/runs").json()["runs"] == []


def test_a_study_is_stored_with_the_numbers_of_the_library_and_shown(client, tmp_path):
    from detente.experiments.crisis_sensitivity import crisis_sensitivity
    from detente.formats import load

    job = wait_job(client, client.post("/api/crisis-sensitivity-jobs", json=BODY).json())
    assert job["status"] == "done", job
    rid = job["result_id"]
    (run,) = client.get("/api/runs").json()["runs"]
    assert run["kind"] == "crisis_sensitivity" and run["run_id"] == rid
    direct = crisis_sensitivity(load(TOY), method="sobol", n=16, factors=[FA, FB], outputs=["p_war_horizon"],
                                runs_per_point=40, tornado_runs=200, seed=3).to_json_dict()
    ch = client.get(f"/api/runs/{rid}/charts").json()
    assert ch["kind"] == "crisis_sensitivity"
    s = ch["sensitivity"]
    assert s["indices"] == direct["indices"] and s["tornado"] == direct["tornado"] and s["warnings"] == direct["warnings"]
    assert [f["id"] for f in ch["figures"]] == ["chart-indices-p-war-horizon", "chart-tornado-p-war-horizon"]
    bars = ch["figures"][0]["figure"]["data"]          # S1 and ST with their intervals as error bars, ST order
    st = next(b for b in bars if b["name"].startswith("ST"))
    assert st["y"][0] == FA and st["error_x"]["array"][0] == pytest.approx(rows_st := direct["indices"]["p_war_horizon"][0]["ST_conf"])
    assert rows_st > 0
    page = client.get(f"/runs/{rid}").text
    rows = {r["factor"]: r for r in direct["indices"]["p_war_horizon"]}
    a = rows[FA]
    assert f"[{a['ST'] - a['ST_conf']:.3f}, {a['ST'] + a['ST_conf']:.3f}]" in page   # the interval of ST
    table = page[page.index('id="sens-indices-0"'):]
    assert a["ST"] > rows[FB]["ST"] and table.index(FA) < table.index(FB)   # sorted by the total index
    assert "too small" in page                                # N = 16: the warning is shown
    rep = client.get(f"/api/runs/{rid}/report")                # the self-contained HTML report
    assert rep.status_code == 200 and "sobol indices — p_war_horizon" in rep.text
    assert f"{a['ST_conf']:.4g}" in rep.text and "the sample is too small" in rep.text


def test_a_stored_study_through_the_run_api_download_and_compare(client, tmp_path):
    """/api/runs/{id} and the JSON download give the stored study; CSV and Parquet its indices, one
    row per output and number; the compare view refuses a study with a message."""
    import io
    import json

    import pandas as pd

    from detente.experiments.crisis_sensitivity import crisis_sensitivity
    from detente.formats import load

    job = wait_job(client, client.post("/api/crisis-sensitivity-jobs", json=BODY).json())
    rid = job["result_id"]
    direct = crisis_sensitivity(load(TOY), method="sobol", n=16, factors=[FA, FB], outputs=["p_war_horizon"],
                                runs_per_point=40, tornado_runs=200, seed=3).to_json_dict()
    got = client.get(f"/api/runs/{rid}")
    assert got.status_code == 200
    obj = got.json()
    assert obj["indices"] == direct["indices"] and obj["tornado"] == direct["tornado"]
    js = client.get(f"/api/runs/{rid}/download", params={"format": "json"})
    assert js.status_code == 200 and "attachment" in js.headers["content-disposition"]
    assert json.loads(js.text)["indices"] == direct["indices"]
    csv = client.get(f"/api/runs/{rid}/download", params={"format": "csv"})
    assert csv.status_code == 200
    df = pd.read_csv(io.StringIO(csv.text))
    assert list(df["output"]) == ["p_war_horizon", "p_war_horizon"] and set(df["factor"]) == {FA, FB}
    for row in direct["indices"]["p_war_horizon"]:
        got_row = df[df["factor"] == row["factor"]].iloc[0]
        assert got_row["ST"] == pytest.approx(row["ST"]) and got_row["S1_conf"] == pytest.approx(row["S1_conf"])
    pq = client.get(f"/api/runs/{rid}/download", params={"format": "parquet"})
    assert pq.status_code == 200 and len(pd.read_parquet(io.BytesIO(pq.content))) == 2
    cmp = client.get("/compare", params={"ids": f"{rid},{rid}"})
    assert cmp.status_code == 400 and "crisis sensitivity studies are not compared" in cmp.text and rid in cmp.text
