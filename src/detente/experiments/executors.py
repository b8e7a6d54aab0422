"""Executors for sweeps and every other chunked computation: serial, a local process pool, Dask.

The implementation lives in :mod:`detente.executors` (a module every layer may import, so the
crisis engine and the case-library fit use the very same executors); this module is their
home in the experiments layer and re-exports them unchanged.
"""

from detente.executors import DaskExecutor, ProcessExecutor, SerialExecutor, make_executor

__all__ = ["SerialExecutor", "ProcessExecutor", "DaskExecutor", "make_executor"]
