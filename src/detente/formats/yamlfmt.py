"""detente's own scenario format: YAML (or JSON) mirroring :class:`Scenario`.

The four tables of a scenario (``actors``, ``issues``, ``stances``, ``relations``) may be
written in three ways:

* a list of mappings, one per item (what :func:`write_yaml` writes by default)::

      stances:
        - {actor: US, issue: taiwan, position: 20, salience: 80}

* a compact table, column names once and one list per row (``write_yaml(..., compact=True)``
  writes the stances this way)::

      stances:
        columns: [actor, issue, position, salience]
        rows:
          - [US, taiwan, 20, 80]
          - [CN, taiwan, 100, 100]

  (inline CSV text in a block scalar, ``stances: |`` followed by a header line and rows,
  is accepted too);
* a reference to a table file, CSV/TSV/TXT or XLSX, whose header names the item's fields
  (case-insensitive, ``_`` or space)::

      stances: {file: stances.csv}
      actors: {file: actors.xlsx, sheet: Actors}

  Paths are relative to the YAML file's folder and must stay inside it: a path leading
  above it (``../``), an absolute path elsewhere or a symbolic link pointing out of it is
  refused with a problem, before anything is read (see :func:`confine_reference`). Options
  ``sheet``, ``encoding`` and ``delimiter`` are passed to the table reader. A missing file
  is reported at the line of the reference; problems in the table name the table's file,
  line and column.

Empty cells leave a field at its default. Errors point at the line of the offending value;
duplicate keys in a mapping are errors (YAML would silently keep the last one).

Examples
--------
>>> import tempfile, os
>>> d = tempfile.mkdtemp()
>>> _ = open(os.path.join(d, "st.csv"), "w").write("actor,issue,position,salience\\nA,x,1,50\\nB,x,9,100\\n")
>>> _ = open(os.path.join(d, "s.yaml"), "w").write(
...     "actors:\\n  columns: [id, capability]\\n  rows: [[A, 2], [B, 1]]\\n"
...     "issues: [{id: x, lower: 0, upper: 10}]\\nstances: {file: st.csv}\\n")
>>> s = read_yaml(os.path.join(d, "s.yaml"))
>>> s.actor("A").capability, s.stance("B", "x").position
(2.0, 9.0)
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from detente.errors import InputError, Problem
from detente.formats.common import (
    build_scenario,
    delimiter_problem,
    encoding_problem,
    read_table,
    read_text,
    split_rows,
)
from detente.scenario import Actor, Issue, Relation, Scenario, Stance

__all__ = ["read_yaml", "read_json", "confine_reference", "write_yaml", "write_json", "parse_yaml_with_lines", "scenario_to_document"]

_TABLE_MODELS: dict[str, type[BaseModel]] = {"actors": Actor, "issues": Issue, "stances": Stance, "relations": Relation}
_NUMERIC = {"capability", "lower", "upper", "status_quo", "outcome", "position", "salience", "affinity"}
_REF_OPTIONS = {"file", "sheet", "encoding", "delimiter"}


#: libyaml's safe loader when available (about 10x faster), else the pure-Python one; both
#: construct only plain data (no arbitrary objects).
_BASE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

#: Decimal integers longer than this are refused (Python refuses to convert more than 4,300
#: digits; no number of a scenario needs more than a few dozen).
MAX_INT_DIGITS = 4000

_INT_TAG, _FLOAT_TAG = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"


def _unreadable_number(node: yaml.ScalarNode) -> str | None:
    """Why a plain scalar YAML would read as a number must be refused, or ``None``.

    YAML 1.1 (what PyYAML implements) reads ``1:20`` as the base-60 number 80 and ``1:20.5``
    as 80.5: a time or a ratio typed without quotes would silently become another number.
    Decimal integers of more than :data:`MAX_INT_DIGITS` digits cannot be converted.
    """
    if node.tag not in (_INT_TAG, _FLOAT_TAG) or not isinstance(node.value, str):
        return None
    if ":" in node.value:
        return "sexagesimal"
    if node.tag == _INT_TAG and sum(c.isdigit() for c in node.value) > MAX_INT_DIGITS:
        return "too long"
    return None


class _SafeLoader(_BASE_LOADER):  # type: ignore[misc,valid-type]  # the base is chosen at import (C or pure loader)
    """The safe loader, with base-60 numbers and over-long integers kept as their text
    (:func:`parse_yaml_with_lines` reports them as problems)."""


def _construct_number(loader: Any, node: yaml.ScalarNode) -> Any:
    if _unreadable_number(node):
        return node.value
    if node.tag == _INT_TAG:
        return yaml.constructor.SafeConstructor.construct_yaml_int(loader, node)
    return yaml.constructor.SafeConstructor.construct_yaml_float(loader, node)


_SafeLoader.add_constructor(_INT_TAG, _construct_number)
_SafeLoader.add_constructor(_FLOAT_TAG, _construct_number)
_SAFE_LOADER = _SafeLoader


def _number_problem(node: yaml.ScalarNode, why: str, file: str, path: tuple) -> Problem:
    col = ".".join(str(x) for x in path) or None
    if why == "sexagesimal":
        return Problem("a YAML 1.1 base-60 (sexagesimal) number, which would read as "
                       f"{_sexagesimal_value(node.value)}: refused", file=file, line=node.start_mark.line + 1,
                       column=col, value=f"{node.value} (char {node.start_mark.column + 1})",
                       expected="a decimal number, or the text in quotes ('" + node.value + "')")
    digits = sum(c.isdigit() for c in node.value)
    return Problem(f"integer with {digits} digits", file=file, line=node.start_mark.line + 1, column=col,
                   value=f"{digits} digits", expected=f"a number of at most {MAX_INT_DIGITS} digits")


def _sexagesimal_value(text: str) -> str:
    try:
        sign = -1 if text.strip().startswith("-") else 1
        whole, _, frac = text.strip().lstrip("+-").replace("_", "").partition(".")
        v = 0.0
        for part in whole.split(":"):
            v = v * 60 + int(part)
        v = sign * (v + (float("0." + frac) if frac else 0.0))
        return f"{v:g}"
    except ValueError:
        return "another number"

def parse_yaml_with_lines(text: str, file: str, problems: list[Problem] | None = None) -> tuple[Any, dict[tuple, int]]:
    """Parse YAML safely, returning the data and a map field path -> 1-based line.

    Parameters
    ----------
    text
        The YAML text.
    file
        File name for the problems.
    problems
        If given, duplicate mapping keys, base-60 numbers (``1:20``) and integers of more
        than :data:`MAX_INT_DIGITS` digits are appended to it as problems (the two kinds of
        numbers are kept in the data as their text); otherwise the numbers are raised.

    Raises
    ------
    InputError
        For malformed YAML (with line and character).
    """
    try:
        node = yaml.compose(text, Loader=_SAFE_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(Problem(f"malformed YAML: {getattr(exc, 'problem', None) or exc}", file=file,
                                 line=(mark.line + 1) if mark else None,
                                 column=f"char {mark.column + 1}" if mark else None,
                                 expected="valid YAML")) from None
    lines: dict[tuple, int] = {}
    if node is None:
        return None, lines

    distinct: set[int] = set()
    visits = 0
    refused: list[Problem] = []

    def walk(n: yaml.Node, path: tuple) -> None:
        # aliases make the node graph a DAG: a few hundred bytes of nested aliases expand to
        # billions of paths ("billion laughs"); refuse documents that expand far beyond their size
        nonlocal visits
        visits += 1
        distinct.add(id(n))
        if visits > 100_000 and visits > 20 * len(distinct):
            raise InputError(Problem("the YAML aliases expand to too many values", file=file,
                                     line=n.start_mark.line + 1, column=".".join(str(x) for x in path),
                                     expected="a document without deeply nested aliases (*name)"))
        lines[path] = n.start_mark.line + 1
        if isinstance(n, yaml.ScalarNode) and not n.style:  # plain (unquoted): None or "" by loader
            why = _unreadable_number(n)
            if why:
                refused.append(_number_problem(n, why, file, path))
        if isinstance(n, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for k, v in n.value:
                key = k.value
                if problems is not None and key in seen:
                    problems.append(Problem("duplicate key", file=file, line=k.start_mark.line + 1,
                                            column=".".join(str(x) for x in path + (key,)), value=key,
                                            expected=f"each key once (first on line {seen[key]})"))
                seen.setdefault(key, k.start_mark.line + 1)
                walk(v, path + (key,))
                lines[path + (key,)] = (v.start_mark.line + 1 if not isinstance(v, (yaml.MappingNode, yaml.SequenceNode))
                                        else k.start_mark.line + 1)
        elif isinstance(n, yaml.SequenceNode):
            for i, v in enumerate(n.value):
                walk(v, path + (i,))

    walk(node, ())
    if refused:
        if problems is None:
            raise InputError(refused)
        problems.extend(refused)
    try:
        data = yaml.load(text, Loader=_SAFE_LOADER)  # safe: no arbitrary objects
    except yaml.YAMLError as exc:  # constructor errors (e.g. bad timestamps)
        mark = getattr(exc, "problem_mark", None)
        raise InputError(Problem(f"malformed YAML: {getattr(exc, 'problem', None) or exc}", file=file,
                                 line=(mark.line + 1) if mark else None, expected="valid YAML")) from None
    return data, lines


def _norm(h: Any) -> str:
    return "_".join(str(h if h is not None else "").replace("_", " ").split()).lower()


def _records(key: str, header: list[Any], rows: Sequence[tuple[int | None, list[Any]]], *, file: str,
             header_line: int | None, problems: list[Problem],
             origin: dict[tuple, tuple[str, int | None, str | None]]) -> list[dict[str, Any]]:
    """Turn table rows into item mappings for ``key``, recording where each value came from."""
    model = _TABLE_MODELS[key]
    fields = set(model.model_fields)
    names = [_norm(h) for h in header]
    for h, n in zip(header, names):
        if n and n not in fields:
            problems.append(Problem(f"unknown column for {key}", file=file, line=header_line, column=str(h),
                                    value=str(h), expected="one of " + ", ".join(sorted(fields))))
    out: list[dict[str, Any]] = []
    for i, (line, cells) in enumerate(rows):
        item: dict[str, Any] = {}
        for h, n, v in zip(header, names, cells):
            if n not in fields or v is None or (isinstance(v, str) and not v.strip()):
                continue
            if isinstance(v, str):
                v = v.strip()
                if n in _NUMERIC:
                    try:
                        v = float(v)
                    except ValueError:
                        pass  # pydantic reports it, located below
                elif n == "labels":
                    try:
                        v = yaml.safe_load(v)
                    except yaml.YAMLError:
                        pass
            elif isinstance(v, (int, float)) and not isinstance(v, bool) and n not in _NUMERIC:
                v = str(int(v)) if float(v).is_integer() else str(v)
            item[n] = v
            origin[(key, i, n)] = (file, line, str(h))
        origin[(key, i)] = (file, line, None)
        out.append(item)
    return out


def confine_reference(ref: str, root: Path) -> tuple[Path | None, str]:
    """Resolve a table reference inside ``root``, or say why it is refused.

    The reference is taken relative to ``root`` (an absolute path is accepted only when it
    names a file inside ``root``); symbolic links are followed before the check, so a link
    inside the folder that leads out of it is refused as well. ``~`` is not expanded.

    Parameters
    ----------
    ref
        The reference as written in the scenario.
    root
        The folder references must stay inside (the scenario's own folder, or the web
        library).

    Returns
    -------
    (Path or None, str)
        The resolved path, or ``None`` and the reason it is refused.

    Examples
    --------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> confine_reference("tables/st.csv", root)[0] == root.resolve() / "tables" / "st.csv"
    True
    >>> print(*confine_reference("../st.csv", root))
    None the path leads outside the scenario's folder
    >>> print(*confine_reference("/etc/passwd", root))
    None an absolute path outside the scenario's folder
    """
    real_root = Path(root).resolve()
    if "\x00" in ref:
        return None, "the path contains a NUL character"
    given = Path(ref)
    try:
        target = (given if given.is_absolute() else real_root / given).resolve()
    except (OSError, RuntimeError, ValueError):  # symlink loops, over-long names
        return None, "the path cannot be resolved"
    if target == real_root or not target.is_relative_to(real_root):
        if given.is_absolute():
            return None, "an absolute path outside the scenario's folder"
        unresolved = Path(os.path.normpath(real_root / given))
        if unresolved.is_relative_to(real_root) and unresolved != real_root:
            return None, "a symbolic link leads outside the scenario's folder"
        return None, "the path leads outside the scenario's folder"
    return target, ""


def _reference_options(val: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, Any, str]]]:
    """The reader options of a table reference, checked: (options, [(option, value, expected)])."""
    opts: dict[str, Any] = {}
    bad: list[tuple[str, Any, str]] = []
    sheet = val.get("sheet")
    if sheet is not None:
        if isinstance(sheet, bool) or not isinstance(sheet, (str, int)):
            bad.append(("sheet", sheet, "a sheet name or a 0-based sheet number"))
        else:
            opts["sheet"] = sheet
    enc = val.get("encoding")
    if enc is not None:
        why = encoding_problem(enc)
        if why:
            bad.append(("encoding", enc, why))
        else:
            opts["encoding"] = enc
    delim = val.get("delimiter")
    if delim is not None:
        why = delimiter_problem(delim)
        if why:
            bad.append(("delimiter", delim, why))
        else:
            opts["delimiter"] = delim
    return opts, bad


def _expand_tables(data: dict[str, Any], lines: dict[tuple, int], base: Path, file: str, problems: list[Problem],
                   max_bytes: int | None) -> dict[tuple, tuple[str, int | None, str | None]]:
    """Replace compact and file-referenced tables in ``data`` by lists of mappings, in place."""
    origin: dict[tuple, tuple[str, int | None, str | None]] = {}
    for key in _TABLE_MODELS:
        val = data.get(key)
        kline = lines.get((key,))
        if isinstance(val, dict) and "file" in val:
            extra = set(val) - _REF_OPTIONS
            if extra:
                problems.append(Problem("unknown option of a table reference", file=file, line=kline, column=key,
                                        value=", ".join(sorted(map(str, extra))),
                                        expected="file, sheet, encoding, delimiter"))
            ref = val.get("file")
            if not isinstance(ref, str) or not ref.strip():
                problems.append(Problem("table reference without a file name", file=file, line=kline, column=key,
                                        value=ref, expected="file: <path of a CSV or XLSX file>"))
                data[key] = []
                continue
            fline = lines.get((key, "file"), kline)
            target, why = confine_reference(ref, base)
            if target is None:
                # checked before the file is looked at: nothing outside the folder is read,
                # and whether such a file exists is not revealed either
                problems.append(Problem(f"table reference refused: {why}", file=file, line=fline,
                                        column=f"{key}.file", value=ref,
                                        expected="a file inside the scenario's own folder (relative path, "
                                                 "no '..' above it, no symbolic link leading out)"))
                data[key] = []
                continue
            if not target.is_file():
                problems.append(Problem("referenced table file not found" if not target.exists()
                                        else "referenced table is not a file", file=file, line=fline,
                                        column=f"{key}.file", value=ref,
                                        expected="an existing file inside the scenario's own folder"))
                data[key] = []
                continue
            opts, bad_opts = _reference_options(val)
            for col, v, exp in bad_opts:
                problems.append(Problem(f"invalid table reference option {col!r}", file=file,
                                        line=lines.get((key, col), kline), column=f"{key}.{col}", value=v,
                                        expected=exp))
            if bad_opts:
                data[key] = []
                continue
            try:
                table = read_table(target, max_bytes=max_bytes, **opts)
            except InputError as exc:
                problems.extend(exc.problems)
                data[key] = []
                continue
            data[key] = _records(key, table.header, table.rows, file=table.file, header_line=table.header_line,
                                 problems=problems, origin=origin)
        elif isinstance(val, dict) and "columns" in val:
            cols, rows = val.get("columns"), val.get("rows", [])
            extra = set(val) - {"columns", "rows"}
            bad = False
            if extra:
                problems.append(Problem("unknown key of a compact table", file=file, line=kline, column=key,
                                        value=", ".join(sorted(map(str, extra))), expected="columns and rows"))
            if not isinstance(cols, list) or not all(isinstance(c, str) for c in cols):
                problems.append(Problem("columns must be a list of field names", file=file,
                                        line=lines.get((key, "columns"), kline), column=f"{key}.columns",
                                        expected="a list such as [actor, issue, position, salience]"))
                bad = True
            if not isinstance(rows, list):
                problems.append(Problem("rows must be a list of lists", file=file, line=lines.get((key, "rows"), kline),
                                        column=f"{key}.rows", expected="a list of lists"))
                bad = True
            if bad or not isinstance(cols, list) or not isinstance(rows, list):
                data[key] = []
                continue
            trows: list[tuple[int | None, list[Any]]] = []
            for i, r in enumerate(rows):
                rline = lines.get((key, "rows", i), kline)
                if not isinstance(r, list) or len(r) != len(cols):
                    problems.append(Problem(f"row has {len(r) if isinstance(r, list) else 'no'} cells",
                                            file=file, line=rline, column=f"{key}.rows.{i}",
                                            expected=f"a list of {len(cols)} cells ({', '.join(cols)})"))
                    r = []
                trows.append((rline, [None if c is None else c for c in r]))
            recs = _records(key, cols, trows, file=file, header_line=lines.get((key, "columns"), kline),
                            problems=problems, origin=origin)
            # values typed in YAML keep their type; only textual numbers were converted
            data[key] = recs
        elif isinstance(val, str) and "\n" in val.strip():
            start = (kline or 1)
            rows = split_rows(val)
            if not rows:
                data[key] = []
                continue
            (h_off, header), *body = rows
            recs = _records(key, header, [(start + off, cells) for off, cells in body], file=file,
                            header_line=start + h_off, problems=problems, origin=origin)
            data[key] = recs
    return origin


def read_yaml(path: str | Path, *, max_bytes: int | None = None, ref_dir: str | Path | None = None,
              **_: Any) -> Scenario:
    """Read a detente YAML or JSON scenario file (see the module docstring).

    Parameters
    ----------
    path
        The file (UTF-8).
    max_bytes
        Size limit for referenced table files (default: :data:`detente.formats.registry.MAX_BYTES`).
    ref_dir
        The folder table references are resolved in and must stay inside (default: the
        folder of the scenario file). The web UI validates an upload with its library here.

    Returns
    -------
    Scenario

    Raises
    ------
    InputError
        Every problem at once, located by file and line.
    """
    text = read_text(path, encodings=("utf-8-sig",))[0]
    file = str(path)
    problems: list[Problem] = []
    data, lines = parse_yaml_with_lines(text, file, problems)
    return _document_to_scenario(data, lines, path, problems, max_bytes, ref_dir)


def _document_to_scenario(data: Any, lines: dict[tuple, int], path: str | Path, problems: list[Problem],
                          max_bytes: int | None, ref_dir: str | Path | None = None) -> Scenario:
    from detente.formats.registry import MAX_BYTES

    file = str(path)
    if not isinstance(data, dict):
        raise InputError(problems + [Problem("a scenario document must be a mapping (actors:, issues:, stances: ...)",
                                             file=file, line=1, value=type(data).__name__,
                                             expected="a mapping with actors, issues and stances")])
    base = Path(ref_dir) if ref_dir is not None else Path(path).resolve().parent
    origin = _expand_tables(data, lines, base, file, problems,
                            MAX_BYTES if max_bytes is None else max_bytes)

    def locate(p: tuple) -> tuple[Any, ...]:
        for k in range(len(p), 1, -1):
            if p[:k] in origin:
                f, line, col = origin[p[:k]]
                return f, line, col or (".".join(str(x) for x in p))
        for k in range(len(p), -1, -1):
            if p[:k] in lines:
                return lines[p[:k]], ".".join(str(x) for x in p) or None
        return None, ".".join(str(x) for x in p) or None

    return build_scenario(data, file=file, locate=locate, problems=problems)


def read_json(path: str | Path, *, max_bytes: int | None = None, ref_dir: str | Path | None = None,
              **_: Any) -> Scenario:
    """Read a detente JSON scenario file (same document as the YAML form).

    JSON syntax errors are reported with their line and character; values are located
    by line as in :func:`read_yaml` (table references and compact tables work the same).

    Parameters
    ----------
    path
        The file (UTF-8).
    max_bytes
        Size limit for referenced table files.
    ref_dir
        As for :func:`read_yaml`.
    """
    text, _enc = read_text(path, encodings=("utf-8-sig",))
    surrogates = _lone_surrogates(text, str(path))
    if surrogates:
        raise InputError(surrogates)
    try:
        data = json.loads(text, parse_int=_json_int)
    except json.JSONDecodeError as exc:
        raise InputError(Problem(f"malformed JSON: {exc.msg}", file=str(path), line=exc.lineno,
                                 column=f"char {exc.colno}", expected="valid JSON")) from None
    except RecursionError:
        raise InputError(Problem("JSON nested too deeply", file=str(path), expected="a scenario document")) from None
    problems: list[Problem] = []
    try:  # JSON is YAML: the YAML parser gives the line of every value (tabs are white space in JSON only)
        _ydata, lines = parse_yaml_with_lines(text.replace("\t", "  "), str(path), problems)
    except (InputError, RecursionError):
        lines = {}
    for where, digits in _long_ints(data, ()):
        col = ".".join(str(x) for x in where) or None
        if not any(p.column == col for p in problems):  # the YAML pass did not see it
            problems.append(Problem(f"integer with {digits} digits", file=str(path), line=lines.get(where),
                                    column=col, value=f"{digits} digits",
                                    expected=f"a number of at most {MAX_INT_DIGITS} digits"))
    return _document_to_scenario(data, lines, path, problems, max_bytes, ref_dir)


class _LongInt(str):
    """The text of a JSON integer too long to convert (reported by :func:`read_json`)."""


def _json_int(text: str) -> Any:
    return _LongInt(text) if sum(c.isdigit() for c in text) > MAX_INT_DIGITS else int(text)


def _long_ints(data: Any, path: tuple) -> list[tuple[tuple, int]]:
    out: list[tuple[tuple, int]] = []
    stack = [(data, path)]
    while stack:
        d, p = stack.pop()
        if isinstance(d, _LongInt):
            out.append((p, sum(c.isdigit() for c in d)))
        elif isinstance(d, dict):
            stack.extend((v, p + (k,)) for k, v in d.items())
        elif isinstance(d, list):
            stack.extend((v, p + (i,)) for i, v in enumerate(d))
    return sorted(out, key=lambda t: str(t[0]))


_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})|\\.", re.S)


def _lone_surrogates(text: str, file: str) -> list[Problem]:
    """``\\uD800``-style escapes in JSON text that do not form a surrogate pair.

    JSON allows them, but they decode to text that is not valid Unicode (it cannot be
    written to a file or a terminal), so they are refused with their line and character.
    """
    if "\\u" not in text:
        return []
    out: list[Problem] = []
    pending: re.Match[str] | None = None  # a high surrogate waiting for its low half
    for m in _ESCAPE.finditer(text):
        code = int(m.group(1), 16) if m.group(1) else None
        is_high = code is not None and 0xD800 <= code <= 0xDBFF
        is_low = code is not None and 0xDC00 <= code <= 0xDFFF
        if pending is not None:
            if is_low and m.start() == pending.end():
                pending = None
                continue
            out.append(_surrogate_problem(text, pending, file))
            pending = None
        if is_high:
            pending = m
        elif is_low:
            out.append(_surrogate_problem(text, m, file))
    if pending is not None:
        out.append(_surrogate_problem(text, pending, file))
    return out


def _surrogate_problem(text: str, m: re.Match[str], file: str) -> Problem:
    line = text.count("\n", 0, m.start()) + 1
    char = m.start() - (text.rfind("\n", 0, m.start()) + 1) + 1
    return Problem("a lone UTF-16 surrogate escape: not valid Unicode text", file=file, line=line,
                   column=f"char {char}", value=m.group(0),
                   expected="a character escape that is valid Unicode (surrogates only in high-low pairs)")


def scenario_to_document(scenario: Scenario, *, compact: bool = False) -> dict[str, Any]:
    """The scenario as a plain document, leaving out empty optional fields.

    Parameters
    ----------
    scenario
        The scenario.
    compact
        Write the stances as a compact table (``columns`` + ``rows``).
    """
    doc = scenario.model_dump(mode="json", exclude_none=True, exclude_defaults=False)
    if compact and doc.get("stances"):
        cols = ["actor", "issue", "position", "salience"]
        if any(s.capability is not None for s in scenario.stances):
            cols.append("capability")
        doc["stances"] = {"columns": _Flow(cols),
                          "rows": [_Flow([getattr(s, c) for c in cols]) for s in scenario.stances]}
    return doc


class _Flow(list):
    """A list written in YAML flow style (``[a, b, c]``)."""


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_Flow, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True))


def write_yaml(scenario: Scenario, path: str | Path, *, compact: bool = False, **_: Any) -> None:
    """Write a scenario as detente YAML (loss-free: reading it back gives an equal scenario).

    Parameters
    ----------
    scenario
        The scenario.
    path
        Output file (UTF-8).
    compact
        Write the stances as a compact table, one row per line.
    """
    Path(path).write_text(
        yaml.dump(scenario_to_document(scenario, compact=compact), Dumper=_Dumper, sort_keys=False,
                  allow_unicode=True, width=100),
        encoding="utf-8",
    )


def write_json(scenario: Scenario, path: str | Path, **_: Any) -> None:
    """Write a scenario as JSON (same document as the YAML form)."""
    Path(path).write_text(json.dumps(scenario_to_document(scenario), indent=2, ensure_ascii=False) + "\n",
                          encoding="utf-8")
