"""Invalid input never gives a traceback: one JSON object and exit 2 with --json (review findings)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from detente.cli import app
from detente.errors import InputError, Problem

runner = CliRunner()

EMISSION = "Actor,Capability,Position,Salience\nA,1,2,50\nB,1,3,50\nC,1,4,50\n"


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("DETENTE_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def one_json(r) -> dict:
    lines = [ln for ln in r.stdout.splitlines() if ln.strip()]
    assert len(lines) == 1, r.output
    return json.loads(lines[0])


def test_problem_with_non_finite_value_is_valid_json():
    d = InputError([Problem("bad", value=float("nan")), Problem("bad", value=float("-inf"))]).to_dict()
    text = json.dumps(d, allow_nan=False)
    assert [p["value"] for p in json.loads(text)["problems"]] == ["nan", "-inf"]


def test_yaml_nan_salience_json(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text("name: x\nactors:\n- id: A\n  capability: 1\nissues:\n- id: i\n  lower: 0\n  upper: 10\n"
                 "stances:\n- actor: A\n  issue: i\n  position: 5\n  salience: .nan\n", encoding="utf-8")
    for args in (["validate", f, "--json"], ["convert", f, tmp_path / "o.json", "--json"]):
        r = runner.invoke(app, [str(a) for a in args])
        assert r.exit_code == 2, r.output
        d = one_json(r)
        assert d["error"] == "invalid input"
        assert any(p["value"] == "nan" and p["line"] == 13 for p in d["problems"])


@pytest.mark.parametrize("model,param", [("procedural", "grid=1e400"), ("procedural", "qmv_share=NaN"),
                                         ("bdm", "Q=NaN")])
def test_non_finite_param_json(tmp_path, model, param):
    f = tmp_path / "e.csv"
    f.write_text(EMISSION, encoding="utf-8")
    r = runner.invoke(app, ["forecast", str(f), "-m", model, "-p", param, "--no-store", "--json"])
    assert r.exit_code == 2, r.output
    assert one_json(r)["error"] == "invalid input"


def test_unknown_model_error_object_has_every_problem_key(tmp_path):
    f = tmp_path / "e.csv"
    f.write_text(EMISSION, encoding="utf-8")
    spec = tmp_path / "s.yaml"
    spec.write_text(f"scenario: {f.name}\nmodel: nosuch\ndesign: {{kind: montecarlo, runs: 2}}\n", encoding="utf-8")
    keys = {"file", "line", "column", "value", "message", "expected"}
    for args in (["forecast", f, "-m", "nosuch", "--no-store", "--json"], ["sweep", spec, "--json"]):
        r = runner.invoke(app, [str(a) for a in args])
        assert r.exit_code == 2, r.output
        d = one_json(r)
        assert d["error"] == "invalid input"
        assert set(d["problems"][0]) == keys
        assert d["problems"][0]["value"] == "nosuch" and d["problems"][0]["column"] == "model"


def test_export_and_report_to_unwritable_path(tmp_path):
    f = tmp_path / "e.csv"
    f.write_text(EMISSION, encoding="utf-8")
    r = runner.invoke(app, ["forecast", str(f), "--json"])
    rid = one_json(r)["run_id"]
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for args in (["runs", "export", rid, "--format", "csv", "--out", blocker / "x.csv", "--json"],
                 ["runs", "export", rid, "--format", "xlsx", "--out", tmp_path, "--json"],
                 ["report", rid, "--out", blocker / "x.html", "--json"]):
        r = runner.invoke(app, [str(a) for a in args])
        assert r.exit_code == 2, r.output
        d = one_json(r)
        assert d["error"] == "invalid input", d
        assert d["problems"][0]["message"].startswith("cannot write")


SPEC_HEAD = "scenario: example:ec_emission\nmodel: {model}\n"


@pytest.mark.parametrize("body,line,column,value", [
    ("model: bdm\nparams: {Q: x}\n", 3, "params.Q", "x"),
    ("model: bdm\nvariant: zzz\n", 3, "variant", "zzz"),
    ("model: compromise\nfactors:\n  - field: position\n    actors: [Atlantis]\n    dist: {kind: uniform, low: 0, high: 1}\n",
     5, "factors.0.actors.0", "Atlantis"),
    ("model: compromise\nfactors:\n  - field: position\n    issues: [nothing]\n    dist: {kind: uniform, low: 0, high: 1}\n",
     5, "factors.0.issues.0", "nothing"),
    ("model: bdm\nfactors:\n  - field: 'param:nope'\n    dist: {kind: uniform, low: 0, high: 1}\n",
     4, "factors.0.field", "param:nope"),
])
def test_sweep_spec_problems_are_located_and_store_nothing(tmp_path, home, body, line, column, value):
    spec = tmp_path / "spec.yaml"
    spec.write_text("scenario: example:ec_emission\n" + body + "design: {kind: montecarlo, runs: 3}\n", encoding="utf-8")
    r = runner.invoke(app, ["sweep", str(spec), "--json"])
    assert r.exit_code == 2, r.output
    (p,) = one_json(r)["problems"]
    assert (p["file"], p["line"], p["column"], p["value"]) == (str(spec), line, column, value)
    d = one_json(runner.invoke(app, ["runs", "list", "--json"]))
    assert d["total"] == 0  # no half-made "running" sweep left behind


def test_sensitivity_unknown_method_json():
    import detente

    spec = f"{detente.__path__[0]}/examples/sweeps/ec_salience.yaml"
    r = runner.invoke(app, ["sensitivity", spec, "--method", "foo", "--json"])
    assert r.exit_code == 2, r.output
    (p,) = one_json(r)["problems"]
    assert (p["column"], p["value"]) == ("--method", "foo")
