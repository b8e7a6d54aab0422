"""Imported once by the server of the web jobs' child processes (multiprocessing's
forkserver, :mod:`detente.web.jobs`): every registered model, the store and the crisis
engine, so that each job's process starts with them loaded instead of importing them
(about 2 s on a busy 2-core machine); also the crisis engine's compiled twins (numba, the
``fast`` extra) when ``DETENTE_COMPILED`` allows them, loaded from numba's cache once here
instead of in every job that uses them (≈ 0.6 s of CPU each: a 2,000-run what-if uses them).

Import it only there: it declares the twins loaded (:func:`detente.crisis.compiled.mark_loaded`),
which makes every later engine batch of the importing process use them (pytest's doctest
collection skips this module, see pyproject.toml)."""

import pandas  # noqa: F401  (the store builds trajectory tables with it: ~2 s to import)
import pyarrow.parquet  # noqa: F401  (and writes them with it)

import detente.crisis.analysis
import detente.report.stored
import detente.store
import detente.web.work  # noqa: F401
from detente.models.registry import available

available()


def _load_twins() -> None:
    from detente.crisis import compiled
    from detente.experiments.compiled_cache import preload

    if preload():
        compiled.mark_loaded()   # every job forked from here uses them for any batch


_load_twins()
