"""docs/json-contract.md lists exactly the top-level keys each command prints with --json."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

import detente
from detente.cli import app
from detente.result import IssueResult, RoundRecord, RunResult
from detente.store import Store

DOC = Path(__file__).resolve().parents[1] / "docs" / "json-contract.md"
EXAMPLE = Path(detente.__file__).parent / "examples" / "ec_emission.yaml"
runner = CliRunner()


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("DETENTE_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def sections() -> dict[str, str]:
    """``## `command` `` heading → section text (up to the next ``## ``)."""
    text = DOC.read_text(encoding="utf-8")
    out: dict[str, str] = {}
    for m in re.finditer(r"^## (.+?)\n(.*?)(?=^## |\Z)", text, flags=re.M | re.S):
        out[m.group(1).strip().strip("`")] = m.group(2)
    return out


def tables(section: str, sub: str | None = None) -> list[list[str]]:
    """Key lists of the markdown tables of a section (optionally of one ``### sub`` heading)."""
    if sub is not None:
        m = re.search(rf"^### {re.escape(sub)}\n(.*?)(?=^### |\Z)", section, flags=re.M | re.S)
        assert m, f"no ### {sub}"
        section = m.group(1)
    result, cur = [], None
    for line in section.splitlines():
        if line.startswith("|"):
            if cur is None:
                cur = []
                result.append(cur)
            m = re.match(r"\|\s*`([^`]+)`\s*\|", line)
            if m:
                cur.append(m.group(1))
        else:
            cur = None
    return [t for t in result if t]


def doc_keys(command: str) -> set[str]:
    secs = sections()
    assert command in secs, f"docs/json-contract.md has no section for {command!r}"
    return set(tables(secs[command])[0])


def run_json(*args) -> dict:
    r = runner.invoke(app, [str(a) for a in args])
    lines = [ln for ln in r.stdout.splitlines() if ln.strip()]
    assert len(lines) == 1, r.output
    return json.loads(lines[0])


def test_forecast_top_level_keys():
    for model in ("compromise", "median", "nbs"):
        d = run_json("forecast", EXAMPLE, "-m", model, "--json")
        assert set(d) == doc_keys("forecast"), model
    d = run_json("forecast", EXAMPLE, "--no-store", "--json")
    assert set(d) == doc_keys("forecast")


# kept by hand as well, so that a change to the doc alone cannot silently weaken the contract
FORECAST_KEYS = {"model", "variant", "params", "seed", "issues", "version", "input_hash", "run_key", "notes", "same_inputs_as",
                 "extra", "run_id"}


def test_forecast_keys_list_matches_doc():
    assert doc_keys("forecast") == FORECAST_KEYS


def test_issue_and_round_keys(home):
    sec = sections()["forecast"]
    issue_keys = set(tables(sec, "Issue result")[0])
    round_keys = set(tables(sec, "Round")[0])
    scn = detente.load(EXAMPLE)
    rounds = tuple(RoundRecord(positions={a: 5.0 for a in scn.actor_ids}, median=5.0, mean=5.0) for _ in range(2))
    res = RunResult.build(model="fake", scenario=scn, params={}, issues={"emission": IssueResult(5.0, rounds)})
    rid = Store(home).save(res)
    d = run_json("runs", "show", rid, "--json")["result"]
    assert set(d) == FORECAST_KEYS
    assert set(d["issues"]["emission"]) == issue_keys
    assert set(d["issues"]["emission"]["rounds"][0]) == round_keys
    d = run_json("forecast", EXAMPLE, "--json")
    assert set(d["issues"]["emission"]) == issue_keys - {"rounds"}  # rounds only for models that have them


def test_runs_keys():
    d = run_json("forecast", EXAMPLE, "--json")
    lst = run_json("runs", "list", "--json")
    assert set(lst) == doc_keys("runs list")
    assert set(lst["runs"][0]) == set(tables(sections()["runs list"], "Run record")[0])
    show = run_json("runs", "show", d["run_id"], "--json")
    assert set(show) == doc_keys("runs show")
    assert set(show["run"]) == set(lst["runs"][0])
    assert set(show["chunks"]) == set(tables(sections()["runs show"])[1])
    assert set(run_json("runs", "delete", d["run_id"], "--json")) == doc_keys("runs delete")


def test_models_validate_convert_keys(tmp_path):
    d = run_json("models", "--json")
    assert set(d) == doc_keys("models")
    model_keys = set(tables(sections()["models"])[1])
    for spec in d["models"].values():
        assert set(spec) == model_keys
    assert set(run_json("validate", EXAMPLE, "--json")) == doc_keys("validate")
    assert set(run_json("convert", EXAMPLE, tmp_path / "x.json", "--json")) == doc_keys("convert")


def test_error_object_keys(tmp_path):
    sec = sections()["Error objects"]
    invalid, problem, failed = (set(t) for t in tables(sec)[:3])
    d = run_json("forecast", tmp_path / "missing.yaml", "--json")
    assert set(d) == invalid and set(d["problems"][0]) == problem
    d = run_json("runs", "show", "ffffffff", "--json")
    assert set(d) == invalid and set(d["problems"][0]) == problem
    bad = tmp_path / "store"
    bad.mkdir()
    (bad / "catalog.sqlite").write_bytes(b"not sqlite" * 100)
    d = run_json("runs", "list", "--store", bad, "--json")
    assert set(d) == failed
