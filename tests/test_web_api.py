"""Web UI API and pages through FastAPI's TestClient."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient

from detente.web.app import WebConfig, create_app

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


# a remote URL: http://, https:// or protocol-relative //host
_REMOTE = r"""(?:https?:)?//[^"'\s)>]"""


def assert_no_remote_resources(html: str, where: str) -> None:
    """No script, style, image, frame or font of the page is fetched from another host."""
    bad = []
    bad += re.findall(r"""<(?:script|img|iframe|embed|source|audio|video|input)\b[^>]*\bsrc\s*=\s*["']?\s*""" + _REMOTE, html, re.I)
    bad += re.findall(r"""<link\b[^>]*\bhref\s*=\s*["']?\s*""" + _REMOTE, html, re.I)
    bad += re.findall(r"""\bsrcset\s*=\s*["'][^"']*""" + _REMOTE, html, re.I)
    bad += re.findall(r"""url\(\s*["']?\s*""" + _REMOTE, html, re.I)
    bad += re.findall(r"""@import\s+(?:url\()?\s*["']?\s*""" + _REMOTE, html, re.I)
    bad += re.findall(r"""<object\b[^>]*\bdata\s*=\s*["']?\s*""" + _REMOTE, html, re.I)
    assert not bad, (where, bad)


def test_assert_no_remote_resources_catches_remote_references():
    for html in ['<script src="https://cdn.plot.ly/plotly.js"></script>', "<script src='//cdn.x/y.js'></script>",
                 '<link rel="stylesheet" href="http://x.example/s.css">', '<img srcset="a.png 1x, https://x/b.png 2x">',
                 '<style>body{background:url(https://x/y.png)}</style>', '<style>@import "https://x/s.css";</style>',
                 "<style>@import url(//x/s.css);</style>"]:
        with pytest.raises(AssertionError):
            assert_no_remote_resources(html, "sample")
    assert_no_remote_resources('<script src="/static/plotly.min.js"></script><a href="https://example.org/doc">doc</a>', "ok")


def test_plotly_served_locally(client):
    r = client.get("/static/plotly.min.js")
    assert r.status_code == 200 and len(r.content) > 1_000_000
    js = client.get("/static/detente.js")
    assert js.status_code == 200 and not re.search(r"https?://", js.text)
    job = client.post("/api/jobs", json={"source": "examples", "name": "ec_emission", "model": "bdm"}).json()
    done = client.app.state.jobs.wait(job["id"], timeout=60)
    assert done.status == "done", done.error
    rid = done.result_id
    pages = {url: client.get(url) for url in ["/", "/scenario/examples/ec_emission", "/scenario/examples/seesaw-2021",
                                              "/upload", "/runs", f"/runs/{rid}", f"/compare?ids={rid}"]}
    # the upload page showing an error, and the HTML report download
    pages["upload error"] = client.post("/upload", data={"csrf_token": _csrf(client)},
                                        files={"file": ("t.yaml", b"name: t\nactors: 3\n")})
    pages["report"] = client.get(f"/api/runs/{rid}/report")
    for where, r in pages.items():
        assert r.status_code in (200, 422), (where, r.status_code)
        assert "<html" in r.text.lower(), where
        assert_no_remote_resources(r.text, where)
    assert '<script src="/static/plotly.min.js"' in pages[f"/runs/{rid}"].text


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


@pytest.mark.parametrize("body,column", [
    ({"model": "bdm", "variant": "scholz2011", "params": {"variant": "masad2014"}}, "variant"),   # params vs variant
    ({"model": "bdm", "rounds": 4, "params": {"rounds": 5}}, "rounds"),                    # params vs rounds
    ({"model": "bdm", "params": {"no_such_parameter": 1}}, "no_such_parameter"),            # unknown parameter
    ({"model": "bdm", "params": {"rounds": True}}, "rounds"),                              # wrong type
    ({"model": "bdm", "variant": "no_such_variant"}, "variant"),                           # unknown variant
    ({"model": "compromise", "rounds": 3}, "rounds"),                                      # model without rounds
])
def test_run_invalid_params_is_422_before_any_job(client, body, column):
    """Used to be accepted (202) and fail inside the background job."""
    r = client.post("/api/jobs", json={"source": "examples", "name": "ec_emission", **body})
    assert r.status_code == 422, r.text
    detail = r.json()
    detail = detail.get("detail", detail)
    assert any(p.get("column") == column for p in detail["problems"]), detail
    assert client.get("/api/jobs").json()["jobs"] == []


def test_run_valid_params_start_a_job(client):
    r = client.post("/api/jobs", json={"source": "examples", "name": "ec_emission", "model": "bdm", "rounds": 2,
                                       "variant": "scholz2011", "params": {"variant": "scholz2011", "rounds": 2}})
    assert r.status_code == 202, r.text
    done = client.app.state.jobs.wait(r.json()["id"], timeout=60)
    assert done.status == "done", done.error
    res = client.get(f"/api/runs/{done.result_id}").json()
    assert res["params"]["variant"] == "scholz2011" and res["params"]["rounds"] == 2


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


