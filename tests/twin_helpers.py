"""Shared helpers of the compiled twins' tests (``tests/test_crisis_compiled*.py``): the skip rule
and the byte-for-byte comparison of engine chunks simulated with and without the twins."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from detente import examples
from detente.crisis import compiled as C
from detente.crisis import engine as E

#: skip where the twins cannot be compared bit for bit with numpy
needs_numba = pytest.mark.skipif(
    not C.available() or not C.compatible(),
    reason="numba is not installed (pip install 'detente[fast]'), or numpy's float64 exp here is its own "
           "vectorised one (AVX-512), not the C library's the twins call")


def chunk_pair(scenario: Any, params: dict[str, Any], *, runs: int, seed: int) -> tuple[dict, dict, Any]:
    """One chunk of ``runs`` runs of ``scenario`` (a bundled name or a scenario) with the plan
    parameters ``params`` and recorded paths, simulated from the same random stream with the numpy
    code and with the twins: ``(numpy part, twins part, compiled scenario)``."""
    scn = examples.load(scenario) if isinstance(scenario, str) else scenario
    plan = E.plan(scn, {"runs": runs, "chunk_size": runs, "record_paths": True, **params}, seed=seed)
    job = plan.chunks[0]
    out = []
    for use in (False, True):
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(job.root, spawn_key=(job.chunk,))))
        out.append(E.simulate(job.compiled, job.n, rng, True, use_compiled=use))
    return out[0], out[1], job.compiled


def assert_same_bytes(a: dict, b: dict) -> None:
    """Every array (and per-step table) of two engine parts has the same dtype, shape and bytes."""
    assert a.keys() == b.keys()
    for k in a:
        if isinstance(a[k], dict):
            assert a[k].keys() == b[k].keys(), k
            for kk in a[k]:
                x, y = np.asarray(a[k][kk]), np.asarray(b[k][kk])
                assert x.dtype == y.dtype and x.shape == y.shape and x.tobytes() == y.tobytes(), (k, kk)
        elif isinstance(a[k], np.ndarray):
            assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape, k
            assert a[k].tobytes() == b[k].tobytes(), k
        else:
            assert a[k] == b[k], k
