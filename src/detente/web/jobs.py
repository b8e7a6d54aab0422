"""Background jobs of the web UI: model runs executed in a small thread pool, with progress.

A job runs a registered model issue by issue so that progress can be reported, then
assembles one :class:`~detente.models.result.RunResult` — the same result a single
``run_model`` call gives for models that treat issues independently; models that bargain
across issues jointly (``multi_issue_joint``) run in one step.
"""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

from detente.errors import DetenteError, InputError

__all__ = ["Job", "JobManager"]


@dataclass
class Job:
    """State of one background job (mutable, guarded by the manager's lock)."""

    id: str
    kind: str
    label: str
    status: str = "queued"  # queued | running | done | failed
    progress: float = 0.0
    message: str = ""
    created: float = field(default_factory=time.time)
    finished: float | None = None
    result_id: str | None = None
    error: dict[str, Any] | None = None

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "label": self.label,
            "status": self.status,
            "progress": round(self.progress, 4),
            "message": self.message,
            "created": self.created,
            "finished": self.finished,
            "result_id": self.result_id,
            "error": self.error,
        }


class JobManager:
    """Run callables in the background and keep their status for polling.

    Finished jobs (``done`` or ``failed``) are kept for polling only within bounds, so a
    long-running server does not accumulate them: at most ``max_finished`` of them (the
    most recently finished), and, when ``finished_ttl`` is given, none that finished more
    than ``finished_ttl`` seconds ago. Queued and running jobs are never dropped. A dropped
    job is unknown to :meth:`get` (the run it stored stays in the store).
    """

    def __init__(self, workers: int = 2, *, max_finished: int = 200, finished_ttl: float | None = None):
        if isinstance(max_finished, bool) or not isinstance(max_finished, int) or max_finished < 1:
            raise ValueError(f"max_finished must be a positive integer, not {max_finished!r}")
        if finished_ttl is not None and not finished_ttl > 0:
            raise ValueError(f"finished_ttl must be a positive number of seconds or None, not {finished_ttl!r}")
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="detente-job")
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self.max_finished = max_finished
        self.finished_ttl = finished_ttl

    def _prune(self) -> None:
        """Drop finished jobs beyond the retention bounds (call with the lock held)."""
        done = [j for j in self._jobs.values() if j.finished is not None]
        if self.finished_ttl is not None:
            cutoff = time.time() - self.finished_ttl
            for j in done:
                if j.finished < cutoff:  # type: ignore[operator]
                    del self._jobs[j.id]
            done = [j for j in done if j.id in self._jobs]
        if len(done) > self.max_finished:
            done.sort(key=lambda j: (j.finished, j.created))
            for j in done[: len(done) - self.max_finished]:
                del self._jobs[j.id]

    def submit(self, kind: str, label: str, fn: Callable[[Callable[[float, str], None]], str]) -> Job:
        """Start ``fn(report)`` in the background; ``fn`` returns the id of what it stored."""
        job = Job(id=uuid.uuid4().hex[:12], kind=kind, label=label)
        with self._lock:
            self._prune()
            self._jobs[job.id] = job

        def report(progress: float, message: str = "") -> None:
            with self._lock:
                job.progress = max(0.0, min(1.0, progress))
                job.message = message

        def work() -> None:
            with self._lock:
                job.status = "running"
            rid: str | None = None
            error: dict[str, Any] | None = None
            try:
                rid = fn(report)
            except InputError as exc:
                error = exc.to_dict()
            except DetenteError as exc:
                error = {"error": "run failed", "message": str(exc)}
            except Exception as exc:  # a bug: keep the server alive, report it
                error = {"error": "internal error", "message": f"{type(exc).__name__}: {exc}"}
            # the outcome and the finishing time change together, so a poller that sees
            # "done" or "failed" also sees the job counted as finished (and pruned as such)
            with self._lock:
                if error is None:
                    job.result_id, job.status, job.progress = rid, "done", 1.0
                else:
                    job.status, job.error = "failed", error
                job.finished = time.time()
                self._prune()

        self._pool.submit(work)
        return job

    def get(self, job_id: str) -> Job | None:
        """The job, or ``None`` if it is unknown or was dropped by the retention bounds."""
        with self._lock:
            self._prune()
            return self._jobs.get(job_id)

    def list(self) -> list[Job]:
        """Jobs still kept, newest first."""
        with self._lock:
            self._prune()
            return sorted(self._jobs.values(), key=lambda j: -j.created)

    def wait(self, job_id: str, timeout: float = 60.0) -> Job | None:
        """Block until a job ends (tests and scripts)."""
        t0 = time.time()
        while time.time() - t0 < timeout:
            j = self.get(job_id)
            if j is None or j.status in ("done", "failed"):
                return j
            time.sleep(0.02)
        return self.get(job_id)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
