"""The ``detente.cli`` package's import rules (docs/cli.md, "Code layout"): command modules
depend on ``detente.cli.base`` (and the crisis back end), never on each other or on the
package itself, and ``base`` depends on no other module of the package — no import cycle."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import detente.cli

CLI_DIR = Path(detente.cli.__file__).parent
#: modules that are not command modules: the assembler, ``-m`` runner, the shared base and the
#: printing-free back end of ``run``/``demo``
NOT_COMMANDS = {"__init__", "__main__", "base", "crisis_run"}


def cli_imports(path: Path) -> set[str]:
    """Every ``detente.cli`` module that ``path`` imports (at any depth of the code), as dotted
    names; ``from detente.cli import name`` counts as ``detente.cli.name`` when that is a module
    of the package and as ``detente.cli`` (the package) otherwise."""
    modules = {p.stem for p in CLI_DIR.glob("*.py")}
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name == "detente.cli" or a.name.startswith("detente.cli.")}
        elif isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            if node.level:  # relative import inside the package
                mod = "detente.cli" + (f".{mod}" if mod else "")
            if mod == "detente.cli":
                found |= {f"detente.cli.{a.name}" if a.name in modules else "detente.cli" for a in node.names}
            elif mod.startswith("detente.cli."):
                found.add(mod)
    return found


def test_the_import_scanner_sees_each_kind_of_import(tmp_path):
    p = tmp_path / "m.py"
    p.write_text("import detente.cli.runs\nfrom detente.cli import app, sweeps\n"
                 "def f():\n    from detente.cli.base import out\n    from . import cases\n")
    assert cli_imports(p) == {"detente.cli.runs", "detente.cli", "detente.cli.sweeps", "detente.cli.base",
                              "detente.cli.cases"}


def test_base_and_the_crisis_back_end_import_no_other_cli_module():
    for name in ("base", "crisis_run"):
        assert cli_imports(CLI_DIR / f"{name}.py") == set(), name


def test_command_modules_import_only_base_and_the_crisis_back_end():
    commands = sorted(p for p in CLI_DIR.glob("*.py") if p.stem not in NOT_COMMANDS)
    assert {p.stem for p in commands} >= {"scenarios", "crisis", "runs", "sweeps", "report", "cases", "serve",
                                          "benchmark"}
    for p in commands:
        bad = cli_imports(p) - {"detente.cli.base", "detente.cli.crisis_run"}
        assert not bad, f"{p.name} imports {sorted(bad)}"


def test_the_old_flat_cli_modules_are_gone():
    src = CLI_DIR.parent
    assert not (src / "cli.py").exists()
    assert not list(src.glob("cli_*.py"))


def test_every_command_group_is_registered_on_the_one_app():
    import typer.main

    group = typer.main.get_command(detente.cli.app)
    assert {"models", "validate", "forecast", "convert", "schema", "demo", "run", "runs", "serve", "sweep",
            "sensitivity", "report", "cases", "benchmark"} <= set(group.commands)
    assert {"list", "show", "delete", "check", "repair", "export"} <= set(group.commands["runs"].commands)


def test_python_dash_m_runs_the_same_app_both_ways():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(CLI_DIR.parents[1]), os.environ.get("PYTHONPATH", "")]))
    for mod in ("detente", "detente.cli"):
        cp = subprocess.run([sys.executable, "-m", mod, "--version"], capture_output=True, text=True, env=env)
        assert cp.returncode == 0, cp.stderr
        assert cp.stdout.startswith("detente "), cp.stdout
