"""The parameter-uncertainty block of a crisis run has one home below the shells
(``detente.experiments.front.add_uncertainty``): the command line and the web's "draw
assumptions" job call it, the web no longer imports the CLI, and both give the same bytes."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

import detente.web

WEB_DIR = Path(detente.web.__file__).resolve().parent


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def test_web_modules_do_not_import_the_cli() -> None:
    offenders = {p.name: sorted(m for m in _imports(p) if m == "detente.cli" or m.startswith("detente.cli"))
                 for p in WEB_DIR.glob("*.py")}
    assert {k: v for k, v in offenders.items() if v} == {}


@pytest.mark.slow   # two crisis runs, each with a nested parameter design (~10–20 s)
def test_cli_and_web_draw_assumptions_give_the_same_uncertainty_bytes(tmp_path: Path) -> None:
    from detente.cli.crisis_run import crisis_run, load_scenario
    from detente.report.stored import load_crisis
    from detente.store import Store
    from detente.web.work import crisis_job

    obj, _ = crisis_run("seesaw-2021", hypotheses=["combined"], runs=24, seed=7, out_dir=None, mechanisms="none",
                        draw_assumptions=True, param_draws=3)
    cli_block = obj["hypotheses"]["combined"]["uncertainty"]
    scn = load_scenario("seesaw-2021")
    rid = crisis_job(lambda *_: None, tmp_path, scn, ["combined"], 24, 7, False, "t",
                     extra_set={"settings.draw_assumptions": True}, draw_assumptions=True, param_draws=3)
    web_block = load_crisis(Store(tmp_path), rid)["hypotheses"]["combined"]["uncertainty"]
    assert json.dumps(web_block, sort_keys=True) == json.dumps(cli_block, sort_keys=True)
    assert cli_block["draws"] == 3 and cli_block["draw_assumptions"] is True
