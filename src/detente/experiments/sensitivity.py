"""Global sensitivity analysis of a model's forecasts with SALib (Sobol and Morris), plus
one-at-a-time tornado data.

The sample comes from the sweep machinery (design ``sobol`` or ``morris``), so it is
chunked, stored and resumable like any sweep; the analysis reads the stored forecasts.

References
----------
.. [1] Sobol', I. M. (2001). "Global sensitivity indices for nonlinear mathematical models
   and their Monte Carlo estimates." *Mathematics and Computers in Simulation* 55.
.. [2] Saltelli, A. et al. (2010). "Variance based sensitivity analysis of model output."
   *Computer Physics Communications* 181(2).
.. [3] Morris, M. D. (1991). "Factorial sampling plans for preliminary computational
   experiments." *Technometrics* 33(2); Campolongo, Cariboni & Saltelli (2007) for mu*.
.. [4] Herman, J. & Usher, W. (2017). "SALib: an open-source Python library for
   sensitivity analysis." *JOSS* 2(9).
"""

from __future__ import annotations

import contextlib
import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from detente.errors import InputError, Problem
from detente.experiments.distributions import ScenarioArrays, expand_factors
from detente.experiments.runner import SweepResult, run_sweep
from detente.experiments.sweep import SweepSpec, _prepared, _scenario_from, apply_design, guarded

__all__ = ["SensitivityResult", "run_sensitivity", "tornado", "index_warnings", "constant_output_warning",
           "SOBOL_TARGET_HALF_WIDTH"]

#: Half-width of the confidence interval of a Sobol index that :func:`index_warnings` asks for
#: when it estimates the sample size needed (indices to ±0.05).
SOBOL_TARGET_HALF_WIDTH = 0.05


@dataclass(frozen=True)
class SensitivityResult:
    """Indices per issue and factor, with confidence intervals, and tornado data.

    ``indices[issue]`` is a list of rows: Sobol ``{"factor", "S1", "S1_conf", "ST", "ST_conf"}``
    or Morris ``{"factor", "mu", "mu_star", "mu_star_conf", "sigma"}``. ``tornado[issue]``
    rows are ``{"factor", "low", "high", "output_low", "output_high", "swing"}`` sorted by
    swing, with ``baseline[issue]`` the forecast with every factor at its median.
    """

    method: str
    run_id: str
    n_runs: int
    factors: list[str]
    indices: dict[str, list[dict[str, Any]]]
    tornado: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    baseline: dict[str, float] = field(default_factory=dict)
    confidence_level: float = 0.95
    warnings: list[str] = field(default_factory=list)
    sample_size: int | None = None
    points: int | None = None
    runs_per_point: int | None = None
    notes: list[str] = field(default_factory=list)

    def to_df(self):
        import pandas as pd

        return pd.DataFrame([{"issue": i, **row} for i, rows in self.indices.items() for row in rows])

    def to_json_dict(self) -> dict[str, Any]:
        def clean(x):
            if isinstance(x, dict):
                return {k: clean(v) for k, v in x.items()}
            if isinstance(x, list):
                return [clean(v) for v in x]
            if isinstance(x, (float, np.floating)):
                return None if not np.isfinite(x) else float(x)
            return x

        return clean({"method": self.method, "run_id": self.run_id, "runs": self.n_runs, "factors": self.factors,
                      "confidence_level": self.confidence_level, "indices": self.indices, "tornado": self.tornado,
                      "baseline": self.baseline, "warnings": self.warnings, "sample_size": self.sample_size,
                      "points": self.points, "runs_per_point": self.runs_per_point, "notes": self.notes})

    def plot(self, issue: str | None = None, top: int | None = 10):
        """Tornado chart of one issue (bars from the output at a factor's low end to its high end,
        the ``top`` largest swings; red: a higher factor raises it) as a plotly figure, which
        displays itself in Jupyter."""
        from detente.plotting.figures import tornado_figure

        issue = issue or next(iter(self.tornado or self.indices))
        rows = list(self.tornado.get(issue, []))[: top or None]
        return tornado_figure(issue, rows, self.baseline.get(issue), f"{self.method} study: one at a time, each "
                              "factor at its 5 % and 95 % quantile, the others at their medians", max_rows=len(rows) or 1)

    def _repr_html_(self) -> str:
        import html

        warn = "".join(f"<p style='color:#a40000'>warning: {html.escape(w)}</p>" for w in self.warnings)
        return f"<p><b>{self.method}</b> sensitivity, {self.n_runs} runs</p>" + warn + self.to_df().to_html(index=False, float_format=lambda x: f"{x:.4g}")


@contextlib.contextmanager
def salib_quiet(constant: bool):
    """Silence SALib's own warnings (a divide by a zero variance, "constant result") while it
    analyses an output that :func:`constant_output_warning` has already flagged in words."""
    with warnings.catch_warnings():
        if constant:
            warnings.simplefilter("ignore")
        yield


