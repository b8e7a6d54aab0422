"""Checking and repairing a run store (``detente runs check`` / ``detente runs repair``).

:func:`check_store` reads only (the catalogue is opened read-only, see
:class:`~detente.store.Store`), so it works on a read-only store. It looks at:

* the catalogue file: present, not empty, a SQLite header, not truncated, and SQLite's own
  ``PRAGMA integrity_check``;
* every chunk recorded ``done``: its part exists, is a readable Parquet file with the
  recorded row count, and has the recorded SHA-256 (parts written before checksums were
  recorded are decoded in full instead); chunks marked ``damaged`` await recomputation;
* part files no chunk row records; runs of chunks (sweeps, crisis runs) that have no parts;
  forecast runs whose trajectory file is missing or unreadable;
* folders under ``parts/`` that belong to no run (with or without a ``run.json`` manifest);
  temporary files and half-finished deletions left by a crash.

:func:`repair_store` fixes what can be fixed and deletes nothing: an unreadable catalogue is
moved to ``quarantine/`` and a new one is built from the rows that can still be read from it
and from the runs' ``run.json`` manifests; damaged parts are moved to ``quarantine/`` and
their chunks marked ``damaged`` (``detente sweep resume`` recomputes them, with the same
seeds and so the same bytes); readable parts no row records are recorded; trajectories are
rewritten from the stored results; a forecast catalogued under a key that is not its result's
run key is re-keyed; folders of unknown runs without a manifest, stale
temporary files and half-finished deletions are moved to ``quarantine/``. It refuses to start
while another process has the store open for writing (:class:`~detente.store.files.StoreLock`).
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from detente.errors import StoreError
from detente.store.files import (
    QUARANTINE_DIR,
    StoreLock,
    catalogue_state,
    quarantine,
    read_json,
    sha256_file,
    verify_part,
)

__all__ = ["Finding", "CheckReport", "RepairReport", "check_store", "repair_store", "FINDING_KINDS",
           "STALE_TEMP_SECONDS"]

#: Kinds of :class:`Finding`.
FINDING_KINDS = (
    "catalogue",            # the catalogue file is missing (with parts present), empty, truncated, foreign or fails integrity_check
    "part_missing",         # a chunk is recorded done but its part file is gone
    "part_damaged",         # a chunk's part cannot be read, or its rows/checksum differ from the record
    "chunk_damaged",        # a chunk marked damaged by an earlier repair, waiting to be recomputed
    "part_unrecorded",      # a part file that no chunk row records as done
    "run_without_parts",    # a finished run of chunks with no chunk stored at all
    "trajectory_damaged",   # a forecast's trajectory file is missing or unreadable
    "orphan_folder",        # a folder under parts/ that belongs to no run in the catalogue
    "leftover",             # a temporary file or a half-finished deletion left by a crash
    "key_mismatch",         # a forecast's catalogue key is not its result's run_key, or the run_key not its content's
    "result_damaged",       # a forecast's stored result cannot be read back as a result
)

#: How many derived keys (a run key already holding another result, see
#: :meth:`~detente.store.Store.save_run`) a catalogue key may be from its result's run key.
KEY_CHAIN = 16

#: Temporary files older than this (seconds) are taken as left by a crash; younger ones may
#: belong to a write in progress and are left alone by ``runs repair``.
STALE_TEMP_SECONDS = 3600.0


@dataclass(frozen=True)
class Finding:
    """One thing :func:`check_store` found wrong (see :data:`FINDING_KINDS`)."""

    kind: str
    message: str
    file: str | None = None
    run: str | None = None
    chunk: int | None = None
    repair: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "run": self.run, "chunk": self.chunk, "file": self.file,
                "message": self.message, "repair": self.repair}


@dataclass
class CheckReport:
    """What :func:`check_store` found."""

    root: Path
    catalogue: dict[str, Any]
    runs: int = 0
    parts_checked: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def to_json_dict(self) -> dict[str, Any]:
        return {"store": str(self.root), "ok": self.ok, "catalogue": dict(self.catalogue), "runs": self.runs,
                "parts_checked": self.parts_checked, "problems": [f.to_dict() for f in self.findings]}


@dataclass
class RepairReport:
    """What :func:`repair_store` did, and the check of the store afterwards."""

    root: Path
    actions: list[dict[str, Any]]
    quarantine: Path | None
    after: CheckReport

    def to_json_dict(self) -> dict[str, Any]:
        return {"store": str(self.root), "actions": list(self.actions),
                "quarantine": None if self.quarantine is None else str(self.quarantine),
                "check": self.after.to_json_dict()}


# ---------------------------------------------------------------------- helpers


def _run_folders(root: Path) -> list[Path]:
    parts = root / "parts"
    if not parts.is_dir():
        return []
    return sorted(p for p in parts.iterdir() if p.is_dir() and not p.name.startswith("."))


def _leftovers(root: Path) -> list[tuple[Path, float, str]]:
    """Temporary files and half-finished deletions: ``(path, age in seconds, what)``."""
    now = time.time()
    out = []
    cands = list(root.glob(".*.tmp"))
    parts = root / "parts"
    if parts.is_dir():
        cands += list(parts.glob("*/.*.tmp"))
        cands += [p for p in parts.iterdir() if p.is_dir() and p.name.startswith(".deleted-")]
    for p in sorted(cands):
        try:
            age = now - p.stat().st_mtime
        except OSError:
            continue
        what = "a half-finished deletion" if p.name.startswith(".deleted-") else "a temporary file"
        out.append((p, age, what))
    return out


def _chunk_no(path: Path) -> int | None:
    try:
        return int(path.stem.split("-")[1])
    except (IndexError, ValueError):
        return None


def _has_rounds(result_json: str | None) -> bool:
    if not result_json:
        return False
    try:
        d = json.loads(result_json)
    except ValueError:
        return False
    return any((ir or {}).get("rounds") for ir in (d.get("issues") or {}).values())


def _integrity(store: Any) -> list[str]:
    """Messages of ``PRAGMA integrity_check`` (``[]`` when the catalogue is sound)."""
    con = store._connect()
    try:
        rows = [r[0] for r in con.execute("PRAGMA integrity_check(20)").fetchall()]
    except sqlite3.Error as exc:
        return [str(exc)]
    finally:
        con.close()
    return [] if rows == ["ok"] else rows


# ---------------------------------------------------------------------- check


def check_store(root: str | Path, *, full: bool = True) -> CheckReport:
    """Check a store without writing to it (see the module docstring).

    Parameters
    ----------
    root
        The store root.
    full
        Verify every part's checksum (reads every byte); ``False`` reads only the Parquet
        footers and row counts.

    Raises
    ------
    StoreError
        ``root`` does not exist or is not a directory.
    """
    from detente.errors import CatalogueError
    from detente.store.core import MANIFEST_NAME, Store

    root = Path(root).expanduser()
    if not root.is_dir():
        raise StoreError(f"there is no store at {root} (no such directory)")
    cat_path = root / "catalog.sqlite"
    state, detail = catalogue_state(cat_path)
    cat: dict[str, Any] = {"path": str(cat_path), "state": state, "schema_version": None, "integrity": None}
    findings: list[Finding] = []
    folders = _run_folders(root)
    rebuild = "`detente runs repair` moves it to quarantine/ and builds a new catalogue from the rows it can " \
              "still read and from the runs' run.json manifests"
    store = None
    if state == "missing":
        if folders:
            findings.append(Finding("catalogue", f"{cat_path} is missing but parts/ holds {len(folders)} run folder(s)",
                                    str(cat_path), repair="`detente runs repair` builds a new catalogue from the "
                                    "runs' run.json manifests"))
    elif state != "ok":
        findings.append(Finding("catalogue", detail, str(cat_path), repair=rebuild))
    else:
        try:
            store = Store(root, readonly=True)
            problems = _integrity(store)
            cat["integrity"] = problems if problems else "ok"
            if problems:
                findings.append(Finding("catalogue", f"SQLite integrity_check reports: {'; '.join(problems[:5])}",
                                        str(cat_path), repair=rebuild))
            con = store._connect()
            try:
                cat["schema_version"] = con.execute("PRAGMA user_version").fetchone()[0]
            finally:
                con.close()
            runs = store.list(limit=None)
        except (CatalogueError, StoreError) as exc:
            if not any(f.kind == "catalogue" for f in findings):
                findings.append(Finding("catalogue", str(exc).split(". It was left")[0], str(cat_path), repair=rebuild))
            store, runs = None, []
    report = CheckReport(root, cat)
    known: set[str] = set()
    if store is not None:
        report.runs = len(runs)
        for info in runs:
            known.add(info.run_id)
            try:
                _check_run(store, info, findings, report, full)
            except StoreError as exc:  # a damaged catalogue page under this run's rows
                if not any(f.kind == "catalogue" for f in findings):
                    findings.append(Finding("catalogue", str(exc).split(". It was left")[0], str(cat_path),
                                            repair=rebuild))
    for folder in folders:
        if folder.name in known:
            continue
        if store is None and state != "ok" and not (folder / MANIFEST_NAME).exists():
            msg = f"{folder} has no run.json manifest; with the catalogue unreadable it cannot be tied to a run"
        elif store is None and (folder / MANIFEST_NAME).exists():
            msg = f"{folder} belongs to no readable catalogue row; its run.json manifest can rebuild the row"
        else:
            msg = f"{folder} belongs to no run in the catalogue"
        has_manifest = (folder / MANIFEST_NAME).exists()
        findings.append(Finding("orphan_folder", msg, str(folder), run=folder.name,
                                repair="`detente runs repair` rebuilds the run from its run.json manifest" if has_manifest
                                else "`detente runs repair` moves the folder to quarantine/"))
    for path, age, what in _leftovers(root):
        findings.append(Finding("leftover", f"{path} is {what} left by an interrupted write ({age / 60:.0f} min old)",
                                str(path), repair="`detente runs repair` moves it to quarantine/ once it is over "
                                f"{STALE_TEMP_SECONDS / 3600:g} h old (younger ones may be a write in progress)"))
    report.findings = findings
    return report


def _check_run(store: Any, info: Any, findings: list[Finding], report: CheckReport, full: bool) -> None:
    rid = info.run_id
    chunks = store.chunks(rid)
    recorded = {c["chunk"] for c in chunks if c["status"] == "done"}
    hint = f"`detente sweep resume {rid}` recomputes it" if info.kind == "sweep" else "run it again to recompute it"
    for c in chunks:
        path = store.part_path(rid, c["chunk"])
        if c["status"] == "damaged":
            findings.append(Finding("chunk_damaged", f"chunk {c['chunk']} of run {rid} was found damaged and its part "
                                    "moved to quarantine; it has not been recomputed yet", str(path), rid, c["chunk"],
                                    hint))
        elif c["status"] == "done":
            report.parts_checked += 1
            why = verify_part(path, n_rows=c["n_rows"], sha256=c.get("sha256"), full=full)
            if why is not None:
                kind = "part_missing" if not path.exists() else "part_damaged"
                findings.append(Finding(kind, f"chunk {c['chunk']} of run {rid}: {why}", str(path), rid, c["chunk"],
                                        "`detente runs repair` moves it to quarantine/ and marks the chunk damaged; "
                                        f"then {hint}"))
    for p in store.part_files(rid):
        n = _chunk_no(p)
        if n is not None and n not in recorded and not any(c["chunk"] == n and c["status"] == "damaged" for c in chunks):
            findings.append(Finding("part_unrecorded", f"{p} is a part no chunk row records as done (a write "
                                    "interrupted between the file and the catalogue)", str(p), rid, n,
                                    "`detente runs repair` records it if it can be read, else moves it to quarantine/"))
    if info.kind != "forecast" and info.status == "done" and not chunks and not store.part_files(rid):
        findings.append(Finding("run_without_parts", f"run {rid} ({info.kind}) is finished but has no stored chunk",
                                str(store.run_dir(rid)), rid, repair="nothing to rebuild it from: run it again"))
    if info.kind == "forecast" and info.status == "done":
        _check_key(store, info, findings)
    if info.kind == "forecast":
        traj = store._trajectory_path(rid)
        if traj.exists():
            why = verify_part(traj, full=True)
            if why is not None:
                findings.append(Finding("trajectory_damaged", f"trajectory of run {rid}: {why}", str(traj), rid,
                                        repair="`detente runs repair` moves it to quarantine/ and rewrites it from "
                                        "the stored result"))
        elif info.status == "done" and _has_rounds(store._row(rid, "result")["result"]):
            findings.append(Finding("trajectory_damaged", f"trajectory of run {rid}: the file is missing", str(traj),
                                    rid, repair="`detente runs repair` rewrites it from the stored result"))


def _key_chain(run_key: str, rhash: str) -> list[str]:
    """The catalogue keys a result with this run key and result hash may be stored under: the
    run key, then the keys :meth:`~detente.store.Store.save_run` derives when a key already
    names another result (``sha256(key:result_hash)``, repeated)."""
    import hashlib

    keys = [run_key]
    for _ in range(KEY_CHAIN):
        keys.append(hashlib.sha256(f"{keys[-1]}:{rhash}".encode()).hexdigest())
    return keys


def _result_keys(text: str | None) -> tuple[str | None, str | None, str | None, str | None]:
    """``(recorded run_key, run_key of the content, result hash, why unreadable)`` of a stored
    result's JSON text."""
    from detente.result import RunResult, result_hash

    try:
        d = json.loads(text or "")
        if not isinstance(d, dict):
            raise ValueError("not a JSON object")
        content = RunResult.from_json_dict({k: v for k, v in d.items() if k != "run_key"})
    except ValueError as exc:
        return None, None, None, str(exc)
    return d.get("run_key"), content.key, result_hash(d), None


