"""Imported once by the forkserver of a crisis run's process pool, for its side effects: the crisis
engine, and its compiled twins loaded from numba's cache (:func:`detente.experiments.compiled_cache.preload`)
unless ``DETENTE_COMPILED`` rules them out, so that every worker forked from there starts with them
instead of loading them itself (≈ 0.4 s of CPU each to import the engine, ≈ 0.5 s to load the twins).
:func:`detente.crisis.analysis.run_hypotheses` asks for it by name (:data:`detente.crisis.analysis.TWINS_PRELOAD`,
through :meth:`detente.executors.ProcessExecutor.warm` and :func:`detente.processes.preload_in_forkserver`)
when its batch will use the twins; it lives in the experiments layer because loading the twins
simulates a bundled scenario. Speed only: which implementation a chunk uses travels with the chunk
(:attr:`detente.crisis.engine.CrisisChunk.use_compiled`), so nothing here declares the twins loaded.

Import it only there (pytest's doctest collection skips this module, see pyproject.toml: it
would load numba into a test worker)."""

import detente.crisis.engine  # noqa: F401  (what every worker runs)
from detente.experiments.compiled_cache import preload

preload()
