"""Table references of YAML/JSON scenarios (``stances: {file: ...}``) stay inside the
scenario's own folder (on the web: inside the library), symbolic links resolved; a file
outside is refused with a named problem before it is read, and its content never comes
back in a problem."""

from __future__ import annotations

import json
import os
import re

import pytest

from detente.errors import InputError
from detente.formats import load
from detente.formats.yamlfmt import confine_reference

SECRET_LINES = "password=hunter2-TOPSECRET\nroot:x:0:0:TOPSECRET\n"
# a secret that even parses as a valid stance table: refusal must not depend on it failing
SECRET_TABLE = "actor,issue,position,salience\nTOPSECRET,x,1,50\n"
HEAD = "actors: [{id: A}, {id: TOPSECRET}]\nissues: [{id: x}]\n"


def _scenario(folder, ref: str, name: str = "s.yaml"):
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / name
    p.write_text(HEAD + f"stances: {{file: {json.dumps(ref)}}}\n", encoding="utf-8")
    return p


@pytest.fixture
def outside(tmp_path):
    d = tmp_path / "outside"
    d.mkdir()
    (d / "secret.txt").write_text(SECRET_LINES)
    (d / "secret.csv").write_text(SECRET_TABLE)
    return d


def _refused(path, **kw):
    with pytest.raises(InputError) as ei:
        load(path, **kw)
    text = str(ei.value) + json.dumps(ei.value.to_dict())
    assert "hunter2" not in text and "TOPSECRET,x" not in text and ":0:0:" not in text
    (p,) = ei.value.problems
    assert p.message.startswith("table reference refused"), p
    assert p.column == "stances.file" and p.line == 3 and p.file == str(path)
    return p


@pytest.mark.parametrize("secret", ["secret.txt", "secret.csv"])
def test_absolute_path_outside_is_refused(tmp_path, outside, secret):
    p = _scenario(tmp_path / "scn", str(outside / secret))
    pr = _refused(p)
    assert "absolute path outside" in pr.message
    assert pr.value == str(outside / secret)


@pytest.mark.parametrize("secret", ["secret.txt", "secret.csv"])
def test_dotdot_escape_is_refused(tmp_path, outside, secret):
    p = _scenario(tmp_path / "scn", f"../outside/{secret}")
    assert "leads outside" in _refused(p).message
    # also when the '..' comes after a real subfolder
    (tmp_path / "scn" / "sub").mkdir()
    p2 = _scenario(tmp_path / "scn", f"sub/../../outside/{secret}", name="t.yaml")
    assert "leads outside" in _refused(p2).message


@pytest.mark.parametrize("secret", ["secret.txt", "secret.csv"])
def test_symlink_pointing_outside_is_refused(tmp_path, outside, secret):
    scn = tmp_path / "scn"
    scn.mkdir()
    os.symlink(outside / secret, scn / "link.csv")
    assert "symbolic link" in _refused(_scenario(scn, "link.csv")).message
    # a linked folder that leads out is refused too
    os.symlink(outside, scn / "linkdir")
    assert "symbolic link" in _refused(_scenario(scn, f"linkdir/{secret}", name="t.yaml")).message


def test_missing_file_outside_is_refused_not_reported_missing(tmp_path):
    """Whether a file exists outside the folder is not revealed either."""
    p = _scenario(tmp_path / "scn", "../nowhere/none.csv")
    assert "leads outside" in _refused(p).message


def test_json_scenario_is_confined_too(tmp_path, outside):
    scn = tmp_path / "scn"
    scn.mkdir()
    p = scn / "s.json"
    p.write_text(json.dumps({"actors": [{"id": "A"}], "issues": [{"id": "x"}],
                             "stances": {"file": str(outside / "secret.txt")}}, indent=1))
    with pytest.raises(InputError) as ei:
        load(p)
    assert "hunter2" not in json.dumps(ei.value.to_dict())
    assert ei.value.problems[0].message.startswith("table reference refused")


def test_references_inside_the_folder_still_work(tmp_path):
    scn = tmp_path / "scn"
    (scn / "tables").mkdir(parents=True)
    (scn / "tables" / "st.csv").write_text("actor,issue,position,salience\nA,x,1,50\nTOPSECRET,x,9,100\n")
    # relative, through a subfolder and back, absolute inside, and a symlink inside the folder
    os.symlink(scn / "tables" / "st.csv", scn / "inner_link.csv")
    for i, ref in enumerate(["tables/st.csv", "tables/../tables/st.csv", str(scn / "tables" / "st.csv"),
                             "inner_link.csv"]):
        s = load(_scenario(scn, ref, name=f"s{i}.yaml"))
        assert s.stance("TOPSECRET", "x").position == 9.0, ref
    # ref_dir moves the folder references are resolved in (what the web does with its library)
    other = tmp_path / "elsewhere"
    p = _scenario(other, "tables/st.csv")
    assert load(p, ref_dir=scn).stance("A", "x").position == 1.0
    with pytest.raises(InputError) as ei:  # in its own folder the table does not exist
        load(p)
    assert [q.message for q in ei.value.problems] == ["referenced table file not found"]


