"""User YAML outside the scenario readers is read as strictly as they read it (issue 13).

Hypothesis files (``detente run SCENARIO -H file.yaml``) used ``yaml.safe_load``: a YAML 1.1
base-60 number (``1:20``) became 80 and a duplicate key silently kept its last value; a crisis
scenario's numbers took ``true`` for 1. All are named problems now (file, line, column, value).
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from detente.cli import app
from detente.cli.crisis_run import _user_hypothesis
from detente.errors import InputError
from detente.examples import path as example_path


def _run(*args: str):
    return CliRunner().invoke(app, ["run", *map(str, args)])


def test_hypothesis_file_refuses_a_sexagesimal_with_file_line_column_and_value(tmp_path):
    h = tmp_path / "h.yaml"
    h.write_text("name: sexa\nlabel: base-60\nset:\n  settings.lookahead_months: 1:20\n", encoding="utf-8")
    with pytest.raises(InputError) as ei:
        _user_hypothesis(h)
    (p,) = ei.value.problems
    assert p.file == str(h) and p.line == 4 and p.column == "set.settings.lookahead_months"
    assert "1:20" in str(p.value) and "80" in p.message
    r = _run("cuba-1962", "-n", "4", "--json", "--mechanisms", "none", "-H", h)
    assert r.exit_code == 2, r.output
    (q,) = json.loads(r.stdout)["problems"]
    assert q["file"] == str(h) and q["line"] == 4 and "sexagesimal" in q["message"]


def test_hypothesis_file_refuses_a_duplicate_key(tmp_path):
    h = tmp_path / "h.yaml"
    h.write_text("name: dup\nlabel: a\nset:\n  settings.lookahead_months: 12\n  settings.lookahead_months: 24\n",
                 encoding="utf-8")
    with pytest.raises(InputError) as ei:
        _user_hypothesis(h)
    (p,) = ei.value.problems
    assert p.file == str(h) and p.line == 5 and "duplicate key" in p.message


def test_hypothesis_file_quoted_text_and_plain_numbers_still_read(tmp_path):
    h = tmp_path / "h.yaml"
    h.write_text("name: ok\nset:\n  settings.lookahead_months: 20\nnote: '1:20'\n", encoding="utf-8")
    name, doc = _user_hypothesis(h)
    assert name == "ok" and doc == {"label": "ok", "set": {"settings.lookahead_months": 20}, "note": "1:20"}


def test_hypothesis_file_malformed_yaml_names_the_line(tmp_path):
    h = tmp_path / "h.yaml"
    h.write_text("name: x\nset: {a: [1, 2}\n", encoding="utf-8")
    with pytest.raises(InputError) as ei:
        _user_hypothesis(h)
    (p,) = ei.value.problems
    assert p.file == str(h) and p.line == 2 and "malformed YAML" in p.message


@pytest.mark.parametrize("where, text, field", [
    ("scenario", "    horizon_months: 3\n", "horizon_months"),
    ("hypothesis", None, "lookahead_months"),
])
def test_a_boolean_is_not_a_crisis_number(tmp_path, where, text, field):
    """``horizon_months: true`` used to run a one-month horizon without a word."""
    src = example_path("cuba-1962").read_text(encoding="utf-8")
    args: list = ["-n", "4", "--json", "--mechanisms", "none"]
    if where == "scenario":
        assert text in src
        scn = tmp_path / "cuba.yaml"
        scn.write_text(src.replace(text, "    horizon_months: true\n"), encoding="utf-8")
        r = _run(scn, *args)
    else:
        h = tmp_path / "h.yaml"
        h.write_text("name: booly\nset:\n  settings.lookahead_months: true\n", encoding="utf-8")
        r = _run("cuba-1962", *args, "-H", h)
    assert r.exit_code == 2, r.output
    probs = json.loads(r.stdout)["problems"]
    assert any(p["column"].endswith(f"settings.{field}") and p["value"] is True and "boolean" in p["message"]
               for p in probs), probs
