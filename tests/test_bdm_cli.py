"""``detente forecast FILE --model bdm --variant V [--explain] [--json]``."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from bdm_helpers import FIX
from detente.cli import app

EC = str(FIX / "inputs" / "emission_scholz2011_table1.csv")


def test_forecast_explain_words():
    r = CliRunner().invoke(app, ["forecast", EC, "--model", "bdm", "--variant", "scholz2011", "--explain", "--no-store"])
    assert r.exit_code == 0, r.output
    assert "Round 1: Luxembourg loses a confrontation to Belgium and moves to 7.0." in r.output
    assert "Round 1: Belgium compromises with France and moves to 8.416." in r.output


def test_forecast_json_contract_with_explain():
    r = CliRunner().invoke(app, ["forecast", EC, "--model", "bdm", "--variant", "masad2014", "--rounds", "3",
                                 "--json", "--explain", "--no-store"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["model"] == "bdm" and d["variant"] == "masad2014" and d["params"]["rounds"] == 3
    (iss,) = d["issues"].values()
    assert len(iss["rounds"]) == 4 and iss["rounds"][1]["median"] == 10.0
    assert abs(iss["rounds"][1]["mean"] - 7.444520171019051) < 1e-12
    assert any("Luxembourg loses a confrontation to France" in s for s in d["explain"])


def test_loaded_csv_matches_helper():
    """The formats layer's BDM-table reader gives the same run as the test helper."""
    import numpy as np

    import detente
    from bdm_helpers import case_scenario
    from detente.models.bdm import BDMParams, run

    a = run(detente.load(EC), BDMParams(variant="scholz2011"), rng=np.random.default_rng(0))
    b = run(case_scenario("emission"), BDMParams(variant="scholz2011"), rng=np.random.default_rng(0))
    (ia,), (ib,) = a.issues.values(), b.issues.values()
    assert [r.mean for r in ia.rounds] == [r.mean for r in ib.rounds]


def test_forecast_json_no_rounds_leaves_out_only_the_rounds(tmp_path):
    """``--no-rounds`` (opt-in, issue 17): the printed object is the default one minus each issue's
    ``rounds``; the stored run keeps its rounds (``runs show`` prints them)."""
    base = ["forecast", EC, "--model", "bdm", "--variant", "masad2014", "--rounds", "3", "--seed", "1", "--json",
            "--explain"]
    full = CliRunner().invoke(app, base + ["--no-store"])
    slim = CliRunner().invoke(app, base + ["--no-rounds", "--store", str(tmp_path / "s")])
    assert full.exit_code == 0 and slim.exit_code == 0, (full.output, slim.output)
    f, s = json.loads(full.output), json.loads(slim.output)
    assert all("rounds" in v for v in f["issues"].values()) and not any("rounds" in v for v in s["issues"].values())
    for v in f["issues"].values():
        del v["rounds"]
    assert {k: v for k, v in s.items() if k != "run_id"} == {k: v for k, v in f.items() if k != "run_id"}
    assert s["explain"] and s["run_id"]
    shown = CliRunner().invoke(app, ["runs", "show", s["run_id"], "--store", str(tmp_path / "s"), "--json"])
    assert shown.exit_code == 0, shown.output
    assert len(next(iter(json.loads(shown.output)["result"]["issues"].values()))["rounds"]) == 4
