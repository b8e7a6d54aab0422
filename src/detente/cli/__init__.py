"""The ``detente`` command (Typer + Rich).

Exit codes: 0 ok, 1 failed run, 2 invalid input. With ``--json`` a command prints exactly
one JSON object on stdout (documented in ``docs/json-contract.md``); errors then go to
stdout as ``{"error": ..., "problems": [...]}`` as well, so scripts can read them.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, Callable, Optional

import click
import typer
from rich.console import Console
from rich.table import Table

from detente.errors import DetenteError, InputError, Problem, StoreError, UnknownModelError

app = typer.Typer(
    name="detente",
    help="Forecast multi-actor negotiations and crises.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion (bash, zsh, fish, PowerShell)
    pretty_exceptions_enable=False,
)
# When stdout is not a terminal (pipes, logs, `make run`), Rich would assume 80 columns and
# squeeze the wide tables; give it room unless COLUMNS says otherwise.
out = Console(highlight=False, soft_wrap=True,
              width=None if (sys.stdout.isatty() or os.environ.get("COLUMNS")) else 160)
err = Console(stderr=True, highlight=False, soft_wrap=True)

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2


def package_version() -> str:
    """The installed distribution's version; ``detente.__version__`` when it is not installed
    (e.g. run from a source tree through ``PYTHONPATH``)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("detente")
    except PackageNotFoundError:
        from detente import __version__

        return __version__


def _print_version(value: bool) -> None:
    if value:
        sys.stdout.write(f"detente {package_version()}\n")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _main_options(
    version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                 help="Print the version of detente and exit."),
) -> None:
    """Forecast multi-actor negotiations and crises."""


def print_json(obj: Any) -> None:
    """Write ``obj`` as one line of JSON on stdout.

    Text that the stream cannot encode (a lone surrogate read from a JSON ``\\ud800``
    escape, or any non-ASCII text on a non-UTF-8 terminal) is written as ``\\uXXXX``
    escapes instead, which is the same JSON value, so printing an error never fails.
    """
    text = json.dumps(obj, allow_nan=False, ensure_ascii=False) + "\n"
    try:
        text.encode(sys.stdout.encoding or "utf-8")
    except (UnicodeEncodeError, LookupError):
        text = json.dumps(obj, allow_nan=False, ensure_ascii=True) + "\n"
    sys.stdout.write(text)


def _printable(text: str) -> str:
    """``text`` with what stderr cannot encode shown as backslash escapes (never an error)."""
    enc = getattr(sys.stderr, "encoding", None) or "utf-8"
    try:
        text.encode(enc)
        return text
    except (UnicodeEncodeError, LookupError):
        return text.encode(enc, errors="backslashreplace").decode(enc, errors="replace")


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
                err.print(_printable(f"  - {p}"), markup=False)
        raise typer.Exit(EXIT_INVALID)
    except UnknownModelError as exc:
        if as_json:
            print_json(InputError(Problem(str(exc), column="model", value=getattr(exc, "name", None),
                                          expected="a registered model (see `detente models`)")).to_dict())
        else:
            err.print(f"[bold red]invalid input[/]: {_esc(exc)}")
        raise typer.Exit(EXIT_INVALID)
    except StoreError as exc:
        if as_json:
            print_json({"error": "store error", "message": str(exc)})
        else:
            err.print(f"[bold red]store error[/]: {_esc(exc)}")
        raise typer.Exit(EXIT_FAILED)
    except DetenteError as exc:
        if as_json:
            print_json({"error": "run failed", "message": str(exc)})
        else:
            err.print(f"[bold red]run failed[/]: {_esc(exc)}")
        raise typer.Exit(EXIT_FAILED)
    except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
        raise
    except Exception as exc:  # a bug: say so briefly, keep the traceback for DETENTE_DEBUG=1
        if os.environ.get("DETENTE_DEBUG"):
            raise
        msg = f"{type(exc).__name__}: {exc}"
        if as_json:
            print_json({"error": "internal error", "message": msg})
        else:
            err.print(f"[bold red]internal error[/]: {_esc(msg)} (set DETENTE_DEBUG=1 for the traceback)")
        raise typer.Exit(EXIT_FAILED)


def _esc(x: Any) -> str:
    from rich.markup import escape

    return escape(_printable(str(x)))


