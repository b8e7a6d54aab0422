"""The ``detente`` command (Typer + Rich).

Exit codes: 0 ok, 1 failed run, 2 invalid input. With ``--json`` a command prints exactly
one JSON object on stdout (documented in ``docs/json-contract.md``); errors then go to
stdout as ``{"error": ..., "problems": [...]}`` as well, so scripts can read them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Callable, Optional

import typer
from rich.console import Console
from rich.table import Table

from detente.errors import DetenteError, InputError, UnknownModelError

app = typer.Typer(
    name="detente",
    help="Forecast multi-actor negotiations and crises.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, allow_nan=False, ensure_ascii=False) + "\n")


def guarded(fn: Callable[[], Any], *, as_json: bool = False) -> Any:
    """Run ``fn``; turn detente errors into messages and exit codes (never a traceback)."""
    try:
        return fn()
    except InputError as exc:
        if as_json:
            print_json(exc.to_dict())
        else:
            err.print(f"[bold red]invalid input[/]: {len(exc.problems)} problem(s)")
            for p in exc.problems:
                err.print(f"  - {p}", markup=False)
        raise typer.Exit(EXIT_INVALID)
    except UnknownModelError as exc:
        if as_json:
            print_json({"error": "invalid input", "problems": [{"message": str(exc)}]})
        else:
            err.print(f"[bold red]invalid input[/]: {exc}")
        raise typer.Exit(EXIT_INVALID)
    except DetenteError as exc:
        if as_json:
            print_json({"error": "run failed", "message": str(exc)})
        else:
            err.print(f"[bold red]run failed[/]: {exc}")
        raise typer.Exit(EXIT_FAILED)


@app.command("models")
def models_cmd(as_json: bool = typer.Option(False, "--json", help="Print one JSON object.")) -> None:
    """List the registered models and what each supports."""
    from detente.models.registry import available

    specs = available()
    if as_json:
        print_json({"models": {s.name: s.to_json_dict() for s in specs}})
        return
    t = Table("model", "variants", "multi-issue", "dynamics", "stochastic", "summary")
    for s in specs:
        yn = lambda b: "yes" if b else "-"  # noqa: E731
        t.add_row(s.name, ", ".join(s.variants) or "-", yn(s.multi_issue), yn(s.dynamics), yn(s.stochastic), s.summary)
    out.print(t)


@app.command("validate")
def validate_cmd(
    file: Path = typer.Argument(..., help="Scenario file (YAML, CSV, XLSX, KTAB, Decide, ...)."),
    fmt: Optional[str] = typer.Option(None, "--format", help="Force the input format."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Check a scenario file and report every problem in it."""
    from detente.formats import load

    scn = guarded(lambda: load(file, format=fmt), as_json=as_json)
    summary = {
        "valid": True,
        "file": str(file),
        "name": scn.name,
        "actors": len(scn.actors),
        "issues": len(scn.issues),
        "stances": len(scn.stances),
        "input_hash": scn.content_hash(),
    }
    if as_json:
        print_json(summary)
    else:
        out.print(f"[green]valid[/]: {file} — {summary['actors']} actors, {summary['issues']} issues, {summary['stances']} stances")


@app.command("forecast")
def forecast_cmd(
    file: Path = typer.Argument(..., help="Scenario file."),
    model: str = typer.Option("compromise", "--model", "-m", help="Registered model name (see `detente models`)."),
    variant: Optional[str] = typer.Option(None, "--variant", "-v", help="Model variant."),
    rounds: Optional[int] = typer.Option(None, "--rounds", min=0, help="Number of rounds (dynamic models)."),
    seed: Optional[int] = typer.Option(None, "--seed", min=0, help="Root random seed."),
    param: list[str] = typer.Option([], "--param", "-p", help="Model parameter NAME=VALUE (JSON value), repeatable."),
    fmt: Optional[str] = typer.Option(None, "--format", help="Force the input format."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object (see docs/json-contract.md)."),
) -> None:
    """Forecast the outcome of every issue of a scenario with one model."""
    from detente.formats import load
    from detente.models.registry import run_model

    params: dict[str, Any] = {}
    for item in param:
        if "=" not in item:
            guarded(lambda: (_ for _ in ()).throw(InputError(f"--param {item!r}: expected NAME=VALUE")), as_json=as_json)
        k, v = item.split("=", 1)
        try:
            params[k] = json.loads(v)
        except json.JSONDecodeError:
            params[k] = v

    def go():
        scn = load(file, format=fmt)
        extra = {"rounds": rounds} if rounds is not None else {}
        return scn, run_model(scn, model, variant=variant, params=params, seed=seed, **extra)

    scn, res = guarded(go, as_json=as_json)
    if as_json:
        print_json(res.to_json_dict())
        return
    title = f"{res.model}" + (f" ({res.variant})" if res.variant else "")
    t = Table("issue", "forecast", "scale", title=f"{scn.name}: {title}")
    for iid, ir in res.issues.items():
        iss = scn.issue(iid)
        f = "-" if ir.forecast is None else f"{ir.forecast:.4g}"
        t.add_row(iss.label, f, f"{iss.lower:g}–{iss.upper:g}")
    out.print(t)
    for n in res.notes:
        out.print(f"[dim]note: {n}[/]")


@app.command("schema")
def schema_cmd() -> None:
    """Print the JSON Schema of the scenario format."""
    from detente.scenario import scenario_json_schema

    sys.stdout.write(json.dumps(scenario_json_schema(), indent=2) + "\n")


@app.command("demo")
def demo_cmd(
    out_dir: Path = typer.Option(Path("reports"), "--out", help="Directory for the report."),
) -> None:
    """Run the bundled flagship example and write its report (what `make run` does)."""
    from detente import examples
    from detente.models.registry import run_model

    def go():
        scn = examples.load("ec_emission")
        return scn, {m: run_model(scn, m) for m in ("compromise", "median", "nbs")}

    scn, results = guarded(go)
    iss = scn.issues[0]
    t = Table("model", "forecast", title=f"{scn.name}: {iss.label} ({iss.lower:g}–{iss.upper:g})")
    for m, r in results.items():
        t.add_row(m, f"{r.forecast(iss.id):.6g}")
    out.print(t)
    out_dir.mkdir(parents=True, exist_ok=True)
    rep = out_dir / f"{scn.name}.md"
    lines = [f"# {scn.name}", "", scn.description or "", "", "| model | forecast |", "|---|---:|"]
    lines += [f"| {m} | {r.forecast(iss.id):.6g} |" for m, r in results.items()]
    rep.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out.print(f"report written to {rep.resolve()}")


def main() -> None:  # console-script entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
