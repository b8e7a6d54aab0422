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

__all__ = ["names", "path", "load"]

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
