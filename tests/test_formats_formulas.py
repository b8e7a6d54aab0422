"""Spreadsheet formula injection: names starting with ``=``, ``+``, ``-``, ``@`` are written
as text (XLSX text cells; CSV with an apostrophe the readers remove) and read back exactly,
through every writer (``convert``) and ``runs export``."""

from __future__ import annotations

import csv
import itertools
import zipfile

import openpyxl
import pandas as pd
import pytest

import detente
from detente.formats import FORMATS, load, save
from detente.scenario import Actor, Issue, Scenario, Stance
from detente.scenario.textcells import FORMULA_TRIGGERS, escape_formula, starts_formula, unescape_formula

# short enough for KTAB's 25-character actor names
ACTORS = ["=1+2", "+D", "-C", "@B", "'=E", "''-F", "'s-Hert", "=cmd|'/C calc'!A0", "plain", "-5"]
ISSUE = "=x+1"


def scenario() -> Scenario:
    return Scenario(name="=name", actors=[Actor(id=a, capability=1 + k) for k, a in enumerate(ACTORS)],
                    issues=[Issue(id=ISSUE, lower=0, upper=100)],
                    stances=[Stance(actor=a, issue=ISSUE, position=10 * k, salience=50 + k)
                             for k, a in enumerate(ACTORS)])


WRITERS = {"yaml": "s.yaml", "json": "s.json", "csv": "s.csv", "xlsx": "s.xlsx", "bdm": "s.csv",
           "ktab_csv": "s.csv", "decide": "s.csv"}


def test_every_writer_is_covered():
    assert {k for k, (_r, w) in FORMATS.items() if w} == set(WRITERS)


@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_formula_names_round_trip_through_every_writer(tmp_path, fmt):
    s = scenario()
    p = save(s, tmp_path / WRITERS[fmt], format=fmt)
    back = load(p, format=fmt)
    assert back.actor_ids == ACTORS
    if fmt != "bdm":  # a BDM table holds no issue name: the issue is named after the file
        assert back.issue_ids == [ISSUE]
    for k, a in enumerate(ACTORS):
        st = back.stance(a, back.issue_ids[0])
        assert st.position == 10 * k and st.salience == 50 + k


@pytest.mark.parametrize("fmt", ["csv", "bdm", "ktab_csv"])
def test_csv_cells_never_start_a_formula(tmp_path, fmt):
    p = save(scenario(), tmp_path / "s.csv", format=fmt)
    cells = [c for row in csv.reader(p.open(encoding="utf-8")) for c in row]
    bad = [c for c in cells if starts_formula(c) and not _is_number(c)]
    assert bad == []
    assert "'=1+2" in cells and "'-C" in cells and "'''-F" in cells and "'s-Hert" in cells
    # text that looks like a negative number: kept as text where the writer knows it is a name
    assert ("-5" if fmt == "ktab_csv" else "'-5") in cells


def _is_number(c: str) -> bool:
    try:
        float(c)
    except ValueError:
        return False
    return True


def _assert_no_formula_cells(path):
    wb = openpyxl.load_workbook(path)
    texts = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                assert c.data_type != "f", (c.coordinate, c.value)
                if isinstance(c.value, str) and starts_formula(c.value):
                    assert c.data_type == "s" and c.quotePrefix, (c.coordinate, c.value)
                    texts.append(c.value)
    # and no formula element in the sheet XML itself
    with zipfile.ZipFile(path) as z:
        for n in z.namelist():
            if n.startswith("xl/worksheets/"):
                assert b"<f>" not in z.read(n) and b"<f " not in z.read(n)
    return texts


def test_xlsx_writes_text_cells(tmp_path):
    p = save(scenario(), tmp_path / "s.xlsx")
    texts = _assert_no_formula_cells(p)
    assert set(texts) >= {"=1+2", "+D", "-C", "@B", ISSUE, "=cmd|'/C calc'!A0"}


def test_escape_rule_is_exact_and_safe():
    alphabet = ["'", "=", "-", "a", "@", "+", "\t", "\r", " "]
    seen = set()
    for n in range(0, 5):
        for t in map("".join, itertools.product(alphabet, repeat=n)):
            e = escape_formula(t)
            assert unescape_formula(e) == t, t
            assert not starts_formula(e), t  # what a spreadsheet sees is never a formula
            assert (e != t) == starts_formula(t.lstrip("'")), t  # only formula-like text changes
            seen.add(e)
    assert len(seen) == sum(len(alphabet) ** n for n in range(5))  # injective
    assert FORMULA_TRIGGERS == ("=", "+", "-", "@", "\t", "\r")


