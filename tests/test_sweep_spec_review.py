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


# ---- parameter factors that are valid one by one but not together (exchange: f + w <= 1)

_JOINT = ("model: exchange\nfactors:\n"
          "  - field: 'param:fixed_weight'\n    dist: {kind: uniform, low: 0.3, high: 0.6}\n"
          "  - field: 'param:salience_weight'\n    dist: {kind: discrete, values: [0.2, 0.5]}\n")
# each alone is valid with the other's default (fixed_weight 0.1, salience_weight 0.4)


def test_param_factors_jointly_refused_by_the_model_are_refused_up_front(tmp_path):
    p = _write(tmp_path, _JOINT)
    spec = load_sweep_spec(p)
    with pytest.raises(InputError) as ei:
        check_sweep(spec, spec.load_scenario())
    (q,) = ei.value.problems
    assert (q.file, q.line, q.column) == (str(p), 5, "factors.0.dist")  # the first factor involved
    # names both factors and the values they can draw together, and the model's own rule
    assert "factors.0 (param:fixed_weight)" in q.message and "factors.1 (param:salience_weight)" in q.message
    assert "fixed_weight=0.6" in q.message and "salience_weight=0.5" in q.message
    assert "must not exceed 1" in q.message
    assert q.value == "fixed_weight=0.6, salience_weight=0.5"
    # through the CLI: exit 2 with the problem, and nothing stored
    r = runner.invoke(app, ["sweep", str(p), "--json"])
    assert r.exit_code == 2, r.output
    assert json.loads(r.stdout)["problems"][0]["column"] == "factors.0.dist"
    assert json.loads(runner.invoke(app, ["runs", "list", "--json"]).stdout)["total"] == 0


def test_joint_refusal_names_only_the_factors_involved(tmp_path):
    body = ("model: exchange\nfactors:\n"
            "  - field: 'param:rounds'\n    dist: {kind: discrete, values: [2, 3]}\n"
            "  - field: 'param:salience_weight'\n    name: w\n    dist: {kind: uniform, low: 0.1, high: 0.6}\n"
            "  - field: 'param:fixed_weight'\n    dist: {kind: triangular, low: 0.2, mode: 0.3, high: 0.5}\n")
    p = _write(tmp_path, body)
    spec = load_sweep_spec(p)
    with pytest.raises(InputError) as ei:
        check_sweep(spec, spec.load_scenario())
    (q,) = ei.value.problems
    assert q.column == "factors.1.dist" and q.line == 8
    assert "factors.1 (w)" in q.message and "factors.2 (param:fixed_weight)" in q.message
    assert "rounds" not in q.message


def test_fixed_params_count_in_the_joint_check(tmp_path):
    # salience_weight fixed in params; fixed_weight alone is checked against it already,
    # and two factors together must also respect it
    body = ("model: exchange\nparams: {salience_weight: 0.5}\nfactors:\n"
            "  - field: 'param:fixed_weight'\n    dist: {kind: uniform, low: 0, high: 0.5}\n"
            "  - field: 'param:rounds'\n    dist: {kind: discrete, values: [2, 3]}\n")
    p = _write(tmp_path, body)
    spec = load_sweep_spec(p)
    check_sweep(spec, spec.load_scenario())  # 0.5 + 0.5 is allowed


def test_param_factors_jointly_valid_are_accepted(tmp_path):
    body = ("model: exchange\nfactors:\n"
            "  - field: 'param:fixed_weight'\n    dist: {kind: uniform, low: 0, high: 0.6}\n"
            "  - field: 'param:salience_weight'\n    dist: {kind: beta, a: 2, b: 2, low: 0, high: 0.4}\n"
            "  - field: 'param:rounds'\n    dist: {kind: discrete, values: [2, 3, 4]}\n")
    p = _write(tmp_path, body)
    spec = load_sweep_spec(p)
    check_sweep(spec, spec.load_scenario())
    r = runner.invoke(app, ["sweep", str(p), "--json"])
    assert r.exit_code == 0, r.output


def test_joint_check_stays_cheap_for_large_grids(tmp_path):
    import time

    import numpy as np

    vals = lambda hi: "[" + ", ".join(f"{x:.6g}" for x in np.linspace(0, hi, 400)) + "]"  # noqa: E731
    body = ("model: exchange\nfactors:\n"
            f"  - field: 'param:fixed_weight'\n    dist: {{kind: discrete, values: {vals(0.5)}}}\n"
            f"  - field: 'param:salience_weight'\n    dist: {{kind: discrete, values: {vals(0.6)}}}\n"
            f"  - field: 'param:tie_tolerance'\n    dist: {{kind: discrete, values: {vals(1e-6)}}}\n")
    p = tmp_path / "grid.yaml"
    p.write_text("scenario: example:ec_emission\n" + body + "design: {kind: grid}\n", encoding="utf-8")
    spec = load_sweep_spec(p)
    t0 = time.perf_counter()
    with pytest.raises(InputError) as ei:  # 400**3 combinations: checked at their extremes
        check_sweep(spec, spec.load_scenario())
    assert time.perf_counter() - t0 < 5.0
    (q,) = ei.value.problems
    assert "fixed_weight=0.5" in q.message and "salience_weight=0.6" in q.message
