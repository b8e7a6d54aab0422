"""Parameter uncertainty and global sensitivity for the crisis engine.

Two studies over the annotated numbers of a crisis scenario (``assumption: {range: [lo, hi]}``):

* :func:`parameter_uncertainty` — how much a headline output moves when the assumptions are
  uncertain. A nested design: ``draws`` parameter sets θ_k drawn uniformly from the ranges, each
  run ``runs_per_draw`` times with independent random streams. By the law of total variance the
  spread of the per-draw means p_k is Var_θ(E[Y|θ]) + E_θ[Var(Y|θ)]/M; the second term (Monte
  Carlo noise of each p_k, estimated from the within-draw sample variances) is removed before
  the parameter-uncertainty interval is read off (see :func:`_intervals`).
* :func:`crisis_sensitivity` — SALib Sobol (Saltelli sampling) or Morris indices of a headline
  output over any set of numbers, with a one-at-a-time tornado.

Both evaluate many parameter points in **one vectorised engine call**: point ``p`` owns the runs
``p·M … (p+1)·M − 1`` and its numbers enter as per-run values (the engine treats any number as a
per-run array, which is how ``draw: uniform`` works). For sensitivity the random numbers are
*common* across points (Glasserman 2004, §4.2): every random draw the engine makes for all runs
at once is drawn for ``M`` runs and repeated for each point (:class:`_CommonRNG`), so run ``j``
of every point sees the same capability shocks, meetings, leaks and onset uniforms; draws for a
subset of runs (e.g. who starts a war that has broken out) come from a second stream. The
estimated output is then a smooth function of the parameters and the Sobol estimator is not
swamped by Monte Carlo noise. Points are processed in groups of at most ``max_batch_runs`` runs;
every group starts the common stream from the same seed.

References
----------
.. [1] Saltelli, A. et al. (2010). "Variance based sensitivity analysis of model output."
   *Computer Physics Communications* 181(2).
.. [2] Morris, M. D. (1991). *Technometrics* 33(2); Campolongo, Cariboni & Saltelli (2007).
.. [3] Glasserman, P. (2004). *Monte Carlo Methods in Financial Engineering*, §4.2 (common
   random numbers).
.. [4] Herman, J. & Usher, W. (2017). "SALib." *JOSS* 2(9).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from detente.errors import InputError, Problem
from detente.experiments.sensitivity import SensitivityResult, constant_output_warning, index_warnings, salib_quiet

__all__ = ["crisis_factors", "point_outputs", "point_groups", "run_groups", "evaluate_points", "PointGroup",
           "load_crisis_sensitivity", "STORE_KIND", "parameter_uncertainty", "crisis_sensitivity", "screened_sobol", "OUTPUT_ALIASES",
           "DEFAULT_SOBOL_N", "DEFAULT_MORRIS_N", "DEFAULT_RUNS_PER_POINT"]

#: Short names accepted for ``--output`` (the engine-side names are those of
#: :func:`detente.crisis.analysis.output_samples`).
OUTPUT_ALIASES = {"months_of_peace": "months_of_peace_focal", "p_no_war_focal": "p_no_focal_war_horizon"}

#: Defaults measured on seesaw-2021 (docs/crisis.md, "Sensitivity"): Sobol base sample and runs per point.
DEFAULT_SOBOL_N = 2048
DEFAULT_MORRIS_N = 10
DEFAULT_RUNS_PER_POINT = 32
#: Minimum runs per point of the one-at-a-time tornado (few points, so it can afford more runs).
TORNADO_RUNS = 1000


def _output_name(name: str) -> str:
    return OUTPUT_ALIASES.get(name, name)


def record_end(spec: Any) -> str | None:
    """The end of the scenario's back-test window (what ``p_war_by_end`` counts to), if it has a record."""
    rec = getattr(spec, "record", None)
    return rec.window[1].isoformat() if rec is not None else None


