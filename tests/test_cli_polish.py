"""The command's edges (issue 18): ``--version``, shell completion, "did you mean" for model,
variant and bundled-scenario names, ``run FILE`` on a scenario that is not a crisis scenario,
and the start-up imports (no heavy library is imported just to parse the command line)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

import detente
from detente.cli import app, package_version
from detente.models.registry import close_names, did_you_mean

ROOT = Path(__file__).resolve().parents[1]
CSV = ROOT / "tests" / "fixtures" / "emission.csv"
runner = CliRunner()


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch) -> Path:
    h = tmp_path / "home"
    monkeypatch.setenv("DETENTE_HOME", str(h))
    monkeypatch.delenv("DETENTE_DEBUG", raising=False)
    return h


def _json(res) -> dict:
    return json.loads(res.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------ --version
def test_version_prints_the_package_version_and_exits_0():
    res = runner.invoke(app, ["--version"])
    assert res.exit_code == 0, res.output
    assert res.stdout == f"detente {package_version()}\n"


def test_package_version_is_the_distribution_version_else_the_module_one(monkeypatch):
    import importlib.metadata as md

    monkeypatch.setattr(md, "version", lambda name: "9.8.7" if name == "detente" else "0")
    assert package_version() == "9.8.7"

    def missing(name):
        raise md.PackageNotFoundError(name)

    monkeypatch.setattr(md, "version", missing)
    assert package_version() == detente.__version__


def test_version_of_the_console_command_in_a_subprocess():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    cp = subprocess.run([sys.executable, "-m", "detente.cli", "--version"], capture_output=True, text=True, env=env)
    assert cp.returncode == 0, cp.stderr
    assert cp.stdout.strip() == f"detente {package_version()}"


# ------------------------------------------------------------------ completion
def test_completion_is_enabled_and_completes_command_names(monkeypatch):
    res = runner.invoke(app, ["--help"])
    assert "--install-completion" in res.stdout and "--show-completion" in res.stdout
    # `--show-completion` detects the shell from the process tree (shellingham), which fails when
    # the tests run detached from a shell (nohup, some CI runners): say which shell it is
    import typer.completion

    monkeypatch.setattr(typer.completion, "_get_shell_name", lambda: "bash")
    script = runner.invoke(app, ["--show-completion", "bash"], prog_name="detente")
    assert script.exit_code == 0
    assert "_DETENTE_COMPLETE=complete_bash" in script.stdout
    got = runner.invoke(app, [], prog_name="detente",
                        env={"_DETENTE_COMPLETE": "complete_bash", "COMP_WORDS": "detente sens", "COMP_CWORD": "1"})
    assert got.stdout.split() == ["sensitivity"]
    got = runner.invoke(app, [], prog_name="detente",
                        env={"_DETENTE_COMPLETE": "complete_bash", "COMP_WORDS": "detente runs ex", "COMP_CWORD": "2"})
    assert got.stdout.split() == ["export"]


# ------------------------------------------------------------------ did you mean
def test_close_names_best_first_case_blind_and_nothing_when_far():
    known = ["compromise", "median", "nbs", "bdm", "smp"]
    assert close_names("compromize", known) == ["compromise"]
    assert close_names("MEDIAN", known) == ["median"]
    assert close_names("bdn", known)[0] == "bdm"
    assert close_names("zzzzzz", known) == []
    assert did_you_mean("zzzzzz", known) == ""
    assert did_you_mean("medain", known) == "; did you mean 'median'?"


def test_mistyped_model_is_a_named_problem_with_a_suggestion_exit_2():
    res = runner.invoke(app, ["forecast", str(CSV), "-m", "compromize", "--no-store", "--json"])
    assert res.exit_code == 2
    (p,) = _json(res)["problems"]
    assert p["column"] == "model" and p["value"] == "compromize"
    assert "did you mean 'compromise'?" in p["message"]
    text = runner.invoke(app, ["forecast", str(CSV), "-m", "compromize", "--no-store"])
    assert text.exit_code == 2
    assert "did you mean 'compromise'?" in text.stderr
    far = runner.invoke(app, ["forecast", str(CSV), "-m", "qqqqqq", "--no-store", "--json"])
    assert far.exit_code == 2 and "did you mean" not in _json(far)["problems"][0]["message"]


def test_mistyped_variant_gets_a_suggestion():
    res = runner.invoke(app, ["forecast", str(CSV), "-m", "bdm", "-v", "masad2041", "--no-store", "--json"])
    assert res.exit_code == 2
    (p,) = _json(res)["problems"]
    assert p["column"] == "variant" and p["value"] == "masad2041"
    assert "did you mean 'masad2016' or 'masad2014'?" in p["message"]


# ------------------------------------------------------------------ run FILE
def test_run_on_a_valid_non_crisis_scenario_file_says_so():
    res = runner.invoke(app, ["run", str(CSV), "--json"])
    assert res.exit_code == 2
    (p,) = _json(res)["problems"]
    assert p["file"] == str(CSV)
    assert "not a crisis scenario" in p["message"] and "detente forecast" in p["message"]
    assert "bundled" not in p["message"]


def test_run_on_a_bundled_non_crisis_scenario_says_so():
    res = runner.invoke(app, ["run", "ec_emission", "--json"])
    assert res.exit_code == 2
    (p,) = _json(res)["problems"]
    assert p["value"] == "ec_emission" and "not a crisis scenario" in p["message"]


def test_run_on_a_missing_file_and_a_mistyped_bundled_name(tmp_path):
    missing = tmp_path / "nosuch.yaml"
    res = runner.invoke(app, ["run", str(missing), "--json"])
    assert res.exit_code == 2
    (p,) = _json(res)["problems"]
    assert p["message"] == "scenario file not found" and p["file"] == str(missing)
    res = runner.invoke(app, ["run", "seesaw", "--json"])
    assert res.exit_code == 2
    (p,) = _json(res)["problems"]
    assert "did you mean 'seesaw-2021'?" in p["message"]


# ------------------------------------------------------------------ start-up imports
HEAVY = ("pandas", "pyarrow", "duckdb", "matplotlib", "scipy", "SALib", "fastapi", "plotly")
#: what only a command's work needs, not parsing its command line (``--version``, ``--help``)
WORK = ("numpy", "pydantic", "yaml", "jinja2", "sqlite3", "detente.scenario", "detente.store")


def _imported_after(code: str, names: tuple[str, ...] = HEAVY) -> list[str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    probe = code + f"\nimport sys\nprint(','.join(m for m in {names!r} if m in sys.modules))\n"
    cp = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env)
    assert cp.returncode == 0, cp.stderr
    return [m for m in (cp.stdout.splitlines() or [""])[-1].split(",") if m]


def _cli(*args: str) -> str:
    """Code that runs ``detente ARGS`` as ``python -m detente.cli`` does, in the probe's process."""
    return (f"import runpy, sys\nsys.argv = ['detente', *{list(args)!r}]\n"
            "try:\n    runpy.run_module('detente.cli', run_name='__main__')\n"
            "except SystemExit as e:\n    assert e.code in (0, None), e.code\n")


