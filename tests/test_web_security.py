"""Security review of the web UI: path traversal, cross-site checks, odd form input, body limits."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient

from detente import examples
from detente.web.app import WebConfig, create_app


@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.setenv("DETENTE_HOME", str(tmp_path / "home"))
    return create_app(WebConfig(library_dir=tmp_path / "lib", store_root=tmp_path / "store", upload_limit=4000))


@pytest.fixture
def client(app):
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def _csrf(client) -> str:
    return re.search(r'name="csrf_token" value="([0-9a-f]+)"', client.get("/upload").text).group(1)


def test_examples_source_cannot_reach_files_outside_the_package(client, app, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.yaml").write_text(examples.path("ec_emission").read_text())
    stem = str(outside / "secret")
    rel = "../" * 12 + stem.lstrip("/")
    for name in (stem, stem + ".yaml", rel):
        r = client.post("/api/jobs", json={"source": "examples", "name": name, "model": "compromise"})
        assert r.status_code == 404, (name, r.status_code, r.text)
        r = client.post("/api/crisis-jobs", json={"source": "examples", "name": name})
        assert r.status_code == 404, (name, r.status_code, r.text)
    assert app.state.jobs.list() == []
    # bundled examples still load, with or without suffix
    assert client.get("/api/scenarios/examples/ec_emission").status_code == 200
    assert client.get("/api/scenarios/examples/ec_emission.yaml").status_code == 200


@pytest.mark.parametrize("url", ["/api/scenarios/examples/" + "a" * 5000, "/scenario/examples/" + "a" * 5000,
                                 "/api/scenarios/examples/a%00b", "/scenario/library/" + "a" * 5000,
                                 "/scenario/library/a%00.yaml", "/api/runs/" + "a" * 5000, "/runs/%00"])
def test_odd_names_are_client_errors(client, url):
    r = client.get(url)
    assert 400 <= r.status_code < 500, (url, r.status_code)


@pytest.mark.parametrize("ids", ["", ",", ",,"])
def test_compare_without_ids_is_400(client, ids):
    assert client.get(f"/compare?ids={ids}").status_code == 400


def test_symlink_out_of_the_library_refused(client, tmp_path):
    (tmp_path / "outside").mkdir()
    target = tmp_path / "outside" / "s.yaml"
    target.write_text(examples.path("ec_emission").read_text())
    (tmp_path / "lib" / "link.yaml").symlink_to(target)
    assert client.get("/api/scenarios/library/link.yaml").status_code == 400
    assert client.post("/api/scenarios/link.yaml/cells", json={"cells": []}).status_code == 400


@pytest.mark.parametrize("fields", [{"nrows": "x", "ncols": "2"}, {"nrows": "", "ncols": "2"}, {"nrows": "1", "ncols": "1e3"},
                                    {"nrows": "100000", "ncols": "1000"}])
def test_fix_form_with_odd_sizes_is_400(client, fields):
    r = client.post("/upload/fix", data={"csrf_token": _csrf(client), "name": "a.csv", **fields})
    assert r.status_code == 400, r.status_code


def test_origin_null_is_cross_site(client):
    body = {"source": "examples", "name": "ec_emission", "model": "compromise"}
    assert client.post("/api/jobs", json=body, headers={"Origin": "null"}).status_code == 403
    assert client.post("/api/jobs", json=body, headers={"Origin": "http://testserver"}).status_code == 202
    assert client.post("/api/jobs", json=body, headers={"Referer": "http://testserver/scenario/examples/ec_emission"}).status_code == 202


def _stream_upload(app, chunks: int, headers=()) -> tuple[int, int]:
    """POST a multipart upload of ``chunks`` x 64 KiB straight to the ASGI app; return the
    response status and how many body messages the app pulled."""
    import asyncio

    head = b'--bnd\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\nContent-Type: text/csv\r\n\r\n'
    pulled = 0

    async def receive():
        nonlocal pulled
        pulled += 1
        if pulled == 1:
            return {"type": "http.request", "body": head, "more_body": True}
        if pulled <= chunks:
            return {"type": "http.request", "body": b"1," * 32768, "more_body": True}
        return {"type": "http.request", "body": b"\r\n--bnd--\r\n", "more_body": False}

    sent = []

    async def send(msg):
        sent.append(msg)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/upload", "raw_path": b"/upload", "query_string": b"", "root_path": "",
             "client": ("127.0.0.1", 1), "server": ("testserver", 80),
             "headers": [(b"host", b"testserver"), (b"content-type", b"multipart/form-data; boundary=bnd"), *headers]}
    asyncio.run(app(scope, receive, send))
    return sent[0]["status"], pulled


def test_oversized_upload_refused_while_streaming(app):
    # 200 x 64 KiB = 12.5 MiB against a limit of 4000 bytes: refused long before the end
    status, pulled = _stream_upload(app, 200)
    assert status == 413
    assert pulled < 50, pulled


def test_oversized_content_length_refused_before_reading(app):
    status, pulled = _stream_upload(app, 200, headers=[(b"content-length", str(200 * 65536).encode())])
    assert status == 413 and pulled == 0


def _alias_bomb(levels: int) -> bytes:
    lines = ["name: t", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{k}: &a{k} [" + ", ".join([f"*a{k - 1}"] * 10) + "]" for k in range(1, levels)]
    return ("\n".join(lines) + "\n").encode()


def test_yaml_alias_bomb_refused(client):
    # 342 bytes that expand to 10**6 values; each extra level multiplies the work by 10
    r = client.post("/upload", data={"csrf_token": _csrf(client)}, files={"file": ("bomb.yaml", _alias_bomb(6))})
    assert r.status_code == 422
    assert "aliases expand to too many values" in r.text


def test_yaml_anchors_and_merge_keys_still_load(tmp_path):
    from detente.formats import load

    p = tmp_path / "a.yaml"
    p.write_text("name: t\nactors:\n  - &base {id: A, capability: 2}\n  - {<<: *base, id: B}\n"
                 "issues:\n  - {id: x, lower: 0, upper: 10}\n"
                 "stances:\n  - &s {actor: A, issue: x, position: 2, salience: 50}\n  - {<<: *s, actor: B, position: 8}\n")
    scn = load(p)
    assert [a.capability for a in scn.actors] == [2, 2] and [s.position for s in scn.stances] == [2, 8]


def test_uploads_are_parsed_off_the_event_loop(client, monkeypatch):
    # parsing a large or hostile file must not block every other request of the server
    import asyncio

    import detente.web.app as web

    on_loop = []

    def spy(path, **kw):
        try:
            asyncio.get_running_loop()
            on_loop.append(True)
        except RuntimeError:
            on_loop.append(False)
        return real(path, **kw)

    real = web.load_scenario
    monkeypatch.setattr(web, "load_scenario", spy)
    yaml_text = examples.path("ec_emission").read_bytes()
    client.post("/upload", data={"csrf_token": _csrf(client)}, files={"file": ("e.yaml", yaml_text)}, follow_redirects=False)
    client.post("/upload/fixtext", data={"csrf_token": _csrf(client), "name": "f.yaml", "text": yaml_text.decode()},
                follow_redirects=False)
    client.post("/api/validate", files={"file": ("e.yaml", yaml_text)})
    assert on_loop == [False, False, False]


def test_foreign_host_header_refused(tmp_path):
    """DNS rebinding: a page on another name resolving to 127.0.0.1 sends its own Host header."""
    from fastapi.testclient import TestClient

    from detente.web.app import WebConfig, create_app

    app = create_app(WebConfig(library_dir=tmp_path / "lib", store_root=tmp_path / "store"))
    with TestClient(app) as c:
        assert c.get("/api/scenarios").status_code == 200
        assert c.get("/api/scenarios", headers={"host": "127.0.0.1:8765"}).status_code == 200
        assert c.get("/api/scenarios", headers={"host": "evil.example"}).status_code == 400
