"""Store layer: the run catalogue (SQLite, WAL), bulk results (Parquet parts) and queries
(in-memory DuckDB). See :mod:`detente.store.core`."""

from detente.store.core import CHUNK_STATUSES, RUN_STATUSES, RunInfo, SavedRun, Store, default_root, trajectory_table

__all__ = ["Store", "RunInfo", "SavedRun", "default_root", "trajectory_table", "CHUNK_STATUSES", "RUN_STATUSES"]
