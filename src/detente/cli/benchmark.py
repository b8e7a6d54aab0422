"""``detente benchmark ...``: benchmarks of the models against observed outcomes."""

from __future__ import annotations

from pathlib import Path

import typer

from detente.cli.base import QUIET_OPT, app, guarded, out, print_json, print_table, progress, run_with, table

benchmark_app = typer.Typer(help="Benchmarks of the models against observed outcomes.", no_args_is_help=True)
app.add_typer(benchmark_app, name="benchmark")


@benchmark_app.command("deu")
def benchmark_deu_cmd(
    file: Path = typer.Argument(..., help="A DEU CSV (the columns of deu3_dev.csv)."),
    models: str | None = typer.Option(None, "--models", help="Comma-separated registered models (default: all)."),
    weights_file: Path | None = typer.Option(None, "--weights", help="wave,actor,weight CSV for the Council weighting."),
    n_boot: int = typer.Option(2000, "--bootstrap", min=100, help="Paired bootstrap resamples."),
    seed: int = typer.Option(0, "--seed", min=0, help="Bootstrap seed."),
    time_budget: float = typer.Option(0.0, "--time-budget", min=0, help="CPU seconds per model entry (0 = unlimited, the default)."),
    jobs: int = typer.Option(2, "--jobs", "-j", min=1, help="Worker processes; entries are cut into chunks of issues (results do not depend on it)."),
    figure: Path | None = typer.Option(None, "--figure", help="Write the leaderboard figure (PNG) here."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object (see docs/json-contract.md)."),
    quiet: bool = QUIET_OPT,
) -> None:
    """Score every registered model on every scoreable DEU issue (MAE, RMSE, CIs vs compromise)."""
    from detente.experiments.deu_benchmark import (
        default_entries,
        leaderboard_figure,
        leaderboard_rows,
        run_tournament,
        to_json_contract,
    )

    def go():
        ents = default_entries([m.strip() for m in models.split(",")] if models else None)
        return run_tournament(file, entries=ents, weights_file=weights_file, n_boot=n_boot, seed=seed,
                              time_budget=time_budget or None, jobs=jobs, progress=cb)

    prog, cb = progress(not as_json and not quiet, description="tournament", unit="tasks")
    res = run_with(prog, lambda: guarded(go, as_json=as_json))
    if figure is not None:
        guarded(lambda: leaderboard_figure(res, figure), as_json=as_json)
    if as_json:
        print_json(to_json_contract(res))
        return
    t = table("model", "n", "MAE", "RMSE", "MedAE", "Δ vs compromise [95% CI]", "DEU I", "DEU II", "DEU III", "CPU s",
              title=f"DEU tournament: {file.name}, {res['n_issues']} scoreable issues")
    f2 = lambda x: "-" if x is None else f"{x:.2f}"  # noqa: E731
    for r in leaderboard_rows(res):
        ci = r.get("ci_vs_compromise")
        d = r.get("diff_vs_compromise")
        cis = "-" if d is None or not ci or None in ci else f"{d:+.2f} [{ci[0]:+.2f}, {ci[1]:+.2f}]"
        wv = r["by"]["wave"]
        t.add_row(r["name"] + (" *" if r.get("n_in_sample") else ""), str(r["n"]), f2(r["mae"]), f2(r["rmse"]), f2(r["medae"]), cis,
                  *(f2(wv.get(w, {}).get("mae")) for w in ("DEU I", "DEU II", "DEU III")), f"{r['seconds']:.1f}")
    print_table(t)
    for r in leaderboard_rows(res):
        if r["n_failed"]:
            out.print(f"{r['name']}: no forecast on {r['n_failed']} issue(s): {'; '.join(r['failure_reasons'][:2])}",
                      markup=False)
    if any(r.get("n_in_sample") for r in leaderboard_rows(res)):
        out.print("* fitted on some of these issues (train side of the pre-registered split): partly in-sample",
                  markup=False)
    rn = res.get("run") or {}
    out.print(f"{rn.get('wall_seconds', 0):.1f} s wall, {rn.get('cpu_seconds_models', 0):.1f} s CPU in models, "
              f"{rn.get('jobs')} worker(s), {rn.get('tasks')} tasks", markup=False)
    if figure is not None:
        out.print(f"figure written to {figure}")
