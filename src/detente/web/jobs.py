"""Background jobs of the web UI: runs executed off the request thread, with progress,
cancellation and a durable record.

A job is a callable ``fn(report, *args)`` that returns the id of what it stored. The
manager runs at most ``workers`` jobs at once (a thread pool). A job submitted with
``process=True`` runs in a child process of its own (``fn`` and ``args`` must then be
picklable: a module-level function, see :mod:`detente.web.work`); the web UI's model and
crisis runs do, so that **cancelling a running job stops its work at once** (the child is
terminated), whatever the model is doing, and a job cannot take the server down. The
child also exits by itself when the server process dies (it watches a pipe whose other
end only the server holds). Jobs run in a thread (``process=False``: tests, light work)
are cancelled cooperatively: their ``report`` call raises :class:`JobCancelled`.

Statuses: ``queued`` → ``running`` → ``done`` | ``failed`` | ``cancelled``; a job still
queued or running when the server stops (or dies) is ``interrupted``. With a
:class:`~detente.store.jobs.JobRecords` the manager writes every change of status to the
store, and on start marks the records a previous server left unfinished ``interrupted``
(they are not re-run: the scenario may have changed since, and work nobody waits for
should not start by itself; the record keeps the request, so it can be submitted again).

Finished jobs are kept for polling only within bounds, in memory and in the store alike:
at most ``max_finished`` of them (the most recently finished), and, with ``finished_ttl``,
none that finished more than ``finished_ttl`` seconds ago. Queued and running jobs are
never dropped. A dropped job is unknown to :meth:`JobManager.get` (the run it stored stays
in the store).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from detente.errors import DetenteError, InputError

__all__ = ["Job", "JobManager", "JobCancelled", "UNFINISHED", "FINISHED"]

log = logging.getLogger(__name__)

UNFINISHED = ("queued", "running")
FINISHED = ("done", "failed", "cancelled", "interrupted")


class JobCancelled(Exception):
    """Raised by a job's ``report`` when the job was cancelled (thread jobs)."""


@dataclass
class Job:
    """State of one background job (mutable, guarded by the manager's lock)."""

    id: str
    kind: str
    label: str
    status: str = "queued"  # queued | running | done | failed | cancelled | interrupted
    progress: float = 0.0
    message: str = ""
    created: float = field(default_factory=lambda: time.time())
    started: float | None = None
    finished: float | None = None
    result_id: str | None = None
    error: dict[str, Any] | None = None
    request: dict[str, Any] | None = None
    #: process id of the job's child process while it runs (not part of the JSON form)
    pid: int | None = field(default=None, repr=False, compare=False)

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "label": self.label,
            "status": self.status,
            "progress": round(self.progress, 4),
            "message": self.message,
            "created": self.created,
            "started": self.started,
            "finished": self.finished,
            "result_id": self.result_id,
            "error": self.error,
            "request": self.request,
        }


def _error_dict(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, InputError):
        return exc.to_dict()
    if isinstance(exc, DetenteError):
        return {"error": "run failed", "message": str(exc)}
    return {"error": "internal error", "message": f"{type(exc).__name__}: {exc}"}


class _RemoteFailure(Exception):
    def __init__(self, error: dict[str, Any]):
        super().__init__(error.get("message") or error.get("error"))
        self.error = error


def _main_importable() -> bool:
    """Whether a child process can import the server's main module, as multiprocessing's
    ``spawn`` and ``forkserver`` children do (not so for a script read from standard input)."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    return path is None or getattr(main, "__spec__", None) is not None or os.path.isfile(path)


def _mp_context() -> Any:
    # forkserver where there is one: a clean, single-threaded parent for every child (fork
    # from the threaded server is unsafe) that has the models, the store and the CLI (the
    # main module of `detente serve`, which each child imports again) loaded already, so a
    # job starts in a fraction of a second instead of importing them
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["detente.web.preload", "detente.cli"])
        return ctx
    return multiprocessing.get_context("spawn")  # pragma: no cover - platforms without fork


def _child_main(send: Any, lifeline: Any, fn: Callable[..., str], args: tuple) -> None:
    """Entry point of a job's child process: run ``fn``, send progress and the outcome."""

    from detente.processes import watch_owner

    watch_owner(lifeline, exit_code=70)  # the server never sends: the child exits when it is gone

    def report(progress: float, message: str = "") -> None:
        send.send(("progress", float(progress), str(message)))

    try:
        rid = fn(report, *args)
        outcome: tuple = ("done", rid)
    except BaseException as exc:  # noqa: BLE001 - every failure goes back to the server
        outcome = ("failed", _error_dict(exc))
    send.send(outcome)
    send.close()
    # the work is stored and reported: leave at once, without the interpreter's slow teardown
    # of numpy, scipy and pyarrow (the server waits for this process to end)
    os._exit(0)