def crisis_factors(spec: Any, names: Sequence[str] | None = None) -> list[tuple[str, float, float]]:
    """``(path, lo, hi)`` of the numbers to vary: ``names`` (dotted paths) or, by default, every
    number that ``settings.draw_assumptions`` would draw (:func:`detente.crisis.engine.drawable`)."""
    from detente.crisis.engine import SCALAR_ONLY, drawable

    items = dict(spec.num_items())
    if not names:
        return [(p, *n.assumption.range) for p, n in items.items() if drawable(p, n)]
    out, problems = [], []
    for raw in names:
        p = raw.removeprefix("dynamics.").removesuffix(".value")
        num = items.get(p)
        if num is None:
            problems.append(Problem(f"--factor {raw!r}: no annotated number at this path", column="--factor", value=raw,
                                    expected="a dotted path such as flashpoints[UA].base_hazard_m"))
        elif SCALAR_ONLY.match(p):
            problems.append(Problem(f"--factor {raw!r}: the engine uses one value of this number for all runs, so it "
                                    "cannot vary per parameter point", column="--factor", value=raw))
        elif num.assumption is None or not num.assumption.range[0] < num.assumption.range[1]:
            problems.append(Problem(f"--factor {raw!r}: the number has no assumption range to vary over",
                                    column="--factor", value=raw, expected="a number with assumption: {range: [lo, hi]}, lo < hi"))
        else:
            out.append((p, *num.assumption.range))
    if problems:
        raise InputError(problems)
    return out


class _CommonRNG:
    """A ``Generator`` stand-in that gives every parameter point the same random numbers.

    A draw whose size has ``points × M`` runs on its first or last axis is drawn for ``M`` runs
    from ``common`` and tiled ``points`` times; any other draw comes from ``own``.
    """

    def __init__(self, common: np.random.Generator, own: np.random.Generator, points: int, m: int):
        self.common, self.own, self.points, self.m = common, own, points, m
        self.n = points * m

    def _draw(self, method: str, size: Any, *args: Any) -> Any:
        shape = (size,) if isinstance(size, (int, np.integer)) else tuple(size) if size is not None else ()
        if shape and shape[-1] == self.n:
            x = getattr(self.common, method)(*args, size=shape[:-1] + (self.m,))
            return np.tile(x, (1,) * (len(shape) - 1) + (self.points,))
        if shape and shape[0] == self.n:
            x = getattr(self.common, method)(*args, size=(self.m,) + shape[1:])
            return np.tile(x, (self.points,) + (1,) * (len(shape) - 1))
        return getattr(self.own, method)(*args, size=size)

    def random(self, size: Any = None) -> Any:
        return self._draw("random", size)

    def standard_normal(self, size: Any = None) -> Any:
        return self._draw("standard_normal", size)

    def uniform(self, low: float = 0.0, high: float = 1.0, size: Any = None) -> Any:
        if np.ndim(low) or np.ndim(high):
            return self.own.uniform(low, high, size)
        return low + (high - low) * self._draw("random", size)

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"_CommonRNG does not provide {name!r}: add it (common draws must be explicit)")


@dataclasses.dataclass(frozen=True)
class PointGroup:
    """One chunk of a sensitivity study: a group of ``g`` parameter points × ``m`` runs each
    (picklable, self-contained; evaluated by :func:`evaluate_points` on any executor).

    ``compiled`` already holds the points' numbers as per-run arrays
    (:func:`detente.crisis.engine.with_values`); ``g0`` is the first point's index, which seeds
    the group's own stream.
    """

    compiled: Any
    chunk: int
    g0: int
    g: int
    m: int
    seed: int
    common: bool
    outputs: tuple[str, ...]
    end: str | None
    params: Any
    scenario_name: str
    #: simulate with the compiled twins (:mod:`detente.crisis.compiled`; set by :func:`run_groups`
    #: for the whole study, ``None``: as ``DETENTE_COMPILED`` says for this group). Speed only.
    use_compiled: bool | None = None

    @property
    def work(self) -> int:
        """Estimated CPU cost (one engine call of ``g × m`` runs: :func:`detente.crisis.engine.chunk_work`),
        what :func:`run_groups` weighs to choose the twins and an ``auto`` executor a process pool."""
        from detente.crisis.engine import chunk_work

        return chunk_work(self.g * self.m, len(self.compiled.step_start), bool(self.use_compiled))


