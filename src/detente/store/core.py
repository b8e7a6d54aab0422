"""The run store: a SQLite catalogue of runs, Parquet parts for bulk results, DuckDB queries.

Layout under the store root (``$DETENTE_HOME`` or ``~/.detente``)::

    catalog.sqlite                      runs + chunks tables (WAL journal)
    parts/<run_id>/part-000000.parquet  bulk results of a run, one file per chunk
    parts/<run_id>/trajectory.parquet   per-round positions (issue, round, actor, position)

A run is identified by the content hash :attr:`RunResult.key` (scenario + model + variant +
params + seed, the seed actually used: see :mod:`detente.seeding`); its ``run_id`` is the
shortest unused prefix of that key of at least 12 hex digits, so saving the same run twice
returns the same id and stores nothing new. A run id never names two results: a result that
differs (:attr:`RunResult.result_hash`) from the one already stored under its key gets a key
and an id of its own (see :meth:`Store.save_run`). Any unique prefix of the key (at least 4
characters) finds the run again.

Parquet files are written to a hidden temporary file in the same directory, flushed to disk
and renamed into place, so a reader never sees half a part; each part's row count and SHA-256
are recorded with its chunk, so a damaged part is found (:meth:`Store.part_problems`) and a
resumed sweep recomputes it. A new catalogue is built in a temporary file and linked into
place, so it is never seen empty. Catalogue changes run in transactions; the store never
deletes or rewrites a catalogue it cannot read, and never overwrites a part it cannot verify
(such files go to ``quarantine/``, see :mod:`detente.store.files`). Runs filled chunk by chunk
also keep a copy of their catalogue row in ``parts/<run_id>/run.json``, from which
``detente runs repair`` rebuilds them if the catalogue is lost (:mod:`detente.store.integrity`).

``Store(root, readonly=True)`` opens the catalogue with SQLite's read-only URI and writes
nothing (no schema change, no journal file, no ``parts/`` folder), so read-only commands work
on a read-only store. See ``docs/data-safety.md``.

Resumable sweeps use the run/chunk API: :meth:`Store.open_run` once (idempotent on the key),
then :meth:`Store.write_part` per finished chunk (which marks the chunk ``done``), and on a
restart :meth:`Store.missing_chunks` says which chunks are still to do; finally
:meth:`Store.finish_run`.

Examples
--------
>>> import tempfile, detente
>>> from detente.store import Store
>>> s = detente.Scenario(actors=[detente.Actor(id="A"), detente.Actor(id="B")],
...                      issues=[detente.Issue(id="x")],
...                      stances=[detente.Stance(actor="A", issue="x", position=20, salience=50),
...                               detente.Stance(actor="B", issue="x", position=80, salience=50)])
>>> res = detente.forecast(s, "compromise")
>>> with tempfile.TemporaryDirectory() as d:
...     store = Store(d)
...     run_id = store.save(res, scenario=s)
...     run_id == store.save(res, scenario=s), store.get(run_id[:6]) == res
(True, True)
"""

from __future__ import annotations

import builtins
import functools
import hashlib
import json
import os
import re
import shutil
import sqlite3
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from detente.errors import CatalogueError, DamagedRunError, InputError, Problem, StoreError, UnknownRunError
from detente.result import RunResult, detente_version, result_hash
from detente.store.files import StoreLock, atomic_write_bytes, catalogue_state, quarantine, sha256_file, verify_part

__all__ = ["Store", "RunInfo", "SavedRun", "default_root", "CHUNK_STATUSES", "RUN_STATUSES", "TRAJECTORY_COLUMNS",
           "MANIFEST_NAME"]

#: Status values of a chunk row (``damaged``: its part was found damaged or missing and moved
#: to quarantine by ``detente runs repair``; a resumed sweep recomputes it).
CHUNK_STATUSES = ("pending", "running", "done", "failed", "damaged")
#: Status values a producer sets on a run (``detente runs repair`` also sets ``damaged`` on a
#: run with damaged chunks; finishing it again sets ``done``).
RUN_STATUSES = ("running", "done", "failed")
#: File in a run's parts folder holding a copy of its catalogue row (runs made by
#: :meth:`Store.open_run`), used to rebuild the catalogue.
MANIFEST_NAME = "run.json"
#: Columns of a run's trajectory part.
TRAJECTORY_COLUMNS = ("issue", "round", "actor", "position")

