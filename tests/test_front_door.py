"""The front door for sweeps and sensitivity (issue 17): ``detente.sweep`` / ``detente.sensitivity``,
``detente sweep FILE -m MODEL --vary …`` and the ``--vary`` grammar."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import detente
from detente.cli import app
from detente.errors import InputError
from detente.experiments.front import parse_vary
from detente.store import Store


def _parts(root: Path, run_id: str) -> dict[str, bytes]:
    d = root / "parts" / run_id
    files = sorted(d.glob("part-*.parquet"))
    assert files, f"no parts under {d}"
    return {f.name: f.read_bytes() for f in files}


def test_same_sweep_from_python_cli_and_yaml_gives_the_same_bytes(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    res = detente.sweep("ec_emission", "compromise", vary={"salience": "+-10", "position[UK]": "+-5%"},
                        runs=300, seed=5, store=Store(a))
    r = CliRunner().invoke(app, ["sweep", "ec_emission", "-m", "compromise", "--vary", "salience=+-10",
                                 "--vary", "position[UK]=+-5%", "--runs", "300", "--seed", "5", "--store", str(b), "--json"])
    assert r.exit_code == 0, r.output
    cli = json.loads(r.output)
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "scenario: example:ec_emission\nmodel: compromise\nseed: 5\n"
        "factors:\n"
        "  - {field: salience, mode: add, dist: {kind: uniform, low: -10, high: 10}, per: cell}\n"
        "  - {field: position, actors: [UK], mode: multiply, dist: {kind: uniform, low: 0.95, high: 1.05}, per: cell}\n"
        "design: {kind: montecarlo, runs: 300}\n", encoding="utf-8")
    r = CliRunner().invoke(app, ["sweep", str(spec), "--store", str(c), "--json"])
    assert r.exit_code == 0, r.output
    yml = json.loads(r.output)
    assert res.run_id == cli["run_id"] == yml["run_id"]
    pa, pb, pc = _parts(a, res.run_id), _parts(b, res.run_id), _parts(c, res.run_id)
    assert pa == pb == pc
    df = res.to_df(forecasts_only=True)
    assert len(df) == 300 * df["issue"].nunique() and df["value"].std() > 0   # the saliences really moved
    assert "<p><b>sweep" in res._repr_html_()


@pytest.mark.parametrize("text, expect", [
    ("salience=+-10", dict(field="salience", mode="add", low=-10, high=10, per="cell", actors=None)),
    ("position[DE,FR]=+-5%", dict(field="position", mode="multiply", low=0.95, high=1.05, actors=["DE", "FR"])),
    ("capability[/x]=*0.5..2", dict(field="capability", mode="multiply", low=0.5, high=2, issues=["x"], actors=None)),
    ("status_quo=+0..3", dict(field="status_quo", mode="add", low=0, high=3)),
    ("param:rounds=5..20", dict(field="param:rounds", mode="set", low=5, high=20, per="factor")),
])
def test_vary_grammar(text, expect):
    f = parse_vary(text)
    for k, v in expect.items():
        got = getattr(f.dist, k) if k in ("low", "high") else getattr(f, k)
        assert got == (pytest.approx(v) if isinstance(v, float) else v), k


@pytest.mark.parametrize("text, why", [
    ("salience", "expected FIELD=CHANGE"),
    ("weight=+-10", "unknown field 'weight'"),
    ("salience=+-ten", "cannot read the change"),
    ("salience=5..1", "low > high"),
    ("salience[]=+-1", "empty selector"),
])
def test_vary_errors_name_the_option_and_value(text, why):
    with pytest.raises(InputError) as e:
        parse_vary(text)
    p = e.value.problems[0]
    assert p.column == "--vary" and p.value == text and why in p.message


def test_cli_vary_error_exits_2():
    r = CliRunner().invoke(app, ["sweep", "ec_emission", "-m", "compromise", "--vary", "salience=+-x", "--json"])
    assert r.exit_code == 2
    err = json.loads(r.output)
    assert err["problems"][0]["column"] == "--vary" and err["problems"][0]["value"] == "salience=+-x"


def test_python_sensitivity_on_a_crisis_scenario():
    toy = Path(__file__).parent / "fixtures" / "crisis" / "toy-sobol.yaml"
    s = detente.sensitivity(toy, method="morris", n=4, outputs=["p_war_horizon"], runs_per_point=200, seed=1)
    assert s.factors == ["flashpoints[F].base_hazard_m", "flashpoints[G].base_hazard_m"]
    assert set(s.to_df()["issue"]) == {"p_war_horizon"}
    fig = s.plot("p_war_horizon")
    bars = [t for t in fig.data if t.type == "bar"]
    assert sum(len(b.y) for b in bars) == 2   # one bar per factor
    assert "morris" in s._repr_html_()


def test_results_are_frozen(tmp_path):
    import dataclasses

    res = detente.sweep("ec_emission", "compromise", vary={"salience": "+-10"}, runs=20, seed=1, store=Store(tmp_path))
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.n_runs = 3


def test_load_takes_a_bundled_name_when_no_such_file_exists(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = detente.load("ec_emission")
    assert s.name == "ec-emission-1994"
    # a file of that name in the working folder wins over the bundled scenario
    (tmp_path / "ec_emission").write_text("actor,issue,position,salience,capability\nA,x,10,50,1\nB,x,30,50,1\n")
    assert [a.id for a in detente.load("ec_emission", format="csv").actors] == ["A", "B"]
    with pytest.raises(InputError, match="no-such-scenario"):
        detente.load("no-such-scenario")
