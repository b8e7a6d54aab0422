"""Crisis commands of the ``detente`` CLI: ``demo`` and ``run`` (the work itself is in
:mod:`detente.cli.crisis_run`, which prints nothing)."""

from __future__ import annotations

from pathlib import Path

import typer

from detente.cli.base import (
    QUIET_OPT,
    app,
    esc,
    guarded,
    open_store,
    out,
    print_json,
    print_table,
    progress,
    run_with,
    table,
)

#: Monte-Carlo runs per hypothesis of ``detente demo`` (and so of ``make run``); docs/web.md and
#: docs/crisis.md quote it (``tests/test_cli_reports.py`` checks they agree).
DEMO_RUNS = 400

SENSITIVITY_SAMPLES_OPT = typer.Option(
    None, "--sensitivity-samples", min=2, help="Sobol base sample N of --sensitivity (a power of two; default "
    "2048, the smallest measured to give seesaw-2021 usable indices: docs/crisis.md, 'Speed')")


@app.command("demo")
def demo_cmd(
    out_dir: Path = typer.Option(Path("reports"), "--out", help="Directory for the reports (markdown and HTML)."),
    runs: int = typer.Option(DEMO_RUNS, "--runs", min=1, help="Monte-Carlo runs per hypothesis."),
    sensitivity: bool = typer.Option(False, "--sensitivity", help="Add a Sobol section (Morris-screened top 20 "
                                     "numbers, about two minutes of CPU) to the report."),
    sensitivity_samples: int | None = SENSITIVITY_SAMPLES_OPT,
    quiet: bool = QUIET_OPT,
) -> None:
    """Run the flagship crisis scenario `seesaw-2021` and write its reports (what `make run` does)."""
    _crisis_run("seesaw-2021", hypothesis=[], runs=runs, seed=None, as_json=False, out_dir=out_dir,
                sets=[], counterfactual_runs=min(runs, 200), mechanisms="claims", sensitivity=sensitivity,
                sensitivity_samples=sensitivity_samples, quiet=quiet)


def _crisis_run(name: str, *, hypothesis: list[str], runs: int | None, seed: int | None, as_json: bool,
                out_dir: Path | None, sets: list[str], counterfactual_runs: int | None = None,
                mechanisms: str = "all", mechanism_runs: int | None = None,
                mechanism_hypotheses: list[str] | None = None, draw_assumptions: bool = False,
                param_draws: int | None = None, as_of: list[str] | None = None, sensitivity: bool = False,
                sensitivity_samples: int | None = None, executor: str | None = None, workers: int | None = None, address: str | None = None,
                store: Path | None = None, quiet: bool = False) -> None:
    """Run, print the table (or the JSON object) and write both reports.

    The reports (markdown with PNG figures, and the self-contained HTML page) go to ``out_dir``;
    without ``--out`` to ``./reports``, except with ``--json``, which writes them only when
    ``--out`` is given (the object then names them under ``reports``)."""
    from detente.cli.crisis_run import crisis_run

    st = open_store(store, as_json=as_json) if store is not None else None
    write_dir = out_dir if out_dir is not None else (None if as_json else Path("reports"))
    prog, cb = progress(not as_json and not quiet, description="engine", unit="chunks")

    from detente.plotting.export import ImageSession

    images = ImageSession()   # the report's browser: started by crisis_run, closed here

    def go():
        return crisis_run(name, hypotheses=hypothesis, runs=runs, seed=seed, out_dir=write_dir,
                          sets=sets, cf_runs=counterfactual_runs, mechanisms=mechanisms,
                          mechanism_runs=mechanism_runs, mechanism_hypotheses=mechanism_hypotheses,
                          draw_assumptions=draw_assumptions, param_draws=param_draws, as_of=as_of,
                          sensitivity=sensitivity, sensitivity_samples=sensitivity_samples, executor=executor,
                          workers=workers, address=address, store=st,
                          progress=cb, images=images)

    try:
        obj, rep = run_with(prog, lambda: guarded(go, as_json=as_json))
        images.close(wait=False)   # the browser shuts down while the HTML report is written
        page = None
        if write_dir is not None:
            from detente.report.html import crisis_report, write_report

            page = guarded(lambda: write_report(crisis_report(obj), write_dir / f"{obj['scenario']}.html"),
                           as_json=as_json)
    finally:
        images.close()
    if as_json:
        obj["reports"] = None if rep is None else {"markdown": str(Path(rep).resolve()),
                                                   "html": None if page is None else str(Path(page).resolve())}
        print_json(obj)
        return
    from detente.report.crisis import focal_rows

    head, rows = focal_rows(obj)
    lik = {r["hypothesis"]: r for r in obj.get("likelihood_table") or []}
    t = table(*head, "P(record)", "log BF", "verdict", title=f"{obj['scenario']}: {obj['runs']} runs, seed {obj['seed']}"
              + (f"; record {' – '.join(obj['record']['window'])}, reference {obj.get('reference')}" if obj.get("record") else
                 "; no record declared"))
    for r in rows:
        lr = lik.get(r[0]) or {}
        if not lr:
            pr = "-"
        elif not lr.get("hits") and lr.get("p_record_upper") is not None:
            pr = f"< {lr['p_record_upper']:.4f} (0 runs; 95 %)"   # no run reproduces it: a bound, not 0 ± 0
        else:
            pr = f"{lr['p_record']:.4f} ± {lr['p_record_se']:.4f}"
        t.add_row(*r, pr,
                  (f"{lr['log_lr']:+.2f} ± {lr['log_lr_se']:.2f}" if lr.get("log_lr") is not None else "-"),
                  lr.get("verdict", "-"))
    print_table(t)
    for h in obj.get("out_of_sample") or []:      # hypotheses whose numbers come from frozen fits (`history`)
        ff = obj["hypotheses"][h]["frozen_fit"]
        fp = (obj.get("forecast_paths") or {}).get(h)
        path = "; ".join(f"{r['date']} {r['p']:.3f}" for r in fp["path"]) if fp else ""
        out.print(f"{esc(h)}: {esc(ff['label'])} ({len(ff['numbers'])} numbers from "
                  + ", ".join(esc(f["file"]) for f in ff["fits"]) + ")"
                  + (f"; P(war at {esc(fp['flashpoint'])}" + (f" by {esc(fp['initiator'])}" if fp.get("initiator") else "")
                     + f" before {fp['before']}) as of {path}" if fp else ""))
    if obj.get("run_id"):
        out.print(f"stored as crisis run {obj['run_id']}")
    if rep is not None:
        out.print(f"markdown report written to {Path(rep).resolve()}", markup=False)
    if page is not None:
        out.print(f"HTML report written to {Path(page).resolve()}", markup=False)