def test_confine_reference_reasons(tmp_path):
    root = tmp_path / "r"
    root.mkdir()
    assert confine_reference("a.csv", root) == ((root / "a.csv").resolve(), "")
    assert confine_reference(".", root)[0] is None  # the folder itself is not a table
    assert confine_reference("~/x.csv", root)[0] == (root / "~" / "x.csv").resolve()  # no ~ expansion
    assert confine_reference("a\x00b", root)[0] is None
    os.symlink(root / "loop", root / "loop")
    target, _why = confine_reference("loop", root)  # a symlink loop: no crash, and nothing to read
    assert target is None or not target.is_file()


# --------------------------------------------------------------------------- web
fastapi = pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from detente.web.app import WebConfig, create_app  # noqa: E402


@pytest.fixture
def web(tmp_path, monkeypatch):
    monkeypatch.setenv("DETENTE_HOME", str(tmp_path / "home"))
    lib = tmp_path / "lib"
    app = create_app(WebConfig(library_dir=lib, store_root=tmp_path / "store"))
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c, lib


def _csrf(client) -> str:
    return re.search(r'name="csrf_token" value="([0-9a-f]+)"', client.get("/upload").text).group(1)


def _refs(tmp_path, outside, lib):
    os.symlink(outside / "secret.txt", lib / "link.csv")
    return [str(outside / "secret.txt"), str(outside / "secret.csv"), "../outside/secret.txt",
            "../outside/secret.csv", "link.csv"]


def test_web_validate_refuses_references_out_of_the_library(tmp_path, outside, web):
    client, lib = web
    for ref in _refs(tmp_path, outside, lib):
        body = (HEAD + f"stances: {{file: {json.dumps(ref)}}}\n").encode()
        r = client.post("/api/validate", files={"file": ("s.yaml", body)})
        assert r.status_code == 422, (ref, r.text)
        assert "hunter2" not in r.text and "TOPSECRET,x" not in r.text
        (pr,) = r.json()["problems"]
        assert pr["message"].startswith("table reference refused"), pr
        assert pr["file"] == "s.yaml" and pr["line"] == 3


def test_web_upload_refuses_references_out_of_the_library(tmp_path, outside, web):
    client, lib = web
    for i, ref in enumerate(_refs(tmp_path, outside, lib)):
        body = (HEAD + f"stances: {{file: {json.dumps(ref)}}}\n").encode()
        r = client.post("/upload", data={"csrf_token": _csrf(client)}, files={"file": (f"s{i}.yaml", body)},
                        follow_redirects=False)
        assert r.status_code == 422, (ref, r.status_code)
        assert "hunter2" not in r.text and "table reference refused" in r.text
        assert not (lib / f"s{i}.yaml").exists()
        r = client.post("/upload/fixtext", data={"csrf_token": _csrf(client), "name": f"f{i}.yaml",
                                                 "text": body.decode()}, follow_redirects=False)
        assert r.status_code == 422 and "hunter2" not in r.text
        assert not (lib / f"f{i}.yaml").exists()


def test_web_upload_resolves_references_in_the_library(web):
    client, lib = web
    (lib / "st.csv").write_text("actor,issue,position,salience\nA,x,1,50\nTOPSECRET,x,9,200\n")
    body = (HEAD + "stances: {file: st.csv}\n").encode()
    r = client.post("/api/validate", files={"file": ("s.yaml", body)})
    assert r.status_code == 422
    (pr,) = r.json()["problems"]  # the table's own problem, named by its library name and line
    assert pr["file"] == "st.csv" and pr["line"] == 3 and pr["column"] == "salience"
    (lib / "st.csv").write_text("actor,issue,position,salience\nA,x,1,50\nTOPSECRET,x,9,100\n")
    r = client.post("/api/validate", files={"file": ("s.yaml", body)})
    assert r.status_code == 200 and r.json()["stances"] == 2
    r = client.post("/upload", data={"csrf_token": _csrf(client)}, files={"file": ("s.yaml", body)},
                    follow_redirects=False)
    assert r.status_code == 303 and (lib / "s.yaml").is_file()
    assert client.get("/api/scenarios/library/s.yaml").json()["scenario"]["stances"][1]["position"] == 9.0
