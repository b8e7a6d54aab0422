"""Cell edits of library scenarios are saved to the file that was edited, in its own format,
keeping the rest of its text (comments, table references); another file is written only
under a name the user gives, and an existing one only with an explicit overwrite."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient

from detente.formats import load
from detente.web.app import WebConfig, create_app

FIX = Path(__file__).parent / "fixtures"

LONG_CSV = (
    "actor,issue,capability,position,salience\n"
    "A,x,2,20,50\n"
    "B,x,1,80,100\n"
    "C,x,1,50,70\n"
)

COMMENTED_YAML = """\
# my negotiation (hand-written, keep these notes)
name: mine
actors:
  - {id: A, capability: 2}   # the big one
  - {id: B, capability: 1}
  - {id: C, capability: 1}
issues:
  - {id: x, lower: 0, upper: 100}
stances:
  # A and B disagree
  - {actor: A, issue: x, position: 20, salience: 50}
  - actor: B
    issue: x
    position: 80    # B's stated position
    salience: 100
  - {actor: C, issue: x, position: 50, salience: 70}
"""


@pytest.fixture
def lib(tmp_path):
    d = tmp_path / "lib"
    d.mkdir()
    return d


@pytest.fixture
def client(tmp_path, lib):
    app = create_app(WebConfig(library_dir=lib, store_root=tmp_path / "store"))
    with TestClient(app) as c:
        yield c


def _edit(client, name, cells, **extra):
    return client.post(f"/api/scenarios/{name}/cells", json={"cells": cells, **extra})


def _changed_lines(before: str, after: str) -> list[tuple[str, str]]:
    a, b = before.splitlines(), after.splitlines()
    assert len(a) == len(b)
    return [(x, y) for x, y in zip(a, b) if x != y]


def test_csv_edit_stays_csv_and_never_touches_a_yaml_of_the_same_name(client, lib):
    """The reported data loss: editing NAME.csv wrote NAME.yaml over another scenario and left
    the CSV unchanged."""
    (lib / "mine.csv").write_text(LONG_CSV)
    other = "name: another scenario\n" + COMMENTED_YAML.split("\n", 2)[2]
    (lib / "mine.yaml").write_text(other)
    r = _edit(client, "mine.csv", [{"actor": "B", "issue": "x", "field": "position", "value": 65}])
    assert r.status_code == 200, r.text
    assert r.json()["saved"] == "mine.csv"
    assert (lib / "mine.yaml").read_text() == other                      # untouched
    scn = load(lib / "mine.csv")
    assert scn.stance("B", "x").position == 65
    assert scn.stance("A", "x").position == 20 and scn.stance("C", "x").salience == 70
    assert (lib / "mine.csv").read_text().splitlines()[0].startswith("actor,issue")  # still a long CSV table


def test_bdm_table_edit_stays_a_bdm_table(client, lib):
    (lib / "emission.csv").write_bytes((FIX / "emission.csv").read_bytes())
    r = _edit(client, "emission.csv", [{"actor": "UK", "field": "capability", "value": 0.2}])
    assert r.status_code == 200, r.text
    assert not (lib / "emission.yaml").exists()
    scn = load(lib / "emission.csv")
    assert scn.actor("UK").capability == 0.2 and scn.actor("Germany").capability == 0.16
    assert [c.strip().lower() for c in (lib / "emission.csv").read_text().splitlines()[0].split(",")][:1] == ["actor"]


def test_yaml_edit_keeps_comments_and_changes_only_the_value(client, lib):
    (lib / "mine.yaml").write_text(COMMENTED_YAML)
    (lib / "mine.yaml").chmod(0o644)
    r = _edit(client, "mine.yaml", [{"actor": "B", "issue": "x", "field": "position", "value": 72.5},
                                    {"actor": "A", "field": "capability", "value": 3},
                                    # unchanged cells (the page sends every cell) change nothing
                                    {"actor": "C", "issue": "x", "field": "salience", "value": 70}])
    assert r.status_code == 200, r.text
    after = (lib / "mine.yaml").read_text()
    assert _changed_lines(COMMENTED_YAML, after) == [
        ("  - {id: A, capability: 2}   # the big one", "  - {id: A, capability: 3}   # the big one"),
        ("    position: 80    # B's stated position", "    position: 72.5    # B's stated position"),
    ]
    scn = load(lib / "mine.yaml")
    assert scn.stance("B", "x").position == 72.5 and scn.actor("A").capability == 3
    assert (lib / "mine.yaml").stat().st_mode & 0o777 == 0o644  # the file keeps its permissions


def test_yaml_table_reference_kept_and_referenced_table_edited(client, lib):
    text = COMMENTED_YAML.split("stances:")[0] + "stances: {file: mine-stances.csv}   # from the survey\n"
    table = "actor;issue;position;salience\nA;x;20;50\nB;x;80;100\n\nC;x;50;70\n"
    (lib / "mine.yaml").write_text(text)
    (lib / "mine-stances.csv").write_text(table)
    r = _edit(client, "mine.yaml", [{"actor": "C", "issue": "x", "field": "salience", "value": 35}])
    assert r.status_code == 200, r.text
    assert (lib / "mine.yaml").read_text() == text                       # the reference stays a reference
    assert _changed_lines(table, (lib / "mine-stances.csv").read_text()) == [("C;x;50;70", "C;x;50;35")]
    assert load(lib / "mine.yaml").stance("C", "x").salience == 35


def test_compact_table_cell_edited_in_place(client, lib):
    text = ("name: c\nactors: [{id: A}, {id: B}]\nissues: [{id: x, lower: 0, upper: 10}]\n"
            "stances:\n  columns: [actor, issue, position, salience]\n  rows:\n"
            "    - [A, x, 2, 50]  # a\n    - [B, x, 8, 50]  # b\n")
    (lib / "c.yaml").write_text(text)
    r = _edit(client, "c.yaml", [{"actor": "B", "issue": "x", "field": "position", "value": 6}])
    assert r.status_code == 200, r.text
    assert _changed_lines(text, (lib / "c.yaml").read_text()) == [("    - [B, x, 8, 50]  # b", "    - [B, x, 6, 50]  # b")]


def test_json_edit_stays_json(client, lib):
    import json

    doc = {"name": "j", "actors": [{"id": "A"}, {"id": "B"}], "issues": [{"id": "x", "lower": 0, "upper": 10}],
           "stances": [{"actor": "A", "issue": "x", "position": 2, "salience": 50},
                       {"actor": "B", "issue": "x", "position": 8, "salience": 50}]}
    (lib / "j.json").write_text(json.dumps(doc, indent="\t"))
    r = _edit(client, "j.json", [{"actor": "A", "issue": "x", "field": "position", "value": 3}])
    assert r.status_code == 200, r.text
    back = json.loads((lib / "j.json").read_text())
    assert back["stances"][0]["position"] == 3 and back["stances"][1] == doc["stances"][1]


def test_value_not_written_in_the_file_is_refused_and_nothing_changes(client, lib):
    text = COMMENTED_YAML.replace("  - {id: C, capability: 1}", "  - {id: C}")
    (lib / "mine.yaml").write_text(text)
    r = _edit(client, "mine.yaml", [{"actor": "C", "field": "capability", "value": 5},
                                    {"actor": "A", "issue": "x", "field": "position", "value": 1}])
    assert r.status_code == 409, r.text
    body = r.json()
    assert set(body) >= {"error"} and "save_as" in body["error"]
    assert (lib / "mine.yaml").read_text() == text


@pytest.mark.parametrize("value, shown", [("abc", "abc"), (None, "None")])
def test_cell_value_that_is_not_a_number_or_missing_is_refused_and_nothing_changes(client, lib, value, shown):
    (lib / "mine.yaml").write_text(COMMENTED_YAML)
    cell = {"actor": "B", "issue": "x", "field": "position"}
    r = _edit(client, "mine.yaml", [{**cell, "value": 65}, {**cell, **({} if value is None else {"value": value})}])
    assert r.status_code == 422, r.text
    probs = r.json()["problems"]
    assert [(p["message"], p["column"], p["value"]) for p in probs] == [("not a number", "cells.1.value", shown)]
    assert (lib / "mine.yaml").read_text() == COMMENTED_YAML


def test_save_as_new_name_and_no_overwrite_without_confirmation(client, lib):
    (lib / "mine.yaml").write_text(COMMENTED_YAML)
    (lib / "taken.yaml").write_text("name: precious\n")
    cells = [{"actor": "A", "issue": "x", "field": "position", "value": 30}]
    r = _edit(client, "mine.yaml", cells, save_as="taken.yaml")
    assert r.status_code == 409, r.text
    assert (lib / "taken.yaml").read_text() == "name: precious\n"
    assert (lib / "mine.yaml").read_text() == COMMENTED_YAML
    r = _edit(client, "mine.yaml", cells, save_as="copy.yaml")
    assert r.status_code == 200, r.text
    assert r.json()["saved"] == "copy.yaml"
    assert load(lib / "copy.yaml").stance("A", "x").position == 30
    assert (lib / "mine.yaml").read_text() == COMMENTED_YAML               # the edited file is kept as it was
    r = _edit(client, "mine.yaml", cells, save_as="taken.yaml", overwrite=True)
    assert r.status_code == 200, r.text
    assert load(lib / "taken.yaml").stance("A", "x").position == 30


@pytest.mark.parametrize("save_as", ["../evil.yaml", "x.csv", ".hidden.yaml", "a/b.yaml"])
def test_save_as_refuses_unsafe_or_non_yaml_names(client, lib, save_as):
    (lib / "mine.yaml").write_text(COMMENTED_YAML)
    r = _edit(client, "mine.yaml", [{"actor": "A", "issue": "x", "field": "position", "value": 30}], save_as=save_as)
    assert r.status_code in (400, 422), r.text
    assert sorted(p.name for p in lib.iterdir()) == ["mine.yaml"]


def test_format_without_writer_is_refused(client, lib):
    pytest.importorskip("openpyxl")
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    for row in (["Actor", "Capability", "Position", "Salience"], ["A", 2, 20, 50], ["B", 1, 80, 100]):
        ws.append(row)
    wb.save(lib / "b.xlsx")
    before = (lib / "b.xlsx").read_bytes()
    r = _edit(client, "b.xlsx", [{"actor": "A", "field": "capability", "value": 3}])
    assert r.status_code == 409, r.text
    assert (lib / "b.xlsx").read_bytes() == before
    assert sorted(p.name for p in lib.iterdir()) == ["b.xlsx"]


def test_edit_that_reads_back_wrong_is_rolled_back(client, lib):
    """A value shared through a YAML alias: changing it in place would change another stance
    too; the read-back check catches it, the old bytes come back, and the answer is 409."""
    text = COMMENTED_YAML.replace("position: 20, salience: 50}", "position: &p 20, salience: 50}").replace(
        "{actor: C, issue: x, position: 50, salience: 70}", "{actor: C, issue: x, position: *p, salience: 70}")
    (lib / "mine.yaml").write_text(text)
    assert load(lib / "mine.yaml").stance("C", "x").position == 20
    r = _edit(client, "mine.yaml", [{"actor": "A", "issue": "x", "field": "position", "value": 25}])
    assert r.status_code == 409, r.text
    assert "does not read back" in r.json()["error"]
    assert (lib / "mine.yaml").read_text() == text
    assert sorted(p.name for p in lib.iterdir()) == ["mine.yaml"]  # no temporary file left
