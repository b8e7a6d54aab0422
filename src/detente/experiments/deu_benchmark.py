"""The DEU model tournament (issue 7): score every registered model on every scoreable issue
of a DEU file, with paired bootstrap comparisons against the compromise model; and the
fitting/selection procedure of the pre-registered candidate
(``preregistration/deu_candidate.md``).

Scoring rule (DEU README): an issue is scored iff its outcome is present in 0–100 and at
least 3 actors hold a position. Error = |forecast − outcome| on the 0–100 scale.

Each tournament entry is a registered model with a configuration (variant, parameters,
capability weighting, unit of analysis — one issue, or one proposal for multi-issue models
such as ``exchange``). The entries are derived from the model registry
(:func:`default_entries`), so models that land later are scored automatically; a model that
fails on an issue gets no forecast there and the reason is reported.

Examples
--------
>>> from detente.experiments.deu_benchmark import bootstrap_ci
>>> lo, hi = bootstrap_ci([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], n_boot=100, seed=0)
>>> (lo, hi)
(0.0, 0.0)

References
----------
.. [1] Thomson, R., Stokman, F. N., Achen, C. H. & König, T. (eds.) (2006). *The European
   Union Decides*. CUP.
.. [2] Achen, C. H. (2006). "Evaluating political decision-making models", ibid., ch. 10.
.. [3] Schneider, G., Finke, D. & Bailer, S. (2010). *Political Studies* 58(1).
.. [4] Arregui, J. & Perarnaud, C. (2021). DEU III dataset, *JEPP*; doi:10.34810/data53 (CC BY 4.0).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from detente.errors import DetenteError, InputError, Problem
from detente.formats.deu import group_by_proposal, load_deu, load_deu_proposals, scoreable
from detente.scenario import Scenario

__all__ = [
    "Entry",
    "default_entries",
    "run_tournament",
    "bootstrap_ci",
    "leaderboard_rows",
    "leaderboard_figure",
    "candidate_dataset",
    "fit_lad",
    "fit_preregistered",
    "REFERENCE",
]

REFERENCE = "compromise"
BREAKDOWNS = ("wave", "proc", "counvte")


@dataclass(frozen=True)
class Entry:
    """One tournament contestant: a registered model with a configuration."""

    name: str
    model: str
    variant: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    weights: str = "council"  # capability weighting of the scenarios: council | equal | shapley
    unit: str = "issue"  # issue | proposal
    seed: int | None = 0
    description: str = ""
    drop_zero_salience: bool = False  # leave out stances with salience 0 (models that need s > 0)


def default_entries(models: Iterable[str] | None = None) -> list[Entry]:
    """Entries for every registered model (or the ``models`` named), with the per-model
    variants of issue 7. Unknown models get one entry with default parameters."""
    from detente.models.registry import get, names

    chosen = list(models) if models is not None else names()
    out: list[Entry] = []
    for m in chosen:
        try:
            spec = get(m)
        except DetenteError:
            continue
        if m == "compromise":
            out += [
                Entry("compromise", m, description="Council votes x salience (Achen 2006)"),
                Entry("compromise:equal", m, weights="equal", description="equal capability x salience"),
                Entry("compromise:shapley", m, weights="shapley", description="Shapley-Shubik index x salience"),
                Entry("mean", m, params={"weights": "equal"}, description="unweighted mean of positions"),
            ]
        elif m == "median":
            out += [
                Entry("median", m, params={"weights": "equal"}, description="median actor (unweighted)"),
                Entry("median:council", m, description="Council votes x salience weighted median"),
            ]
        elif m == "nbs":
            out += [Entry("nbs", m, description="asymmetric NBS, model defaults (docs/models/nbs.md)")]
        elif m == "exchange" or (spec.extra or {}).get("unit") == "proposal":
            fields = getattr(spec.params_class, "model_fields", {})
            # forecasts only: 'summary' skips the per-exchange records (same forecasts, half the CPU)
            prm = {"detail": "summary"} if "detail" in fields else {}
            for v in spec.variants or (None,):
                out.append(Entry(f"{m}:{v}" if v else m, m, variant=v, unit="proposal", params=prm,
                                 description="multi-issue, per proposal" + (", detail=summary" if prm else "")))
        elif spec.variants:
            for v in spec.variants:
                out.append(Entry(f"{m}:{v}", m, variant=v))
        elif m == "smp":
            out.append(Entry("smp", m, drop_zero_salience=True,
                             description="zero-salience stances left out (smp needs s > 0)"))
        else:
            out.append(Entry(m, m))
    return out


def _positive_salience(scn: Scenario) -> Scenario:
    """The scenario without zero-salience stances (and without actors left with none)."""
    st = [s for s in scn.stances if s.salience > 0]
    used = {s.actor for s in st}
    return scn.model_copy(update={"stances": st, "actors": [a for a in scn.actors if a.id in used]})


# ------------------------------------------------------------------ statistics


def bootstrap_ci(err: Any, ref: Any, *, n_boot: int = 2000, seed: int = 0, clusters: Any = None,
                 level: float = 0.95) -> tuple[float, float]:
    """Percentile CI of ``mean(err) − mean(ref)`` under a paired bootstrap over issues (or over
    ``clusters``, e.g. proposal ids, resampled whole)."""
    e = np.asarray(err, float) - np.asarray(ref, float)
    if len(e) == 0:
        return (math.nan, math.nan)
    rng = np.random.default_rng(seed)
    if clusters is None:
        idx = rng.integers(0, len(e), size=(n_boot, len(e)))
        stats = e[idx].mean(axis=1)
    else:
        cl = np.asarray(clusters)
        uniq, inv = np.unique(cl, return_inverse=True)
        sums = np.bincount(inv, weights=e)
        cnts = np.bincount(inv).astype(float)
        idx = rng.integers(0, len(uniq), size=(n_boot, len(uniq)))
        stats = sums[idx].sum(axis=1) / cnts[idx].sum(axis=1)
    a = (1 - level) / 2
    lo, hi = np.quantile(stats, [a, 1 - a])
    return (round(float(lo), 10), round(float(hi), 10))


def _summary(err: np.ndarray) -> dict[str, float | None]:
    if len(err) == 0:
        return {"n": 0, "mae": None, "rmse": None, "medae": None}
    return {"n": len(err), "mae": float(err.mean()), "rmse": float(np.sqrt((err**2).mean())),
            "medae": float(np.median(err))}


# ------------------------------------------------------------------ tournament
#
# Execution plan. Each distinct configuration (entries that differ only by name are run once)
# is split into chunks of units (issues, or proposals for multi-issue entries); the chunks run
# in a process pool, most expensive first. Every unit is an independent model run seeded with
# the entry's seed, so forecasts do not depend on ``jobs``, on the chunking or on completion
# order. Scenarios are loaded once per process (the parent's cache is inherited by forked
# workers). BDM entries without Monte Carlo or salience shocks go through the batched engine
# (``detente.models.bdm_batch``) grouped by number of actors, which gives the per-run engine's
# numbers; the few issues on which the batched engine drew a conflict winner (variants with
# ``conflict_winner="draw"``) are re-run by the per-run engine, so every BDM forecast is exactly
# the per-run engine's forecast with the entry's seed.

#: Relative CPU cost per unit by model (for chunking and scheduling only; unknown models 1).
COST_HINT: dict[str, float] = {"smp": 40.0, "exchange": 25.0, "bdm": 3.0, "compromise": 0.5, "median": 0.5,
                               "nbs": 1.0, "procedural": 1.0, "deu_candidate": 1.0}
#: Extra cost of loading scenarios with a non-default capability weighting in a worker (the
#: Shapley-Shubik indices take about as long as 20 SMP issues).
LOAD_HINT: dict[str, float] = {"shapley": 800.0, "equal": 100.0}


#: Models fitted on the train side of the pre-registered split of the development file.
FITTED_MODELS = ("deu_candidate", "deu_candidate2", "deu_candidate3")
_SPLIT = Path(__file__).resolve().parents[3] / "preregistration" / "deu_split.csv"
#: The sides of a split file (:func:`read_split`).
SPLIT_SIDES = ("train", "validation")


def _train_proposals() -> set[str] | None:
    """Proposal ids the candidates were fitted on (``None`` outside a source checkout)."""
    if not _SPLIT.is_file():
        return None
    return {p for p, side in read_split(_SPLIT).items() if side == "train"}


def _config_key(e: Entry) -> tuple:
    import json as _json

    return (e.model, e.variant, _json.dumps(dict(e.params), sort_keys=True, default=str), e.weights, e.unit, e.seed,
            e.drop_zero_salience)


def _failure_message(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:200]


def _run_units(entry: Entry, units: list[Scenario], keep: set[str],
               time_budget: float | None) -> tuple[dict[str, float], dict[str, str]]:
    """Per-unit model runs (the generic path)."""
    from detente.models.registry import run_model

    forecasts: dict[str, float] = {}
    failures: dict[str, str] = {}
    t0 = time.process_time()  # CPU time: the budget does not depend on other load on the machine
    consecutive = 0
    for scn in units:
        ids = [i.id for i in scn.issues if i.id in keep]
        if not ids:
            continue
        if time_budget is not None and time.process_time() - t0 > time_budget:
            for i in ids:
                failures[i] = f"CPU time budget of {time_budget:g} s exhausted"
            continue
        try:
            if entry.drop_zero_salience:
                scn = _positive_salience(scn)
            res = run_model(scn, entry.model, variant=entry.variant, params=dict(entry.params), seed=entry.seed)
            consecutive = 0
        except Exception as exc:  # noqa: BLE001 - a model under development may fail anywhere: report, go on
            msg = _failure_message(exc)
            for i in ids:
                failures[i] = msg
            consecutive += 1
            if consecutive >= 5 and not forecasts:
                for s in units:
                    for iss in s.issues:
                        if iss.id in keep and iss.id not in failures:
                            failures[iss.id] = f"skipped after 5 failures in a row ({msg})"
                break
            continue
        for i in ids:
            ir = res.issues.get(i)
            f = None if ir is None else ir.forecast
            if f is None or not math.isfinite(f):
                failures[i] = str((ir.extra or {}).get("reason", "no forecast")) if ir is not None else "no forecast"
            else:
                forecasts[i] = float(f)
    return forecasts, failures


def _bdm_batched(entry: Entry, units: list[Scenario], keep: set[str]) -> tuple[dict[str, float], list[Scenario]] | None:
    """BDM forecasts of single-issue units through the batched engine, grouped by (number of
    actors, issue bounds). Returns the forecasts and the units that must go through the
    per-run engine (multi-issue units, issues without positive weight, non-finite results,
    and issues on which a conflict winner was drawn), or ``None`` when the parameters are
    not batchable (Monte Carlo, salience shocks, unsupported options) or the batched engine
    fails."""
    try:
        from detente.models import bdm_batch
        from detente.models.bdm import BDMParams, resolved_options
        from detente.models.registry import get, make_params

        p = make_params(get("bdm"), dict(entry.params), variant=entry.variant)
        if not isinstance(p, BDMParams) or bdm_batch.unsupported(p) is not None or p.monte_carlo > 0 or p.shock_probability > 0:
            return None
        draws = resolved_options(p)["conflict_winner"] == "draw"
        per_run: list[Scenario] = []
        groups: dict[tuple[int, float, float], list[tuple[Scenario, str, Any]]] = {}
        for scn in units:
            ids = [i.id for i in scn.issues if i.id in keep]
            if not ids:
                continue
            if len(scn.issues) != 1:
                per_run.append(scn)
                continue
            iss = scn.issues[0]
            a = scn.issue_arrays(iss.id)
            if a.n < 1 or not (a.capability * a.salience).sum() > 0 or bdm_batch.unsupported(p, a.n) is not None:
                per_run.append(scn)  # the per-run engine reports these (no forecast / input error), or runs them
                continue
            groups.setdefault((a.n, float(iss.lower), float(iss.width)), []).append((scn, iss.id, a))
        forecasts: dict[str, float] = {}
        for (_n, lo, wd), items in groups.items():
            x = np.array([a.position for _, _, a in items], float)
            c = np.array([a.capability for _, _, a in items], float)
            s = np.array([a.salience for _, _, a in items], float)
            trace: dict[str, Any] = {}
            f = bdm_batch.run_batch_issue(x, c, s, lo, wd, p, np.random.default_rng(entry.seed), trace=trace)
            drawn: set[int] = set()
            if draws:
                for rd in trace.get("rounds", []):
                    for fight in rd.get("fights", []):
                        drawn.update(int(r) for r in np.ravel(fight[0]))
            for b, (scn, iid, _) in enumerate(items):
                if b in drawn or not math.isfinite(float(f[b])):
                    per_run.append(scn)
                else:
                    forecasts[iid] = float(f[b])
        return forecasts, per_run
    except Exception:  # noqa: BLE001 - the batched engine is an optimisation: fall back to the per-run engine
        return None


def _run_entry(entry: Entry, issues: list[Scenario], proposals: list[Scenario] | None,
               keep: set[str], time_budget: float | None) -> tuple[dict[str, float], dict[str, str], float]:
    """Run one entry on its units; returns forecasts, failures and CPU seconds."""
    import warnings

    t0 = time.process_time()
    units = proposals if entry.unit == "proposal" else issues
    assert units is not None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # models under development warn on degenerate input
        done = _bdm_batched(entry, units, keep) if entry.model == "bdm" and entry.unit == "issue" else None
        if done is None:
            fc, fail = _run_units(entry, units, keep, time_budget)
        else:
            fc, rest = done
            fc2, fail = _run_units(entry, rest, keep, None)
            fc.update(fc2)
    return fc, fail, time.process_time() - t0


_SCEN_CACHE: dict[tuple[str, str, str, str], list[Scenario]] = {}


def _scenarios(path: str | Path, weights: str, unit: str, council: Any) -> list[Scenario]:
    key = (str(path), str(council), weights, unit)
    if key not in _SCEN_CACHE:
        w = council if weights == "council" else weights
        _SCEN_CACHE[key] = (load_deu_proposals if unit == "proposal" else load_deu)(path, weights=w)
    return _SCEN_CACHE[key]


def _entry_job(path: str | Path, council: Any, entry: Entry, keep: set[str], time_budget: float | None,
               select: list[int] | None = None) -> tuple[dict[str, float], dict[str, str], float]:
    """Run ``entry`` on its units (or on the units at positions ``select``); a pool task."""
    units = _scenarios(path, entry.weights, entry.unit, council)
    if select is not None:
        units = [units[k] for k in select]
    return _run_entry(entry, units if entry.unit == "issue" else [], units if entry.unit == "proposal" else None,
                      keep, time_budget)


def _plan(entries: list[Entry], unit_ids: Mapping[str, list[int]], jobs: int,
          chunks_per_job: int = 6) -> list[tuple[float, Entry, list[int]]]:
    """Tasks ``(estimated cost, entry, unit positions)``, most expensive first. Each entry's
    units are cut into contiguous chunks of about ``total cost / (jobs * chunks_per_job)``."""
    costs = {id(e): COST_HINT.get(e.model, 1.0) * len(unit_ids[e.unit]) for e in entries}
    target = max(sum(costs.values()) / max(1, jobs * chunks_per_job), 1e-9)
    tasks = []
    for e in entries:
        idx = unit_ids[e.unit]
        if not idx:
            continue
        k = 1 if jobs <= 1 else max(1, min(len(idx), math.ceil(costs[id(e)] / target)))
        size = math.ceil(len(idx) / k)
        for j in range(0, len(idx), size):
            part = idx[j:j + size]
            tasks.append((costs[id(e)] * len(part) / len(idx) + LOAD_HINT.get(e.weights, 0.0), e, part))
    tasks.sort(key=lambda t: -t[0])
    return tasks


def run_tournament(
    path: str | Path,
    *,
    entries: list[Entry] | None = None,
    weights_file: str | Path | None = None,
    n_boot: int = 2000,
    seed: int = 0,
    time_budget: float | None = None,
    issue_filter: Iterable[str] | None = None,
    jobs: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Score every entry on every scoreable issue of a DEU file.

    Parameters
    ----------
    path
        A DEU CSV (any file with the DEU columns).
    entries
        Contestants; :func:`default_entries` when omitted.
    weights_file
        ``wave,actor,weight`` CSV for the ``council`` weighting (default: beside the file or
        the built-in copy).
    n_boot, seed
        Paired bootstrap resamples and seed for the CIs against the compromise model.
    time_budget
        CPU seconds allowed per entry (``None``: unlimited, the default); an entry cut into
        chunks gives each chunk its share. Issues not reached are reported as failures.
    issue_filter
        Score only these issue ids (e.g. one side of a split).
    jobs
        Worker processes; each entry's units are cut into chunks that run in a process pool
        (results do not depend on ``jobs`` or on the chunking).
    progress
        Called with ``(tasks done, tasks)`` as the (entry, chunk of units) tasks finish.

    Returns
    -------
    dict
        ``{"n_issues", "reference", "models": {NAME: {"mae", "rmse", "medae", "n",
        "ci_vs_compromise", "by": {...}, "forecasts": {isnr: x}, "failures": {...}}},
        "run": {...}, ...}``
    """
    wall0, cpu0 = time.perf_counter(), time.process_time()
    entries = entries if entries is not None else default_entries()
    council = weights_file if weights_file is not None else "council"
    base = _scenarios(path, "council", "issue", council)
    only = set(issue_filter) if issue_filter is not None else None
    scored = [s for s in base if scoreable(s) and (only is None or s.name in only)]
    keep = {s.name for s in scored}
    truth = {s.name: float(o) for s in scored if (o := s.issues[0].outcome) is not None}  # scoreable: never None
    attrs = {s.name: {"wave": s.metadata.get("wave"), "proc": s.metadata.get("proc"),
                      "counvte": s.metadata.get("counvte"), "prnr": s.metadata.get("prnr")} for s in scored}
    order = [s.name for s in scored]

    # one run per distinct configuration
    first: dict[tuple, Entry] = {}
    same_as: dict[str, str] = {}
    for e in entries:
        k = _config_key(e)
        if k in first:
            same_as[e.name] = first[k].name
        else:
            first[k] = e
    uniq = list(first.values())
    unit_ids: dict[str, list[int]] = {"issue": [k for k, s in enumerate(base) if s.name in keep]}
    if any(e.unit == "proposal" for e in uniq):
        props = _scenarios(path, "council", "proposal", council)
        unit_ids["proposal"] = [k for k, s in enumerate(props) if any(i.id in keep for i in s.issues)]
    tasks = _plan(uniq, unit_ids, jobs)
    n_units = {id(e): len(unit_ids[e.unit]) for e in uniq}

    def budget(e: Entry, part: list[int]) -> float | None:
        return None if time_budget is None else time_budget * len(part) / max(1, n_units[id(e)])

    if jobs > 1 and len(tasks) > 1:
        import multiprocessing

        from detente.models.registry import get
        from detente.processes import OwnedProcessPool

        for e in uniq:  # import the models before forking, so workers inherit them
            try:
                get(e.model)
            except DetenteError:
                pass
        import sys

        # fork (Linux): workers inherit the loaded scenarios and models; elsewhere the platform
        # default, and each worker reads the scenarios once. Workers exit when this process
        # dies, however it dies (OwnedProcessPool)
        ctx = multiprocessing.get_context("fork") if sys.platform.startswith("linux") else multiprocessing.get_context()
        with OwnedProcessPool(jobs, mp_context=ctx) as ex:
            futs = [ex.submit(_entry_job, path, council, e, keep, budget(e, part), part) for _, e, part in tasks]
            if progress:
                from concurrent.futures import as_completed

                progress(0, len(futs))
                for n_done, _f in enumerate(as_completed(futs), 1):
                    progress(n_done, len(futs))
            outs = [f.result() for f in futs]
    else:
        outs = []
        for n_done, (_, e, part) in enumerate(tasks):
            if progress:
                progress(n_done, len(tasks))
            outs.append(_entry_job(path, council, e, keep, budget(e, part), part))
        if progress:
            progress(len(tasks), len(tasks))
    merged: dict[str, dict[str, Any]] = {e.name: {"entry": e, "forecasts": {}, "failures": {}, "seconds": 0.0}
                                         for e in uniq}
    for (_, e, _), (fc, fail, secs) in zip(tasks, outs):
        m = merged[e.name]
        m["forecasts"].update(fc)
        m["failures"].update(fail)
        m["seconds"] += secs
    results: dict[str, dict[str, Any]] = {}
    for e in entries:
        src = merged[same_as.get(e.name, e.name)]
        results[e.name] = {**src, "entry": e, "same_as": same_as.get(e.name)}
        if e.name in same_as:
            results[e.name]["seconds"] = 0.0

    ref = results.get(REFERENCE)
    train = _train_proposals() if any(e.model in FITTED_MODELS for e in entries) else None
    models: dict[str, Any] = {}
    for name, r in results.items():
        fc = r["forecasts"]
        ids = [i for i in order if i in fc]
        n_in = None
        if r["entry"].model in FITTED_MODELS and train is not None:
            n_in = sum(1 for i in ids if attrs[i]["prnr"] in train)
        err = np.array([abs(fc[i] - truth[i]) for i in ids])
        d: dict[str, Any] = _summary(err)
        d["ci_vs_compromise"] = None
        d["diff_vs_compromise"] = None
        if ref is not None:
            common = [i for i in ids if i in ref["forecasts"]]
            if common:
                e1 = np.array([abs(fc[i] - truth[i]) for i in common])
                e0 = np.array([abs(ref["forecasts"][i] - truth[i]) for i in common])
                d["diff_vs_compromise"] = float(e1.mean() - e0.mean())
                d["ci_vs_compromise"] = list(bootstrap_ci(e1, e0, n_boot=n_boot, seed=seed))
                d["n_common"] = len(common)
        by: dict[str, dict[str, Any]] = {}
        for key in BREAKDOWNS:
            groups: dict[str, list[float]] = {}
            for i, x in zip(ids, err):
                groups.setdefault(str(attrs[i][key]), []).append(float(x))
            by[key] = {g: _summary(np.array(v)) for g, v in sorted(groups.items())}
        d["by"] = by
        e = r["entry"]
        fails = {i: r["failures"][i] for i in order if i in r["failures"]}
        d.update({"model": e.model, "variant": e.variant, "params": dict(e.params), "capability_weights": e.weights,
                  "unit": e.unit, "description": e.description, "seconds": round(r["seconds"], 3),
                  "same_as": r["same_as"], "n_in_sample": n_in,
                  "n_failed": len(fails),
                  "failures": dict(list(fails.items())[:20]),
                  "failure_reasons": sorted(set(fails.values()))[:5],
                  "forecasts": {i: round(fc[i], 6) for i in ids}})
        models[name] = d
    return {
        "n_issues": len(order),
        "file": str(path),
        "reference": REFERENCE,
        "scoring": "outcome in 0-100 and n_actors >= 3; error = |forecast - out| (0-100)",
        "bootstrap": {"n_boot": n_boot, "seed": seed, "level": 0.95, "paired_over": "issues"},
        "outcomes": {i: truth[i] for i in order},
        "models": models,
        "run": {"jobs": jobs, "tasks": len(tasks), "configurations": len(uniq),
                "time_budget": time_budget,
                "wall_seconds": round(time.perf_counter() - wall0, 3),
                "cpu_seconds_models": round(sum(m["seconds"] for m in merged.values()), 3),
                "cpu_seconds_main": round(time.process_time() - cpu0, 3)},
    }


