"""The published JSON Schema of a crisis scenario's `dynamics:` block (`detente schema --crisis`,
schemas/crisis-dynamics.schema.json): up to date, accepts every bundled crisis scenario, and says
what a number is — a value with its provenance, or a `fit:` reference without a value."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from detente import examples
from detente.crisis.spec import crisis_json_schema

REPO = Path(__file__).resolve().parent.parent
PUBLISHED = REPO / "schemas" / "crisis-dynamics.schema.json"


def _validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(PUBLISHED.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_the_published_schema_is_the_generated_one():
    assert json.loads(PUBLISHED.read_text(encoding="utf-8")) == crisis_json_schema(), \
        "regenerate: detente schema --crisis > schemas/crisis-dynamics.schema.json"
    out = subprocess.run([sys.executable, "-m", "detente.cli", "schema", "--crisis"], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    assert json.loads(out) == crisis_json_schema()


@pytest.mark.parametrize("name", ["seesaw-2021", "cuba-1962", "crimea-2014", "taiwan-strait-1995"])
def test_every_bundled_crisis_scenario_is_valid(name):
    dyn = json.loads(json.dumps(examples.load(name).dynamics, default=str))
    assert [e.message for e in _validator().iter_errors(dyn)] == []


def _with_rung(num: object) -> dict:
    dyn = json.loads(json.dumps(examples.load("seesaw-2021").dynamics, default=str))
    dyn["flashpoints"][0]["beta"]["rung"] = num
    return dyn


def test_a_number_is_a_value_with_provenance_or_a_fit_reference():
    v = _validator()
    assert v.is_valid(_with_rung({"fit": {"file": "icb_engine", "coefficient": "beta_rung"}}))
    assert v.is_valid(_with_rung({"value": 0.7, "source": "x"}))
    assert not v.is_valid(_with_rung({"source": "x"}))                          # neither value nor fit
    assert not v.is_valid(_with_rung({"fit": {"coeficient": "beta_rung"}}))    # misspelled key
    assert not v.is_valid(_with_rung({"fit": {"hazard": "peace"}}))            # war or violence only
