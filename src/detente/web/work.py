"""The work of the web UI's background jobs, as module-level functions so that a job can run
in a child process (:mod:`detente.web.jobs`). Each takes the job's ``report(progress,
message)`` first and returns the id of the run it stored."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from detente.errors import InputError, Problem

__all__ = ["forecast_job", "crisis_job", "sweep_job", "crisis_sensitivity_job"]


def _store(root: str | Path | None) -> Any:
    from detente.store import Store

    return Store(root) if root is not None else Store()


def forecast_job(report: Callable[[float, str], None], store_root: str | Path | None, scenario: Any, model: str,
                 params: Any, seed: int | None, label: str) -> str:
    """Run one registered model on a scenario and store the result."""
    from detente.models.registry import run_model

    report(0.05, f"running {model}")
    res = run_model(scenario, model, params=params, seed=seed)
    report(0.9, "storing")
    return _store(store_root).save(res, scenario=scenario, label=label)


def crisis_job(report: Callable[[float, str], None], store_root: str | Path | None, scenario: Any,
               hypotheses: list[str] | None, runs: int, seed: int | None, counterfactuals: bool, label: str,
               extra_set: dict[str, Any] | None = None, mechanisms: list[str] | None = None,
               mechanism_runs: int | None = None, base_dir: str | Path | None = None,
               request: dict[str, Any] | None = None, param_draws: int | None = None,
               draw_assumptions: bool = False) -> str:
    """Run a crisis scenario's hypotheses and store them as a ``crisis`` run.

    ``extra_set`` are ``--set PATH=VALUE`` overrides, ``mechanisms`` the mechanisms to map
    (none when empty); ``request`` (the web form's settings) is stored with the run under
    ``request`` so that its page can open the form again pre-filled (the what-if link).
    ``draw_assumptions`` (with ``settings.draw_assumptions`` among the overrides) adds the
    ``uncertainty`` block of ``detente run --draw-assumptions`` (``param_draws`` parameter sets)."""
    from detente.crisis.analysis import run_hypotheses
    from detente.report.stored import save_crisis

    report(0.05, f"running {runs} runs per hypothesis")
    try:
        obj = run_hypotheses(scenario, hypotheses=hypotheses or None, runs=runs, seed=seed, base_dir=base_dir,
                             with_counterfactuals=counterfactuals, extra_set=extra_set or None,
                             mechanisms=list(mechanisms) if mechanisms else "none", mechanism_runs=mechanism_runs)
    except KeyError as exc:
        raise InputError(Problem(f"unknown hypothesis {exc}", column="hypotheses")) from None
    if draw_assumptions:
        from detente.experiments.front import DEFAULT_PARAM_DRAWS, add_uncertainty

        report(0.6, "parameter uncertainty (nested design)")
        add_uncertainty(obj, scenario, extra=dict(extra_set or {}), draws=param_draws or DEFAULT_PARAM_DRAWS)
    if request is not None:
        obj["request"] = request
    report(0.9, "storing")
    return save_crisis(_store(store_root), obj, scenario=scenario, label=label)


def sweep_job(report: Callable[[float, str], None], store_root: str | Path | None, scenario_ref: str, model: str,
              vary: list[str], design: str, runs: int, n: int | None, seed: int, params: dict[str, Any],
              variant: str | None, label: str) -> str:
    """A Monte Carlo sweep (``design="montecarlo"``, ``runs`` runs) or a sensitivity study
    (``"sobol"``/``"morris"``, ``n`` base samples / trajectories) of a bargaining model over the
    ``--vary`` items, built by the front door's :func:`detente.experiments.front.build_spec` and
    stored as a sweep run (``detente sweep FILE -m MODEL --vary ...`` does the same)."""
    from detente.experiments.front import build_spec
    from detente.experiments.runner import run_sweep
    from detente.experiments.sensitivity import run_sensitivity, sensitivity_method

    def progress(done: int, total: int) -> None:
        report(0.05 + 0.9 * done / max(total, 1), f"chunk {done} of {total}")

    spec, scn = build_spec(scenario_ref, model, vary=vary, runs=runs, seed=seed, params=params or None,
                           variant=variant, name=label)
    report(0.05, f"{design}: running {model}")
    store = _store(store_root)
    if design == "montecarlo":
        return run_sweep(spec, store=store, scenario=scn, progress=progress).run_id
    return run_sensitivity(spec, method=sensitivity_method(design), n=n, store=store, progress=progress).run_id


def crisis_sensitivity_job(report: Callable[[float, str], None], store_root: str | Path | None, scenario: Any,
                           method: str, n: int, factors: list[str], outputs: list[str], hypothesis: str | None,
                           runs_per_point: int, tornado_runs: int, seed: int | None, extra_set: dict[str, Any] | None,
                           label: str, request: dict[str, Any] | None = None) -> str:
    """A Sobol or Morris study of crisis outputs over assumption numbers
    (:func:`detente.experiments.crisis_sensitivity.crisis_sensitivity`, as ``detente sensitivity
    SCENARIO --store``), stored as a ``crisis_sensitivity`` run group by group (progress counts
    the groups of parameter points)."""
    from detente.experiments.crisis_sensitivity import crisis_sensitivity
    from detente.experiments.sensitivity import sensitivity_method

    def progress(done: int, total: int) -> None:
        report(0.05 + 0.9 * done / max(total, 1), f"group {done} of {total} of parameter points")

    report(0.02, f"{method}: {len(factors) or 'all'} numbers")
    res = crisis_sensitivity(scenario, method=sensitivity_method(method), n=n, factors=factors or None, outputs=outputs,
                             hypothesis=hypothesis, runs_per_point=runs_per_point, tornado_runs=tornado_runs, seed=seed,
                             extra_set=extra_set or None, store=_store(store_root), progress=progress, label=label)
    return res.run_id
