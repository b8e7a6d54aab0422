"""Fill numba's cache with the crisis engine's compiled twins (:mod:`detente.crisis.compiled`),
and load them from it into a process that forks workers.

``make install`` runs :func:`main`, so the first large run does not wait for numba to compile the
twins (a few seconds to a minute; speed only, the numbers do not depend on it). It lives in the
experiments layer because it simulates the bundled examples.
"""

from __future__ import annotations

import numpy as np

from detente.crisis import compiled as C

__all__ = ["warm", "preload", "main"]


def warm(scenarios: tuple[str, ...] = ("seesaw-2021", "taiwan-strait-1995", "cuba-1962", "crimea-2014")) -> int:
    """Compile the twins into numba's cache (or load them from it) by simulating a small chunk of
    each bundled crisis scenario with them, with fixed and with drawn assumptions (the argument
    types the engine passes); returns the number of chunks. ``make install`` calls it
    (through :func:`main`), so the first large run does not wait for numba to
    compile. Does nothing without numba."""
    if not C.available():
        return 0
    from detente import examples
    from detente.crisis import engine as E

    done = 0
    for name in scenarios:
        for extra in ({}, {"settings.draw_assumptions": True}):
            plan = E.plan(examples.load(name), {"runs": 64, "chunk_size": 64, "set": extra}, seed=1)
            job = plan.chunks[0]
            E.simulate(job.compiled, job.n, np.random.default_rng(0), use_compiled=True)
            done += 1
    return done


def preload() -> bool:
    """Load the twins into this process from numba's cache (:func:`warm` on the flagship) when a
    batch here could use them: ``DETENTE_COMPILED`` is not ``off`` (an invalid value counts as
    off: the batches report it), numba is installed and numpy's functions are the C library's
    (:func:`detente.crisis.compiled.compatible`). Returns whether it loaded them. What a process
    that forks workers calls once, so each worker starts with them loaded instead of loading them
    itself (≈ 0.5 s of CPU each): the web jobs' forkserver (:mod:`detente.web.preload`) and a
    crisis pool's (:mod:`detente.experiments.crisis_preload`). Speed only."""
    from detente.errors import InputError

    try:
        if C.mode() == "off" or not (C.available() and C.compatible()):
            return False
    except InputError:
        return False
    warm(("seesaw-2021",))
    return True


def main() -> None:
    """Warm the twins and say how long it took (``make install``)."""
    import time

    t = time.perf_counter()
    n = warm()
    print(f"compiled twins: {'ready' if n else 'numba not installed, skipped'} ({n} chunks, {time.perf_counter() - t:.1f} s)")
