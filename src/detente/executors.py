"""Executors: where the chunks of a sweep, a crisis run, a crisis sensitivity study or the
ICB case-library fit run, behind one interface.

Every executor has ``map_unordered(fn, jobs)`` yielding ``(job, fn(job))`` pairs as they
finish, and ``close()``. Chunks carry their own seeds (see :mod:`detente.experiments.sweep`
and :func:`detente.crisis.engine.plan`), so the numbers do not depend on the executor or on
the number of workers; callers put finished chunks back in chunk order. A job has a
``chunk`` attribute (its number, used to name Dask tasks).

The module imports nothing of detente but :mod:`detente.errors` and :mod:`detente.processes`,
so every layer may use it (the crisis engine takes an executor; the experiments layer
re-exports these names as :mod:`detente.experiments.executors`).

* :class:`SerialExecutor` — in this process, in order.
* :class:`ProcessExecutor` — a local process pool (``forkserver`` start method, so worker
  processes do not inherit the parent's threads or open databases). Workers exit when the
  process that owns the pool dies, even by SIGKILL (:class:`detente.processes.OwnedProcessPool`, which the crisis engine and the DEU
  benchmark use too), and with them
  the forkserver and the resource tracker, so a killed sweep leaves no process behind.
* :class:`DaskExecutor` — a Dask ``distributed`` cluster: an existing scheduler at
  ``address`` (``tcp://HOST:PORT``) or a local cluster of worker processes. Needs the
  optional extra ``cluster``.
* :class:`AutoExecutor` — in this process while the work is small, on a local process pool of
  one worker per core once a batch of jobs is large enough to repay the pool's start-up
  (``detente run``'s default).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, wait
from typing import Any

from detente.errors import RunError
from detente.processes import OwnedProcessPool, preload_in_forkserver

__all__ = ["SerialExecutor", "ProcessExecutor", "DaskExecutor", "AutoExecutor", "make_executor", "AUTO_MIN_WORK",
           "cores"]

#: :class:`AutoExecutor` starts its process pool for a batch of jobs whose summed ``work`` is at
#: least this (for crisis chunks: their estimated CPU cost in run-steps of the numpy engine, about
#: 1.4 µs each, :attr:`detente.crisis.engine.CrisisChunk.work`). Measured (benchmarks/bench_crisis_run.py,
#: docs/crisis.md "Default executor"): a forkserver pool of two workers costs about 0.4 s of wall
#: time to start and import the engine in its workers, 1.1 s when they also load the compiled
#: twins, and the command's own work and the report's browser share the two cores with them, so
#: the pool pays from about 3 s of serial work on: `detente run seesaw-2021 -H combined` at its
#: 2,000 runs (4.7 million with numpy: pool 5.5 s against 8.6 s serial; 1.9 million with the
#: twins: serial 3.6 s against 4.4 s on the pool).
AUTO_MIN_WORK = 2_500_000


def cores() -> int:
    """The cores this process may run on (its CPU affinity where the system tells it, else ``os.cpu_count()``)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