def evaluate_points(job: PointGroup) -> tuple[np.ndarray, np.ndarray]:
    """Mean and within-point variance ``(g, outputs)`` of one group of points (see :func:`point_outputs`)."""
    from detente.crisis.analysis import output_samples
    from detente.crisis.engine import simulate
    from detente.crisis.result import CrisisResult

    g, M, seed = job.g, job.m, job.seed
    n = g * M
    if job.common:
        ss = np.random.SeedSequence(seed)
        rng: Any = _CommonRNG(np.random.Generator(np.random.PCG64(ss)),
                              np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(job.g0,)))), g, M)
    else:
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(job.g0,))))
    part = simulate(job.compiled, n, rng, False, use_compiled=job.use_compiled)
    res = CrisisResult.from_parts([part], compiled=job.compiled, params=job.params, root_seed=seed, runs=n,
                                  input_hash="", scenario_name=job.scenario_name)
    mean = np.empty((g, len(job.outputs)))
    var = np.empty((g, len(job.outputs)))
    for k, o in enumerate(job.outputs):
        y = output_samples(res, o, end=job.end).reshape(g, M)
        mean[:, k] = y.mean(axis=1)
        var[:, k] = y.var(axis=1, ddof=1) if M > 1 else np.nan
    return mean, var


def point_groups(scenario: Any, paths: Sequence[str], values: np.ndarray, *, runs_per_point: int, seed: int,
                 outputs: Sequence[str], hypothesis: str | None = None, extra_set: dict[str, Any] | None = None,
                 common: bool = True, max_batch_runs: int = 65536, first_chunk: int = 0) -> list[PointGroup]:
    """The chunks of :func:`point_outputs`: groups of at most ``max_batch_runs`` runs, numbered
    from ``first_chunk``."""
    from detente.crisis.engine import CrisisParams, compile_spec, with_values
    from detente.crisis.spec import load_spec

    values = np.atleast_2d(np.asarray(values, dtype=float))
    P, M = values.shape[0], int(runs_per_point)
    spec = load_spec(scenario.dynamics, file=getattr(scenario, "name", None), hypothesis=hypothesis,
                     extra=extra_set or None)
    outs = tuple(_output_name(o) for o in outputs)
    end = record_end(spec)
    per = max(1, max_batch_runs // M)
    jobs = []
    for k, g0 in enumerate(range(0, P, per)):
        g = min(per, P - g0)
        n = g * M
        params = CrisisParams(runs=n, hypothesis=hypothesis, set=extra_set or {}, record_paths=False, chunk_size=n)
        c = with_values(compile_spec(spec, params), {p: np.repeat(values[g0:g0 + g, d], M) for d, p in enumerate(paths)})
        jobs.append(PointGroup(c, first_chunk + k, g0, g, M, int(seed), bool(common), outs, end, params,
                               getattr(scenario, "name", "")))
    return jobs


def run_groups(jobs: Sequence[PointGroup], *, executor: Any = None, chunks: Any = None,
               progress: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Evaluate groups of points on an executor (default: the crisis engine's
    :func:`~detente.crisis.engine.execution` context, else this process) and stack their
    means and variances in point order. ``chunks`` (``get(chunk)``/``put(chunk, mean, var)``)
    keeps finished groups, so a killed study resumes with the missing ones only."""
    from detente.crisis import compiled as _compiled
    from detente.crisis.engine import current_execution

    if executor is None:
        executor = current_execution()[0]
    # the compiled twins or numpy, chosen once for the whole study by its estimated cost
    twins = _compiled.choose(sum(dataclasses.replace(j, use_compiled=False).work for j in jobs))
    got: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    todo = []
    for j in jobs:
        have = chunks.get(j.chunk) if chunks is not None else None
        if have is None:
            todo.append(dataclasses.replace(j, use_compiled=twins))
        else:
            got[j.chunk] = have
    done = len(got)
    if progress:
        progress(done, len(jobs))
    results = executor.map_unordered(evaluate_points, todo) if executor is not None else \
        ((j, evaluate_points(j)) for j in todo)
    for j, (m, v) in results:
        got[j.chunk] = (m, v)
        if chunks is not None:
            chunks.put(j.chunk, m, v)
        done += 1
        if progress:
            progress(done, len(jobs))
    if not jobs:
        return np.empty((0, 0)), np.empty((0, 0))
    return (np.concatenate([got[j.chunk][0] for j in jobs], axis=0),
            np.concatenate([got[j.chunk][1] for j in jobs], axis=0))


def point_outputs(scenario: Any, paths: Sequence[str], values: np.ndarray, *, runs_per_point: int, seed: int,
                  outputs: Sequence[str], hypothesis: str | None = None, extra_set: dict[str, Any] | None = None,
                  common: bool = True, max_batch_runs: int = 65536, executor: Any = None,
                  chunks: Any = None, first_chunk: int = 0, progress: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Mean and within-point variance of each output at each parameter point.

    ``values`` is ``(points, len(paths))``; returns two ``(points, len(outputs))`` arrays. With
    ``common`` the points share random numbers (:class:`_CommonRNG`); otherwise every run has its
    own stream (one ``SeedSequence(seed)`` stream per group of points, spawned by group index).
    The groups (:func:`point_groups`) are the chunks: they run on ``executor`` and are kept in
    ``chunks`` (:func:`run_groups`); the numbers do not depend on either.
    """
    jobs = point_groups(scenario, paths, values, runs_per_point=runs_per_point, seed=seed, outputs=outputs,
                        hypothesis=hypothesis, extra_set=extra_set, common=common, max_batch_runs=max_batch_runs,
                        first_chunk=first_chunk)
    return run_groups(jobs, executor=executor, chunks=chunks, progress=progress)


def _intervals(pk: np.ndarray, s2k: np.ndarray, m: int, level: float = 0.90, z: float = 1.959964) -> dict[str, Any]:
    """Intervals of one output from a nested design (K draws × M runs).

    * ``mc_interval``: the mean of the K per-draw means ± z × sd(p_k)/√K (the draws are
      independent clusters, so this is the sampling error of the estimate at these runs);
    * ``param_interval``: the central ``level`` range of E[Y|θ]. The per-draw means carry Monte
      Carlo noise of variance E[s²_k]/M; the between-draw variance is
      V_θ = Var(p_k) − E[s²_k]/M (law of total variance), and the interval is read from the
      quantiles of the means shrunk towards their average by √(V_θ / Var(p_k)).
    """
    K = pk.size
    mu = float(pk.mean())
    vt = float(pk.var(ddof=1)) if K > 1 else 0.0
    noise = float(np.nanmean(s2k) / m) if m > 1 else 0.0
    vb = max(vt - noise, 0.0)
    shrink = math.sqrt(vb / vt) if vt > 0 else 0.0
    adj = mu + shrink * (pk - mu)
    a = (1.0 - level) / 2.0
    se = math.sqrt(vt / K) if K > 1 else float("nan")
    return {"value": mu, "mc_se": se, "mc_interval": [mu - z * se, mu + z * se],
            "param_interval": [float(np.quantile(adj, a)), float(np.quantile(adj, 1 - a))],
            "param_sd": math.sqrt(vb), "noise_sd": math.sqrt(noise), "param_share": vb / vt if vt > 0 else 0.0}


def parameter_uncertainty(scenario: Any, *, hypothesis: str | None = None, draws: int = 40, runs_per_draw: int = 100,
                          seed: int = 0, outputs: Sequence[str] = ("p_war_by_end", "months_of_peace_focal"),
                          factors: Sequence[str] | None = None, extra_set: dict[str, Any] | None = None,
                          level: float = 0.90) -> dict[str, Any]:
    """Parameter-uncertainty and Monte-Carlo intervals of headline outputs (nested design).

    ``draws`` parameter sets are drawn uniformly over the assumption ranges of ``factors``
    (default: every number ``settings.draw_assumptions`` draws) from ``SeedSequence(seed)``;
    each is run ``runs_per_draw`` times with its own random streams. Returns the JSON block
    documented in ``docs/json-contract.md`` (``uncertainty``).
    """
    from detente.crisis.spec import load_spec

    if draws < 2 or runs_per_draw < 2:
        raise InputError(Problem("parameter uncertainty needs at least 2 draws and 2 runs per draw",
                                 column="--param-draws", value=f"{draws}×{runs_per_draw}", expected="≥ 2 each"))
    spec = load_spec(scenario.dynamics, hypothesis=hypothesis, extra=extra_set or None)
    fac = crisis_factors(spec, factors)
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(2**31 - 1,))))
    lo = np.array([f[1] for f in fac])
    hi = np.array([f[2] for f in fac])
    theta = lo + (hi - lo) * rng.random((draws, len(fac)))
    mean, var = point_outputs(scenario, [f[0] for f in fac], theta, runs_per_point=runs_per_draw, seed=seed,
                              outputs=outputs, hypothesis=hypothesis, extra_set=extra_set, common=False)
    return {"method": "nested", "draws": draws, "runs_per_draw": runs_per_draw, "factors": len(fac), "level": level,
            "outputs": {_output_name(o): _intervals(mean[:, k], var[:, k], runs_per_draw, level)
                        for k, o in enumerate(outputs)}}


