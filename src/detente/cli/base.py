"""What every command module of the ``detente`` CLI shares: the Typer ``app``, the consoles,
:func:`guarded` (detente errors to messages and exit codes), :func:`print_json`,
:func:`open_store`, the common options and the progress display.

Command modules (:mod:`detente.cli.scenarios`, :mod:`~detente.cli.crisis`, ...) import this
module and never each other; :mod:`detente.cli` imports them all, which registers their commands.
This module imports no other module of :mod:`detente.cli` and no heavy library at import time
(``detente --version`` stays fast).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from detente.errors import (
    DetenteError,
    InputError,
    Problem,
    StoreError,
    UnknownModelError,
)

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
        raise typer.Exit(EXIT_INVALID) from None
    except UnknownModelError as exc:
        if as_json:
            print_json(InputError(Problem(str(exc), column="model", value=getattr(exc, "name", None),
                                          expected="a registered model (see `detente models`)")).to_dict())
        else:
            err.print(f"[bold red]invalid input[/]: {esc(exc)}")
        raise typer.Exit(EXIT_INVALID) from None
    except DetenteError as exc:  # a StoreError, or any other failed run
        what = "store error" if isinstance(exc, StoreError) else "run failed"
        if as_json:
            print_json({"error": what, "message": str(exc)})
        else:
            err.print(f"[bold red]{what}[/]: {esc(exc)}")
        raise typer.Exit(EXIT_FAILED) from None
    except (typer.Exit, typer.Abort, typer.TyperException):
        # the command line's own exits and usage errors (an inner ``guarded`` that already
        # reported its error raises ``typer.Exit``). Typer carries its own copy of Click: these
        # are not the classes of a separately installed ``click``, which is not imported.
        raise
    except Exception as exc:  # a bug: say so briefly, keep the traceback for DETENTE_DEBUG=1
        if os.environ.get("DETENTE_DEBUG"):
            raise
        msg = f"{type(exc).__name__}: {exc}"
        if as_json:
            print_json({"error": "internal error", "message": msg})
        else:
            err.print(f"[bold red]internal error[/]: {esc(msg)} (set DETENTE_DEBUG=1 for the traceback)")
        raise typer.Exit(EXIT_FAILED) from None


def esc(x: Any) -> str:
    from rich.markup import escape

    return escape(_printable(str(x)))


#: ``--quiet``: no progress display (it is also off with ``--json`` and when stderr is not a terminal).
QUIET_OPT = typer.Option(False, "--quiet", help="No progress display on stderr (also off with --json or when "
                         "stderr is not a terminal).")

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


def open_store(path: Path | None = None, *, as_json: bool = False, readonly: bool = False):
    """The run store at ``path`` (default root otherwise); errors become exit codes.

    ``readonly`` opens it for reading only (commands that only read: nothing is created or
    written, so they work on a read-only store)."""
    from detente.store import Store

    return guarded(lambda: Store(path, readonly=readonly), as_json=as_json)


def result_json(res: Any, run_id: str | None, same_inputs_as: str | None = None) -> dict[str, Any]:
    """The ``forecast --json`` object: the result's JSON form, ``extra`` always present, plus
    ``run_id`` and ``same_inputs_as`` (the stored run that holds a different result for the
    same run key, see :meth:`detente.store.Store.save_run`)."""
    d = res.to_json_dict()
    d.setdefault("extra", {})
    d["run_id"] = run_id
    d["same_inputs_as"] = same_inputs_as
    return d


def progress(enabled: bool, description: str = "sweep", unit: str = "chunks"):
    """A Rich progress display on stderr and the ``callback(done, total)`` that advances it, or
    ``(None, None)`` when not ``enabled`` (``--json``, ``--quiet``) or when stderr is not a
    terminal (a pipe, a log, CI), so stdout only ever holds the command's output. Used with
    :func:`run_with`."""
    if not enabled or not err.is_terminal:
        return None, None
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    prog = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn(unit),
                    TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), transient=False, console=err)
    task = prog.add_task(description, total=None)

    def cb(done: int, total: int) -> None:
        prog.update(task, completed=done, total=total)

    return prog, cb


def table(*headers: str, title: str | None = None, **kwargs: Any) -> Table:
    """A Rich table whose cells wrap, long words folded, when the terminal is narrow (80
    columns), instead of being cut to ``combi…``: every character stays on screen. Print it
    with :func:`print_table`, which also picks a more compact layout when it cannot fit. The
    first column (the row's name) does not wrap."""
    from rich.text import Text

    # a title with a long unbroken word (a store path) folds too
    t = Table(title=None if title is None else Text.from_markup(title, overflow="fold"), **kwargs)
    for k, h in enumerate(headers):
        # the first column names the row (a hypothesis, a model): kept whole while others wrap
        t.add_column(h, overflow="fold", no_wrap=k == 0)
    return t


def print_table(t: Table, console: Console | None = None) -> None:
    """Print ``t`` within the console's width. When it does not fit, the vertical rules and the
    cell padding go (one space between columns) and each column gets at least its longest word,
    the room left shared out by how much more each column would like; words break only when
    even the longest words do not fit side by side, and then in the widest columns first."""
    from rich import box
    from rich.measure import Measurement

    console = console or out
    unbounded = console.options.update_width(10**6)  # Measurement.get clamps to the options' width

    def measure(x: Any) -> Measurement:
        return Measurement.get(console, unbounded, x)

    if measure(t).maximum > console.width:
        t.box, t.padding, t.pad_edge, t.show_edge = box.SIMPLE_HEAD, (0, 1), False, False
        if measure(t).minimum > console.width:
            t.padding = (0, 0)
        cells = [[c.header, *c.cells] for c in t.columns]
        lo = [max(measure(x).minimum for x in cs) for cs in cells]
        hi = [max(measure(x).maximum for x in cs) for cs in cells]
        room = console.width - (measure(t).minimum - sum(lo))   # width left for cell contents
        if sum(lo) <= room:
            want = [h - m for m, h in zip(lo, hi, strict=True)]
            spare, total = room - sum(lo), sum(want) or 1
            widths = [m + min(w, spare * w // total) for m, w in zip(lo, want, strict=True)]
        else:   # even the longest words do not fit: fold the widest columns first, never the first
            widths = list(lo)
            while sum(widths) > room and max(widths[1:], default=0) > 4:
                k = max(range(1, len(widths)), key=lambda j: widths[j])
                widths[k] -= 1
        for c, w in zip(t.columns, widths, strict=True):
            c.width = w
    console.print(t, soft_wrap=False)  # the title wraps too


def df_table(df, title: str | None = None):
    """A Rich table of a DataFrame, floats to 4 significant digits."""
    t = table(*[str(c) for c in df.columns], title=title)
    for row in df.itertuples(index=False):
        t.add_row(*[f"{v:.4g}" if isinstance(v, float) else str(v) for v in row])
    return t


def run_with(prog, fn):
    """Call ``fn`` with the progress display shown (when there is one)."""
    if prog is None:
        return fn()
    with prog:
        return fn()
