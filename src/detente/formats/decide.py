"""Decide files (``#A``/``#P``/``#M``/``#D`` rows) of the Stokman exchange model.

Spec: ``exchange.md`` §1. One row per line; the first cell is the row type:

======  ==================================================  ===============================
type    fields after the type                               becomes
======  ==================================================  ===============================
``#A``  id, full name, [comment]                            :class:`Actor` (name, description)
``#P``  id, [name], [description]                           :class:`Issue`
``#M``  issue id, position, [meaning]                       bounds (smallest/largest point) and
                                                            ``labels``; 0-100 when an issue has
                                                            no ``#M`` row
``#D``  actor, issue, position, salience, power, [comment]  :class:`Stance`; ``power`` is the
                                                            stance's capability override (the
                                                            actor's own capability is its first
                                                            power); empty position, salience
                                                            and power = no stance
``#O``  description                                         scenario description
``#/``  comment                                             ignored
======  ==================================================  ===============================

Cells are separated by tabs or ``;`` (found from the first row's structure: the character
after the row type, so unquoted tab files whose cells start with ``#`` parse), may be
quoted with ``'`` or ``"``, and the file may be UTF-8 or Windows-1252. Extra trailing
fields are joined (with a space) into the last field. Salience and power must lie in
[0, 100] and positions within their issue's bounds; every problem of the file is
reported at once with its line and column.

Saliences are kept as written. The scale is ``unit`` when every salience is at most 1,
else ``percent`` (recorded in ``metadata["inferred"]["salience_scale"]``); the
``salience_scale`` option, or a ``#/`` row ``salience_scale<TAB>percent`` (which
:func:`write_decide` writes when the guess would be wrong), declares it instead.

Examples
--------
>>> import tempfile, os
>>> p = os.path.join(tempfile.mkdtemp(), "d.csv")
>>> _ = open(p, "w").write("#A\\ta\\ta\\n#A\\tb\\tb\\n#P\\tx\\n#M\\tx\\t0\\n#M\\tx\\t10\\n"
...                        "#D\\ta\\tx\\t2\\t0.5\\t1\\n#D\\tb\\tx\\t8\\t1\\t3\\n")
>>> s = read_decide(p)
>>> s.issue("x").upper, s.salience_scale, s.issue_arrays("x").capability.tolist()
(10.0, 'unit', [1.0, 3.0])
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from detente.errors import InputError, Problem
from detente.formats.common import build_scenario, fmt_number, infer_salience_scale, parse_float, read_text
from detente.scenario import SALIENCE_MAX, Scenario

__all__ = ["read_decide", "write_decide"]

ROW_TYPES = ("#A", "#P", "#M", "#D", "#O", "#/")
D_COLUMNS = ("type", "actor", "issue", "position", "salience", "power", "comment")
SALIENCE_RANGE = (0.0, 100.0)
POWER_RANGE = (0.0, 100.0)


def _unquote(cell: str) -> str:
    c = cell.strip()
    if len(c) >= 2 and c[0] == c[-1] and c[0] in "'\"":
        c = c[1:-1]
    return c.strip()


def _delimiter(lines: list[str]) -> str:
    for ln in lines:
        s = ln.lstrip()
        if not s:
            continue
        for tag in ("'#", '"#', "#"):
            if s.startswith(tag):
                rest = s[len(tag) + 1:]
                if tag[0] in "'\"" and rest.startswith(tag[0]):
                    rest = rest[1:]
                if rest[:1] in ("\t", ";", ","):
                    return rest[0]
                break
        return "\t" if "\t" in s else ";"
    return "\t"


def _split(line: str, delim: str, width: int) -> list[str]:
    cells = [_unquote(c) for c in line.split(delim)]
    while len(cells) > 1 and cells[-1] == "":
        cells.pop()
    if len(cells) > width:
        cells = cells[: width - 1] + [" ".join(c for c in cells[width - 1:] if c)]
    return cells


def read_decide(path: str | Path, *, encoding: str | None = None, salience_scale: str | None = None,
                name: str | None = None, **_: Any) -> Scenario:
    """Read a Decide ``#A/#P/#M/#D`` file (see the module docstring).

    Parameters
    ----------
    path
        The file.
    encoding
        Force an encoding (default: UTF-8, then Windows-1252).
    salience_scale
        ``"unit"`` or ``"percent"``, instead of inferring it.
    name
        Scenario name (default: the file's stem).

    Returns
    -------
    Scenario

    Raises
    ------
    InputError
        Every problem of the file (file, line, column, value, expected).
    """
    file = str(path)
    text, _enc = read_text(path, encodings=(encoding,) if encoding else ("utf-8-sig", "cp1252"))
    lines = text.splitlines()
    delim = _delimiter(lines)
    problems: list[Problem] = []

    def err(msg: str, line: int, column: str | None = None, value: Any = None, expected: str | None = None) -> None:
        problems.append(Problem(msg, file=file, line=line, column=column, value=value, expected=expected))

    actors: list[dict[str, Any]] = []
    actor_line: list[int] = []
    issues: dict[str, dict[str, Any]] = {}
    issue_line: dict[str, int] = {}
    issue_order: list[str] = []
    points: dict[str, list[tuple[float, int]]] = {}
    stances: list[dict[str, Any]] = []
    stance_line: list[int] = []
    described: list[str] = []
    declared_scale: str | None = None
    d_rows: list[tuple[int, list[str]]] = []
    m_rows: list[tuple[int, list[str]]] = []
    for ln, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        tag = _unquote(raw.split(delim, 1)[0])
        if tag not in ROW_TYPES:
            err("unknown row type", ln, "type", tag[:20], "one of " + ", ".join(ROW_TYPES))
            continue
        if tag == "#A":
            c = _split(raw, delim, 4)
            if len(c) < 2 or not c[1]:
                err("#A row without an actor id", ln, "id", None, "#A, id, full name, [comment]")
                continue
            a: dict[str, Any] = {"id": c[1]}
            if len(c) > 2 and c[2] and c[2] != c[1]:
                a["name"] = c[2]
            if len(c) > 3 and c[3]:
                a["description"] = c[3]
            actors.append(a)
            actor_line.append(ln)
        elif tag == "#P":
            c = _split(raw, delim, 4)
            if len(c) < 2 or not c[1]:
                err("#P row without an issue id", ln, "id", None, "#P, id, [name], [description]")
                continue
            iss: dict[str, Any] = {"id": c[1]}
            if len(c) > 2 and c[2] and c[2] != c[1]:
                iss["name"] = c[2]
            if len(c) > 3 and c[3] and c[3] not in (c[1], c[2]):
                iss["description"] = c[3]  # the bundled files repeat the id here: not a description
            if c[1] in issues:
                err("duplicate issue", ln, "id", c[1], f"a unique id (first declared on line {issue_line[c[1]]})")
                continue
            issues[c[1]] = iss
            issue_line[c[1]] = ln
            issue_order.append(c[1])
        elif tag == "#M":
            m_rows.append((ln, _split(raw, delim, 4)))
        elif tag == "#D":
            d_rows.append((ln, _split(raw, delim, 7)))
        elif tag == "#O":
            c = _split(raw, delim, 2)
            if len(c) > 1 and c[1]:
                described.append(c[1])
        elif tag == "#/":
            c = _split(raw, delim, 3)
            if len(c) >= 3 and c[1] == "salience_scale":
                if c[2] in SALIENCE_MAX:
                    declared_scale = c[2]
                else:
                    err("unknown salience scale", ln, "salience_scale", c[2], "'unit' or 'percent'")

    for ln, c in m_rows:
        if len(c) < 3 or not c[1]:
            err("#M row needs an issue and a position", ln, None, delim.join(c), "#M, issue, position, [meaning]")
            continue
        if c[1] not in issues:
            err("#M row for an undeclared issue", ln, "issue", c[1], "an issue declared by a #P row")
            continue
        x = parse_float(c[2], file=file, line=ln, column="position", problems=problems)
        if x is None:
            continue
        points.setdefault(c[1], []).append((x, ln))
        if len(c) > 3 and c[3]:
            issues[c[1]].setdefault("labels", {})[fmt_number(x)] = c[3]
    for iid, pts in points.items():
        xs = [x for x, _ in pts]
        lo, hi = min(xs), max(xs)
        if lo == hi:
            err(f"issue {iid!r} has a single scale point", pts[0][1], "position", fmt_number(lo),
                "two #M rows giving the lower and upper bound")
            continue
        issues[iid]["lower"], issues[iid]["upper"] = lo, hi

    first_power: dict[str, float] = {}
    for ln, c in d_rows:
        c = c + [""] * (6 - len(c))
        actor, iid = c[1], c[2]
        if not actor:
            err("#D row without an actor", ln, "actor", None, "an actor declared by an #A row")
        if not iid:
            err("#D row without an issue", ln, "issue", None, "an issue declared by a #P row")
        if not actor or not iid:
            continue
        if not (c[3] or c[4] or c[5]):
            continue  # the actor does not take part on this issue
        pos = parse_float(c[3], file=file, line=ln, column="position", problems=problems)
        sal = parse_float(c[4], file=file, line=ln, column="salience", problems=problems)
        pwr = parse_float(c[5], file=file, line=ln, column="power", problems=problems)
        if sal is not None and not (SALIENCE_RANGE[0] <= sal <= SALIENCE_RANGE[1]):
            err(f"salience of {actor!r} on {iid!r} outside [0, 100]", ln, "salience", c[4],
                "a number in [0, 100]")
            sal = None
        if pwr is not None and not (POWER_RANGE[0] <= pwr <= POWER_RANGE[1]):
            err(f"power of {actor!r} on {iid!r} " + ("is negative" if pwr < 0 else "above 100"), ln, "power", c[5],
                "a number in [0, 100]")
            pwr = None
        if pos is None:
            continue  # nothing to cross-check
        st: dict[str, Any] = {"actor": actor, "issue": iid, "position": pos, "salience": 0.0 if sal is None else sal}
        if pwr is not None:
            st["capability"] = pwr
            first_power.setdefault(actor, pwr)
        stances.append(st)
        stance_line.append(ln)

    for a in actors:
        if a["id"] in first_power:
            a["capability"] = first_power[a["id"]]
    inferred: dict[str, Any] = {}
    scale = salience_scale or declared_scale
    if scale is None:
        scale = infer_salience_scale(s["salience"] for s in stances)
        inferred["salience_scale"] = ("unit (every salience <= 1)" if scale == "unit"
                                      else "percent (some salience > 1)")
    for iid in issue_order:
        if iid not in points:
            issues[iid].setdefault("lower", 0.0)
            issues[iid].setdefault("upper", 100.0)
            inferred.setdefault("bounds", {})[iid] = "0-100 (no #M rows)"
    metadata: dict[str, Any] = {"format": "decide"}
    if inferred:
        metadata["inferred"] = inferred
    data: dict[str, Any] = {
        "name": name or Path(file).stem or "scenario",
        "salience_scale": scale,
        "actors": actors,
        "issues": [issues[i] for i in issue_order],
        "stances": stances,
        "metadata": metadata,
    }
    if described:
        data["description"] = "\n".join(described)

    def locate(p: tuple) -> tuple[int | None, str | None]:
        if len(p) >= 2 and p[0] == "stances":
            fld = p[2] if len(p) > 2 else None
            return stance_line[p[1]], "power" if fld == "capability" else fld
        if len(p) >= 2 and p[0] == "actors":
            return actor_line[p[1]], p[2] if len(p) > 2 else "id"
        if len(p) >= 2 and p[0] == "issues":
            return issue_line[issue_order[p[1]]], p[2] if len(p) > 2 else "id"
        return None, ".".join(map(str, p)) or None

    return build_scenario(data, file=file, locate=locate, problems=problems)


def _q(text: str) -> str:
    return "'" + text.replace("\t", " ").replace("\n", " ") + "'"


def write_decide(scenario: Scenario, path: str | Path, **_: Any) -> None:
    """Write ``scenario`` as a tab-separated, ``'``-quoted Decide file.

    Each stance's power is its effective capability. Issue bounds and labels become
    ``#M`` rows; relations, dynamics and metadata are not written.
    """
    caps = {a.id: a.capability for a in scenario.actors}
    bad = [Problem("Decide files hold powers in [0, 100]", column="capability", value=f"{s.actor} / {s.issue}",
                   expected="a capability <= 100 (rescale capabilities first)")
           for s in scenario.stances if (caps[s.actor] if s.capability is None else s.capability) > POWER_RANGE[1]]
    if bad:
        raise InputError(bad)
    out: list[list[str]] = []
    if scenario.description:
        for ln in scenario.description.splitlines():
            out.append([_q("#O"), _q(ln)])
    if infer_salience_scale(s.salience for s in scenario.stances) != scenario.salience_scale:
        out.append([_q("#/"), _q("salience_scale"), _q(scenario.salience_scale)])
    for a in scenario.actors:
        out.append([_q("#A"), _q(a.id), _q(a.name or a.id), _q(a.description or "")])
    for i in scenario.issues:
        out.append([_q("#P"), _q(i.id), _q(i.name or i.id), _q(i.description or "")])
        pts = {i.lower: "", i.upper: ""}
        for k, v in i.labels.items():
            pts[float(k)] = v
        for x in sorted(pts):
            row = [_q("#M"), _q(i.id), fmt_number(x)]
            if pts[x]:
                row.append(_q(pts[x]))
            out.append(row)
    for s in scenario.stances:
        cap = caps[s.actor] if s.capability is None else s.capability
        out.append([_q("#D"), _q(s.actor), _q(s.issue), fmt_number(s.position), fmt_number(s.salience),
                    fmt_number(cap)])
    Path(path).write_text("".join("\t".join(r) + "\n" for r in out), encoding="utf-8")
