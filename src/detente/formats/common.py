"""Shared reader machinery: turn raw data plus a map of where each value came from into a
validated :class:`Scenario`, reporting every problem with file, line, column and value."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from pydantic import ValidationError

from detente.errors import InputError, Problem
from detente.scenario import Scenario

__all__ = ["Locator", "build_scenario", "read_text"]

#: Maps a field path such as ("stances", 3, "position") to (line, column name) in the file.
Locator = Callable[[tuple], "tuple[int | None, str | None]"]


def _no_loc(path: tuple) -> tuple[int | None, str | None]:
    return None, ".".join(str(p) for p in path) or None


def _expected_from(err: dict[str, Any]) -> str | None:
    t = err.get("type", "")
    ctx = err.get("ctx") or {}
    if t == "missing":
        return "a value"
    if t in ("float_parsing", "float_type"):
        return "a number"
    if t == "greater_than_equal":
        return f"a number >= {ctx.get('ge')}"
    if t == "less_than_equal":
        return f"a number <= {ctx.get('le')}"
    if t == "extra_forbidden":
        return "no such field"
    if t == "literal_error":
        return ctx.get("expected")
    return None


def build_scenario(data: dict[str, Any], *, file: str | Path | None = None, locate: Locator | None = None) -> Scenario:
    """Validate ``data`` into a :class:`Scenario`.

    Field-level errors (pydantic) and cross-reference problems (unknown actors, positions
    outside bounds, duplicates) are all collected, located with ``locate`` and raised
    together as one :class:`InputError`.
    """
    loc = locate or _no_loc
    fname = str(file) if file is not None else None
    problems: list[Problem] = []
    try:
        scn = Scenario.model_validate(data, context={"defer_cross_checks": True})
    except ValidationError as exc:
        for e in exc.errors():
            path = tuple(e["loc"])
            line, col = loc(path)
            val = e.get("input")
            if isinstance(val, (dict, list)):
                val = None
            msg = e["msg"]
            if msg.startswith("Value error, "):
                msg = msg[len("Value error, "):]
            problems.append(Problem(message=msg, file=fname, line=line, column=col, value=val, expected=_expected_from(e)))
        raise InputError(problems) from None
    for p in scn.problems():
        line, col = loc(p.path)
        problems.append(Problem(message=p.message, file=fname, line=line, column=col, value=p.value, expected=p.expected))
    if problems:
        raise InputError(problems)
    return scn


def read_text(path: str | Path, *, encodings: tuple[str, ...] = ("utf-8-sig", "cp1252")) -> tuple[str, str]:
    """Read a text file trying each encoding in turn; returns (text, encoding used).

    Raises an :class:`InputError` naming the byte offset (line and column) of the first
    undecodable byte if none of the encodings fits.
    """
    raw = Path(path).read_bytes()
    if b"\x00" in raw[:4096]:
        raise InputError(Problem("binary file or unsupported encoding (NUL bytes found)", file=str(path),
                                 expected="a UTF-8 or Windows-1252 text file"))
    first_err: UnicodeDecodeError | None = None
    for enc in encodings:
        try:
            return raw.decode(enc), enc
        except UnicodeDecodeError as exc:
            first_err = first_err or exc
    assert first_err is not None
    pos = first_err.start
    line = raw.count(b"\n", 0, pos) + 1
    col = pos - (raw.rfind(b"\n", 0, pos) + 1) + 1
    raise InputError(Problem(f"cannot decode byte 0x{raw[pos]:02x} at column {col}", file=str(path), line=line,
                             value=repr(raw[max(0, pos - 10):pos + 10]), expected="text in " + " or ".join(encodings)))
