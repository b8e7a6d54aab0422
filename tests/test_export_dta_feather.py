"""``runs export --format dta|feather``: Stata and Feather files with names Stata and R accept,
read back with pandas and pyarrow; :func:`portable_names` on hand-made cases and at random."""

from __future__ import annotations

import json
import re

import pandas as pd
import pyarrow.feather as feather
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import detente
from detente.cli import app
from detente.experiments.export import NAME_MAX, RESERVED, export_run_detail, portable_names, run_table
from detente.store import Store

VALID = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,31}")   # used with fullmatch: `$` would accept a trailing newline


def test_portable_names_by_hand():
    got = portable_names(["run", "salience[UK,emission]", "position[DE/tariff]", "1st", "if", "NULL", "_cons",
                          "Côte d'Ivoire", "***", "x" * 40, "x" * 33])
    assert got == {
        "run": "run", "salience[UK,emission]": "salience_UK_emission", "position[DE/tariff]": "position_DE_tariff",
        "1st": "v_1st", "if": "if_", "NULL": "NULL_", "_cons": "cons", "Côte d'Ivoire": "Cote_d_Ivoire",
        "***": "v_", "x" * 40: "x" * 32, "x" * 33: "x" * 30 + "_2",
    }


@settings(max_examples=200, deadline=None)
@example(["A\n", "A"])   # found by hypothesis in CI: a trailing newline is not a valid name
@given(st.lists(st.text(min_size=0, max_size=50), min_size=1, max_size=12, unique=True))
def test_portable_names_are_valid_unique_and_keep_valid_names(names):
    got = portable_names(names)
    assert list(got) == names
    new = list(got.values())
    assert len(set(new)) == len(new)
    for old, n in got.items():
        assert VALID.fullmatch(n) and n.lower() not in RESERVED and len(n) <= NAME_MAX, (old, n)
        if VALID.fullmatch(old) and old.lower() not in RESERVED:
            assert n == old                           # a valid name is never changed


@pytest.fixture
def sweep_run(tmp_path):
    store = Store(tmp_path / "st")
    r = detente.sweep("ec_emission", "compromise", vary={"salience[UK]": "+-10", "position[Greece]": "+-5%"},
                      runs=20, seed=1, store=store)
    return store, r.run_id


def test_dta_reads_back_with_portable_names_and_original_labels(tmp_path, sweep_run):
    store, rid = sweep_run
    df = run_table(store, rid)
    res = export_run_detail(store, rid, "dta", tmp_path / "s.dta")
    assert res.rows == len(df) == 20
    assert res.columns == {"salience[UK,emission]": "salience_UK_emission",
                           "position[Greece,emission]": "position_Greece_emission"}
    back = pd.read_stata(tmp_path / "s.dta")
    names = portable_names(list(df.columns))
    assert list(back.columns) == [names[c] for c in df.columns]
    for c in df.columns:
        if df[c].dtype.kind in "if":
            assert back[names[c]].to_numpy() == pytest.approx(df[c].to_numpy(dtype=float), nan_ok=True), c
        else:
            assert list(back[names[c]]) == ["" if v is None or v != v else v for v in df[c]], c
    with pd.io.stata.StataReader(tmp_path / "s.dta") as rd:
        labels = rd.variable_labels()
        assert rd.data_label == f"detente run {rid}"
    assert labels["salience_UK_emission"] == "salience[UK,emission]" and labels["run"] == ""


def test_feather_reads_back_with_the_name_mapping_in_its_metadata(tmp_path, sweep_run):
    store, rid = sweep_run
    df = run_table(store, rid)
    res = export_run_detail(store, rid, "feather", tmp_path / "s.feather")
    table = feather.read_table(tmp_path / "s.feather")
    names = portable_names(list(df.columns))
    assert table.column_names == [names[c] for c in df.columns]
    original = json.loads(table.schema.metadata[b"detente.original_names"])
    assert {original[n]: n for n in table.column_names} == names
    pd.testing.assert_frame_equal(table.to_pandas(), df.rename(columns=names), check_dtype=False)
    assert res.columns == {k: v for k, v in names.items() if k != v}


def test_a_forecast_run_with_missing_text_exports_to_stata(tmp_path):
    store = Store(tmp_path / "st")
    res = detente.forecast(detente.load("ec_emission"), "bdm", seed=3)
    rid = store.save_run(res, scenario=detente.load("ec_emission")).run_id
    df = run_table(store, rid)
    assert df["actor"].isna().any()                              # the forecast rows have no actor
    export_run_detail(store, rid, "dta", tmp_path / "f.dta")
    back = pd.read_stata(tmp_path / "f.dta")
    assert list(back["actor"]) == ["" if v is None or v != v else v for v in df["actor"]]
    assert back["value"].to_numpy() == pytest.approx(df["value"].to_numpy(dtype=float), nan_ok=True)


def test_cli_json_names_the_renamed_columns_and_unknown_formats_list_all(tmp_path, sweep_run):
    store, rid = sweep_run
    r = CliRunner().invoke(app, ["runs", "export", rid, "--format", "feather", "--out", str(tmp_path / "c.feather"),
                                 "--store", str(store.root), "--json"])
    assert r.exit_code == 0, r.output
    obj = json.loads(r.stdout)
    assert obj["rows"] == 20 and obj["format"] == "feather"
    assert obj["columns"]["salience[UK,emission]"] == "salience_UK_emission"
    r = CliRunner().invoke(app, ["runs", "export", rid, "--format", "sav", "--store", str(store.root), "--json"])
    assert r.exit_code == 2
    assert "csv, parquet, xlsx, dta, feather" in r.stdout