def _tornado_design(fac: list[tuple[str, float, float]], nominal: np.ndarray) -> np.ndarray:
    """One-at-a-time points: all numbers at their values, then each at the low and the high end
    of its range, the others at their values (2D + 1 points)."""
    D = len(fac)
    V = np.repeat(nominal[None, :], 1 + 2 * D, axis=0)
    for j, (_, lo, hi) in enumerate(fac):
        V[1 + 2 * j, j], V[2 + 2 * j, j] = lo, hi
    return V


def _tornado_table(fac: list[tuple[str, float, float]], Y: np.ndarray,
                   outputs: Sequence[str]) -> tuple[dict[str, float], dict[str, list[dict[str, Any]]]]:
    base: dict[str, float] = {}
    table: dict[str, list[dict[str, Any]]] = {}
    for k, o in enumerate(outputs):
        y = Y[:, k]
        rows = [{"factor": p, "low": lo, "high": hi, "output_low": float(y[1 + 2 * j]),
                 "output_high": float(y[2 + 2 * j]), "swing": float(abs(y[2 + 2 * j] - y[1 + 2 * j]))}
                for j, (p, lo, hi) in enumerate(fac)]
        base[o], table[o] = float(y[0]), sorted(rows, key=lambda r: -r["swing"])
    return base, table