def constant_output_warning(y, what: str = "the output", *, runs_per_point: int | None = None) -> str | None:
    """A warning when ``y`` takes one value at every sample point, else ``None``.

    SALib then divides by a zero variance and returns every index as 0 (and its intervals as 0),
    which would read as "no factor matters" while the indices are in fact undefined. With
    ``runs_per_point`` (a Monte-Carlo output estimated from that many runs per point) the warning
    names the output's resolution, 1/runs, as the likely cause.

    >>> constant_output_warning([0.25, 0.25, 0.25], "p_war", runs_per_point=16).split(";")[0]
    'p_war is 0.25 at every one of the 3 sample points'
    >>> constant_output_warning([0.25, 0.5]) is None
    True
    """
    import numpy as np

    arr = np.asarray(y, dtype=float)
    if arr.size == 0 or np.ptp(arr) > 0:
        return None
    msg = (f"{what} is {arr[0]:.6g} at every one of the {arr.size} sample points; its indices are "
           "undefined (reported as 0), not evidence that no factor matters")
    if runs_per_point:
        msg += (f"; with {runs_per_point} runs per point it can only move in steps of 1/{runs_per_point}: "
                "raise --runs-per-point or choose factors that reach it")
    return msg


def index_warnings(method: str, rows: list[dict[str, Any]], n: int, *,
                   target: float = SOBOL_TARGET_HALF_WIDTH, material: float = 0.05) -> list[str]:
    """Why a sample is too small for its indices, with the sample size that would be needed.

    Sobol: a confidence interval wider than its index and than ±``target`` (for factors whose
    total index is at least ``material``; an index near zero, such as the first-order index of a
    factor that acts only through interactions, has an interval wider than itself at any sample
    size, and once that interval is within ±``target`` it says the index is small), a first-order
    index below −0.01 whose interval lies below zero or is wider than ±``target`` (a clearly
    negative estimate), a total index above 1.01. Morris: μ* with a
    confidence interval wider than μ* (for factors with μ* ≥ ``material`` × the largest μ*). The
    half-width of these intervals shrinks as 1/√N, so the base sample that brings the widest one
    to ``target`` (Sobol) or to half its μ* (Morris) is N × (half-width / target)², rounded up
    to a power of two for Sobol (Saltelli sampling needs one).
    """
    out: list[str] = []
    if not rows:
        return out
    if method == "sobol":
        wide = [r for r in rows if r["ST"] >= material and any(r[f"{k}_conf"] > max(abs(r[k]), target) for k in ("S1", "ST"))]
        # a first-order index is ≥ 0: a negative estimate is Monte Carlo error, a problem only when
        # its interval lies below zero or is wider than the target
        neg = [r for r in rows if r["S1"] < -0.01 and (r["S1"] + r["S1_conf"] < 0 or r["S1_conf"] > target)]
        over = [r for r in rows if r["ST"] > 1.01]
        if wide:
            out.append("confidence interval wider than the index for " + ", ".join(r["factor"] for r in wide[:5])
                       + (f" (+{len(wide) - 5} more)" if len(wide) > 5 else ""))
        if neg:
            out.append("negative first-order index for " + ", ".join(f"{r['factor']} ({r['S1']:.3f})" for r in neg[:5]))
        if over:
            out.append("total index above 1 for " + ", ".join(f"{r['factor']} ({r['ST']:.3f})" for r in over[:5]))
        if out:
            hw = max(max(r["S1_conf"], r["ST_conf"]) for r in rows if math.isfinite(r["S1_conf"]) and math.isfinite(r["ST_conf"]))
            need = max(n, math.ceil(n * (hw / target) ** 2))
            need = 1 << (need - 1).bit_length()
            out.append(f"the sample is too small for these indices: N = {n} gives half-widths up to {hw:.3f}; "
                       f"about N = {need} would bring them to ±{target} (half-width ∝ 1/√N)")
    else:
        top = max(r["mu_star"] for r in rows)
        wide = [r for r in rows if r["mu_star"] >= material * top and r["mu_star_conf"] > r["mu_star"]]
        if wide and top > 0:
            ratio = max(r["mu_star_conf"] / (0.5 * r["mu_star"]) for r in wide)
            need = max(n, math.ceil(n * ratio ** 2))
            out.append("confidence interval of mu* wider than mu* for " + ", ".join(r["factor"] for r in wide[:5])
                       + f"; about {need} trajectories (now {n}) would make each half-width at most half its mu*")
    return out


