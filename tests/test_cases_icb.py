"""ICB case library (detente.cases.icb): trigger-time features, no hindsight, coverage.

The fixture ``tests/fixtures/cases/`` is synthetic (written by its ``make_fixture.py``); the
expected numbers below are computed by hand from the rows there.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from detente.cases.icb import (
    FILES,
    ICB1_ALLOWED,
    ICB2_ALLOWED,
    MID_COLUMNS,
    NMC_COLUMNS,
    RIVALRY_COLUMNS,
    CaseParams,
    build_cases,
    case_scenario,
    library_json,
)
from detente.cli import app
from detente.formats.yamlfmt import write_yaml

FIX = Path(__file__).parent / "fixtures" / "cases"
READ = {"icb1": set(ICB1_ALLOWED), "icb2": set(ICB2_ALLOWED), "nmc": set(NMC_COLUMNS),
        "mid": set(MID_COLUMNS), "rivalries": set(RIVALRY_COLUMNS)}


def _built(data_dir: Path, tmp: Path) -> dict[int, bytes]:
    cases, skipped = build_cases(data_dir)
    out = {}
    for cn, case in cases.items():
        f = tmp / f"icb-{cn}.yaml"
        write_yaml(case_scenario(case), f)
        out[cn] = f.read_bytes()
    out[-1] = json.dumps(library_json(cases, skipped), sort_keys=True).encode()
    return out


# ------------------------------------------------------------------ hand-computed features
def test_fixture_cases_hand_computed():
    cases, skipped = build_cases(FIX)
    assert sorted(cases) == [1, 2, 6]
    assert skipped == {3: "the first crisis actor names no state as principal adversary (southv)",
                       4: "no positive NMC CINC for GGG (COW 107) in 1979",
                       5: "trigger year or month not coded"}
    c1 = cases[1]
    # CCC joined in June (trigger March): not known at the trigger
    assert [(a.id, a.side) for a in c1.actors] == [("AAA", "local"), ("BBB", "adversary")]
    a, b = c1.actors
    assert a.cinc_year == 1959 and a.cinc == pytest.approx(0.10 * math.exp(0.012 * 19), rel=1e-9)
    assert a.trend_m == pytest.approx(0.012 / 12) and b.trend_m == pytest.approx(-0.006 / 12)
    assert c1.rivalry is True
    # MIDs 1 (1955) and 6 (10 March, before the 15 March trigger) count; 2 (after), 3 (same month,
    # day unknown), 4 (1949, outside the window), 5 (same side) do not
    assert c1.prior_mids == 2
    f = c1.features()
    assert f["log_cinc_ratio"] == pytest.approx(math.log(0.05 / 0.10) + (-0.006 - 0.012) * 19, rel=1e-8)
    assert f["trend_gap_m"] == pytest.approx((-0.006 - 0.012) / 12)
    assert f["violent_trigger"] == 1 and f["log1p_prior_mids"] == pytest.approx(math.log(3))
    c2 = cases[2]
    assert c2.trigger_day is None  # day 77 = unknown
    assert {x.id: x.side for x in c2.actors} == {"DDD": "local", "FFF": "local", "EEE": "adversary"}
    assert c2.rivalry is False  # the rivalry starts in the trigger year itself
    assert c2.prior_mids == 1 and c2.features()["violent_trigger"] == 0
    c6 = cases[6]
    assert (c6.local, c6.adversary, c6.prior_mids) == ("BBB", "AAA", 0)  # the 2003 MID is after the trigger
    lib = library_json(cases, skipped)
    assert lib["coverage"] == {"built": 3, "skipped": 3, "total": 6, "train": 2, "test": 1}
    assert lib["crises"]["6"]["set"] == "test" and lib["crises"]["1"]["set"] == "train"


def test_cinc_lag_zero_reads_trigger_year():
    cases, _ = build_cases(FIX, CaseParams(cinc_lag_years=0))
    assert cases[1].actors[0].cinc == pytest.approx(0.10 * math.exp(0.012 * 20), rel=1e-9)


# ------------------------------------------------------------------ no hindsight
def _perturb(src: Path, dst: Path, seed: int, *, also: tuple[str, str] | None = None) -> None:
    rng = np.random.default_rng(seed)
    for key, name in FILES.items():
        enc = "utf-8-sig" if key.startswith("icb") else "utf-8"
        df = pd.read_csv(src / name, encoding=enc)
        for col in df.columns:
            if col in READ[key] and (key, col) != also:
                continue
            if df[col].dtype.kind in "if":
                df[col] = rng.permutation(df[col].to_numpy()) * 3 + 1 if (key, col) != also else \
                    rng.permutation(df[col].to_numpy())
            else:
                df[col] = [f"X{rng.integers(1_000_000)}" for _ in range(len(df))]
        df.to_csv(dst / name, index=False, encoding=enc)


def test_no_post_trigger_column_reaches_a_scenario(tmp_path):
    base = _built(FIX, tmp_path)
    for seed in (1, 2, 3):
        d = tmp_path / f"p{seed}"
        d.mkdir()
        _perturb(FIX, d, seed)
        assert _built(d, d) == base, "a column outside the allow-lists changed a built scenario"


def test_perturbation_test_can_fail(tmp_path):
    """Shuffling an allow-listed column (the principal adversary) does change the output."""
    base = _built(FIX, tmp_path)
    d = tmp_path / "p"
    d.mkdir()
    _perturb(FIX, d, 5, also=("icb2", "southv"))
    assert _built(d, d) != base


def test_allow_lists_hold_no_outcome_columns():
    post = {"viol", "crismg", "cenviosy", "sevviosy", "timvio", "brexit", "yrterm", "moterm", "daterm", "forout",
            "outesr", "subout", "mediate", "crisname", "cractr", "noactr", "gravcr", "protrac", "pcid", "usinv",
            "suinv", "powinv", "globorg"}
    post2 = {"viol", "sevvio", "cenvio", "crismg", "majres", "yerres", "outcom", "outfor", "trgterra", "crisname",
             "gravty", "pc", "iwc", "noactr", "usinv", "suinv"}
    assert not post & set(ICB1_ALLOWED) and not post2 & set(ICB2_ALLOWED)
    assert all(len(r) > 20 for r in [*ICB1_ALLOWED.values(), *ICB2_ALLOWED.values()])


# ------------------------------------------------------------------ scenarios and the CLI
def test_case_scenario_runs_and_hazard_is_the_linear_predictor():
    from detente.cases.icb import PRIOR_COEFFICIENTS
    from detente.crisis import run

    cases, _ = build_cases(FIX)
    coef = {k: dict(v) for k, v in PRIOR_COEFFICIENTS.items()}
    coef["beta_rivalry"] = {"value": -1.0, "source": "test"}
    coef["beta_rung"] = {"value": 2.0, "source": "test"}
    coef["beta_log1p_mids"] = {"value": 0.5, "source": "test"}
    sc = case_scenario(cases[1], coefficients=coef)
    fp = {f["id"]: f for f in sc.dynamics["flashpoints"]}
    expect = 0.05 * math.exp(-1.0 + 0.5 * math.log(3))
    assert fp["violence"]["base_hazard_m"]["value"] == pytest.approx(expect, rel=1e-8)
    assert fp["war"]["base_hazard_m"]["value"] == pytest.approx(expect / 5, rel=1e-8)
    # closed form: the rung starts at 2 and falls one rung a month with prob d = 1 − e^{−down}
    # (before the step's hazard); the monthly hazard is λ·e^{β_rung·rung/2}
    beta, down = coef["beta_rung"]["value"], coef["escalation_down_m"]["value"]
    d = 1 - math.exp(-down)
    alive = np.array([0.0, 0.0, 1.0])  # P(no onset yet, rung = 0, 1, 2)
    move = np.array([[1, 0, 0], [d, 1 - d, 0], [0, d, 1 - d]])  # from row rung to column rung
    for _ in range(12):
        alive = alive @ move
        alive = alive * np.exp(-expect * np.exp(beta * np.arange(3) / 2))
    p_exact = 1 - alive.sum()
    res = run(sc, {"runs": 4000}, seed=3)
    p = float((res.onset_step[:, 0] >= 0).mean())
    # 0.434; hazard before the rung move would give 0.538, no rung term 0.318, start at rung 1 0.338
    assert abs(p - p_exact) < 4 * math.sqrt(p_exact * (1 - p_exact) / 4000)


def test_cli_show_writes_a_runnable_yaml(tmp_path):
    r = CliRunner()
    f = tmp_path / "c2.yaml"
    res = r.invoke(app, ["cases", "show", "2", "--data", str(FIX), "--out", str(f), "--json"])
    assert res.exit_code == 0, res.output
    doc = yaml.safe_load(f.read_text(encoding="utf-8"))
    assert doc["name"] == "icb-2" and doc["dynamics"]["settings"]["start"] == "1970-07-01"
    run = r.invoke(app, ["run", str(f), "--runs", "200", "--json"])
    assert run.exit_code == 0, run.output[-2000:]
    bad = r.invoke(app, ["cases", "show", "3", "--data", str(FIX), "--json"])
    assert bad.exit_code == 2 and "southv" in bad.output


def test_cli_icb_json_and_bad_dir(tmp_path):
    r = CliRunner()
    res = r.invoke(app, ["cases", "icb", str(FIX), "--split", "1965", "--json"])
    assert res.exit_code == 0, res.output
    obj = json.loads(res.output)
    assert obj["split"] == 1965 and obj["coverage"]["train"] == 1 and obj["coverage"]["test"] == 2
    assert obj["skipped"]["5"] == "trigger year or month not coded"
    d = tmp_path / "broken"
    shutil.copytree(FIX, d)
    (d / "gml_part.csv").write_text("dispnum,ccode\n1,2\n", encoding="utf-8")
    bad = r.invoke(app, ["cases", "icb", str(d), "--json"])
    assert bad.exit_code == 2
    err = json.loads(bad.output)["problems"][0]
    assert "gml_part.csv" in err["file"] and "styear" in err["column"]


# ------------------------------------------------------------------ real data (../shared)
def test_real_icb_coverage(shared):
    data = shared / "data" / "conflict"
    cases, skipped = build_cases(data)
    assert len(cases) >= 450 and len(cases) + len(skipped) == 487
    assert all(isinstance(v, str) and v for v in skipped.values())
    cuba = cases[196]  # Cuban missiles, October 1962: USA (local) against the USSR and Cuba
    assert (cuba.local, cuba.adversary) == ("USA", "RUS")
    assert {a.id: a.side for a in cuba.actors}["CUB"] == "adversary"
    assert cuba.rivalry


def test_json_contract_lists_the_top_level_keys(tmp_path):
    from test_cli_contract import doc_keys

    r = CliRunner()
    obj = json.loads(r.invoke(app, ["cases", "icb", str(FIX), "--json"]).output)
    assert set(obj) == doc_keys("cases icb")
    res = r.invoke(app, ["cases", "show", "1", "--data", str(FIX), "--out", str(tmp_path / "s.yaml"), "--json"])
    assert set(json.loads(res.output)) == doc_keys("cases show")
