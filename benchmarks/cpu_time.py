"""CPU time of this process and every process under it, for the benchmark scripts.

Worker pools started through multiprocessing's fork server are children of the fork server, not
of this process, so ``getrusage(RUSAGE_CHILDREN)`` never sees them; :func:`tree_cpu` adds the
CPU time of live descendants read from ``/proc`` (Linux; elsewhere only this process and its
finished children). Call it before a pool shuts down.

A process that ends under a child (the browser's renderer and GPU processes under Chromium, the
workers under the fork server) is not always reaped into ``RUSAGE_CHILDREN``, so its time is lost
to :func:`tree_cpu` once it has ended; :class:`TreeCPU` samples every descendant in a thread and
counts an ended process at its last sample.
"""

from __future__ import annotations

import os
import resource
import threading
import time


def descendants_cpu(pid: int | None = None) -> dict[int, float]:
    """User + system CPU seconds of every live process under ``pid`` (default: this process), by
    process id, read from ``/proc`` (Linux; empty elsewhere)."""
    tick = os.sysconf("SC_CLK_TCK")
    kids: dict[int, list[int]] = {}
    cpu: dict[int, float] = {}
    try:
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open(f"/proc/{d}/stat") as fh:
                    f = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            kids.setdefault(int(f[1]), []).append(int(d))
            cpu[int(d)] = (int(f[11]) + int(f[12])) / tick     # utime + stime (fields 14, 15)
    except OSError:
        return {}
    out: dict[int, float] = {}
    todo = list(kids.get(os.getpid() if pid is None else pid, []))
    while todo:
        p = todo.pop()
        out[p] = cpu.get(p, 0.0)
        todo += kids.get(p, [])
    return out


def tree_cpu() -> float:
    """User + system CPU seconds of this process, its finished children and its live descendants."""
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime + sum(descendants_cpu().values())


class TreeCPU:
    """CPU seconds of this process and of every process that ran under it while sampling.

    A thread reads the CPU time of every descendant every ``every`` seconds (``/proc``) and keeps
    each process's last value, so a process that has ended is counted at its last sample (at most
    ``every`` seconds of its time are lost; call :meth:`sample` just before closing a browser or a
    pool to lose none). The sampling thread's own CPU time is not counted. :meth:`now` is the CPU
    time since the object was made."""

    def __init__(self, every: float = 0.02) -> None:
        self.every, self.last, self._stop, self.own = every, {}, threading.Event(), 0.0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.base = self._self()
        self._thread.start()

    @staticmethod
    def _self() -> float:
        s = resource.getrusage(resource.RUSAGE_SELF)
        return s.ru_utime + s.ru_stime

    def sample(self) -> None:
        """Read every live descendant's CPU time now."""
        seen = descendants_cpu()
        with self._lock:
            for p, c in seen.items():
                self.last[p] = max(self.last.get(p, 0.0), c)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.sample()
            self.own = time.thread_time()   # the sampler's own CPU time, not counted

    def now(self) -> float:
        self.sample()
        with self._lock:
            kids = sum(self.last.values())
        return self._self() - self.own - self.base + kids

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
