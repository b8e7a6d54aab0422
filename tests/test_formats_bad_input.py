"""Bad input that used to give a traceback, exit 1 or a silently wrong number: each now gives
a named problem (``InputError``, exit 2) with file, line and column."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from detente.cli import app
from detente.errors import InputError, Problem
from detente.formats import load, save
from detente.formats.common import read_table
from detente.scenario import Actor, Issue, Relation, Scenario, Stance

runner = CliRunner()
SRC = Path(__file__).resolve().parents[1] / "src"


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("DETENTE_HOME", str(tmp_path / "home"))


def problems_of(path, **kw) -> list[Problem]:
    with pytest.raises(InputError) as ei:
        load(path, **kw)
    assert json.dumps(ei.value.to_dict(), allow_nan=False)
    return ei.value.problems


def cli_json(*args) -> tuple[int, dict]:
    r = runner.invoke(app, [str(a) for a in args])
    lines = [ln for ln in r.stdout.splitlines() if ln.strip()]
    assert len(lines) == 1, r.output
    return r.exit_code, json.loads(lines[0])


# --------------------------------------------------------------------------- lone surrogates
def test_json_lone_surrogate_is_a_named_problem(tmp_path):
    p = tmp_path / "s.json"
    p.write_text('{"actors": [{"id": "A"},\n {"id": "B\\ud800x"}, {"id": "\\udc00"}, {"id": "\\ud83d\\ude00"}],\n'
                 ' "issues": [{"id": "x"}], "stances": []}', encoding="utf-8")
    probs = problems_of(p)
    line2 = p.read_text().splitlines()[1]
    cols = [f"char {line2.index(e) + 1}" for e in ("\\ud800", "\\udc00")]
    assert cols == ["char 11", "char 30"]
    assert [(q.line, q.column, q.value) for q in probs] == [(2, cols[0], "\\ud800"), (2, cols[1], "\\udc00")]
    assert all("surrogate" in q.message for q in probs)
    # an escaped backslash followed by "ud800" is plain text, and a proper pair is one emoji
    p.write_text('{"actors": [{"id": "A\\\\ud800"}, {"id": "\\ud83d\\ude00"}], "issues": [{"id": "x"}],'
                 ' "stances": [{"actor": "A\\\\ud800", "issue": "x", "position": 1, "salience": 1}]}')
    assert load(p).actor_ids == ["A\\ud800", "\U0001F600"]


def test_cli_json_with_lone_surrogate_exits_2_with_one_json_object(tmp_path):
    p = tmp_path / "s.json"
    p.write_text('{"actors":[{"id":"A\\ud800"}],"issues":[{"id":"x"}],"stances":[]}', encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "detente.cli", "validate", str(p), "--json"], capture_output=True,
                       env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin", "PYTHONIOENCODING": "utf-8"},
                       timeout=120)
    assert r.returncode == 2, r.stderr
    assert b"Traceback" not in r.stderr
    d = json.loads(r.stdout)
    assert d["problems"][0]["message"].startswith("a lone UTF-16 surrogate")


def _strict_stream(encoding: str) -> io.TextIOWrapper:
    return io.TextIOWrapper(io.BytesIO(), encoding=encoding, errors="strict", newline="\n")


def test_error_printing_survives_unencodable_text(monkeypatch):
    """Whatever text an error holds (here a lone surrogate), printing it never fails."""
    import typer

    from detente import cli

    bad = InputError(Problem("bad name", file="f.json", column="actors.0.id", value="A\ud800é"))
    out = _strict_stream("utf-8")
    monkeypatch.setattr(sys, "stdout", out)
    with pytest.raises(typer.Exit) as ei:
        cli.guarded(lambda: (_ for _ in ()).throw(bad), as_json=True)
    assert ei.value.exit_code == 2
    out.flush()
    d = json.loads(out.buffer.getvalue().decode("utf-8"))
    assert d["problems"][0]["value"] == "A\ud800é"  # the same value, as JSON escapes
    # plain text on a stream that cannot hold it: escaped, exit 2
    errs = _strict_stream("ascii")
    monkeypatch.setattr(sys, "stderr", errs)
    with pytest.raises(typer.Exit) as ei:
        cli.guarded(lambda: (_ for _ in ()).throw(bad), as_json=False)
    assert ei.value.exit_code == 2
    errs.flush()
    text = errs.buffer.getvalue().decode("ascii")
    assert "\\ud800" in text and "\\xe9" in text and "bad name" in text


# --------------------------------------------------------------------------- over-long integers
def test_json_integer_over_4300_digits(tmp_path):
    p = tmp_path / "s.json"
    p.write_text('{"actors": [{"id": "A",\n "capability": ' + "9" * 5000 + '}],\n "issues": [{"id": "x"}],'
                 ' "stances": [], "metadata": {"n": ' + "1" * 4500 + "}}", encoding="utf-8")
    probs = problems_of(p)
    assert [(q.column, q.message) for q in probs] == [("actors.0.capability", "integer with 5000 digits"),
                                                      ("metadata.n", "integer with 4500 digits")]
    assert probs[0].line == 2
    code, d = cli_json("validate", p, "--json")
    assert code == 2 and d["problems"][0]["message"] == "integer with 5000 digits"


def test_yaml_integer_over_4300_digits(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text("actors:\n  - id: A\n    capability: " + "9" * 5000 + "\nissues: [{id: x}]\nstances: []\n")
    (q,) = problems_of(p)
    assert (q.line, q.column, q.message) == (3, "actors.0.capability", "integer with 5000 digits")
    # 4000 digits still read (and are refused as a capability only by the model's own checks)
    p.write_text("actors: [{id: A}]\nissues: [{id: x}]\nstances: []\nmetadata: {n: " + "1" * 4000 + "}\n")
    assert load(p).metadata["n"] == int("1" * 4000)


# --------------------------------------------------------------------------- XML encodings
@pytest.mark.parametrize("enc", ["no-such-encoding", "rot13", "zlib_codec"])
def test_xml_declaration_with_unknown_encoding(tmp_path, enc):
    p = tmp_path / "s.xml"
    p.write_text(f'<?xml version="1.0" encoding="{enc}"?>\n<Scenario><name>x</name></Scenario>\n')
    (q,) = problems_of(p)
    assert q.line == 1 and q.column == "encoding" and q.value == enc
    assert q.message.startswith("unknown encoding in the XML declaration")
    code, d = cli_json("validate", p, "--json")
    assert code == 2 and d["problems"][0]["value"] == enc


# --------------------------------------------------------------------------- XLSX
def _good_xlsx(tmp_path) -> Path:
    s = Scenario(actors=[Actor(id="A"), Actor(id="B")], issues=[Issue(id="x")],
                 stances=[Stance(actor="A", issue="x", position=10, salience=50),
                          Stance(actor="B", issue="x", position=90, salience=50)])
    return save(s, tmp_path / "ok.xlsx")


def _rewrite(src: Path, dst: Path, part: str, fn) -> Path:
    with zipfile.ZipFile(src) as z, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as out:
        for n in z.namelist():
            d = z.read(n)
            out.writestr(n, fn(d) if n == part else d)
    return dst


@pytest.mark.parametrize("decl", [b'<!DOCTYPE worksheet [<!ENTITY e "AAAA">]>',
                                  b'<!DOCTYPE worksheet SYSTEM "file:///etc/passwd">'])
def test_xlsx_with_a_dtd_is_refused(tmp_path, decl):
    ok = _good_xlsx(tmp_path)
    assert load(ok).actor_ids == ["A", "B"]
    bad = _rewrite(ok, tmp_path / "dtd.xlsx", "xl/worksheets/sheet1.xml",
                   lambda d: b'<?xml version="1.0"?>' + decl + d)
    (q,) = problems_of(bad)
    assert "document type declaration" in q.message and q.column == "xl/worksheets/sheet1.xml"
    # also in UTF-16, and in another part than the sheet
    bad16 = _rewrite(ok, tmp_path / "dtd16.xlsx", "[Content_Types].xml",
                     lambda d: ('<?xml version="1.0" encoding="UTF-16"?>' + decl.decode()).encode("utf-16-le")
                     + d.decode().encode("utf-16-le"))
    (q,) = problems_of(bad16)
    assert "document type declaration" in q.message and q.column == "[Content_Types].xml"
    code, _d = cli_json("validate", bad, "--json")
    assert code == 2


def test_xlsx_with_a_corrupt_deflate_stream(tmp_path):
    ok = _good_xlsx(tmp_path)
    raw = bytearray(ok.read_bytes())
    with zipfile.ZipFile(ok) as z:
        info = z.getinfo("xl/worksheets/sheet1.xml")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for k in range(4, 24):
        raw[start + k] ^= 0x55
    bad = tmp_path / "deflate.xlsx"
    bad.write_bytes(bytes(raw))
    (q,) = problems_of(bad)
    assert q.message.startswith("not a readable .xlsx workbook") and q.file == str(bad)
    code, _d = cli_json("validate", bad, "--json")
    assert code == 2


# --------------------------------------------------------------------------- table reference options
def test_yaml_table_reference_with_bad_encoding_or_delimiter(tmp_path):
    (tmp_path / "st.csv").write_text("actor,issue,position,salience\nA,x,1,50\n")
    p = tmp_path / "s.yaml"
    p.write_text("actors: [{id: A}]\nissues: [{id: x}]\nstances:\n  file: st.csv\n  encoding: no-such-codec\n"
                 "  delimiter: ';;'\n")
    probs = problems_of(p)
    assert [(q.line, q.column, q.value) for q in probs] == [(5, "stances.encoding", "no-such-codec"),
                                                            (6, "stances.delimiter", ";;")]
    for enc, delim in (("rot13", ","), ("utf-8", ""), ("utf-8", "\n"), (7, ","), ("utf-8", 5)):
        p.write_text("actors: [{id: A}]\nissues: [{id: x}]\n"
                     f"stances: {{file: st.csv, encoding: {json.dumps(enc)}, delimiter: {json.dumps(delim)}}}\n")
        (q,) = problems_of(p)
        assert q.message.startswith("invalid table reference option"), (enc, delim)
    p.write_text("actors: [{id: A}]\nissues: [{id: x}]\nstances: {file: st.csv, encoding: latin-1, delimiter: ','}\n")
    assert load(p).stance("A", "x").position == 1.0


def test_reader_options_with_bad_encoding_or_delimiter(tmp_path):
    p = tmp_path / "st.csv"
    p.write_text("actor,issue,position,salience\nA,x,1,50\n")
    with pytest.raises(InputError, match="unknown text encoding"):
        read_table(p, encoding="no-such-codec")
    with pytest.raises(InputError, match="invalid field delimiter"):
        read_table(p, delimiter=";;")
    assert problems_of(p, format="bdm", delimiter="ab")


# --------------------------------------------------------------------------- silent wrong numbers
def test_booleans_are_not_numbers(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text("actors:\n  - {id: A, capability: yes}\n  - {id: B}\nissues:\n  - {id: x, lower: false}\n"
                 "stances:\n  - {actor: A, issue: x, position: true, salience: 50}\n"
                 "  - {actor: B, issue: x, position: 5, salience: on}\n"
                 "relations:\n  - {source: A, target: B, affinity: true}\n")
    probs = problems_of(p)
    got = sorted((q.line, q.column) for q in probs)
    assert got == [(2, "actors.0.capability"), (5, "issues.0.lower"), (7, "stances.0.position"),
                   (8, "stances.1.salience"), (10, "relations.0.affinity")]
    assert all("not the boolean" in q.message for q in probs)
    for kw in ({"position": True}, {"salience": False}, {"capability": True}):
        with pytest.raises(ValueError, match="boolean"):
            Stance(**{"actor": "A", "issue": "x", "position": 1, "salience": 1, **kw})
    with pytest.raises(ValueError, match="boolean"):
        Relation(source="A", target="B", affinity=False)
    # numbers still are numbers, including text numbers from tables
    assert Stance(actor="A", issue="x", position="5", salience=1).position == 5.0


def test_json_booleans_are_not_numbers(tmp_path):
    p = tmp_path / "s.json"
    p.write_text(json.dumps({"actors": [{"id": "A"}], "issues": [{"id": "x"}],
                             "stances": [{"actor": "A", "issue": "x", "position": True, "salience": 1}]}, indent=1))
    (q,) = problems_of(p)
    assert q.column == "stances.0.position" and "boolean" in q.message


@pytest.mark.parametrize("text,value", [("1:20", "80"), ("-1:20", "-80"), ("1:20.5", "80.5"), ("2:00:00", "7200")])
def test_yaml_sexagesimal_numbers_are_refused(tmp_path, text, value):
    p = tmp_path / "s.yaml"
    p.write_text("actors: [{id: A}]\nissues: [{id: x, lower: -10000, upper: 10000}]\n"
                 f"stances:\n  - {{actor: A, issue: x, position: {text}, salience: 50}}\n")
    (q,) = problems_of(p)
    assert (q.line, q.column) == (4, "stances.0.position")
    assert "sexagesimal" in q.message and f"would read as {value}" in q.message
    assert q.value == f"{text} (char {len('  - {actor: A, issue: x, position: ') + 1})"


def test_sexagesimal_anywhere_and_quoted_text_is_fine(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text("actors: [{id: A}]\nissues: [{id: x}]\nstances: [{actor: A, issue: x, position: 1, salience: 2}]\n"
                 "metadata:\n  ratio: 3:2\n  time: '1:20'\n")
    (q,) = problems_of(p)
    assert (q.line, q.column) == (5, "metadata.ratio")
    p.write_text("actors: [{id: A}]\nissues: [{id: x}]\nstances: [{actor: A, issue: x, position: 1, salience: 2}]\n"
                 "metadata:\n  time: '1:20'\n  clock: \"1:20\"\n")
    assert load(p).metadata == {"time": "1:20", "clock": "1:20"}


# --------------------------------------------------------------------------- Unicode normalisation
CAFE_NFD, CAFE_NFC = "Cafe\u0301", "Caf\u00e9"


def test_names_are_nfc_normalised_in_the_model():
    assert CAFE_NFD != CAFE_NFC
    a = Actor(id=CAFE_NFD, name=CAFE_NFD, group=CAFE_NFD)
    assert a.id == a.name == a.group == CAFE_NFC
    s = Scenario(name=CAFE_NFD, actors=[Actor(id=CAFE_NFD)], issues=[Issue(id=CAFE_NFD)],
                 stances=[Stance(actor=CAFE_NFC, issue=CAFE_NFC, position=1, salience=1)],
                 relations=[Relation(source=CAFE_NFD, target=CAFE_NFC, affinity=0.5)])
    assert s.name == CAFE_NFC and s.actor_ids == [CAFE_NFC]
    assert s.actor(CAFE_NFD).id == CAFE_NFC and s.stance(CAFE_NFD, CAFE_NFD).position == 1.0
    with pytest.raises(ValueError, match="duplicate actor"):
        Scenario(actors=[Actor(id=CAFE_NFD), Actor(id=CAFE_NFC)], issues=[Issue(id="x")])


def test_two_spellings_of_one_name_are_one_actor_in_every_reader(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text(f"actors: [{{id: {CAFE_NFD}}}, {{id: {CAFE_NFC}}}]\nissues: [{{id: x}}]\nstances: []\n",
                 encoding="utf-8")
    (q,) = problems_of(p)
    assert q.message == "duplicate actor" and q.line == 1
    c = tmp_path / "s.csv"
    c.write_text(f"actor,issue,position,salience\n{CAFE_NFD},x,1,50\n{CAFE_NFC},x,2,50\n", encoding="utf-8")
    (q,) = problems_of(c)
    assert "duplicate stance" in q.message and q.line == 3
    c.write_text(f"actor,issue,position,salience\n{CAFE_NFD},x,1,50\n{CAFE_NFC},y,2,50\n", encoding="utf-8")
    s = load(c)
    assert s.actor_ids == [CAFE_NFC] and len(s.stances) == 2


def test_deu_file_with_a_stray_carriage_return(tmp_path):
    """Found by the fuzz test (seed 1): a bare CR inside a DEU row crashed the CSV module."""
    raw = (Path(__file__).resolve().parent / "fixtures" / "deu" / "deu_sample.csv").read_bytes()
    i = raw.index(b"\n", raw.index(b"\n") + 1) + 20  # inside the second data row
    p = tmp_path / "deu.csv"
    p.write_bytes(raw[:i] + b"\r" + raw[i:])
    probs = problems_of(p, format="deu")
    assert all(q.file == str(p) for q in probs)
    p.write_bytes(raw[:i] + b'"\x00' + raw[i:])
    assert problems_of(p, format="deu")
