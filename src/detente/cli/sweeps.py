"""Sweep and sensitivity commands of the ``detente`` CLI.

* ``detente sweep SPEC.yaml [--executor serial|process|dask] [--workers N] [--address tcp://H:P] [--json]``
* ``detente sweep FILE -m MODEL --vary 'salience=+-10' [--runs N] [--seed S]`` — without YAML (experiments/front.py)
* ``detente sweep resume RUN_ID`` — finish an interrupted sweep (only missing chunks run)
* ``detente sensitivity SPEC.yaml --method sobol|morris [--samples N] [--json]``
* ``detente sensitivity SCENARIO [-H H] [--factor PATH]… [--output O]… [--runs-per-point M]`` — crisis scenarios
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, cast

import typer

from detente.cli.base import (
    QUIET_OPT,
    app,
    df_table,
    guarded,
    open_store,
    out,
    print_json,
    print_table,
    progress,
    renamed_option,
    run_with,
)
from detente.errors import InputError, Problem


def _is_crisis_target(target: str) -> bool:
    """A crisis scenario (bundled name, or a file without a sweep spec's ``model:``) rather than a sweep spec."""
    p = Path(target)
    if not p.exists():
        return p.suffix not in (".yaml", ".yml", ".json")     # a bundled scenario name
    if p.suffix not in (".yaml", ".yml", ".json"):
        return False
    from detente.formats.common import read_text
    from detente.formats.yamlfmt import parse_yaml_with_lines

    try:  # the strict reader (base-60 numbers kept as text: the loader that follows reports them)
        doc, _ = parse_yaml_with_lines(read_text(p, encodings=("utf-8-sig",))[0], str(p), [])
    except (OSError, InputError):
        return False                                          # the sweep-spec loader reports the error
    return isinstance(doc, dict) and "dynamics" in doc and "model" not in doc


def _crisis_sensitivity(target: str, *, method: Literal["sobol", "morris"], n, factors, outputs, hypothesis, runs_per_point, seed,
                        store=None, executor=None, progress=None):
    from detente.cli.crisis_run import load_scenario
    from detente.crisis.spec import load_spec
    from detente.experiments.crisis_sensitivity import (
        DEFAULT_RUNS_PER_POINT,
        crisis_sensitivity,
        record_end,
    )

    scn = load_scenario(target)
    if not outputs:
        spec = load_spec(scn.dynamics, hypothesis=hypothesis)
        outputs = (["p_war_by_end"] if record_end(spec) else []) + ["months_of_peace_focal"]
    return crisis_sensitivity(scn, method=method, n=n, factors=factors or None, outputs=outputs, hypothesis=hypothesis,
                              runs_per_point=runs_per_point or DEFAULT_RUNS_PER_POINT, seed=seed, store=store,
                              executor=executor, progress=progress)


def _top_rows(res, output: str, top: int):
    """The ``top`` factors of one output by total index (Sobol) or mu* (Morris), with their tornado swing."""
    import pandas as pd

    key = "ST" if res.method == "sobol" else "mu_star"
    rows = sorted(res.indices[output], key=lambda r: -(r[key] if r[key] == r[key] else -1e300))[:top]
    swing = {t["factor"]: t for t in res.tornado.get(output, [])}
    df = pd.DataFrame(rows)
    if swing:
        df["output_low"] = [swing[r["factor"]]["output_low"] for r in rows]
        df["output_high"] = [swing[r["factor"]]["output_high"] for r in rows]
    return df


@app.command("sweep")
def sweep_cmd(
    target: str = typer.Argument(..., help="SPEC.yaml, or the word 'resume' followed by a run id."),
    run_id: str | None = typer.Argument(None, help="Run id to resume (with 'resume')."),
    executor: str | None = typer.Option(None, "--executor", help="serial | process | dask (default: the spec's)."),
    workers: int | None = typer.Option(None, "--workers", min=1, help="Worker processes."),
    address: str | None = typer.Option(None, "--address", help="Dask scheduler tcp://HOST:PORT."),
    store: Path | None = typer.Option(None, "--store", help="Run store directory."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object (docs/json-contract.md)."),
    model: str | None = typer.Option(None, "--model", "-m", help="Model: TARGET is then a scenario file or "
                                        "bundled name and the sweep is built from --vary/--runs/--seed (no YAML)."),
    vary: list[str] = typer.Option([], "--vary", help="With -m: FIELD[ACTORS/ISSUES]=+-X | +-X% | +A..B | *A..B | "
                                   "A..B (repeatable), e.g. 'salience=+-10'."),
    runs: int = typer.Option(100, "--runs", min=1, help="With -m: Monte-Carlo runs."),
    seed: int = typer.Option(0, "--seed", min=0, help="With -m: root seed."),
    quiet: bool = QUIET_OPT,
) -> None:
    """Run a sweep (Monte Carlo, LHS, grid or design table) of a model; or resume one."""
    from detente.experiments.runner import resume_sweep, run_sweep
    from detente.experiments.sweep import load_sweep_spec

    st = open_store(store, as_json=as_json)
    prog, cb = progress(not as_json and not quiet)

    def go():
        if executor is not None and executor not in ("serial", "process", "dask"):
            raise InputError(Problem("unknown executor", column="--executor", value=executor, expected="serial, process or dask"))
        if target == "resume":
            if not run_id:
                raise InputError(Problem("missing run id", column="RUN_ID", expected="detente sweep resume RUN_ID"))
            return resume_sweep(run_id, store=st, progress=cb, executor_kind=executor, workers=workers, address=address)
        if model is None and vary:
            raise InputError(Problem("--vary needs --model (-m): with a YAML spec the factors are in the spec",
                                     column="--vary", value=vary[0], expected="detente sweep FILE -m MODEL --vary ..."))
        if model is not None:
            from detente.experiments.front import build_spec

            spec, scn = build_spec(target, model, vary=vary, runs=runs, seed=seed)
            if executor is not None or workers is not None or address is not None:
                upd0 = {k: v for k, v in (("kind", executor), ("workers", workers), ("address", address)) if v is not None}
                spec = spec.model_copy(update={"executor": spec.executor.model_copy(update=upd0)})
            return run_sweep(spec, store=st, progress=cb, scenario=scn)
        spec = load_sweep_spec(target)
        upd = {k: v for k, v in (("kind", executor), ("workers", workers), ("address", address)) if v is not None}
        if upd:
            spec = spec.model_copy(update={"executor": spec.executor.model_copy(update=upd)})
        return run_sweep(spec, store=st, progress=cb)

    res = run_with(prog, lambda: guarded(go, as_json=as_json))
    if as_json:
        print_json(res.to_json_dict())
        return
    out.print(f"sweep {res.run_id}: {res.n_runs} runs in {res.n_chunks} chunks ({res.computed_chunks} computed now)")
    print_table(df_table(res.summary()))


@app.command("sensitivity")
def sensitivity_cmd(
    spec_file: str = typer.Argument(..., help="Sweep spec (factors, model, scenario), or a crisis scenario "
                                    "(bundled name such as seesaw-2021, or a scenario file with `dynamics:`)."),
    method: str = typer.Option("sobol", "--method", help="sobol | morris"),
    n: int | None = typer.Option(None, "--samples", min=2, help="Base samples (Sobol) or trajectories (Morris)."),
    store: Path | None = typer.Option(None, "--store", help="Run store directory (a crisis study is stored only "
                                      "when it is given: resumable per group of points, shown in the web UI)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object (docs/json-contract.md)."),
    executor: str | None = typer.Option(None, "--executor", help="serial | process | dask: where the sample's chunks "
                                        "run (same numbers on any; default: the spec's, serial for a crisis)."),
    workers: int | None = typer.Option(None, "--workers", min=1, help="Worker processes (default 2)."),
    address: str | None = typer.Option(None, "--address", help="Dask scheduler tcp://HOST:PORT (for a crisis "
                                       "scenario it implies --executor dask)."),
    factor: list[str] = typer.Option([], "--factor", help="Crisis: dotted path of a number to vary (repeatable; "
                                     "default: every assumption with a range)."),
    output: list[str] = typer.Option([], "--output", help="Crisis: output to analyse (repeatable; default "
                                     "p_war_by_end when the scenario has a record, and months_of_peace)."),
    hypothesis: str | None = typer.Option(None, "--hypothesis", "-H", help="Crisis: hypothesis to analyse under."),
    runs_per_point: int | None = typer.Option(None, "--runs-per-point", min=2, help="Crisis: Monte-Carlo runs "
                                                 "per parameter point (common random numbers)."),
    seed: int | None = typer.Option(None, "--seed", min=0, help="Crisis: root seed (default: the scenario's)."),
    top: int = typer.Option(10, "--top", min=1, help="Rows of the printed tornado (text)."),
    out_dir: Path | None = typer.Option(None, "--out", help="Also write DIR/NAME-sensitivity.md with a tornado "
                                           "figure per output (top --top numbers)."),
    old_n: int | None = typer.Option(None, "--n", min=2, hidden=True, help="Deprecated spelling of --samples."),
    quiet: bool = QUIET_OPT,
) -> None:
    """Global sensitivity (SALib Sobol or Morris) of the forecasts to the spec's factors, with tornado data;
    for a crisis scenario, of its headline outputs to its assumption numbers."""
    from detente.experiments.sensitivity import run_sensitivity, sensitivity_method
    from detente.experiments.sweep import load_sweep_spec

    n = renamed_option(n, old_n, new="--samples", old="--n", as_json=as_json)
    crisis = _is_crisis_target(spec_file)
    st = open_store(store, as_json=as_json) if not crisis or store is not None else None
    prog, cb = progress(not as_json and not quiet and not crisis)

    def go():
        from detente.cli.crisis_run import check_executor
        from detente.executors import make_executor

        if method not in ("sobol", "morris"):
            raise InputError(Problem("unknown sensitivity method", column="--method", value=method, expected="sobol or morris"))
        if crisis:
            with make_executor(check_executor(executor, address), workers=workers or 2, address=address) as ex:
                return _crisis_sensitivity(spec_file, method=cast(Literal["sobol", "morris"], method), n=n,
                                           factors=factor, outputs=output, hypothesis=hypothesis,
                                           runs_per_point=runs_per_point, seed=seed, store=st, executor=ex, progress=cb)
        check_executor(executor)
        spec = load_sweep_spec(spec_file)
        upd = {k: v for k, v in (("kind", executor), ("workers", workers), ("address", address)) if v is not None}
        if upd:
            spec = spec.model_copy(update={"executor": spec.executor.model_copy(update=upd)})
        return run_sensitivity(spec, method=sensitivity_method(method), n=n, store=st, progress=cb)

    res = run_with(prog, lambda: guarded(go, as_json=as_json))
    if as_json:
        print_json(res.to_json_dict())
        return
    if crisis:
        if res.run_id:
            out.print(f"stored as crisis sensitivity study {res.run_id}")
        for o in res.indices:
            print_table(df_table(_top_rows(res, o, top), title=f"{method}: {o} ({res.points} points × "
                                f"{res.runs_per_point} runs, N = {res.sample_size}; top {top} by "
                                f"{'ST' if method == 'sobol' else 'mu*'}, tornado swing at the range ends)"))
    else:
        print_table(df_table(res.to_df(), title=f"{method} indices ({res.n_runs} runs, sweep {res.run_id})"))
    for w in res.warnings:
        out.print(f"[bold yellow]warning:[/] {w}")
    if out_dir is not None:
        from detente.report.sensitivity import write_sensitivity_report

        name = Path(spec_file).stem if Path(spec_file).exists() else spec_file
        rep = guarded(lambda: write_sensitivity_report(res.to_json_dict(), out_dir, name, top=top))
        out.print(f"report written to {rep.resolve()}")