_SCHEMA_VERSION = 2  # 2: chunks.sha256
_MIN_ID = 12  # hex digits of the key used as run id
_MIN_PREFIX = 4
_HEX = re.compile(r"^[0-9a-f]+$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id        TEXT PRIMARY KEY,
    key           TEXT NOT NULL UNIQUE,
    kind          TEXT NOT NULL DEFAULT 'forecast',
    model         TEXT NOT NULL,
    variant       TEXT,
    seed          TEXT,
    params        TEXT NOT NULL,
    input_hash    TEXT,
    scenario_name TEXT,
    label         TEXT,
    created       TEXT NOT NULL,
    updated       TEXT NOT NULL,
    version       TEXT NOT NULL,
    status        TEXT NOT NULL,
    result        TEXT,
    scenario      TEXT,
    meta          TEXT
);
CREATE INDEX IF NOT EXISTS runs_model ON runs(model);
CREATE INDEX IF NOT EXISTS runs_created ON runs(created);
CREATE TABLE IF NOT EXISTS chunks (
    run_id  TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
    chunk   INTEGER NOT NULL,
    status  TEXT NOT NULL,
    n_rows  INTEGER,
    created TEXT NOT NULL,
    sha256  TEXT,
    PRIMARY KEY (run_id, chunk)
);
"""
# schema changes from one version to the next (index: the version they start from)
_MIGRATIONS = {1: ["ALTER TABLE chunks ADD COLUMN sha256 TEXT"]}

_REPAIR_HINT = ("run `detente runs check --store {root}` to see what is damaged, then "
                "`detente runs repair --store {root}` to rebuild what can be rebuilt (damaged files are "
                "moved to {root}/quarantine, never deleted)")

# columns of `runs` returned by list()/info() (everything but the large JSON blobs)
_INFO_COLS = ("run_id", "key", "kind", "model", "variant", "seed", "params", "input_hash",
              "scenario_name", "label", "created", "updated", "version", "status", "meta")


def default_root() -> Path:
    """The store root: ``$DETENTE_HOME`` if set, else ``~/.detente``."""
    env = os.environ.get("DETENTE_HOME")
    return Path(env).expanduser() if env else Path.home() / ".detente"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _seed_text(seed: int | None) -> str | None:
    # seeds may exceed SQLite's 64-bit integers; keep them as decimal text
    return None if seed is None else str(seed)


def _seed_value(text: str | None) -> int | str | None:
    """A stored seed: the integer, or the text as stored when it is not one."""
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        return text


@dataclass(frozen=True)
class RunInfo:
    """Catalogue metadata of one stored run (what ``detente runs list`` shows).

    Attributes
    ----------
    run_id
        Short id (prefix of ``key``).
    key
        Full content hash (:attr:`RunResult.key`).
    kind
        ``"forecast"`` for single model runs; other producers (sweeps, crisis runs) name theirs.
    model, variant, seed, params
        As in the result.
    input_hash, scenario_name
        Scenario content hash and name (name ``None`` when the scenario was not given).
    label
        Free text given when saving.
    created, updated
        UTC timestamps (ISO 8601).
    version
        detente version that produced the run.
    status
        ``"running"``, ``"done"`` or ``"failed"``.
    meta
        Producer-specific JSON metadata (chunk size, number of chunks, ...).
    """

    run_id: str
    key: str
    kind: str
    model: str
    variant: str | None
    seed: int | str | None  # str only for a stored seed that is not an integer (foreign or damaged row)
    params: Mapping[str, Any]
    input_hash: str | None
    scenario_name: str | None
    label: str | None
    created: str
    updated: str
    version: str
    status: str
    meta: Mapping[str, Any]

    @classmethod
    def _from_row(cls, row: sqlite3.Row) -> RunInfo:
        return cls(
            run_id=row["run_id"], key=row["key"], kind=row["kind"], model=row["model"],
            variant=row["variant"], seed=_seed_value(row["seed"]),
            params=json.loads(row["params"] or "{}"), input_hash=row["input_hash"],
            scenario_name=row["scenario_name"], label=row["label"], created=row["created"],
            updated=row["updated"], version=row["version"], status=row["status"],
            meta=json.loads(row["meta"] or "{}"),
        )

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id, "key": self.key, "kind": self.kind, "model": self.model,
            "variant": self.variant, "seed": self.seed, "params": dict(self.params),
            "input_hash": self.input_hash, "scenario": self.scenario_name, "label": self.label,
            "created": self.created, "updated": self.updated, "version": self.version,
            "status": self.status, "meta": dict(self.meta),
        }


@dataclass(frozen=True)
class SavedRun:
    """What :meth:`Store.save_run` did.

    Attributes
    ----------
    run_id
        Id of the stored run.
    key
        Its catalogue key: the result's run key, or (when that key already held a different
        result) SHA-256 of ``"<key>:<result hash>"``.
    new
        ``True`` if the run was stored now, ``False`` if the same result was already stored.
    same_inputs_as
        Id of the run that holds a different result under the same run key, else ``None``.
    """

    run_id: str
    key: str
    new: bool
    same_inputs_as: str | None = None


def _stored_result_hash(text: str) -> str | None:
    """:func:`result_hash` of a stored result's JSON text; ``None`` if it cannot be read (a
    damaged result is never taken for a repeat, so it is never overwritten)."""
    try:
        d = json.loads(text)
        return result_hash(d) if isinstance(d, dict) else None
    except ValueError:
        return None


def _consistent_read(method):
    """Re-run a read of a read-only store if the catalogue file changed while it ran.

    A read-only store with no write-ahead log beside its catalogue reads it as immutable
    (nothing to create, no lock taken). A writer in another process may then checkpoint into
    the file during the read; the file's identity, size and modification time are compared
    before and after, and the read is repeated (at most twice, then with SQLite's own shared
    locking) when they differ, so such a read never returns a torn view.
    """

    @functools.wraps(method)
    def wrapper(self: Store, *args: Any, **kwargs: Any) -> Any:
        if not self._immutable:
            return method(self, *args, **kwargs)
        for _ in range(3):
            before = self._file_stamp()
            try:
                out = method(self, *args, **kwargs)
            except StoreError:
                if self._file_stamp() == before:
                    raise
                continue
            if self._file_stamp() == before:
                return out
        self._immutable = False  # the catalogue keeps changing: read with locks from now on
        return method(self, *args, **kwargs)

    return wrapper


class Store:
    """A run store rooted at a directory.

    Parameters
    ----------
    root
        Directory of the store; :func:`default_root` when ``None``. Created if missing
        (unless ``readonly``).
    readonly
        Open for reading only: the catalogue is opened with SQLite's ``mode=ro`` URI (and as
        ``immutable`` when no write-ahead log sits beside it, so that no ``-wal``/``-shm``
        file is created), no schema change is made and no folder is created. A missing
        catalogue reads as an empty store. Every write method then raises
        :class:`~detente.errors.StoreError`.

    Raises
    ------
    CatalogueError
        The catalogue is empty (0 bytes), truncated or not a SQLite database; the message
        names the file and says how to check and repair it. The file is left untouched.
    StoreError
        The root cannot be created, or it is a file.
    """

    def __init__(self, root: str | Path | None = None, *, readonly: bool = False):
        self.root = Path(root).expanduser() if root is not None else default_root()
        self.readonly = bool(readonly)
        if self.root.exists() and not self.root.is_dir():
            raise StoreError(f"store root {self.root} exists and is not a directory")
        self.catalog_path = self.root / "catalog.sqlite"
        self._empty = False  # read-only store without a catalogue: reads see no runs
        self._immutable = False
        self._has_sha = True
        # parts verified in full by this object: path -> (size, mtime_ns, recorded sha256)
        self._verified: dict[str, tuple] = {}
        self._lock: StoreLock | None = None
        if not self.readonly:
            try:
                (self.root / "parts").mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot create the store at {self.root}: {exc.strerror or exc}") from None
            self._lock = StoreLock(self.root, exclusive=False)  # keeps `runs repair` out while in use
        self._init_schema()

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r}{', readonly=True' if self.readonly else ''})"

    # ------------------------------------------------------------------ sqlite plumbing
    def _hint(self) -> str:
        return _REPAIR_HINT.format(root=self.root)

    def _file_stamp(self) -> tuple:
        try:
            st = self.catalog_path.stat()
        except OSError:
            return ()
        return st.st_ino, st.st_size, st.st_mtime_ns

    def _connect(self) -> sqlite3.Connection:
        try:
            if self._empty:
                con = sqlite3.connect(":memory:", isolation_level=None)
                for stmt in _SCHEMA.split(";"):
                    if stmt.strip():
                        con.execute(stmt)
            elif self.readonly:
                uri = self.catalog_path.resolve().as_uri() + "?mode=ro" + ("&immutable=1" if self._immutable else "")
                con = sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None)
            else:
                con = sqlite3.connect(self.catalog_path, timeout=30, isolation_level=None)
            con.row_factory = sqlite3.Row
            if not self.readonly:
                con.execute("PRAGMA foreign_keys=ON")
                con.execute("PRAGMA synchronous=FULL")  # a committed transaction survives a power cut
            con.execute("PRAGMA busy_timeout=30000")
            return con
        except sqlite3.Error as exc:
            raise self._db_error(exc) from None

    def _db_error(self, exc: BaseException) -> StoreError:
        msg = str(exc)
        if isinstance(exc, sqlite3.DatabaseError) and ("not a database" in msg or "malformed" in msg):
            return CatalogueError(
                f"the run catalogue {self.catalog_path} is damaged: SQLite says {msg!r}. It was left "
                f"untouched; {self._hint()}"
            )
        if self.readonly and isinstance(exc, sqlite3.OperationalError) and "unable to open" in msg:
            return StoreError(
                f"cannot open the run catalogue {self.catalog_path} read-only ({msg}): a write-ahead log "
                f"({self.catalog_path.name}-wal) sits beside it and its folder does not let SQLite add the "
                "shared-memory file it needs to read it; run any detente command that writes to this store "
                "once with write access (that folds the log into the catalogue), or copy the store elsewhere"
            )
        if isinstance(exc, sqlite3.OperationalError) and "readonly" in msg.replace("-", "").replace(" ", ""):
            return StoreError(
                f"the run catalogue {self.catalog_path} cannot be written ({msg}): the file or its folder is "
                "read-only. Commands that only read (runs list/show/export, report, runs check) still work"
            )
        return StoreError(f"run catalogue {self.catalog_path}: {msg}")

    @contextmanager
    def _tx(self, *, write: bool = True) -> Iterator[sqlite3.Connection]:
        """A connection inside a transaction (``BEGIN IMMEDIATE`` for writes); rolled back on error."""
        if write:
            self._check_writable()
        con = self._connect()
        try:
            con.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")
        except sqlite3.Error as exc:
            raise self._db_error(exc) from None
        finally:
            con.close()

    def _check_writable(self) -> None:
        if self.readonly:
            raise StoreError(f"the store at {self.root} was opened read-only; nothing was written")

    def _check_header(self) -> str:
        """State of the catalogue file (see :func:`~detente.store.files.catalogue_state`);
        raises :class:`CatalogueError` for an empty, truncated or foreign file."""
        state, detail = catalogue_state(self.catalog_path)
        if state in ("ok", "missing"):
            return state
        what = {
            "empty": "; opening it as it is would start a new, empty catalogue and lose the record of every stored run",
            "truncated": "; the runs recorded in the missing part cannot be read",
        }.get(state, "")
        raise CatalogueError(f"the run catalogue is damaged: {detail}{what}. Nothing was changed; {self._hint()}")

    def _create_catalogue(self) -> None:
        """Build a new, complete catalogue in a temporary file and link it into place, so that
        a crash never leaves an empty or half-made catalogue (another process creating one at
        the same moment wins; ours is then discarded)."""
        tmp = self.root / f".{self.catalog_path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
        try:
            con = sqlite3.connect(tmp, isolation_level=None)
            try:
                mode = con.execute("PRAGMA journal_mode=WAL").fetchone()[0]
                if str(mode).lower() != "wal":  # pragma: no cover - e.g. some network file systems
                    raise StoreError(f"could not switch {self.catalog_path} to WAL mode (got {mode!r})")
                con.execute("BEGIN IMMEDIATE")
                for stmt in _SCHEMA.split(";"):  # not executescript: it would commit first
                    if stmt.strip():
                        con.execute(stmt)
                con.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")
                con.execute("COMMIT")
            finally:
                con.close()  # the last connection checkpoints: the file holds everything
            try:
                os.link(tmp, self.catalog_path)  # fails if it exists: never replaces a catalogue
            except FileExistsError:
                pass
            except OSError:  # pragma: no cover - file systems without hard links
                if not self.catalog_path.exists():
                    os.replace(tmp, self.catalog_path)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot create the run catalogue {self.catalog_path}: {exc}") from None
        except OSError as exc:
            raise StoreError(f"cannot create the run catalogue {self.catalog_path}: {exc.strerror or exc}") from None
        finally:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(str(tmp) + suffix).unlink(missing_ok=True)

    def _init_schema(self) -> None:
        state = self._check_header()
        if self.readonly:
            if state == "missing":
                self._empty = True
                return
            self._immutable = not Path(str(self.catalog_path) + "-wal").exists()
            con = self._connect()
            try:
                ver = con.execute("PRAGMA user_version").fetchone()[0]
                tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
                cols = {r[1] for r in con.execute("PRAGMA table_info(chunks)")}
            except sqlite3.Error as exc:
                raise self._db_error(exc) from None
            finally:
                con.close()
            self._check_version(ver)
            if not {"runs", "chunks"} <= tables:
                self._empty = True  # a SQLite file without detente's tables: no runs in it
            self._has_sha = "sha256" in cols
            return
        if state == "missing":
            self._create_catalogue()
        con = self._connect()
        try:
            mode = con.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":  # pragma: no cover - e.g. some network file systems
                raise StoreError(f"could not switch {self.catalog_path} to WAL mode (got {mode!r})")
            ver = con.execute("PRAGMA user_version").fetchone()[0]
            self._check_version(ver)
            if ver < _SCHEMA_VERSION:
                con.execute("BEGIN IMMEDIATE")
                ver = con.execute("PRAGMA user_version").fetchone()[0]  # another process may have migrated
                if ver == 0:
                    for stmt in _SCHEMA.split(";"):  # not executescript: it would commit first
                        if stmt.strip():
                            con.execute(stmt)
                else:
                    for v in range(ver, _SCHEMA_VERSION):
                        for stmt in _MIGRATIONS.get(v, []):
                            con.execute(stmt)
                con.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")
                con.execute("COMMIT")
        except sqlite3.Error as exc:
            raise self._db_error(exc) from None
        finally:
            con.close()

    def _check_version(self, ver: int) -> None:
        if ver > _SCHEMA_VERSION:
            raise StoreError(
                f"the run catalogue {self.catalog_path} has schema version {ver}, newer than this "
                f"detente ({detente_version()}) understands ({_SCHEMA_VERSION}); upgrade detente"
            )

    def journal_mode(self) -> str:
        """The catalogue's SQLite journal mode (``"wal"``)."""
        con = self._connect()
        try:
            return str(con.execute("PRAGMA journal_mode").fetchone()[0]).lower()
        except sqlite3.Error as exc:
            raise self._db_error(exc) from None
        finally:
            con.close()

    # ------------------------------------------------------------------ ids
    def _allocate_id(self, con: sqlite3.Connection, key: str) -> str:
        for n in range(_MIN_ID, len(key) + 1):
            cand = key[:n]
            row = con.execute("SELECT key FROM runs WHERE run_id=?", (cand,)).fetchone()
            if row is None or row["key"] == key:
                return cand
        raise StoreError(f"cannot allocate a run id for key {key}")  # pragma: no cover

    @_consistent_read
    def resolve(self, ref: str) -> str:
        """The run id of ``ref``: a run id, a full key, or a unique key prefix (>= 4 chars).

        Raises
        ------
        UnknownRunError
            If nothing or more than one run matches.
        """
        r = str(ref).strip().lower()
        if len(r) < _MIN_PREFIX or not _HEX.match(r):
            raise UnknownRunError(Problem(
                "not a run id", column="run", value=str(ref),
                expected=f"a run id or a prefix of at least {_MIN_PREFIX} hex digits (see `detente runs list`)",
            ))
        with self._tx(write=False) as con:
            exact = con.execute("SELECT run_id FROM runs WHERE run_id=? OR key=?", (r, r)).fetchone()
            if exact is not None:
                return exact["run_id"]
            rows = con.execute("SELECT run_id FROM runs WHERE key LIKE ? ORDER BY created LIMIT 6",
                               (r + "%",)).fetchall()
        if not rows:
            raise UnknownRunError(Problem("no stored run has this id", column="run", value=str(ref),
                                          expected=f"a run in {self.root} (see `detente runs list`)"))
        if len(rows) > 1:
            ids = ", ".join(x["run_id"] for x in rows[:5]) + (", ..." if len(rows) > 5 else "")
            raise UnknownRunError(Problem(f"ambiguous run id prefix: matches {ids}", column="run",
                                          value=str(ref), expected="a longer prefix"))
        return rows[0]["run_id"]

    # ------------------------------------------------------------------ runs
    def save(self, result: RunResult, scenario: Any = None, label: str | None = None) -> str:
        """Store a finished run; return its run id (:meth:`save_run` tells more)."""
        return self.save_run(result, scenario=scenario, label=label).run_id

    def save_run(self, result: RunResult, scenario: Any = None, label: str | None = None) -> SavedRun:
        """Store a finished run; return its run id and whether it was new.

        Idempotent: a run whose key is already stored with the same result
        (:attr:`RunResult.result_hash`) is not stored again (its id is returned; a missing
        label or scenario is filled in). A run id never names two results: when the key is
        already stored with a *different* result (a newer detente computing other numbers, a
        caller's own generator without a seed), the stored run is left as it is and this one
        is stored under its own id, derived from the key and the result hash;
        :attr:`SavedRun.same_inputs_as` and the run's ``meta`` name the earlier run. The
        per-round trajectory, if the result has rounds, is written to
        ``parts/<run_id>/trajectory.parquet``.

        Parameters
        ----------
        result
            The run result.
        scenario
            The :class:`~detente.scenario.Scenario` it ran on (stored with the run, so the run
            can be re-run or reported); its hash must match ``result.input_hash``.
        label
            Free text to find the run by.
        """
        if not isinstance(result, RunResult):
            raise StoreError(f"can only save a RunResult, not {type(result).__name__}")
        scn_json = scn_name = None
        if scenario is not None:
            if scenario.content_hash() != result.input_hash:
                raise StoreError("the scenario given does not match the result's input hash")
            scn_json, scn_name = scenario.canonical_json(), scenario.name
        key = result.key
        res_json = result.to_json()
        res_obj = json.loads(res_json)          # parsed once: the hash and the params column
        rhash = result_hash(res_obj)
        with self._tx() as con:
            cat_key, first_id = key, None
            while True:
                row = con.execute("SELECT run_id, status, result FROM runs WHERE key=?", (cat_key,)).fetchone()
                if row is None or row["result"] is None or _stored_result_hash(row["result"]) == rhash:
                    break
                # this key already names another result: never replace it, take a key of our own
                first_id = first_id or row["run_id"]
                cat_key = hashlib.sha256(f"{cat_key}:{rhash}".encode()).hexdigest()
            meta = {} if first_id is None else {"same_inputs_as": first_id, "run_key": key, "result_hash": rhash}
            existing = row is not None and row["status"] == "done" and row["result"] is not None
            if existing:
                run_id = row["run_id"]
                con.execute(
                    "UPDATE runs SET label=COALESCE(label, ?), scenario=COALESCE(scenario, ?), "
                    "scenario_name=COALESCE(scenario_name, ?) WHERE run_id=?",
                    (label, scn_json, scn_name, run_id),
                )
            else:
                run_id = row["run_id"] if row is not None else self._allocate_id(con, cat_key)
                # the trajectory is written before the row commits: a failure leaves no half run
                self._write_trajectory(run_id, result)
                now = _now()
                con.execute(
                    "INSERT INTO runs (run_id, key, kind, model, variant, seed, params, input_hash, "
                    "scenario_name, label, created, updated, version, status, result, scenario, meta) "
                    "VALUES (?, ?, 'forecast', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'done', ?, ?, ?) "
                    "ON CONFLICT(run_id) DO UPDATE SET status='done', result=excluded.result, "
                    "updated=excluded.updated, label=COALESCE(runs.label, excluded.label), "
                    "scenario=COALESCE(runs.scenario, excluded.scenario), "
                    "scenario_name=COALESCE(runs.scenario_name, excluded.scenario_name)",
                    (run_id, cat_key, result.model, result.variant, _seed_text(result.seed),
                     json.dumps(res_obj["params"], sort_keys=True), result.input_hash,
                     scn_name, label, now, now, result.version, res_json, scn_json,
                     json.dumps(meta, sort_keys=True)),
                )
        if existing and _has_rounds(result) and not self._trajectory_path(run_id).exists():
            self._write_trajectory(run_id, result)  # stored earlier, trajectory file lost: rewrite
        return SavedRun(run_id=run_id, key=cat_key, new=not existing, same_inputs_as=first_id)

    def open_run(
        self,
        key: str,
        *,
        model: str,
        kind: str = "sweep",
        variant: str | None = None,
        params: Mapping[str, Any] | None = None,
        seed: int | None = None,
        input_hash: str | None = None,
        scenario: Any = None,
        label: str | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> str:
        """Create (or find again) a run that will be filled chunk by chunk; return its run id.

        Idempotent on ``key``: calling it again after a crash returns the same run id, so a
        sweep can resume with :meth:`missing_chunks`. The run has status ``"running"`` until
        :meth:`finish_run`.

        Parameters
        ----------
        key
            Hex content hash identifying the run (the caller's: e.g. a hash of the scenario,
            design, chunk size and root seed). At least 12 hex digits.
        model, kind, variant, params, seed, input_hash, label
            Catalogue metadata.
        scenario
            The scenario, stored with the run (``input_hash`` is taken from it when not given).
        meta
            JSON-serialisable metadata for the producer (chunk size, n_chunks, design, ...).
        """
        key = str(key).lower()
        if len(key) < _MIN_ID or not _HEX.match(key):
            raise StoreError(f"run key must be at least {_MIN_ID} hex digits, got {key!r}")
        scn_json = scn_name = None
        if scenario is not None:
            scn_json, scn_name = scenario.canonical_json(), scenario.name
            input_hash = input_hash or scenario.content_hash()
        with self._tx() as con:
            row = con.execute("SELECT run_id FROM runs WHERE key=?", (key,)).fetchone()
            if row is not None:
                run_id = row["run_id"]
            else:
                run_id = self._allocate_id(con, key)
                now = _now()
                con.execute(
                    "INSERT INTO runs (run_id, key, kind, model, variant, seed, params, input_hash, "
                    "scenario_name, label, created, updated, version, status, result, scenario, meta) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', NULL, ?, ?)",
                    (run_id, key, kind, model, variant, _seed_text(seed),
                     json.dumps(dict(params or {}), sort_keys=True, default=str), input_hash, scn_name,
                     label, now, now, detente_version(), scn_json,
                     json.dumps(dict(meta or {}), sort_keys=True, default=str)),
                )
            if not (self.run_dir(run_id) / MANIFEST_NAME).exists():
                # inside the transaction: if the manifest cannot be written, no row is added
                self._write_manifest(con, run_id)
        return run_id

    def _write_manifest(self, con: sqlite3.Connection, run_id: str) -> None:
        """Copy a run's catalogue row to ``parts/<run_id>/run.json`` (atomically)."""
        row = con.execute("SELECT * FROM runs WHERE run_id=?", (run_id,)).fetchone()
        doc = {"manifest": 1, "row": {k: row[k] for k in row.keys()}}  # noqa: SIM118 - a sqlite3.Row iterates over values
        try:
            atomic_write_bytes(self.run_dir(run_id) / MANIFEST_NAME,
                               json.dumps(doc, sort_keys=True, ensure_ascii=False).encode("utf-8"))
        except OSError as exc:
            raise StoreError(f"cannot write {self.run_dir(run_id) / MANIFEST_NAME}: {exc.strerror or exc}") from None

    def finish_run(self, run_id: str, status: str = "done", result: RunResult | None = None) -> None:
        """Set a run's final status (``"done"`` or ``"failed"``), optionally with a summary result.

        A run that already holds a result keeps it: giving a different one (by
        :attr:`RunResult.result_hash`) is a :class:`StoreError`, so a run id never names two results.
        """
        if status not in RUN_STATUSES:
            raise StoreError(f"unknown run status {status!r}; expected one of {', '.join(RUN_STATUSES)}")
        run_id = self.resolve(run_id)
        if result is not None:
            stored = self._row(run_id, "result")["result"]
            if stored is not None and _stored_result_hash(stored) != result.result_hash:
                raise StoreError(f"run {run_id} already holds a different result; it is kept as it is")
            self._write_trajectory(run_id, result)
        with self._tx() as con:
            con.execute("UPDATE runs SET status=?, updated=?, result=COALESCE(?, result) WHERE run_id=?",
                        (status, _now(), result.to_json() if result is not None else None, run_id))

    @_consistent_read
    def _row(self, run_id: str, cols: str = "*") -> sqlite3.Row:
        with self._tx(write=False) as con:
            row = con.execute(f"SELECT {cols} FROM runs WHERE run_id=?", (run_id,)).fetchone()
        if row is None:  # deleted in between
            raise UnknownRunError(Problem("no stored run has this id", column="run", value=run_id))
        return row

    def get(self, ref: str) -> RunResult:
        """The :class:`RunResult` of a run (by run id, key or unique key prefix).

        Raises
        ------
        UnknownRunError
            No run or several runs match ``ref``.
        StoreError
            The run has no result (still running, failed) or its stored JSON is damaged.
        """
        run_id = self.resolve(ref)
        row = self._row(run_id, "status, result")
        if row["result"] is None:
            raise StoreError(f"run {run_id} has no result (status {row['status']})")
        try:
            return RunResult.from_json_dict(json.loads(row["result"]))
        except ValueError as exc:
            raise StoreError(f"run {run_id}: stored result is damaged ({exc})") from None

    def info(self, ref: str) -> RunInfo:
        """Catalogue metadata of a run."""
        return RunInfo._from_row(self._row(self.resolve(ref), ", ".join(_INFO_COLS)))

    def scenario(self, ref: str) -> Any:
        """The :class:`~detente.scenario.Scenario` stored with a run, or ``None``."""
        from detente.scenario import Scenario

        run_id = self.resolve(ref)
        text = self._row(run_id, "scenario")["scenario"]
        if text is None:
            return None
        try:
            return Scenario.model_validate_json(text)
        except ValueError as exc:
            raise StoreError(f"run {run_id}: stored scenario cannot be read ({exc})") from None

    @_consistent_read
    def list(
        self,
        model: str | None = None,
        *,
        kind: str | None = None,
        status: str | None = None,
        limit: int | None = 50,
    ) -> builtins.list[RunInfo]:
        """Stored runs, newest first, optionally filtered by model, kind and status."""
        where: builtins.list[str] = []
        args: builtins.list[Any] = []
        for col, val in (("model", model), ("kind", kind), ("status", status)):
            if val is not None:
                where.append(f"{col}=?")
                args.append(val)
        sql = f"SELECT {', '.join(_INFO_COLS)} FROM runs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created DESC, rowid DESC"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(int(limit))
        with self._tx(write=False) as con:
            rows = con.execute(sql, args).fetchall()
        return [RunInfo._from_row(r) for r in rows]

    @_consistent_read
    def count(self) -> int:
        """Number of stored runs."""
        with self._tx(write=False) as con:
            return int(con.execute("SELECT COUNT(*) FROM runs").fetchone()[0])

    def delete(self, ref: str) -> str:
        """Delete a run, its chunk rows and its Parquet parts; return its run id."""
        run_id = self.resolve(ref)
        self._check_writable()
        folder = self.run_dir(run_id)
        # the folder is first renamed out of the way, so that a crash cannot leave a manifest
        # from which `runs repair` would bring the deleted run back
        gone = folder.with_name(f".deleted-{run_id}-{uuid.uuid4().hex[:8]}")
        if folder.exists():
            os.replace(folder, gone)
        try:
            with self._tx() as con:
                con.execute("DELETE FROM runs WHERE run_id=?", (run_id,))
        except BaseException:
            if gone.exists():
                os.replace(gone, folder)
            raise
        shutil.rmtree(gone, ignore_errors=True)
        return run_id

    # ------------------------------------------------------------------ parts and chunks
    def run_dir(self, run_id: str) -> Path:
        """Directory of a run's Parquet files (``parts/<run_id>``)."""
        return self.root / "parts" / run_id

    def part_path(self, run_id: str, chunk: int) -> Path:
        return self.run_dir(run_id) / f"part-{int(chunk):06d}.parquet"

    def parts_glob(self, run_id: str) -> str:
        """Glob of a run's part files, for ``read_parquet`` in DuckDB or pandas/pyarrow."""
        return str(self.run_dir(run_id) / "part-*.parquet")

    def part_files(self, run_id: str) -> builtins.list[Path]:
        """A run's part files, in chunk order (temporary files excluded)."""
        return sorted(self.run_dir(run_id).glob("part-*.parquet"))

    def write_part(self, run_id: str, chunk: int, table: Any) -> Path:
        """Write one chunk of a run's bulk results atomically and mark the chunk ``done``.

        The part's row count and SHA-256 are recorded with the chunk. A part file already at
        that place is replaced only if it verifies against what was recorded for it; any other
        file there (damaged, or never recorded) is moved to ``quarantine/`` first, never
        overwritten.

        Parameters
        ----------
        run_id
            A stored run (see :meth:`open_run`).
        chunk
            Chunk number (>= 0); writing the same chunk again replaces it.
        table
            A ``pyarrow.Table`` or a pandas ``DataFrame`` (its index is dropped).

        Returns
        -------
        Path
            ``parts/<run_id>/part-<chunk:06d>.parquet``.
        """
        import pyarrow as pa

        self._check_writable()
        chunk = int(chunk)
        if chunk < 0:
            raise StoreError(f"chunk numbers start at 0, got {chunk}")
        run_id = self.resolve(run_id)
        if not isinstance(table, pa.Table):
            try:
                table = pa.Table.from_pandas(table, preserve_index=False)
            except Exception as exc:  # noqa: BLE001 - pyarrow raises many types
                raise StoreError(f"chunk {chunk} of run {run_id}: cannot convert to an Arrow table ({exc})") from None
        path = self.part_path(run_id, chunk)
        data = self._parquet_bytes(table, path)
        digest = hashlib.sha256(data).hexdigest()
        if path.exists():
            rec = {c["chunk"]: c for c in self.chunks(run_id)}.get(chunk)
            if rec is None or rec["status"] != "done":
                # e.g. killed between the rename and the catalogue update: the same bytes are
                # simply recorded; anything else is kept aside
                why = None if sha256_file(path) == digest else "no chunk row records it"
            else:
                why = verify_part(path, n_rows=rec["n_rows"], sha256=rec.get("sha256"))
            if why is not None:
                try:
                    quarantine(self.root, path, f"run {run_id} chunk {chunk}: {why}; replaced by a recomputed part")
                except OSError as exc:
                    raise StoreError(f"cannot move the unverified part {path} to quarantine ({exc.strerror or exc}); "
                                     "it was left in place and nothing was written") from None
        self._write_file(data, path)
        self.mark_chunk(run_id, chunk, "done", n_rows=table.num_rows, sha256=digest)
        st = path.stat()
        self._verified[str(path)] = (st.st_size, st.st_mtime_ns, digest)  # written from these very bytes
        return path

    def read_part(self, run_id: str, chunk: int) -> Any:
        """One part as a pandas DataFrame.

        Raises
        ------
        DamagedRunError
            The part is missing or cannot be read.
        """
        import pyarrow.parquet as pq

        run_id = self.resolve(run_id)
        path = self.part_path(run_id, chunk)
        if not path.exists():
            raise StoreError(f"run {run_id} has no part {chunk}")
        try:
            return pq.read_table(path).to_pandas()
        except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for damaged files
            raise self._damaged(run_id, [(int(chunk), path, f"it cannot be read ({exc})")]) from None

    def mark_chunk(self, run_id: str, chunk: int, status: str, n_rows: int | None = None,
                   sha256: str | None = None) -> None:
        """Record the status of a chunk (see :data:`CHUNK_STATUSES`), with the row count and
        SHA-256 of its part when known."""
        if status not in CHUNK_STATUSES:
            raise StoreError(f"unknown chunk status {status!r}; expected one of {', '.join(CHUNK_STATUSES)}")
        run_id = self.resolve(run_id)
        with self._tx() as con:
            con.execute(
                "INSERT INTO chunks (run_id, chunk, status, n_rows, created, sha256) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(run_id, chunk) DO UPDATE SET status=excluded.status, "
                "n_rows=COALESCE(excluded.n_rows, chunks.n_rows), created=excluded.created, "
                "sha256=CASE WHEN excluded.status='done' THEN COALESCE(excluded.sha256, chunks.sha256) "
                "ELSE chunks.sha256 END",
                (run_id, int(chunk), status, n_rows, _now(), sha256),
            )

    @_consistent_read
    def _chunk_rows(self, run_id: str) -> builtins.list[dict[str, Any]]:
        sha = "sha256" if self._has_sha else "NULL AS sha256"
        with self._tx(write=False) as con:
            rows = con.execute(f"SELECT chunk, status, n_rows, created, {sha} FROM chunks WHERE run_id=? "
                               "ORDER BY chunk", (run_id,)).fetchall()
        return [dict(r) for r in rows]

    def chunks(self, run_id: str) -> builtins.list[dict[str, Any]]:
        """Chunk rows of a run: ``{"chunk", "status", "n_rows", "created", "sha256"}``, in chunk order."""
        return self._chunk_rows(self.resolve(run_id))

    def part_problems(self, run_id: str, *, full: bool = True) -> builtins.list[tuple[int, Path, str]]:
        """Damaged or missing parts of a run: ``(chunk, path, what is wrong)`` for each chunk
        recorded ``done`` whose part fails :func:`~detente.store.files.verify_part`, and each
        chunk marked ``damaged``. ``full=False`` reads only footers (cheap); ``full=True`` also
        checks checksums (every byte) or decodes parts recorded without one."""
        run_id = self.resolve(run_id)
        out = []
        for c in self.chunks(run_id):
            path = self.part_path(run_id, c["chunk"])
            if c["status"] == "damaged":
                out.append((c["chunk"], path, "it was found damaged or missing and moved to quarantine"))
            elif c["status"] == "done":
                try:
                    st = path.stat()
                    stamp = (st.st_size, st.st_mtime_ns, c.get("sha256"))
                except OSError:
                    stamp = None
                if full and stamp is not None and self._verified.get(str(path)) == stamp:
                    continue  # verified in full already, unchanged since
                why = verify_part(path, n_rows=c["n_rows"], sha256=c.get("sha256"), full=full)
                if why is not None:
                    out.append((c["chunk"], path, why))
                elif full and stamp is not None:
                    self._verified[str(path)] = stamp
        return out

    def check_parts(self, run_id: str, *, full: bool = True) -> None:
        """Raise :class:`~detente.errors.DamagedRunError` if a part of the run is missing or
        damaged (see :meth:`part_problems`); readers call it before reading a run's parts, so
        a changed byte gives a named error, never a wrong number. A part verified in full is
        not hashed again by the same :class:`Store` while its size and time stay the same."""
        run_id = self.resolve(run_id)
        probs = self.part_problems(run_id, full=full)
        if probs:
            raise self._damaged(run_id, probs)

    def _damaged(self, run_id: str, probs: builtins.list[tuple[int, Path, str]]) -> DamagedRunError:
        try:
            kind = self.info(run_id).kind
        except StoreError:  # pragma: no cover - the row vanished in between
            kind = None
        listed = "; ".join(f"chunk {c} ({p}): {why}" for c, p, why in probs[:5])
        more = f"; and {len(probs) - 5} more" if len(probs) > 5 else ""
        fix = (f"`detente sweep resume {run_id}` recomputes them (same seeds, same bytes)" if kind == "sweep"
               else "run it again to recompute them")
        return DamagedRunError(
            f"run {run_id} is damaged: {len(probs)} of its parts cannot be used — {listed}{more}. "
            f"{fix}; {self._hint()}"
        )

    def missing_chunks(self, run_id: str, n_chunks: int) -> builtins.list[int]:
        """Chunks in ``range(n_chunks)`` still to do: not marked ``done``, or whose part file is
        gone or damaged (checked against its recorded row count and checksum)."""
        run_id = self.resolve(run_id)
        damaged = {c for c, _, _ in self.part_problems(run_id, full=True)}
        done = {c["chunk"] for c in self.chunks(run_id) if c["status"] == "done"}
        return [c for c in range(int(n_chunks)) if c not in done or c in damaged]

    def _parquet_bytes(self, table: Any, path: Path) -> bytes:
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            buf = pa.BufferOutputStream()
            pq.write_table(table, buf)
            return buf.getvalue().to_pybytes()
        except Exception as exc:  # noqa: BLE001 - pyarrow raises many types
            raise StoreError(f"cannot write {path}: {exc}") from None

    def _write_file(self, data: bytes, path: Path) -> None:
        self._check_writable()
        try:
            atomic_write_bytes(path, data)
        except OSError as exc:
            raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from None

    def _atomic_parquet(self, table: Any, path: Path) -> str:
        """Write a Parquet file through a temporary file, flushed and renamed into place;
        return the SHA-256 of its bytes."""
        self._check_writable()
        data = self._parquet_bytes(table, path)
        self._write_file(data, path)
        return hashlib.sha256(data).hexdigest()

    # ------------------------------------------------------------------ trajectories
    def _trajectory_path(self, run_id: str) -> Path:
        return self.run_dir(run_id) / "trajectory.parquet"

    def _write_trajectory(self, run_id: str, result: RunResult) -> None:
        if not _has_rounds(result):
            return
        self._atomic_parquet(trajectory_table(result), self._trajectory_path(run_id))

    def trajectory(self, ref: str) -> Any:
        """A run's per-round positions as a long DataFrame (``issue, round, actor, position``);
        empty for models without rounds. Round numbers start at 1.

        Raises
        ------
        DamagedRunError
            The trajectory file exists but cannot be read.
        """
        import pandas as pd
        import pyarrow.parquet as pq

        run_id = self.resolve(ref)
        path = self._trajectory_path(run_id)
        if not path.exists():
            return pd.DataFrame({c: pd.Series(dtype=t) for c, t in
                                 zip(TRAJECTORY_COLUMNS, ("object", "int64", "object", "float64"))})
        try:
            return pq.read_table(path).to_pandas()
        except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for damaged files
            raise DamagedRunError(
                f"run {run_id}: its trajectory file {path} cannot be read ({exc}); the forecasts are intact. "
                f"`detente runs repair --store {self.root}` rebuilds it from the stored result"
            ) from None

    # ------------------------------------------------------------------ queries
    def query(self, sql: str, run_id: str | None = None) -> Any:
        """Run a DuckDB SQL query; return a pandas DataFrame.

        Views available to the query: ``runs`` (the catalogue metadata, one row per run) and,
        when ``run_id`` is given, ``parts`` (all part files of that run, columns unioned by
        name) and ``trajectory`` (its per-round positions). Each call uses a fresh in-memory
        DuckDB database, so queries cannot change the store.

        Raises
        ------
        InputError
            The SQL is invalid.
        DamagedRunError
            A part of the run is missing or damaged (checked before reading: footers and row
            counts; and after a failed read: checksums), naming the files.
        StoreError
            The run has no parts but the query reads ``parts``, or a file cannot be read.
        """
        import duckdb
        import pandas as pd

        con = duckdb.connect(":memory:")
        try:
            infos = [i.to_json_dict() for i in self.list(limit=None)]
            runs_df = pd.DataFrame(infos, columns=list(RunInfo.__dataclass_fields__.keys()) if not infos else None)
            if infos:
                runs_df["params"] = runs_df["params"].map(lambda p: json.dumps(p, sort_keys=True))
                runs_df["meta"] = runs_df["meta"].map(lambda p: json.dumps(p, sort_keys=True))
                runs_df["seed"] = runs_df["seed"].map(lambda s: None if s is None else str(s))
            con.register("_runs_df", runs_df)
            con.execute("CREATE VIEW runs AS SELECT * FROM _runs_df")
            rid = None
            if run_id is not None:
                rid = self.resolve(run_id)
                self.check_parts(rid)
                files = [str(p) for p in self.part_files(rid)]
                traj = self._trajectory_path(rid)
                try:
                    if files:
                        con.read_parquet(files, union_by_name=True).create_view("parts")
                    if traj.exists():
                        con.read_parquet(str(traj)).create_view("trajectory")
                except duckdb.Error as exc:
                    raise self.read_error(rid, exc) from None
            try:
                return con.execute(sql).df()
            except duckdb.CatalogException as exc:
                if run_id is not None and "parts" in str(exc) and not self.part_files(self.resolve(run_id)):
                    raise StoreError(f"run {run_id} has no parts to query") from None
                raise InputError(Problem(f"invalid query: {exc}", column="sql", value=sql)) from None
            except (duckdb.ParserException, duckdb.BinderException) as exc:
                raise InputError(Problem(f"invalid query: {exc}", column="sql", value=sql)) from None
            except duckdb.Error as exc:
                if rid is not None:
                    raise self.read_error(rid, exc) from None
                raise StoreError(f"query failed: {exc}") from None
        finally:
            con.close()

    def read_error(self, run_id: str, exc: BaseException) -> StoreError:
        """The error for a failed read of a run's files: :class:`DamagedRunError` naming the
        damaged parts when a full check finds them, else a plain :class:`StoreError`."""
        probs = self.part_problems(run_id, full=True)
        traj = self._trajectory_path(run_id)
        if not probs and traj.exists() and verify_part(traj) is not None:
            probs = [(-1, traj, verify_part(traj) or "")]
        if probs:
            return self._damaged(run_id, probs)
        return StoreError(f"reading the files of run {run_id} failed: {exc}")


def _has_rounds(result: RunResult) -> bool:
    return any(ir.rounds for ir in result.issues.values())


def trajectory_table(result: RunResult) -> Any:
    """The long ``issue, round, actor, position`` Arrow table of a result's rounds (rounds from 1)."""
    import pyarrow as pa

    issue: list[str] = []
    rnd: list[int] = []
    actor: list[str] = []
    pos: list[float | None] = []
    for iid, ir in result.issues.items():
        for k, rr in enumerate(ir.rounds, start=1):
            for a, x in rr.positions.items():
                issue.append(iid)
                rnd.append(k)
                actor.append(str(a))
                pos.append(None if x is None else float(x))
    return pa.table({
        "issue": pa.array(issue, pa.string()),
        "round": pa.array(rnd, pa.int64()),
        "actor": pa.array(actor, pa.string()),
        "position": pa.array(pos, pa.float64()),
    })
