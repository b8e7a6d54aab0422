"""Dispatch of readers and writers by format name, extension and content."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from detente.errors import InputError, Problem
from detente.scenario import Scenario

__all__ = ["FORMATS", "EXTENSIONS", "load", "save", "sniff_format", "MAX_BYTES"]

#: Files larger than this are refused before reading (override with ``max_bytes``).
MAX_BYTES = 20 * 1024 * 1024

# format name -> (reader "module:function" or None, writer "module:function" or None)
FORMATS: dict[str, tuple[str | None, str | None]] = {
    "yaml": ("detente.formats.yamlfmt:read_yaml", "detente.formats.yamlfmt:write_yaml"),
    "json": ("detente.formats.yamlfmt:read_json", "detente.formats.yamlfmt:write_json"),
    "deu": ("detente.formats.deu:read_deu", None),
    # long table, one row per actor x issue (formats/longtable.py)
    "csv": ("detente.formats.longtable:read_long_csv", "detente.formats.longtable:write_long_csv"),
    "xlsx": ("detente.formats.longtable:read_long_xlsx", "detente.formats.longtable:write_long_xlsx"),
    # 4-column BDM / Predictioneer table Actor,Capability,Position,Salience (formats/bdmtable.py)
    "bdm": ("detente.formats.bdmtable:read_bdm_csv", "detente.formats.bdmtable:write_bdm_csv"),
    "bdm_xlsx": ("detente.formats.bdmtable:read_bdm_xlsx", None),
    # KTAB SMP CSV (formats/ktab_csv.py)
    "ktab_csv": ("detente.formats.ktab_csv:read_ktab_csv", "detente.formats.ktab_csv:write_ktab_csv"),
    # KTAB SMP XML, with model parameters and ideal adjustments (formats/ktab_xml.py)
    "ktab_xml": ("detente.formats.ktab_xml:read_ktab_xml", None),
    # Decide #A/#P/#M/#D files (formats/decide.py)
    "decide": ("detente.formats.decide:read_decide", "detente.formats.decide:write_decide"),
}

#: Extension -> format used when the content does not decide (writers use only this).
EXTENSIONS: dict[str, str] = {
    ".yaml": "yaml", ".yml": "yaml", ".json": "json",
    ".csv": "csv", ".tsv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx",
    ".xml": "ktab_xml", ".dec": "decide",
}

#: Bytes read from the start of a text file to guess its format.
_SNIFF_BYTES = 64 * 1024


def _fn(loc: str) -> Callable[..., Any]:
    mod, attr = loc.split(":")
    return getattr(importlib.import_module(mod), attr)


def sniff_format(path: str | Path, *, for_writing: bool = False, sheet: str | int | None = None) -> str:
    """Guess a file's format from its extension and, for existing text tables, its content.

    Text tables (``.csv``, ``.tsv``, ``.txt`` or no extension) are told apart by their
    first lines: Decide files start with a ``#A``/``#P``/``#M``/``#D``/``#O``/``#/`` row
    (quoted or not), KTAB SMP CSV files have ``name, description, N, K`` on line 1 and a
    header starting with ``Actor`` on line 2, long tables have an ``issue`` column and
    4-column BDM tables have actor, capability, position and salience columns only.
    Spreadsheets are long tables when their first sheet has an ``issue`` column, else
    BDM tables.

    Parameters
    ----------
    path
        The file (need not exist when ``for_writing``).
    for_writing
        Decide from the extension only.
    sheet
        The spreadsheet sheet that will be read (default: the first).

    Returns
    -------
    str
        A key of :data:`FORMATS`.

    Raises
    ------
    InputError
        When the type cannot be recognised.

    Examples
    --------
    >>> sniff_format("out.yaml"), sniff_format("out.csv", for_writing=True)
    ('yaml', 'csv')
    """
    p = Path(path)
    ext = p.suffix.lower()
    fmt = EXTENSIONS.get(ext)
    if not for_writing and p.is_file():
        if ext in ("", ".csv", ".tsv", ".txt", ".dat", ".dec"):
            fmt = _sniff_text(p) or fmt
        elif ext in (".xlsx", ".xlsm"):
            fmt = _sniff_xlsx(p, sheet) or fmt
    if fmt is None or fmt not in FORMATS:
        raise InputError(Problem("unrecognised file type", file=str(path), value=ext or p.name,
                                 expected="a file of one of the formats " + ", ".join(sorted(FORMATS))
                                 + " (or name the format explicitly)"))
    return fmt


def _sniff_text(p: Path) -> str | None:
    with open(p, "rb") as fh:
        raw = fh.read(_SNIFF_BYTES)
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in raw:
        return None  # let the reader explain the encoding problem
    text = raw.decode("utf-8", errors="replace").lstrip("\ufeff")
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        return None
    first = lines[0].strip()
    tag = first.lstrip("'\"")[:2]
    if tag in ("#A", "#P", "#M", "#D", "#O", "#/"):
        return "decide"
    import csv

    cells = [c.strip().strip('"').strip() for c in next(csv.reader([first], skipinitialspace=True), [])]
    if len(lines) > 1 and len(cells) >= 4 and all(_is_int(c) for c in cells[2:4]):
        if lines[1].split(",")[0].strip().strip('"').strip().lower() == "actor":
            return "ktab_csv"
    from detente.formats.common import guess_delimiter

    header = [" ".join(c.strip().strip('"').replace("_", " ").split()).lower()
              for c in first.split(guess_delimiter(first))]
    if "issue" in header or "issue id" in header or "dimension" in header:
        return "csv"
    if any(h in header for h in ("actor", "stakeholder", "player")) and "position" in header:
        return "bdm"
    return None


def _sniff_xlsx(p: Path, sheet: str | int | None = None) -> str | None:
    try:
        from detente.formats.common import read_xlsx_table

        header = [" ".join(h.replace("_", " ").split()).lower() for h in read_xlsx_table(p, sheet=sheet).header]
    except (InputError, Exception):  # noqa: BLE001 - the reader reports the real problem
        return None
    if "issue" in header or "issue id" in header or "dimension" in header:
        return "xlsx"
    return "bdm_xlsx"


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


def load(path: str | Path, *, format: str | None = None, max_bytes: int = MAX_BYTES, **options: Any) -> Scenario:
    """Read a scenario from ``path``.

    Parameters
    ----------
    path
        The file.
    format
        Force a format (see :data:`FORMATS`); guessed from the file otherwise.
    max_bytes
        Refuse larger files with a clear error instead of reading them.

    Raises
    ------
    InputError
        Listing every problem found in the file.
    """
    p = Path(path)
    if not p.exists():
        raise InputError(Problem("file not found", file=str(path)))
    if p.is_dir():
        raise InputError(Problem("is a directory, not a file", file=str(path)))
    size = p.stat().st_size
    if size > max_bytes:
        raise InputError(Problem(f"file too large ({size / 1e6:.1f} MB); the limit is {max_bytes / 1e6:.1f} MB",
                                 file=str(path), expected="a smaller file, or a larger max_bytes"))
    if size == 0:
        raise InputError(Problem("file is empty", file=str(path), expected="a scenario"))
    fmt = format or sniff_format(p, sheet=options.get("sheet"))
    loc = FORMATS[fmt][0] if fmt in FORMATS else None
    if loc is None:
        raise InputError(Problem("no reader for this format", file=str(path), value=fmt,
                                 expected=", ".join(k for k, v in FORMATS.items() if v[0])))
    reader = _fn(loc)
    if "max_bytes" not in options and _accepts(reader, "max_bytes"):
        options["max_bytes"] = max_bytes  # readers that open further files (YAML table references)
    return reader(p, **options)


def _accepts(fn: Callable[..., Any], name: str) -> bool:
    import inspect

    try:
        return name in inspect.signature(fn).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins
        return False


def save(scenario: Scenario, path: str | Path, *, format: str | None = None, **options: Any) -> Path:
    """Write ``scenario`` to ``path`` in the format named or implied by the extension."""
    p = Path(path)
    fmt = format or sniff_format(p, for_writing=True)
    loc = FORMATS[fmt][1] if fmt in FORMATS else None
    if loc is None:
        raise InputError(Problem("no writer for this format", file=str(path), value=fmt,
                                 expected=", ".join(k for k, v in FORMATS.items() if v[1])))
    try:
        _fn(loc)(scenario, p, **options)
    except InputError as exc:  # what the format cannot hold: name the output file
        raise InputError(exc.problems, file=str(path)) from None
    return p