def _check_key(store: Any, info: Any, findings: list[Finding]) -> None:
    """A stored forecast's keys agree: the result's ``run_key`` is the key of its content, and
    the catalogue key is that run key (or one derived from it, see :func:`_key_chain`)."""
    rid = info.run_id
    text = store._row(rid, "result")["result"]
    if text is None:
        return
    recorded, content, rhash, why = _result_keys(text)
    if why is not None:
        findings.append(Finding("result_damaged", f"the stored result of run {rid} cannot be read: {why}", None, rid,
                                repair="nothing to rebuild it from: run it again (`detente runs delete` removes it)"))
    elif recorded is not None and recorded != content:
        findings.append(Finding("key_mismatch", f"the stored result of run {rid} records run_key {recorded}, but "
                                f"its content has run_key {content}: the result was altered after it was stored",
                                None, rid, repair="nothing to rebuild it from: run it again (`detente runs delete` "
                                "removes it)"))
    elif content is not None and rhash is not None and info.key not in _key_chain(content, rhash):
        findings.append(Finding("key_mismatch", f"run {rid} is catalogued under key {info.key}, but its result has "
                                f"run_key {content}: a look-up by key would find the wrong run",
                                None, rid, repair="`detente runs repair` catalogues it under its result's key"))


# ---------------------------------------------------------------------- repair


