"""KTAB Spatial Model of Politics CSV files (``SMPModel::csvRead``; spec ``smp.md`` §13.1).

::

    DummyData_3Dim ,"Dummy scenario to test reading format",7,3,
    Actor,Description,Power,Pstn1,Sal1,Pstn2,Sal2,Pstn3,Sal3,
    SActor-00, Random Spatial Actor, 102.543, 75.79, 49.53,  6.37,  5.91, 70.45, 28.15,
    ...

* Line 1: scenario name, description, number of actors N, number of dimensions K (further
  fields are ignored).
* Line 2: ``Actor, Description, Power|Influence``, then K pairs of (position header,
  salience header). The position headers name the dimensions.
* N rows: actor name (1-25 characters), description, capability (0 < c <= 1e8), then K
  (position, salience) pairs on 0-100, with each actor's saliences summing to at most 100
  (plus 1e-9 for decimal round-off) and more than 0.

Fields are trimmed of white space and double quotes; trailing commas are optional.

The scenario keeps everything: one issue per dimension, in file order, id = the position
header, bounds 0-100; ``salience_scale="percent"``; actor descriptions; the capability and
salience headers in ``metadata["ktab"]`` (so that :func:`write_ktab_csv` writes the same
headers back).

Examples
--------
>>> import tempfile, os
>>> p = os.path.join(tempfile.mkdtemp(), "k.csv")
>>> _ = open(p, "w").write("Toy, a toy,3,1,\\nActor,Description,Power,Pos,Sal,\\n"
...                        "A,first,10,20,50,\\nB,second,5,80,40,\\nC,third,1,50,100,\\n")
>>> s = read_ktab_csv(p)
>>> s.name, s.issue_ids, s.actor("A").description, s.stance("C", "Pos").salience
('Toy', ['Pos'], 'first', 100.0)
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from detente.errors import InputError, Problem
from detente.formats.common import fmt_number, parse_float, read_text, split_rows
from detente.scenario import Scenario
from detente.scenario.textcells import escape_formula

__all__ = ["read_ktab_csv", "write_ktab_csv", "ktab_rows"]

MAX_NAME = 512
MAX_ACTOR_NAME = 25
MAX_DESCRIPTION = 256
MAX_DIM_NAME = 256
MAX_CAPABILITY = 1e8
MIN_ACTORS, MAX_ACTORS = 3, 250
SALIENCE_SUM_TOLERANCE = 1e-9


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _clean(cell: str) -> str:
    return cell.strip().strip('"').strip()


def read_ktab_csv(path: str | Path, *, encoding: str | None = None, **_: Any) -> Scenario:
    """Read a KTAB SMP CSV file (see the module docstring).

    Parameters
    ----------
    path
        The file (UTF-8 or Windows-1252).
    encoding
        Force an encoding.

    Returns
    -------
    Scenario
        Issues = dimensions in file order on [0, 100], percent saliences.

    Raises
    ------
    InputError
        Every problem of the file at once (line, column, value, expected).
    """
    file = str(path)
    text, _enc = read_text(path, encodings=(encoding,) if encoding else ("utf-8-sig", "cp1252"))
    rows = split_rows(text, delimiter=",", formula_escapes=True)
    rows = [(ln, [_clean(c) for c in cells]) for ln, cells in rows]
    problems: list[Problem] = []

    def err(msg: str, line: int | None, column: str | None = None, value: Any = None,
            expected: str | None = None) -> None:
        problems.append(Problem(msg, file=file, line=line, column=column, value=value, expected=expected))

    if len(rows) < 2:
        raise InputError(Problem("a KTAB CSV file needs a scenario line and a header line", file=file,
                                 line=rows[0][0] if rows else 1,
                                 expected="'name, description, N, K' then 'Actor,Description,Power,Pos1,Sal1,...'"))
    (l1, first), (l2, header), *data = rows
    if len(first) < 4:
        raise InputError(Problem("line 1 must hold name, description, number of actors, number of dimensions",
                                 file=file, line=l1, value=",".join(first), expected="4 fields"))
    name, desc = first[0], first[1]
    n_k: list[int | None] = []
    for idx, what, lo in ((2, "number of actors", MIN_ACTORS), (3, "number of dimensions", 1)):
        try:
            v = int(first[idx])
        except ValueError:
            err(f"{what} is not a whole number", l1, f"field {idx + 1} ({what})", first[idx], "a whole number")
            n_k.append(None)
            continue
        if v < lo or (idx == 2 and v > MAX_ACTORS):
            err(f"{what} out of range", l1, f"field {idx + 1} ({what})", first[idx],
                f"{lo} to {MAX_ACTORS}" if idx == 2 else f"at least {lo}")
        n_k.append(v)
    n, k = n_k
    if not name:
        err("empty scenario name", l1, "field 1 (name)", expected="a name")
    if len(name) > MAX_NAME:
        err("scenario name too long", l1, "field 1 (name)", name, f"at most {MAX_NAME} characters")
    if len(desc) > MAX_NAME:
        err("scenario description too long", l1, "field 2 (description)", desc, f"at most {MAX_NAME} characters")
    if k is None:
        # count the pairs the header offers
        k = max(0, (len([h for h in header if h]) - 3) // 2)
    if len(header) < 3 + 2 * k or any(not header[3 + 2 * j] for j in range(k)):
        err(f"header has {max(0, (len([h for h in header if h]) - 3) // 2)} position/salience pairs but line 1 "
            f"announces {k}", l2, None, ",".join(header),
            f"Actor, Description, Power, then {k} (position, salience) header pairs")
        raise InputError(problems)
    extra_pairs = [h for h in header[3 + 2 * k:] if h]
    if extra_pairs:
        err(f"header has more columns than the {k} dimensions announced on line 1", l2,
            f"field {3 + 2 * k + 1}", extra_pairs[0], f"{3 + 2 * k} header fields")
    dims = [header[3 + 2 * j] for j in range(k)]
    sal_heads = [header[4 + 2 * j] for j in range(k)]
    for j, d in enumerate(dims):
        if len(d) > MAX_DIM_NAME:
            err("dimension name too long", l2, f"field {4 + 2 * j}", d, f"at most {MAX_DIM_NAME} characters")
    if n is not None and len(data) != n:
        err(f"line 1 announces {n} actors but the file has {len(data)} actor rows", l1,
            "field 3 (number of actors)", str(n), f"{len(data)}, or {n} actor rows")

    actors: list[dict[str, Any]] = []
    stances: list[dict[str, Any]] = []
    stance_loc: list[tuple[int, list[str]]] = []
    actor_line: list[int] = []
    for line, cells in data:
        need = 3 + 2 * k
        present = len(cells)
        if present < need or any(c == "" for c in cells[:need]):
            missing = [j for j in range(need) if j >= present or cells[j] == ""]
            if present < need:
                err(f"actor row has {present} fields", line, None, ",".join(cells),
                    f"{need} fields: name, description, capability and {k} (position, salience) pairs")
                continue
            for j in missing:
                if j >= 2:  # name and description are checked below
                    err("empty field", line, _colname(j, dims), "", "a number")
        aname, adesc = cells[0], cells[1]
        if not aname:
            err("empty actor name", line, "Actor", "", "a name of 1 to 25 characters")
        elif len(aname) > MAX_ACTOR_NAME:
            err("actor name too long", line, "Actor", aname, f"at most {MAX_ACTOR_NAME} characters")
        if len(adesc) > MAX_DESCRIPTION:
            err("actor description too long", line, "Description", adesc, f"at most {MAX_DESCRIPTION} characters")
        cap_col = header[2] or "Power"
        cap = parse_float(cells[2] or None, file=file, line=line, column=cap_col, problems=problems,
                          required=False)
        if cap is not None and not (0 < cap <= MAX_CAPABILITY):
            err("capability out of range", line, cap_col, cells[2], f"a number > 0 and <= {MAX_CAPABILITY:g}")
            cap = None
        if not aname:
            continue
        actor: dict[str, Any] = {"id": aname}
        if adesc:
            actor["description"] = adesc
        if cap is not None:
            actor["capability"] = cap
        actors.append(actor)
        actor_line.append(line)
        total = 0.0
        all_ok = True
        for j in range(k):
            pos = parse_float(cells[3 + 2 * j] or None, file=file, line=line, column=dims[j], problems=problems,
                              required=False)
            sal = parse_float(cells[4 + 2 * j] or None, file=file, line=line, column=sal_heads[j] or f"Sal{j + 1}",
                              problems=problems, required=False)
            if sal is None or pos is None:
                all_ok = False
                continue
            total += max(sal, 0.0)
            stances.append({"actor": aname, "issue": dims[j], "position": pos, "salience": sal})
            stance_loc.append((line, [dims[j], sal_heads[j] or f"Sal{j + 1}"]))
        if all_ok and total > 100 + SALIENCE_SUM_TOLERANCE:
            err(f"saliences of {aname!r} sum to {total:g}", line, "saliences", fmt_number(total),
                "a sum of at most 100")
        elif all_ok and k and total <= 0:
            err(f"saliences of {aname!r} are all zero", line, "saliences", "0", "a positive sum (at most 100)")

    data_dict = {
        "name": name or Path(file).stem or "scenario",
        "salience_scale": "percent",
        "actors": actors,
        "issues": [{"id": d, "lower": 0.0, "upper": 100.0} for d in dims],
        "stances": stances,
        "metadata": {
            "format": "ktab_csv",
            "ktab": {"capability_header": header[2], "salience_headers": sal_heads},
        },
    }
    if desc:
        data_dict["description"] = desc

    def locate(p: tuple) -> tuple[int | None, str | None]:
        if len(p) >= 2 and p[0] == "stances":
            line, (pcol, scol) = stance_loc[p[1]]
            fld = p[2] if len(p) > 2 else None
            return line, scol if fld == "salience" else pcol
        if len(p) >= 2 and p[0] == "actors":
            fld = p[2] if len(p) > 2 else "id"
            return actor_line[p[1]], {"id": "Actor", "description": "Description"}.get(fld, header[2])
        if len(p) >= 2 and p[0] == "issues":
            return l2, f"field {4 + 2 * p[1]}"
        if p and p[0] in ("name", "description"):
            return l1, p[0]
        return None, ".".join(map(str, p)) or None

    return _build(data_dict, file, locate, problems)


def _build(data: dict[str, Any], file: str, locate: Any, problems: list[Problem]) -> Scenario:
    from detente.formats.common import build_scenario

    return build_scenario(data, file=file, locate=locate, problems=problems)


def _colname(j: int, dims: list[str]) -> str:
    if j == 2:
        return "capability"
    d = (j - 3) // 2
    return dims[d] if (j - 3) % 2 == 0 else f"salience of {dims[d]}"


def ktab_rows(scenario: Scenario) -> list[list[str]]:
    """The rows :func:`write_ktab_csv` writes (line 1, header, one row per actor).

    Raises
    ------
    InputError
        When the scenario does not fit the format: an issue not on [0, 100], a missing
        actor × issue stance, a per-issue capability override, fewer than 3 actors.
    """
    problems: list[Problem] = []
    for iss in scenario.issues:
        if (iss.lower, iss.upper) != (0.0, 100.0):
            problems.append(Problem("KTAB CSV dimensions are on [0, 100]", column="issue", value=iss.id,
                                    expected="an issue with lower 0 and upper 100 (rescale it first)"))
    if len(scenario.actors) < MIN_ACTORS:
        problems.append(Problem("KTAB needs at least 3 actors", value=len(scenario.actors), expected=">= 3 actors"))
    by = {(s.actor, s.issue): s for s in scenario.stances}
    for a in scenario.actors:
        for iss in scenario.issues:
            s = by.get((a.id, iss.id))
            if s is None:
                problems.append(Problem("KTAB CSV needs every actor's stance on every dimension", column="stances",
                                        value=f"{a.id} / {iss.id}", expected="a stance"))
            elif s.capability is not None and s.capability != a.capability:
                problems.append(Problem("KTAB CSV has one capability per actor", column="capability",
                                        value=f"{a.id} / {iss.id}", expected="no per-issue capability override"))
    if problems:
        raise InputError(problems)
    scale = 100.0 if scenario.salience_scale == "unit" else 1.0
    meta = scenario.metadata.get("ktab", {}) if isinstance(scenario.metadata.get("ktab"), dict) else {}
    cap_head = meta.get("capability_header") or "Power"
    sal_heads = meta.get("salience_headers")
    if not isinstance(sal_heads, list) or len(sal_heads) != len(scenario.issues):
        sal_heads = [f"Sal{j + 1}" for j in range(len(scenario.issues))]
    out = [[scenario.name, scenario.description or "", str(len(scenario.actors)), str(len(scenario.issues))]]
    head = ["Actor", "Description", cap_head]
    for iss, sh in zip(scenario.issues, sal_heads):
        head += [iss.id, sh]
    out.append(head)
    for a in scenario.actors:
        row = [a.id, a.description or "", fmt_number(a.capability)]
        for iss in scenario.issues:
            s = by[(a.id, iss.id)]
            row += [fmt_number(s.position), fmt_number(s.salience * scale)]
        out.append(row)
    return out


def write_ktab_csv(scenario: Scenario, path: str | Path, **_: Any) -> None:
    """Write ``scenario`` as a KTAB SMP CSV file (see the module docstring).

    Unit saliences are written as percent. Issue names, labels, relations, dynamics and
    metadata other than the KTAB headers are not written.

    Raises
    ------
    InputError
        When the scenario does not fit the format (see :func:`ktab_rows`).
    """
    rows = ktab_rows(scenario)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        for r in rows:  # numbers are written by fmt_number; only text can look like a formula
            w.writerow([escape_formula(c) if isinstance(c, str) and not _is_number(c) else c for c in r])
