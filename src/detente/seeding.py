"""The one seed policy of detente: which seed a model run uses, and how it is recorded.

Every front end (the Python API :func:`detente.forecast`, the ``detente forecast`` command and
the web's ``/api/jobs``) reaches the models through
:func:`detente.models.registry.run_model`, which runs the model through :func:`run_seeded`:

* a seed the caller gives (an integer >= 0) is used as it is, recorded in ``RunResult.seed``
  and part of the run key (unless the run draws nothing, below);
* a **stochastic** model (``ModelSpec.stochastic``) run without a seed gets one drawn here from
  the operating system's entropy (:func:`draw_seed`, an integer in ``[0, 2**53 - 1]``, so it is
  exact in JSON readers that hold numbers as doubles, such as JavaScript); it is recorded and
  keys the run like a given seed, so re-running with it gives the same bytes and the same run
  id, and two runs without a seed are two runs;
* a run that draws no random number at all (every **deterministic** model, and stochastic
  models in a configuration that draws nothing, e.g. ``smp`` with deterministic state
  transitions or ``exchange`` equal gain) records ``seed: null``, meaning "no seed used", even
  if a seed was given: its result depends on no seed, and all such runs of the same inputs share
  one run id. Whether a run drew is read off its generator (:func:`run_seeded`): the bit
  generator's state and the number of child seed sequences spawned from it. A deterministic
  model without a seed gets a generator seeded with :data:`UNUSED_SEED`; should one ever draw
  from it, that seed is recorded.

A front end that must show the seed before the run starts (the web records it with the job)
calls :func:`resolve_seed` and passes the result as the run's seed: the same rule then applies.

Sweeps and crisis runs have declared defaults instead of a drawn seed (the sweep spec's
``seed``, default 0; the crisis scenario's ``settings.seed``), recorded with the run.

Examples
--------
>>> from detente.seeding import run_seeded
>>> run_seeded(lambda rng: rng.integers(10), 7, stochastic=True)[1]       # given and used
7
>>> run_seeded(lambda rng: "no draw", 7, stochastic=True)                   # drew nothing
('no draw', None)
>>> value, seed = run_seeded(lambda rng: rng.random(), None, stochastic=True)
>>> 0 <= seed <= MAX_DRAWN_SEED and value == np.random.default_rng(seed).random()
True
"""

from __future__ import annotations

import numbers
import secrets
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from detente.errors import InputError, Problem

__all__ = ["MAX_DRAWN_SEED", "UNUSED_SEED", "draw_seed", "check_seed", "resolve_seed", "run_seeded"]

T = TypeVar("T")

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
    """The seed a run will be handed: ``seed`` if given, else a drawn one for a stochastic
    model, else ``None``. (What is *recorded* is decided after the run: see :func:`run_seeded`.)"""
    seed = check_seed(seed)
    if seed is None and stochastic:
        return draw_seed()
    return seed


def _draw_mark(rng: np.random.Generator) -> tuple[Any, Any]:
    """What changes when a generator is used: its bit generator's state, and the number of
    children spawned from its seed sequence (``Generator.spawn``, ``seed_seq.spawn``)."""
    bg = rng.bit_generator
    return bg.state, getattr(getattr(bg, "seed_seq", None), "n_children_spawned", None)


def run_seeded(fn: Callable[[np.random.Generator], T], seed: Any, *, stochastic: bool) -> tuple[T, int | None]:
    """Call ``fn(rng)`` under the seed policy; return its value and the seed to record.

    The generator is seeded with :func:`resolve_seed` (or :data:`UNUSED_SEED` when that is
    ``None``). The seed is recorded if ``fn`` drew from the generator; a run that drew nothing
    records ``None``, whatever seed it was handed, since its value depends on no seed.
    """
    handed = resolve_seed(seed, stochastic=stochastic)
    used = UNUSED_SEED if handed is None else handed
    rng = np.random.default_rng(used)
    before = _draw_mark(rng)
    value = fn(rng)
    return value, (None if _draw_mark(rng) == before else used)
