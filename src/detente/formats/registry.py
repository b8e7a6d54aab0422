"""Dispatch of readers and writers by format name, extension and content."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Callable

from detente.errors import InputError, Problem
from detente.scenario import Scenario

__all__ = ["FORMATS", "load", "save", "sniff_format", "MAX_BYTES"]

#: Files larger than this are refused before reading (override with ``max_bytes``).
MAX_BYTES = 20 * 1024 * 1024

# format name -> (reader "module:function" or None, writer "module:function" or None)
FORMATS: dict[str, tuple[str | None, str | None]] = {
    "yaml": ("detente.formats.yamlfmt:read_yaml", "detente.formats.yamlfmt:write_yaml"),
    "json": ("detente.formats.yamlfmt:read_yaml", "detente.formats.yamlfmt:write_json"),
    "deu": ("detente.formats.deu:read_deu", None),
}


def _fn(loc: str) -> Callable[..., Any]:
    mod, attr = loc.split(":")
    return getattr(importlib.import_module(mod), attr)


def sniff_format(path: str | Path) -> str:
    """Guess a file's format from its extension (and, for CSV/TXT, its first line)."""
    p = Path(path)
    ext = p.suffix.lower()
    if ext in (".yaml", ".yml"):
        return "yaml"
    if ext == ".json":
        return "json"
    raise InputError(Problem("unrecognised file type", file=str(path), value=ext or p.name,
                             expected="one of: " + ", ".join(sorted(FORMATS))))


def load(path: str | Path, *, format: str | None = None, max_bytes: int = MAX_BYTES, **options: Any) -> Scenario:
    """Read a scenario from ``path``.

    Parameters
    ----------
    path
        The file.
    format
        Force a format (see :data:`FORMATS`); guessed from the file otherwise.
    max_bytes
        Refuse larger files with a clear error instead of reading them.

    Raises
    ------
    InputError
        Listing every problem found in the file.
    """
    p = Path(path)
    if not p.exists():
        raise InputError(Problem("file not found", file=str(path)))
    if p.is_dir():
        raise InputError(Problem("is a directory, not a file", file=str(path)))
    size = p.stat().st_size
    if size > max_bytes:
        raise InputError(Problem(f"file too large ({size / 1e6:.1f} MB); the limit is {max_bytes / 1e6:.1f} MB",
                                 file=str(path), expected="a smaller file, or a larger max_bytes"))
    if size == 0:
        raise InputError(Problem("file is empty", file=str(path), expected="a scenario"))
    fmt = format or sniff_format(p)
    if fmt not in FORMATS or FORMATS[fmt][0] is None:
        raise InputError(Problem("no reader for this format", file=str(path), value=fmt,
                                 expected=", ".join(k for k, v in FORMATS.items() if v[0])))
    return _fn(FORMATS[fmt][0])(p, **options)  # type: ignore[arg-type]


def save(scenario: Scenario, path: str | Path, *, format: str | None = None, **options: Any) -> Path:
    """Write ``scenario`` to ``path`` in the format named or implied by the extension."""
    p = Path(path)
    fmt = format or sniff_format(p)
    if fmt not in FORMATS or FORMATS[fmt][1] is None:
        raise InputError(Problem("no writer for this format", file=str(path), value=fmt,
                                 expected=", ".join(k for k, v in FORMATS.items() if v[1])))
    _fn(FORMATS[fmt][1])(scenario, p, **options)  # type: ignore[arg-type]
    return p