class SerialExecutor:
    """Run every job in this process, in order."""

    name = "serial"

    def map_unordered(self, fn: Callable[[Any], Any], jobs: Sequence[Any]) -> Iterator[tuple[Any, Any]]:
        for j in jobs:
            yield j, fn(j)

    def close(self) -> None:
        pass

    def warm(self, fn: Callable[[Any], Any], make_job: Callable[[], Any], work: int | None = None,
             preload: Sequence[str] = ()) -> None:
        """Prepare the workers for a batch of estimated ``work`` about to come (see
        :meth:`ProcessExecutor.warm`): nothing to do in this process."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class ProcessExecutor(SerialExecutor):
    """A local pool of worker processes; at most ``2 * workers`` chunks in flight.

    Worker processes exit when this process dies (:class:`OwnedProcessPool`).
    """

    name = "process"

    def __init__(self, workers: int = 2):
        self.workers = workers
        self._pool = OwnedProcessPool(workers)

    def map_unordered(self, fn, jobs):
        pending = {}
        it = iter(jobs)
        for j in it:
            pending[self._pool.submit(fn, j)] = j
            if len(pending) >= 2 * self.workers:
                break
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                j = pending.pop(fut)
                yield j, fut.result()
                nxt = next(it, None)
                if nxt is not None:
                    pending[self._pool.submit(fn, nxt)] = nxt

    def warm(self, fn: Callable[[Any], Any], make_job: Callable[[], Any], work: int | None = None,
             preload: Sequence[str] = ()) -> None:
        """Start the workers now and run ``fn(make_job())`` in them (one call per worker, not waited
        for, result dropped), so that they import and load what the coming batch needs while the
        caller is still planning it (:func:`detente.crisis.analysis.run_hypotheses`: the engine
        and, when they will be used, its compiled twins). ``preload`` names modules the pool's
        forkserver imports once before it forks the workers, which then start with them loaded
        (:func:`detente.processes.preload_in_forkserver`; only where this process's forkserver
        has not started yet). The workers are started from a thread of their own: the first
        start waits for the forkserver's preloads, which the caller need not wait for. Speed only."""
        job = make_job()
        preload_in_forkserver(preload)

        def start() -> None:
            try:
                for _ in range(self.workers):
                    self._pool.submit(fn, job)
            except RuntimeError:   # closed meanwhile (cannot schedule new futures after shutdown)
                pass

        threading.Thread(target=start, name="detente-warm", daemon=True).start()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class DaskExecutor(SerialExecutor):
    """Chunks on a Dask ``distributed`` cluster.

    Parameters
    ----------
    address
        Scheduler address ``tcp://HOST:PORT``; when ``None`` a local cluster of ``workers``
        single-threaded worker processes is started (and stopped on :meth:`close`).
    """

    name = "dask"

    def __init__(self, address: str | None = None, workers: int = 2):
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:  # pragma: no cover - depends on the extra
            raise RunError("the dask executor needs the `cluster` extra: pip install 'detente[cluster]'") from exc
        self._cluster = None
        try:
            if address is None:
                self._cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                             dashboard_address=None, silence_logs=40)
                self.client = Client(self._cluster)
            else:
                self.client = Client(address, timeout="20s")
        except OSError as exc:
            raise RunError(f"cannot reach the Dask scheduler at {address}: {exc}") from None

    def map_unordered(self, fn, jobs):
        from distributed import as_completed

        jobs = list(jobs)
        futs = {self.client.submit(fn, j, pure=False, key=f"detente-chunk-{getattr(j, 'chunk', k)}-{id(j)}"): j
                for k, j in enumerate(jobs)}
        for fut in as_completed(list(futs)):
            yield futs[fut], fut.result()

    def close(self) -> None:
        try:
            self.client.close()
        finally:
            if self._cluster is not None:
                self._cluster.close()


class AutoExecutor(SerialExecutor):
    """Serial for small batches, a local process pool for large ones.

    Each :meth:`map_unordered` call sums its jobs' ``work`` (a job without a ``work`` attribute
    counts as :data:`AUTO_MIN_WORK` by itself). A batch of at least ``min_work`` with more than
    one job, when more than one worker is allowed, runs on a :class:`ProcessExecutor` of
    ``workers`` workers (default: one per core, :func:`cores`), started at the first such batch
    and kept for later ones; other batches run in this process. The numbers never depend on
    which (chunks carry their own seeds).
    """

    name = "auto"

    def __init__(self, workers: int | None = None, min_work: int = AUTO_MIN_WORK):
        self.workers = workers or cores()
        self.min_work = min_work
        self.pool: ProcessExecutor | None = None

    def uses_pool(self, jobs: Sequence[Any]) -> bool:
        """Whether a batch of ``jobs`` goes to the process pool."""
        work = sum(getattr(j, "work", self.min_work) for j in jobs)
        return self.workers > 1 and len(jobs) > 1 and work >= self.min_work

    def warm(self, fn: Callable[[Any], Any], make_job: Callable[[], Any], work: int | None = None,
             preload: Sequence[str] = ()) -> None:
        """Start the process pool now (when more than one worker is allowed and the coming batch's
        estimated ``work`` reaches ``min_work``; ``None``: start it) and warm its workers
        (:meth:`ProcessExecutor.warm`, with ``preload``); later large batches run on it. A batch
        that turns out small still runs in this process."""
        if self.workers < 2 or (work is not None and work < self.min_work):
            return
        if self.pool is None:
            self.pool = ProcessExecutor(self.workers)
        self.pool.warm(fn, make_job, preload=preload)

    def map_unordered(self, fn, jobs):
        jobs = list(jobs)
        if not self.uses_pool(jobs):
            yield from super().map_unordered(fn, jobs)
            return
        if self.pool is None:
            self.pool = ProcessExecutor(self.workers)
        yield from self.pool.map_unordered(fn, jobs)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()
            self.pool = None


def make_executor(kind: str = "serial", *, workers: int | None = 2, address: str | None = None):
    """An executor by name: ``serial``, ``process``, ``dask`` or ``auto`` (``workers`` ``None``:
    2, or one per core for ``auto``)."""
    if kind == "auto":
        return AutoExecutor(workers)
    workers = workers or 2
    if kind == "serial":
        return SerialExecutor()
    if kind == "process":
        return ProcessExecutor(workers)
    if kind == "dask":
        return DaskExecutor(address, workers)
    raise RunError(f"unknown executor {kind!r}; expected serial, process, dask or auto")