#: Run-store kind of a stored crisis sensitivity study (:func:`crisis_sensitivity` with ``store``).
STORE_KIND = "crisis_sensitivity"


class _StoredGroups:
    """The finished point groups of a stored study, as parts of its run (one per group:
    columns ``point``, ``output``, ``mean``, ``var``)."""

    def __init__(self, store: Any, run_id: str, n_chunks: int, outputs: Sequence[str]):
        self.store, self.run_id, self.outputs = store, run_id, list(outputs)
        self.missing = set(store.missing_chunks(run_id, n_chunks))

    def get(self, chunk: int) -> tuple[np.ndarray, np.ndarray] | None:
        if chunk in self.missing:
            return None
        df = self.store.read_part(self.run_id, chunk)
        k = len(self.outputs)
        mean = df["mean"].to_numpy(dtype=float).reshape(-1, k)
        var = df["var"].to_numpy(dtype=float).reshape(-1, k)
        return mean, var

    def put(self, chunk: int, mean: np.ndarray, var: np.ndarray) -> None:
        import pyarrow as pa

        g, k = mean.shape
        self.store.write_part(self.run_id, chunk, pa.table({
            "point": pa.array(np.repeat(np.arange(g, dtype=np.int64), k)),
            "output": pa.array(self.outputs * g, pa.string()),
            "mean": pa.array(mean.reshape(-1).astype(np.float64)),
            "var": pa.array(var.reshape(-1).astype(np.float64)),
        }))


