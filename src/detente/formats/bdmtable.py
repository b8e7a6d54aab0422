"""4-column BDM / Predictioneer tables: ``Actor, Capability, Position, Salience``.

One row per actor, one issue. Headers are case-insensitive; ``Stakeholder`` is accepted
for ``Actor`` and ``Clout``, ``Power``, ``Influence``, ``Resources`` for ``Capability``.
Optional ``Lower``/``Upper``/``Status_quo`` columns give the issue's bounds; otherwise the
bounds are the smallest and largest position (or the ``lower``/``upper`` options). The
salience scale is ``unit`` when every salience is at most 1, else ``percent`` (the
reference implementations' rule), unless the ``salience_scale`` option declares it; the
guess is recorded in ``metadata["inferred"]``. CSV (``,``/``;``/tab, UTF-8 or
Windows-1252) and XLSX are read.

Examples
--------
>>> import tempfile, os
>>> p = os.path.join(tempfile.mkdtemp(), "ec.csv")
>>> _ = open(p, "w").write("Stakeholder,Clout,Position,Salience\\nNL,0.08,4,80\\nUK,0.16,10,90\\n")
>>> s = read_bdm_csv(p)
>>> s.issue_ids, s.salience_scale, s.issue("ec").lower, s.issue("ec").upper
(['ec'], 'percent', 4.0, 10.0)
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from detente.errors import InputError, Problem
from detente.formats.common import fmt_number, read_table
from detente.formats.longtable import table_to_scenario
from detente.scenario import Scenario
from detente.scenario.textcells import escape_formula

__all__ = ["read_bdm_csv", "read_bdm_xlsx", "write_bdm_csv"]


def _read(path: str | Path, fmt: str, *, issue: str | None, sheet: Any = None, encoding: str | None = None,
          delimiter: str | None = None, salience_scale: str | None = None, name: str | None = None,
          lower: float | None = None, upper: float | None = None, status_quo: float | None = None) -> Scenario:
    table = read_table(path, sheet=sheet, encoding=encoding, delimiter=delimiter)
    return table_to_scenario(table, format_name=fmt, single_issue=issue or Path(path).stem or "issue",
                             capability_required=True, salience_scale=salience_scale, name=name,
                             lower=lower, upper=upper, status_quo=status_quo)


def read_bdm_csv(path: str | Path, *, issue: str | None = None, encoding: str | None = None,
                 delimiter: str | None = None, salience_scale: str | None = None, name: str | None = None,
                 lower: float | None = None, upper: float | None = None, status_quo: float | None = None,
                 **_: Any) -> Scenario:
    """Read a 4-column BDM table from CSV text.

    Parameters
    ----------
    path
        The file.
    issue
        Id of the single issue (default: the file's stem).
    encoding, delimiter
        Override the guesses (UTF-8 then Windows-1252; ``,``/``;``/tab).
    salience_scale
        ``"unit"`` or ``"percent"``; inferred when not given.
    name
        Scenario name (default: the file's stem).
    lower, upper, status_quo
        The issue's bounds and status quo (default bounds: smallest and largest position).

    Returns
    -------
    Scenario
        One issue; actors in file order; capabilities on the actors.
    """
    return _read(path, "bdm_csv", issue=issue, encoding=encoding, delimiter=delimiter,
                 salience_scale=salience_scale, name=name, lower=lower, upper=upper, status_quo=status_quo)


def read_bdm_xlsx(path: str | Path, *, sheet: str | int | None = None, issue: str | None = None,
                  salience_scale: str | None = None, name: str | None = None, lower: float | None = None,
                  upper: float | None = None, status_quo: float | None = None, **_: Any) -> Scenario:
    """Read a 4-column BDM table from an ``.xlsx`` sheet; parameters as :func:`read_bdm_csv`."""
    return _read(path, "bdm_xlsx", issue=issue, sheet=sheet, salience_scale=salience_scale, name=name,
                 lower=lower, upper=upper, status_quo=status_quo)


def write_bdm_csv(scenario: Scenario, path: str | Path, *, issue: str | None = None, **_: Any) -> None:
    """Write one issue of ``scenario`` as a BDM table ``Actor,Capability,Position,Salience``.

    The issue's bounds (and status quo) are written as ``Lower``/``Upper``/``Status_quo``
    columns so that reading the file back gives the same issue.

    Raises
    ------
    InputError
        When the scenario has several issues and ``issue`` is not given.
    """
    if issue is None:
        if len(scenario.issues) != 1:
            raise InputError(Problem("a BDM table holds one issue", value=", ".join(scenario.issue_ids),
                                     expected="a scenario with one issue, or the issue option"))
        issue = scenario.issues[0].id
    arr = scenario.issue_arrays(issue)
    iss = arr.issue
    sal = {s.actor: s.salience for s in scenario.stances if s.issue == issue}
    header = ["Actor", "Capability", "Position", "Salience", "Lower", "Upper"]
    if iss.status_quo is not None:
        header.append("Status_quo")
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        for k, a in enumerate(arr.actors):
            row = [escape_formula(a), fmt_number(arr.capability[k]), fmt_number(arr.position[k]), fmt_number(sal[a]),
                   fmt_number(iss.lower), fmt_number(iss.upper)]
            if iss.status_quo is not None:
                row.append(fmt_number(iss.status_quo))
            w.writerow(row)
