"""Process pools whose workers exit when the process that owns them dies.

Every part of detente that computes in worker processes — the process executor of sweeps
(:mod:`detente.experiments.executors`), crisis runs with ``workers > 1``
(:func:`detente.crisis.run`) and the DEU benchmark with ``jobs > 1`` — uses
:class:`OwnedProcessPool`, so a run killed in any way (even SIGKILL, when no clean-up code runs)
leaves no worker, forkserver or resource tracker behind. It imports nothing of detente, so every
layer may use it.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.connection import Connection
from typing import Any

__all__ = ["OwnedProcessPool", "watch_owner", "preload_in_forkserver", "OWNER_GONE_EXIT"]


#: Exit status of a worker that stops because the process owning its pool died.
OWNER_GONE_EXIT = 75


def watch_owner(lifeline: Any, exit_code: int = OWNER_GONE_EXIT) -> None:
    """End this process with ``exit_code`` as soon as its owner is gone.

    ``lifeline`` is the read end of a pipe whose write end only the owner holds; a daemon thread
    blocks reading it (nothing is ever sent) and calls :func:`os._exit` at end of file, which the
    kernel reports once the owner has closed the write end or died, however it died. Used by the
    workers of :class:`OwnedProcessPool` and by the web server's job processes.
    """

    def wait() -> None:
        try:
            while True:
                lifeline.recv_bytes()  # nothing is ever sent; returns only on EOF (raises)
        except (EOFError, OSError):
            pass
        os._exit(exit_code)

    threading.Thread(target=wait, name="detente-owner-watch", daemon=True).start()


def _watch_owner(lifeline, inherited=None, initializer=None, initargs=()) -> None:
    """Worker initializer: exit this worker as soon as the pool's owner is gone.

    ``lifeline`` is the read end of a pipe whose only write end stays in the owning process.
    Reading it blocks until the owner closes it or dies — however it dies, the kernel closes its
    descriptors — and then reports end of file. A daemon thread waits for that and ends the
    process with :func:`os._exit` (no clean-up that could block on the dead owner's queues).
    Workers forked from the forkserver never hold the write end; a worker forked from the owner
    itself (``fork`` start method) inherits a copy, ``inherited``, and closes it first. Watching
    the parent pid would not do: a worker's parent is the forkserver, which outlives the owner
    as long as a worker is alive. Once the workers exit, the forkserver and the resource
    tracker see their last client gone and exit too. ``initializer(*initargs)`` then runs as
    the pool's own initializer would.
    """
    if inherited is not None:
        inherited.close()
    watch_owner(lifeline)
    if initializer is not None:
        initializer(*initargs)


class OwnedProcessPool(ProcessPoolExecutor):
    """A :class:`~concurrent.futures.ProcessPoolExecutor` whose workers exit when the process
    that owns it dies, even by SIGKILL (see :func:`_watch_owner`): the one pool every part of
    detente that runs processes uses (sweeps, crisis runs, the DEU benchmark).

    Parameters
    ----------
    max_workers
        Number of worker processes.
    mp_context
        The multiprocessing context (default ``forkserver``, so workers do not inherit the
        owner's threads or open databases; ``fork`` works too).
    initializer, initargs
        As for :class:`~concurrent.futures.ProcessPoolExecutor`.
    """

    def __init__(self, max_workers: int, *, mp_context: Any = None, initializer: Callable[..., Any] | None = None,
                 initargs: tuple = ()):
        ctx = mp_context if mp_context is not None else mp.get_context("forkserver")
        # the write end of the lifeline stays here; each worker gets a duplicate of the read end
        self._lifeline_r: Connection
        self._lifeline_w: Connection
        self._lifeline_r, self._lifeline_w = ctx.Pipe(duplex=False)
        inherited = self._lifeline_w if ctx.get_start_method() == "fork" else None
        super().__init__(max_workers=max_workers, mp_context=ctx, initializer=_watch_owner,
                         initargs=(self._lifeline_r, inherited, initializer, initargs))

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        try:
            super().shutdown(wait=wait, cancel_futures=cancel_futures)
        finally:
            if wait:  # after the workers have exited: closing earlier would end them in mid-shutdown
                self._lifeline_w.close()
                self._lifeline_r.close()


def preload_in_forkserver(modules: Sequence[str]) -> bool:
    """Have this process's forkserver import ``modules`` once, when it starts, so that every
    worker it forks has them loaded instead of importing them itself (multiprocessing's
    ``set_forkserver_preload``, added to the modules it already preloads: by default the main
    module). Takes effect only if the forkserver has not started yet (it is started by the first
    pool of this process and serves every later one); returns whether it will. A module that
    fails to import is skipped there (each worker then imports what it needs). Speed only."""
    if "forkserver" not in mp.get_all_start_methods():   # pragma: no cover - platforms without fork
        return False
    from multiprocessing import forkserver

    server = getattr(forkserver, "_forkserver", None)   # the module's own server (private, hence the care)
    if server is None or getattr(server, "_forkserver_pid", None) is not None:   # started: its preloads are done
        return False
    current = list(getattr(server, "_preload_modules", ["__main__"]))
    mp.get_context("forkserver").set_forkserver_preload(list(dict.fromkeys([*current, *modules])))
    return True
