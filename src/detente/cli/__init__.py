"""The ``detente`` command (Typer + Rich).

Exit codes: 0 ok, 1 failed run, 2 invalid input. With ``--json`` a command prints exactly
one JSON object on stdout (documented in ``docs/json-contract.md``); errors then go to
stdout as ``{"error": ..., "problems": [...]}`` as well, so scripts can read them.

Layout: :mod:`detente.cli.base` holds what the commands share (the ``app``, consoles,
``guarded``, ``print_json``, ``open_store``, common options); each command module below
imports only ``base`` (and, for the crisis commands, :mod:`detente.cli.crisis_run`, the
printing-free back end of ``run``/``demo``), never another command module. Importing this
package imports them all, in the order of ``detente --help``, which registers their commands.
"""

from __future__ import annotations

# the command modules, imported for the commands they register on ``app`` (order = help order)
from detente.cli import benchmark, cases, crisis, report, runs, scenarios, serve, sweeps  # noqa: F401
from detente.cli.base import (
    EXIT_FAILED,
    EXIT_INVALID,
    EXIT_OK,
    app,
    guarded,
    open_store,
    package_version,
    print_json,
    result_json,
)
from detente.cli.scenarios import explain_lines, without_rounds

__all__ = ["app", "main", "guarded", "open_store", "print_json", "result_json", "package_version",
           "explain_lines", "without_rounds", "EXIT_OK", "EXIT_FAILED", "EXIT_INVALID"]


def main() -> None:  # console-script entry point
    app()
