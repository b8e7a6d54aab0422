"""Scenario commands of the ``detente`` CLI: ``models``, ``validate``, ``forecast``, ``convert``, ``schema``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer

from detente.cli.base import (
    FROM_OPT,
    OLD_INPUT_FORMAT_OPT,
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
from detente.errors import InputError, Problem


@app.command("models")
def models_cmd(as_json: bool = typer.Option(False, "--json", help="Print one JSON object.")) -> None:
    """List the registered models and what each supports."""
    from detente.models.registry import available

    specs = available()
    if as_json:
        print_json({"models": {s.name: s.to_json_dict() for s in specs}})
        return
    t = table("model", "variants", "multi-issue", "dynamics", "stochastic", "summary")
    for s in specs:
        yn = lambda b: "yes" if b else "-"  # noqa: E731
        t.add_row(s.name, ", ".join(s.variants) or "-", yn(s.multi_issue), yn(s.dynamics), yn(s.stochastic), s.summary)
    print_table(t)


def _scenario_summary(scn: Any) -> dict[str, Any]:
    """Name, counts and content hash of a scenario (``validate`` and ``convert`` output)."""
    return {"name": scn.name, "actors": len(scn.actors), "issues": len(scn.issues), "stances": len(scn.stances),
            "input_hash": scn.content_hash()}


@app.command("validate")
def validate_cmd(
    file: Path = typer.Argument(..., help="Scenario file (YAML, CSV, XLSX, KTAB, Decide, ...)."),
    fmt: str | None = FROM_OPT,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    old_fmt: str | None = OLD_INPUT_FORMAT_OPT,
) -> None:
    """Check a scenario file and report every problem in it (for a crisis scenario, `engine: crisis`,
    also its `dynamics:` block and each hypothesis)."""
    from detente.formats import load

    fmt = renamed_option(fmt, old_fmt, new="--from", old="--format", as_json=as_json)
    scn = guarded(lambda: load(file, format=fmt), as_json=as_json)
    if scn.dynamics:   # a crisis scenario (engine: crisis): its dynamics and every hypothesis, located by line
        from detente.cli.crisis_run import check_dynamics

        guarded(lambda: check_dynamics(scn, str(file)), as_json=as_json)
    summary = {"valid": True, "file": str(file), **_scenario_summary(scn)}
    if as_json:
        print_json(summary)
    else:
        out.print(f"[green]valid[/]: {file} — {summary['actors']} actors, {summary['issues']} issues, {summary['stances']} stances")


@app.command("forecast")
def forecast_cmd(
    file: Path = typer.Argument(..., help="Scenario file."),
    model: str = typer.Option("compromise", "--model", "-m", help="Registered model name (see `detente models`)."),
    variant: str | None = typer.Option(None, "--variant", "-v", help="Model variant."),
    rounds: int | None = typer.Option(None, "--rounds", min=0, help="Number of rounds (dynamic models)."),
    seed: int | None = typer.Option(None, "--seed", min=0, help="Root random seed; a stochastic model without one draws one (printed and stored)."),
    param: list[str] = typer.Option([], "--param", "-p", help="Model parameter NAME=VALUE (JSON value), repeatable."),
    fmt: str | None = FROM_OPT,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object (see docs/json-contract.md)."),
    no_store: bool = typer.Option(False, "--no-store", help="Do not save the run in the run store."),
    label: str | None = typer.Option(None, "--label", help="Free-text label stored with the run."),
    store: Path | None = STORE_OPT,
    explain: bool = typer.Option(False, "--explain", help="Tell each round's moves in words (dynamic models that provide an explanation)."),
    no_rounds: bool = typer.Option(False, "--no-rounds", help="With --json, leave each issue's per-round `rounds` out of the printed object (the stored run keeps them)."),
    old_fmt: str | None = OLD_INPUT_FORMAT_OPT,
) -> None:
    """Forecast the outcome of every issue of a scenario with one model (saved in the run store)."""
    from detente.formats import load
    from detente.models.registry import run_model

    fmt = renamed_option(fmt, old_fmt, new="--from", old="--format", as_json=as_json)
    params: dict[str, Any] = {}
    for item in param:
        if "=" not in item:
            def bad_param(item: str = item) -> None:
                raise InputError(f"--param {item!r}: expected NAME=VALUE")

            guarded(bad_param, as_json=as_json)
        k, v = item.split("=", 1)
        try:
            params[k] = json.loads(v)
        except json.JSONDecodeError:
            params[k] = v

    def go():
        scn = load(file, format=fmt)
        extra: dict[str, Any] = {"rounds": rounds} if rounds is not None else {}
        return scn, run_model(scn, model, variant=variant, params=params, seed=seed, **extra)

    scn, res = guarded(go, as_json=as_json)
    run_id = same_as = None
    if not no_store:
        st = open_store(store, as_json=as_json)
        saved = guarded(lambda: st.save_run(res, scenario=scn, label=label), as_json=as_json)
        run_id, same_as = saved.run_id, saved.same_inputs_as
    lines = explain_lines(res) if explain else None
    if as_json:
        obj = result_json(without_rounds(res) if no_rounds else res, run_id, same_as)
        if lines is not None:
            obj["explain"] = lines
        print_json(obj)
        return
    title = f"{res.model}" + (f" ({res.variant})" if res.variant else "")
    t = table("issue", "forecast", "scale", title=f"{scn.name}: {title}")
    for iid, ir in res.issues.items():
        iss = scn.issue(iid)
        f = "-" if ir.forecast is None else f"{ir.forecast:.4g}"
        t.add_row(iss.label, f, f"{iss.lower:g}–{iss.upper:g}")
    print_table(t)
    for n in res.notes:
        out.print(f"[dim]note: {esc(n)}[/]")
    if res.seed is not None:
        how = "given" if seed is not None else "drawn"
        out.print(f"[dim]seed {res.seed} ({how}; --seed {res.seed} repeats this run)[/]")
    else:
        out.print("[dim]no seed used (this run draws no random numbers)[/]")
    if run_id is not None:
        out.print(f"[dim]run {run_id} saved (detente runs show {run_id})[/]")
    if same_as is not None:
        out.print(f"[yellow]note: run {same_as} has the same inputs (scenario, model, variant, params, seed) "
                  f"but a different result (e.g. from another detente version); it is kept, and this result "
                  f"is run {run_id}[/]")
    if lines is not None:
        for line in lines or [f"{res.model} gives no round-by-round explanation"]:
            out.print(esc(line))


def without_rounds(res: Any) -> Any:
    """``res`` with every issue's ``rounds`` dropped (``forecast --json --no-rounds``): the JSON
    form then has no ``rounds`` key, and the per-round records are never serialised. The run key,
    which depends on inputs, params and seed only, is unchanged."""
    from dataclasses import replace

    return replace(res, issues={k: replace(v, rounds=()) for k, v in res.issues.items()})


def explain_lines(res: Any) -> list[str]:
    """Words for a run: the model's ``ModelSpec.extra["explain"](result)`` hook, else the
    result's own ``extra["explain"]`` lines, else nothing."""
    from detente.models.registry import get

    try:
        hook = get(res.model).extra.get("explain")
    except Exception:  # noqa: BLE001 - an unregistered model simply has no hook
        hook = None
    if callable(hook):
        return list(hook(res))
    return list(res.extra.get("explain") or [])