def _result_from_json(d: dict[str, Any]) -> SensitivityResult:
    return SensitivityResult(d["method"], d["run_id"], d["runs"], list(d["factors"]), d["indices"], d.get("tornado") or {},
                             d.get("baseline") or {}, d.get("confidence_level", 0.95), warnings=list(d.get("warnings") or []),
                             sample_size=d.get("sample_size"), points=d.get("points"), runs_per_point=d.get("runs_per_point"),
                             notes=list(d.get("notes") or []))


def load_crisis_sensitivity(store: Any, ref: str) -> dict[str, Any]:
    """The ``--json`` object of a stored crisis sensitivity study (:data:`STORE_KIND`), with
    ``hypothesis``, ``outputs``, ``scenario`` and ``request`` added from the run's record."""
    import json

    from detente.errors import StoreError

    info = store.info(ref)
    if info.kind != STORE_KIND:
        raise StoreError(f"run {info.run_id} is a {info.kind} run, not a crisis sensitivity study")
    if info.status != "done":
        raise StoreError(f"crisis sensitivity study {info.run_id} is {info.status}: run it again to finish it "
                         "(the finished chunks are kept)")
    meta = info.meta or {}
    store.check_parts(info.run_id)
    df = store.read_part(info.run_id, int(meta["n_chunks"]) - 1)
    obj = json.loads(df["result"].iloc[0])
    obj["scenario"] = info.scenario_name
    obj["request"] = meta.get("request")
    return obj


