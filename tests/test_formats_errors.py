"""Bad input never gives a traceback: every reader raises one InputError listing every
problem with file, line, column, value and what was expected."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from detente.errors import InputError
from detente.formats import FORMATS, load
from detente.formats.common import build_scenario
from detente.formats.registry import MAX_BYTES

FX = Path(__file__).resolve().parent / "fixtures" / "formats"

GOOD_YAML = """\
name: t
actors:
  - {id: A, capability: 2}
  - {id: B}
issues:
  - {id: x, lower: 0, upper: 10}
stances:
  - {actor: A, issue: x, position: 1, salience: 50}
  - {actor: B, issue: x, position: 9, salience: 100}
"""


def problems(path, **kw):
    with pytest.raises(InputError) as ei:
        load(path, **kw)
    assert str(ei.value)  # renders
    assert ei.value.to_dict()["problems"]
    return ei.value.problems


def write(tmp_path, name, content):
    p = tmp_path / name
    if isinstance(content, bytes):
        p.write_bytes(content)
    else:
        p.write_text(content, encoding="utf-8")
    return p


# --------------------------------------------------------------------------- files
@pytest.mark.parametrize("name", ["e.yaml", "e.csv", "e.xlsx", "e.json", "e.txt"])
def test_empty_file(tmp_path, name):
    (pr,) = problems(write(tmp_path, name, b""))
    assert pr.message == "file is empty" and pr.file.endswith(name)


@pytest.mark.parametrize("fmt", ["csv", "bdm", "ktab_csv", "decide", "yaml"])
def test_blank_file(tmp_path, fmt):
    prs = problems(write(tmp_path, "b.csv", "\n  \n\n"), format=fmt)
    assert prs and all(p.file.endswith("b.csv") for p in prs)


def test_missing_file_and_directory(tmp_path):
    assert problems(tmp_path / "nope.yaml")[0].message == "file not found"
    assert "directory" in problems(tmp_path)[0].message


def test_fifty_megabyte_file_refused_quickly(tmp_path):
    p = tmp_path / "big.csv"
    with open(p, "wb") as fh:
        fh.write(b"actor,issue,position,salience\n")
        fh.truncate(50 * 1024 * 1024)
    (pr,) = problems(p)
    assert "too large" in pr.message and "52.4 MB" in pr.message
    # a referenced table is held to the same limit
    big = tmp_path / "stances.csv"
    shutil.move(p, big)
    y = write(tmp_path, "s.yaml", "actors: [{id: A}]\nissues: [{id: x}]\nstances: {file: stances.csv}\n")
    prs = problems(y)
    assert any("too large" in p.message and p.file.endswith("stances.csv") for p in prs)
    assert MAX_BYTES < 50 * 1024 * 1024


@pytest.mark.parametrize("fmt,name", [("yaml", "u.yaml"), ("csv", "u.csv"), ("bdm", "u.csv"),
                                      ("ktab_csv", "u.csv"), ("decide", "u.csv")])
def test_utf16_refused_clearly(tmp_path, fmt, name):
    p = write(tmp_path, name, "Actor,Capability,Position,Salience\nA,1,2,3\n".encode("utf-16"))
    (pr,) = problems(p, format=fmt)
    assert "UTF-16" in pr.message and "UTF-8" in pr.expected


def test_random_bytes(tmp_path):
    rng = np.random.default_rng(7)
    raw = rng.integers(0, 256, 4000, dtype=np.uint8).tobytes()
    for name in ("r.yaml", "r.csv", "r.txt", "r.xlsx"):
        prs = problems(write(tmp_path, name, raw), **({"format": "csv"} if name == "r.txt" else {}))
        assert prs[0].file.endswith(name)
    # bytes that no encoding accepts (cp1252 leaves 0x81 undefined)
    p = write(tmp_path, "bad.yaml", b"name: \xe9t\xe9\nactors: []\n")
    (pr,) = problems(p)
    assert pr.line == 1 and "decode" in pr.message


def test_unknown_format_and_extension(tmp_path):
    p = write(tmp_path, "a.doc", "x")
    assert "unrecognised" in problems(p)[0].message
    assert "no reader" in problems(p, format="nope")[0].message


# --------------------------------------------------------------------------- YAML
def test_malformed_yaml(tmp_path):
    (pr,) = problems(write(tmp_path, "m.yaml", "actors:\n  - {id: A\nissues: []\n"))
    assert pr.message.startswith("malformed YAML") and pr.line == 3
    (pr,) = problems(write(tmp_path, "n.yaml", "- just\n- a list\n"))
    assert "mapping" in pr.message


def test_yaml_wrong_types_and_unknown_fields_all_reported(tmp_path):
    p = write(tmp_path, "w.yaml", """\
