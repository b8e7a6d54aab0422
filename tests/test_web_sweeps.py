"""Monte Carlo sweeps and sensitivity studies from the web UI (``POST /api/sweep-jobs``)."""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient

from detente.web.app import WebConfig, create_app
from web_helpers import wait_job as _wait


@pytest.fixture
def client(tmp_path, monkeypatch):
    monkeypatch.setenv("DETENTE_HOME", str(tmp_path / "home"))
    app = create_app(WebConfig(library_dir=tmp_path / "lib", store_root=tmp_path / "store"))
    with TestClient(app) as c:
        yield c


def test_sweep_from_the_web_is_the_front_door_sweep(client, tmp_path):
    """Same spec, same bytes: the web's sweep and ``detente.sweep`` give the same run."""
    import detente
    from detente.store import Store

    body = {"source": "examples", "name": "ec_emission", "model": "compromise", "vary": ["salience=+-10"],
            "runs": 30, "seed": 4}
    job = _wait(client, client.post("/api/sweep-jobs", json=body).json())
    assert job["status"] == "done", job
    ch = client.get(f"/api/runs/{job['result_id']}/charts").json()
    assert ch["kind"] == "sweep" and ch["runs"] == 30 and "emission" in ch["distribution"]
    from detente.experiments.export import run_table

    # the front door, in another store, gives the same table; in the same store, the same run (keyed)
    ref = detente.sweep("ec_emission", "compromise", vary=["salience=+-10"], runs=30, seed=4, store=Store(tmp_path / "other"))
    web = run_table(Store(tmp_path / "store"), job["result_id"])
    assert web.equals(ref.to_df()) and len(web) > 0
    again = detente.sweep("ec_emission", "compromise", vary=["salience=+-10"], runs=30, seed=4, store=Store(tmp_path / "store"))
    assert again.run_id == job["result_id"]


def test_sobol_study_from_the_web_has_indices(client):
    body = {"source": "examples", "name": "ec_emission", "model": "compromise", "design": "sobol", "n": 8,
            "vary": ["salience[UK]=+-20", "position[Germany]=+-10"], "seed": 1}
    job = _wait(client, client.post("/api/sweep-jobs", json=body).json())
    assert job["status"] == "done", job
    sens = client.get(f"/api/runs/{job['result_id']}/charts").json()["sensitivity"]
    assert sens["method"] == "sobol"
    rows = sens["indices"]["emission"]
    assert {r["factor"] for r in rows} == {"salience[UK,emission]", "position[Germany,emission]"}
    assert client.get(f"/api/runs/{job['result_id']}/charts").json()["runs"] == 8 * (2 + 2)   # Saltelli, first and total order: n (k + 2)
    # n = 8 is far too small: the warnings of `detente sensitivity`, with the sample size needed
    from detente.experiments.sensitivity import index_warnings

    assert sens["sample_size"] == 8
    assert sens["warnings"] == [f"emission: {w}" for w in index_warnings("sobol", rows, 8)]
    assert sens["warnings"] and any("about N = " in w for w in sens["warnings"]), sens["warnings"]


def test_bad_sweeps_are_refused_before_a_job(client):
    base = {"source": "examples", "name": "ec_emission", "model": "compromise", "runs": 5}
    r = client.post("/api/sweep-jobs", json={**base, "vary": ["salience=+-"]})
    assert r.status_code == 422 and "--vary 'salience=+-'" in r.json()["problems"][0]["message"]
    r = client.post("/api/sweep-jobs", json={**base, "vary": ["salience[ZZ]=+-5"]})
    assert r.status_code == 422 and "ZZ" in str(r.json()["problems"])
    r = client.post("/api/sweep-jobs", json={**base, "model": "no-such-model", "vary": ["salience=+-5"]})
    assert r.status_code == 422
    r = client.post("/api/sweep-jobs", json={**base, "vary": []})
    assert r.status_code == 422
    assert client.get("/api/jobs").json()["jobs"] == []
