"""Export a stored run's rows to CSV, Parquet or XLSX.

Sweeps export their Parquet parts (all chunks, ordered by run); single forecasts export a
long table ``issue, round, actor, kind, value`` (:meth:`RunResult.to_df`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from detente.errors import InputError, Problem

__all__ = ["export_run", "run_table", "XLSX_MAX_ROWS"]

#: Excel's sheet limit (rows, header included).
XLSX_MAX_ROWS = 1_048_576


def run_table(store: Any, ref: str):
    """A run's rows as a pandas DataFrame."""
    import pandas as pd
    import pyarrow.parquet as pq

    info = store.info(ref)
    files = store.part_files(info.run_id)
    if files:
        df = pd.concat([pq.read_table(f).to_pandas() for f in files], ignore_index=True)
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
            df.to_csv(path, index=False)
        elif fmt == "parquet":
            df.to_parquet(path, index=False)
        else:
            df.to_excel(path, index=False, sheet_name="run")
    except OSError as exc:  # unwritable path, a directory, disk full: the user's --out, not a bug
        raise InputError(Problem(f"cannot write: {exc.strerror or exc}", file=str(path), column="--out",
                                 expected="a writable file path")) from None
    return path, len(df)
