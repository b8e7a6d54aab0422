"""Run and resume sweeps against the run store, and the :class:`SweepResult` they return."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from detente.errors import InputError, Problem, RunError
from detente.experiments.executors import make_executor
from detente.experiments.sweep import SweepSpec, check_sweep, evaluate_chunk, plan_chunks, sweep_key

__all__ = ["run_sweep", "resume_sweep", "SweepResult"]

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class SweepResult:
    """A stored sweep: its run id, spec and store; reads its parts on demand.

    Use :meth:`to_df` for the raw rows, :meth:`summary` for per-issue statistics,
    :meth:`plot` for histograms; in Jupyter it shows its summary table.
    """

    run_id: str
    spec: SweepSpec
    store: Any
    n_runs: int
    n_chunks: int
    columns: list[str]
    computed_chunks: int = 0

    def to_df(self, *, forecasts_only: bool = False):
        """All rows of the sweep as a pandas DataFrame, ordered by run (and round, actor)."""
        from detente.experiments.export import run_table

        df = run_table(self.store, self.run_id)
        if forecasts_only and len(df):
            df = df[df["round"].isna()].reset_index(drop=True)
        return df

    def summary(self):
        """Per issue: runs, mean, sd, 5/25/50/75/95 % quantiles of the forecast (DuckDB over the parts)."""
        return self.store.query(
            "SELECT issue, count(*) AS runs, avg(value) AS mean, stddev_samp(value) AS sd, "
            "quantile_cont(value, 0.05) AS q05, quantile_cont(value, 0.25) AS q25, quantile_cont(value, 0.5) AS median, "
            "quantile_cont(value, 0.75) AS q75, quantile_cont(value, 0.95) AS q95 "
            "FROM parts WHERE round IS NULL GROUP BY issue ORDER BY issue",
            run_id=self.run_id,
        )

    def plot(self, issue: str | None = None):
        """A plotly figure (it displays itself in Jupyter): the histogram of the forecast on
        ``issue`` (default: the first issue) over the sweep's runs, with its mean, median and
        5 % / 95 % quantiles named — the chart the web and the HTML report show."""
        import numpy as np

        from detente.plotting.figures import distribution_figure

        df = self.to_df(forecasts_only=True)
        issues = sorted(str(i) for i in df["issue"].unique())
        if not issues:
            raise ValueError(f"sweep {self.run_id} has no stored forecasts to plot")
        iss = issue or issues[0]
        if iss not in issues:
            raise KeyError(f"no issue {iss!r} in this sweep (issues: {', '.join(issues)})")
        y = df.loc[df["issue"] == iss, "value"].to_numpy(dtype=float)
        y = y[np.isfinite(y)]
        counts, edges = np.histogram(y, bins=40) if y.size else (np.array([]), np.array([]))
        q05, med, q95 = np.quantile(y, [0.05, 0.5, 0.95]) if y.size else (None, None, None)
        d = {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts],
             "summary": {"mean": float(y.mean()) if y.size else None, "median": med, "q05": q05, "q95": q95}}
        return distribution_figure(iss, d, self.n_runs)

    def to_json_dict(self) -> dict[str, Any]:
        s = self.summary()
        return {
            "run_id": self.run_id, "name": self.spec.name, "model": self.spec.model, "variant": self.spec.variant,
            "seed": self.spec.seed, "runs": self.n_runs, "chunks": self.n_chunks, "chunk_size": self.spec.chunk_size,
            "computed_chunks": self.computed_chunks, "trace": self.spec.trace, "factors": self.columns,
            "summary": {r["issue"]: {k: (None if v != v else v) for k, v in r.items() if k != "issue"}
                        for r in s.to_dict(orient="records")},
        }

    def _repr_html_(self) -> str:
        head = f"<p><b>sweep {self.run_id}</b>: {self.spec.model} × {self.n_runs} runs in {self.n_chunks} chunks</p>"
        return head + self.summary().to_html(index=False, float_format=lambda x: f"{x:.4g}")


def _execute(spec: SweepSpec, scenario: Any, store: Any, run_id: str, only: list[int] | None,
             executor: Any, progress: Progress | None) -> tuple[int, int, list[str], int]:
    jobs, cols = plan_chunks(spec, scenario)
    total_runs = jobs[-1].stop if jobs else 0
    todo = [j for j in jobs if only is None or j.chunk in only]
    done = len(jobs) - len(todo)
    if progress:
        progress(done, len(jobs))
    own = executor is None
    ex = executor or make_executor(spec.executor.kind, workers=spec.executor.workers, address=spec.executor.address)
    try:
        for job, table in ex.map_unordered(evaluate_chunk, todo):
            store.write_part(run_id, job.chunk, table)
            done += 1
            if progress:
                progress(done, len(jobs))
    finally:
        if own:
            ex.close()
    return total_runs, len(jobs), cols, len(todo)


def run_sweep(spec: SweepSpec, *, store: Any = None, executor: Any = None, progress: Progress | None = None,
              scenario: Any = None) -> SweepResult:
    """Run (or finish) a sweep and store it; returns a :class:`SweepResult`.

    Idempotent: the run is keyed by :func:`~detente.experiments.sweep.sweep_key`, so calling
    it again with the same spec recomputes only chunks that are missing.
    """
    from detente.store import Store

    store = store or Store()
    scn = scenario if scenario is not None else spec.load_scenario()
    check_sweep(spec, scn)  # unknown model, bad params or factors -> clear error before anything is stored
    key = sweep_key(spec, scn.content_hash())
    jobs, cols = plan_chunks(spec, scn)
    run_id = store.open_run(
        key, model=spec.model, kind="sweep", variant=spec.variant, params=spec.params, seed=spec.seed,
        scenario=scn, label=spec.name,
        meta={"spec": json.loads(spec.model_dump_json()), "chunk_size": spec.chunk_size, "n_chunks": len(jobs),
              "n_runs": jobs[-1].stop if jobs else 0, "columns": cols},
    )
    missing = store.missing_chunks(run_id, len(jobs))
    # on any interruption the run stays "running" with its finished chunks stored: resumable
    n, nch, cols, computed = _execute(spec, scn, store, run_id, missing, executor, progress)
    store.finish_run(run_id, "done")
    return SweepResult(run_id, spec, store, n, nch, cols, computed)


def resume_sweep(run_ref: str, *, store: Any = None, executor: Any = None, progress: Progress | None = None,
                 executor_kind: str | None = None, workers: int | None = None, address: str | None = None) -> SweepResult:
    """Finish an interrupted sweep: recompute only its missing chunks."""
    from detente.store import Store

    store = store or Store()
    info = store.info(run_ref)
    if info.kind != "sweep" or "spec" not in info.meta:
        raise InputError(Problem("not a sweep run", column="run", value=run_ref))
    spec = SweepSpec.model_validate(info.meta["spec"])
    if executor_kind or workers or address:
        spec = spec.model_copy(update={"executor": spec.executor.model_copy(update={
            k: v for k, v in (("kind", executor_kind), ("workers", workers), ("address", address)) if v is not None})})
    scn = store.scenario(info.run_id)
    if scn is None:
        raise RunError(f"sweep {info.run_id} has no stored scenario; cannot resume")
    return run_sweep(spec, store=store, executor=executor, progress=progress, scenario=scn)

