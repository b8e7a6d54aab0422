"""Sweep specs: duplicate keys and param: factors whose distribution leaves the parameter's
range are input errors before anything is stored (review findings)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from detente.cli import app
from detente.errors import InputError
from detente.experiments.sweep import check_sweep, load_sweep_spec

runner = CliRunner()


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("DETENTE_HOME", str(tmp_path / "home"))


def _write(tmp_path, body: str):
    p = tmp_path / "spec.yaml"
    p.write_text("scenario: example:ec_emission\n" + body + "design: {kind: montecarlo, runs: 3}\n", encoding="utf-8")
    return p


def test_duplicate_key_is_an_input_error_with_its_line(tmp_path):
    p = _write(tmp_path, "model: compromise\nseed: 1\nmodel: median\n")
    with pytest.raises(InputError) as ei:
        load_sweep_spec(p)
    (q,) = ei.value.problems
    assert (q.message, q.line, q.column, q.value) == ("duplicate key", 4, "model", "model")


def test_nested_duplicate_key_is_reported_with_validation_problems(tmp_path):
    p = _write(tmp_path, "model: bdm\nchunk_size: -1\nparams:\n  rounds: 3\n  rounds: 4\n")
    with pytest.raises(InputError) as ei:
        load_sweep_spec(p)
    got = {(q.line, q.column) for q in ei.value.problems}
    assert (6, "params.rounds") in got and (3, "chunk_size") in got


@pytest.mark.parametrize("model,dist,value", [
    ("bdm", "{kind: uniform, low: 0.5, high: 1.5}", 1.5),       # Q in [0, 1]
    ("bdm", "{kind: discrete, values: [0.2, 2]}", 2.0),
    ("exchange", "{kind: normal, mean: 0.5, sd: 0.3}", None),  # p below 0 in the lower tail
    ("exchange", "{kind: uniform, low: 2, high: 20}", None),   # rounds: fractional draws
])
def test_param_factor_outside_range_is_refused_up_front(tmp_path, model, dist, value):
    field = {"bdm": "Q", "exchange": "p" if "normal" in dist else "rounds"}[model]
    variant = "variant: rex\n" if field == "p" else ""
    p = _write(tmp_path, f"model: {model}\n{variant}factors:\n  - field: 'param:{field}'\n    dist: {dist}\n")
    spec = load_sweep_spec(p)
    with pytest.raises(InputError) as ei:
        check_sweep(spec, spec.load_scenario())
    (q,) = ei.value.problems
    assert q.column == "factors.0.dist"
    assert q.line == (6 if variant else 5)
    if value is not None:
        assert q.value == pytest.approx(value)
    # through the CLI: exit 2 and no half-made "running" sweep in the store
    r = runner.invoke(app, ["sweep", str(p), "--json"])
    assert r.exit_code == 2, r.output
    assert json.loads(r.stdout)["problems"][0]["column"] == "factors.0.dist"
    d = json.loads(runner.invoke(app, ["runs", "list", "--json"]).stdout)
    assert d["total"] == 0


def test_param_factor_inside_range_is_accepted(tmp_path):
    p = _write(tmp_path, "model: bdm\nfactors:\n  - field: 'param:Q'\n    dist: {kind: uniform, low: 0.5, high: 1}\n"
               "  - field: 'param:rounds'\n    dist: {kind: discrete, values: [2, 3]}\n")
    spec = load_sweep_spec(p)
    check_sweep(spec, spec.load_scenario())
