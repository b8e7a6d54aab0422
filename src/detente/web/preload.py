"""Imported once by the server of the web jobs' child processes (multiprocessing's
forkserver, :mod:`detente.web.jobs`): every registered model, the store and the crisis
engine, so that each job's process starts with them loaded instead of importing them
(about 2 s on a busy 2-core machine)."""

import pandas  # noqa: F401  (the store builds trajectory tables with it: ~2 s to import)
import pyarrow.parquet  # noqa: F401  (and writes them with it)

import detente.crisis.analysis
import detente.report.stored
import detente.store
import detente.web.work  # noqa: F401
from detente.models.registry import available

available()
