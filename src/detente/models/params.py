"""Shared base of every model's parameters.

:class:`ModelParams` is a pydantic model with

* ``extra="forbid"``: unknown parameters are errors;
* ``allow_inf_nan=False``: ``inf``, ``-inf`` and ``NaN`` are refused in every float field
  (also inside lists), so a parameter such as ``-p alpha=Infinity`` is an input error instead
  of a run whose echoed parameters show ``null``;
* strict numbers: a numeric field (``int``, ``float``, optional or in a list) refuses
  booleans and strings. pydantic's lax mode would read ``true`` as ``1`` and ``"10"`` as
  ``10``; here ``-p ensemble=true`` and ``-p rounds='"10"'`` are errors. The CLI parses
  ``-p NAME=VALUE`` as JSON, so ``-p rounds=10`` arrives as the integer 10 and is accepted;
  a value that is not JSON (``-p alpha=inf``) arrives as a string and is refused. Integral
  floats (``10.0``, as sweeps produce for ``param:`` factors) are still accepted by int
  fields; fractional ones are refused by pydantic;
* strict booleans: a boolean field (``bool``, optional or in a list) accepts only ``true`` and
  ``false``. pydantic's lax mode would read ``1``, ``0``, ``"true"``, ``"yes"`` or ``"off"`` as
  booleans; here ``-p renege=1`` and ``-p renege='"true"'`` are errors, while ``-p renege=true``
  arrives as the JSON boolean and is accepted.

Examples
--------
>>> from pydantic import Field
>>> class P(ModelParams):
...     rounds: int = Field(10, ge=1)
...     alpha: float = 1.0
>>> P(rounds=10.0).rounds
10
>>> P(alpha=float("inf"))  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
pydantic_core._pydantic_core.ValidationError: 1 validation error for P
alpha
  Input should be a finite number ...
>>> P(rounds=True)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
pydantic_core._pydantic_core.ValidationError: 1 validation error for P
rounds
  Value error, expected a number, not a boolean ...
>>> class B(ModelParams):
...     renege: bool | None = None
>>> B(renege=True).renege
True
>>> B(renege="true")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
pydantic_core._pydantic_core.ValidationError: 1 validation error for B
renege
  Value error, expected a boolean (true or false), not a string ...
"""

from __future__ import annotations

import types
import typing
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

__all__ = ["ModelParams"]


def _numeric(ann: Any) -> bool:
    """Whether an annotation is a number or an optional/list/tuple of numbers (not bool)."""
    if ann is bool:
        return False
    if ann in (int, float):
        return True
    origin = typing.get_origin(ann)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(ann) if a is not type(None)]
        return bool(args) and all(_numeric(a) for a in args)
    if origin is typing.Annotated:
        return _numeric(typing.get_args(ann)[0])
    return False


def _boolean(ann: Any) -> bool:
    """Whether an annotation is ``bool`` or an optional/annotated ``bool``."""
    if ann is bool:
        return True
    origin = typing.get_origin(ann)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(ann) if a is not type(None)]
        return bool(args) and all(_boolean(a) for a in args)
    if origin is typing.Annotated:
        return _boolean(typing.get_args(ann)[0])
    return False


def _boolean_items(ann: Any) -> bool:
    """Whether an annotation is a (optional) list or tuple of booleans."""
    origin = typing.get_origin(ann)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(ann) if a is not type(None)]
        return bool(args) and all(_boolean_items(a) for a in args)
    if origin in (list, tuple):
        args = [a for a in typing.get_args(ann) if a is not Ellipsis]
        return bool(args) and all(_boolean(a) for a in args)
    return False


def _refuse_non_bool(v: Any) -> None:
    if not isinstance(v, (bool, np.bool_)):
        kind = "a string" if isinstance(v, (str, bytes)) else f"{type(v).__name__} {v!r}"
        raise ValueError(f"expected a boolean (true or false), not {kind}")


def _numeric_items(ann: Any) -> bool:
    """Whether an annotation is a (optional) list or tuple of numbers."""
    origin = typing.get_origin(ann)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(ann) if a is not type(None)]
        return bool(args) and all(_numeric_items(a) for a in args)
    if origin in (list, tuple):
        args = [a for a in typing.get_args(ann) if a is not Ellipsis]
        return bool(args) and all(_numeric(a) for a in args)
    return False


def _refuse(v: Any) -> None:
    if isinstance(v, bool):
        raise ValueError("expected a number, not a boolean")
    if isinstance(v, (str, bytes)):
        raise ValueError("expected a number, not a string (write numbers without quotes)")


class ModelParams(BaseModel):
    """Base class of every model's params class (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _strict_numbers_and_booleans(cls, v: Any, info: ValidationInfo) -> Any:
        f = cls.model_fields.get(info.field_name) if info.field_name else None
        if f is None or v is None:
            return v
        if _numeric(f.annotation):
            _refuse(v)
        elif _numeric_items(f.annotation) and isinstance(v, (list, tuple)):
            for x in v:
                _refuse(x)
        elif _boolean(f.annotation):
            _refuse_non_bool(v)
        elif _boolean_items(f.annotation) and isinstance(v, (list, tuple)):
            for x in v:
                _refuse_non_bool(x)
        return v