_RUN_COLS = ("run_id", "key", "kind", "model", "variant", "seed", "params", "input_hash", "scenario_name", "label",
             "created", "updated", "version", "status", "result", "scenario", "meta")
_CHUNK_COLS = ("run_id", "chunk", "status", "n_rows", "created", "sha256")


def _salvage(path: Path) -> tuple[dict[str, list[dict]], dict[str, str], list[str]]:
    """Rows that can still be read from a damaged catalogue: table -> rows, the ``CREATE``
    statements of its other tables (e.g. ``jobs``, :mod:`detente.store.jobs`), and notes."""
    notes: list[str] = []
    tables: dict[str, list[dict]] = {"runs": [], "chunks": []}
    schemas: dict[str, str] = {}
    if not path.exists() or path.stat().st_size == 0:
        return tables, schemas, notes
    try:
        con = sqlite3.connect(path.resolve().as_uri() + "?mode=ro&immutable=1", uri=True)
        con.row_factory = sqlite3.Row
    except sqlite3.Error as exc:
        return tables, schemas, [f"nothing could be read from {path}: {exc}"]
    try:
        try:
            for r in con.execute("SELECT name, sql FROM sqlite_master WHERE type='table'"):
                if r["name"] not in tables and not r["name"].startswith("sqlite_") and r["sql"]:
                    schemas[r["name"]] = r["sql"]
                    tables[r["name"]] = []
        except sqlite3.Error as exc:
            notes.append(f"the list of tables of {path} cannot be read ({exc})")
        for table, out in tables.items():
            try:
                out.extend(dict(r) for r in con.execute(f"SELECT * FROM {table}"))
                continue
            except sqlite3.Error:
                out.clear()
            # the table cannot be read in one go: row by row, skipping the unreadable ones
            try:
                ids = [r[0] for r in con.execute(f"SELECT rowid FROM {table}")]
            except sqlite3.Error as exc:
                notes.append(f"table {table} of {path} cannot be read ({exc})")
                continue
            lost = 0
            for i in ids:
                try:
                    row = con.execute(f"SELECT * FROM {table} WHERE rowid=?", (i,)).fetchone()
                except sqlite3.Error:
                    lost += 1
                    continue
                if row is not None:
                    out.append(dict(row))
            if lost:
                notes.append(f"{lost} row(s) of table {table} could not be read from {path}")
    finally:
        con.close()
    return tables, schemas, notes


