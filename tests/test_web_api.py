"""Web UI API and pages through FastAPI's TestClient."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from detente.web.app import WebConfig, create_app  # noqa: E402

FIX = Path(__file__).parent / "fixtures"


@pytest.fixture
def client(tmp_path, monkeypatch):
    monkeypatch.setenv("DETENTE_HOME", str(tmp_path / "home"))
    app = create_app(WebConfig(library_dir=tmp_path / "lib", store_root=tmp_path / "store"))
    with TestClient(app) as c:
        yield c


def _csrf(client, url="/upload") -> str:
    html = client.get(url).text
    return re.search(r'name="csrf_token" value="([0-9a-f]+)"', html).group(1)


def test_library_lists_bundled_examples(client):
    r = client.get("/")
    assert r.status_code == 200
    assert "ec_emission" in r.text
    assert client.get("/api/scenarios").json()["scenarios"][0]["source"] == "examples"


def test_plotly_served_locally(client):
    r = client.get("/static/plotly.min.js")
    assert r.status_code == 200 and len(r.content) > 1_000_000
    assert "cdn" not in client.get("/").text.lower()


def test_scenario_page_and_json(client):
    r = client.get("/scenario/examples/ec_emission")
    assert r.status_code == 200 and "Netherlands" in r.text
    doc = client.get("/api/scenarios/examples/ec_emission").json()
    assert len(doc["scenario"]["actors"]) == 10


def test_run_job_store_and_download(client):
    job = client.post("/api/jobs", json={"source": "examples", "name": "ec_emission", "model": "compromise"}).json()
    app = client.app
    done = app.state.jobs.wait(job["id"], timeout=30)
    assert done.status == "done", done.error
    res = client.get(f"/api/runs/{done.result_id}").json()
    assert res["issues"]["emission"]["forecast"] == pytest.approx(7.389955686853767, abs=1e-12)
    csv = client.get(f"/api/runs/{done.result_id}/download?format=csv")
    assert csv.status_code == 200 and "forecast" in csv.text
    pq = client.get(f"/api/runs/{done.result_id}/download?format=parquet")
    assert pq.content[:4] == b"PAR1"
    assert client.get("/runs").status_code == 200
    assert client.get(f"/runs/{done.result_id}").status_code == 200
    assert client.get(f"/compare?ids={done.result_id}").status_code == 200


def test_run_unknown_model_is_422(client):
    r = client.post("/api/jobs", json={"source": "examples", "name": "ec_emission", "model": "nope"})
    assert r.status_code == 422


def test_upload_needs_csrf(client):
    r = client.post("/upload", files={"file": ("x.yaml", b"name: x\n")})
    assert r.status_code == 403


def test_upload_error_shown_at_cell_then_fixed(client):
    token = _csrf(client)
    data = (FIX / "web" / "ktab_bad.csv").read_bytes()
    r = client.post("/upload", data={"csrf_token": token}, files={"file": ("tiny_ktab.csv", data)})
    assert r.status_code == 422, r.text[:500]
    # the bad cell (line 4, Power column = 3rd column) is highlighted
    m = re.search(r'<td class="bad"[^>]*data-row="(\d+)" data-col="(\d+)"', r.text)
    assert m, r.text[:2000]
    assert (m.group(1), m.group(2)) == ("4", "3")
    # fix it in the grid form
    form = dict(re.findall(r'<input name="(c_\d+_\d+)" value="([^"]*)"', r.text))
    form.update({"csrf_token": token, "name": "tiny_ktab.csv", "nrows": "5", "ncols": re.search(r'name="ncols" value="(\d+)"', r.text).group(1),
                 "delimiter": ","})
    form["c_3_2"] = "50"
    r2 = client.post("/upload/fix", data=form, follow_redirects=False)
    assert r2.status_code == 303, r2.text[:1000]
    assert client.get(r2.headers["location"]).status_code == 200


def test_path_traversal_refused(client):
    for url in ["/scenario/library/..%2F..%2Fetc%2Fpasswd", "/api/scenarios/library/..%2Fsecret.yaml",
                "/scenario/library/.hidden.yaml"]:
        r = client.get(url)
        assert r.status_code in (400, 404), url


def test_upload_size_limit(tmp_path, monkeypatch):
    app = create_app(WebConfig(library_dir=tmp_path / "lib", store_root=tmp_path / "store", upload_limit=1000))
    with TestClient(app) as c:
        token = _csrf(c)
        r = c.post("/upload", data={"csrf_token": token}, files={"file": ("big.csv", b"a," * 2000)})
        assert r.status_code == 413
        assert not (tmp_path / "lib" / "big.csv").exists()


def test_cross_site_json_refused(client):
    r = client.post("/api/jobs", json={"source": "examples", "name": "ec_emission", "model": "compromise"},
                    headers={"Origin": "http://evil.example"})
    assert r.status_code == 403


def test_edit_cells_of_library_scenario(client, tmp_path):
    from detente import examples

    (tmp_path / "lib" / "mine.yaml").write_text(examples.path("ec_emission").read_text())
    r = client.post("/api/scenarios/mine.yaml/cells", json={"cells": [{"actor": "UK", "issue": "emission", "field": "position", "value": 4}]})
    assert r.status_code == 200, r.text
    doc = client.get("/api/scenarios/library/mine.yaml").json()["scenario"]
    uk = [s for s in doc["stances"] if s["actor"] == "UK"][0]
    assert uk["position"] == 4
    bad = client.post("/api/scenarios/mine.yaml/cells", json={"cells": [{"actor": "UK", "issue": "emission", "field": "position", "value": 99}]})
    assert bad.status_code == 422


def test_yaml_upload_error_shown_at_line_then_fixed(client):
    token = _csrf(client)
    bad = b"name: t\nactors:\n  - {id: A, capability: 2}\n  - {id: B, capability: -1}\nissues:\n  - {id: x, lower: 0, upper: 10}\nstances:\n  - {actor: A, issue: x, position: 2, salience: 50}\n  - {actor: B, issue: x, position: 20, salience: 50}\n"
    r = client.post("/upload", data={"csrf_token": token}, files={"file": ("t.yaml", bad)})
    assert r.status_code == 422
    bad_lines = sorted(int(x) for x in re.findall(r'class="name bad" data-line="(\d+)"', r.text))
    assert bad_lines == [4, 9], bad_lines
    fixed = bad.replace(b"capability: -1", b"capability: 1").replace(b"position: 20", b"position: 8")
    r2 = client.post("/upload/fixtext", data={"csrf_token": token, "name": "t.yaml", "text": fixed.decode()}, follow_redirects=False)
    assert r2.status_code == 303 and r2.headers["location"] == "/scenario/library/t.yaml"


def test_xlsx_upload_error_shown_at_cell_and_fixed_as_csv(client, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["actor", "issue", "capability", "position", "salience"])
    ws.append(["A", "x", 1.0, 20.0, 50.0])
    ws.append(["B", "x", -3.0, 80.0, 50.0])
    p = tmp_path / "w.xlsx"
    wb.save(p)
    token = _csrf(client)
    r = client.post("/upload", data={"csrf_token": token}, files={"file": ("w.xlsx", p.read_bytes())})
    assert r.status_code == 422
    m = re.search(r'<td class="bad"[^>]*data-row="(\d+)" data-col="(\d+)"', r.text)
    assert m and (m.group(1), m.group(2)) == ("3", "3"), r.text[-3000:]
    assert 'name="name" value="w.csv"' in r.text
