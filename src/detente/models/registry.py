"""Registry of models by short name, with the capabilities each declares.

Every model module exposes ``SPEC`` (a :class:`ModelSpec`) and a function
``run(scenario, params, *, rng) -> RunResult``. The registry maps short names to
``"module:attribute"`` locations and imports a model only when it is asked for, so
importing detente stays cheap and free of side effects.

Examples
--------
>>> from detente.models.registry import get, names
>>> "compromise" in names()
True
>>> get("median").multi_issue
True
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import BaseModel, ValidationError

from detente.errors import InputError, Problem, RunError, UnknownModelError
from detente.result import RunResult
from detente.seeding import check_seed, run_seeded

__all__ = ["ModelSpec", "get", "names", "available", "run_model", "make_params", "check_params", "check_finite"]


@dataclass(frozen=True)
class ModelSpec:
    """What a model is and what it supports.

    Attributes
    ----------
    name
        Short registry name (``"bdm"``).
    summary
        One line for ``detente models``.
    params_class
        pydantic model of the parameters (``extra="forbid"``).
    run
        ``run(scenario, params, *, rng) -> RunResult``.
    multi_issue
        Handles scenarios with several issues (jointly or one by one).
    dynamics
        Produces per-round trajectories.
    stochastic
        Uses the random generator (results depend on the seed).
    variants
        Named variants; the first is the default. Empty if the model has none.
    citation
        Main reference(s).
    """

    name: str
    summary: str
    params_class: type[BaseModel]
    run: Callable[..., RunResult]
    multi_issue: bool = True
    dynamics: bool = False
    stochastic: bool = False
    variants: tuple[str, ...] = ()
    citation: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def default_variant(self) -> str | None:
        return self.variants[0] if self.variants else None

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "summary": self.summary,
            "multi_issue": self.multi_issue,
            "dynamics": self.dynamics,
            "stochastic": self.stochastic,
            "variants": list(self.variants),
            "default_variant": self.default_variant,
            "citation": self.citation,
            "params": self.params_class.model_json_schema(),
        }


# name -> "module:attribute" of its ModelSpec. Add a line here when a model lands.
_BUILTIN: dict[str, str] = {
    "compromise": "detente.models.baseline:COMPROMISE",
    "median": "detente.models.baseline:MEDIAN",
    "nbs": "detente.models.baseline:NBS",
    "procedural": "detente.models.deu.procedural:SPEC",
    "deu_candidate": "detente.models.deu.median_regression:SPEC",
    "deu_candidate2": "detente.models.deu.reweighted_compromise:SPEC",
    "deu_candidate3": "detente.models.deu.point_masses:SPEC",
    "smp": "detente.models.smp:SPEC",
    "bdm": "detente.models.bdm:SPEC",
    "exchange": "detente.models.exchange:SPEC",
}

_cache: dict[str, ModelSpec] = {}

#: Similarity (difflib ratio, 0-1) a registered name needs to be offered for a mistyped one.
SUGGEST_CUTOFF = 0.6


def close_names(name: str, known: Iterable[str], n: int = 3) -> list[str]:
    """The registered names closest to a mistyped ``name`` (best first; case ignored).

    >>> close_names("compromize", ["compromise", "median", "nbs"])
    ['compromise']
    >>> close_names("zzz", ["compromise", "median"])
    []
    """
    import difflib

    by_lower = {k.lower(): k for k in known}
    return [by_lower[m] for m in difflib.get_close_matches(str(name).lower(), list(by_lower), n=n, cutoff=SUGGEST_CUTOFF)]


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` (or ``'x' or 'y'``) for a mistyped name, ``""`` if nothing is close."""
    close = close_names(name, known)
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def names() -> list[str]:
    """Registered model names, in registration order."""
    return list(_BUILTIN)


def get(name: str) -> ModelSpec:
    """The :class:`ModelSpec` of a registered model.

    Raises
    ------
    UnknownModelError
        If no model has that name.
    """
    if name in _cache:
        return _cache[name]
    loc = _BUILTIN.get(name)
    if loc is None:
        exc = UnknownModelError(f"unknown model {name!r}{did_you_mean(name, _BUILTIN)} (known models: {', '.join(_BUILTIN)})")
        exc.name = name  # the CLI reports it as the offending value
        exc.suggestions = close_names(name, _BUILTIN)
        raise exc
    mod, attr = loc.split(":")
    spec = getattr(importlib.import_module(mod), attr)
    _cache[name] = spec
    return spec


def available() -> list[ModelSpec]:
    """Specs of every registered model."""
    return [get(n) for n in _BUILTIN]


