"""Readers of the formats layer: BDM tables, long CSV/XLSX, KTAB SMP CSV, Decide files,
detente YAML with compact and referenced tables, and format sniffing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from detente.errors import InputError
from detente.formats import load, sniff_format
from detente.formats.common import infer_bounds, infer_salience_scale

FX = Path(__file__).resolve().parent / "fixtures" / "formats"


def problems_of(path, **kw):
    with pytest.raises(InputError) as ei:
        load(path, **kw)
    return ei.value.problems


# --------------------------------------------------------------------------- BDM
def test_bdm_aliases_bounds_and_inferred_scale():
    s = load(FX / "bdm_emission.csv")
    assert s.actor_ids[:3] == ["Netherlands", "Belgium", "Luxembourg"]
    assert s.issue_ids == ["bdm_emission"]
    iss = s.issues[0]
    assert (iss.lower, iss.upper) == (4.0, 10.0)
    assert s.salience_scale == "percent"
    assert s.metadata["format"] == "bdm_csv"
    assert s.metadata["inferred"]["salience_scale"].startswith("percent")
    assert s.metadata["inferred"]["bounds"] == {"bdm_emission": {"lower": 4.0, "upper": 10.0}}
    a = s.issue_arrays("bdm_emission")
    assert a.capability[0] == 0.08 and a.position[-1] == 7.0 and a.salience[-1] == pytest.approx(0.7)


def test_bdm_options(tmp_path):
    s = load(FX / "bdm_emission.csv", format="bdm", issue="emission", lower=0, upper=12, name="ec",
             salience_scale="percent")
    assert s.name == "ec" and s.issue_ids == ["emission"]
    assert (s.issues[0].lower, s.issues[0].upper) == (0.0, 12.0)
    assert "inferred" not in s.metadata
    # headers in any case, with bound columns, tab separated
    p = tmp_path / "t.tsv"
    p.write_text("ACTOR\tpower\tposition\tSALIENCE\tlower\tupper\nA\t1\t0.2\t0.5\t0\t1\nB\t2\t0.9\t1\t\t\n")
    s = load(p, format="bdm")
    assert s.salience_scale == "unit" and (s.issues[0].lower, s.issues[0].upper) == (0.0, 1.0)


@pytest.mark.parametrize("alias", ["clout", "Power", "INFLUENCE", "resources", "Capability"])
def test_bdm_capability_aliases(tmp_path, alias):
    p = tmp_path / "a.csv"
    p.write_text(f"stakeholder,{alias},position,salience\nA,3,1,50\nB,1,5,50\n")
    assert load(p).issue_arrays("a").capability.tolist() == [3.0, 1.0]


def test_bdm_shared_inputs(shared):
    files = sorted((shared / "conformance" / "bdm" / "inputs").glob("*.csv"))
    assert len(files) >= 4
    for f in files:
        s = load(f)
        assert sniff_format(f) == "bdm"
        assert len(s.issues) == 1 and len(s.stances) == len(s.actors)
    # spec case 5: UK-EMU initial capability x salience weighted mean
    uk = load(shared / "conformance" / "bdm" / "inputs" / "uk_emu_labour.csv")
    a = uk.issue_arrays(uk.issue_ids[0])
    w = a.capability * a.salience
    assert float(np.sum(w * a.position) / np.sum(w)) == pytest.approx(5.321569, abs=1e-6)


# --------------------------------------------------------------------------- long tables
def test_long_csv_semicolon_overrides_and_bounds():
    s = load(FX / "long.csv")
    assert sniff_format(FX / "long.csv") == "csv"
    assert s.actor_ids == ["US", "CN", "RU"] and s.issue_ids == ["taiwan", "ukraine"]
    assert s.actor("RU").capability == 5.0
    assert s.stance("RU", "ukraine").capability == 6.0  # differs from RU's first row
    assert s.stance("US", "ukraine").capability is None
    assert s.salience_scale == "unit"
    assert s.metadata["inferred"] == {"salience_scale": "unit (every salience <= 1)"}


def test_long_csv_conflicting_bounds_and_explicit_scale(tmp_path):
    p = tmp_path / "l.csv"
    p.write_text("actor,issue,position,salience_percent,lower,upper\nA,x,1,1,0,10\nB,x,2,1,0,20\n")
    probs = problems_of(p)
    assert len(probs) == 1 and probs[0].line == 3 and probs[0].column == "upper"
    p.write_text("actor,issue,position,salience_percent\nA,x,1,1\nB,x,2,0.5\n")
    s = load(p)
    assert s.salience_scale == "percent" and s.actor("A").capability == 1.0


def test_long_xlsx(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Intro"
    ws.append(["nothing here"])
    ws2 = wb.create_sheet("Data")
    ws2.append(["Actor", "Issue", "Capability", "Position", "Salience"])
    ws2.append(["A", "x", 2, 10, 50])
    ws2.append(["B", "x", 1, 90, 100])
    ws2.append([None, None, None, None, None])
    ws2.append([7, "x", 1, 50, 20])  # numeric actor id becomes text
    p = tmp_path / "t.xlsx"
    wb.save(p)
    s = load(p, sheet="Data")
    assert s.actor_ids == ["A", "B", "7"] and s.salience_scale == "percent"
    assert s.metadata["format"] == "long_xlsx"
    probs = problems_of(p, sheet="Nope")
    assert "no such sheet" in probs[0].message and "Data" in probs[0].expected
    # a BDM table in a workbook
    wb = openpyxl.Workbook()
    wb.active.append(["Actor", "Capability", "Position", "Salience"])
    wb.active.append(["A", 1, 0, 1])
    wb.active.append(["B", 1, 1, 1])
    q = tmp_path / "bdm.xlsx"
    wb.save(q)
    assert sniff_format(q) == "bdm_xlsx"
    assert load(q).issue_ids == ["bdm"]


# --------------------------------------------------------------------------- KTAB CSV
def test_ktab_small():
    s = load(FX / "ktab_small.csv")
    assert sniff_format(FX / "ktab_small.csv") == "ktab_csv"
    assert s.name == "Toy KTAB" and s.description == "A small KTAB scenario"
    assert s.issue_ids == ["Pstn1", "Pstn2"]
    assert all((i.lower, i.upper) == (0.0, 100.0) for i in s.issues)
    assert s.actor("B").capability == 50.5 and s.actor("A").description == "First actor"
    assert s.stance("B", "Pstn1").position == 80.25 and s.salience_scale == "percent"
    assert s.metadata["ktab"] == {"capability_header": "Power", "salience_headers": ["Sal1", "Sal2"]}


def test_ktab_shared_inputs(shared):
    files = sorted((shared / "conformance" / "smp" / "inputs").glob("*.csv"))
    assert len(files) >= 8
    for f in files:
        s = load(f)
        first = f.read_text().splitlines()[0].split(",")
        assert len(s.actors) == int(first[2]) and len(s.issues) == int(first[3]), f.name
        assert len(s.stances) == len(s.actors) * len(s.issues)
    s = load(shared / "conformance" / "smp" / "inputs" / "dummyData_3Dim.csv")
    t = load(shared / "conformance" / "smp" / "inputs" / "dummyData_3Dim-no-final-comma.csv")
    assert s.stances == t.stances and s.actors == t.actors
    assert s.stance("SActor-00", "Pstn1").salience == 49.53
    six = load(shared / "conformance" / "smp" / "inputs" / "dummyData_6Dim.csv")
    assert six.metadata["ktab"]["capability_header"] == "Influence"
    assert six.issue_ids[0] == "Dim0 Position"


def test_ktab_errors_all_at_once(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text(
        "Bad,desc,4,2,\n"
        "Actor,Description,Power,P1,S1,P2,S2,\n"
        "A,d,10,20,60,30,50,\n"          # line 3: saliences sum to 110
        "B,d,0,50,10,50,10,\n"           # line 4: capability 0
        "C,d,5,120,10,50,10,\n"          # line 5: position 120
        "A,d,5,20,10,50,10,\n"           # line 6: duplicate actor
        "ThisActorNameIsFarTooLongForKTAB,d,5,20,10,50,10,\n"  # line 7: name > 25
        "E,d,5,20,0,50,0,\n"             # line 8: all saliences zero
    )
    probs = problems_of(p)
    by_line = {pr.line: pr for pr in probs}
    assert "sum to 110" in by_line[3].message
    assert by_line[4].column == "Power" and by_line[4].value == "0"
    assert by_line[5].value == "120" and "[0, 100]" in by_line[5].expected
    assert "duplicate" in by_line[6].message
    assert "too long" in by_line[7].message
    assert "all zero" in by_line[8].message
    assert any(pr.line == 1 and "announces 4 actors" in pr.message for pr in probs)


def test_ktab_structure_errors(tmp_path):
    p = tmp_path / "k.csv"
    p.write_text("X,d,3,2\nActor,Description,Power,P1,S1\nA,d,1,2,3\n")
    probs = problems_of(p, format="ktab_csv")
    assert probs[0].line == 2 and "announces 2" in probs[0].message
    p.write_text("X,d,three,1\nActor,Description,Power,P1,S1\nA,d,1,2,3\nB,d,1,2\nC,d,1,2,3\n")
    probs = problems_of(p, format="ktab_csv")
    assert {pr.line for pr in probs} >= {1, 4}


# --------------------------------------------------------------------------- Decide
def test_decide_small():
    s = load(FX / "decide_small.csv")
    assert sniff_format(FX / "decide_small.csv") == "decide"
    assert s.description == "Two actors, two issues"
    assert s.actor("USA").name == "United States" and s.actor("China").name is None
    fv = s.issue("finvol")
    assert fv.labels == {"0": "none", "100": "all"}
    assert (s.issue("finwho").lower, s.issue("finwho").upper) == (0.0, 100.0)
    assert s.metadata["inferred"]["bounds"] == {"finwho": "0-100 (no #M rows)"}
    assert s.actor("USA").capability == 1.0 and s.stance("USA", "finwho").capability == 2.0
    assert s.issue_arrays("finwho").capability.tolist() == [1.0, 2.0]
    assert s.salience_scale == "unit"


def test_decide_cp1252_and_explicit_encoding():
    s = load(FX / "decide_cp1252.csv")
    assert s.actor_ids == ["Zürich", "Genève"]
    assert (s.issue("budget").lower, s.issue("budget").upper) == (0.0, 10.0)
    probs = problems_of(FX / "decide_cp1252.csv", encoding="utf-8")
    assert "decode" in probs[0].message and probs[0].line == 1


def test_decide_errors_fixture_reports_everything():
    probs = problems_of(FX / "decide_errors.csv")
    got = {(p.line, p.column) for p in probs}
    assert got == {(6, "position"), (7, "power"), (8, "salience"), (8, "actor"), (9, "issue")}
    assert all(p.file.endswith("decide_errors.csv") for p in probs)


def test_decide_copenhagen_with_errors_c12(shared):
    inp = shared / "conformance" / "exchange" / "inputs"
    probs = problems_of(inp / "copenhagen_with_errors.csv")
    assert len(probs) == 2
    pos, pwr = sorted(probs, key=lambda p: p.line)
    assert (pos.line, pos.column, pos.value) == (86, "position", "160")
    assert "Control" in pos.message and pos.expected == "a number in [0, 100]"
    assert (pwr.line, pwr.column, pwr.value) == (87, "power", "-0.247")
    assert "China India" in pwr.message and "Control" in pwr.message
    only = problems_of(inp / "copenhagen_with_position_error.csv")
    assert [(p.line, p.column, p.value) for p in only] == [(86, "position", "160")]


def test_decide_shared_inputs(shared):
    inp = shared / "conformance" / "exchange" / "inputs"
    counts = {"sample_data.txt": (10, 6, 60), "copenhagen.csv": (11, 7, 75), "cop21.csv": (15, 13, 181),
              "exchange_4x2.csv": (4, 2, 8), "rex_2x2.csv": (2, 2, 4)}
    for f in sorted(inp.iterdir()):
        if "error" in f.name:
            continue
        s = load(f)
        if f.name in counts:
            assert (len(s.actors), len(s.issues), len(s.stances)) == counts[f.name], f.name
    sample = load(inp / "sample_data.txt")
    th = sample.issue("tol-hoogte")
    assert (th.lower, th.upper) == (0.5, 7.0)
    rex = load(inp / "rex_2x2.csv")
    assert rex.salience_scale == "percent" and rex.stance("Actor-1", "Issue-2").salience == 90.0
    assert rex.metadata["inferred"]["salience_scale"].startswith("percent")
    x = load(inp / "exchange_4x2.csv")
    assert x.stance("a4", "q").capability == 0.85 and x.stance("a4", "q").salience == 0.8


def test_decide_unquoted_tabs_with_hash_cells(tmp_path):
    p = tmp_path / "d.txt"
    p.write_text("#A\t#1\t#one\n#A\tB\tB\n#P\t#x\n#D\t#1\t#x\t10\t0.5\t0.5\n#D\tB\t#x\t20\t0.5\t0.5\n")
    s = load(p)
    assert s.actor_ids == ["#1", "B"] and s.issue_ids == ["#x"]


def test_decide_missing_cells_mean_no_stance(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("#A;a;a\n#A;b;b\n#P;x\n#P;y\n#D;a;x;10;0.5;1\n#D;a;y;;;\n#D;b;x;20;0.5;1\n#D;b;y;30;0.5;1\n")
    s = load(p)
    assert s.stance("a", "y") is None and s.stance("b", "y").position == 30.0


# --------------------------------------------------------------------------- YAML tables
def test_yaml_compact_and_referenced_tables():
    s = load(FX / "referenced.yaml")
    assert s.actor("US").name == "United States" and s.actor("RU").capability == 6.0
    assert s.stance("US", "ukraine").capability == 12.0
    assert s.stance("CN", "taiwan").capability is None
    assert s.issue("ukraine").status_quo == 50.0


def test_yaml_reference_errors_point_at_both_files(tmp_path):
    (tmp_path / "st.csv").write_text("actor,issue,position,salience\nA,x,5,50\nB,x,500,50\nA,z,1,oops\n")
    (tmp_path / "s.yaml").write_text(
        "actors: [{id: A}, {id: B}]\n"
        "issues:\n"
        "  - {id: x, lower: 0, upper: 10}\n"
        "stances: {file: st.csv}\n"
        "relations: {file: missing/relations.csv}\n"
    )
    probs = problems_of(tmp_path / "s.yaml")
    missing = [p for p in probs if "not found" in p.message]
    assert len(missing) == 1 and missing[0].line == 5 and missing[0].file.endswith("s.yaml")
    in_table = [p for p in probs if p.file.endswith("st.csv")]
    lines = {(p.line, p.column) for p in in_table}
    assert (3, "position") in lines  # 500 outside [0, 10]
    assert (4, "salience") in lines  # not a number
    assert (4, "issue") in lines  # unknown issue z


def test_yaml_absolute_reference_and_xlsx_sheet(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    wb.active.title = "Other"
    ws = wb.create_sheet("Actors")
    ws.append(["ID", "Capability", "Group"])
    ws.append(["A", 3, "west"])
    ws.append(["B", 1, None])
    x = tmp_path / "sub" / "actors.xlsx"
    x.parent.mkdir()
    wb.save(x)
    (tmp_path / "s.yaml").write_text(
        f"actors: {{file: '{x}', sheet: Actors}}\n"
        "issues: [{id: x}]\n"
        "stances: |\n"
        "  actor,issue,position,salience\n"
        "  A,x,10,50\n"
        "  B,x,90,50\n"
    )
    s = load(tmp_path / "s.yaml")
    assert s.actor("A").capability == 3.0 and s.actor("A").group == "west" and s.actor("B").group is None
    assert s.stance("B", "x").position == 90.0
    (tmp_path / "t.yaml").write_text(
        "actors: [{id: A}, {id: B}]\nissues: [{id: x}]\nstances: |\n"
        "  actor,issue,position,salience\n  A,x,10,50\n  B,x,900,50\n"
    )
    probs = problems_of(tmp_path / "t.yaml")
    assert [(p.line, p.column) for p in probs] == [(6, "position")]


def test_yaml_compact_table_errors(tmp_path):
    (tmp_path / "s.yaml").write_text(
        "actors: [{id: A}]\nissues: [{id: x}]\n"
        "stances:\n  columns: [actor, issue, position, salience, colour]\n"
        "  rows:\n    - [A, x, 10, 50, red]\n    - [A, x, 10]\n"
    )
    probs = problems_of(tmp_path / "s.yaml")
    msgs = {(p.line, p.message.split(" ")[0]) for p in probs}
    assert (4, "unknown") in msgs and (7, "row") in msgs


# --------------------------------------------------------------------------- helpers, sniffing
def test_inference_helpers():
    assert infer_salience_scale([0.0, 1.0]) == "unit"
    assert infer_salience_scale([0.5, 1.5]) == "percent"
    assert infer_salience_scale([]) == "percent"
    assert infer_bounds([5.0, 5.0]) == (0.0, 100.0)
    assert infer_bounds([-3.0, 2.0]) == (-3.0, 2.0)


def test_sniff(tmp_path):
    assert sniff_format(tmp_path / "x.json", for_writing=True) == "json"
    assert sniff_format(tmp_path / "x.xlsx", for_writing=True) == "xlsx"
    (tmp_path / "q.csv").write_text("'#A'\t'a'\n")
    assert sniff_format(tmp_path / "q.csv") == "decide"
    (tmp_path / "u.csv").write_text("foo,bar\n1,2\n")
    with pytest.raises(InputError) as ei:
        load(tmp_path / "u.csv")
    assert "missing column" in str(ei.value)  # falls back to the long-table reader
    with pytest.raises(InputError):
        sniff_format(tmp_path / "x.weird")


def test_ktab_quoted_description_with_commas(tmp_path):
    p = tmp_path / "k.csv"
    p.write_text('Tiny,"three actors, one error",3,1,\nActor,Description,Power,P1,S1,\n'
                 'A1,first,100,20,40,\nA2,"second, really",50,60,30,\nA3,third,80,90,50,\n')
    assert sniff_format(p) == "ktab_csv"
    s = load(p)
    assert s.description == "three actors, one error" and s.actor("A2").description == "second, really"