def test_readers_strip_the_escape_from_hand_written_csv(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text("actor,issue,position,salience\n'=A,x,1,50\n'b,x,2,50\n''@c,x,3,50\n", encoding="utf-8")
    assert load(p).actor_ids == ["=A", "'b", "'@c"]


# --------------------------------------------------------------------------- runs export
@pytest.fixture
def stored_run(tmp_path, monkeypatch):
    monkeypatch.setenv("DETENTE_HOME", str(tmp_path / "home"))
    from detente.store import Store

    st = Store(tmp_path / "store")
    s = scenario()
    res = detente.forecast(s, "bdm", seed=1)  # a dynamic model: one row per actor and round
    return st, st.save(res, scenario=s, label="formulas")


def test_runs_export_xlsx_writes_text_cells(tmp_path, stored_run):
    from detente.experiments.export import export_run, run_table

    st, rid = stored_run
    path, n = export_run(st, rid, "xlsx", tmp_path / "run.xlsx")
    texts = _assert_no_formula_cells(path)
    assert {"=1+2", "+D", "-C", "@B", ISSUE} <= set(texts)
    df = run_table(st, rid)
    wb = openpyxl.load_workbook(path, read_only=True)
    rows = list(wb.worksheets[0].iter_rows(values_only=True))
    assert list(rows[0]) == list(df.columns) and len(rows) == n + 1
    for got, want in zip(rows[1:], df.itertuples(index=False, name=None)):
        for g, w in zip(got, want):
            if isinstance(w, str):
                assert g == w
            elif pd.isna(w):  # missing values stay empty
                assert g is None
            else:
                assert g == pytest.approx(float(w))


def test_runs_export_csv_escapes_and_reads_back(tmp_path, stored_run):
    from detente.experiments.export import export_run, run_table

    st, rid = stored_run
    path, _n = export_run(st, rid, "csv", tmp_path / "run.csv")
    rows = list(csv.reader(path.open(encoding="utf-8")))
    assert not [c for r in rows for c in r if starts_formula(c) and not _is_number(c)]
    df = run_table(st, rid)
    actors = [unescape_formula(r[rows[0].index("actor")]) for r in rows[1:]]
    assert actors == [a if isinstance(a, str) else "" for a in df["actor"]]
    assert set(ACTORS) <= set(actors)


def test_web_csv_download_escapes_formula_names(tmp_path, monkeypatch):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from detente.store import Store
    from detente.web.app import WebConfig, create_app

    monkeypatch.setenv("DETENTE_HOME", str(tmp_path / "home"))
    s = scenario()
    rid = Store(tmp_path / "store").save(detente.forecast(s, "bdm", seed=1), scenario=s, label="formulas")
    app = create_app(WebConfig(library_dir=tmp_path / "lib", store_root=tmp_path / "store"))
    with TestClient(app) as client:
        r = client.get(f"/api/runs/{rid}/download", params={"format": "csv"})
    assert r.status_code == 200
    rows = list(csv.reader(r.text.splitlines()))
    assert not [c for row in rows for c in row if starts_formula(c) and not _is_number(c)]
    actors = {unescape_formula(row[rows[0].index("actor")]) for row in rows[1:]}
    assert set(ACTORS) <= actors


@pytest.mark.parametrize("out", ["c.xlsx", "c.csv"])
def test_cli_convert_then_validate(tmp_path, monkeypatch, out):
    """The reported defect: ``detente convert`` to XLSX wrote live formulas, and the converted
    file no longer validated."""
    import json as _json

    from typer.testing import CliRunner

    from detente.cli import app

    monkeypatch.setenv("DETENTE_HOME", str(tmp_path / "home"))
    src = save(scenario(), tmp_path / "s.yaml")
    runner = CliRunner()
    r = runner.invoke(app, ["convert", str(src), str(tmp_path / out), "--json"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["validate", str(tmp_path / out), "--json"])
    assert r.exit_code == 0, r.output
    d = _json.loads(r.stdout)
    assert d["valid"] is True and d["actors"] == len(ACTORS)
    assert load(tmp_path / out).actor_ids == ACTORS


def test_xlsx_writers_to_an_unwritable_path_leave_no_open_sheet(tmp_path):
    """Writing a write-only workbook to a missing folder raises at once and leaves nothing to fail
    later at garbage collection (an open sheet generator once surfaced as an 'exception ignored'
    in an unrelated test)."""
    import gc
    import sys

    from detente.experiments.export import _write_xlsx
    from detente.formats.longtable import write_long_xlsx

    s = Scenario(actors=[Actor(id="A"), Actor(id="B")], issues=[Issue(id="x")],
                 stances=[Stance(actor="A", issue="x", position=10, salience=50),
                          Stance(actor="B", issue="x", position=90, salience=50)])
    seen = []
    old, sys.unraisablehook = sys.unraisablehook, seen.append
    try:
        with pytest.raises(OSError):
            write_long_xlsx(s, tmp_path / "missing" / "s.xlsx")
        with pytest.raises(OSError):
            _write_xlsx(pd.DataFrame({"a": [1, 2]}), tmp_path / "missing" / "e.xlsx", sheet="run")
        gc.collect()
    finally:
        sys.unraisablehook = old
    assert seen == []
    write_long_xlsx(s, tmp_path / "s.xlsx")          # and the normal path still writes a workbook
    assert (tmp_path / "s.xlsx").read_bytes()[:2] == b"PK"