#: ``--store PATH`` option shared by every command that reads or writes the run store.
STORE_OPT = typer.Option(None, "--store", help="Run store directory (default: $DETENTE_HOME or ~/.detente).")

#: ``--from FORMAT``: the input format of a scenario file (docs/cli.md, "Option names").
FROM_OPT = typer.Option(None, "--from", help="Input format (guessed from the file otherwise; see docs/formats.md).")
#: ``--format`` where it used to name the input format: hidden, still accepted (deprecated).
OLD_INPUT_FORMAT_OPT = typer.Option(None, "--format", hidden=True, help="Deprecated spelling of --from.")


def renamed_option(value: Any, old_value: Any, *, new: str, old: str, as_json: bool = False) -> Any:
    """The value of an option given under its current name (``value``) or under the old name
    it had (``old_value``, a hidden option kept so that documented usage never breaks).

    The old name prints a deprecation warning on stderr (stdout stays one JSON object with
    ``--json``); both names with different values are an input error (exit 2)."""
    if old_value is None:
        return value
    err.print(f"[yellow]warning[/]: {old} is deprecated here; use {new} (docs/cli.md, \"Option names\")")
    if value is not None and value != old_value:
        def conflict() -> None:
            raise InputError(Problem(f"{new} and its deprecated spelling {old} give different values",
                                     column=new, value=f"{value} / {old_value}", expected=f"only {new}"))

        guarded(conflict, as_json=as_json)
    return old_value


def open_store(path: Optional[Path] = None, *, as_json: bool = False, readonly: bool = False):
    """The run store at ``path`` (default root otherwise); errors become exit codes.

    ``readonly`` opens it for reading only (commands that only read: nothing is created or
    written, so they work on a read-only store)."""
    from detente.store import Store

    return guarded(lambda: Store(path, readonly=readonly), as_json=as_json)


def result_json(res: Any, run_id: Optional[str], same_inputs_as: Optional[str] = None) -> dict[str, Any]:
    """The ``forecast --json`` object: the result's JSON form, ``extra`` always present, plus
    ``run_id`` and ``same_inputs_as`` (the stored run that holds a different result for the
    same run key, see :meth:`detente.store.Store.save_run`)."""
    d = res.to_json_dict()
    d.setdefault("extra", {})
    d["run_id"] = run_id
    d["same_inputs_as"] = same_inputs_as
    return d


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


def _scenario_summary(scn: Any) -> dict[str, Any]:
    """Name, counts and content hash of a scenario (``validate`` and ``convert`` output)."""
    return {"name": scn.name, "actors": len(scn.actors), "issues": len(scn.issues), "stances": len(scn.stances),
            "input_hash": scn.content_hash()}


@app.command("validate")
def validate_cmd(
    file: Path = typer.Argument(..., help="Scenario file (YAML, CSV, XLSX, KTAB, Decide, ...)."),
    fmt: Optional[str] = FROM_OPT,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    old_fmt: Optional[str] = OLD_INPUT_FORMAT_OPT,
) -> None:
    """Check a scenario file and report every problem in it."""
    from detente.formats import load

    fmt = renamed_option(fmt, old_fmt, new="--from", old="--format", as_json=as_json)
    scn = guarded(lambda: load(file, format=fmt), as_json=as_json)
    summary = {"valid": True, "file": str(file), **_scenario_summary(scn)}
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
    seed: Optional[int] = typer.Option(None, "--seed", min=0, help="Root random seed; a stochastic model without one draws one (printed and stored)."),
    param: list[str] = typer.Option([], "--param", "-p", help="Model parameter NAME=VALUE (JSON value), repeatable."),
    fmt: Optional[str] = FROM_OPT,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object (see docs/json-contract.md)."),
    no_store: bool = typer.Option(False, "--no-store", help="Do not save the run in the run store."),
    label: Optional[str] = typer.Option(None, "--label", help="Free-text label stored with the run."),
    store: Optional[Path] = STORE_OPT,
    explain: bool = typer.Option(False, "--explain", help="Tell each round's moves in words (dynamic models that provide an explanation)."),
    no_rounds: bool = typer.Option(False, "--no-rounds", help="With --json, leave each issue's per-round `rounds` out of the printed object (the stored run keeps them)."),
    old_fmt: Optional[str] = OLD_INPUT_FORMAT_OPT,
) -> None:
    """Forecast the outcome of every issue of a scenario with one model (saved in the run store)."""
    from detente.formats import load
    from detente.models.registry import run_model

    fmt = renamed_option(fmt, old_fmt, new="--from", old="--format", as_json=as_json)
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
    t = Table("issue", "forecast", "scale", title=f"{scn.name}: {title}")
    for iid, ir in res.issues.items():
        iss = scn.issue(iid)
        f = "-" if ir.forecast is None else f"{ir.forecast:.4g}"
        t.add_row(iss.label, f, f"{iss.lower:g}–{iss.upper:g}")
    out.print(t)
    for n in res.notes:
        out.print(f"[dim]note: {_esc(n)}[/]")
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
            out.print(_esc(line))


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
    from_fmt: Optional[str] = typer.Option(None, "--from", help="Input format (guessed from IN otherwise)."),
    to_fmt: Optional[str] = typer.Option(None, "--to", help="Output format (from OUT's extension otherwise)."),
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
        return scn, Path(written or dst)

    scn, written = guarded(go, as_json=as_json)
    summary = {"input": str(src), "output": str(written), "from": from_fmt, "to": to_fmt, **_scenario_summary(scn)}
    if as_json:
        print_json(summary)
    else:
        out.print(f"wrote {_esc(written)} — {summary['actors']} actors, {summary['issues']} issues, {summary['stances']} stances")


