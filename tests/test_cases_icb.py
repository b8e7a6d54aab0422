"""ICB case library (detente.cases.icb): trigger-time features, no hindsight, coverage.

The fixture ``tests/fixtures/cases/`` is synthetic (written by its ``make_fixture.py``); the
expected numbers below are computed by hand from the rows there.
"""

from __future__ import annotations

import datetime as dt
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
    assert sorted(cases) == [1, 2, 6, 7, 8]
    assert skipped == {3: "the first crisis actor names no state as principal adversary (southv)",
                       4: "no positive NMC CINC for GGG (COW 107) in 1979: its NMC series begins in 1981 "
                          "(a new state, not yet a member of the COW state system in 1979)",
                       5: "trigger year or month not coded"}
    assert {k: (v.kind, v.year) for k, v in skipped.items()} == {
        3: ("no_state_adversary", 1975), 4: ("new_state", 1980), 5: ("trigger_not_coded", 1985)}
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
    assert lib["coverage"] == {"built": 5, "skipped": 3, "total": 8, "train": 3, "test": 2, "skipped_train": 3,
                               "skipped_test": 0, "skipped_undated": 0}
    assert lib["crises"]["6"]["set"] == "test" and lib["crises"]["1"]["set"] == "train"
    assert lib["skipped_detail"]["4"] == {"year": 1980, "set": "train", "kind": "new_state", "reason": skipped[4]}
    assert lib["skipped"] == {str(k): str(v) for k, v in skipped.items()}


def test_code_corrections_and_the_preregistered_builder():
    """ICB's code of a state unified in 1990 is read as COW's successor code; a first actor naming itself
    takes the actor that names it as the adversary lead. ``code_corrections=False`` is the builder as
    pre-registered: both crises are skipped there, with the reasons the old builder gave."""
    cases, _ = build_cases(FIX)
    c7 = cases[7]
    assert (c7.local, c7.adversary) == ("BBB", "GFR")
    gfr = {a.id: a for a in c7.actors}["GFR"]
    assert gfr.ccode == 255 and gfr.cinc == pytest.approx(0.05 + 0.001 * 4)  # COW 255 in 1994
    assert any("260" in n and "255" in n for n in c7.notes)
    c8 = cases[8]
    assert (c8.local, c8.adversary) == ("AAA", "BBB") and c8.trigger == dt.date(1966, 2, 1)
    old, skipped = build_cases(FIX, CaseParams(code_corrections=False))
    assert sorted(old) == [1, 2, 6]
    assert skipped[7] == ("no positive NMC CINC for GFR (COW 260) in 1994: its NMC series ends in 1990 "
                          "(the state left the COW state system)") and skipped[7].kind == "ended_state"
    assert skipped[8].kind == "no_state_adversary"
    for k in (1, 2, 6):  # every other crisis is the same case either way
        assert old[k] == cases[k]


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
    assert obj["split"] == 1965 and obj["coverage"]["train"] == 1 and obj["coverage"]["test"] == 4
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
    # every skip is a data gap (docs/cases.md, "Coverage"); the code corrections add 35, 416
    assert {k: v.kind for k, v in skipped.items() if v.year is None or v.year > 1989} == {
        397: "new_state", 401: "new_state", 403: "new_state", 466: "new_state", 474: "trigger_not_coded"}
    assert sorted(k for k, v in skipped.items() if v.kind not in ("new_state",)) == [20, 29, 109, 188, 474]
    assert (cases[416].local, cases[416].adversary) == ("ERI", "YEM")
    assert {a.id: a.ccode for a in cases[430].actors}["GMY"] == 255  # ICB 260 (GFR) in 1999
    old, _ = build_cases(data, CaseParams(code_corrections=False))
    assert len(old) == 456 and sorted(set(cases) - set(old)) == [35, 416]
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


# ------------------------------------------------------------------ no dummy triangle
def _old_inert_triangle(sc) -> dict:
    """The inert triangle the builder wrote before the engine's triangle became optional (all zero)."""
    ids = list(sc.metadata["sides"])
    L, A = sc.dynamics["flashpoints"][0]["local"], sc.dynamics["flashpoints"][0]["adversary"]
    third = next((i for i in ids if i not in (L, A)), None)
    p, a, b = third or L, A, L

    def n(v: float) -> dict:
        return {"value": v, "source": "inert"}

    return {"actors": [p, a, b], "initial": {f"{p}-{a}": n(0.0), f"{p}-{b}": n(0.0), f"{a}-{b}": n(0.0)},
            "balance_rate": n(0.0), "stag_hunt": {"R": n(4.0), "T": n(3.0), "P": n(1.0), "S": n(0.0)},
            "belief_prior": n(0.5), "belief_memory": n(0.0), "defect_step": n(0.0), "loyal_recovery": n(0.0),
            "true_leak_prob": n(0.0), "online_verify": n(0.0)}


def test_case_scenarios_have_no_triangle_and_dropping_it_changed_no_forecast():
    """Same seed, same bytes: onsets, initiators, causes, hazard and rung paths with and without the old triangle."""
    import copy

    from detente.cases import fit as F
    from detente.cases.icb import PRIOR_COEFFICIENTS
    from detente.crisis import run

    cases, _ = build_cases(FIX)
    coef = {k: dict(v) for k, v in PRIOR_COEFFICIENTS.items()}
    coef["log_base_violence_m"] = {"value": math.log(0.2), "source": "test"}  # many onsets
    for cn in (1, 2, 7):  # 2: three actors (a third actor was the triangle's pivot)
        sc = case_scenario(cases[cn], coefficients=coef)
        assert "triangle" not in sc.dynamics
        dyn = copy.deepcopy(dict(sc.dynamics))
        dyn["triangle"] = _old_inert_triangle(sc)
        with_tri = sc.model_copy(update={"dynamics": dyn})
        r0 = run(sc, {"runs": 300, "record_paths": True}, seed=11)
        r1 = run(with_tri, {"runs": 300, "record_paths": True}, seed=11)
        assert r1.triangle is not None and r0.triangle is None
        assert (r0.onset_step >= 0).any()
        for k in ("onset_step", "onset_initiator", "onset_cause", "first_step", "first_initiator", "hazard",
                  "rung_step"):
            assert getattr(r0, k).tobytes() == getattr(r1, k).tobytes(), k
    # and the fit's probe counts (what every forecast is computed from) are the same bytes
    import unittest.mock as um

    real = case_scenario

    def with_triangle(case, params=None, coefficients=None):
        sc = real(case, params, coefficients)
        dyn = copy.deepcopy(dict(sc.dynamics))
        dyn["triangle"] = _old_inert_triangle(sc)
        return sc.model_copy(update={"dynamics": dyn})

    new = F.probe_counts(cases[2], 0.7, 200)
    with um.patch.object(F, "case_scenario", with_triangle):
        old = F.probe_counts(cases[2], 0.7, 200)
    assert new.tobytes() == old.tobytes()


def test_cli_figure_needs_forecast_and_a_known_format(tmp_path):
    r = CliRunner()
    res = r.invoke(app, ["cases", "icb", str(FIX), "--figure", str(tmp_path / "f.png"), "--json"])
    assert res.exit_code == 2 and "--forecast" in json.loads(res.output)["problems"][0]["message"]
    res = r.invoke(app, ["cases", "icb", str(FIX), "--forecast", "--figure", str(tmp_path / "f.jpg"), "--json"])
    assert res.exit_code == 2 and ".png" in json.loads(res.output)["problems"][0]["expected"]
    assert not (tmp_path / "f.png").exists() and not (tmp_path / "f.jpg").exists()