def test_importing_the_cli_imports_no_heavy_library():
    assert _imported_after("import detente.cli") == []
    # Typer carries its own Click: a separately installed `click` is neither needed nor imported
    assert _imported_after("import detente.cli", ("click",)) == []


@pytest.mark.parametrize("args", [["--version"], ["--help"]])
def test_version_and_help_do_none_of_a_command_s_work(args):
    assert _imported_after(_cli(*args), HEAVY + WORK + ("click",)) == []


def test_listing_the_store_loads_no_numpy_and_no_scenario(tmp_path):
    # the store's catalogue is SQLite and JSON: numpy (about 0.12 s) comes only with a result's data
    home = f"import os\nos.environ['DETENTE_HOME'] = {str(tmp_path / 'h')!r}\n"
    _imported_after(home + _cli("forecast", str(CSV), "-m", "compromise"))  # one run in the store
    assert _imported_after(home + _cli("runs", "list"), ("numpy", "detente.scenario", "detente.store")) == [
        "detente.store"]


def test_the_probe_sees_what_a_command_imports(tmp_path):
    # the same probe on a command that does load a scenario reports it (the test above can fail)
    code = f"import os\nos.environ['DETENTE_HOME'] = {str(tmp_path / 'h')!r}\n" + _cli("validate", str(CSV))
    assert {"numpy", "pydantic", "detente.scenario"} <= set(_imported_after(code, WORK))


def test_a_compromise_forecast_imports_no_heavy_library(tmp_path):
    code = ("import sys, os\n"
            f"os.environ['DETENTE_HOME'] = {str(tmp_path / 'h')!r}\n"
            "from detente.cli import app\n"
            f"try:\n    app(['forecast', {str(CSV)!r}, '-m', 'compromise'], prog_name='detente')\n"
            "except SystemExit as e:\n    assert e.code in (0, None), e.code\n")
    assert _imported_after(code) == []


# ------------------------------------------------------------------ option names
YAML = ROOT / "tests" / "fixtures" / "formats" / "full.yaml"


@pytest.fixture
def yaml_as_txt(tmp_path) -> Path:
    """A YAML scenario under a name whose extension says nothing: only a forced format reads it."""
    p = tmp_path / "scenario.txt"
    p.write_text(YAML.read_text(encoding="utf-8"), encoding="utf-8")
    return p


@pytest.mark.parametrize("cmd", [["validate"], ["forecast", "--no-store"]])
def test_input_format_is_from_and_the_old_format_spelling_still_works(cmd, yaml_as_txt):
    args = [cmd[0], str(yaml_as_txt), *cmd[1:], "--json"]
    assert runner.invoke(app, args).exit_code == 2  # guessed as CSV
    new = runner.invoke(app, [*args, "--from", "yaml"])
    assert new.exit_code == 0, new.output
    assert "deprecated" not in new.stderr
    old = runner.invoke(app, [*args, "--format", "yaml"])
    assert old.exit_code == 0, old.output
    assert old.stdout == new.stdout or cmd[0] == "forecast"  # forecast output holds no run id here
    assert "--format is deprecated here; use --from" in old.stderr
    both = runner.invoke(app, [*args, "--from", "yaml", "--format", "csv"])
    assert both.exit_code == 2
    (p,) = _json(both)["problems"]
    assert p["column"] == "--from" and "deprecated spelling --format" in p["message"]


