"""Imported once by the forkserver of a crisis run's process pool (:func:`detente.processes.preload_in_forkserver`,
asked for by :func:`detente.crisis.analysis.run_hypotheses` when its batch will use the compiled
twins): the engine and the twins, loaded from numba's cache once there (:func:`detente.crisis.compiled.preload`)
instead of in every worker (≈ 1.1 s of CPU each: 0.4 s to import the engine, 0.7 s to load the twins).
Speed only: which implementation a chunk uses travels with the chunk (:attr:`CrisisChunk.use_compiled`),
so nothing here declares the twins loaded.

Import it only there (pytest's doctest collection skips this module, see pyproject.toml: it
would load numba into a test worker)."""

import detente.crisis.engine  # noqa: F401  (what every worker runs)
from detente.crisis import compiled

compiled.preload()
