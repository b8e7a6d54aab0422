"""``--set PATH=VALUE`` with a path that names no setting: one clear problem naming the path and
the close valid paths, exit 2, before anything runs."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from detente import examples
from detente.cli import app
from detente.crisis.spec import load_spec, set_path_problems
from detente.errors import InputError


@pytest.mark.parametrize(("path", "where", "suggested"), [
    ("no.such.path", "the crisis dynamics has no setting 'no'", []),
    ("settings.horizn_months", "'settings' has no setting 'horizn_months'", ["settings.horizon_months"]),
    ("flashpoints[UA].beta.forcd", "'flashpoints[UA].beta' has no setting 'forcd'",
     ["flashpoints[UA].beta.forced"]),
    ("flashpoints[UA].beta.forced.vlue", "'flashpoints[UA].beta.forced' has no setting 'vlue'",
     ["flashpoints[UA].beta.forced.value"]),
    ("actors.RU.capabilty", "'actors.RU' has no setting 'capabilty'", ["actors.RU.capability"]),
    ("horizon_months", "the crisis dynamics has no setting 'horizon_months'", ["settings.horizon_months"]),
])
def test_an_unknown_path_names_its_first_unknown_part_and_close_paths(path, where, suggested):
    (p,) = set_path_problems([path])
    assert p.column == "--set" and p.value == path
    assert where in p.message
    for s in suggested:
        assert f"'{s}'" in p.message and "did you mean" in p.message
    if not suggested:
        assert "did you mean" not in p.message
        assert "settings" in p.expected and "flashpoints" in p.expected     # what is there instead


def test_valid_paths_pass():
    assert set_path_problems(["settings.horizon_months", "flashpoints[UA].beta.forced", "actors.RU.capability",
                              "flashpoints[UA].beta.forced.value", "settings.draw_assumptions", "dyads.0"]) == []


def test_load_spec_refuses_an_unknown_path_with_that_problem_only():
    with pytest.raises(InputError) as e:
        load_spec(examples.load("seesaw-2021").dynamics, extra={"settings.horizn_months": 6})
    (p,) = e.value.problems
    assert "did you mean 'settings.horizon_months'" in p.message and "Extra inputs" not in p.message


def test_cli_exit_2_with_the_problem_in_json():
    r = CliRunner().invoke(app, ["run", "seesaw-2021", "-n", "5", "--mechanisms", "none", "--set", "no.such.path=1",
                                 "--json"])
    assert r.exit_code == 2
    (p,) = json.loads(r.stdout)["problems"]
    assert p["column"] == "--set" and p["value"] == "no.such.path" and "has no setting 'no'" in p["message"]
