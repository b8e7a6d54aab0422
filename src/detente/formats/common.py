"""Shared reader machinery.

* :func:`build_scenario` turns raw data plus a map of where each value came from into a
  validated :class:`~detente.scenario.Scenario`, reporting every field-level and
  cross-reference problem at once with file, line, column and value.
* :func:`read_text` decodes a text file (UTF-8, optionally Windows-1252) with a clear error
  for UTF-16, binary data or undecodable bytes.
* :func:`read_table` reads a delimited text file or an ``.xlsx`` sheet into a :class:`Table`
  whose rows remember their line (spreadsheet row) numbers.
* :func:`infer_salience_scale` and :func:`infer_bounds` implement the documented guesses
  the table formats make when the file does not say.

Examples
--------
>>> data = {"actors": [{"id": "A", "capability": -1}, {"id": "B"}, {"id": "B"}],
...         "issues": [{"id": "x"}],
...         "stances": [{"actor": "C", "issue": "x", "position": 5, "salience": 50}]}
>>> try:
...     build_scenario(data, file="s.yaml")
... except InputError as exc:
...     print(len(exc.problems))
3
"""

from __future__ import annotations

import csv
import io
import math
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from pydantic import BaseModel, ValidationError

from detente.errors import InputError, Problem
from detente.scenario import Actor, Issue, Relation, Scenario, Stance
from detente.scenario.textcells import unescape_formula

__all__ = [
    "Locator",
    "Table",
    "build_scenario",
    "read_text",
    "read_table",
    "read_csv_table",
    "read_xlsx_table",
    "parse_float",
    "infer_salience_scale",
    "infer_bounds",
    "check_size",
    "fmt_number",
    "encoding_problem",
    "delimiter_problem",
    "check_xlsx_archive",
]

#: Maps a field path such as ("stances", 3, "position") to ``(line, column name)`` in the
#: file, or to ``(file, line, column name)`` when the value came from another file (a table
#: referenced from a YAML scenario).
Locator = Callable[[tuple], "tuple[Any, ...]"]

_ITEM_MODELS: dict[str, type[BaseModel]] = {
    "actors": Actor,
    "issues": Issue,
    "stances": Stance,
    "relations": Relation,
}


def _no_loc(path: tuple) -> tuple[int | None, str | None]:
    return None, ".".join(str(p) for p in path) or None


def _expected_from(err: Mapping[str, Any]) -> str | None:
    t = err.get("type", "")
    ctx = err.get("ctx") or {}
    if t == "missing":
        return "a value"
    if t in ("float_parsing", "float_type", "int_parsing", "int_type"):
        return "a number"
    if t in ("string_type",):
        return "text"
    if t in ("list_type",):
        return "a list"
    if t in ("dict_type", "model_type", "model_attributes_type"):
        return "a mapping"
    if t == "string_too_short":
        return "a non-empty text"
    if t == "greater_than_equal":
        return f"a number >= {_g(ctx.get('ge'))}"
    if t == "less_than_equal":
        return f"a number <= {_g(ctx.get('le'))}"
    if t == "extra_forbidden":
        return "no such field"
    if t == "literal_error":
        return ctx.get("expected")
    return None


def _g(x: Any) -> str:
    return f"{x:g}" if isinstance(x, (int, float)) else str(x)


def _locate(loc: Locator, path: tuple, default_file: str | None) -> tuple[str | None, int | None, str | None]:
    found = loc(path)
    if len(found) == 3:
        f, line, col = found
        return (str(f) if f is not None else default_file), line, col
    line, col = found
    return default_file, line, col


