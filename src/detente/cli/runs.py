"""``detente runs ...``: list, show, export, delete stored runs; check and repair the store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from detente.cli.base import (
    EXIT_FAILED,
    STORE_OPT,
    app,
    esc,
    guarded,
    open_store,
    out,
    print_json,
    print_table,
    renamed_option,
    result_json,
    table,
)

# --------------------------------------------------------------------------- runs
runs_app = typer.Typer(help="Stored runs: list, show, export, delete; check and repair the store.",
                       no_args_is_help=True)
app.add_typer(runs_app, name="runs")


def _short_time(ts: str) -> str:
    return ts[:19].replace("T", " ") if ts else "-"


@runs_app.command("list")
def runs_list_cmd(
    model: str | None = typer.Option(None, "--model", "-m", help="Only runs of this model."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="At most this many runs (newest first; default 50)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    store: Path | None = STORE_OPT,
    old_limit: int | None = typer.Option(None, "-n", min=1, hidden=True, help="Deprecated spelling of --limit."),
) -> None:
    """List stored runs, newest first."""
    limit = renamed_option(limit, old_limit, new="--limit", old="-n", as_json=as_json) or 50
    st = open_store(store, as_json=as_json, readonly=True)
    infos, total = guarded(lambda: (st.list(model=model, limit=limit), st.count()), as_json=as_json)
    if as_json:
        print_json({"store": str(st.root), "total": total, "runs": [i.to_json_dict() for i in infos]})
        return
    if not infos:
        out.print(f"no stored runs{' of model ' + model if model else ''} in {esc(st.root)}")
        return
    show_kind = any(i.kind != "forecast" for i in infos)
    t = table("run", "created (UTC)", *(["kind"] if show_kind else []), "model", "variant", "seed", "scenario",
              "label", "status", title=f"runs in {esc(st.root)} ({len(infos)} of {total})")
    for i in infos:
        t.add_row(i.run_id, _short_time(i.created)[:16], *([i.kind] if show_kind else []), i.model, i.variant or "-",
                  "-" if i.seed is None else str(i.seed), esc(i.scenario_name or "-"), esc(i.label or "-"), i.status)
    print_table(t)


@runs_app.command("show")
def runs_show_cmd(
    run: str = typer.Argument(..., metavar="ID", help="Run id or a unique prefix of its key."),
    max_rounds: int | None = typer.Option(None, "--max-rounds", min=2, help="Show at most this many rounds per "
                                             "issue (first and last; default 10)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    store: Path | None = STORE_OPT,
    old_rounds: int | None = typer.Option(None, "--rounds", min=2, hidden=True, help="Deprecated spelling of --max-rounds."),
) -> None:
    """Show a stored run: metadata, forecasts and per-round trajectories."""
    max_rounds = renamed_option(max_rounds, old_rounds, new="--max-rounds", old="--rounds", as_json=as_json) or 10
    st = open_store(store, as_json=as_json, readonly=True)

    def go():
        info = st.info(run)
        # runs of chunks (sweeps, crisis runs) have no single result: their rows are in parts
        res = st.get(info.run_id) if info.status == "done" and info.kind == "forecast" else None
        chunks = st.chunks(info.run_id)
        traj = st.trajectory(info.run_id) if res is not None and not as_json else None
        return info, res, chunks, traj

    info, res, chunks, traj = guarded(go, as_json=as_json)
    chunk_summary = {
        "total": len(chunks),
        "done": sum(c["status"] == "done" for c in chunks),
        "failed": sum(c["status"] == "failed" for c in chunks),
        "damaged": sum(c["status"] == "damaged" for c in chunks),
        "rows": sum(c["n_rows"] or 0 for c in chunks if c["status"] == "done"),
    }
    if as_json:
        print_json({"run": info.to_json_dict(),
                    "result": None if res is None else result_json(res, info.run_id, (info.meta or {}).get("same_inputs_as")),
                    "chunks": chunk_summary})
        return
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    for k, v in (("run", info.run_id), ("key", info.key), ("kind", info.kind), ("model", info.model),
                 ("variant", info.variant or "-"), ("seed", "-" if info.seed is None else str(info.seed)),
                 ("params", json.dumps(dict(info.params), sort_keys=True)), ("scenario", info.scenario_name or "-"),
                 ("input hash", info.input_hash or "-"), ("label", info.label or "-"),
                 ("created", _short_time(info.created) + " UTC"), ("version", info.version), ("status", info.status)):
        head.add_row(k, esc(v))
    if (info.meta or {}).get("same_inputs_as"):
        head.add_row("same inputs as", esc(f"{info.meta['same_inputs_as']} (which holds a different result)"))
    if chunks:
        head.add_row("chunks", f"{chunk_summary['done']}/{chunk_summary['total']} done, "
                               f"{chunk_summary['failed']} failed, "
                               + (f"{chunk_summary['damaged']} damaged (detente sweep resume {info.run_id}), "
                                  if chunk_summary["damaged"] else "")
                               + f"{chunk_summary['rows']} rows")
    out.print(head)
    if res is None:
        return
    t = table("issue", "forecast", "rounds", title="forecasts")
    for iid, ir in res.issues.items():
        t.add_row(esc(iid), "-" if ir.forecast is None else f"{ir.forecast:.6g}", str(len(ir.rounds)) if ir.rounds else "-")
    print_table(t)
    if traj is not None and len(traj):
        for iid, g in traj.groupby("issue", sort=False):
            wide = g.pivot(index="actor", columns="round", values="position")
            wide = wide.loc[list(dict.fromkeys(g["actor"]))]
            cols = list(wide.columns)
            if len(cols) > max_rounds:
                cols = cols[: max_rounds // 2] + [None] + cols[-(max_rounds - max_rounds // 2):]
            tt = Table(title=f"trajectory: {esc(iid)} (position by round)")
            tt.add_column("actor", no_wrap=True)
            for c in cols:
                tt.add_column("…" if c is None else str(c), justify="right", no_wrap=True)
            for a, row in wide.iterrows():
                tt.add_row(esc(a), *["…" if c is None else ("-" if row[c] != row[c] else f"{row[c]:.4g}") for c in cols])
            out.print(tt)
    for n in res.notes:
        out.print(f"[dim]note: {esc(n)}[/]")


@runs_app.command("delete")
def runs_delete_cmd(
    run: str = typer.Argument(..., metavar="ID", help="Run id or a unique prefix of its key."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    store: Path | None = STORE_OPT,
) -> None:
    """Delete a stored run and its Parquet parts."""
    st = open_store(store, as_json=as_json)
    run_id = guarded(lambda: st.delete(run), as_json=as_json)
    if as_json:
        print_json({"deleted": run_id})
    else:
        out.print(f"deleted run {run_id}")


@runs_app.command("check")
def runs_check_cmd(
    quick: bool = typer.Option(False, "--quick", help="Read only the Parquet footers and row counts, not every byte."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    store: Path | None = STORE_OPT,
) -> None:
    """Check the store without changing it: catalogue integrity, every part, orphans (exit 1 if damaged)."""
    from detente.store.integrity import check_store

    root = store if store is not None else _default_root()
    rep = guarded(lambda: check_store(root, full=not quick), as_json=as_json)
    if as_json:
        print_json(rep.to_json_dict())
    else:
        _print_findings(rep)
    if not rep.ok:
        raise typer.Exit(EXIT_FAILED)


@runs_app.command("repair")
def runs_repair_cmd(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    store: Path | None = STORE_OPT,
) -> None:
    """Repair the store: rebuild the catalogue, quarantine damaged parts (never deleted), mark their chunks."""
    from detente.store.integrity import repair_store

    root = store if store is not None else _default_root()
    rep = guarded(lambda: repair_store(root), as_json=as_json)
    if as_json:
        print_json(rep.to_json_dict())
        return
    for a in rep.actions:
        out.print(f"{a['action']}: {a['detail']}", markup=False)
    if not rep.actions:
        out.print("nothing to repair")
    if rep.quarantine is not None:
        out.print(f"files that could not be used were moved to {rep.quarantine} (reasons.jsonl says why)", markup=False)
    if rep.after.ok:
        out.print("the store checks clean now")
    else:
        out.print(f"{len(rep.after.findings)} problem(s) remain:")
        _print_findings(rep.after, head=False)


def _default_root() -> Path:
    from detente.store import default_root

    return default_root()


def _print_findings(rep: Any, head: bool = True) -> None:
    if head:
        cat = rep.catalogue
        out.print(f"store {rep.root}: catalogue {cat['state']}"
                  + (f", integrity {'ok' if cat['integrity'] == 'ok' else 'FAILED'}" if cat["integrity"] else "")
                  + f"; {rep.runs} run(s), {rep.parts_checked} part(s) verified", markup=False)
    if rep.ok:
        out.print("[green]no problem found[/]")
        return
    for f in rep.findings:
        out.print(f"- {f.kind}: {f.message}", markup=False)
        if f.repair:
            out.print(f"    repair: {f.repair}", markup=False)


@runs_app.command("export")
def runs_export_cmd(
    ref: str = typer.Argument(..., help="Run id or unique prefix."),
    fmt: str = typer.Option("csv", "--format", help="csv | parquet | xlsx | dta (Stata) | feather (Arrow, for R)"),
    out_path: Path | None = typer.Option(None, "--out", help="Output file (default: detente-run-ID.FORMAT)."),
    store: Path | None = typer.Option(None, "--store", help="Run store directory."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Export a run's rows (sweep parts, or forecasts and trajectory) to CSV, Parquet, XLSX, Stata or Feather."""
    from detente.experiments.export import export_run_detail

    st = open_store(store, as_json=as_json, readonly=True)
    res = guarded(lambda: export_run_detail(st, ref, fmt, out_path), as_json=as_json)
    if as_json:
        print_json({"run": ref, "format": fmt, "path": str(res.path), "rows": res.rows, "columns": res.columns})
        return
    out.print(f"{res.rows} rows written to {res.path}", markup=False)
    if res.columns:
        out.print("columns renamed for Stata and R (the original names are kept in the file): "
                  + ", ".join(f"{k} -> {v}" for k, v in res.columns.items()), markup=False)
