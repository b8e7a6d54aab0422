"""Export a stored run's rows to CSV, Parquet, XLSX, Stata ``.dta`` or Feather.

Sweeps export their Parquet parts (all chunks, ordered by run); single forecasts export a
long table ``issue, round, actor, kind, value`` (:meth:`RunResult.to_df`).

Names that a spreadsheet would run as a formula (actors or issues starting with ``=``,
``+``, ``-``, ``@``, tab or CR) are written as text cells to XLSX and with an apostrophe in
front to CSV, the rule of :mod:`detente.scenario.textcells` (detente's CSV readers remove
it again; Parquet keeps every value as it is).

Stata and Feather files are read next to Python in Stata and R, so their column names are made
names both accept (:func:`portable_names`: ASCII letters, digits and ``_``, starting with a
letter, at most 32 characters, no reserved word, unique); the original name of a renamed column
is kept in the file (Stata: the variable label; Feather: the schema metadata
``detente.original_names``) and returned by :func:`export_run_detail` (``runs export --json``:
``columns``). CSV, Parquet and XLSX keep the names as they are.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

from detente.errors import InputError, Problem
from detente.scenario.textcells import escape_formula, save_workbook, xlsx_row

__all__ = ["export_run", "export_run_detail", "ExportResult", "run_table", "escape_text_cells", "portable_names",
           "FORMATS", "XLSX_MAX_ROWS", "NAME_MAX"]

#: Export formats (``detente runs export --format``) and their file extensions.
FORMATS = {"csv": "csv", "parquet": "parquet", "xlsx": "xlsx", "dta": "dta", "feather": "feather"}

#: Excel's sheet limit (rows, header included).
XLSX_MAX_ROWS = 1_048_576

#: Longest variable name Stata accepts (R has no limit); :func:`portable_names` keeps to it.
NAME_MAX = 32

#: Words that cannot name a variable in Stata (its reserved names) or a syntactic name in R
#: (``?Reserved``), compared in lower case; such a name gets a trailing ``_``.
RESERVED = frozenset({
    # Stata
    "_all", "_b", "byte", "_coef", "_cons", "double", "float", "if", "in", "int", "long", "_n", "_pi", "_pred",
    "_rc", "_skip", "str", "strl", "using", "with",
    # R
    "else", "repeat", "while", "function", "for", "next", "break", "true", "false", "null", "inf", "nan", "na",
    "na_integer_", "na_real_", "na_complex_", "na_character_",
})


class ExportResult(NamedTuple):
    """What :func:`export_run_detail` wrote."""

    path: Path
    rows: int
    #: original column name -> name in the file, for every column whose name had to change
    columns: dict[str, str]


def portable_names(names: list[str]) -> dict[str, str]:
    """A name for each column that Stata and R both accept, as ``{original: new}`` (every column).

    The rule, in order: letters are reduced to ASCII (``é`` -> ``e``, NFKD without the accents);
    every run of other characters than ``A-Za-z0-9_`` becomes one ``_`` and ``_`` at either end
    goes (``position[DE/tariff]`` -> ``position_DE_tariff``); a name that is then empty or does
    not start with a letter gets ``v_`` in front; a reserved word (:data:`RESERVED`) gets ``_``
    behind; the name is cut to :data:`NAME_MAX` characters; a name already taken gets ``_2``,
    ``_3``, ... (cut so that it still fits). A name that is already valid is left as it is, and
    the renamed ones make way for it.

    >>> portable_names(["run", "salience[DE]", "1st", "if", "x" * 40])["salience[DE]"]
    'salience_DE'
    >>> list(portable_names(["a b", "a_b", "a-b"]).values())
    ['a_b_2', 'a_b', 'a_b_3']
    """
    import re
    import unicodedata

    def valid(s: str) -> bool:
        return bool(re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", s)) and len(s) <= NAME_MAX and s.lower() not in RESERVED

    out: dict[str, str] = {}
    taken: set[str] = set()
    for name in names:                     # valid names first: they never change
        if valid(str(name)) and name not in taken:
            out[name] = str(name)
            taken.add(str(name))
    for name in names:
        if name in out:
            continue
        s = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode("ascii")
        s = re.sub(r"[^A-Za-z0-9_]+", "_", s).strip("_")
        if not s or not s[0].isalpha():
            s = "v_" + s
        if s.lower() in RESERVED:
            s += "_"
        s = s[:NAME_MAX]
        base, k = s, 1
        while s in taken:
            k += 1
            suffix = f"_{k}"
            s = base[: NAME_MAX - len(suffix)] + suffix
        taken.add(s)
        out[name] = s
    return {name: out[name] for name in names}


def run_table(store: Any, ref: str):
    """A run's rows as a pandas DataFrame.

    Raises
    ------
    DamagedRunError
        A part of the run is missing or damaged (named, with what to do).
    """
    import pandas as pd
    import pyarrow.parquet as pq

    info = store.info(ref)
    store.check_parts(info.run_id)  # a missing or damaged part: DamagedRunError naming it
    files = store.part_files(info.run_id)
    if files:
        try:
            df = pd.concat([pq.read_table(f).to_pandas() for f in files], ignore_index=True)
        except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for damaged files
            raise store.read_error(info.run_id, exc) from None
        sort = [c for c in ("run", "issue", "round", "actor") if c in df.columns]
        return df.sort_values(sort, na_position="first", kind="stable").reset_index(drop=True) if sort else df
    return store.get(info.run_id).to_df()


def export_run(store: Any, ref: str, fmt: str = "csv", out: str | Path | None = None) -> tuple[Path, int]:
    """Write a run's rows; returns (path, number of rows). See :func:`export_run_detail`."""
    res = export_run_detail(store, ref, fmt, out)
    return res.path, res.rows


