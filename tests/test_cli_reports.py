"""``detente run``/``demo`` write both reports and print both paths; ``--out`` with ``--json``;
progress on stderr only on a terminal and never with ``--json``/``--quiet``; tables that fit 80
columns without cutting words; ``demo --help`` and the docs agree on the number of runs."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

import detente.cli.base as base
from detente.cli import app
from detente.cli.crisis import DEMO_RUNS

ROOT = Path(__file__).resolve().parents[1]
QUICK = ["run", "seesaw-2021", "-H", "combined", "-n", "20", "--mechanisms", "none", "--set", "settings.horizon_months=6"]


def _invoke(args, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")
    return CliRunner().invoke(app, [str(a) for a in args])


def _terminal_err(monkeypatch) -> io.StringIO:
    buf = io.StringIO()
    monkeypatch.setattr(base, "err", Console(file=buf, force_terminal=True, width=100))
    return buf


@pytest.mark.slow  # a crisis run with both reports: over 10 s on a loaded machine
def test_run_writes_both_reports_prints_both_paths_and_shows_progress_on_stderr(tmp_path, monkeypatch):
    buf = _terminal_err(monkeypatch)
    r = _invoke([*QUICK, "--out", tmp_path / "rep"], monkeypatch, tmp_path)
    assert r.exit_code == 0, r.output
    md, html = tmp_path / "rep" / "seesaw-2021.md", tmp_path / "rep" / "seesaw-2021.html"
    assert md.is_file() and html.is_file()
    assert html.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")
    assert f"markdown report written to {md.resolve()}" in r.stdout
    assert f"HTML report written to {html.resolve()}" in r.stdout
    shown = buf.getvalue()
    assert "engine" in shown and "chunks" in shown
    done = [tuple(map(int, m)) for m in re.findall(r"(\d+)/(\d+)", shown)]
    assert done and done[-1][0] == done[-1][1] > 0   # the last frame: every started chunk done
    assert "chunks" not in r.stdout


@pytest.mark.slow  # a crisis run with both reports: over 10 s on a loaded machine
def test_run_without_out_writes_under_reports_and_quiet_shows_no_progress(tmp_path, monkeypatch):
    buf = _terminal_err(monkeypatch)
    r = _invoke([*QUICK, "--quiet"], monkeypatch, tmp_path)
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in (tmp_path / "reports").glob("seesaw-2021.*")) == ["seesaw-2021.html", "seesaw-2021.md"]
    assert buf.getvalue() == ""


@pytest.mark.slow  # a crisis run with both reports: over 10 s on a loaded machine
def test_json_writes_reports_only_with_out_names_them_and_shows_no_progress(tmp_path, monkeypatch):
    buf = _terminal_err(monkeypatch)
    r = _invoke([*QUICK, "--json"], monkeypatch, tmp_path)
    assert r.exit_code == 0, r.output
    obj = json.loads(r.stdout)
    assert obj["reports"] is None and not (tmp_path / "reports").exists()
    assert buf.getvalue() == ""

    r = _invoke([*QUICK, "--json", "--out", tmp_path / "j"], monkeypatch, tmp_path)
    assert r.exit_code == 0, r.output
    obj = json.loads(r.stdout)                       # still exactly one JSON object on stdout
    assert obj["reports"] == {"markdown": str((tmp_path / "j" / "seesaw-2021.md").resolve()),
                              "html": str((tmp_path / "j" / "seesaw-2021.html").resolve())}
    assert all(Path(p).is_file() for p in obj["reports"].values())


def test_no_progress_when_stderr_is_not_a_terminal(monkeypatch):
    monkeypatch.setattr(base, "err", Console(file=io.StringIO(), force_terminal=False))
    assert base.progress(True) == (None, None)
    monkeypatch.setattr(base, "err", Console(file=io.StringIO(), force_terminal=True))
    prog, cb = base.progress(True)
    assert prog is not None and callable(cb)


def test_engine_reporting_sums_chunks_over_runs():
    from detente import examples
    from detente.crisis.engine import reporting, run

    scn, calls = examples.load("seesaw-2021"), []
    with reporting(lambda d, t: calls.append((d, t))):
        run(scn, {"runs": 30, "chunk_size": 10, "horizon_months": 2}, seed=1)   # 3 chunks
        run(scn, {"runs": 20, "chunk_size": 10, "horizon_months": 2}, seed=2)   # 2 more
    assert calls == [(0, 3), (1, 3), (2, 3), (3, 3), (3, 5), (4, 5), (5, 5)]
    calls.clear()
    run(scn, {"runs": 10, "horizon_months": 2}, seed=1)                          # outside: nothing
    assert calls == []


def test_tournament_reports_each_task(tmp_path):
    from detente.experiments.deu_benchmark import default_entries, run_tournament

    sample = ROOT / "tests" / "fixtures" / "deu" / "deu_sample.csv"
    calls: list[tuple[int, int]] = []
    run_tournament(sample, entries=default_entries(["compromise", "median"]), n_boot=100,
                   progress=lambda d, t: calls.append((d, t)))
    n = calls[-1][1]
    assert n >= 2 and calls == [(k, n) for k in range(n + 1)]


@pytest.mark.slow  # a crisis run with both reports: over 10 s on a loaded machine
def test_run_table_fits_80_columns_without_cutting_words(tmp_path):
    env = dict(os.environ, COLUMNS="80", PYTHONPATH=str(ROOT / "src"))
    cp = subprocess.run([sys.executable, "-m", "detente", *QUICK, "--out", str(tmp_path / "r")], cwd=tmp_path,
                        env=env, capture_output=True, text=True)
    assert cp.returncode == 0, cp.stderr
    table = cp.stdout.split("markdown report written")[0]
    assert "…" not in table and "..." not in table
    assert max(len(line) for line in table.splitlines()) <= 80
    words = table.split()
    for whole in ("hypothesis", "P(record)", "verdict", "combined"):
        assert whole in words, whole


def test_demo_help_and_the_docs_agree_on_the_runs():
    r = CliRunner().invoke(app, ["demo", "--help"], env={"COLUMNS": "200"})
    assert f"[default: {DEMO_RUNS}]" in r.output
    web = (ROOT / "docs" / "web.md").read_text(encoding="utf-8")
    quoted = re.findall(r"`detente demo`\) runs `seesaw-2021` with (\d+) runs per hypothesis", web)
    assert quoted == [str(DEMO_RUNS)]


def test_runs_list_and_models_fit_80_columns_without_ellipsis(tmp_path, monkeypatch):
    # the CLI's console takes its width when detente.cli is imported: an 80-column one for the tables
    monkeypatch.setattr(base, "out", Console(width=80, highlight=False, soft_wrap=True))
    store = str(tmp_path / "st")
    label = "a rather long label for this particular run"
    r = CliRunner().invoke(app, ["forecast", str(ROOT / "src" / "detente" / "examples" / "ec_emission.yaml"), "-m",
                                 "compromise", "--label", label, "--store", store])
    assert r.exit_code == 0, r.output
    for args in (["runs", "list", "--store", store], ["models"]):
        r = CliRunner().invoke(app, args)
        assert r.exit_code == 0, r.output
        assert "…" not in r.stdout, args
        assert max(len(line) for line in r.stdout.splitlines()) <= 80, args
    words = CliRunner().invoke(app, ["runs", "list", "--store", store]).stdout.split()
    assert all(w in words for w in label.split()) and "compromise" in words