def tornado(spec: SweepSpec, scenario: Any, *, low_q: float = 0.05, high_q: float = 0.95) -> tuple[dict[str, float], dict[str, list[dict[str, Any]]]]:
    """One-at-a-time swings: each design column at its ``low_q`` and ``high_q`` quantile,
    the others at their medians. Returns (baseline per issue, rows per issue)."""
    _spec_n, scn, base, cols, mspec, params = _prepared(spec.model_dump_json(), scenario.model_dump_json())
    dists = [spec.factors[c.factor].dist for c in cols]
    med = np.array([d.median() for d in dists])
    rows = [med]
    for j, d in enumerate(dists):
        for q in (low_q, high_q):
            v = med.copy()
            v[j] = float(d.ppf(np.array([q]))[0])
            rows.append(v)
    V = np.vstack(rows)
    pert = apply_design(base, spec.factors, cols, V)
    from detente.models.registry import make_params

    outs = []
    for r in range(V.shape[0]):
        p = params if not pert.params[r] else make_params(mspec, params, **pert.params[r])
        res = guarded(mspec.run(_scenario_from(scn, base, pert, r), p, rng=np.random.default_rng(spec.seed)),
                      f"tornado point {r}")
        outs.append({k: ir.forecast for k, ir in res.issues.items()})
    baseline = {k: float(v) if v is not None else float("nan") for k, v in outs[0].items()}
    table: dict[str, list[dict[str, Any]]] = {}
    for iss in baseline:
        t = []
        for j, c in enumerate(cols):
            lo, hi = outs[1 + 2 * j][iss], outs[2 + 2 * j][iss]
            t.append({"factor": c.label, "low": float(V[1 + 2 * j, j]), "high": float(V[2 + 2 * j, j]),
                      "output_low": lo, "output_high": hi,
                      "swing": abs((hi if hi is not None else np.nan) - (lo if lo is not None else np.nan))})
        table[iss] = sorted(t, key=lambda r: -r["swing"] if np.isfinite(r["swing"]) else 0)
    return baseline, table


def sensitivity_method(name: str) -> Literal["sobol", "morris"]:
    """``name`` as one of the two analyses (an :class:`InputError` naming it otherwise)."""
    if name == "sobol":
        return "sobol"
    if name == "morris":
        return "morris"
    raise InputError(Problem(f"unknown sensitivity method {name!r}", column="method", value=name,
                             expected="sobol or morris"))


def run_sensitivity(spec: SweepSpec, *, method: Literal["sobol", "morris"] = "sobol", n: int | None = None,
                    store: Any = None, executor: Any = None, progress=None, confidence_level: float = 0.95,
                    with_tornado: bool = True) -> SensitivityResult:
    """Sample with SALib, run the model over the sample (a stored sweep), analyse per issue.

    Parameters
    ----------
    spec
        A sweep spec; its design is replaced by a ``sobol``/``morris`` design of ``n`` base
        samples / trajectories (``n`` defaults to the spec's ``design.n`` or 256 / 20).
    """
    if not spec.factors:
        raise InputError(Problem("a sensitivity analysis needs at least one factor", column="factors"))
    d = spec.design
    n = n or (d.n if d.kind == method and d.n else (256 if method == "sobol" else 20))
    design = d.model_copy(update={"kind": method, "n": n, "runs": None})
    spec = spec.model_copy(update={"design": design, "trace": "summary"})
    res: SweepResult = run_sweep(spec, store=store, executor=executor, progress=progress)
    df = res.to_df(forecasts_only=True)
    scn = res.store.scenario(res.run_id)
    base = ScenarioArrays.from_scenario(scn)
    cols = expand_factors(spec.factors, base)
    labels = [c.label for c in cols]
    problem = {"num_vars": len(labels), "names": labels, "bounds": [[0.0, 1.0]] * len(labels)}
    indices: dict[str, list[dict[str, Any]]] = {}
    const_warnings: list[str] = []
    for iss, g in df.groupby("issue", sort=True):
        g = g.sort_values("run")
        Y = g["value"].to_numpy(dtype=float)
        const = constant_output_warning(Y, str(iss))
        if const:
            const_warnings.append(const)
        if method == "sobol":
            from SALib.analyze import sobol

            with salib_quiet(const is not None):
                r = sobol.analyze(problem, Y, calc_second_order=design.second_order, conf_level=confidence_level,
                                  seed=spec.seed, print_to_console=False)
            indices[str(iss)] = [{"factor": labels[j], "S1": float(r["S1"][j]), "S1_conf": float(r["S1_conf"][j]),
                                  "ST": float(r["ST"][j]), "ST_conf": float(r["ST_conf"][j])} for j in range(len(labels))]
        else:
            from SALib.analyze import morris
            from SALib.sample import morris as morris_sample

            X = morris_sample.sample(problem, n, num_levels=design.morris_levels, seed=spec.seed)
            with salib_quiet(const is not None):
                r = morris.analyze(problem, X, Y, conf_level=confidence_level, num_levels=design.morris_levels,
                                   seed=spec.seed, print_to_console=False)
            indices[str(iss)] = [{"factor": labels[j], "mu": float(r["mu"][j]), "mu_star": float(r["mu_star"][j]),
                                  "mu_star_conf": float(r["mu_star_conf"][j]), "sigma": float(r["sigma"][j])}
                                 for j in range(len(labels))]
    warnings = const_warnings + [f"{iss}: {w}" for iss, rows in indices.items() for w in index_warnings(method, rows, n)]
    baseline, torn = tornado(spec, scn) if with_tornado else ({}, {})
    return SensitivityResult(method, res.run_id, res.n_runs, labels, indices, torn, baseline, confidence_level,
                             warnings=warnings, sample_size=n, points=res.n_runs)
