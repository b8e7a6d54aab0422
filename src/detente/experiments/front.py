"""Sweeps and sensitivity without a YAML spec: the ``--vary`` grammar and the builders behind
``detente.sweep`` / ``detente.sensitivity`` and ``detente sweep FILE -m MODEL --vary …``.

A *vary* item is ``FIELD[SELECTOR]=CHANGE``:

============================  ===============================================================
``FIELD``                     ``position``, ``salience``, ``capability``, ``actor_capability``,
                              ``status_quo`` or ``param:NAME`` (a model parameter)
``[SELECTOR]`` (optional)     ``[A,B]`` actors, ``[A,B/x,y]`` actors and issues, ``[/x]`` issues
``+-X``                       add a uniform draw from [−X, X]
``+-X%``                      multiply by a uniform draw from [1 − X/100, 1 + X/100]
``+A..B``                     add a uniform draw from [A, B]
``*A..B``                     multiply by a uniform draw from [A, B]
``A..B``                      set to a uniform draw from [A, B]
============================  ===============================================================

Stance and issue fields get one independent draw per cell (``per: cell``); a model parameter
one draw per run. ``salience=+-10`` is the spec factor
``{field: salience, mode: add, dist: {kind: uniform, low: -10, high: 10}, per: cell}``. In Python
a value of ``vary`` may also be a factor mapping (the YAML form) or a :class:`Factor`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from detente.errors import InputError, Problem
from detente.experiments.distributions import FIELDS, Factor
from detente.experiments.sweep import DesignSpec, SweepSpec

__all__ = ["parse_vary", "build_spec", "sweep", "sensitivity", "add_uncertainty", "DEFAULT_PARAM_DRAWS",
           "UNCERTAINTY_OUTPUTS"]

_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_ITEM = re.compile(r"^\s*(?P<field>[A-Za-z_:][\w:]*)\s*(?:\[(?P<sel>[^\]]*)\])?\s*=\s*(?P<change>.+?)\s*$")
_CHANGES = [
    (re.compile(rf"^\+-\s*(?P<x>{_NUM})\s*%$"), "pct"),
    (re.compile(rf"^(?:\+-|±)\s*(?P<x>{_NUM})$"), "pm"),
    (re.compile(rf"^\+\s*(?P<a>{_NUM})\s*\.\.\s*(?P<b>{_NUM})$"), "add"),
    (re.compile(rf"^\*\s*(?P<a>{_NUM})\s*\.\.\s*(?P<b>{_NUM})$"), "multiply"),
    (re.compile(rf"^(?P<a>{_NUM})\s*\.\.\s*(?P<b>{_NUM})$"), "set"),
]
GRAMMAR = "FIELD[ACTORS/ISSUES]=+-X | +-X% | +A..B | *A..B | A..B (e.g. salience=+-10, position[DE,FR]=+-5%)"


def _bad(option: str, value: str, why: str) -> InputError:
    return InputError(Problem(f"{option} {value!r}: {why}", column=option, value=value, expected=GRAMMAR))


def parse_vary(text: str, *, option: str = "--vary") -> Factor:
    """One ``--vary`` item as a sweep :class:`Factor` (errors name the option and the value)."""
    m = _ITEM.match(text)
    if not m:
        raise _bad(option, text, "expected FIELD=CHANGE")
    field, sel, change = m.group("field"), m.group("sel"), m.group("change")
    if field not in FIELDS and not (field.startswith("param:") and len(field) > 6):
        raise _bad(option, text, f"unknown field {field!r} (one of {', '.join(FIELDS)} or param:NAME)")
    actors = issues = None
    if sel is not None:
        a, _, i = sel.partition("/")
        actors = [x.strip() for x in a.split(",") if x.strip()] or None
        issues = [x.strip() for x in i.split(",") if x.strip()] or None
        if actors is None and issues is None:
            raise _bad(option, text, "empty selector")
    for rx, kind in _CHANGES:
        c = rx.match(change)
        if not c:
            continue
        if kind in ("pm", "pct"):
            x = float(c.group("x"))
            if x < 0:
                raise _bad(option, text, "the half-width must not be negative")
            mode, lo, hi = ("add", -x, x) if kind == "pm" else ("multiply", 1 - x / 100, 1 + x / 100)
        else:
            mode, lo, hi = kind, float(c.group("a")), float(c.group("b"))
            if lo > hi:
                raise _bad(option, text, f"range {lo:g}..{hi:g} has low > high")
        per = "factor" if field.startswith("param:") else "cell"
        try:
            return Factor.model_validate({"field": field, "actors": actors, "issues": issues, "mode": mode, "per": per,
                                          "dist": {"kind": "uniform", "low": lo, "high": hi}})
        except Exception as exc:  # noqa: BLE001 - pydantic's or a validator's message, attributed to the option
            raise _bad(option, text, str(exc).splitlines()[-1].strip()) from None
    raise _bad(option, text, f"cannot read the change {change!r}")


def _factor(key: str, val: Any) -> Factor:
    if isinstance(val, Factor):
        return val
    if isinstance(val, Mapping):
        return Factor.model_validate({"field": key, **val} if "field" not in val else dict(val))
    if isinstance(val, str):
        return parse_vary(f"{key}={val}", option="vary")
    raise _bad("vary", f"{key}={val!r}", "a value must be a change string, a factor mapping or a Factor")


def _scenario_ref(scenario: Any) -> tuple[str, Any]:
    """(the spec's ``scenario`` string, the loaded scenario) for a path, a bundled name or a Scenario."""
    from detente import examples
    from detente.formats import load

    if isinstance(scenario, (str, Path)):
        p = Path(scenario)
        if p.is_file():
            return str(p.resolve()), load(p)
        name = str(scenario).removeprefix("example:")
        try:
            return f"example:{name}", examples.load(name)
        except KeyError:
            raise InputError(Problem("scenario not found", column="scenario", value=str(scenario),
                                     expected="a scenario file or a bundled example name")) from None
    return f"object:{getattr(scenario, 'name', 'scenario')}", scenario


def build_spec(scenario: Any, model: str, *, vary: Mapping[str, Any] | Sequence[str] | None = None, runs: int = 100,
               seed: int = 0, params: Mapping[str, Any] | None = None, variant: str | None = None,
               chunk_size: int = 1000, name: str = "sweep") -> tuple[SweepSpec, Any]:
    """A Monte-Carlo :class:`SweepSpec` (and the scenario) from keyword arguments.

    ``vary`` is a mapping ``{field-with-selector: change}`` (``{"salience": "+-10"}``,
    ``{"position[DE]": "+-5%"}``) or a list of ``--vary`` strings.
    """
    if isinstance(vary, Mapping):
        factors = [_factor(k, v) for k, v in vary.items()]
    else:
        factors = [parse_vary(v) for v in (vary or [])]
    ref, scn = _scenario_ref(scenario)
    spec = SweepSpec(name=name, scenario=ref, model=model, variant=variant, params=dict(params or {}), seed=seed,
                     factors=factors, design=DesignSpec(kind="montecarlo", runs=runs), chunk_size=chunk_size)
    return spec, scn


def sweep(scenario: Any, model: str, *, vary: Mapping[str, Any] | Sequence[str] | None = None, runs: int = 100,
          seed: int = 0, store: Any = None, variant: str | None = None, params: Mapping[str, Any] | None = None,
          chunk_size: int = 1000, name: str = "sweep"):
    """Run a Monte-Carlo sweep and return its :class:`~detente.experiments.runner.SweepResult`
    (arguments as for :func:`build_spec`)."""
    from detente.experiments.runner import run_sweep

    spec, scn = build_spec(scenario, model, vary=vary, runs=runs, seed=seed, variant=variant, params=params,
                           chunk_size=chunk_size, name=name)
    return run_sweep(spec, store=store, scenario=scn)


def sensitivity(scenario: Any, model: str | None = None, *, vary: Any = None, method: str = "sobol", n: int | None = None,
                seed: int | None = None, store: Any = None, **kw: Any):
    """Global sensitivity (SALib) as a :class:`~detente.experiments.sensitivity.SensitivityResult`.

    With ``model`` (a bargaining model): the sensitivity of each issue's forecast to the ``vary``
    factors. Without ``model`` on a crisis scenario: the sensitivity of crisis outputs to the
    numbers named in ``vary`` (dotted paths; default every assumption with a range) — keywords
    ``outputs``, ``hypothesis``, ``runs_per_point``, ``executor`` go to
    :func:`detente.experiments.crisis_sensitivity.crisis_sensitivity`, and with ``store`` the study
    is stored (a ``crisis_sensitivity`` run, resumable).
    """
    if model is None:
        from detente.experiments.crisis_sensitivity import crisis_sensitivity
        from detente.experiments.sensitivity import sensitivity_method

        _, scn = _scenario_ref(scenario)
        if not getattr(scn, "dynamics", None):
            raise InputError(Problem("give a model for a bargaining scenario (this one has no crisis dynamics)",
                                     column="model"))
        return crisis_sensitivity(scn, method=sensitivity_method(method), n=n, factors=list(vary) if vary else None, seed=seed,
                                  store=store, **kw)
    from detente.experiments.sensitivity import run_sensitivity, sensitivity_method

    spec, _ = build_spec(scenario, model, vary=vary, seed=seed or 0, **kw)
    if spec.scenario.startswith("object:"):
        raise InputError(Problem("a sensitivity study is stored with its scenario's file: pass a scenario file or a "
                                 "bundled name, not a Scenario object", column="scenario", value=spec.scenario))
    return run_sensitivity(spec, method=sensitivity_method(method), n=n, store=store)


# ---------------------------------------------------------------- crisis runs: parameter uncertainty
#: Parameter sets of the nested design behind the parameter-uncertainty interval of
#: ``detente run --draw-assumptions`` and the web's "draw assumptions" (each set runs
#: runs // draws times, at least 2).
DEFAULT_PARAM_DRAWS = 40

#: Outputs reported with both intervals (names of :func:`detente.crisis.analysis.output_samples`).
UNCERTAINTY_OUTPUTS = ("p_war_by_end", "months_of_peace_focal")


def add_uncertainty(obj: dict[str, Any], scn: Any, *, extra: dict[str, Any], draws: int = DEFAULT_PARAM_DRAWS,
                    z: float = 1.959964) -> None:
    """Add ``uncertainty`` to every hypothesis block of a ``run --draw-assumptions`` object.

    One place for the command line (``detente run --draw-assumptions``) and the web's "draw
    assumptions" job, so both give the same bytes for the same seed.

    The run itself drew every assumption per run, so each output's mean is already averaged over
    parameter uncertainty and its standard error is the Monte-Carlo error: ``mc_interval`` =
    value ± 1.96·se. The parameter-uncertainty interval needs E[output | parameters], which one
    draw per run cannot separate from the run's own noise; it comes from a nested design
    (``draws`` parameter sets × runs/draws runs,
    :func:`detente.experiments.crisis_sensitivity.parameter_uncertainty`), with the Monte-Carlo
    noise of each set's estimate removed by the law of total variance.
    """
    from detente.experiments.crisis_sensitivity import parameter_uncertainty

    runs, seed = int(obj["runs"]), int(obj["seed"])
    m = max(2, runs // draws)
    declared = (scn.dynamics or {}).get("hypotheses") or {}
    for h, block in obj["hypotheses"].items():
        hyp = h if h in declared else None
        outs = [o for o in UNCERTAINTY_OUTPUTS if o in (block.get("outputs") or {})]
        u = parameter_uncertainty(scn, hypothesis=hyp, draws=draws, runs_per_draw=m, seed=seed, outputs=outs,
                                  extra_set=extra)
        for o, row in u["outputs"].items():
            main = block["outputs"][o]
            se = main.get("se") or 0.0
            row["nested_value"], row["nested_mc_interval"] = row["value"], row["mc_interval"]
            row["value"], row["mc_se"] = main["value"], se
            row["mc_interval"] = [main["value"] - z * se, main["value"] + z * se]
        u["draw_assumptions"] = True
        block["uncertainty"] = u