def _pydantic_problems(exc: ValidationError, prefix: tuple, loc: Locator, fname: str | None) -> list[Problem]:
    out: list[Problem] = []
    for e in exc.errors():
        path = prefix + tuple(e["loc"])
        f, line, col = _locate(loc, path, fname)
        val = e.get("input")
        if isinstance(val, (dict, list, BaseModel)):
            val = None
        msg = e["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        if e.get("type") == "extra_forbidden":
            msg = f"unknown field {str(path[-1])!r}"
        out.append(Problem(message=msg, file=f, line=line, column=col, value=val, expected=_expected_from(e)))
    return out


def build_scenario(
    data: dict[str, Any],
    *,
    file: str | Path | None = None,
    locate: Locator | None = None,
    problems: Iterable[Problem] = (),
) -> Scenario:
    """Validate ``data`` into a :class:`Scenario`, reporting every problem at once.

    Each actor, issue, stance and relation is validated on its own, so that a field-level
    error in one item (a negative capability, a text where a number belongs) does not hide
    the errors of the others nor the cross-reference problems (unknown actor or issue,
    duplicates, positions outside the issue's bounds). Cross-reference checks that would
    only repeat an item's own error are left out (a stance on an issue that failed to
    validate is not reported as naming an "unknown issue").

    Parameters
    ----------
    data
        The scenario as plain data (what :meth:`Scenario.model_validate` accepts).
    file
        Name of the file the data came from (used in the problems).
    locate
        Maps a field path such as ``("stances", 3, "position")`` to ``(line, column)`` or
        ``(file, line, column)``.
    problems
        Problems the reader already found; they are reported together with the others,
        sorted by file and line.

    Returns
    -------
    Scenario
        The validated scenario.

    Raises
    ------
    InputError
        Listing every problem (file, line, column, value, expected).

    Examples
    --------
    >>> s = build_scenario({"actors": [{"id": "A"}], "issues": [{"id": "x"}],
    ...                     "stances": [{"actor": "A", "issue": "x", "position": 1, "salience": 1}]})
    >>> s.actor_ids
    ['A']
    """
    loc = locate or _no_loc
    fname = str(file) if file is not None else None
    out: list[Problem] = list(problems)
    # a value the reader already refused (a base-60 number, an over-long integer) is not
    # reported a second time by the field validation
    refused = {(p.file, p.line, p.column) for p in out if p.line is not None and p.column}
    if not isinstance(data, dict):
        out.append(Problem("a scenario must be a mapping", file=fname, value=type(data).__name__,
                           expected="a mapping with actors, issues, stances"))
        raise InputError(_sorted(out))

    top: dict[str, Any] = dict(data)
    index_map: dict[str, list[int]] = {}
    bad_ids: dict[str, set[str]] = {"actors": set(), "issues": set()}
    dropped: dict[str, int] = {}
    for key, model in _ITEM_MODELS.items():
        items = data.get(key)
        if not isinstance(items, list):
            continue  # missing (default) or wrong type: left to the top-level validation
        good: list[Any] = []
        kept: list[int] = []
        for i, item in enumerate(items):
            try:
                good.append(model.model_validate(item))
                kept.append(i)
            except ValidationError as exc:
                out.extend(p for p in _pydantic_problems(exc, (key, i), loc, fname)
                           if (p.file, p.line, p.column) not in refused)
                dropped[key] = dropped.get(key, 0) + 1
                if key in bad_ids and isinstance(item, dict) and isinstance(item.get("id"), str):
                    bad_ids[key].add(item["id"])
        top[key] = good
        index_map[key] = kept

    failed_top: set[str] = set()
    scn: Scenario | None = None
    for _attempt in range(3):
        try:
            scn = Scenario.model_validate(top, context={"defer_cross_checks": True})
            break
        except ValidationError as exc:
            errs = exc.errors()
            out.extend(p for p in _pydantic_problems(exc, (), loc, fname)
                       if (p.file, p.line, p.column) not in refused)
            for e in errs:
                if e["loc"]:
                    k = str(e["loc"][0])
                    failed_top.add(k)
                    top.pop(k, None)
            if not any(e["loc"] for e in errs):
                break
    if scn is not None:
        for p in scn.problems():
            path = p.path
            if path and path[0] in index_map and len(path) > 1 and isinstance(path[1], int):
                path = (path[0], index_map[path[0]][path[1]]) + tuple(path[2:])
            if path == ("actors",) and (dropped.get("actors") or "actors" in failed_top):
                continue  # actors exist but are invalid: already reported
            if p.message == "unknown actor" and "actors" in failed_top:
                continue
            if p.message == "unknown issue" and "issues" in failed_top:
                continue
            if path[-1:] == ("salience",) and "salience_scale" in failed_top:
                continue
            if p.message == "unknown actor" and p.value in bad_ids["actors"]:
                continue
            if p.message == "unknown issue" and p.value in bad_ids["issues"]:
                continue
            f, line, col = _locate(loc, path, fname)
            value = fmt_number(p.value) if isinstance(p.value, float) and math.isfinite(p.value) else p.value
            out.append(Problem(message=p.message, file=f, line=line, column=col, value=value, expected=p.expected))
    # references held by items that failed their own validation are still checked
    known = {"actor": {a.id for a in top.get("actors", []) if isinstance(a, Actor)} | bad_ids["actors"],
             "issue": {i.id for i in top.get("issues", []) if isinstance(i, Issue)} | bad_ids["issues"]}
    refs = {"stances": (("actor", "actor"), ("issue", "issue")),
            "relations": (("source", "actor"), ("target", "actor"))}
    for key, pairs in refs.items():
        items = data.get(key)
        if not isinstance(items, list) or key in failed_top or scn is None:
            continue
        kept_rows = set(index_map.get(key, ()))
        for i, item in enumerate(items):
            if i in kept_rows or not isinstance(item, dict):
                continue
            for fld, kind in pairs:
                v = item.get(fld)
                if isinstance(v, str) and v and v not in known[kind] and f"{kind}s" not in failed_top:
                    f, line, col = _locate(loc, (key, i, fld), fname)
                    out.append(Problem(f"unknown {kind}", file=f, line=line, column=col, value=v,
                                       expected=f"one of the declared {kind}s"))
    if out:
        raise InputError(_sorted(out))
    assert scn is not None
    return scn


def _sorted(problems: list[Problem]) -> list[Problem]:
    # stable: problems without a line keep their place after the located ones of their file
    return sorted(problems, key=lambda p: (p.file or "", p.line if p.line is not None else math.inf))


# --------------------------------------------------------------------------- text
def encoding_problem(encoding: Any) -> str | None:
    """``None`` when ``encoding`` names a Python text codec, else what was expected.

    Examples
    --------
    >>> encoding_problem("cp1252") is None, encoding_problem("no-such-codec")
    (True, 'a known text encoding such as utf-8, cp1252 or latin-1')
    """
    import codecs

    expected = "a known text encoding such as utf-8, cp1252 or latin-1"
    if not isinstance(encoding, str) or not encoding.strip() or "\x00" in encoding:
        return expected
    try:
        info = codecs.lookup(encoding)
    except LookupError:
        return expected
    if not getattr(info, "_is_text_encoding", True):  # bytes-to-bytes codecs such as zlib_codec
        return expected
    return None


def delimiter_problem(delimiter: Any) -> str | None:
    """``None`` for a usable field delimiter (one character, not a quote or line break).

    Examples
    --------
    >>> delimiter_problem(";") is None, delimiter_problem(";;")
    (True, 'one character such as , ; or a tab (not a quote or a line break)')
    """
    if (isinstance(delimiter, str) and len(delimiter) == 1 and delimiter not in "\"\r\n"
            and delimiter != "\x00"):
        return None
    return "one character such as , ; or a tab (not a quote or a line break)"


def check_size(path: str | Path, max_bytes: int) -> None:
    """Refuse a file larger than ``max_bytes`` before reading it.

    Raises
    ------
    InputError
        When the file is too large (nothing is read).
    """
    size = Path(path).stat().st_size
    if size > max_bytes:
        raise InputError(Problem(f"file too large ({size / 1e6:.1f} MB); the limit is {max_bytes / 1e6:.1f} MB",
                                 file=str(path), expected="a smaller file, or a larger max_bytes"))


def read_text(path: str | Path, *, encodings: tuple[str, ...] = ("utf-8-sig", "cp1252")) -> tuple[str, str]:
    """Read a text file trying each encoding in turn.

    Parameters
    ----------
    path
        The file.
    encodings
        Encodings to try, in order (Python codec names).

    Returns
    -------
    (str, str)
        The text (in Unicode NFC form) and the encoding that decoded it.

    Raises
    ------
    InputError
        For UTF-16/UTF-32 files, binary data (NUL bytes) or, if no encoding fits, naming
        the line and column of the first undecodable byte.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "t.csv")
    >>> _ = open(p, "wb").write("Größe".encode("cp1252"))
    >>> read_text(p)
    ('Größe', 'cp1252')
    """
    for enc in encodings:
        why = encoding_problem(enc)
        if why:
            raise InputError(Problem("unknown text encoding", file=str(path), column="encoding", value=enc,
                                     expected=why))
    raw = Path(path).read_bytes()
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise InputError(Problem("the file is UTF-16 (or UTF-32) encoded", file=str(path), line=1,
                                 expected="a text file encoded as " + " or ".join(_enc_names(encodings))))
    if b"\x00" in raw[:65536]:
        pos = raw.index(b"\x00")
        line = raw.count(b"\n", 0, pos) + 1
        raise InputError(Problem("binary file or unsupported encoding (NUL bytes found)", file=str(path), line=line,
                                 expected="a text file encoded as " + " or ".join(_enc_names(encodings))))
    first_err: UnicodeDecodeError | None = None
    for enc in encodings:
        try:
            # NFC: a name typed with a combining accent and with a precomposed one is one name
            # (the readers group rows by name before the scenario model normalises its ids)
            return unicodedata.normalize("NFC", raw.decode(enc)), enc
        except UnicodeDecodeError as exc:
            first_err = first_err or exc
        except (UnicodeError, ValueError, TypeError) as exc:  # codecs that fail in other ways (idna, ...)
            raise InputError(Problem(f"cannot decode the file as {enc} ({type(exc).__name__})", file=str(path),
                                     column="encoding", value=enc,
                                     expected="text encoded as " + " or ".join(_enc_names(encodings)))) from None
    assert first_err is not None
    pos = first_err.start
    line = raw.count(b"\n", 0, pos) + 1
    col = pos - (raw.rfind(b"\n", 0, pos) + 1) + 1
    raise InputError(Problem(f"cannot decode byte 0x{raw[pos]:02x} at character {col}", file=str(path), line=line,
                             value=repr(raw[max(0, pos - 10):pos + 10]),
                             expected="text encoded as " + " or ".join(_enc_names(encodings))))


def _enc_names(encodings: Sequence[str]) -> list[str]:
    names = {"utf-8-sig": "UTF-8", "utf-8": "UTF-8", "cp1252": "Windows-1252", "latin-1": "Latin-1"}
    out: list[str] = []
    for e in encodings:
        n = names.get(e.lower(), e)
        if n not in out:
            out.append(n)
    return out


# --------------------------------------------------------------------------- tables
@dataclass
class Table:
    """Rows of a delimited text file or spreadsheet sheet, with their line numbers.

    ``header`` holds the header cells as written; ``rows`` pairs each data row's 1-based
    line (spreadsheet row) with its cells (text, number or ``None`` for empty cells).
    Completely empty rows are left out.
    """

    file: str
    header: list[str]
    rows: list[tuple[int, list[Any]]]
    header_line: int = 1
    sheet: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    notes: dict[str, Any] = field(default_factory=dict)

    def columns(self, aliases: Mapping[str, Sequence[str]], *, required: Sequence[str] = ()) -> dict[str, int]:
        """Map canonical column names to header indices, case- and space-insensitively.

        Parameters
        ----------
        aliases
            canonical name -> accepted header spellings (lower case).
        required
            Canonical names that must be present.

        Raises
        ------
        InputError
            Naming every missing required column and every column given twice.
        """
        norm = [_norm_header(h) for h in self.header]
        found: dict[str, int] = {}
        problems: list[Problem] = []
        for canon, names in aliases.items():
            accepted = {_norm_header(n) for n in (canon, *names)}
            hits = [i for i, h in enumerate(norm) if h in accepted]
            if len(hits) > 1:
                problems.append(Problem(f"column {canon!r} appears more than once", file=self.file,
                                        line=self.header_line, column=self.header[hits[1]],
                                        expected="each column once"))
            if hits:
                found[canon] = hits[0]
        for canon in required:
            if canon not in found:
                spellings = ", ".join(repr(n) for n in (canon, *aliases.get(canon, ())))
                problems.append(Problem(f"missing column {canon!r}", file=self.file, line=self.header_line,
                                        value=",".join(self.header), expected=f"a column named {spellings}"))
        if problems:
            raise InputError(problems)
        return found

    def unknown_columns(self, known: dict[str, int]) -> list[str]:
        used = set(known.values())
        return [h for i, h in enumerate(self.header) if i not in used and str(h).strip()]


def _norm_header(h: Any) -> str:
    return " ".join(str(h if h is not None else "").replace("_", " ").split()).lower()


def read_table(path: str | Path, *, sheet: str | int | None = None, encoding: str | None = None,
               delimiter: str | None = None, max_bytes: int | None = None) -> Table:
    """Read a CSV/TSV/TXT file or an XLSX sheet into a :class:`Table` (header = first row).

    Parameters
    ----------
    path
        The file; ``.xlsx``/``.xlsm`` files are read with openpyxl, everything else as text.
    sheet
        Sheet name or 0-based index for spreadsheets (default: the first sheet).
    encoding
        Text encoding (default: UTF-8, then Windows-1252).
    delimiter
        Field delimiter (default: guessed from the header among ``,`` ``;`` tab).
    max_bytes
        Refuse larger files.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(Problem("file not found" if not p.exists() else "not a regular file", file=str(path)))
    if max_bytes is not None:
        check_size(p, max_bytes)
    if p.suffix.lower() in (".xlsx", ".xlsm"):
        return read_xlsx_table(p, sheet=sheet)
    return read_csv_table(p, encoding=encoding, delimiter=delimiter)


def read_csv_table(path: str | Path, *, encoding: str | None = None, delimiter: str | None = None) -> Table:
    """Read a delimited text file; see :func:`read_table`.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "t.csv")
    >>> _ = open(p, "w").write("a;b\\n1;2\\n\\n3;4\\n")
    >>> t = read_csv_table(p)
    >>> t.header, t.rows
    (['a', 'b'], [(2, ['1', '2']), (4, ['3', '4'])])
    """
    if delimiter is not None and delimiter_problem(delimiter):
        raise InputError(Problem("invalid field delimiter", file=str(path), column="delimiter", value=delimiter,
                                 expected=delimiter_problem(delimiter)))
    text, enc = read_text(path, encodings=(encoding,) if encoding else ("utf-8-sig", "cp1252"))
    rows = split_rows(text, delimiter=delimiter, formula_escapes=True)
    if not rows:
        raise InputError(Problem("no rows in the file", file=str(path), expected="a header row and data rows"))
    (hline, header), *data = rows
    return Table(file=str(path), header=[h.strip() for h in header], rows=data, header_line=hline,
                 encoding=enc, delimiter=delimiter or guess_delimiter(text))


def guess_delimiter(text: str, candidates: str = ",;\t") -> str:
    """The candidate delimiter occurring most often in the first non-empty line (default ``,``)."""
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    counts = {d: first.count(d) for d in candidates}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def split_rows(text: str, *, delimiter: str | None = None, quotechar: str = '"',
               skipinitialspace: bool = True, formula_escapes: bool = False) -> list[tuple[int, list[str]]]:
    """Split delimited text into ``(line, cells)`` pairs, skipping empty lines.

    Cells are stripped of surrounding white space; the line is the 1-based line on which
    the row starts. With ``formula_escapes`` the apostrophe detente's CSV writers put in
    front of formula-like text is removed (:func:`detente.scenario.textcells.unescape_formula`).
    """
    d = delimiter or guess_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=d, quotechar=quotechar,
                        skipinitialspace=skipinitialspace, strict=False)
    out: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for cells in reader:
            line = start
            start = reader.line_num + 1
            cells = [c.strip() for c in cells]
            if not any(cells):
                continue
            if formula_escapes:
                cells = [unescape_formula(c) for c in cells]
            out.append((line, cells))
    except csv.Error as exc:  # pragma: no cover - strict=False makes this rare
        raise InputError(Problem(f"malformed delimited text: {exc}", line=reader.line_num)) from None
    return out


#: A workbook whose parts expand to more than this many bytes is refused (a "zip bomb").
XLSX_MAX_EXPANDED = 256 * 1024 * 1024

_DTD_MARKS = tuple(m.encode(enc) for m in ("<!DOCTYPE", "<!ENTITY")
                   for enc in ("utf-8", "utf-16-le", "utf-16-be"))


def check_xlsx_archive(path: str | Path | IO[bytes]) -> None:
    """Refuse a workbook that is unsafe or damaged before openpyxl parses it.

    Every part of the archive is decompressed once (checking its CRC) and its XML parts are
    searched for a document type declaration: an ``.xlsx`` never needs one, and a DTD is
    how entity-expansion and external-entity attacks get into an XML parser. Parts that
    expand beyond :data:`XLSX_MAX_EXPANDED` in total are refused as well.

    Raises
    ------
    InputError
        Naming the part and what is wrong with it.
    """
    import zipfile
    import zlib

    file = str(path)

    def refuse(msg: str, part: str | None = None) -> InputError:
        return InputError(Problem(msg, file=file, column=part, expected="an Excel .xlsx file"))

    total = 0
    try:
        with zipfile.ZipFile(path) as z:
            for info in z.infolist():
                if info.is_dir():
                    continue
                xml_like = info.filename.lower().endswith((".xml", ".rels", ".vml"))
                carry = b""
                with z.open(info) as fh:
                    while True:
                        chunk = fh.read(1 << 20)
                        if not chunk:
                            break
                        total += len(chunk)
                        if total > XLSX_MAX_EXPANDED:
                            raise refuse(f"the workbook expands to more than {XLSX_MAX_EXPANDED >> 20} MB "
                                         "(a compressed bomb?)", info.filename)
                        if xml_like:
                            window = carry + chunk
                            if any(m in window for m in _DTD_MARKS):
                                raise refuse("the workbook's XML contains a document type declaration "
                                             "(DTD) or entity declaration, refused for safety", info.filename)
                            carry = window[-20:]
    except InputError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError) as exc:
        raise refuse(f"not a readable .xlsx workbook: the archive is damaged ({_short(exc)})") from None
    except (NotImplementedError, RuntimeError) as exc:  # unsupported compression, encryption
        raise refuse(f"not a readable .xlsx workbook ({_short(exc)})") from None
    except (OSError, ValueError, KeyError) as exc:
        raise refuse(f"not a readable .xlsx workbook ({type(exc).__name__}: {_short(exc)})") from None


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."


def read_xlsx_table(path: str | Path, *, sheet: str | int | None = None) -> Table:
    """Read one sheet of an ``.xlsx`` workbook; see :func:`read_table`.

    The archive is checked first (:func:`check_xlsx_archive`: no DTD, no damaged or
    over-large parts); anything else openpyxl cannot read is reported as a problem too.
    """
    import zipfile
    import zlib
    from xml.etree.ElementTree import ParseError

    import openpyxl

    file = str(path)
    check_xlsx_archive(path)
    unreadable = (zipfile.BadZipFile, zlib.error, EOFError, KeyError, OSError, ValueError, TypeError,
                  AttributeError, IndexError, ParseError, UnicodeError, OverflowError)
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except unreadable as exc:
        raise InputError(Problem(f"not a readable .xlsx workbook ({type(exc).__name__})", file=file,
                                 expected="an Excel .xlsx file")) from None
    try:
        names = wb.sheetnames
        if not names:
            raise InputError(Problem("the workbook has no sheet", file=file, expected="an Excel .xlsx file"))
        if sheet is None:
            ws = wb[names[0]]
        elif isinstance(sheet, int):
            if not 0 <= sheet < len(names):
                raise InputError(Problem("no such sheet", file=file, value=sheet,
                                         expected=f"a sheet index in 0..{len(names) - 1}"))
            ws = wb[names[sheet]]
        else:
            if sheet not in names:
                raise InputError(Problem("no such sheet", file=file, value=sheet,
                                         expected="one of " + ", ".join(repr(n) for n in names)))
            ws = wb[sheet]
        rows: list[tuple[int, list[Any]]] = []
        for r, values in enumerate(ws.iter_rows(values_only=True), start=1):
            cells = [unicodedata.normalize("NFC", v.strip()) if isinstance(v, str) else v for v in values]
            cells = [None if c == "" else c for c in cells]
            if all(c is None for c in cells):
                continue
            rows.append((r, cells))
        title = ws.title
    except InputError:
        raise
    except unreadable as exc:
        raise InputError(Problem(f"not a readable .xlsx workbook ({type(exc).__name__}: {_short(exc)})",
                                 file=file, expected="an Excel .xlsx file")) from None
    finally:
        wb.close()
    if not rows:
        raise InputError(Problem("the sheet is empty", file=file, column=None, value=title,
                                 expected="a header row and data rows"))
    (hline, header), *data = rows
    while header and header[-1] is None:
        header = header[:-1]
    return Table(file=file, header=["" if h is None else str(h).strip() for h in header], rows=data,
                 header_line=hline, sheet=title)


# --------------------------------------------------------------------------- values
def parse_float(cell: Any, *, file: str | None, line: int | None, column: str | None,
                problems: list[Problem], required: bool = True, what: str | None = None) -> float | None:
    """Convert a cell to a finite float, appending a :class:`Problem` instead of raising.

    Empty cells give ``None`` (and a "missing value" problem when ``required``).

    Examples
    --------
    >>> errs = []
    >>> parse_float(" 2.5 ", file="f", line=2, column="x", problems=errs)
    2.5
    >>> parse_float("nan", file="f", line=3, column="x", problems=errs) is None
    True
    >>> print(errs[0])
    f:3: column 'x': value 'nan': not a finite number (expected a finite number)
    """
    name = what or column or "value"
    if cell is None or (isinstance(cell, str) and not cell.strip()):
        if required:
            problems.append(Problem(f"missing {name}", file=file, line=line, column=column, expected="a number"))
        return None
    if isinstance(cell, bool):
        problems.append(Problem("not a number", file=file, line=line, column=column, value=cell, expected="a number"))
        return None
    if isinstance(cell, (int, float)):
        x = float(cell)
    else:
        try:
            x = float(str(cell).strip())
        except ValueError:
            problems.append(Problem("not a number", file=file, line=line, column=column, value=str(cell),
                                    expected="a number"))
            return None
    if not math.isfinite(x):
        problems.append(Problem("not a finite number", file=file, line=line, column=column, value=str(cell),
                                expected="a finite number"))
        return None
    return x


def infer_salience_scale(saliences: Iterable[float | None]) -> str:
    """``"unit"`` when every salience is at most 1, else ``"percent"``.

    Examples
    --------
    >>> infer_salience_scale([0.2, 1.0]), infer_salience_scale([0.5, 40])
    ('unit', 'percent')
    """
    vals = [s for s in saliences if s is not None]
    return "unit" if vals and all(s <= 1.0 for s in vals) else "percent"


def infer_bounds(positions: Iterable[float | None]) -> tuple[float, float]:
    """Default issue bounds: the smallest and largest position.

    When all positions are equal (or there are none) a unit-wide interval is used:
    ``[0, 100]`` when the common position lies in it, else ``[x - 0.5, x + 0.5]``.

    Examples
    --------
    >>> infer_bounds([4, 10, 7]), infer_bounds([3, 3]), infer_bounds([250.0])
    ((4.0, 10.0), (0.0, 100.0), (249.5, 250.5))
    """
    vals = [float(x) for x in positions if x is not None]
    if not vals:
        return 0.0, 100.0
    lo, hi = min(vals), max(vals)
    if lo < hi:
        return lo, hi
    if 0.0 <= lo <= 100.0:
        return 0.0, 100.0
    return lo - 0.5, lo + 0.5


def fmt_number(x: float) -> str:
    """Shortest text that reads back as the same float (integers without ``.0``).

    Examples
    --------
    >>> fmt_number(4.0), fmt_number(0.1), fmt_number(1e-20)
    ('4', '0.1', '1e-20')
    """
    if float(x).is_integer() and abs(x) < 1e16:
        return str(int(x))
    return repr(float(x))
