"""detente — forecast multi-actor negotiations and crises.

The few names most users need:

>>> import detente
>>> s = detente.Scenario(actors=[detente.Actor(id="A"), detente.Actor(id="B")],
...                      issues=[detente.Issue(id="x")],
...                      stances=[detente.Stance(actor="A", issue="x", position=20, salience=50),
...                               detente.Stance(actor="B", issue="x", position=80, salience=50)])
>>> detente.forecast(s, "compromise").forecast("x")
50.0
"""

from __future__ import annotations

__version__ = "0.1.0"

from typing import TYPE_CHECKING, Any

from detente.errors import DetenteError, InputError, Problem, RunError

if TYPE_CHECKING:
    from detente.scenario import Actor, Issue, Relation, Scenario, Stance

#: Names imported on first use (PEP 562), so that ``import detente.cli`` (``--version``,
#: ``--help``) does not pay for numpy and pydantic before the command needs them.
_LAZY = {"Actor": "detente.scenario", "Issue": "detente.scenario", "Relation": "detente.scenario",
         "Scenario": "detente.scenario", "Stance": "detente.scenario"}


def __getattr__(name: str) -> Any:
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'detente' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(mod), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))

__all__ = [
    "__version__", "Actor", "Issue", "Stance", "Relation", "Scenario",
    "DetenteError", "InputError", "Problem", "RunError", "forecast", "load", "save", "sweep", "sensitivity",
]


def forecast(scenario: Any, model: str = "compromise", *, variant: str | None = None, params: Any = None,
             seed: int | None = None, rng: Any = None, **overrides: Any) -> Any:
    """Run a registered model; see :func:`detente.models.registry.run_model`.

    Without ``seed``, a run that draws random numbers draws its seed and records it in
    ``RunResult.seed``; ``forecast(..., seed=result.seed)`` repeats it byte for byte. A run
    that draws nothing records ``seed=None``. See :mod:`detente.seeding`.
    """
    from detente.models.registry import run_model

    return run_model(scenario, model, variant=variant, params=params, seed=seed, rng=rng, **overrides)


def sweep(scenario: Any, model: str, *, vary: Any = None, runs: int = 100, seed: int = 0, store: Any = None,
          variant: str | None = None, params: Any = None, chunk_size: int = 1000, name: str = "sweep") -> Any:
    """A Monte-Carlo sweep without a YAML spec, like Mesa's ``batch_run``; returns a ``SweepResult``
    (``.to_df()``, ``.summary()``, ``.plot()``, a table in Jupyter).

    ``scenario`` is a file, a bundled name or a :class:`Scenario`; ``vary`` maps a field (with an
    optional ``[ACTORS/ISSUES]`` selector) to a change such as ``"+-10"``, ``"+-5%"``, ``"+0..5"``,
    ``"*0.9..1.1"`` or ``"20..80"`` (grammar: :mod:`detente.experiments.front`). The same sweep as
    ``detente sweep FILE -m MODEL --vary 'salience=+-10' --runs 2000`` and as the equivalent YAML spec.

    >>> import detente
    >>> res = detente.sweep("ec_conflict", "compromise", vary={"salience": "+-10"}, runs=50, seed=1)  # doctest: +SKIP
    """
    from detente.experiments.front import sweep as _sweep

    return _sweep(scenario, model, vary=vary, runs=runs, seed=seed, store=store, variant=variant, params=params,
                  chunk_size=chunk_size, name=name)


def sensitivity(scenario: Any, model: str | None = None, *, vary: Any = None, method: str = "sobol",
                n: int | None = None, seed: int | None = None, store: Any = None, **kw: Any) -> Any:
    """Global sensitivity (SALib Sobol or Morris) returning a ``SensitivityResult`` (``.to_df()``,
    ``.plot()`` tornado, ``.warnings``). With ``model``: a bargaining model's forecasts over the ``vary``
    factors; without, on a crisis scenario: its outputs (``outputs=[...]``) over the dotted paths in
    ``vary`` (default every assumption with a range); further keywords (``outputs``, ``hypothesis``,
    ``runs_per_point``, ``executor``) as for :func:`detente.experiments.front.sensitivity`."""
    from detente.experiments.front import sensitivity as _sens

    return _sens(scenario, model, vary=vary, method=method, n=n, seed=seed, store=store, **kw)


def load(path: Any, *, format: str | None = None, max_bytes: int = 20 * 1024 * 1024, **options: Any) -> Any:
    """Read a scenario from any supported file, or a bundled scenario by name (``"seesaw-2021"``,
    see :func:`detente.examples.names`) when no such file exists; see :func:`detente.formats.load`."""
    from pathlib import Path

    from detente.formats import load as _load

    if isinstance(path, str) and not Path(path).exists():
        from detente import examples

        if path in examples.names():
            path = examples.path(path)
    return _load(path, format=format, max_bytes=max_bytes, **options)


def save(scenario: Any, path: Any, *, format: str | None = None, **options: Any) -> Any:
    """Write a scenario; see :func:`detente.formats.save`."""
    from detente.formats import save as _save

    return _save(scenario, path, format=format, **options)
