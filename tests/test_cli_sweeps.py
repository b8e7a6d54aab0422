"""`detente sweep`, `sensitivity` and `runs export` through the CLI, against the JSON contract."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from detente.cli import app
from test_cli_contract import doc_keys

runner = CliRunner()


@pytest.fixture
def spec_file(tmp_path, monkeypatch):
    monkeypatch.setenv("DETENTE_HOME", str(tmp_path / "home"))
    p = tmp_path / "s.yaml"
    p.write_text("name: cli\nscenario: example:ec_emission\nmodel: compromise\nseed: 1\nchunk_size: 50\n"
                 "factors:\n  - name: sal\n    field: salience\n    actors: [UK]\n    dist: {kind: uniform, low: -10, high: 10}\n"
                 "    clip: [0, 100]\ndesign: {kind: montecarlo, runs: 120}\n")
    return p


def one_json(args) -> tuple[int, dict]:
    r = runner.invoke(app, [str(a) for a in args])
    lines = [ln for ln in r.stdout.splitlines() if ln.strip()]
    assert len(lines) == 1, r.output
    return r.exit_code, json.loads(lines[0])


def test_sweep_json_contract_and_export(spec_file, tmp_path):
    code, d = one_json(["sweep", spec_file, "--json"])
    assert code == 0 and set(d) == doc_keys("sweep")
    assert d["runs"] == 120 and d["chunks"] == 3 and d["computed_chunks"] == 3
    code, again = one_json(["sweep", spec_file, "--json"])
    assert again["run_id"] == d["run_id"] and again["computed_chunks"] == 0
    code, res = one_json(["sweep", "resume", d["run_id"], "--json"])
    assert code == 0 and res["computed_chunks"] == 0
    out = tmp_path / "x.csv"
    code, e = one_json(["runs", "export", d["run_id"], "--format", "csv", "--out", out, "--json"])
    assert code == 0 and set(e) == doc_keys("runs export") and e["rows"] == 120
    assert out.read_text().splitlines()[0].startswith("run,issue,round,actor,value")


def test_sensitivity_json_contract(spec_file):
    code, d = one_json(["sensitivity", spec_file, "--method", "morris", "--samples", "4", "--json"])
    assert code == 0 and set(d) == doc_keys("sensitivity")
    assert d["factors"] == ["sal"] and d["indices"]["emission"][0]["mu_star"] > 0


def test_sweep_bad_inputs_exit_2(spec_file, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("scenario: example:nope\nmodel: compromise\n")
    code, d = one_json(["sweep", bad, "--json"])
    assert code == 2 and d["error"] == "invalid input"
    code, d = one_json(["sweep", "resume", "ffffffffffff", "--json"])
    assert code == 2
    code, d = one_json(["sweep", spec_file, "--executor", "cloud", "--json"])
    assert code == 2
    r = runner.invoke(app, ["sensitivity", str(spec_file), "--method", "fast"])
    assert r.exit_code == 2
