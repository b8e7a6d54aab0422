"""Model parameters refuse non-finite floats, booleans and strings as numbers, anything but
true/false as booleans, and conflicting values given twice (review findings)."""

from __future__ import annotations

import json
import math
import typing

import pytest
from typer.testing import CliRunner

from detente import examples
from detente.cli import app
from detente.errors import InputError
from detente.models.params import ModelParams
from detente.models.registry import available, get, make_params, run_model

runner = CliRunner()


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("DETENTE_HOME", str(tmp_path / "home"))


def _float_fields(cls):
    out = []
    for name, f in cls.model_fields.items():
        ann = f.annotation
        args = typing.get_args(ann) or (ann,)
        if float in args:
            out.append(name)
    return out


def _int_fields(cls):
    return [n for n, f in cls.model_fields.items() if f.annotation is int or int in typing.get_args(f.annotation)]


@pytest.mark.parametrize("spec", available(), ids=lambda s: s.name)
def test_every_params_class_is_strict_and_defaults_validate(spec):
    cls = spec.params_class
    assert issubclass(cls, ModelParams)
    assert cls.model_config.get("extra") == "forbid" and cls.model_config.get("allow_inf_nan") is False
    cls.model_validate({})  # current defaults validate
    cls.model_validate(cls().model_dump())  # and round-trip
    for name in _float_fields(cls):
        for bad in (math.inf, -math.inf, math.nan, "inf", True):
            with pytest.raises(InputError) as ei:
                make_params(spec, {name: bad})
            assert [q.column for q in ei.value.problems] == [name], (name, bad)
    for name in _int_fields(cls):
        for bad in (True, False, "10"):
            with pytest.raises(InputError) as ei:
                make_params(spec, {name: bad})
            assert [q.column for q in ei.value.problems] == [name], (name, bad)


def _bool_fields(cls):
    return [n for n, f in cls.model_fields.items() if f.annotation is bool or bool in typing.get_args(f.annotation)]


@pytest.mark.parametrize("spec", [s for s in available() if _bool_fields(s.params_class)], ids=lambda s: s.name)
def test_bool_fields_refuse_lax_forms(spec):
    """pydantic's lax mode read "true", "yes", "off", 1 and 0 as booleans."""
    for name in _bool_fields(spec.params_class):
        for bad in ("true", "false", "yes", "off", "1", 1, 0, 1.0):
            with pytest.raises(InputError) as ei:
                make_params(spec, {name: bad})
            assert [q.column for q in ei.value.problems] == [name], (spec.name, name, bad)
            assert "expected a boolean" in ei.value.problems[0].message
        for good in (True, False):
            assert getattr(make_params(spec, {name: good}), name) is good


def test_int_fields_accept_ints_and_integral_floats():
    spec = get("exchange")
    assert make_params(spec, {"rounds": 7}).rounds == 7
    assert make_params(spec, {"rounds": 7.0}).rounds == 7  # sweeps pass param: factors as floats
    with pytest.raises(InputError):
        make_params(spec, {"rounds": 7.5})


def test_list_of_floats_refuses_nan():
    with pytest.raises(InputError) as ei:
        make_params(get("deu_candidate"), {"coef": [1.0, math.nan]})
    assert ei.value.problems[0].column == "coef.1"


def test_conflicting_variant_and_rounds_are_input_errors():
    scn = examples.load("ec_emission")
    with pytest.raises(InputError, match="given twice"):
        run_model(scn, "bdm", variant="scholz2011", params={"variant": "masad2014"})
    with pytest.raises(InputError, match="given twice"):
        run_model(scn, "bdm", params={"rounds": 5}, rounds=7)
    # the same value twice is fine
    r = run_model(scn, "bdm", variant="scholz2011", params={"variant": "scholz2011", "rounds": 3}, rounds=3)
    assert r.variant == "scholz2011"


@pytest.mark.parametrize("args", [
    ["-m", "deu_candidate2", "-p", "alpha=Infinity"],
    ["-m", "exchange", "-p", "tie_tolerance=Infinity"],
    ["-m", "exchange", "-p", "tie_tolerance=NaN"],
    ["-m", "exchange", "-p", "ensemble=true"],
    ["-m", "exchange", "-p", 'rounds="10"'],
    ["-m", "exchange", "-p", "variant=rex", "-v", "equal_gain"],
    ["-m", "bdm", "-p", "rounds=4", "--rounds", "5"],
    ["-m", "bdm", "-p", 'renege="true"'],
    ["-m", "bdm", "-p", "renege=1"],
])
def test_cli_refuses_bad_params(args):
    f = examples.path("ec_emission")
    r = runner.invoke(app, ["forecast", str(f), *args, "--json", "--no-store"])
    assert r.exit_code == 2, r.output
    d = json.loads(r.stdout)
    assert d["problems"], d


def test_cli_accepts_json_int():
    f = examples.path("ec_emission")
    r = runner.invoke(app, ["forecast", str(f), "-m", "exchange", "-p", "rounds=3", "--json", "--no-store"])
    assert r.exit_code == 0, r.output


def test_cli_accepts_json_bool():
    f = examples.path("ec_emission")
    r = runner.invoke(app, ["forecast", str(f), "-m", "bdm", "-p", "renege=true", "--rounds", "2", "--json",
                            "--no-store"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["params"]["renege"] is True
