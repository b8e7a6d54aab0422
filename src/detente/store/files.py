"""Low-level file safety of the run store: catalogue header checks, part verification,
checksums, atomic writes and the quarantine folder.

Nothing here deletes a file. What cannot be trusted is moved into
``<root>/quarantine/<UTC time>-<pid>/`` under its path relative to the store root, and the
reason is appended to ``reasons.jsonl`` in that folder (one JSON object a line: ``path``,
``moved_to``, ``reason``, ``time``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import struct
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = [
    "CATALOGUE_STATES", "catalogue_state", "sha256_file", "verify_part", "atomic_write_bytes",
    "quarantine", "QUARANTINE_DIR",
]

#: Folder (under the store root) that damaged or orphaned files are moved into.
QUARANTINE_DIR = "quarantine"

_MAGIC = b"SQLite format 3\x00"

#: What :func:`catalogue_state` can say about a catalogue file.
CATALOGUE_STATES = ("ok", "missing", "empty", "not_sqlite", "truncated")


def catalogue_state(path: Path) -> tuple[str, str]:
    """Look at a catalogue file's header without opening it as a database.

    Returns ``(state, detail)`` with ``state`` one of :data:`CATALOGUE_STATES`:

    ``missing``
        no file;
    ``empty``
        0 bytes (SQLite would silently take it for a new, empty database);
    ``not_sqlite``
        shorter than a header, or the header's magic string is not SQLite's;
    ``truncated``
        the header records more pages than the file holds (only judged when no
        write-ahead log with content sits beside the file: while one does, the file may
        legitimately be shorter until the next checkpoint);
    ``ok``
        none of these (the pages themselves are checked by SQLite's ``integrity_check``).

    The header layout is SQLite's file format (https://www.sqlite.org/fileformat.html):
    page size at offset 16 (2 bytes, 1 meaning 65536), file change counter at 24, size in
    pages at 28, and the "version-valid-for" number at 92, which equals the change counter
    when the size in pages is valid.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return "missing", f"{path} does not exist"
    if size == 0:
        return "empty", f"{path} is empty (0 bytes)"
    try:
        with open(path, "rb") as fh:
            head = fh.read(100)
    except OSError as exc:
        return "not_sqlite", f"{path} cannot be read ({exc.strerror or exc})"
    if len(head) < 100 or not head.startswith(_MAGIC):
        return "not_sqlite", f"{path} is not a readable SQLite database ({size} bytes, no SQLite header)"
    (page_size,) = struct.unpack(">H", head[16:18])
    page_size = 65536 if page_size == 1 else page_size
    change, n_pages = struct.unpack(">II", head[24:32])
    (valid_for,) = struct.unpack(">I", head[92:96])
    wal = Path(str(path) + "-wal")
    wal_has_frames = wal.exists() and wal.stat().st_size > 32
    if valid_for == change and n_pages and not wal_has_frames and size < n_pages * page_size:
        return "truncated", (f"{path} is truncated: {size} bytes, but its header records "
                             f"{n_pages} pages of {page_size} bytes ({n_pages * page_size} bytes)")
    return "ok", ""


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify_part(path: Path, *, n_rows: int | None = None, sha256: str | None = None, full: bool = True) -> str | None:
    """What is wrong with a Parquet part, or ``None`` if nothing is.

    Checks, in order: the file exists and is not empty; the Parquet footer can be read; the
    row count equals ``n_rows`` when recorded; when ``full`` and a checksum was recorded, its
    SHA-256 equals ``sha256`` (any changed byte is found); when ``full`` and no checksum was
    recorded, every row group can be decoded. With ``full=False`` only the footer and the
    row count are read (cheap: a few kilobytes whatever the part's size).
    """
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.exists():
        return "the part file is missing"
    size = path.stat().st_size
    if size == 0:
        return "the part file is empty (0 bytes)"
    try:
        pf = pq.ParquetFile(path)
        rows = pf.metadata.num_rows
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for damaged files
        return f"it is not a readable Parquet file ({_short(exc)})"
    if n_rows is not None and rows != n_rows:
        return f"it holds {rows} rows, but {n_rows} were recorded when it was written"
    if full and sha256:
        got = sha256_file(path)
        if got != sha256:
            return f"its checksum differs from the one recorded when it was written ({got[:12]}… ≠ {sha256[:12]}…)"
    if full and not sha256:
        try:
            for i in range(pf.num_row_groups):
                pf.read_row_group(i)
        except Exception as exc:  # noqa: BLE001
            return f"its data cannot be decoded ({_short(exc)})"
    return None


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a hidden temporary file in the same folder, flushed
    to disk and renamed into place (and the folder flushed after the rename): a reader sees
    the old file or the new one, never half, and after a crash the rename is on disk. A file
    replaced keeps its permission bits; a new file gets the usual ones (the process umask).
    The one atomic writer of the package (the run store and the web's in-place edits)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "wb") as fh:
            if path.exists():
                os.chmod(tmp, stat.S_IMODE(path.stat().st_mode))
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    """Flush a folder's entries (the rename) to disk, where the platform allows it."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - file systems that refuse fsync on folders
        pass
    finally:
        os.close(fd)


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")


def quarantine(root: Path, path: Path, reason: str, *, session: str | None = None) -> Path:
    """Move ``path`` (a file or folder inside the store ``root``) into the quarantine folder.

    Parameters
    ----------
    root
        The store root.
    path
        What to move; it keeps its path relative to ``root`` under the session folder.
    reason
        Why, in words (written to ``reasons.jsonl``).
    session
        Name of the quarantine session folder (one per repair); a new one when ``None``.

    Returns
    -------
    Path
        Where it now is. An existing file of that name is never overwritten (a suffix is
        added).
    """
    root, path = Path(root), Path(path)
    folder = root / QUARANTINE_DIR / (session or f"{_stamp()}-{os.getpid()}")
    try:
        rel = path.resolve().relative_to(root.resolve())
    except ValueError:
        rel = Path(path.name)
    dest = folder / rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    k = 1
    while dest.exists() or dest.is_symlink():
        dest = dest.with_name(f"{rel.name}.{k}")
        k += 1
    shutil.move(str(path), str(dest))
    entry = {"path": str(rel), "moved_to": str(dest.relative_to(root)), "reason": reason, "time": _stamp()}
    with open(folder / "reasons.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry, ensure_ascii=False) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return dest


def read_json(path: Path) -> Any:
    """JSON content of a small file, or ``None`` if it is missing or unreadable."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


#: The store's advisory lock file (:func:`fcntl.flock`).
LOCK_NAME = ".lock"

_LOCKS: dict[str, list] = {}  # resolved root -> [fd, holders]: one locked file per store and process
_LOCKS_GUARD = threading.Lock()


class StoreLock:
    """The advisory lock that keeps ``detente runs repair`` away from a store in use.

    Every writable :class:`~detente.store.Store` holds a shared lock on ``<root>/.lock`` while it
    exists; :func:`~detente.store.integrity.repair_store` takes it exclusively, so a repair refuses
    to start while another process writes to the store (a sweep, a crisis run, a web server), and
    a writer refuses to open the store while a repair runs. A process opens the lock file once per
    store and counts its holders, so a repair and store objects in the same process share it (the
    repair upgrades it, then gives it back). Read-only stores take no lock (they must work on
    read-only media). Where ``fcntl`` is missing (Windows) or the lock file cannot be created,
    nothing is locked.
    """

    def __init__(self, root: Path, *, exclusive: bool):
        self.key: str | None = None
        self.exclusive = exclusive
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows
            return
        key = str(Path(root).resolve())
        with _LOCKS_GUARD:
            entry = _LOCKS.get(key)
            fresh = entry is None
            if entry is None:
                try:
                    fd = os.open(Path(key) / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
                except OSError:
                    return
                entry = [fd, 0]
            if fresh or exclusive:
                try:
                    fcntl.flock(entry[0], (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
                except OSError:
                    if fresh:
                        os.close(entry[0])
                    raise self._busy(root) from None
            entry[1] += 1
            _LOCKS[key] = entry
            self.key = key

    def _busy(self, root: Path) -> Exception:
        from detente.errors import StoreError

        if self.exclusive:
            return StoreError(
                f"the store at {root} is in use by another detente process (a sweep, a crisis run, a web "
                "server...); stop it, then run `detente runs repair` again (nothing was changed)")
        return StoreError(f"the store at {root} is being repaired by another process (`detente runs repair`); "
                          "try again when it has finished")

    def release(self) -> None:
        if self.key is None:
            return
        import fcntl

        with _LOCKS_GUARD:
            entry = _LOCKS[self.key]
            entry[1] -= 1
            if entry[1] == 0:
                os.close(entry[0])  # closing the file drops the lock
                del _LOCKS[self.key]
            elif self.exclusive:
                fcntl.flock(entry[0], fcntl.LOCK_SH)  # the store objects of this process keep their lock
            self.key = None

    def __del__(self) -> None:
        try:
            self.release()
        except Exception:  # noqa: BLE001  # pragma: no cover - a finaliser must not raise (interpreter shutdown)
            pass
