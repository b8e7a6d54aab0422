"""The crisis workbench of the web UI (FastAPI's TestClient): the form's hypotheses, mechanisms
and assumption list, ``--set`` values checked as the CLI checks them, the run page's back-test,
claims and mechanism tables, the what-if link, Monte Carlo bands and the crisis comparison."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

pytest.importorskip("fastapi")

from detente.web.crisis import Q10_Q90_SD, add_bands, compare_rows, parse_sets
from web_helpers import library_client
from web_helpers import wait_job as _wait

TOY = Path(__file__).parent / "fixtures" / "crisis" / "toy-crisis.yaml"


@pytest.fixture
def client(tmp_path, monkeypatch):
    with library_client(tmp_path, monkeypatch, TOY) as c:
        yield c


def test_form_offers_hypotheses_mechanisms_and_every_number(client):
    from detente.crisis.spec import load_spec
    from detente.formats import load

    html = client.get("/scenario/library/toy-crisis.yaml").text
    for h in ("live", "calm", "believer"):
        assert f'class="crisis-hyp" value="{h}"' in html
    for m in ("escalation", "balance", "window"):
        assert f'class="crisis-mech" value="{m}"' in html
    items = load_spec(load(TOY).dynamics).num_items()
    assert html.count('class="assumption') == len(items)
    # pre-filled with the value and its range, source shown
    assert 'data-path="flashpoints[F].base_hazard_m" data-default="0.01" value="0.01"' in html
    assert "source" in html and "toy: ln 3" in html


def test_bad_set_values_are_refused_with_the_cli_problems(client):
    from detente.crisis.spec import load_spec
    from detente.errors import InputError
    from detente.formats import load

    body = {"source": "library", "name": "toy-crisis.yaml", "runs": 10, "hypotheses": ["live"],
            "sets": ["flashpoints[F].base_hazard_m=-0.5"]}
    r = client.post("/api/crisis-jobs", json=body)
    assert r.status_code == 422
    got = [p["message"] for p in r.json()["problems"]]
    with pytest.raises(InputError) as cli:   # what `detente run --set` reports for the same value
        load_spec(load(TOY).dynamics, hypothesis="live", extra={"flashpoints[F].base_hazard_m": -0.5})
    assert got == [p.message for p in cli.value.problems]
    assert got[0].startswith("(--set)")

    r = client.post("/api/crisis-jobs", json={**body, "sets": ["flashpoints[ZZ].base_hazard_m=1"]})
    assert r.status_code == 422 and "does not exist" in r.json()["problems"][0]["message"]
    r = client.post("/api/crisis-jobs", json={**body, "sets": ["missing-equals"]})
    assert r.status_code == 422 and "PATH=VALUE" in r.json()["problems"][0]["message"]
    r = client.post("/api/crisis-jobs", json={**body, "sets": [], "hypotheses": ["nope"]})
    assert r.status_code == 422 and "unknown hypothesis" in r.json()["problems"][0]["message"]
    r = client.post("/api/crisis-jobs", json={**body, "sets": [], "mechanisms": ["nope"]})
    assert r.status_code == 422 and "unknown mechanism" in r.json()["problems"][0]["message"]


def test_parse_sets_reads_values_as_the_cli_does():
    assert parse_sets(["a.b=0.5", "c=true", "d=[1, 2]", "e=text", "f=x=y"]) == {
        "a.b": 0.5, "c": True, "d": [1, 2], "e": "text", "f": "x=y"}


def test_a_run_with_set_and_mechanism_shows_tables_whatif_and_compares(client):
    base = {"source": "library", "name": "toy-crisis.yaml", "runs": 400, "seed": 3, "hypotheses": ["live"]}
    j1 = _wait(client, client.post("/api/crisis-jobs", json={**base, "mechanisms": ["escalation"]}).json())
    assert j1["status"] == "done", j1
    # the escalation switched off by --set: beta.rung = 0, as the `calm` hypothesis
    j2 = _wait(client, client.post("/api/crisis-jobs", json={**base, "sets": ["flashpoints[F].beta.rung=0"]}).json())
    assert j2["status"] == "done", j2
    a, b = j1["result_id"], j2["result_id"]
    obj_a = client.get(f"/api/runs/{a}/charts").json()

    page = client.get(f"/runs/{a}").text
    assert 'id="mechanism-table"' in page and "escalation" in page
    assert 'id="claims"' in page and "escalation_matters" in page
    assert f'href="/scenario/library/toy-crisis.yaml?from={a}"' in page

    # the what-if link: the form pre-filled with run b's settings (the --set value, runs, seed)
    form = client.get(f"/scenario/library/toy-crisis.yaml?from={b}").text
    assert 'data-path="flashpoints[F].beta.rung" data-default="1.0986122886681098" value="0"' in form
    assert 'id="crisis-runs" class="num" value="400"' in form and 'value="3"' in form
    assert 'class="crisis-hyp" value="calm" >' in form   # only the hypothesis run is checked

    # the comparison: P(war within 24 months) 1 - e^{-0.72} = 0.513 with escalation, 1 - e^{-0.24} = 0.213 without
    cmp_ = client.get(f"/compare?ids={a},{b}")
    assert cmp_.status_code == 200, cmp_.text
    assert 'id="compare-crisis"' in cmp_.text
    from detente.report.stored import load_crisis
    from detente.store import Store

    st = Store(client.app.state.config.store_root)
    rows = {r["output"]: r for r in compare_rows(load_crisis(st, a), load_crisis(st, b))}
    pw = rows["p_war_horizon"]
    assert abs(pw["a"] - (1 - math.exp(-0.72))) < 4 * pw["a_se"]
    assert abs(pw["b"] - (1 - math.exp(-0.24))) < 4 * pw["b_se"]
    assert pw["diff"] == pytest.approx(pw["b"] - pw["a"])
    assert pw["diff_se"] == pytest.approx(math.hypot(pw["a_se"], pw["b_se"]))
    assert pw["z"] < -2
    # bands on the charts: P(war by date) ± 2 SE of a proportion over 400 runs
    s = obj_a["p_war_by"]["live"]
    k = len(s["p"]) - 1
    assert s["se"][k] == pytest.approx(math.sqrt(s["p"][k] * (1 - s["p"][k]) / 400))
    assert s["hi"][k] == pytest.approx(min(1.0, s["p"][k] + 2 * s["se"][k]))
    assert obj_a["bands"]["runs"] == 400


def test_compare_refuses_a_crisis_run_with_a_model_run(client):
    from detente import examples
    from detente.models.registry import run_model
    from detente.store import Store

    job = _wait(client, client.post("/api/crisis-jobs", json={"source": "library", "name": "toy-crisis.yaml",
                                                               "runs": 20, "hypotheses": ["live"]}).json())
    st = Store(client.app.state.config.store_root)
    scn = examples.load("ec_emission")
    other = st.save(run_model(scn, "compromise"), scenario=scn)
    r = client.get(f"/compare?ids={job['result_id']},{other}")
    assert r.status_code == 400 and "two at a time" in r.text


def test_bands_hand_computed():
    ch = {"p_war_by": {"h": {"dates": ["d1", "d2"], "p": [0.0, 0.25]}},
          "hazard": {"h": {"F": {"dates": ["d1"], "mean": [0.01], "q10": [0.005], "q90": [0.02]}}},
          "triangle": {"h": {"dates": ["d1"], "configs": {"pair": [0.5]}}},
          "alignment": {"h": {"dates": [], "mean": [], "q10": [], "q90": []}}}
    add_bands(ch, 100)
    s = ch["p_war_by"]["h"]
    assert s["se"] == [0.0, pytest.approx(math.sqrt(0.25 * 0.75 / 100))]
    assert s["lo"][1] == pytest.approx(0.25 - 2 * 0.0433012701892219) and s["lo"][0] == 0.0
    hz = ch["hazard"]["h"]["F"]
    assert hz["se"][0] == pytest.approx(0.015 / Q10_Q90_SD / 10)
    assert hz["lo"][0] == pytest.approx(0.01 - 2 * 0.015 / 2.5631031310892007 / 10)
    assert ch["triangle"]["h"]["hi"]["pair"][0] == pytest.approx(0.5 + 2 * 0.05)


def test_draw_assumptions_adds_the_parameter_uncertainty_interval(client):
    """As `detente run --draw-assumptions --param-draws 4`: the uncertainty block beside the
    Monte Carlo interval, shown on the run page, and kept by the what-if form."""
    from detente.report.stored import load_crisis
    from detente.store import Store

    body = {"source": "examples", "name": "seesaw-2021", "runs": 40, "seed": 2, "hypotheses": ["article"],
            "draw_assumptions": True, "param_draws": 4}
    job = _wait(client, client.post("/api/crisis-jobs", json=body).json())
    assert job["status"] == "done", job
    obj = load_crisis(Store(client.app.state.config.store_root), job["result_id"])
    u = obj["hypotheses"]["article"]["uncertainty"]
    assert u["draw_assumptions"] is True and u["draws"] == 4 and u["runs_per_draw"] == 10
    row = u["outputs"]["months_of_peace_focal"]
    out = obj["hypotheses"]["article"]["outputs"]["months_of_peace_focal"]
    assert row["value"] == out["value"] and row["mc_interval"] == pytest.approx(
        [out["value"] - 1.959964 * out["se"], out["value"] + 1.959964 * out["se"]])
    assert row["param_interval"][0] <= row["param_interval"][1]
    page = client.get(f"/runs/{job['result_id']}").text
    assert 'id="crisis-uncertainty"' in page and "months_of_peace_focal" in page
    form = client.get(f"/scenario/examples/seesaw-2021?from={job['result_id']}").text
    assert 'id="crisis-draw" checked' in form


def test_an_invalid_crisis_description_still_shows_the_scenario_page(client, tmp_path):
    text = TOY.read_text(encoding="utf-8").replace("base_hazard_m: {value: 0.01, source: toy}",
                                                   "base_hazard_m: {value: -0.01, source: toy}")
    (tmp_path / "lib" / "bad-crisis.yaml").write_text(text, encoding="utf-8")
    r = client.get("/scenario/library/bad-crisis.yaml")
    assert r.status_code == 200 and 'id="crisis-spec-problems"' in r.text and "base_hazard_m" in r.text
    assert 'id="stance-table"' in r.text
