"""The crisis layer: a time-stepped engine for multi-actor crises, vectorised over runs.

The few names users need:

* :func:`run` ``(scenario, params, *, rng=None, seed=None) -> CrisisResult``;
* :class:`CrisisParams`, :class:`CrisisResult`;
* :func:`load_spec` — validate a scenario's ``dynamics`` block (optionally with a hypothesis);
* :func:`run_hypotheses` — every hypothesis of a scenario with back-test scores
  (the ``detente run --json`` object).

Scalar closed forms of every mechanism live in :mod:`detente.crisis.theory`; their
vectorised counterparts in :mod:`detente.crisis.kernels`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from detente.crisis.engine import CrisisParams, run
from detente.crisis.result import CrisisResult
from detente.crisis.spec import CrisisSpec, load_spec

__all__ = ["run", "CrisisParams", "CrisisResult", "CrisisSpec", "load_spec", "run_hypotheses"]


def run_hypotheses(scenario: Any, *, hypotheses: list[str] | None = None, runs: int | None = None,
                   seed: int | None = None, base_dir: str | Path | None = None, with_counterfactuals: bool = True,
                   cf_runs: int | None = None, extra_set: dict[str, Any] | None = None, chunk_size: int = 8192,
                   keep_results: bool = False, mechanisms: str | list[str] | None = None,
                   mechanism_runs: int | None = None, mechanism_hypotheses: list[str] | None = None,
                   as_of: list[dt.date] | None = None, forecast: bool = False) -> dict[str, Any]:
    """Every hypothesis of a crisis scenario with back-test scores (the ``detente run --json``
    object); see :func:`detente.crisis.analysis.run_hypotheses`, which this calls (imported on
    first use), for the parameters. ``tests/test_signatures.py`` keeps the two signatures equal."""
    from detente.crisis.analysis import run_hypotheses as _rh

    return _rh(scenario, hypotheses=hypotheses, runs=runs, seed=seed, base_dir=base_dir,
               with_counterfactuals=with_counterfactuals, cf_runs=cf_runs, extra_set=extra_set, chunk_size=chunk_size,
               keep_results=keep_results, mechanisms=mechanisms, mechanism_runs=mechanism_runs,
               mechanism_hypotheses=mechanism_hypotheses, as_of=as_of, forecast=forecast)