def leaderboard_rows(result: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Models sorted by MAE (models without forecasts last)."""
    rows = [{"name": k, **v} for k, v in result["models"].items()]
    return sorted(rows, key=lambda r: (r["mae"] is None, r["mae"] if r["mae"] is not None else 0.0))


def leaderboard_figure(result: Mapping[str, Any], path: str | Path) -> Path:
    """Horizontal bar chart of MAE with the paired 95 % CI of the difference to the
    compromise model drawn around the compromise MAE + difference, written as an image (PNG, or
    SVG/PDF by the suffix) through kaleido. Raises :class:`~detente.errors.RunError` when no
    image can be written here (no kaleido or no Chrome/Chromium)."""
    from detente.errors import RunError
    from detente.plotting.export import write_images
    from detente.plotting.figures import leaderboard_figure as figure

    fig = figure(leaderboard_rows(result), REFERENCE, f"DEU tournament, {result['n_issues']} issues")
    p = Path(path)
    why = write_images({p: fig})
    if why:
        raise RunError(f"cannot write the leaderboard figure {p}: {why}")
    return p


def to_json_contract(result: Mapping[str, Any], *, full: bool = True) -> dict[str, Any]:
    """The ``--json`` object of ``detente benchmark deu`` (documented in docs/json-contract.md)."""
    keys = ("mae", "rmse", "medae", "n", "n_common", "ci_vs_compromise", "diff_vs_compromise", "model", "variant",
            "params", "capability_weights", "unit", "seconds", "same_as", "n_in_sample", "n_failed", "failure_reasons", "by", "forecasts")
    return {
        "n_issues": result["n_issues"],
        "reference": result["reference"],
        "scoring": result["scoring"],
        "bootstrap": result["bootstrap"],
        "outcomes": result["outcomes"],
        "models": {k: {kk: v.get(kk) for kk in keys if kk in v or kk in ("ci_vs_compromise",)} for k, v in result["models"].items()},
        "run": result.get("run"),
    }


# ------------------------------------------------------------------ the pre-registered candidate


def _candidate_fields(s: Scenario) -> dict[str, Any]:
    """The first candidate's inputs of one single-issue DEU scenario: wave, features, positions."""
    from detente.models.deu.median_regression import features

    f = features(s, s.name)
    assert f is not None
    return {"wave": s.metadata["wave"], "f": f, "positions": s.issue_arrays(s.name).position.tolist()}


def _issue_data_fields(s: Scenario) -> dict[str, Any]:
    """The second and third candidates' inputs of one single-issue DEU scenario."""
    from detente.models.deu.reweighted_compromise import issue_data

    return {"d": issue_data(s, s.name)}


def _scoreable_rows(path: str | Path, fields: Callable[[Scenario], Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per scoreable issue of a DEU file, in file order: ``isnr``, ``prnr``, outcome
    ``y`` (0–100) and the model inputs ``fields(scenario)``."""
    rows = []
    for s in load_deu(path):
        outcome = s.issues[0].outcome if s.issues else None
        if not scoreable(s) or outcome is None:
            continue
        rows.append({"isnr": s.name, "prnr": s.metadata["prnr"], "y": float(outcome), **fields(s)})
    return rows


def read_split(split_path: str | Path) -> dict[str, str]:
    """``{prnr: side}`` of a split file (CSV with columns ``prnr`` and ``side``, side
    ``train`` or ``validation``)."""
    import csv

    with open(split_path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = {"prnr", "side"} - set(reader.fieldnames or ())
        if missing:
            raise InputError(Problem(f"missing column(s) {', '.join(sorted(missing))}", file=str(split_path),
                                     expected="columns prnr, side"))
        rows = list(reader)
    bad = [Problem("unknown side", file=str(split_path), line=k + 2, column="side", value=r["side"],
                   expected="train or validation") for k, r in enumerate(rows) if r["side"] not in SPLIT_SIDES]
    if bad:
        raise InputError(bad)
    return {r["prnr"]: r["side"] for r in rows}


def split_rows(path: str | Path, split_path: str | Path,
               fields: Callable[[Scenario], Mapping[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The scoreable issues of ``path`` (rows of :func:`_scoreable_rows` plus their ``side``),
    split into (train, validation) by the split file. Every proposal with a scoreable issue
    must be in the split file: a missing one is an :class:`~detente.errors.InputError` naming
    it (it would otherwise drop out of fitting and evaluation silently)."""
    side = read_split(split_path)
    rows = _scoreable_rows(path, fields)
    absent = sorted({r["prnr"] for r in rows if r["prnr"] not in side})
    if absent:
        raise InputError([Problem(f"proposal {p} of {path} is not in the split file", file=str(split_path),
                                  column="prnr", value=p, expected="every proposal with a scoreable issue")
                          for p in absent])
    for r in rows:
        r["side"] = side[r["prnr"]]
    return [r for r in rows if r["side"] == "train"], [r for r in rows if r["side"] == "validation"]


def candidate_dataset(path: str | Path) -> list[dict[str, Any]]:
    """Features, outcome, ids and actor positions of every scoreable issue (0–100 scale)."""
    return _scoreable_rows(path, _candidate_fields)


def fit_lad(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least absolute deviations: argmin_β Σ|y − Xβ|, exactly, as a linear programme (HiGHS).

    Examples
    --------
    >>> X = np.c_[np.ones(5), np.arange(5.0)]
    >>> fit_lad(X, 2 + 3 * np.arange(5.0)).round(6).tolist()
    [2.0, 3.0]
    """
    from scipy.optimize import linprog

    n, p = X.shape
    # variables: beta+ (p), beta- (p), u+ (n), u- (n) >= 0; X(b+ - b-) + u+ - u- = y
    c = np.r_[np.zeros(2 * p), np.ones(2 * n)]
    A = np.c_[X, -X, np.eye(n), -np.eye(n)]
    res = linprog(c, A_eq=A, b_eq=y, bounds=(0, None), method="highs")
    if not res.success or res.x is None:  # pragma: no cover
        raise RuntimeError(f"LAD fit failed: {res.message}")
    return res.x[:p] - res.x[p:2 * p]


def fit_preregistered(path: str | Path, split_path: str | Path, *, n_boot: int = 10000,
                      seed: int = 20250607) -> dict[str, Any]:
    """Run the procedure of ``preregistration/deu_candidate.md``: fit S1–S5 on the train side,
    score them on the validation side, select, and bootstrap the selected one against the
    compromise model."""
    from detente.models.deu.median_regression import SPEC_COLUMNS, design, predict

    train, val = split_rows(path, split_path, _candidate_fields)
    ytr = np.array([r["y"] for r in train])
    yva = np.array([r["y"] for r in val])

    def mae(rows, spec, coef, delta=0.0):
        return float(np.mean([abs(predict(r["f"], spec, coef, delta, r["positions"]) - r["y"]) for r in rows]))

    specs: dict[str, Any] = {}
    for spec in ("S1", "S2", "S3", "S4"):
        X = np.array([design(r["f"], spec) for r in train])
        coef = fit_lad(X, ytr)
        specs[spec] = {"coef": coef.tolist(), "delta": 0.0, "n_params": len(coef)}
    grid = (0.0, 2.5, 5.0, 10.0, 15.0, 20.0)
    c3 = specs["S3"]["coef"]
    tr5 = [mae(train, "S5", c3, d) for d in grid]
    best = grid[int(np.argmin(np.round(tr5, 12)))]
    specs["S5"] = {"coef": c3, "delta": best, "n_params": len(c3) + 1, "train_mae_by_delta": dict(zip(map(str, grid), tr5))}
    for spec, d in specs.items():
        d["columns"] = list(SPEC_COLUMNS[spec])
        d["train_mae"] = mae(train, spec, d["coef"], d["delta"])
        d["val_mae"] = mae(val, spec, d["coef"], d["delta"])
    comp_tr = float(np.mean([abs(r["f"]["C"] - r["y"]) for r in train]))
    comp_va = float(np.mean([abs(r["f"]["C"] - r["y"]) for r in val]))
    lowest = min(d["val_mae"] for d in specs.values())
    eligible = [s for s, d in specs.items() if d["val_mae"] <= lowest + 0.25]
    chosen = min(eligible, key=lambda s: (specs[s]["n_params"], specs[s]["val_mae"]))
    d = specs[chosen]
    e1 = np.array([abs(predict(r["f"], chosen, d["coef"], d["delta"], r["positions"]) - r["y"]) for r in val])
    e0 = np.array([abs(r["f"]["C"] - r["y"]) for r in val])
    return {
        "n_train": len(train), "n_validation": len(val),
        "compromise_train_mae": comp_tr, "compromise_val_mae": comp_va,
        "specs": specs, "selected": chosen,
        "val_diff": float(e1.mean() - e0.mean()),
        "val_ci_issues": list(bootstrap_ci(e1, e0, n_boot=n_boot, seed=seed)),
        "val_ci_proposals": list(bootstrap_ci(e1, e0, n_boot=n_boot, seed=seed, clusters=[r["prnr"] for r in val])),
        "val_forecasts": {r["isnr"]: predict(r["f"], chosen, d["coef"], d["delta"], r["positions"]) for r in val},
        "yva_mean": float(yva.mean()),
    }


__all__ += ["to_json_contract", "group_by_proposal", "read_split", "split_rows"]


# ------------------------------------------------------------------ the second pre-registered candidate

#: Grids of ``preregistration/deu_candidate2.md`` (ascending; lexicographic tie-break order).
CANDIDATE2_GRID = {
    "alpha": (0.0, 0.5, 1.0),
    "gamma": (0.5, 1.0, 2.0),
    "weight": (0.0, 0.5, 1.0, 2.0, 4.0),  # kappa, eps, eps_cod, eps_cns
    "lam": (0.0, 0.25, 0.5, 0.75),
    "delta": (0.0, 2.5, 5.0, 10.0, 15.0, 20.0),
}
CANDIDATE2_NPARAMS = {"R1": 2, "R2": 5, "R3": 6, "R4": 7}


def candidate2_grid(spec: str) -> list[dict[str, float]]:
    """Grid points of spec R1–R3 in the pre-registered lexicographic order."""
    import itertools

    g = CANDIDATE2_GRID
    W = g["weight"]
    if spec == "R1":
        return [{"alpha": 1.0, "gamma": 1.0, "kappa": k, "eps_cod": e, "eps_cns": e, "lam": 0.0, "delta": 0.0}
                for k, e in itertools.product(W, W)]
    lams = g["lam"] if spec == "R3" else (0.0,)
    return [{"alpha": a, "gamma": gm, "kappa": k, "eps_cod": ec, "eps_cns": en, "lam": lam, "delta": 0.0}
            for a, gm, k, ec, en, lam in itertools.product(g["alpha"], g["gamma"], W, W, W, lams)]


def _grid_predictions(d: Any, P: np.ndarray) -> np.ndarray:
    """Forecasts of one issue for every grid row ``P`` (columns alpha, gamma, kappa, eps_cod,
    eps_cns, lam; no snapping) — the vectorised form of ``deu_candidate2.predict``."""
    alpha, gamma, kappa, ec, en, lam = P.T
    vv = np.where(d.v > 0, d.v, 1.0)
    vpow = np.where(d.v[None, :] > 0, vv[None, :] ** alpha[:, None], 0.0)
    eps = ec if d.cod else en
    a = np.where(d.role[None, :] == 1, kappa[:, None], np.where(d.role[None, :] == 2, eps[:, None], vpow))
    ss = np.where(d.s > 0, d.s, 1.0)
    spow = np.where(d.s[None, :] > 0, ss[None, :] ** gamma[:, None], 0.0)
    w = a * spow
    den = w.sum(axis=1)
    f = np.where(den > 0, (w * d.x[None, :]).sum(axis=1) / np.where(den > 0, den, 1.0), d.x.mean())
    if d.unanimity and d.rp is not None:
        f = (1.0 - lam) * f + lam * d.rp
    return f


def _validation_scores(e1: np.ndarray, e0: np.ndarray, val: list[dict[str, Any]], *, n_boot: int,
                       seed: int) -> dict[str, Any]:
    """Validation MAE of a selected candidate (errors ``e1``) against the compromise model
    (``e0``) on the validation rows ``val``: difference, paired bootstrap CIs over issues and
    over proposals, and the counts of issues it wins, loses and ties (within 1e-9)."""
    return {
        "val_mae": float(e1.mean()),
        "val_diff": float(e1.mean() - e0.mean()),
        "val_ci_issues": list(bootstrap_ci(e1, e0, n_boot=n_boot, seed=seed)),
        "val_ci_proposals": list(bootstrap_ci(e1, e0, n_boot=n_boot, seed=seed, clusters=[r["prnr"] for r in val])),
        "val_wins_losses_ties": [int((e1 < e0 - 1e-9).sum()), int((e1 > e0 + 1e-9).sum()),
                                 int((np.abs(e1 - e0) <= 1e-9).sum())],
    }


def fit_preregistered2(path: str | Path, split_path: str | Path, *, n_boot: int = 10000,
                       seed: int = 20250607) -> dict[str, Any]:
    """Run the procedure of ``preregistration/deu_candidate2.md``: fit R1–R4 on the train side
    by exhaustive grid search (train MAE), score them on the validation side, select, and
    bootstrap the selected one against the compromise model."""
    from detente.models.deu.reweighted_compromise import BASELINE, predict

    train, val = split_rows(path, split_path, _issue_data_fields)
    keys = ("alpha", "gamma", "kappa", "eps_cod", "eps_cns", "lam")

    def mae(rs, p):
        return float(np.mean([abs(predict(r["d"], p) - r["y"]) for r in rs]))

    specs: dict[str, Any] = {}
    for spec in ("R1", "R2", "R3"):
        grid = candidate2_grid(spec)
        P = np.array([[g[k] for k in keys] for g in grid])
        err = np.zeros(len(grid))
        for r in train:
            err += np.abs(_grid_predictions(r["d"], P) - r["y"])
        tr = err / len(train)
        best = int(np.flatnonzero(tr <= tr.min() + 1e-9)[0])
        p = dict(grid[best])
        specs[spec] = {"params": p, "n_params": CANDIDATE2_NPARAMS[spec], "grid_size": len(grid),
                       "train_mae_grid_min": float(tr[best])}
    p3 = specs["R3"]["params"]
    trd = [mae(train, {**p3, "delta": dl}) for dl in CANDIDATE2_GRID["delta"]]
    best_d = CANDIDATE2_GRID["delta"][int(np.flatnonzero(np.asarray(trd) <= min(trd) + 1e-9)[0])]
    specs["R4"] = {"params": {**p3, "delta": best_d}, "n_params": 7,
                   "train_mae_by_delta": dict(zip(map(str, CANDIDATE2_GRID["delta"]), trd))}
    for d in specs.values():
        d["train_mae"] = mae(train, d["params"])
        d["val_mae"] = mae(val, d["params"])
    comp_tr, comp_va = mae(train, BASELINE), mae(val, BASELINE)
    lowest = min(d["val_mae"] for d in specs.values())
    eligible = [s for s, d in specs.items() if d["val_mae"] <= lowest + 0.25]
    chosen = min(eligible, key=lambda s: (specs[s]["n_params"], specs[s]["val_mae"]))
    p = specs[chosen]["params"]
    e1 = np.array([abs(predict(r["d"], p) - r["y"]) for r in val])
    e0 = np.array([abs(predict(r["d"], BASELINE) - r["y"]) for r in val])
    return {
        "n_train": len(train), "n_validation": len(val),
        "compromise_train_mae": comp_tr, "compromise_val_mae": comp_va,
        "specs": specs, "selected": chosen, "frozen": p,
        **_validation_scores(e1, e0, val, n_boot=n_boot, seed=seed),
        "val_forecasts": {r["isnr"]: predict(r["d"], p) for r in val},
    }


__all__ += ["fit_preregistered2", "candidate2_grid", "CANDIDATE2_GRID"]


# ------------------------------------------------------------------ the third pre-registered candidate

#: Grids of ``preregistration/deu_candidate3.md``; ``OFF`` (2.0, above any share) is the
#: pre-registration's ∞. Tie-break: largest theta, then largest phi, then smallest delta.
CANDIDATE3_GRID = {
    "theta": (0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 2.0),
    "phi": (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 2.0),
    "delta": (0.0, 2.5, 5.0, 10.0, 15.0, 20.0, 25.0),
}
CANDIDATE3_NPARAMS = {"P1": 1, "P2": 2, "P3": 1, "P4": 2}


def candidate3_grid(spec: str) -> list[dict[str, float]]:
    """Grid points of spec P1–P4, in tie-break order (closest to the compromise first)."""
    import itertools

    from detente.models.deu.point_masses import BASELINE, OFF

    g = CANDIDATE3_GRID
    th = sorted(g["theta"], reverse=True) if spec in ("P1", "P2", "P4") else (OFF,)
    ph = sorted(g["phi"], reverse=True) if spec == "P2" else (OFF,)
    dl = sorted(g["delta"]) if spec in ("P3", "P4") else (0.0,)
    return [{**BASELINE, "theta": t, "phi": f, "delta": d} for t, f, d in itertools.product(th, ph, dl)]


def fit_preregistered3(path: str | Path, split_path: str | Path, *, n_boot: int = 10000,
                       seed: int = 20250607) -> dict[str, Any]:
    """Run the procedure of ``preregistration/deu_candidate3.md``: fit P1–P4 on the train side
    by exhaustive grid search (train MAE; the first grid point of :func:`candidate3_grid`
    among ties), score them once on the validation side, select, and bootstrap the selected
    one against the compromise model."""
    from collections import Counter

    from detente.models.deu.point_masses import BASELINE, predict

    train, val = split_rows(path, split_path, _issue_data_fields)

    def errors(rs, p):
        return np.array([abs(predict(r["d"], p)[0] - r["y"]) for r in rs])

    # fitting: train side only
    specs: dict[str, Any] = {}
    for spec in ("P1", "P2", "P3", "P4"):
        grid = candidate3_grid(spec)
        tr = np.array([errors(train, g).mean() for g in grid])
        best = int(np.flatnonzero(tr <= tr.min() + 1e-9)[0])
        specs[spec] = {"params": dict(grid[best]), "n_params": CANDIDATE3_NPARAMS[spec], "grid_size": len(grid),
                       "train_mae": float(tr[best]),
                       "train_mae_by_grid_point": [{**{k: g[k] for k in ("theta", "phi", "delta")}, "train_mae": float(m)}
                                                   for g, m in zip(grid, tr)]}
    comp_tr = float(errors(train, BASELINE).mean())
    # validation: each fitted spec scored once
    e0 = errors(val, BASELINE)
    for d in specs.values():
        d["val_mae"] = float(errors(val, d["params"]).mean())
    lowest = min(d["val_mae"] for d in specs.values())
    order = list(specs)
    eligible = [s for s, d in specs.items() if d["val_mae"] <= lowest + 0.25]
    chosen = min(eligible, key=lambda s: (specs[s]["n_params"], specs[s]["val_mae"], order.index(s)))
    p = specs[chosen]["params"]
    e1 = errors(val, p)
    rules_val = Counter(predict(r["d"], p)[1] for r in val)
    rules_tr = Counter(predict(r["d"], p)[1] for r in train)
    return {
        "n_train": len(train), "n_validation": len(val),
        "compromise_train_mae": comp_tr, "compromise_val_mae": float(e0.mean()),
        "specs": specs, "selected": chosen, "frozen": p,
        **_validation_scores(e1, e0, val, n_boot=n_boot, seed=seed),
        "rules_fired_train": dict(sorted(rules_tr.items())),
        "rules_fired_validation": dict(sorted(rules_val.items())),
        "val_forecasts": {r["isnr"]: predict(r["d"], p)[0] for r in val},
    }


__all__ += ["fit_preregistered3", "candidate3_grid", "CANDIDATE3_GRID"]
