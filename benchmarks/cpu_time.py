"""CPU time of this process and every process under it, for the benchmark scripts.

Worker pools started through multiprocessing's fork server are children of the fork server, not
of this process, so ``getrusage(RUSAGE_CHILDREN)`` never sees them; :func:`tree_cpu` adds the
CPU time of live descendants read from ``/proc`` (Linux; elsewhere only this process and its
finished children). Call it before a pool shuts down.
"""

from __future__ import annotations

import os
import resource


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
