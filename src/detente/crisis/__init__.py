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

from detente.crisis.engine import CrisisParams, run
from detente.crisis.result import CrisisResult
from detente.crisis.spec import CrisisSpec, load_spec

__all__ = ["run", "CrisisParams", "CrisisResult", "CrisisSpec", "load_spec", "run_hypotheses"]


def run_hypotheses(*args, **kwargs):
    """See :func:`detente.crisis.analysis.run_hypotheses`."""
    from detente.crisis.analysis import run_hypotheses as _rh

    return _rh(*args, **kwargs)
