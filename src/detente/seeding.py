"""The one seed policy of detente: which seed a model run uses, and how it is recorded.

Every front end (the Python API :func:`detente.forecast`, the ``detente forecast`` command and
the web's ``/api/jobs``) reaches the models through
:func:`detente.models.registry.run_model`, which asks :func:`resolve_seed` for the seed:

* a seed the caller gives (an integer >= 0) is used as it is, recorded in ``RunResult.seed``
  and part of the run key, for every model;
* a **stochastic** model (``ModelSpec.stochastic``) run without a seed gets one drawn here from
  the operating system's entropy (:func:`draw_seed`, an integer in ``[0, 2**53 - 1]``, so it is
  exact in JSON readers that hold numbers as doubles, such as JavaScript); it is recorded and
  keys the run like a given seed, so re-running with it gives the same bytes and the same run
  id, and two runs without a seed are two runs;
* a **deterministic** model run without a seed records ``seed: null``, meaning "no seed used";
  it is handed a generator seeded with :data:`UNUSED_SEED` so that even a model that drew by
  mistake would give the same bytes every time (the tests check that none does).

Sweeps and crisis runs have declared defaults instead of a drawn seed (the sweep spec's
``seed``, default 0; the crisis scenario's ``settings.seed``), recorded with the run.

Examples
--------
>>> from detente.seeding import resolve_seed
>>> resolve_seed(7, stochastic=True), resolve_seed(None, stochastic=False)
(7, None)
>>> 0 <= resolve_seed(None, stochastic=True) <= MAX_DRAWN_SEED
True
"""

from __future__ import annotations

import numbers
import secrets
from typing import Any

import numpy as np

from detente.errors import InputError, Problem

__all__ = ["MAX_DRAWN_SEED", "UNUSED_SEED", "draw_seed", "check_seed", "resolve_seed", "generator"]

#: Largest seed :func:`draw_seed` returns (2**53 - 1: every such integer is exact as a double).
MAX_DRAWN_SEED = 2**53 - 1
#: Seed of the generator handed to a deterministic model run without a seed (never recorded).
UNUSED_SEED = 0


def draw_seed() -> int:
    """A fresh seed from the operating system's entropy, uniform on ``[0, MAX_DRAWN_SEED]``."""
    return secrets.randbits(53)


def check_seed(seed: Any) -> int | None:
    """``seed`` as a Python ``int`` (or ``None``); anything but a non-negative integer is an
    :class:`~detente.errors.InputError` naming the ``seed`` field."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or int(seed) < 0:
        raise InputError(Problem("invalid seed", column="seed", value=seed, expected="an integer >= 0 or none"))
    return int(seed)


def resolve_seed(seed: Any, *, stochastic: bool) -> int | None:
    """The seed a run uses and records: ``seed`` if given, a drawn one for a stochastic model,
    ``None`` ("not used") for a deterministic model."""
    seed = check_seed(seed)
    if seed is None and stochastic:
        return draw_seed()
    return seed


def generator(seed: int | None) -> np.random.Generator:
    """The run's generator: ``numpy.random.default_rng(seed)``, or seeded with
    :data:`UNUSED_SEED` when ``seed`` is ``None`` (deterministic runs)."""
    return np.random.default_rng(UNUSED_SEED if seed is None else seed)
