"""Scenarios shipped inside the package, loadable by name.

>>> from detente import examples
>>> "ec_emission" in examples.names()
True
>>> examples.load("ec_emission").name
'ec-emission-1994'
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["names", "path", "load", "random_scenario"]

_SUFFIXES = (".yaml", ".yml")


def _root() -> Path:
    return Path(str(resources.files(__name__)))


def names() -> list[str]:
    """Names of the bundled scenarios (file stems)."""
    return sorted(p.stem for p in _root().iterdir() if p.suffix in _SUFFIXES)


def path(name: str) -> Path:
    """Path of a bundled scenario file."""
    for suf in _SUFFIXES:
        p = _root() / f"{name}{suf}"
        if p.exists():
            return p
    raise KeyError(f"no bundled example {name!r}; bundled: {', '.join(names())}")


def load(name: str):
    """Load a bundled scenario by name."""
    from detente.formats import load as _load

    return _load(path(name))


def random_scenario(n: int, seed: int = 0):
    """A synthetic one-issue scenario of ``n`` actors for scaling studies (not a bundled example):
    capability ~ U(0.1, 1), position ~ U(0, 100) on issue ``x`` (bounds 0 and 100), salience
    ~ U(0.1, 1), drawn from ``numpy.random.default_rng(seed)`` in that order; actors ``A0 … A{n-1}``,
    salience on the unit scale. ``benchmarks/bench_bdm.py --scaling`` and the BDM tests use it."""
    import numpy as np

    from detente.scenario import Actor, Issue, Scenario, Stance

    g = np.random.default_rng(seed)
    ids = [f"A{k}" for k in range(n)]
    return Scenario(
        name=f"random{n}", salience_scale="unit",
        actors=[Actor(id=a, capability=float(c)) for a, c in zip(ids, g.uniform(0.1, 1, n))],
        issues=[Issue(id="x", lower=0, upper=100)],
        stances=[Stance(actor=a, issue="x", position=float(p), salience=float(s))
                 for a, p, s in zip(ids, g.uniform(0, 100, n), g.uniform(0.1, 1, n))],
    )