@app.command("schema")
def schema_cmd() -> None:
    """Print the JSON Schema of the scenario format."""
    from detente.scenario import scenario_json_schema

    sys.stdout.write(json.dumps(scenario_json_schema(), indent=2) + "\n")


@app.command("demo")
def demo_cmd(
    out_dir: Path = typer.Option(Path("reports"), "--out", help="Directory for the report."),
    runs: int = typer.Option(400, "--runs", min=1, help="Monte-Carlo runs per hypothesis."),
    sensitivity: bool = typer.Option(False, "--sensitivity", help="Add a Sobol section (Morris-screened top 20 "
                                     "numbers, about a minute of CPU) to the report."),
) -> None:
    """Run the flagship crisis scenario `seesaw-2021` and write its report (what `make run` does)."""
    _crisis_run("seesaw-2021", hypothesis=[], runs=runs, seed=None, as_json=False, out_dir=out_dir,
                sets=[], counterfactual_runs=min(runs, 200), html=True, mechanisms="claims", sensitivity=sensitivity)


def _crisis_run(name: str, *, hypothesis: list[str], runs: Optional[int], seed: Optional[int], as_json: bool,
                out_dir: Optional[Path], sets: list[str], counterfactual_runs: Optional[int] = None,
                html: bool = False, mechanisms: str = "all", mechanism_runs: Optional[int] = None,
                mechanism_hypotheses: Optional[list[str]] = None, draw_assumptions: bool = False,
                param_draws: Optional[int] = None, as_of: Optional[list[str]] = None, sensitivity: bool = False) -> None:
    from detente.cli.crisis_run import crisis_run

    def go():
        return crisis_run(name, hypotheses=hypothesis, runs=runs, seed=seed, out_dir=None if as_json else out_dir,
                          sets=sets, cf_runs=counterfactual_runs, mechanisms=mechanisms,
                          mechanism_runs=mechanism_runs, mechanism_hypotheses=mechanism_hypotheses,
                          draw_assumptions=draw_assumptions, param_draws=param_draws, as_of=as_of,
                          sensitivity=sensitivity)

    obj, rep = guarded(go, as_json=as_json)
    if as_json:
        print_json(obj)
        return
    from detente.report.crisis import focal_rows

    head, rows = focal_rows(obj)
    lik = {r["hypothesis"]: r for r in obj.get("likelihood_table") or []}
    t = Table(*head, "P(record)", "log BF", "verdict", title=f"{obj['scenario']}: {obj['runs']} runs, seed {obj['seed']}"
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
    out.print(t)
    if rep is not None:
        out.print(f"report written to {rep.resolve()}")
    if html and out_dir is not None:
        from detente.report.html import crisis_report, write_report

        page = guarded(lambda: write_report(crisis_report(obj), out_dir / f"{obj['scenario']}.html"))
        out.print(f"self-contained HTML report written to {page.resolve()}")


@app.command("run")
def run_cmd(
    scenario: str = typer.Argument(..., help="Bundled crisis scenario name (e.g. seesaw-2021) or a scenario file."),
    hypothesis: list[str] = typer.Option([], "--hypothesis", "-H", help="Hypothesis name or YAML file (repeatable); default: all."),
    runs: Optional[int] = typer.Option(None, "--runs", "-n", min=1, help="Monte-Carlo runs per hypothesis."),
    seed: Optional[int] = typer.Option(None, "--seed", min=0, help="Root random seed."),
    sets: list[str] = typer.Option([], "--set", help="Override PATH=VALUE in the dynamics (JSON value), repeatable."),
    out_dir: Path = typer.Option(Path("reports"), "--out", help="Directory for the report."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object (see docs/json-contract.md)."),
    mechanisms: str = typer.Option("all", "--mechanisms", help="Mechanism map: all, none, claims (the "
                                   "mechanisms the scenario's claims test) or comma-separated mechanism names (one "
                                   "extra run per mechanism and hypothesis)."),
    mechanism_runs: Optional[int] = typer.Option(None, "--mechanism-runs", min=2, help="Runs per with/without pair "
                                                 "of the mechanism map (default: the runs per hypothesis, at most 1000)."),
    mechanism_hypotheses: list[str] = typer.Option([], "--mechanism-hypothesis", help="Map the mechanisms under "
                                                   "this hypothesis only (repeatable; default: every hypothesis run)."),
    draw_assumptions: bool = typer.Option(False, "--draw-assumptions", help="Draw every assumption with a range "
                                          "per run and report Monte-Carlo and parameter-uncertainty intervals."),
    param_draws: Optional[int] = typer.Option(None, "--param-draws", min=2, help="Parameter sets of the nested "
                                              "design behind the parameter-uncertainty interval (default 40)."),
    as_of: list[str] = typer.Option([], "--as-of", help="Also forecast the record's question as of this date "
                                    "(YYYY-MM-DD, repeatable): the engine starts then, from the record's state, with "
                                    "only the events known by then (the record's own forecast dates are always run)."),
    sensitivity: bool = typer.Option(False, "--sensitivity", help="Add Sobol indices of P(war by the record's end) "
                                     "and the focal actor's months of peace (Morris-screened top 20 numbers)."),
) -> None:
    """Run a crisis scenario's hypotheses, back-test them and write a report."""
    _crisis_run(scenario, hypothesis=hypothesis, runs=runs, seed=seed, as_json=as_json, out_dir=out_dir, sets=sets,
                mechanisms=mechanisms, mechanism_runs=mechanism_runs, mechanism_hypotheses=mechanism_hypotheses or None,
                draw_assumptions=draw_assumptions, param_draws=param_draws, as_of=as_of or None,
                sensitivity=sensitivity)


# --------------------------------------------------------------------------- runs
runs_app = typer.Typer(help="Stored runs: list, show, export, delete; check and repair the store.",
                       no_args_is_help=True)
app.add_typer(runs_app, name="runs")


def _short_time(ts: str) -> str:
    return ts[:19].replace("T", " ") if ts else "-"


@runs_app.command("list")
def runs_list_cmd(
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Only runs of this model."),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="At most this many runs (newest first; default 50)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    store: Optional[Path] = STORE_OPT,
    old_limit: Optional[int] = typer.Option(None, "-n", min=1, hidden=True, help="Deprecated spelling of --limit."),
) -> None:
    """List stored runs, newest first."""
    limit = renamed_option(limit, old_limit, new="--limit", old="-n", as_json=as_json) or 50
    st = open_store(store, as_json=as_json, readonly=True)
    infos, total = guarded(lambda: (st.list(model=model, limit=limit), st.count()), as_json=as_json)
    if as_json:
        print_json({"store": str(st.root), "total": total, "runs": [i.to_json_dict() for i in infos]})
        return
    if not infos:
        out.print(f"no stored runs{' of model ' + model if model else ''} in {_esc(st.root)}")
        return
    show_kind = any(i.kind != "forecast" for i in infos)
    t = Table(title=f"runs in {_esc(st.root)} ({len(infos)} of {total})")
    t.add_column("run", no_wrap=True)
    t.add_column("created (UTC)", no_wrap=True)
    for c in (["kind"] if show_kind else []) + ["model", "variant", "seed", "scenario", "label", "status"]:
        t.add_column(c, no_wrap=c in ("model", "status"))
    for i in infos:
        t.add_row(i.run_id, _short_time(i.created)[:16], *([i.kind] if show_kind else []), i.model, i.variant or "-",
                  "-" if i.seed is None else str(i.seed), _esc(i.scenario_name or "-"), _esc(i.label or "-"), i.status)
    out.print(t)


@runs_app.command("show")
def runs_show_cmd(
    run: str = typer.Argument(..., metavar="ID", help="Run id or a unique prefix of its key."),
    max_rounds: Optional[int] = typer.Option(None, "--max-rounds", min=2, help="Show at most this many rounds per "
                                             "issue (first and last; default 10)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    store: Optional[Path] = STORE_OPT,
    old_rounds: Optional[int] = typer.Option(None, "--rounds", min=2, hidden=True, help="Deprecated spelling of --max-rounds."),
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
        head.add_row(k, _esc(v))
    if (info.meta or {}).get("same_inputs_as"):
        head.add_row("same inputs as", _esc(f"{info.meta['same_inputs_as']} (which holds a different result)"))
    if chunks:
        head.add_row("chunks", f"{chunk_summary['done']}/{chunk_summary['total']} done, "
                               f"{chunk_summary['failed']} failed, "
                               + (f"{chunk_summary['damaged']} damaged (detente sweep resume {info.run_id}), "
                                  if chunk_summary["damaged"] else "")
                               + f"{chunk_summary['rows']} rows")
    out.print(head)
    if res is None:
        return
    t = Table("issue", "forecast", "rounds", title="forecasts")
    for iid, ir in res.issues.items():
        t.add_row(_esc(iid), "-" if ir.forecast is None else f"{ir.forecast:.6g}", str(len(ir.rounds)) if ir.rounds else "-")
    out.print(t)
    if traj is not None and len(traj):
        for iid, g in traj.groupby("issue", sort=False):
            wide = g.pivot(index="actor", columns="round", values="position")
            wide = wide.loc[list(dict.fromkeys(g["actor"]))]
            cols = list(wide.columns)
            if len(cols) > max_rounds:
                cols = cols[: max_rounds // 2] + [None] + cols[-(max_rounds - max_rounds // 2):]
            tt = Table(title=f"trajectory: {_esc(iid)} (position by round)")
            tt.add_column("actor", no_wrap=True)
            for c in cols:
                tt.add_column("…" if c is None else str(c), justify="right", no_wrap=True)
            for a, row in wide.iterrows():
                tt.add_row(_esc(a), *["…" if c is None else ("-" if row[c] != row[c] else f"{row[c]:.4g}") for c in cols])
            out.print(tt)
    for n in res.notes:
        out.print(f"[dim]note: {_esc(n)}[/]")


@runs_app.command("delete")
def runs_delete_cmd(
    run: str = typer.Argument(..., metavar="ID", help="Run id or a unique prefix of its key."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    store: Optional[Path] = STORE_OPT,
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
    store: Optional[Path] = STORE_OPT,
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
    store: Optional[Path] = STORE_OPT,
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


@app.command("serve")
def serve_cmd(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind; loopback unless you say otherwise."),
    port: int = typer.Option(8765, "--port", min=1, max=65535, help="TCP port."),
    library: Optional[Path] = typer.Option(None, "--library", help="Directory of the user's scenario files."),
    store_root: Optional[Path] = typer.Option(None, "--store", help="Run store directory."),
    upload_limit_mb: float = typer.Option(5.0, "--upload-limit-mb", min=0.01, help="Largest accepted upload."),
    max_finished_jobs: int = typer.Option(200, "--max-finished-jobs", min=1,
                                          help="Finished background jobs kept for polling (the most recent)."),
    finished_job_ttl: Optional[float] = typer.Option(None, "--finished-job-ttl", min=1.0,
                                                     help="Also drop finished jobs this many seconds after they finished."),
) -> None:
    """Start the local web UI (FastAPI) on http://HOST:PORT."""
    try:
        import uvicorn

        from detente.web.app import WebConfig, _default_library, create_app
    except ImportError as exc:  # the `web` extra is missing
        err.print(f"[bold red]the web UI needs the `web` extra[/]: pip install 'detente[web]' ({exc})")
        raise typer.Exit(EXIT_FAILED)
    cfg = WebConfig(library_dir=library or _default_library(), store_root=store_root,
                    upload_limit=int(upload_limit_mb * 1024 * 1024), max_finished_jobs=max_finished_jobs,
                    finished_job_ttl=finished_job_ttl)
    if host not in cfg.allowed_hosts:
        cfg.allowed_hosts = (*cfg.allowed_hosts, host if ":" not in host or host.startswith("[") else f"[{host}]")
    if host not in ("127.0.0.1", "localhost", "::1"):
        err.print(f"[yellow]warning[/]: serving on {host}; anyone who can reach it can run models and upload files")
    out.print(f"detente UI on http://{host}:{port}/ (library {cfg.library_dir})")
    uvicorn.run(create_app(cfg), host=host, port=port, log_level="warning")


def _register_extensions() -> None:
    """Commands kept in their own modules (sweeps, sensitivity, export, report)."""
    from detente.cli.cases import register as register_cases
    from detente.cli.report import register as register_report
    from detente.cli.sweeps import register as register_sweeps

    register_sweeps(app, runs_app)
    register_report(app)
    register_cases(app)


_register_extensions()


benchmark_app = typer.Typer(help="Benchmarks of the models against observed outcomes.", no_args_is_help=True)
app.add_typer(benchmark_app, name="benchmark")


@benchmark_app.command("deu")
def benchmark_deu_cmd(
    file: Path = typer.Argument(..., help="A DEU CSV (the columns of deu3_dev.csv)."),
    models: Optional[str] = typer.Option(None, "--models", help="Comma-separated registered models (default: all)."),
    weights_file: Optional[Path] = typer.Option(None, "--weights", help="wave,actor,weight CSV for the Council weighting."),
    n_boot: int = typer.Option(2000, "--bootstrap", min=100, help="Paired bootstrap resamples."),
    seed: int = typer.Option(0, "--seed", min=0, help="Bootstrap seed."),
    time_budget: float = typer.Option(0.0, "--time-budget", min=0, help="CPU seconds per model entry (0 = unlimited, the default)."),
    jobs: int = typer.Option(2, "--jobs", "-j", min=1, help="Worker processes; entries are cut into chunks of issues (results do not depend on it)."),
    figure: Optional[Path] = typer.Option(None, "--figure", help="Write the leaderboard figure (PNG) here."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object (see docs/json-contract.md)."),
) -> None:
    """Score every registered model on every scoreable DEU issue (MAE, RMSE, CIs vs compromise)."""
    from detente.experiments.deu_benchmark import (default_entries, leaderboard_figure, leaderboard_rows,
                                                   run_tournament, to_json_contract)

    def go():
        ents = default_entries([m.strip() for m in models.split(",")] if models else None)
        return run_tournament(file, entries=ents, weights_file=weights_file, n_boot=n_boot, seed=seed,
                              time_budget=time_budget or None, jobs=jobs)

    res = guarded(go, as_json=as_json)
    if figure is not None:
        leaderboard_figure(res, figure)
    if as_json:
        print_json(to_json_contract(res))
        return
    t = Table("model", "n", "MAE", "RMSE", "MedAE", "Δ vs compromise [95% CI]", "DEU I", "DEU II", "DEU III", "CPU s",
              title=f"DEU tournament: {file.name}, {res['n_issues']} scoreable issues")
    f2 = lambda x: "-" if x is None else f"{x:.2f}"  # noqa: E731
    for r in leaderboard_rows(res):
        ci = r.get("ci_vs_compromise")
        d = r.get("diff_vs_compromise")
        cis = "-" if d is None or not ci or None in ci else f"{d:+.2f} [{ci[0]:+.2f}, {ci[1]:+.2f}]"
        wv = r["by"]["wave"]
        t.add_row(r["name"] + (" *" if r.get("n_in_sample") else ""), str(r["n"]), f2(r["mae"]), f2(r["rmse"]), f2(r["medae"]), cis,
                  *(f2(wv.get(w, {}).get("mae")) for w in ("DEU I", "DEU II", "DEU III")), f"{r['seconds']:.1f}")
    Console(highlight=False, width=max(out.width, 150)).print(t)
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


def main() -> None:  # console-script entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