def make_params(spec: ModelSpec, params: Mapping[str, Any] | BaseModel | None = None, **overrides: Any) -> BaseModel:
    """Validate parameters for a model, reporting every bad field as a :class:`Problem`.

    ``overrides`` (e.g. ``variant=`` from ``--variant``, ``rounds=`` from ``--rounds``) that
    are not ``None`` replace fields of a params *object*; given together with a *mapping*
    that sets the same name to a different value they are an input error (``-p variant=rex
    -v equal_gain`` does not silently pick one).
    """
    if isinstance(params, BaseModel):
        data = params.model_dump()
    else:
        data = dict(params or {})
        clash = [Problem(f"parameter {k!r} is given twice with different values", column=k, value=data[k],
                         expected=f"one value (the other one given is {v!r})")
                 for k, v in overrides.items() if v is not None and k in data and not _same(data[k], v)]
        if clash:
            raise InputError(clash, file="<params>")
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return spec.params_class.model_validate(data)
    except ValidationError as exc:
        problems = [
            Problem(
                message=e["msg"].removeprefix("Value error, "),
                column=".".join(str(x) for x in e["loc"]) or None,
                value=e.get("input") if not isinstance(e.get("input"), dict) else None,
                expected=f"a valid parameter of model {spec.name!r}",
            )
            for e in exc.errors()
        ]
        raise InputError(problems, file="<params>") from None


def _same(a: Any, b: Any) -> bool:
    """Equal values of the same kind (``True`` and ``1`` differ)."""
    return (type(a) is type(b) and a == b) or (
        isinstance(a, (int, float)) and isinstance(b, (int, float))
        and not isinstance(a, bool) and not isinstance(b, bool) and a == b)


def run_model(
    scenario: Any,
    model: str,
    *,
    variant: str | None = None,
    params: Mapping[str, Any] | BaseModel | None = None,
    seed: int | None = None,
    rng: np.random.Generator | None = None,
    **overrides: Any,
) -> RunResult:
    """Run a registered model on a scenario.

    Parameters
    ----------
    scenario
        A :class:`~detente.scenario.Scenario`.
    model
        Registered name (see :func:`names`).
    variant
        Variant name; the model's default when omitted.
    params
        Parameters (mapping or the model's params object); validated.
    seed
        Root seed (an integer >= 0); the generator is ``numpy.random.default_rng(seed)`` unless
        ``rng`` is given. Without ``seed`` and ``rng``, the seed policy of :mod:`detente.seeding`
        applies: a stochastic model draws a seed and records it in ``RunResult.seed`` (so the
        run can be repeated with it); a run that draws no random number records ``None``
        ("no seed used"), also when a seed was given.
    rng
        A generator of the caller's own. The result then records ``seed`` as given (``None``
        when omitted): pass ``seed`` instead for a run that records how to repeat it.
    **overrides
        Extra parameters (e.g. ``rounds=10``), applied over ``params`` when not ``None``.

    Returns
    -------
    RunResult
    """
    spec = get(model)
    p = check_params(spec, variant=variant, params=params, **overrides)
    if rng is None:
        result, seed = run_seeded(lambda g: spec.run(scenario, p, rng=g), seed, stochastic=spec.stochastic)
    else:
        result = spec.run(scenario, p, rng=rng)
    check_finite(result)
    return result.with_seed(check_seed(seed))


def check_params(
    spec: ModelSpec,
    *,
    variant: str | None = None,
    params: Mapping[str, Any] | BaseModel | None = None,
    **overrides: Any,
) -> BaseModel:
    """The checks :func:`run_model` makes before running: ``variant`` is one of the model's,
    every override names a field, and ``params`` with the overrides validate
    (:func:`make_params`). Returns the params object; raises :class:`InputError` otherwise.
    """
    model = spec.name
    if variant is not None:
        if not spec.variants:
            raise InputError(Problem(f"model {model!r} has no variants", column="variant", value=variant, expected="no --variant"))
        if variant not in spec.variants:
            raise InputError(Problem(f"unknown variant of model {model!r}{did_you_mean(variant, spec.variants)}",
                                     column="variant", value=variant, expected=" | ".join(spec.variants)))
        overrides["variant"] = variant
    fields = spec.params_class.model_fields
    for k, v in overrides.items():
        if v is not None and k not in fields:
            raise InputError(Problem(f"model {model!r} has no parameter {k!r}", column=k, value=v, expected=", ".join(fields) or "no parameters"))
    return make_params(spec, params, **overrides)


def check_finite(result: RunResult) -> None:
    """Refuse a result with a non-finite forecast or round position (issue 13).

    The JSON form writes ``nan``/``inf`` as ``null``, which reads as "no forecast", so a model
    whose arithmetic broke down would otherwise pass silently with exit code 0. Raises
    :class:`RunError` (CLI exit 1) naming the model, the issue and what was not finite.
    ``None`` (a model's documented "no forecast", e.g. an issue without positions) is fine.
    """
    for iid, ir in result.issues.items():
        values = [("forecast", ir.forecast)]
        values += [(f"position of {a!r} in round {k}", x) for k, r in enumerate(ir.rounds) for a, x in r.positions.items()]
        for what, x in values:
            if x is not None and not math.isfinite(x):
                raise RunError(
                    f"model {result.model!r}" + (f" (variant {result.variant!r})" if result.variant else "")
                    + f" produced a non-finite {what} ({x}) on issue {iid!r}: its arithmetic overflowed or "
                    "divided zero by zero, most likely on input values of extreme magnitude; nothing was "
                    "stored. Please report it with the scenario.")