@app.command("convert")
def convert_cmd(
    src: Path = typer.Argument(..., metavar="IN", help="Scenario file to read."),
    dst: Path = typer.Argument(..., metavar="OUT", help="File to write (format from its extension or --to)."),
    from_fmt: str | None = typer.Option(None, "--from", help="Input format (guessed from IN otherwise)."),
    to_fmt: str | None = typer.Option(None, "--to", help="Output format (from OUT's extension otherwise)."),
    force: bool = typer.Option(False, "--force", "-f", help="Overwrite OUT if it exists."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Convert a scenario between file formats (YAML, JSON, CSV, XLSX, KTAB, Decide, ...)."""
    from detente.formats import load, save

    def go():
        if dst.exists() and not force:
            raise InputError(Problem("output file exists", file=str(dst), expected="another path, or --force"))
        if dst.exists() and src.exists() and dst.resolve() == src.resolve():
            raise InputError(Problem("input and output are the same file", file=str(dst)))
        scn = load(src, format=from_fmt)
        try:
            written = save(scn, dst, format=to_fmt)
        except OSError as exc:
            raise InputError(Problem(f"cannot write: {exc.strerror or exc}", file=str(dst))) from None
        return scn, Path(written)

    scn, written = guarded(go, as_json=as_json)
    summary = {"input": str(src), "output": str(written), "from": from_fmt, "to": to_fmt, **_scenario_summary(scn)}
    if as_json:
        print_json(summary)
    else:
        out.print(f"wrote {esc(written)} — {summary['actors']} actors, {summary['issues']} issues, {summary['stances']} stances")


@app.command("schema")
def schema_cmd(
    crisis: bool = typer.Option(False, "--crisis", help="The schema of a crisis scenario's `dynamics:` block "
                                "(schemas/crisis-dynamics.schema.json) instead of the scenario's."),
) -> None:
    """Print the JSON Schema of the scenario format (or, with --crisis, of its crisis `dynamics:` block)."""
    if crisis:
        from detente.crisis.spec import crisis_json_schema

        sys.stdout.write(json.dumps(crisis_json_schema(), indent=2, ensure_ascii=False) + "\n")
        return
    from detente.scenario import scenario_json_schema

    sys.stdout.write(json.dumps(scenario_json_schema(), indent=2) + "\n")
