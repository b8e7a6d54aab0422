"""The `detente` command: store integration, runs list/show/delete, convert, exit codes 0/1/2,
one JSON object per --json call, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import detente
from detente.cli import app
from detente.result import IssueResult, RoundRecord, RunResult
from detente.store import Store

EXAMPLE = Path(detente.__file__).parent / "examples" / "ec_emission.yaml"

ZERO_WEIGHTS = """\
name: zero
actors:
- {id: A, capability: 0}
- {id: B, capability: 0}
issues:
- {id: x, lower: 0, upper: 100}
stances:
- {actor: A, issue: x, position: 10, salience: 50}
- {actor: B, issue: x, position: 90, salience: 50}
"""


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch) -> Path:
    """Every test gets its own store; the real ~/.detente is never touched."""
    h = tmp_path / "home"
    monkeypatch.setenv("DETENTE_HOME", str(h))
    monkeypatch.delenv("DETENTE_DEBUG", raising=False)
    return h


runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def one_json(result) -> dict:
    """stdout holds exactly one JSON object (one line)."""
    lines = [ln for ln in result.stdout.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stdout
    obj = json.loads(lines[0])
    assert isinstance(obj, dict)
    return obj


def no_traceback(result) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.stdout and "Traceback" not in result.stderr


def dynamic_result(scn) -> RunResult:
    iid = scn.issues[0].id
    rounds = tuple(RoundRecord(positions={a: float(i + k) for i, a in enumerate(scn.actor_ids)}, median=1.0, mean=2.0)
                   for k in range(4))
    return RunResult.build(model="fake", scenario=scn, params={"rounds": 4},
                           issues={iid: IssueResult(forecast=4.5, rounds=rounds)}, seed=3)


# ----------------------------------------------------------------- forecast + store

def test_forecast_saves_run(home):
    r = invoke("forecast", EXAMPLE, "--model", "median", "--json")
    assert r.exit_code == 0, r.output
    d = one_json(r)
    assert d["run_id"] and d["run_key"].startswith(d["run_id"])
    assert d["extra"] == {}
    # the store holds it, reconstructed exactly
    res = Store(home).get(d["run_id"])
    assert res.to_json_dict() == {k: v for k, v in d.items() if k not in ("run_id", "same_inputs_as", "extra")}
    # saving again is idempotent
    d2 = one_json(invoke("forecast", EXAMPLE, "--model", "median", "--json"))
    assert d2["run_id"] == d["run_id"]
    lst = one_json(invoke("runs", "list", "--json"))
    assert lst["total"] == 1 and lst["runs"][0]["run_id"] == d["run_id"]
    assert lst["runs"][0]["scenario"] == "ec-emission-1994"


def test_forecast_human_output_shows_run_id():
    r = invoke("forecast", EXAMPLE, "--model", "compromise", "--label", "first try")
    assert r.exit_code == 0, r.output
    info = Store().list()[0]
    assert info.label == "first try"
    assert f"run {info.run_id} saved" in r.stdout


def test_forecast_no_store(home):
    d = one_json(invoke("forecast", EXAMPLE, "--no-store", "--json"))
    assert d["run_id"] is None
    assert Store(home).count() == 0


def test_store_option(tmp_path, home):
    other = tmp_path / "elsewhere"
    d = one_json(invoke("forecast", EXAMPLE, "-m", "nbs", "--store", other, "--json"))
    assert Store(other).get(d["run_id"]).model == "nbs"
    assert Store(home).count() == 0
    assert one_json(invoke("runs", "list", "--store", other, "--json"))["total"] == 1
    assert invoke("runs", "show", d["run_id"], "--json").exit_code == 2  # not in the default store


# ----------------------------------------------------------------- runs

def test_runs_list_filter_and_limit():
    for m in ("compromise", "median", "nbs"):
        assert invoke("forecast", EXAMPLE, "-m", m).exit_code == 0
    d = one_json(invoke("runs", "list", "--json"))
    assert [x["model"] for x in d["runs"]] == ["nbs", "median", "compromise"]
    assert [x["model"] for x in one_json(invoke("runs", "list", "--model", "median", "--json"))["runs"]] == ["median"]
    assert len(one_json(invoke("runs", "list", "--limit", "2", "--json"))["runs"]) == 2
    r = invoke("runs", "list")
    assert r.exit_code == 0 and "median" in r.stdout


def test_runs_list_empty():
    r = invoke("runs", "list")
    assert r.exit_code == 0 and "no stored runs" in r.stdout
    assert one_json(invoke("runs", "list", "--json")) == {"store": os.environ["DETENTE_HOME"], "total": 0, "runs": []}


def test_runs_show_by_prefix():
    d = one_json(invoke("forecast", EXAMPLE, "-m", "nbs", "--json"))
    s = one_json(invoke("runs", "show", d["run_key"][:6], "--json"))
    assert s["result"] == d
    assert s["run"]["run_id"] == d["run_id"] and s["run"]["status"] == "done"
    assert s["chunks"] == {"total": 0, "done": 0, "failed": 0, "damaged": 0, "rows": 0}
    r = invoke("runs", "show", d["run_id"])
    assert r.exit_code == 0 and d["run_key"] in r.stdout and "forecasts" in r.stdout


def test_runs_show_trajectory(home):
    scn = detente.load(EXAMPLE)
    rid = Store(home).save(dynamic_result(scn), scenario=scn)
    r = invoke("runs", "show", rid, "--max-rounds", "2")
    assert r.exit_code == 0, r.output
    assert "trajectory: emission" in r.stdout and "Netherlands" in r.stdout and "…" in r.stdout
    d = one_json(invoke("runs", "show", rid, "--json"))
    assert len(d["result"]["issues"]["emission"]["rounds"]) == 4


def test_runs_show_running_sweep(home):
    st = Store(home)
    rid = st.open_run("12" * 16, model="compromise", meta={"n_chunks": 3})
    import pandas as pd

    st.write_part(rid, 0, pd.DataFrame({"y": [1.0, 2.0]}))
    st.mark_chunk(rid, 1, "failed")
    d = one_json(invoke("runs", "show", rid, "--json"))
    assert d["result"] is None and d["run"]["kind"] == "sweep" and d["run"]["status"] == "running"
    assert d["chunks"] == {"total": 2, "done": 1, "failed": 1, "damaged": 0, "rows": 2}
    r = invoke("runs", "show", rid)
    assert r.exit_code == 0 and "1/2 done" in r.stdout


def test_runs_delete():
    d = one_json(invoke("forecast", EXAMPLE, "--json"))
    assert one_json(invoke("runs", "delete", d["run_id"][:8], "--json")) == {"deleted": d["run_id"]}
    assert one_json(invoke("runs", "list", "--json"))["total"] == 0
    r = invoke("runs", "delete", d["run_id"])
    assert r.exit_code == 2
    no_traceback(r)


# ----------------------------------------------------------------- convert

def test_convert_round_trip(tmp_path):
    out = tmp_path / "ec.json"
    d = one_json(invoke("convert", EXAMPLE, out, "--json"))
    assert out.exists() and d["output"] == str(out)
    back = tmp_path / "back.yaml"
    d2 = one_json(invoke("convert", out, back, "--json"))
    assert d2["input_hash"] == d["input_hash"] == detente.load(EXAMPLE).content_hash()
    r = invoke("convert", EXAMPLE, out)  # exists: refused
    assert r.exit_code == 2 and "--force" in r.stderr
    assert invoke("convert", EXAMPLE, out, "--force").exit_code == 0
    assert invoke("convert", EXAMPLE, tmp_path / "x.yaml", "--to", "json").exit_code == 0
    assert json.loads((tmp_path / "x.yaml").read_text())  # --to wins over the extension


@pytest.mark.parametrize("args", [
    ("missing.yaml", "out.json"),
    ("{example}", "out.unknownext"),
    ("{example}", "out.json", "--from", "nosuchformat"),
    ("{example}", "no/such/dir/out.json"),
])
def test_convert_bad_inputs(tmp_path, args):
    args = [a.replace("{example}", str(EXAMPLE)) for a in args]
    args = [str(tmp_path / a) if a.startswith(("missing", "out", "no/")) else a for a in args]
    r = invoke("convert", *args, "--json")
    assert r.exit_code == 2, r.output
    assert one_json(r)["error"] == "invalid input"
    no_traceback(r)


# ----------------------------------------------------------------- exit codes and errors

def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


@pytest.mark.parametrize("case", ["missing", "bad_yaml", "unknown_model", "bad_param", "bad_variant",
                                  "unknown_param", "empty", "directory"])
def test_forecast_invalid_input_exit_2(tmp_path, case):
    f = EXAMPLE
    extra: list[str] = []
    if case == "missing":
        f = tmp_path / "nope.yaml"
    elif case == "bad_yaml":
        f = _write(tmp_path, "bad.yaml", "actors: [\n  - id: A\n")
    elif case == "unknown_model":
        extra = ["--model", "nosuchmodel"]
    elif case == "bad_param":
        extra = ["-p", "weights=bogus"]
    elif case == "bad_variant":
        extra = ["--variant", "v9"]
    elif case == "unknown_param":
        extra = ["-p", "nosuch=1"]
    elif case == "empty":
        f = _write(tmp_path, "empty.yaml", "")
    elif case == "directory":
        f = tmp_path
    for as_json in (True, False):
        r = invoke("forecast", f, *extra, *(["--json"] if as_json else []))
        assert r.exit_code == 2, (case, r.output)
        no_traceback(r)
        if as_json:
            d = one_json(r)
            assert d["error"] == "invalid input" and d["problems"] and d["problems"][0]["message"]
        else:
            assert "invalid input" in r.stderr and r.stdout == ""
    assert Store().count() == 0


def test_validate_exit_codes(tmp_path):
    r = invoke("validate", EXAMPLE, "--json")
    assert r.exit_code == 0 and one_json(r)["valid"] is True
    r = invoke("validate", _write(tmp_path, "b.yaml", "name: [unclosed\n"), "--json")
    assert r.exit_code == 2 and one_json(r)["error"] == "invalid input"
    no_traceback(r)


@pytest.mark.parametrize("ref", ["ffffffffff", "zz", "not-a-hex-id", "ab"])
def test_unknown_run_ids_exit_2(ref):
    invoke("forecast", EXAMPLE)
    for sub in ("show", "delete"):
        r = invoke("runs", sub, ref, "--json")
        assert r.exit_code == 2, r.output
        d = one_json(r)
        assert d["error"] == "invalid input" and d["problems"][0]["column"] == "run"
        no_traceback(r)
        r = invoke("runs", sub, ref)
        assert r.exit_code == 2 and "invalid input" in r.stderr
    assert Store().count() == 1


def test_ambiguous_prefix_exit_2(home):
    st = Store(home)
    st.open_run("abcd" + "0" * 28, model="m")
    st.open_run("abcd" + "1" * 28, model="m")
    r = invoke("runs", "show", "abcd", "--json")
    assert r.exit_code == 2 and "ambiguous" in one_json(r)["problems"][0]["message"]
    r = invoke("runs", "delete", "abcd")
    assert r.exit_code == 2 and st.count() == 2


def test_failed_run_exit_1(tmp_path):
    f = _write(tmp_path, "zero.yaml", ZERO_WEIGHTS)
    r = invoke("forecast", f, "-p", "zero_weight=error", "--json")
    assert r.exit_code == 1, r.output
    assert one_json(r)["error"] == "run failed"
    no_traceback(r)
    r = invoke("forecast", f, "-p", "zero_weight=error")
    assert r.exit_code == 1 and "run failed" in r.stderr
    assert Store().count() == 0


def test_corrupt_store_exit_1_and_kept(tmp_path):
    root = tmp_path / "corrupt"
    root.mkdir()
    junk = b"garbage, not SQLite" * 50
    (root / "catalog.sqlite").write_bytes(junk)
    for args in (("runs", "list"), ("forecast", EXAMPLE), ("runs", "show", "abcdef")):
        r = invoke(*args, "--store", root, "--json")
        assert r.exit_code == 1, r.output
        d = one_json(r)
        assert d["error"] == "store error" and "not a readable SQLite database" in d["message"]
        no_traceback(r)
    r = invoke("runs", "list", "--store", root)
    assert r.exit_code == 1 and "store error" in r.stderr
    assert (root / "catalog.sqlite").read_bytes() == junk
    # --no-store still works next to a broken store
    assert invoke("forecast", EXAMPLE, "--store", root, "--no-store").exit_code == 0


def test_internal_error_is_reported_without_traceback(monkeypatch):
    import detente.models.registry as reg

    def boom(*a, **k):
        raise ZeroDivisionError("oops")

    monkeypatch.setattr(reg, "run_model", boom)
    r = invoke("forecast", EXAMPLE, "--json")
    assert r.exit_code == 1
    assert one_json(r) == {"error": "internal error", "message": "ZeroDivisionError: oops"}
    no_traceback(r)
    monkeypatch.setenv("DETENTE_DEBUG", "1")
    r = invoke("forecast", EXAMPLE)
    assert isinstance(r.exception, ZeroDivisionError)


def test_rich_markup_in_messages_is_not_eaten(tmp_path):
    # an error text with [brackets] must reach the user verbatim
    r = invoke("runs", "show", "[bold]x", "--store", tmp_path / "s")
    assert r.exit_code == 2 and "[bold]x" in r.stderr


def test_models_json():
    d = one_json(invoke("models", "--json"))
    assert {"compromise", "median", "nbs"} <= set(d["models"])


# ----------------------------------------------------------------- real processes

def _env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["DETENTE_HOME"] = str(home)
    env.pop("DETENTE_DEBUG", None)
    return env


def test_subprocess_python_m(home):
    p = subprocess.run([sys.executable, "-m", "detente", "forecast", str(EXAMPLE), "-m", "median", "--json"],
                       capture_output=True, text=True, env=_env(home), timeout=120)
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert d["issues"]["emission"]["forecast"] == 7.0 and d["run_id"]
    p = subprocess.run([sys.executable, "-m", "detente", "runs", "show", d["run_id"][:5], "--json"],
                       capture_output=True, text=True, env=_env(home), timeout=120)
    assert p.returncode == 0 and json.loads(p.stdout)["result"]["run_id"] == d["run_id"]
    p = subprocess.run([sys.executable, "-m", "detente", "forecast", str(home / "missing.yaml")],
                       capture_output=True, text=True, env=_env(home), timeout=120)
    assert p.returncode == 2 and "file not found" in p.stderr and "Traceback" not in p.stderr
    p = subprocess.run([sys.executable, "-m", "detente", "--help"], capture_output=True, text=True,
                       env=_env(home), timeout=120)
    assert p.returncode == 0 and "detente" in p.stdout and "runs" in p.stdout


def test_subprocess_console_script(home):
    exe = Path(sys.executable).parent / "detente"
    if not exe.exists():
        pytest.skip(f"console script not installed next to {sys.executable}")
    p = subprocess.run([str(exe), "runs", "show", "deadbeef", "--json"], capture_output=True, text=True,
                       env=_env(home), timeout=120)
    assert p.returncode == 2 and json.loads(p.stdout)["error"] == "invalid input"
    assert "Traceback" not in p.stderr