def crisis_sensitivity(scenario: Any, *, method: Literal["sobol", "morris"] = "sobol", n: int | None = None,
                       factors: Sequence[str] | None = None, outputs: Sequence[str] = ("p_war_by_end",),
                       hypothesis: str | None = None, runs_per_point: int = DEFAULT_RUNS_PER_POINT,
                       seed: int | None = None, extra_set: dict[str, Any] | None = None,
                       confidence_level: float = 0.95, with_tornado: bool = True, tornado_runs: int | None = None,
                       max_batch_runs: int = 65536, store: Any = None, executor: Any = None, progress: Any = None,
                       label: str | None = None) -> SensitivityResult:
    """Sobol or Morris indices of crisis outputs over assumption numbers (SALib), with a tornado.

    Parameters
    ----------
    n
        Sobol base sample (``n·(D + 2)`` points; a power of two) or Morris trajectories
        (``n·(D + 1)`` points). Defaults: :data:`DEFAULT_SOBOL_N`, :data:`DEFAULT_MORRIS_N`.
    factors
        Dotted paths of numbers with an assumption range (default: every drawable assumption).
    runs_per_point
        Monte-Carlo runs per parameter point (common random numbers across points).
    tornado_runs
        Runs per point of the tornado (2D + 1 points; default max(runs_per_point, :data:`TORNADO_RUNS`),
        so that its swings are not multiples of 1/32).

    store, executor, progress, label
        With a run ``store`` the study is stored as a run of kind :data:`STORE_KIND` (keyed by
        everything that determines its numbers; the result's ``run_id`` names it): every group
        of points is a part written as it finishes, so a killed study run again computes only the
        missing groups, and a finished one is read back. The groups run on ``executor``
        (:mod:`detente.executors`; default: the crisis engine's execution context, else this
        process); ``progress(done, total)`` counts groups. The numbers depend on neither.

    The result's ``warnings`` say when the sample is too small for the indices
    (:func:`detente.experiments.sensitivity.index_warnings`).
    """
    from SALib.analyze import morris as morris_analyze
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample

    from detente.crisis.spec import load_spec

    if method not in ("sobol", "morris"):
        raise InputError(Problem("unknown sensitivity method", column="--method", value=method, expected="sobol or morris"))
    spec = load_spec(scenario.dynamics, file=getattr(scenario, "name", None), hypothesis=hypothesis, extra=extra_set or None)
    seed = spec.settings.seed if seed is None else int(seed)
    fac = crisis_factors(spec, factors)
    if not fac:
        raise InputError(Problem("no numbers to vary: the scenario has no assumption with a range", column="--factor"))
    names = [f[0] for f in fac]
    lo = np.array([f[1] for f in fac])
    hi = np.array([f[2] for f in fac])
    problem = {"num_vars": len(fac), "names": names, "bounds": [[0.0, 1.0]] * len(fac)}
    n = n or (DEFAULT_SOBOL_N if method == "sobol" else DEFAULT_MORRIS_N)
    if method == "sobol":
        U = sobol_sample.sample(problem, n, calc_second_order=False, scramble=True, seed=seed)
    else:
        U = morris_sample.sample(problem, n, num_levels=4, seed=seed)
    X = lo + (hi - lo) * U
    outs = [_output_name(o) for o in outputs]
    t_runs = tornado_runs or max(runs_per_point, TORNADO_RUNS)
    jobs = point_groups(scenario, names, X, runs_per_point=runs_per_point, seed=seed, outputs=outs,
                        hypothesis=hypothesis, extra_set=extra_set, max_batch_runs=max_batch_runs)
    t_jobs: list[PointGroup] = []
    if with_tornado:
        from detente.crisis.spec import resolve

        items = dict(spec.num_items())
        nominal = np.array([resolve(items[p]) for p in names])
        t_jobs = point_groups(scenario, names, _tornado_design(fac, nominal), runs_per_point=t_runs, seed=seed,
                              outputs=outs, hypothesis=hypothesis, extra_set=extra_set, first_chunk=len(jobs))
    run_id, sink = "", None
    if store is not None:
        run_id, sink, done = _open_study(store, scenario, label=label, n_chunks=len(jobs) + len(t_jobs) + 1, outs=outs,
                                         request={"method": method, "n": int(n), "factors": [list(f) for f in fac],
                                                  "outputs": outs, "hypothesis": hypothesis,
                                                  "runs_per_point": int(runs_per_point), "seed": seed,
                                                  "set": dict(extra_set or {}), "confidence_level": confidence_level,
                                                  "with_tornado": bool(with_tornado),
                                                  "tornado_runs": int(t_runs) if with_tornado else None,
                                                  "max_batch_runs": int(max_batch_runs)})
        if done is not None:
            return done
    Y, _ = run_groups(jobs + t_jobs, executor=executor, chunks=sink, progress=progress)
    Yt = Y[X.shape[0]:]
    Y = Y[:X.shape[0]]
    indices: dict[str, list[dict[str, Any]]] = {}
    warnings: list[str] = []
    for k, o in enumerate(outs):
        y = Y[:, k]
        const = constant_output_warning(y, o, runs_per_point=runs_per_point)
        if const:
            warnings.append(const)
        if method == "sobol":
            with salib_quiet(const is not None):
                r = sobol_analyze.analyze(problem, y, calc_second_order=False, conf_level=confidence_level, seed=seed,
                                          print_to_console=False)
            indices[o] = [{"factor": names[j], "S1": float(r["S1"][j]), "S1_conf": float(r["S1_conf"][j]),
                           "ST": float(r["ST"][j]), "ST_conf": float(r["ST_conf"][j])} for j in range(len(names))]
        else:
            with salib_quiet(const is not None):
                r = morris_analyze.analyze(problem, U, y, conf_level=confidence_level, num_levels=4, seed=seed,
                                           print_to_console=False)
            indices[o] = [{"factor": names[j], "mu": float(r["mu"][j]), "mu_star": float(r["mu_star"][j]),
                           "mu_star_conf": float(r["mu_star_conf"][j]), "sigma": float(r["sigma"][j])}
                          for j in range(len(names))]
        warnings += [f"{o}: {w}" for w in index_warnings(method, indices[o], n)]
    baseline: dict[str, float] = {}
    torn: dict[str, list[dict[str, Any]]] = {}
    if with_tornado:
        baseline, torn = _tornado_table(fac, Yt, outs)
    res = SensitivityResult(method, run_id, int(X.shape[0]) * runs_per_point, names, indices, torn, baseline,
                            confidence_level, warnings=warnings, sample_size=n, points=int(X.shape[0]),
                            runs_per_point=runs_per_point)
    if store is not None:
        _close_study(store, run_id, len(jobs) + len(t_jobs), res)
    return res


