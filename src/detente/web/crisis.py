"""The crisis workbench of the web UI: what the crisis form offers, how its ``--set`` values
are read and checked, Monte Carlo bands for the crisis charts and the comparison of two
crisis runs.

Everything here reads the scenario's own description (:func:`detente.crisis.spec.load_spec`,
:func:`detente.crisis.analysis.declared_mechanisms`) and a crisis run's ``--json`` object
(``docs/json-contract.md``); the runs themselves are made by
:func:`detente.crisis.analysis.run_hypotheses` in a job (:mod:`detente.web.work`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from detente.errors import InputError, Problem

__all__ = ["form_data", "parse_sets", "check_request", "add_bands", "headline_rows", "compare_rows",
           "BAND_Z", "Q10_Q90_SD", "check_sensitivity", "SENSITIVITY_OUTPUTS", "MAX_SENSITIVITY_RUNS", "sensitivity_view"]

#: Outputs the crisis sensitivity form offers (``p_war_by_end`` only when the scenario has a record).
SENSITIVITY_OUTPUTS = ("p_war_by_end", "months_of_peace_focal", "p_war_horizon", "p_no_focal_war_horizon")
#: Most engine runs one sensitivity study from the web UI may ask for (sample and tornado).
MAX_SENSITIVITY_RUNS = 5_000_000

# the Monte Carlo bands of the crisis charts are made in detente.report.charts (the HTML report
# draws the same ones); re-exported here for the callers that import them from the web
from detente.report.charts import BAND_Z, Q10_Q90_SD, add_bands  # noqa: E402


def form_data(scenario: Any) -> dict[str, Any]:
    """What the crisis form offers for ``scenario``: its declared hypotheses, its mechanisms
    (each with the switch that turns it off) and every annotated number of its description
    (``load_spec(dyn).num_items()``) with value, range, whether it is drawn per run or
    calibrated, and its source or assumption note."""
    from detente.crisis.analysis import declared_mechanisms
    from detente.crisis.engine import SCALAR_ONLY
    from detente.crisis.spec import load_spec

    spec = load_spec(scenario.dynamics)
    hyps = [{"name": h, "label": d.label or h} for h, d in spec.hypotheses.items()]
    mechs = [{"name": k, "label": m["label"], "switch": "; ".join(f"{p} = {json.dumps(v)}" for p, v in m["off"].items())}
             for k, m in declared_mechanisms(spec).items()]
    nums = []
    for path, num in spec.num_items():
        a = num.assumption
        nums.append({"path": path, "value": num.value,
                     "lo": a.range[0] if a is not None else None, "hi": a.range[1] if a is not None else None,
                     "kind": "assumption" if a is not None and num.source is None else "source",
                     "source": num.source, "note": a.note if a is not None else None,
                     "drawn": bool(num.drawn), "calibrated": num.calibrated,
                     # can be a factor of a sensitivity study (experiments.crisis_sensitivity.crisis_factors)
                     "varies": a is not None and a.range[0] < a.range[1] and not SCALAR_ONLY.match(path)})
    outs = _sensitivity_outputs(spec)
    return {"hypotheses": hyps, "mechanisms": mechs, "numbers": nums, "runs": spec.settings.runs,
            "seed": spec.settings.seed, "outputs": outs,
            "default_outputs": outs[:2] if "p_war_by_end" in outs else outs[:1]}


def _sensitivity_outputs(spec: Any) -> list[str]:
    """The :data:`SENSITIVITY_OUTPUTS` a crisis spec can give (``p_war_by_end`` only with a record)."""
    from detente.experiments.crisis_sensitivity import record_end

    has_record = record_end(spec) is not None
    return [o for o in SENSITIVITY_OUTPUTS if has_record or o != "p_war_by_end"]


def parse_sets(items: list[str]) -> dict[str, Any]:
    """``PATH=VALUE`` items as ``detente run --set`` reads them: the value is JSON when it
    parses as JSON (numbers, ``true``, lists, ...), else the text itself."""
    out: dict[str, Any] = {}
    problems = []
    for k, item in enumerate(items):
        if "=" not in item:
            problems.append(Problem(f"--set {item!r}: expected PATH=VALUE", column=f"sets.{k}", value=item))
            continue
        path, v = item.split("=", 1)
        try:
            out[path.strip()] = json.loads(v)
        except json.JSONDecodeError:
            out[path.strip()] = v
    if problems:
        raise InputError(problems)
    return out


def check_request(scenario: Any, hypotheses: list[str], extra: dict[str, Any], mechanisms: list[str]) -> None:
    """Check a crisis request before its job starts, with the errors ``detente run`` gives:
    unknown hypotheses, ``--set`` paths and values (each hypothesis run validated with the
    overrides on top, as the run does) and unknown mechanisms. Raises :class:`InputError`."""
    from detente.crisis.analysis import declared_mechanisms
    from detente.crisis.spec import load_spec

    dyn = scenario.dynamics
    spec = load_spec(dyn)
    problems: list[Problem] = []
    bad = [h for h in hypotheses if h not in spec.hypotheses]
    if bad:
        problems.append(Problem(f"unknown hypothesis {', '.join(map(repr, bad))}", column="hypotheses",
                                value=",".join(bad), expected=", ".join(spec.hypotheses) or "no hypotheses are declared"))
    runs: list[str | None] = [h for h in hypotheses if h in spec.hypotheses] or list(spec.hypotheses) or [None]
    seen: set[str] = set()
    for h in runs:
        try:
            sp = load_spec(dyn, hypothesis=h, extra=extra or None)
        except InputError as exc:
            for p in exc.problems:   # the same --set problem under several hypotheses: once
                if str(p) not in seen:
                    seen.add(str(p))
                    problems.append(p)
            continue
        if mechanisms:
            known = declared_mechanisms(sp)
            unknown = [m for m in mechanisms if m not in known]
            if unknown:
                msg = f"unknown mechanism {', '.join(map(repr, unknown))}"
                if msg not in seen:
                    seen.add(msg)
                    problems.append(Problem(msg, column="mechanisms", value=",".join(unknown),
                                            expected=", ".join(known) or "no mechanisms declared"))
    if problems:
        raise InputError(problems)


def check_sensitivity(scenario: Any, *, hypothesis: str | None, extra: dict[str, Any], factors: list[str],
                      outputs: list[str], method: str, n: int, runs_per_point: int,
                      tornado_runs: int) -> list[tuple[str, float, float]]:
    """Check a crisis sensitivity request before its job starts, with the errors ``detente
    sensitivity`` gives (unknown hypothesis, ``--set`` problems, factors without a range,
    outputs the scenario cannot give) plus a cap on its cost (:data:`MAX_SENSITIVITY_RUNS`).
    Returns the factors ``(path, lo, hi)``. Raises :class:`InputError`."""
    from detente.crisis.spec import load_spec
    from detente.experiments.crisis_sensitivity import crisis_factors

    check_request(scenario, [hypothesis] if hypothesis else [], extra, [])
    spec = load_spec(scenario.dynamics, hypothesis=hypothesis, extra=extra or None)
    fac = crisis_factors(spec, factors or None)
    problems: list[Problem] = []
    if not fac:
        problems.append(Problem("no numbers to vary: the scenario has no assumption with a range", column="factors"))
    allowed = _sensitivity_outputs(spec)
    bad = [o for o in outputs if o not in allowed]
    if bad or not outputs:
        problems.append(Problem("unknown output" if bad else "choose at least one output", column="outputs",
                                value=",".join(bad) or None, expected=", ".join(allowed)))
    d = len(fac)
    points = n * (d + 2) if method == "sobol" else n * (d + 1)
    cost = points * runs_per_point + (2 * d + 1) * tornado_runs
    if d and cost > MAX_SENSITIVITY_RUNS:
        problems.append(Problem(f"the study would run {cost:,} engine runs ({points:,} points × {runs_per_point} runs "
                                f"and a tornado of {2 * d + 1} points × {tornado_runs} runs) over {d} numbers; the web "
                                f"UI runs at most {MAX_SENSITIVITY_RUNS:,}: choose fewer numbers or a smaller sample "
                                "(or use `detente sensitivity` with --executor dask)", column="n", value=n))
    if problems:
        raise InputError(problems)
    return fac


def sensitivity_view(obj: Mapping[str, Any]) -> dict[str, Any]:
    """What the page of a stored crisis sensitivity study shows: the settings, and per output the
    indices sorted by total index (Sobol) or μ* (Morris) with their confidence intervals, and the
    tornado rows."""
    key = "ST" if obj.get("method") == "sobol" else "mu_star"
    idx = {o: sorted(rows, key=lambda r: -(r.get(key) if r.get(key) is not None else -math.inf))
           for o, rows in (obj.get("indices") or {}).items()}
    return {**obj, "sorted_indices": idx, "key": key}


def headline_rows(obj: Mapping[str, Any]) -> dict[str, dict[str, dict[str, float | None]]]:
    """Per hypothesis, the outputs of a crisis run (``outputs``: value and Monte Carlo SE)."""
    return {h: dict(b.get("outputs") or {}) for h, b in (obj.get("hypotheses") or {}).items()}


def compare_rows(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The outputs two crisis runs share, hypothesis by hypothesis: each run's value and SE,
    the difference b − a and its SE √(se_a² + se_b²) (the runs treated as independent; with
    the same seed they share random numbers and the true SE of the difference is smaller, so
    this one is conservative), and the difference in SEs (``z``)."""
    ra, rb = headline_rows(a), headline_rows(b)
    rows = []
    for h in ra:
        if h not in rb:
            continue
        for o, va in ra[h].items():
            vb = rb[h].get(o)
            if vb is None:
                continue
            x, y = va.get("value"), vb.get("value")
            sa, sb = va.get("se"), vb.get("se")
            diff = None if x is None or y is None else y - x
            dse = None if sa is None or sb is None else math.sqrt(sa * sa + sb * sb)
            zz = None if diff is None or not dse else diff / dse
            rows.append({"hypothesis": h, "output": o, "a": x, "a_se": sa, "b": y, "b_se": sb,
                         "diff": diff, "diff_se": dse, "z": zz})
    return rows
