"""Export a stored run's rows to CSV, Parquet or XLSX.

Sweeps export their Parquet parts (all chunks, ordered by run); single forecasts export a
long table ``issue, round, actor, kind, value`` (:meth:`RunResult.to_df`).

Names that a spreadsheet would run as a formula (actors or issues starting with ``=``,
``+``, ``-``, ``@``, tab or CR) are written as text cells to XLSX and with an apostrophe in
front to CSV, the rule of :mod:`detente.scenario.textcells` (detente's CSV readers remove
it again; Parquet keeps every value as it is).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from detente.errors import InputError, Problem
from detente.scenario.textcells import escape_formula, save_workbook, xlsx_row

__all__ = ["export_run", "run_table", "escape_text_cells", "XLSX_MAX_ROWS"]

#: Excel's sheet limit (rows, header included).
XLSX_MAX_ROWS = 1_048_576


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
    """Write a run's rows; returns (path, number of rows)."""
    if fmt not in ("csv", "parquet", "xlsx"):
        raise InputError(Problem("unknown export format", column="--format", value=fmt, expected="csv, parquet or xlsx"))
    info = store.info(ref)
    df = run_table(store, info.run_id)
    path = Path(out) if out is not None else Path(f"detente-run-{info.run_id}.{fmt}")
    if fmt == "xlsx" and len(df) + 1 > XLSX_MAX_ROWS:
        raise InputError(Problem(f"{len(df)} rows do not fit an Excel sheet ({XLSX_MAX_ROWS - 1} rows at most)",
                                 column="--format", value="xlsx", expected="csv or parquet for this run"))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "csv":
            escape_text_cells(df).to_csv(path, index=False)
        elif fmt == "parquet":
            df.to_parquet(path, index=False)
        else:
            _write_xlsx(df, path, sheet="run")
    except OSError as exc:  # unwritable path, a directory, disk full: the user's --out, not a bug
        raise InputError(Problem(f"cannot write: {exc.strerror or exc}", file=str(path), column="--out",
                                 expected="a writable file path")) from None
    return path, len(df)


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