def _study_key(scenario: Any, request: dict[str, Any]) -> str:
    import hashlib
    import json

    from detente.result import detente_version

    blob = json.dumps({"kind": STORE_KIND, "scenario": scenario.content_hash(), "request": request,
                       "version": detente_version()}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _open_study(store: Any, scenario: Any, *, label: str | None, n_chunks: int, outs: Sequence[str],
                request: dict[str, Any]) -> tuple[str, _StoredGroups | None, SensitivityResult | None]:
    """Open (or find again) the stored run of a study: ``(run id, its groups, the stored result if done)``."""
    run_id = store.open_run(_study_key(scenario, request), model="crisis", kind=STORE_KIND, seed=request["seed"],
                            params={k: request[k] for k in ("method", "n", "outputs", "hypothesis", "runs_per_point")},
                            scenario=scenario, label=label or f"{request['method']} sensitivity of {scenario.name}",
                            meta={"request": request, "n_chunks": n_chunks, "outputs": list(outs)})
    if store.info(run_id).status == "done" and not store.missing_chunks(run_id, n_chunks):
        d = load_crisis_sensitivity(store, run_id)
        return run_id, None, _result_from_json(d)
    return run_id, _StoredGroups(store, run_id, n_chunks, outs), None


def _close_study(store: Any, run_id: str, result_chunk: int, res: SensitivityResult) -> None:
    """Store the analysed result as the run's last part and mark it done."""
    import json

    import pyarrow as pa

    text = json.dumps(res.to_json_dict(), sort_keys=True, allow_nan=False)
    store.write_part(run_id, result_chunk, pa.table({"result": pa.array([text], pa.string())}))
    store.finish_run(run_id, "done")


def screened_sobol(scenario: Any, *, hypothesis: str | None = None, outputs: Sequence[str] = ("months_of_peace_focal",),
                   top: int = 20, morris_n: int = DEFAULT_MORRIS_N, n: int = DEFAULT_SOBOL_N,
                   runs_per_point: int = DEFAULT_RUNS_PER_POINT, seed: int | None = None,
                   extra_set: dict[str, Any] | None = None, store: Any = None, executor: Any = None) -> SensitivityResult:
    """Morris screening over every assumption with a range, then Sobol on the ``top`` numbers.

    The screen ranks each number by its largest μ* across ``outputs``, each output's μ* divided
    by that output's largest (so outputs in months and in probabilities weigh alike). What
    ``detente demo --sensitivity`` puts in the flagship report. ``store`` and ``executor`` go to
    both studies (:func:`crisis_sensitivity`).
    """
    from detente.crisis.spec import load_spec

    spec = load_spec(scenario.dynamics, hypothesis=hypothesis, extra=extra_set or None)
    fac = crisis_factors(spec)
    chosen = [f[0] for f in fac]
    note = f"all {len(fac)} numbers with an assumption range (no screening needed)"
    if len(fac) > top:
        scr = crisis_sensitivity(scenario, method="morris", n=morris_n, outputs=outputs, hypothesis=hypothesis,
                                 runs_per_point=runs_per_point, seed=seed, extra_set=extra_set, with_tornado=False,
                                 store=store, executor=executor)
        score = np.zeros(len(fac))
        for rows in scr.indices.values():
            mu = np.array([r["mu_star"] for r in rows])
            if mu.max() > 0:
                score = np.maximum(score, mu / mu.max())
        order = np.argsort(-score, kind="stable")[:top]
        chosen = [scr.factors[i] for i in sorted(order)]
        note = (f"the {top} numbers with the largest Morris μ* (relative to each output's largest) of {len(fac)} "
                f"with an assumption range, screened with {morris_n} trajectories × {runs_per_point} runs")
    res = crisis_sensitivity(scenario, method="sobol", n=n, factors=chosen, outputs=outputs, hypothesis=hypothesis,
                             runs_per_point=runs_per_point, seed=seed, extra_set=extra_set, store=store,
                             executor=executor)
    return dataclasses.replace(res, notes=[note])