name: t
salience_scale: percent
actors:
  - {id: A, capability: lots}
  - {id: B, capability: -1}
  - {id: C, colour: red, weight: 3}
issues:
  - {id: x, lower: 10, upper: 0}
  - {id: y}
stances:
  - {actor: A, issue: y, position: abc, salience: 50}
  - {actor: B, issue: y, position: 200, salience: 50}
  - {actor: C, issue: x, position: 5, salience: 50}
  - {actor: D, issue: y, position: 5, salience: 150}
relations:
  - {source: A, target: Z, affinity: 2}
""")
    prs = problems(p)
    got = {(pr.line, pr.column) for pr in prs}
    assert (4, "actors.0.capability") in got  # not a number
    assert (5, "actors.1.capability") in got  # negative
    assert (6, "actors.2.weight") in got  # unknown field
    assert (8, "issues.0") in got or any(pr.line == 8 for pr in prs)  # lower >= upper
    assert (11, "stances.0.position") in got
    assert (12, "stances.1.position") in got  # outside [0, 100]
    assert (14, "stances.3.actor") in got  # unknown actor D
    assert (14, "stances.3.salience") in got  # above percent
    assert (16, "relations.0.affinity") in got
    assert any(pr.line == 16 and pr.value == "Z" for pr in prs)  # unknown target, even on an invalid relation
    # the stance on the broken issue x is not reported as naming an unknown issue
    assert not any(pr.line == 13 and pr.message == "unknown issue" for pr in prs)
    cap = next(pr for pr in prs if pr.column == "actors.1.capability")
    assert cap.value == -1 and cap.expected == "a number >= 0"


def test_yaml_top_level_types(tmp_path):
    prs = problems(write(tmp_path, "t.yaml", "actors: 5\nissues: [{id: x}]\nsalience_scale: permille\nextra: 1\n"))
    cols = {pr.column for pr in prs}
    assert {"actors", "salience_scale", "extra"} <= cols
    assert not any("at least one actor" in pr.message for pr in prs)


def test_yaml_duplicate_keys_and_actor(tmp_path):
    p = write(tmp_path, "d.yaml", GOOD_YAML.replace("  - {id: B}", "  - {id: A}") + "name: again\n")
    prs = problems(p)
    assert any(pr.message == "duplicate key" and pr.line == 10 for pr in prs)
    assert any(pr.message == "duplicate actor" and pr.line == 4 for pr in prs)


def test_yaml_nan_and_inf(tmp_path):
    p = write(tmp_path, "n.yaml", GOOD_YAML.replace("position: 1,", "position: .nan,").replace("capability: 2",
                                                                                              "capability: .inf"))
    prs = problems(p)
    assert {pr.line for pr in prs} == {3, 8}
    assert all("finite" in pr.message for pr in prs)


# --------------------------------------------------------------------------- tables
def test_missing_columns(tmp_path):
    p = write(tmp_path, "m.csv", "Actor,Position,Salience\nA,1,2\n")
    (pr,) = problems(p, format="bdm")
    assert pr.message == "missing column 'capability'" and pr.line == 1 and "clout" in pr.expected
    p = write(tmp_path, "l.csv", "actor,capability,salience,issue\nA,1,2,x\n")
    (pr,) = problems(p)
    assert pr.message == "missing column 'position'"


def test_table_values(tmp_path):
    p = write(tmp_path, "v.csv", "Actor,Capability,Position,Salience\n"
                                 "A,1,NaN,50\n"        # 2: NaN
                                 "A,2,5,50\n"          # 3: duplicate actor
                                 "B,-3,5,50\n"         # 4: negative capability
                                 ",1,5,50\n"           # 5: missing actor
                                 "C,1,5,\n"            # 6: missing salience
                                 "D,1,inf,50\n"        # 7: inf
                                 "E,one,5,50\n")       # 8: text
    prs = problems(p)
    got = {(pr.line, pr.column) for pr in prs}
    assert got >= {(2, "Position"), (3, "Actor"), (4, "Capability"), (5, "Actor"), (6, "Salience"),
                   (7, "Position"), (8, "Capability")}
    nan = next(pr for pr in prs if pr.line == 2)
    assert nan.value == "NaN" and nan.expected == "a finite number"
    neg = next(pr for pr in prs if pr.line == 4)
    assert neg.value == -3.0 and neg.expected == "a number >= 0"


def test_position_outside_given_bounds(tmp_path):
    p = write(tmp_path, "b.csv", "actor,issue,position,salience,lower,upper\nA,x,5,0.5,0,10\nB,x,11,0.5,,\n")
    (pr,) = problems(p)
    assert (pr.line, pr.column, pr.value, pr.expected) == (3, "position", "11", "a number in [0, 10]")
    prs = problems(FX / "bdm_emission.csv", upper=8)
    assert [(pr.line, pr.value) for pr in prs] == [(6, "10"), (7, "10"), (8, "10")]


def test_unknown_issue_in_decide(tmp_path):
    p = write(tmp_path, "d.csv", "#A\tA\tA\n#P\tx\n#D\tA\ty\t5\t0.5\t0.5\n#M\tz\t0\n")
    prs = problems(p)
    assert {(pr.line, pr.column) for pr in prs} == {(3, "issue"), (4, "issue")}


def test_broken_xlsx(tmp_path):
    (pr,) = problems(write(tmp_path, "x.xlsx", b"PK\x03\x04 not really a zip"))
    assert "xlsx" in pr.message


def test_build_scenario_collects_everything():
    data = {"actors": [{"id": "A", "capability": "x"}, {"id": "B"}, {"id": "B"}],
            "issues": [{"id": "i", "lower": 0, "upper": 1}],
            "stances": [{"actor": "A", "issue": "i", "position": 2, "salience": 1},
                        {"actor": "B", "issue": "j", "position": 0, "salience": -1},
                        {"actor": "C", "issue": "i", "position": 0.5, "salience": 1}]}
    with pytest.raises(InputError) as ei:
        build_scenario(data, file="f")
    paths = {p.column for p in ei.value.problems}
    assert paths == {"actors.0.capability", "actors.2.id", "stances.0.position", "stances.1.salience",
                     "stances.1.issue", "stances.2.actor"}
    # actor A failed its own validation: its stance is not reported as naming an unknown actor
    assert not any(p.column == "stances.0.actor" for p in ei.value.problems)


# --------------------------------------------------------------------------- robustness
def _readers():
    return [k for k, (r, _w) in FORMATS.items() if r and k not in ("deu", "ktab_xml")]


def test_mutated_inputs_never_traceback(tmp_path):
    """Random byte edits of every fixture, read with every reader: only InputError."""
    rng = np.random.default_rng(2024)
    sources = [FX / n for n in ("bdm_emission.csv", "long.csv", "ktab_small.csv", "decide_small.csv", "full.yaml")]
    fmts = [f for f in _readers() if not f.endswith("xlsx")]
    n = 0
    for src in sources:
        raw = bytearray(src.read_bytes())
        for trial in range(25):
            b = bytearray(raw)
            for _ in range(int(rng.integers(1, 6))):
                op = rng.integers(0, 3)
                pos = int(rng.integers(0, len(b)))
                if op == 0:
                    b[pos] = int(rng.choice(list(b",;\t\n'\"#-.0123456789:[]{}abe ")))
                elif op == 1:
                    del b[pos:pos + int(rng.integers(1, 20))]
                else:
                    b[pos:pos] = bytes(rng.choice(list(b",\n-9e.x"), int(rng.integers(1, 5))))
            p = tmp_path / f"m{trial}{src.suffix}"
            p.write_bytes(bytes(b))
            for fmt in fmts:
                try:
                    load(p, format=fmt)
                except InputError as exc:
                    assert exc.problems
                n += 1
    assert n > 500


def test_malformed_json_and_tabs(tmp_path):
    (pr,) = problems(write(tmp_path, "m.json", '{\n  "actors": [\n    {"id": "A",}\n  ]\n}\n'))
    assert pr.message.startswith("malformed JSON") and pr.line == 3
    p = write(tmp_path, "t.json", '{\n\t"actors": [{"id": "A"}],\n\t"issues": [{"id": "x"}],\n'
                                 '\t"stances": [\n\t\t{"actor": "A", "issue": "x", "position": 500, "salience": 1}\n\t]\n}\n')
    (pr,) = problems(p)
    assert pr.line == 5 and pr.column == "stances.0.position"