def _insert(con: sqlite3.Connection, table: str, cols: tuple[str, ...], row: dict) -> bool:
    use = [c for c in cols if c in row]
    cur = con.execute(f"INSERT OR IGNORE INTO {table} ({', '.join(use)}) VALUES ({', '.join('?' * len(use))})",
                      [row[c] for c in use])
    return cur.rowcount > 0


def repair_store(root: str | Path) -> RepairReport:
    """Repair a store (see the module docstring); returns what was done and a new check.

    Nothing is deleted: whatever cannot be used is moved to
    ``<root>/quarantine/<time>-<pid>/`` with its reason in ``reasons.jsonl`` there.
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise StoreError(f"there is no store at {root} (no such directory)")
    lock = StoreLock(root, exclusive=True)  # refuses while another process uses the store
    try:
        return _repair_locked(root)
    finally:
        lock.release()


def _repair_locked(root: Path) -> RepairReport:
    import os

    from detente.store.core import MANIFEST_NAME, Store
    from detente.store.files import _stamp

    session = f"{_stamp()}-{os.getpid()}"
    qdir = root / QUARANTINE_DIR / session
    actions: list[dict[str, Any]] = []

    def act(action: str, detail: str, file: Any = None, run: str | None = None, chunk: int | None = None) -> None:
        actions.append({"action": action, "run": run, "chunk": chunk, "file": None if file is None else str(file),
                        "detail": detail})

    def move(path: Path, reason: str, run: str | None = None, chunk: int | None = None) -> Path:
        dest = quarantine(root, path, reason, session=session)
        act("quarantined", f"{reason}; moved to {dest}", path, run, chunk)
        return dest

    # 1. the catalogue
    cat_path = root / "catalog.sqlite"
    before = check_store(root, full=False)
    cat_bad = any(f.kind == "catalogue" for f in before.findings) and cat_path.exists()
    salvaged: dict[str, list[dict]] = {"runs": [], "chunks": []}
    schemas: dict[str, str] = {}
    if cat_bad:
        reason = next(f.message for f in before.findings if f.kind == "catalogue")
        moved = move(cat_path, f"damaged catalogue: {reason}")
        for suffix in ("-wal", "-shm"):
            side = Path(str(cat_path) + suffix)
            if side.exists():
                move(side, "belongs to the damaged catalogue")
        salvaged, schemas, notes = _salvage(moved)
        for n in notes:
            act("salvage", n, moved)
    store = Store(root)  # creates a new catalogue if there is none
    if cat_bad or (before.catalogue["state"] == "missing"):
        with store._tx() as con:
            n_runs = sum(_insert(con, "runs", _RUN_COLS, r) for r in salvaged["runs"] if r.get("run_id") and r.get("key"))
            ids = {r["run_id"] for r in con.execute("SELECT run_id FROM runs")}
            n_chunks = sum(_insert(con, "chunks", _CHUNK_COLS, c) for c in salvaged["chunks"] if c.get("run_id") in ids)
            others = []
            for name, sql in schemas.items():  # tables other parts of detente keep in the catalogue
                try:
                    con.execute(sql.replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS", 1)
                                if "IF NOT EXISTS" not in sql.upper() else sql)
                    cols = tuple(r[1] for r in con.execute(f'PRAGMA table_info("{name}")'))
                    n_rows = sum(_insert(con, f'"{name}"', cols, row) for row in salvaged.get(name, []))
                    others.append(f"{n_rows} row(s) of table {name}")
                except sqlite3.Error as exc:
                    act("salvage", f"table {name} could not be recreated ({exc})", cat_path)
        if cat_bad:
            act("catalogue_rebuilt", f"new catalogue with {n_runs} run(s) and {n_chunks} chunk row(s)"
                + "".join(f", {o}" for o in others) + " read back from the damaged one", cat_path)

    # 2. folders of runs the catalogue does not know
    with store._tx(write=False) as con:
        rows = {r["run_id"]: r["key"] for r in con.execute("SELECT run_id, key FROM runs")}
    keys = set(rows.values())
    for folder in _run_folders(root):
        if folder.name in rows:
            continue
        man = read_json(folder / MANIFEST_NAME)
        row = (man or {}).get("row") if isinstance(man, dict) else None
        if isinstance(row, dict) and row.get("run_id") == folder.name and row.get("key") and row["key"] not in keys:
            row = {**row, "status": "running"}  # settled below from its chunks
            with store._tx() as con:
                _insert(con, "runs", _RUN_COLS, row)
            rows[folder.name] = row["key"]
            keys.add(row["key"])
            act("run_rebuilt", f"run {folder.name} ({row.get('kind')}, {row.get('model')}) restored from its manifest",
                folder / MANIFEST_NAME, folder.name)
        else:
            why = ("its run.json manifest names another run or a key already stored" if row is not None
                   else "it belongs to no run and has no readable run.json manifest")
            move(folder, f"parts folder {folder.name}: {why}", folder.name)

    # 3. every run's parts
    for info in store.list(limit=None):
        _repair_run(store, info, move, act)

    # 4. leftovers of crashes
    for path, age, what in _leftovers(root):
        if age >= STALE_TEMP_SECONDS:
            move(path, f"{what} left by an interrupted write")
    after = check_store(root, full=True)
    return RepairReport(root, actions, qdir if qdir.exists() else None, after)


def _repair_run(store: Any, info: Any, move: Any, act: Any) -> None:
    rid = info.run_id
    chunks = {c["chunk"]: c for c in store.chunks(rid)}
    damaged = False
    for n, c in sorted(chunks.items()):
        path = store.part_path(rid, n)
        if c["status"] == "damaged":
            damaged = True
        elif c["status"] == "done":
            why = verify_part(path, n_rows=c["n_rows"], sha256=c.get("sha256"), full=True)
            if why is not None:
                if path.exists():
                    move(path, f"run {rid} chunk {n}: {why}", rid, n)
                store.mark_chunk(rid, n, "damaged")
                act("chunk_marked_damaged", f"chunk {n}: {why}", path, rid, n)
                damaged = True
    for p in store.part_files(rid):
        n = _chunk_no(p)
        if n is None or (n in chunks and chunks[n]["status"] in ("done",)) or not p.exists():
            continue
        why = verify_part(p, full=True)
        if why is None:
            import pyarrow.parquet as pq

            store.mark_chunk(rid, n, "done", n_rows=pq.ParquetFile(p).metadata.num_rows, sha256=sha256_file(p))
            chunks[n] = {"status": "done"}
            act("part_recorded", f"readable part recorded as chunk {n} (done)", p, rid, n)
        else:
            move(p, f"run {rid} chunk {n}: an unrecorded part that {why}", rid, n)
    done = {c["chunk"] for c in store.chunks(rid) if c["status"] == "done"}
    n_chunks = info.meta.get("n_chunks") if isinstance(info.meta, dict) else None
    if damaged:
        status = "damaged"
    elif isinstance(n_chunks, int) and done >= set(range(n_chunks)) and info.status != "failed":
        status = "done"  # every chunk is there (e.g. killed just before the run was finished)
    else:
        status = info.status
    if info.kind != "forecast" and status != info.status:
        with store._tx() as con:
            con.execute("UPDATE runs SET status=? WHERE run_id=?", (status, rid))
        act("status_set", f"run status {info.status} -> {status}", None, rid)
    if info.kind == "forecast" and info.status == "done":
        _repair_key(store, info, act)
    if info.kind == "forecast" and info.status == "done":
        traj = store._trajectory_path(rid)
        bad = traj.exists() and verify_part(traj, full=True) is not None
        if bad:
            move(traj, f"run {rid}: unreadable trajectory", rid)
        if bad or not traj.exists():
            try:
                res = store.get(rid)
            except StoreError:
                return
            if any(ir.rounds for ir in res.issues.values()):
                store._write_trajectory(rid, res)
                act("trajectory_rewritten", "trajectory rewritten from the stored result", traj, rid)


def _repair_key(store: Any, info: Any, act: Any) -> None:
    """Catalogue a forecast under its result's key (see :func:`_check_key`): the run key if no
    other row holds it, else the first key derived from it that none holds (as
    :meth:`~detente.store.Store.save_run` would have chosen)."""
    rid = info.run_id
    recorded, content, rhash, why = _result_keys(store._row(rid, "result")["result"])
    if why is not None or content is None or rhash is None or (recorded is not None and recorded != content):
        return  # the result itself is damaged: nothing to key it with
    chain = _key_chain(content, rhash)
    if info.key in chain:
        return
    with store._tx() as con:
        held = {r["key"]: r["run_id"] for r in con.execute(
            f"SELECT key, run_id FROM runs WHERE key IN ({', '.join('?' * len(chain))}) AND run_id<>?", (*chain, rid))}
        new = next((k for k in chain if k not in held), None)
        if new is None:
            return
        meta = dict(info.meta) if isinstance(info.meta, dict) else {}
        if new != content:
            meta.update({"same_inputs_as": held[content], "run_key": content, "result_hash": rhash})
        else:
            for k in ("same_inputs_as", "run_key", "result_hash"):
                meta.pop(k, None)
        con.execute("UPDATE runs SET key=?, meta=? WHERE run_id=?", (new, json.dumps(meta, sort_keys=True), rid))
    act("key_fixed", f"catalogue key {info.key} -> {new} (the key of its result)", None, rid)
