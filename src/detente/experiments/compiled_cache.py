"""Fill numba's cache with the crisis engine's compiled twins (:mod:`detente.crisis.compiled`).

``make install`` runs :func:`main`, so the first large run does not wait for numba to compile the
twins (a few seconds to a minute; speed only, the numbers do not depend on it). :func:`warm`
is :func:`detente.crisis.compiled.warm` (the crisis layer's forkserver preload uses it too).
"""

from __future__ import annotations

from detente.crisis.compiled import warm

__all__ = ["warm", "main"]


def main() -> None:
    """Warm the twins and say how long it took (``make install``)."""
    import time

    t = time.perf_counter()
    n = warm()
    print(f"compiled twins: {'ready' if n else 'numba not installed, skipped'} ({n} chunks, {time.perf_counter() - t:.1f} s)")