def test_deprecated_spellings_are_hidden_from_help():
    assert "--format" not in runner.invoke(app, ["validate", "--help"]).stdout
    assert "--from" in runner.invoke(app, ["forecast", "--help"]).stdout
    listing = runner.invoke(app, ["runs", "list", "--help"]).stdout
    assert "--limit" in listing and " -n" not in listing
    sens = runner.invoke(app, ["sensitivity", "--help"]).stdout
    assert "--samples" in sens and "--n " not in sens


def test_runs_list_limit_and_the_old_n(tmp_path):
    for m in ("compromise", "median", "nbs"):  # three different runs (same inputs would be one run)
        assert runner.invoke(app, ["forecast", str(CSV), "-m", m]).exit_code == 0
    assert len(_json(runner.invoke(app, ["runs", "list", "--json"]))["runs"]) == 3
    assert len(_json(runner.invoke(app, ["runs", "list", "--limit", "2", "--json"]))["runs"]) == 2
    old = runner.invoke(app, ["runs", "list", "-n", "1", "--json"])
    assert old.exit_code == 0 and len(_json(old)["runs"]) == 1
    assert "-n is deprecated here; use --limit" in old.stderr
    assert runner.invoke(app, ["runs", "list", "-n", "1", "--limit", "2", "--json"]).exit_code == 2
    # -n keeps its one meaning elsewhere: Monte-Carlo runs (`detente run -n`)
    assert "-n" in runner.invoke(app, ["run", "--help"]).stdout


def test_sensitivity_samples_and_the_old_n(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text("name: cli\nscenario: example:ec_emission\nmodel: compromise\nseed: 1\nchunk_size: 50\n"
                    "factors:\n  - name: sal\n    field: salience\n    actors: [UK]\n"
                    "    dist: {kind: uniform, low: -10, high: 10}\n    clip: [0, 100]\n"
                    "design: {kind: montecarlo, runs: 10}\n")
    new = runner.invoke(app, ["sensitivity", str(spec), "--method", "morris", "--samples", "4", "--json"])
    old = runner.invoke(app, ["sensitivity", str(spec), "--method", "morris", "--n", "4", "--json"])
    assert new.exit_code == 0 and old.exit_code == 0, new.output + old.output
    assert _json(new)["runs"] == _json(old)["runs"] == 4 * 2  # Morris: trajectories x (factors + 1)
    assert "--n is deprecated here; use --samples" in old.stderr


def test_runs_show_max_rounds_and_the_old_rounds():
    """`--rounds` means rounds to simulate (forecast); `runs show` says `--max-rounds` for how many it shows."""
    made = runner.invoke(app, ["forecast", str(CSV), "-m", "bdm", "--rounds", "6", "--seed", "1", "--json"])
    assert made.exit_code == 0, made.output
    rid = _json(made)["run_id"]
    full = runner.invoke(app, ["runs", "show", rid])
    new = runner.invoke(app, ["runs", "show", rid, "--max-rounds", "2"])
    old = runner.invoke(app, ["runs", "show", rid, "--rounds", "2"])
    assert full.exit_code == new.exit_code == old.exit_code == 0
    assert "…" in new.stdout and "…" not in full.stdout
    assert old.stdout == new.stdout
    assert "--rounds is deprecated here; use --max-rounds" in old.stderr
    shown = runner.invoke(app, ["runs", "show", "--help"]).stdout
    assert "--max-rounds" in shown and "--rounds " not in shown


# ------------------------------------------------------------------ guarded
def test_an_error_already_reported_by_an_inner_guarded_is_not_reported_again(tmp_path):
    # `report RUN` opens the store inside its guarded work: the store error is printed once, with
    # its own exit code, not followed by "internal error: Exit: 1" (Typer's Exit, not click's)
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    res = runner.invoke(app, ["report", "abc", "--store", str(not_a_dir), "--json"])
    assert res.exit_code == 1
    assert [json.loads(line) for line in res.stdout.splitlines()] == [
        {"error": "store error", "message": f"store root {not_a_dir} exists and is not a directory"}]
    res = runner.invoke(app, ["report", "abc", "--store", str(not_a_dir)])
    assert res.exit_code == 1
    assert "store error" in res.stderr and "internal error" not in res.stderr


@pytest.mark.parametrize("raised", [typer.Exit(3), typer.Abort(), typer.BadParameter("no")])
def test_guarded_lets_the_command_line_s_own_exceptions_through(raised, capsys):
    from detente.cli import guarded

    def fn() -> None:
        raise raised

    with pytest.raises(type(raised)) as info:
        guarded(fn, as_json=True)
    assert info.value is raised  # the same exception (an Exit keeps its code), and nothing printed
    assert capsys.readouterr().out == ""
