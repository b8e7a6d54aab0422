"""Sweep, sensitivity and export commands of the ``detente`` CLI (registered by ``cli.py``).

* ``detente sweep SPEC.yaml [--executor serial|process|dask] [--workers N] [--address tcp://H:P] [--json]``
* ``detente sweep resume RUN_ID`` — finish an interrupted sweep (only missing chunks run)
* ``detente sensitivity SPEC.yaml --method sobol|morris [--n N] [--json]``
* ``detente runs export RUN_ID --format csv|parquet|xlsx [--out FILE]``
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from detente.errors import InputError, Problem

__all__ = ["register"]


def _progress(enabled: bool):
    if not enabled:
        return None, None
    prog = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("chunks"),
                    TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), transient=False)
    task = prog.add_task("sweep", total=None)

    def cb(done: int, total: int) -> None:
        prog.update(task, completed=done, total=total)

    return prog, cb


def _df_table(df, title: str | None = None):
    """A Rich table of a DataFrame, floats to 4 significant digits."""
    from rich.table import Table

    t = Table(*[str(c) for c in df.columns], title=title)
    for row in df.itertuples(index=False):
        t.add_row(*[f"{v:.4g}" if isinstance(v, float) else str(v) for v in row])
    return t


def _run_with(prog, fn):
    """Call ``fn`` with the progress display shown (when there is one)."""
    if prog is None:
        return fn()
    with prog:
        return fn()


def register(app: typer.Typer, runs_app: typer.Typer) -> None:
    """Add the commands to the main app and to the ``runs`` group."""
    from detente.cli import guarded, open_store, out, print_json

    @app.command("sweep")
    def sweep_cmd(
        target: str = typer.Argument(..., help="SPEC.yaml, or the word 'resume' followed by a run id."),
        run_id: Optional[str] = typer.Argument(None, help="Run id to resume (with 'resume')."),
        executor: Optional[str] = typer.Option(None, "--executor", help="serial | process | dask (default: the spec's)."),
        workers: Optional[int] = typer.Option(None, "--workers", min=1, help="Worker processes."),
        address: Optional[str] = typer.Option(None, "--address", help="Dask scheduler tcp://HOST:PORT."),
        store: Optional[Path] = typer.Option(None, "--store", help="Run store directory."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object (docs/json-contract.md)."),
    ) -> None:
        """Run a sweep (Monte Carlo, LHS, grid or design table) of a model; or resume one."""
        from detente.experiments.runner import resume_sweep, run_sweep
        from detente.experiments.sweep import load_sweep_spec

        st = open_store(store, as_json=as_json)
        prog, cb = _progress(not as_json)

        def go():
            if executor is not None and executor not in ("serial", "process", "dask"):
                raise InputError(Problem("unknown executor", column="--executor", value=executor, expected="serial, process or dask"))
            if target == "resume":
                if not run_id:
                    raise InputError(Problem("missing run id", column="RUN_ID", expected="detente sweep resume RUN_ID"))
                return resume_sweep(run_id, store=st, progress=cb, executor_kind=executor, workers=workers, address=address)
            spec = load_sweep_spec(target)
            upd = {k: v for k, v in (("kind", executor), ("workers", workers), ("address", address)) if v is not None}
            if upd:
                spec = spec.model_copy(update={"executor": spec.executor.model_copy(update=upd)})
            return run_sweep(spec, store=st, progress=cb)

        res = _run_with(prog, lambda: guarded(go, as_json=as_json))
        if as_json:
            print_json(res.to_json_dict())
            return
        out.print(f"sweep {res.run_id}: {res.n_runs} runs in {res.n_chunks} chunks ({res.computed_chunks} computed now)")
        out.print(_df_table(res.summary()))

    @app.command("sensitivity")
    def sensitivity_cmd(
        spec_file: Path = typer.Argument(..., help="Sweep spec (factors, model, scenario)."),
        method: str = typer.Option("sobol", "--method", help="sobol | morris"),
        n: Optional[int] = typer.Option(None, "--n", min=2, help="Base samples (Sobol) or trajectories (Morris)."),
        store: Optional[Path] = typer.Option(None, "--store", help="Run store directory."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object (docs/json-contract.md)."),
    ) -> None:
        """Global sensitivity (SALib Sobol or Morris) of the forecasts to the spec's factors, with tornado data."""
        from detente.experiments.sensitivity import run_sensitivity
        from detente.experiments.sweep import load_sweep_spec

        st = open_store(store, as_json=as_json)
        prog, cb = _progress(not as_json)

        def go():
            if method not in ("sobol", "morris"):
                raise InputError(Problem("unknown sensitivity method", column="--method", value=method, expected="sobol or morris"))
            return run_sensitivity(load_sweep_spec(spec_file), method=method, n=n, store=st, progress=cb)  # type: ignore[arg-type]

        res = _run_with(prog, lambda: guarded(go, as_json=as_json))
        if as_json:
            print_json(res.to_json_dict())
            return
        out.print(_df_table(res.to_df(), title=f"{method} indices ({res.n_runs} runs, sweep {res.run_id})"))

    @runs_app.command("export")
    def runs_export_cmd(
        ref: str = typer.Argument(..., help="Run id or unique prefix."),
        fmt: str = typer.Option("csv", "--format", help="csv | parquet | xlsx"),
        out_path: Optional[Path] = typer.Option(None, "--out", help="Output file (default: detente-run-ID.FORMAT)."),
        store: Optional[Path] = typer.Option(None, "--store", help="Run store directory."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    ) -> None:
        """Export a run's rows (sweep parts, or forecasts and trajectory) to CSV, Parquet or XLSX."""
        from detente.experiments.export import export_run

        st = open_store(store, as_json=as_json, readonly=True)
        path, n = guarded(lambda: export_run(st, ref, fmt, out_path), as_json=as_json)
        if as_json:
            print_json({"run": ref, "format": fmt, "path": str(path), "rows": n})
        else:
            out.print(f"{n} rows written to {path}")