class JobManager:
    """Run jobs in the background and keep their status for polling (see the module doc).

    Parameters
    ----------
    workers
        Jobs run at once.
    max_finished, finished_ttl
        Retention of finished jobs.
    records
        A :class:`~detente.store.jobs.JobRecords` to persist job states in, or a callable
        returning one (called once; a :class:`~detente.errors.StoreError` then leaves the
        manager without persistence, with a warning); ``None``: memory only.
    """

    def __init__(self, workers: int = 2, *, max_finished: int = 200, finished_ttl: float | None = None,
                 records: Any = None):
        if isinstance(max_finished, bool) or not isinstance(max_finished, int) or max_finished < 1:
            raise ValueError(f"max_finished must be a positive integer, not {max_finished!r}")
        if finished_ttl is not None and not finished_ttl > 0:
            raise ValueError(f"finished_ttl must be a positive number of seconds or None, not {finished_ttl!r}")
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="detente-job")
        self._jobs: dict[str, Job] = {}
        self._cancel: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self._persist_lock = threading.Lock()
        self.max_finished = max_finished
        self.finished_ttl = finished_ttl
        self._closed = False
        self.records = None
        if records is not None:
            try:
                self.records = records() if callable(records) else records
                self._recover()
            except DetenteError as exc:
                log.warning("job records are not kept in the store: %s", exc)
                self.records = None

    # ------------------------------------------------------------ persistence
    def _recover(self) -> None:
        assert self.records is not None
        lost = self.records.interrupt_unfinished(
            now=time.time(), message="the server stopped before the job finished; start it again")
        if lost:
            log.warning("%d job(s) of a previous server were left unfinished; marked interrupted", len(lost))
        for rec in self.records.list(limit=self.max_finished):
            if rec["status"] in FINISHED:
                self._jobs[rec["id"]] = Job(**rec)
        with self._lock:
            self._prune()

    def _persist(self, job: Job, *, drop: Sequence[str] = ()) -> None:
        if self.records is None:
            return
        with self._persist_lock:  # one writer at a time: a later write always holds the later state
            with self._lock:
                rec = job.to_json_dict()
            try:
                self.records.put(rec)
                if drop:
                    self.records.delete(drop)
            except DetenteError as exc:
                log.warning("could not record job %s in the store: %s", job.id, exc)

    def _prune(self) -> list[str]:
        """Drop finished jobs beyond the retention bounds (call with the lock held); return their ids."""
        dropped: list[str] = []
        done = [j for j in self._jobs.values() if j.finished is not None]
        if self.finished_ttl is not None:
            cutoff = time.time() - self.finished_ttl
            for j in done:
                if j.finished is not None and j.finished < cutoff:
                    del self._jobs[j.id]
                    dropped.append(j.id)
            done = [j for j in done if j.id in self._jobs]
        if len(done) > self.max_finished:
            done.sort(key=lambda j: (j.finished, j.created))
            for j in done[: len(done) - self.max_finished]:
                del self._jobs[j.id]
                dropped.append(j.id)
        for i in dropped:
            self._cancel.pop(i, None)
        return dropped

    def _prune_and_forget(self) -> None:
        with self._lock:
            dropped = self._prune()
        if dropped and self.records is not None:
            with self._persist_lock:
                try:
                    self.records.delete(dropped)
                except DetenteError as exc:
                    log.warning("could not drop job records: %s", exc)

    # ------------------------------------------------------------ running
    def submit(self, kind: str, label: str, fn: Callable[..., str], *, args: tuple = (), process: bool = False,
               request: dict[str, Any] | None = None) -> Job:
        """Start ``fn(report, *args)`` in the background; ``fn`` returns the id of what it stored.

        ``process=True`` runs it in a child process (``fn`` and ``args`` picklable), or,
        when the server's main module cannot be imported by a child (a script read from
        standard input), in a thread with cooperative cancellation;
        ``request`` is kept in the job's record (what was asked for).
        """
        job = Job(id=uuid.uuid4().hex[:12], kind=kind, label=label, request=request)
        cancel = threading.Event()
        with self._lock:
            dropped = self._prune()
            self._jobs[job.id] = job
            self._cancel[job.id] = cancel
        self._persist(job, drop=dropped)

        def report(progress: float, message: str = "") -> None:
            if cancel.is_set():
                raise JobCancelled()
            with self._lock:
                job.progress = max(0.0, min(1.0, progress))
                job.message = message

        def work() -> None:
            with self._lock:
                if job.status != "queued":  # cancelled or interrupted while it waited
                    return
                job.status, job.started = "running", time.time()
            self._persist(job)
            rid: str | None = None
            error: dict[str, Any] | None = None
            try:
                in_child = process and _main_importable()
                rid = self._run_child(job, fn, args, report, cancel) if in_child else fn(report, *args)
                if cancel.is_set():
                    raise JobCancelled()
            except JobCancelled:
                pass
            except _RemoteFailure as exc:
                error = exc.error
            except BaseException as exc:  # noqa: BLE001 - a bug: keep the server alive, report it
                error = _error_dict(exc)
            # the outcome and the finishing time change together, so a poller that sees a
            # finished status also sees the job counted as finished (and pruned as such)
            with self._lock:
                if job.status == "running":
                    if cancel.is_set():
                        job.status = "interrupted" if self._closed else "cancelled"
                        job.message = ("the server stopped before the job finished" if self._closed
                                       else "cancelled while running")
                    elif error is None:
                        job.result_id, job.status, job.progress = rid, "done", 1.0
                    else:
                        job.status, job.error = "failed", error
                    job.finished = time.time()
            self._persist(job)
            self._prune_and_forget()

        self._pool.submit(work)
        return job

    def _run_child(self, job: Job, fn: Callable[..., str], args: tuple, report: Callable[..., None],
                   cancel: threading.Event) -> str:
        ctx = _mp_context()
        recv, send = ctx.Pipe(duplex=False)
        life_r, life_w = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_child_main, args=(send, life_r, fn, args), daemon=True,
                           name=f"detente-job-{job.id}")
        proc.start()
        job.pid = proc.pid
        send.close()
        life_r.close()
        outcome = None
        try:
            while outcome is None:
                if cancel.is_set():
                    proc.terminate()
                    proc.join(5)
                    if proc.is_alive():  # pragma: no cover - SIGTERM ignored
                        proc.kill()
                    raise JobCancelled()
                if recv.poll(0.05):
                    try:
                        msg = recv.recv()
                    except EOFError:
                        break
                    if msg[0] == "progress":
                        with self._lock:
                            job.progress = max(0.0, min(1.0, msg[1]))
                            job.message = msg[2]
                    else:
                        outcome = msg
                elif not proc.is_alive() and not recv.poll():
                    break
        finally:
            proc.join(10)
            recv.close()
            life_w.close()
        if outcome is None:
            raise _RemoteFailure({"error": "internal error",
                                  "message": f"the job's worker process ended without a result (exit code {proc.exitcode})"})
        if outcome[0] == "done":
            return outcome[1]
        raise _RemoteFailure(outcome[1])

    def warm_up(self) -> None:
        """Start the server of the jobs' child processes in the background, so that the first
        job does not wait for it (it loads the models, pandas and pyarrow once)."""
        if not _main_importable() or "forkserver" not in multiprocessing.get_all_start_methods():
            return

        def start() -> None:
            try:
                _mp_context()
                from multiprocessing import forkserver

                forkserver.ensure_running()
            except Exception as exc:  # noqa: BLE001 - the first job will start it, or say why not
                log.warning("could not start the job process server early: %s", exc)

        threading.Thread(target=start, name="detente-job-warmup", daemon=True).start()

    def cancel(self, job_id: str) -> bool | None:
        """Cancel a queued or running job (a running child process is terminated at once).

        Returns ``True`` when the cancellation was accepted (a queued job is ``cancelled`` at
        once, a running one as soon as its work has stopped), ``False`` when the job had
        finished already, ``None`` for an unknown job.
        """
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return None
            ev = self._cancel.get(job_id)
            if job.status not in UNFINISHED or ev is None or ev.is_set():
                return job.status == "running" and ev is not None and ev.is_set()
            ev.set()
            queued = job.status == "queued"
            if queued:
                job.status, job.finished, job.message = "cancelled", time.time(), "cancelled before it started"
        if queued:
            self._persist(job)
        return True

    def get(self, job_id: str) -> Job | None:
        """The job, or ``None`` if it is unknown or was dropped by the retention bounds."""
        self._prune_and_forget()
        with self._lock:
            return self._jobs.get(job_id)

    def list(self) -> list[Job]:
        """Jobs still kept, newest first."""
        self._prune_and_forget()
        with self._lock:
            return sorted(self._jobs.values(), key=lambda j: -j.created)

    def wait(self, job_id: str, timeout: float = 60.0) -> Job | None:
        """Block until a job ends (tests and scripts)."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            j = self.get(job_id)
            if j is None or j.status in FINISHED:
                return j
            time.sleep(0.02)
        return self.get(job_id)

    def shutdown(self, wait: float = 5.0) -> None:
        """Stop: queued and running jobs are ended and recorded ``interrupted``."""
        with self._lock:
            self._closed = True
            unfinished = [j for j in self._jobs.values() if j.status in UNFINISHED]
            now = time.time()
            for j in unfinished:
                self._cancel[j.id].set()
                if j.status == "queued":
                    j.status, j.finished, j.message = "interrupted", now, "the server stopped before the job started"
        for j in unfinished:
            self._persist(j)
        self._pool.shutdown(wait=False, cancel_futures=True)
        t0 = time.monotonic()  # running jobs: their children are terminated; wait for the records
        while time.monotonic() - t0 < wait and any(j.status == "running" for j in unfinished):
            time.sleep(0.02)
        # a job whose worker has not stopped yet (a child still starting) is recorded as
        # interrupted now: its worker sees the cancellation and stops it, and records nothing else
        with self._lock:
            late = [j for j in unfinished if j.status == "running"]
            for j in late:
                j.status, j.finished, j.message = "interrupted", time.time(), "the server stopped before the job finished"
        for j in late:
            self._persist(j)
