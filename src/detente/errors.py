"""The single exception hierarchy of detente.

Every error a user can cause by bad input is an :class:`InputError` carrying one or
more :class:`Problem` records. Each problem names where it was found (file, line,
column), the offending value and what was expected, so that the command line and the
web UI can show all of a file's problems at once instead of a traceback.

Examples
--------
>>> p = Problem(file="a.csv", line=3, column="position", value="160",
...             message="position outside the issue bounds", expected="a number in [0, 100]")
>>> print(p)
a.csv:3: column 'position': value '160': position outside the issue bounds (expected a number in [0, 100])
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DetenteError",
    "InputError",
    "Problem",
    "RunError",
    "UnknownModelError",
    "StoreError",
    "UnknownRunError",
    "CatalogueError",
    "DamagedRunError",
]


@dataclass(frozen=True)
class Problem:
    """One problem found in an input.

    Parameters
    ----------
    message
        What is wrong, in words.
    file
        The file it was found in, if any.
    line
        1-based line (or spreadsheet row) number, if known.
    column
        Column name (or field path) the value sits in, if known.
    value
        The offending value as it appeared in the input.
    expected
        What would have been accepted.
    """

    message: str
    file: str | None = None
    line: int | None = None
    column: str | None = None
    value: Any = None
    expected: str | None = None

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(str(self.file))
        if self.line is not None:
            where.append(str(self.line))
        head = ":".join(where)
        parts = []
        if self.column is not None:
            parts.append(f"column {self.column!r}")
        if self.value is not None:
            v = self.value if isinstance(self.value, str) else repr(self.value)
            if len(v) > 60:
                v = v[:57] + "..."
            parts.append(f"value {v!r}")
        parts.append(self.message)
        text = ": ".join(parts)
        if self.expected:
            text += f" (expected {self.expected})"
        return f"{head}: {text}" if head else text

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable form (used by ``--json`` and the web UI)."""
        value = self.value
        if value is not None and not isinstance(value, (str, int, float, bool)):
            value = str(value)
        elif isinstance(value, float) and not math.isfinite(value):
            value = str(value)  # "nan", "inf", "-inf": as it appeared, and valid JSON
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "value": value,
            "message": self.message,
            "expected": self.expected,
        }


class DetenteError(Exception):
    """Base class of every error raised on purpose by detente."""


class InputError(DetenteError, ValueError):
    """Invalid input: holds every :class:`Problem` found, not just the first."""

    def __init__(self, problems: Iterable[Problem] | Problem | str, *, file: str | None = None):
        if isinstance(problems, str):
            problems = [Problem(message=problems, file=file)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        if file is not None:
            self.problems = [
                p if p.file else Problem(p.message, file, p.line, p.column, p.value, p.expected)
                for p in self.problems
            ]
        super().__init__(self._text())

    def _text(self) -> str:
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} in input"
        return head + ":\n" + "\n".join(f"  - {p}" for p in self.problems)

    def to_dict(self) -> dict[str, Any]:
        return {"error": "invalid input", "problems": [p.to_dict() for p in self.problems]}


class UnknownModelError(DetenteError, KeyError):
    """A model or variant name that is not registered."""

    name: str  # the offending name (set by the raiser; the CLI reports it as the value)
    suggestions: list[str]  # registered names close to it

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else "unknown model"


class RunError(DetenteError, RuntimeError):
    """A model run failed for a reason other than invalid input."""


class StoreError(DetenteError):
    """The run store could not read or write what was asked."""


class UnknownRunError(StoreError, InputError):
    """A run id or key prefix that matches no stored run, or more than one (invalid input)."""


class CatalogueError(StoreError):
    """The run catalogue (``catalog.sqlite``) is missing, empty, truncated or not a database.

    The message names the file, says what is wrong with it and what to do (``detente runs
    check`` / ``detente runs repair``); the file is left as it was.
    """


class DamagedRunError(StoreError):
    """A stored run's data files are missing or damaged (a part that cannot be read, or whose
    bytes or row count differ from what the catalogue recorded).

    The message names the run, the chunks and files, what is wrong with each, and what to do
    (``detente sweep resume`` recomputes a sweep's damaged chunks; ``detente runs repair``).
    """
