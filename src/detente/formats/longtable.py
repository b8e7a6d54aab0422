"""Long tables: one row per actor × issue, as CSV (or TSV/``;``) text or an XLSX sheet.

Columns (headers are case-insensitive; ``_`` and spaces are equivalent):

==============  ========  ==========================================================
column          required  meaning
==============  ========  ==========================================================
``actor``       yes       actor id (alias ``stakeholder``)
``issue``       yes       issue id (alias ``dimension``)
``position``    yes       position on the issue's own scale
``salience``    yes       salience; its scale is inferred (all <= 1: ``unit``, else
                          ``percent``) unless the header says ``salience_unit`` or
                          ``salience_percent`` or the ``salience_scale`` option is given
``capability``  no        actor's capability (aliases ``clout``, ``power``,
                          ``influence``, ``resources``); default 1. The first row of an
                          actor sets its capability; a different value on another row
                          becomes that stance's capability override
``lower``       no        lower bound of the row's issue (alias ``min``)
``upper``       no        upper bound of the row's issue (alias ``max``)
``status_quo``  no        status quo of the row's issue (alias ``sq``)
==============  ========  ==========================================================

Issue columns may be filled on one row of the issue or repeated (they must then agree).
Issues without bounds get the smallest and largest position
(:func:`~detente.formats.common.infer_bounds`). Every guess is recorded in the scenario's
``metadata["inferred"]``. Other columns are ignored and listed in
``metadata["ignored_columns"]``. Actors and issues appear in the order of their first row.

Examples
--------
>>> import tempfile, os
>>> d = tempfile.mkdtemp(); p = os.path.join(d, "t.csv")
>>> _ = open(p, "w").write("actor,issue,capability,position,salience\\n"
...                        "A,x,2,0,0.5\\nB,x,1,10,1\\n")
>>> s = read_long_csv(p)
>>> s.salience_scale, s.issue("x").lower, s.issue("x").upper, s.metadata["inferred"]["salience_scale"]
('unit', 0.0, 10.0, 'unit (every salience <= 1)')
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from detente.errors import InputError, Problem
from detente.formats.common import (
    Table,
    build_scenario,
    fmt_number,
    infer_bounds,
    infer_salience_scale,
    parse_float,
    read_table,
)
from detente.scenario import SALIENCE_MAX, Scenario
from detente.scenario.textcells import escape_formula, save_workbook, xlsx_row

__all__ = ["read_long_csv", "read_long_xlsx", "write_long_csv", "write_long_xlsx", "table_to_scenario",
           "LONG_ALIASES"]

LONG_ALIASES: dict[str, tuple[str, ...]] = {
    "actor": ("stakeholder", "actor id", "player"),
    "issue": ("issue id", "dimension"),
    "capability": ("clout", "power", "influence", "resources", "capabilities"),
    "position": ("pos",),
    "salience": (),
    "salience_unit": (),
    "salience_percent": ("salience pct", "salience %", "salience (%)"),
    "lower": ("min",),
    "upper": ("max",),
    "status_quo": ("sq", "status quo"),
}


def table_to_scenario(
    table: Table,
    *,
    format_name: str,
    single_issue: str | None = None,
    capability_required: bool = False,
    salience_scale: str | None = None,
    name: str | None = None,
    lower: float | None = None,
    upper: float | None = None,
    status_quo: float | None = None,
) -> Scenario:
    """Turn a long (or, with ``single_issue``, a 4-column BDM) table into a scenario.

    Parameters
    ----------
    table
        The rows read by :func:`~detente.formats.common.read_table`.
    format_name
        Recorded in ``metadata["format"]``.
    single_issue
        Issue id when the table has no ``issue`` column (BDM tables); an ``issue`` column
        is then an error.
    capability_required
        Whether the capability column must be present.
    salience_scale
        ``"unit"`` or ``"percent"`` to declare the scale instead of inferring it.
    name
        Scenario name (default: the file's stem).
    lower, upper, status_quo
        Bounds and status quo applied to every issue that does not give its own.

    Returns
    -------
    Scenario

    Raises
    ------
    InputError
        Listing every problem of the table.
    """
    file = table.file
    required = ["actor", "position"]
    if single_issue is None:
        required.append("issue")
    if capability_required:
        required.append("capability")
    col = table.columns(LONG_ALIASES, required=required)
    problems: list[Problem] = []
    sal_cols = [c for c in ("salience", "salience_unit", "salience_percent") if c in col]
    if len(sal_cols) != 1:
        raise InputError(Problem("missing salience column" if not sal_cols else "more than one salience column",
                                 file=file, line=table.header_line, value=",".join(table.header),
                                 expected="exactly one of 'salience', 'salience_unit', 'salience_percent'"))
    sal_col = sal_cols[0]
    if single_issue is not None and "issue" in col:
        raise InputError(Problem("this 4-column table has an issue column; read it as a long table", file=file,
                                 line=table.header_line, column=table.header[col["issue"]],
                                 expected="Actor, Capability, Position, Salience"))
    if salience_scale is not None and salience_scale not in SALIENCE_MAX:
        raise InputError(Problem("unknown salience scale", value=salience_scale, expected="'unit' or 'percent'"))
    head = {k: table.header[i] for k, i in col.items()}
    if not table.rows:
        raise InputError(Problem("no data rows", file=file, line=table.header_line, expected="one row per actor"
                                 + (" and issue" if single_issue is None else "")))

    def cell(cells: list[Any], key: str) -> Any:
        i = col.get(key)
        if i is None or i >= len(cells):
            return None
        return cells[i]

    actors: dict[str, dict[str, Any]] = {}
    actor_line: dict[str, int] = {}
    issues: dict[str, dict[str, Any]] = {}
    issue_line: dict[str, dict[str, int]] = {}
    issue_pos: dict[str, list[float]] = {}
    stances: list[dict[str, Any]] = []
    stance_line: list[int] = []
    pair_line: dict[tuple[str, str], int] = {}
    for line, cells in table.rows:
        a = cell(cells, "actor")
        a = None if a is None else str(a).strip()
        if isinstance(cell(cells, "actor"), float) and float(cell(cells, "actor")).is_integer():
            a = str(int(cell(cells, "actor")))
        if not a:
            problems.append(Problem("missing actor", file=file, line=line, column=head["actor"],
                                    expected="an actor id"))
        if single_issue is None:
            iid = cell(cells, "issue")
            iid = None if iid is None else str(iid).strip()
            if not iid:
                problems.append(Problem("missing issue", file=file, line=line, column=head["issue"],
                                        expected="an issue id"))
        else:
            iid = single_issue
        cap = parse_float(cell(cells, "capability"), file=file, line=line, column=head.get("capability"),
                          problems=problems, required=capability_required, what="capability")
        pos = parse_float(cell(cells, "position"), file=file, line=line, column=head["position"],
                          problems=problems, what="position")
        sal = parse_float(cell(cells, sal_col), file=file, line=line, column=head[sal_col],
                          problems=problems, what="salience")
        bounds = {}
        for k in ("lower", "upper", "status_quo"):
            if k in col:
                bounds[k] = parse_float(cell(cells, k), file=file, line=line, column=head[k],
                                        problems=problems, required=False, what=k)
        if a and a not in actors:
            actors[a] = {"id": a} if cap is None else {"id": a, "capability": cap}
            actor_line[a] = line
        elif a and cap is not None and "capability" not in actors[a]:
            actors[a]["capability"] = cap
        if iid and iid not in issues:
            issues[iid] = {"id": iid}
            issue_line[iid] = {"id": line}
            issue_pos[iid] = []
        if iid:
            for k, v in bounds.items():
                if v is None:
                    continue
                if k in issues[iid] and issues[iid][k] != v:
                    problems.append(Problem(f"{k} of issue {iid!r} differs from line {issue_line[iid][k]}",
                                            file=file, line=line, column=head[k], value=fmt_number(v),
                                            expected=f"{fmt_number(issues[iid][k])} or an empty cell"))
                elif k not in issues[iid]:
                    issues[iid][k] = v
                    issue_line[iid][k] = line
        if a and iid and (a, iid) in pair_line:
            what = "actor" if single_issue is not None else f"stance of {a!r} on issue {iid!r}"
            problems.append(Problem(f"duplicate {what} (first on line {pair_line[(a, iid)]})", file=file, line=line,
                                    column=head["actor"], value=a,
                                    expected="one row per actor" + (" and issue" if single_issue is None else "")))
            continue
        if a and iid:
            pair_line[(a, iid)] = line
        if a and iid and pos is not None and sal is not None:
            st: dict[str, Any] = {"actor": a, "issue": iid, "position": pos, "salience": sal}
            if cap is not None and actors[a].get("capability", 1.0) != cap:
                st["capability"] = cap
            stances.append(st)
            stance_line.append(line)
            issue_pos[iid].append(pos)

    inferred: dict[str, Any] = {}
    for iid, iss in issues.items():
        for k, v in (("lower", lower), ("upper", upper), ("status_quo", status_quo)):
            if k not in iss and v is not None:
                iss[k] = v
        if "lower" not in iss or "upper" not in iss:
            lo, hi = infer_bounds(issue_pos[iid] + [iss[k] for k in ("lower", "upper", "status_quo") if k in iss])
            if "lower" in iss and iss["lower"] >= hi:
                hi = iss["lower"] + 1.0
            if "upper" in iss and iss["upper"] <= lo:
                lo = iss["upper"] - 1.0
            for k, v in (("lower", lo), ("upper", hi)):
                if k not in iss:
                    iss[k] = v
                    inferred.setdefault("bounds", {}).setdefault(iid, {})[k] = v
    if salience_scale is None:
        if sal_col == "salience":
            salience_scale = infer_salience_scale(s["salience"] for s in stances)
            inferred["salience_scale"] = ("unit (every salience <= 1)" if salience_scale == "unit"
                                          else "percent (some salience > 1)")
        else:
            salience_scale = sal_col.split("_")[1]
    metadata: dict[str, Any] = {"format": format_name}
    if inferred:
        metadata["inferred"] = inferred
    ignored = table.unknown_columns(col)
    if ignored:
        metadata["ignored_columns"] = ignored
    data = {
        "name": name or Path(file).stem or "scenario",
        "salience_scale": salience_scale,
        "actors": list(actors.values()),
        "issues": list(issues.values()),
        "stances": stances,
        "metadata": metadata,
    }
    actor_ids = list(actors)
    issue_ids = list(issues)
    field_col = {"id": None, "capability": head.get("capability"), "lower": head.get("lower"),
                 "upper": head.get("upper"), "status_quo": head.get("status_quo")}

    def locate(path: tuple) -> tuple[int | None, str | None]:
        if len(path) >= 2 and path[0] == "stances":
            k = path[1]
            fld = path[2] if len(path) > 2 else None
            c = {"actor": head["actor"], "issue": head.get("issue"), "position": head["position"],
                 "salience": head[sal_col], "capability": head.get("capability")}.get(fld) if fld is not None else None
            return stance_line[k], c
        if len(path) >= 2 and path[0] == "actors":
            aid = actor_ids[path[1]]
            fld = path[2] if len(path) > 2 else "id"
            return actor_line[aid], head["actor"] if fld == "id" else field_col.get(fld, fld)
        if len(path) >= 2 and path[0] == "issues":
            iid = issue_ids[path[1]]
            fld = path[2] if len(path) > 2 else "id"
            lines = issue_line[iid]
            c = head.get("issue", "issue") if fld == "id" else (field_col.get(fld) or f"{fld} (inferred)")
            return lines.get(fld, lines["id"]), c
        return None, ".".join(map(str, path)) or None

    return build_scenario(data, file=file, locate=locate, problems=problems)


def read_long_csv(path: str | Path, *, encoding: str | None = None, delimiter: str | None = None,
                  salience_scale: str | None = None, name: str | None = None, **_: Any) -> Scenario:
    """Read a long CSV table (see the module docstring).

    Parameters
    ----------
    path
        The file (``,``, ``;`` or tab separated; UTF-8 or Windows-1252).
    encoding, delimiter
        Override the guesses.
    salience_scale
        Declare ``"unit"`` or ``"percent"`` instead of inferring it.
    name
        Scenario name (default: file stem).

    Returns
    -------
    Scenario
    """
    table = read_table(path, encoding=encoding, delimiter=delimiter)
    return table_to_scenario(table, format_name="long_csv", salience_scale=salience_scale, name=name)


def read_long_xlsx(path: str | Path, *, sheet: str | int | None = None, salience_scale: str | None = None,
                   name: str | None = None, **_: Any) -> Scenario:
    """Read a long table from an ``.xlsx`` sheet (default: the first sheet).

    Parameters
    ----------
    path
        The workbook.
    sheet
        Sheet name or 0-based index.
    salience_scale, name
        As for :func:`read_long_csv`.
    """
    table = read_table(path, sheet=sheet)
    return table_to_scenario(table, format_name="long_xlsx", salience_scale=salience_scale, name=name)


# --------------------------------------------------------------------------- writers
def long_rows(scenario: Scenario) -> tuple[list[str], list[list[Any]]]:
    """Header and rows of the long table of ``scenario`` (what the writers write).

    Bounds are written on every row, so that reading the table back gives the same issues.
    The salience column is ``salience`` when inference would find the declared scale, else
    ``salience_unit``/``salience_percent``.

    Raises
    ------
    InputError
        When the table cannot hold the scenario: an actor or issue without any stance.
    """
    problems = []
    with_stance = {s.actor for s in scenario.stances}
    for a in scenario.actors:
        if a.id not in with_stance:
            problems.append(Problem("actor has no stance; a long table cannot hold it", column="actor", value=a.id,
                                    expected="a stance on at least one issue (or use YAML)"))
    on_issue = {s.issue for s in scenario.stances}
    for i in scenario.issues:
        if i.id not in on_issue:
            problems.append(Problem("issue has no stance; a long table cannot hold it", column="issue", value=i.id,
                                    expected="a stance by at least one actor (or use YAML)"))
    if problems:
        raise InputError(problems)
    sal = "salience"
    if infer_salience_scale(s.salience for s in scenario.stances) != scenario.salience_scale:
        sal = f"salience_{scenario.salience_scale}"
    has_sq = any(i.status_quo is not None for i in scenario.issues)
    header = ["actor", "issue", "capability", "position", sal, "lower", "upper"] + (["status_quo"] if has_sq else [])
    caps = {a.id: a.capability for a in scenario.actors}
    issues = {i.id: i for i in scenario.issues}
    # the reader gives each actor the capability of its first row: write that row first
    rows: list[list[Any]] = []
    first_written: set[str] = set()
    for s in scenario.stances:
        iss = issues[s.issue]
        cap = caps[s.actor] if s.capability is None else s.capability
        if s.actor not in first_written and s.capability is not None and s.capability != caps[s.actor]:
            raise InputError(Problem("the first stance of an actor overrides its capability; a long table "
                                     "takes the actor's capability from its first row", column="capability",
                                     value=s.actor, expected="no override on an actor's first stance (or use YAML)"))
        first_written.add(s.actor)
        row = [s.actor, s.issue, cap, s.position, s.salience, iss.lower, iss.upper]
        if has_sq:
            row.append(iss.status_quo)
        rows.append(row)
    return header, rows


def write_long_csv(scenario: Scenario, path: str | Path, **_: Any) -> None:
    """Write ``scenario`` as a long CSV table (UTF-8, comma separated).

    Only actor × issue data survives: names, descriptions, relations, dynamics and
    metadata are not written (use YAML for those). Text that a spreadsheet would run as a
    formula gets an apostrophe in front, which the reader removes again
    (:mod:`detente.scenario.textcells`).
    """
    import csv

    header, rows = long_rows(scenario)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        for r in rows:
            w.writerow(["" if v is None else (fmt_number(v) if isinstance(v, float) else escape_formula(str(v)))
                        for v in r])


def write_long_xlsx(scenario: Scenario, path: str | Path, *, sheet: str = "stances", **_: Any) -> None:
    """Write ``scenario`` as a long table in one sheet of an ``.xlsx`` workbook.

    Names that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, tab, CR
    first) are written as text cells (:mod:`detente.scenario.textcells`).
    """
    import openpyxl

    header, rows = long_rows(scenario)
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet(sheet)
    ws.append(header)
    for r in rows:
        ws.append(xlsx_row(ws, r))
    save_workbook(wb, path)