def export_run_detail(store: Any, ref: str, fmt: str = "csv", out: str | Path | None = None) -> ExportResult:
    """Write a run's rows as ``fmt`` (:data:`FORMATS`) to ``out`` (default
    ``detente-run-ID.EXT``); the result also says which columns were renamed (``dta`` and
    ``feather``: :func:`portable_names`)."""
    if fmt not in FORMATS:
        raise InputError(Problem("unknown export format", column="--format", value=fmt,
                                 expected=", ".join(FORMATS)))
    info = store.info(ref)
    df = run_table(store, info.run_id)
    path = Path(out) if out is not None else Path(f"detente-run-{info.run_id}.{FORMATS[fmt]}")
    if fmt == "xlsx" and len(df) + 1 > XLSX_MAX_ROWS:
        raise InputError(Problem(f"{len(df)} rows do not fit an Excel sheet ({XLSX_MAX_ROWS - 1} rows at most)",
                                 column="--format", value="xlsx", expected="csv or parquet for this run"))
    renamed: dict[str, str] = {}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "csv":
            escape_text_cells(df).to_csv(path, index=False)
        elif fmt == "parquet":
            df.to_parquet(path, index=False)
        elif fmt == "xlsx":
            _write_xlsx(df, path, sheet="run")
        else:
            names = portable_names([str(c) for c in df.columns])
            renamed = {k: v for k, v in names.items() if k != v}
            (_write_dta if fmt == "dta" else _write_feather)(df, path, names, info.run_id)
    except OSError as exc:  # unwritable path, a directory, disk full: the user's --out, not a bug
        raise InputError(Problem(f"cannot write: {exc.strerror or exc}", file=str(path), column="--out",
                                 expected="a writable file path")) from None
    return ExportResult(path, len(df), renamed)


def _write_feather(df, path: Path, names: dict[str, str], run_id: str) -> None:
    """Arrow IPC (Feather v2) with portable names; the originals in the schema metadata."""
    import json

    import pyarrow as pa
    import pyarrow.feather as feather

    table = pa.Table.from_pandas(df.rename(columns=names), preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[b"detente.original_names"] = json.dumps({v: k for k, v in names.items()}).encode()
    meta[b"detente.run_id"] = run_id.encode()
    feather.write_feather(table.replace_schema_metadata(meta), str(path))


def _write_dta(df, path: Path, names: dict[str, str], run_id: str) -> None:
    """Stata 14+ ``.dta`` (format 118, Unicode) with portable names; each renamed variable's
    label is its original name. Text columns are written as text (missing values as empty
    text, Stata's missing string); booleans as 0/1; integers too large for Stata's ``long``
    become doubles (exact up to 2**53, which holds every seed detente draws)."""
    import warnings

    import pandas as pd

    out = df.rename(columns=names).copy()
    for c in out.columns:
        s = out[c]
        if s.dtype == bool:
            out[c] = s.astype("int8")
        elif str(s.dtype) in ("boolean",) or str(s.dtype).startswith(("Int", "UInt")):
            out[c] = s.astype("float64")
        elif s.dtype == object or str(s.dtype) in ("string", "str", "category"):
            out[c] = s.map(lambda v: "" if v is None or (isinstance(v, float) and v != v) or v is pd.NA else str(v))
    labels = {new: old[:80] for old, new in names.items() if old != new}
    strl = [c for c in out.columns if out[c].dtype == object and out[c].map(len).max(initial=0) > 2045]
    with warnings.catch_warnings():
        # documented above: int64 beyond Stata's long is stored as double
        warnings.filterwarnings("ignore", message=".*[Pp]recision.*")
        out.to_stata(path, write_index=False, version=118, variable_labels=labels,
                     data_label=f"detente run {run_id}"[:80], convert_strl=strl)


def escape_text_cells(df):
    """A copy of ``df`` whose text cells (and column names) carry the CSV formula escape of
    :mod:`detente.scenario.textcells`; numbers are untouched. Used for every CSV of run rows
    (``runs export`` and the web UI's download)."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or str(out[col].dtype) in ("string", "str"):
            out[col] = out[col].map(lambda v: escape_formula(v) if isinstance(v, str) else v)
    out.columns = [escape_formula(str(c)) for c in out.columns]
    return out


def _write_xlsx(df, path: Path, *, sheet: str) -> None:
    """One sheet with a header row; formula-like text as text cells, missing values empty."""
    import math

    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet(sheet)
    ws.append(xlsx_row(ws, [str(c) for c in df.columns]))

    def plain(v: Any) -> Any:
        if v is None:
            return None
        if hasattr(v, "item") and not isinstance(v, (str, bytes)):
            v = v.item()  # numpy scalars
        if isinstance(v, float) and not math.isfinite(v):
            return None if math.isnan(v) else str(v)
        try:
            import pandas as pd

            if v is pd.NA or v is pd.NaT:
                return None
        except ImportError:  # pragma: no cover - pandas is a core dependency
            pass
        return v

    for row in df.itertuples(index=False, name=None):
        ws.append(xlsx_row(ws, [plain(v) for v in row]))
    save_workbook(wb, path)