@pytest.fixture
def planted(client, tmp_path, monkeypatch):
    """Valid scenario files a careless join would find (outside the library, hidden, with
    ``..`` in the name), and a record of every scenario file the app reads."""
    import detente.web.app as web
    from detente import examples

    text = examples.path("ec_emission").read_text()
    lib = tmp_path / "lib"
    lib.mkdir(exist_ok=True)
    (tmp_path / "secret.yaml").write_text(text)
    (lib / ".hidden.yaml").write_text(text)
    (lib / "a..b.yaml").write_text(text)
    read: list[Path] = []
    real = web.load_scenario

    def spy(path, *a, **k):
        read.append(Path(path))
        return real(path, *a, **k)

    monkeypatch.setattr(web, "load_scenario", spy)
    return tmp_path, read


_BAD_NAMES = ["..", "../secret.yaml", "../../secret.yaml", "lib/../secret.yaml", ".hidden.yaml", "a..b.yaml",
              "x" * 300 + ".yaml", "a\x00b.yaml", "mine.yaml\x00.txt", "/etc/passwd", "..\\secret.yaml", "", " "]


def test_path_traversal_through_handlers_refused(client, planted):
    """Names that reach the handlers (JSON bodies, plain path segments): safe_join refuses
    them and no file outside the library (nor a hidden or dotted one) is read."""
    tmp, read = planted
    for name in [*_BAD_NAMES, str(tmp / "secret.yaml")]:
        r = client.post("/api/jobs", json={"source": "library", "name": name, "model": "compromise"})
        assert r.status_code in (400, 404), (name, r.status_code, r.text[:200])
        assert "error" in r.json(), name  # the handler's answer, not a validation error of the body
        r = client.post("/api/crisis-jobs", json={"source": "library", "name": name, "runs": 2})
        assert r.status_code in (400, 404), (name, r.status_code, r.text[:200])
    for name in [".hidden.yaml", "a..b.yaml", "x" * 300 + ".yaml", "..."]:
        for url in (f"/api/scenarios/library/{name}", f"/scenario/library/{name}"):
            r = client.get(url)
            assert r.status_code in (400, 404), (url, r.status_code)
        r = client.post(f"/api/scenarios/{name}/cells",
                        json={"cells": [{"actor": "UK", "issue": "emission", "field": "position", "value": 4}]})
        assert r.status_code in (400, 404), (name, r.status_code)
    assert read == [], read
    assert client.app.state.jobs.list() == []
    assert (tmp / "lib" / ".hidden.yaml").read_text() == (tmp / "secret.yaml").read_text()  # not edited


def test_upload_size_limit(tmp_path, monkeypatch):
    app = create_app(WebConfig(library_dir=tmp_path / "lib", store_root=tmp_path / "store", upload_limit=1000))
    with TestClient(app) as c:
        token = _csrf(c)
        r = c.post("/upload", data={"csrf_token": token}, files={"file": ("big.csv", b"a," * 2000)})
        assert r.status_code == 413
        assert not (tmp_path / "lib" / "big.csv").exists()


@pytest.mark.parametrize("headers", [{"Origin": "http://evil.example"}, {"Origin": "null"},
                                     {"Referer": "http://evil.example/page"}, {"Origin": "http://testserver.evil.example"}])
def test_cross_site_json_refused(client, tmp_path, headers):
    """Every state-changing JSON endpoint refuses a cross-site request and changes nothing."""
    from detente import examples

    lib = tmp_path / "lib"
    lib.mkdir(exist_ok=True)
    text = examples.path("ec_emission").read_text()
    (lib / "mine.yaml").write_text(text)
    calls = [
        ("/api/jobs", dict(json={"source": "examples", "name": "ec_emission", "model": "compromise"})),
        ("/api/crisis-jobs", dict(json={"source": "examples", "name": "seesaw-2021", "runs": 2})),
        ("/api/scenarios/mine.yaml/cells",
         dict(json={"cells": [{"actor": "UK", "issue": "emission", "field": "position", "value": 4}]})),
        ("/api/validate", dict(files={"file": ("e.yaml", text.encode())})),
    ]
    for url, kw in calls:
        r = client.post(url, headers=headers, **kw)
        assert r.status_code == 403, (url, r.status_code, r.text[:200])
    assert client.app.state.jobs.list() == []
    assert (lib / "mine.yaml").read_text() == text
    # the same requests from the app's own pages go through
    for url, kw in calls:
        r = client.post(url, headers={"Origin": "http://testserver"}, **kw)
        assert r.status_code in (200, 202), (url, r.status_code, r.text[:200])


def test_edit_cells_of_library_scenario(client, tmp_path):
    from detente import examples

    (tmp_path / "lib" / "mine.yaml").write_text(examples.path("ec_emission").read_text())
    r = client.post("/api/scenarios/mine.yaml/cells", json={"cells": [{"actor": "UK", "issue": "emission", "field": "position", "value": 4}]})
    assert r.status_code == 200, r.text
    doc = client.get("/api/scenarios/library/mine.yaml").json()["scenario"]
    uk = next(s for s in doc["stances"] if s["actor"] == "UK")
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