@app.command("run")
def run_cmd(
    scenario: str = typer.Argument(..., help="Bundled crisis scenario name (e.g. seesaw-2021) or a scenario file."),
    hypothesis: list[str] = typer.Option([], "--hypothesis", "-H", help="Hypothesis name or YAML file (repeatable); default: all."),
    runs: int | None = typer.Option(None, "--runs", "-n", min=1, help="Monte-Carlo runs per hypothesis."),
    seed: int | None = typer.Option(None, "--seed", min=0, help="Root random seed."),
    sets: list[str] = typer.Option([], "--set", help="Override PATH=VALUE in the dynamics (JSON value), repeatable."),
    out_dir: Path | None = typer.Option(None, "--out", help="Directory for the reports: markdown (with PNG figures) "
                                        "and self-contained HTML (default ./reports; with --json only when given)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object (see docs/json-contract.md)."),
    mechanisms: str = typer.Option("all", "--mechanisms", help="Mechanism map: all, none, claims (the "
                                   "mechanisms the scenario's claims test) or comma-separated mechanism names (one "
                                   "extra run per mechanism and hypothesis)."),
    mechanism_runs: int | None = typer.Option(None, "--mechanism-runs", min=2, help="Runs per with/without pair "
                                                 "of the mechanism map (default: the runs per hypothesis, at most 1000)."),
    mechanism_hypotheses: list[str] = typer.Option([], "--mechanism-hypothesis", help="Map the mechanisms under "
                                                   "this hypothesis only (repeatable; default: every hypothesis run)."),
    draw_assumptions: bool = typer.Option(False, "--draw-assumptions", help="Draw every assumption with a range "
                                          "per run and report Monte-Carlo and parameter-uncertainty intervals."),
    param_draws: int | None = typer.Option(None, "--param-draws", min=2, help="Parameter sets of the nested "
                                              "design behind the parameter-uncertainty interval (default 40)."),
    as_of: list[str] = typer.Option([], "--as-of", help="Also forecast the record's question as of this date "
                                    "(YYYY-MM-DD, repeatable): the engine starts then, from the record's state, with "
                                    "only the events known by then (the record's own forecast dates are always run)."),
    sensitivity: bool = typer.Option(False, "--sensitivity", help="Add Sobol indices of P(war by the record's end) "
                                     "and the focal actor's months of peace (Morris-screened top 20 numbers)."),
    sensitivity_samples: int | None = SENSITIVITY_SAMPLES_OPT,
    executor: str | None = typer.Option(None, "--executor", help="auto | serial | process | dask: where the engine's "
                                        "chunks run (same numbers on any; default auto: a process pool of one worker "
                                        "per core when the planned passes are large enough, else serial)."),
    workers: int | None = typer.Option(None, "--workers", min=1, help="Worker processes (process, local dask: default "
                                       "2; auto: one per core)."),
    address: str | None = typer.Option(None, "--address", help="Dask scheduler tcp://HOST:PORT (implies --executor dask)."),
    store: Path | None = typer.Option(None, "--store", help="Run store directory: keep every finished chunk there (the "
                                      "same command after a kill resumes) and store the result as a crisis run."),
    quiet: bool = QUIET_OPT,
) -> None:
    """Run a crisis scenario's hypotheses, back-test them and write the reports (markdown and HTML)."""
    _crisis_run(scenario, hypothesis=hypothesis, runs=runs, seed=seed, as_json=as_json, out_dir=out_dir, sets=sets,
                mechanisms=mechanisms, mechanism_runs=mechanism_runs, mechanism_hypotheses=mechanism_hypotheses or None,
                draw_assumptions=draw_assumptions, param_draws=param_draws, as_of=as_of or None,
                sensitivity=sensitivity, sensitivity_samples=sensitivity_samples, executor=executor, workers=workers,
                address=address, store=store, quiet=quiet)
