"""Records of background jobs (the web UI's model and crisis runs) in the run catalogue.

A job is work started on request and finished later: its record says where it is
(``queued``, ``running``) or how it ended (``done`` with the id of the run it stored,
``failed`` with the error, ``cancelled`` by the user, or ``interrupted``: the process that
ran it stopped first). The records live in the ``jobs`` table of the store's SQLite
catalogue, created on first use beside the ``runs`` table, so they survive a restart of the
server; :meth:`JobRecords.interrupt_unfinished` marks what a dead process left behind.

Examples
--------
>>> import tempfile
>>> from detente.store import Store
>>> with tempfile.TemporaryDirectory() as d:
...     rec = JobRecords(Store(d))
...     rec.put({"id": "j1", "kind": "forecast", "label": "bdm on x", "status": "running", "created": 1.0})
...     lost = rec.interrupt_unfinished(now=2.0, message="server stopped")
...     lost, rec.get("j1")["status"], rec.get("j1")["finished"]
(['j1'], 'interrupted', 2.0)
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Iterable
from typing import Any

from detente.errors import StoreError

__all__ = ["JobRecords", "JOB_STATUSES", "FINISHED_JOB_STATUSES"]

#: Every status of a job record.
JOB_STATUSES = ("queued", "running", "done", "failed", "cancelled", "interrupted")
#: Statuses of jobs that have ended.
FINISHED_JOB_STATUSES = ("done", "failed", "cancelled", "interrupted")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id        TEXT PRIMARY KEY,
    kind      TEXT NOT NULL,
    label     TEXT NOT NULL,
    status    TEXT NOT NULL,
    progress  REAL NOT NULL DEFAULT 0,
    message   TEXT NOT NULL DEFAULT '',
    created   REAL NOT NULL,
    started   REAL,
    finished  REAL,
    result_id TEXT,
    error     TEXT,
    request   TEXT
)
"""
_COLS = ("id", "kind", "label", "status", "progress", "message", "created", "started", "finished",
         "result_id", "error", "request")
_JSON_COLS = ("error", "request")


class JobRecords:
    """The job records of a :class:`~detente.store.Store` (table ``jobs`` of its catalogue).

    Records are plain dicts with the keys ``id, kind, label, status, progress, message,
    created, started, finished`` (Unix times), ``result_id``, ``error`` and ``request``
    (JSON-serialisable values or ``None``).
    """

    def __init__(self, store: Any):
        self.store = store
        with store._tx() as con:
            con.execute(_SCHEMA)

    def put(self, record: dict[str, Any]) -> None:
        """Insert or replace a job's record."""
        if record.get("status") not in JOB_STATUSES:
            raise StoreError(f"unknown job status {record.get('status')!r}; expected one of {', '.join(JOB_STATUSES)}")
        row = [record.get(c) for c in _COLS]
        for c in _JSON_COLS:
            k = _COLS.index(c)
            row[k] = None if row[k] is None else json.dumps(row[k], sort_keys=True, default=str)
        row[_COLS.index("progress")] = float(record.get("progress") or 0.0)
        row[_COLS.index("message")] = str(record.get("message") or "")
        with self.store._tx() as con:
            con.execute(f"INSERT OR REPLACE INTO jobs ({', '.join(_COLS)}) VALUES ({', '.join('?' * len(_COLS))})", row)

    @staticmethod
    def _record(row: Any) -> dict[str, Any]:
        out = {c: row[c] for c in _COLS}
        for c in _JSON_COLS:
            out[c] = None if out[c] is None else json.loads(out[c])
        return out

    def get(self, job_id: str) -> dict[str, Any] | None:
        """A job's record, or ``None``."""
        with self.store._tx(write=False) as con:
            row = con.execute(f"SELECT {', '.join(_COLS)} FROM jobs WHERE id=?", (job_id,)).fetchone()
        return None if row is None else self._record(row)

    def list(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Records, newest first."""
        sql = f"SELECT {', '.join(_COLS)} FROM jobs ORDER BY created DESC, rowid DESC"
        args: list[Any] = []
        if limit is not None:
            sql += " LIMIT ?"
            args.append(int(limit))
        with self.store._tx(write=False) as con:
            return [self._record(r) for r in con.execute(sql, args).fetchall()]

    def delete(self, ids: Iterable[str]) -> None:
        """Forget records (the runs the jobs stored stay)."""
        ids = list(ids)
        if ids:
            with self.store._tx() as con:
                con.executemany("DELETE FROM jobs WHERE id=?", [(i,) for i in ids])

    def interrupt_unfinished(self, *, now: float, message: str) -> builtins.list[str]:
        """Mark every ``queued`` or ``running`` record ``interrupted`` (the process running the
        job is gone); return their ids."""
        with self.store._tx() as con:
            ids = [r["id"] for r in con.execute("SELECT id FROM jobs WHERE status IN ('queued', 'running')").fetchall()]
            err = json.dumps({"error": "interrupted", "message": message}, sort_keys=True)
            con.executemany("UPDATE jobs SET status='interrupted', finished=?, message=?, error=? WHERE id=?",
                            [(now, message, err, i) for i in ids])
        return ids
