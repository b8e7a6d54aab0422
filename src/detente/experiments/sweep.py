"""Sweeps: many runs of one model over uncertain inputs, chunked, stored and resumable.

A :class:`SweepSpec` (YAML) names a scenario, a model, the uncertain inputs
(:class:`~detente.experiments.distributions.Factor`) and a design (Monte Carlo, Latin
hypercube, factorial grid, an explicit table of rows, or a Sobol/Morris sample). The runs
are cut into chunks of ``chunk_size``; chunk ``c`` draws all its randomness from
``SeedSequence(seed, spawn_key=(c,))``, so results never depend on the executor, the number
of workers or the order in which chunks finish. Each finished chunk is one Parquet part in
the run store, and the catalogue records its status: an interrupted sweep resumes with
:func:`resume_sweep`, recomputing only the chunks that are missing.

Part schema (one row per run and issue, and with ``trace: positions`` one more row per run,
issue, round and actor):

=========  =======  =====================================================================
column     type     meaning
=========  =======  =====================================================================
run        int64    global run number (0-based, design row)
issue      string   issue id
round      int32    round number for trajectory rows; null on the forecast row
actor      string   actor id on trajectory rows; null on the forecast row
value      float64  the forecast (forecast rows) or the actor's position (trajectory rows)
<factor>   float64  the value each design column took in this run (forecast rows only)
=========  =======  =====================================================================

``trace: full`` adds ``extra`` (JSON text of the round's model-specific data) to
trajectory rows.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from detente.errors import InputError, Problem, RunError
from detente.experiments.distributions import Factor, FactorColumn, ScenarioArrays, expand_factors

__all__ = [
    "DesignSpec", "ExecutorSpec", "SweepSpec", "ChunkJob", "evaluate_chunk", "plan_chunks",
    "load_sweep_spec", "check_sweep", "sweep_key", "design_values", "apply_design",
]

TRACE_LEVELS = ("summary", "positions", "full")


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DesignSpec(_M):
    """How the design rows (one per run) are made.

    ``montecarlo``: ``runs`` independent draws (drawn inside each chunk from its own seed);
    ``lhs``: a Latin hypercube of ``runs`` rows (scipy.stats.qmc); ``grid``: the full
    factorial of ``levels`` quantile points per column (discrete factors use their values);
    ``table``: rows of values read from ``file`` (CSV; columns named like the design
    columns); ``sobol`` / ``morris``: the SALib samples for sensitivity analysis with ``n``
    base samples / trajectories (used by :mod:`detente.experiments.sensitivity`).
    """

    kind: Literal["montecarlo", "lhs", "grid", "table", "sobol", "morris"] = "montecarlo"
    runs: int | None = Field(None, ge=1, le=100_000_000)
    levels: int = Field(3, ge=2, le=1000)
    file: str | None = None
    n: int | None = Field(None, ge=2, le=10_000_000)
    morris_levels: int = Field(4, ge=2, le=100)
    second_order: bool = False

    def need_int(self, name: Literal["runs", "n"]) -> int:
        """``runs`` or ``n``, which the validator requires for the kinds that use it."""
        v = getattr(self, name)
        if v is None:
            raise ValueError(f"a {self.kind} design needs `{name}`")
        return int(v)

    @model_validator(mode="after")
    def _need(self) -> DesignSpec:
        if self.kind in ("montecarlo", "lhs") and self.runs is None:
            raise ValueError(f"design {self.kind} needs runs")
        if self.kind == "table" and not self.file:
            raise ValueError("design table needs file")
        if self.kind in ("sobol", "morris") and self.n is None:
            raise ValueError(f"design {self.kind} needs n")
        return self


class ExecutorSpec(_M):
    """Where chunks run: ``serial``, a local ``process`` pool, or a Dask cluster (``dask``,
    at ``address`` or a local cluster of ``workers`` processes). Never part of the run key."""

    kind: Literal["serial", "process", "dask"] = "serial"
    workers: int = Field(2, ge=1, le=1024)
    address: str | None = None


class SweepSpec(_M):
    """A sweep: scenario, model, factors, design, chunking, trace level, executor."""

    name: str = "sweep"
    scenario: str = Field(description="Scenario file (relative to the spec file) or 'example:NAME'.")
    model: str
    variant: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    seed: int = Field(0, ge=0)
    factors: list[Factor] = Field(default_factory=list)
    design: DesignSpec = Field(default_factory=lambda: DesignSpec(kind="montecarlo", runs=100))
    chunk_size: int = Field(1000, ge=1, le=10_000_000)
    trace: Literal["summary", "positions", "full"] = "summary"
    executor: ExecutorSpec = Field(default_factory=ExecutorSpec)
    base_dir: str | None = Field(None, description="Directory relative paths are resolved from (set by the loader).")
    # where the spec came from (set by load_sweep_spec): problems found later name file and line
    _source: str | None = PrivateAttr(None)
    _lines: dict = PrivateAttr(default_factory=dict)

    def locate(self, *path: Any) -> int | None:
        """1-based line of a field path in the spec file (``None`` when not loaded from a file)."""
        return _line_of(self._lines, path)

    def resolve_path(self, rel: str) -> Path:
        p = Path(rel)
        if not p.is_absolute() and self.base_dir:
            p = Path(self.base_dir) / p
        return p

    def load_scenario(self):
        from detente import examples
        from detente.formats import load

        if self.scenario.startswith("example:"):
            try:
                return examples.load(self.scenario.split(":", 1)[1])
            except KeyError as exc:
                raise InputError(Problem(str(exc), column="scenario", value=self.scenario)) from None
        return load(self.resolve_path(self.scenario))


def _line_of(lines: dict[tuple, int], loc: tuple) -> int | None:
    """Line of the longest prefix of ``loc`` found in ``lines``."""
    for k in range(len(loc), -1, -1):
        if loc[:k] in lines:
            return lines[loc[:k]]
    return None


def load_sweep_spec(path: str | Path) -> SweepSpec:
    """Read a sweep spec from YAML, reporting every problem with its line."""
    from detente.formats.common import read_text
    from detente.formats.yamlfmt import parse_yaml_with_lines

    p = Path(path)
    if not p.is_file():
        raise InputError(Problem("file not found", file=str(path)))
    text, _ = read_text(p, encodings=("utf-8-sig",))
    dups: list[Problem] = []  # duplicate keys: the YAML loader silently keeps the last one
    data, lines = parse_yaml_with_lines(text, str(p), dups)
    if not isinstance(data, dict):
        raise InputError(dups + [Problem("a sweep spec must be a mapping", file=str(p), line=1)])
    data.setdefault("base_dir", str(p.resolve().parent))
    try:
        spec = SweepSpec.model_validate(data)
    except ValidationError as exc:
        probs = list(dups)
        for e in exc.errors():
            loc = tuple(e["loc"])
            line = _line_of(lines, loc)
            val = e.get("input")
            probs.append(Problem(e["msg"].removeprefix("Value error, "), file=str(p), line=line,
                                 column=".".join(map(str, loc)) or None,
                                 value=None if isinstance(val, (dict, list)) else val))
        raise InputError(probs) from None
    if dups:
        raise InputError(dups)
    spec._source, spec._lines = str(p), lines
    return spec


def check_sweep(spec: SweepSpec, scenario: Any) -> None:
    """Check what a spec says about its model and scenario before any run is stored.

    Reports, located in the spec file when it was read by :func:`load_sweep_spec`, an unknown
    model, a bad variant or parameter, a ``param:NAME`` factor the model does not have or
    whose distribution can draw values the parameter refuses (checked with the values the
    design can produce: every value of a discrete distribution, else its median and its
    extreme quantiles, which are the low/high bounds of bounded distributions), ``param:``
    factors that are valid one by one but can draw values the model's parameter class refuses
    together (e.g. the exchange model's ``fixed_weight + salience_weight <= 1``; see
    :func:`_joint_param_problems`), and factors naming actors or issues the scenario does not
    have.

    Raises
    ------
    InputError
        With every problem found.
    """
    from detente.errors import UnknownModelError
    from detente.models.registry import get, make_params

    file = spec._source
    try:
        mspec = get(spec.model)
    except UnknownModelError as exc:
        raise InputError(Problem(str(exc), file=file, line=spec.locate("model"), column="model", value=spec.model,
                                 expected="a registered model (see `detente models`)")) from None
    probs: list[Problem] = []
    base_params = None
    try:
        base_params = make_params(mspec, spec.params, **({"variant": spec.variant} if spec.variant else {}))
    except InputError as exc:
        for q in exc.problems:
            head = (q.column or "").split(".")
            if head[0] == "variant" and spec.variant and "variant" not in spec.params:
                path: tuple = ("variant",)
            else:
                path = ("params", *[int(x) if x.isdigit() else x for x in head if x])
            probs.append(Problem(q.message, file=file, line=spec.locate(*path), column=".".join(map(str, path)),
                                 value=q.value, expected=q.expected))
    fields = mspec.params_class.model_fields
    base = ScenarioArrays.from_scenario(scenario)
    known = {"actors": set(base.actors), "issues": set(base.issues)}
    valid_alone: list[int] = []  # param: factors whose every value the model accepts on its own
    for k, f in enumerate(spec.factors):
        if f.field.startswith("param:") and f.field[6:] not in fields:
            probs.append(Problem(f"model {spec.model!r} has no parameter {f.field[6:]!r}", file=file,
                                 line=spec.locate("factors", k, "field"), column=f"factors.{k}.field", value=f.field,
                                 expected="param: followed by one of " + ", ".join(fields)))
        elif f.field.startswith("param:") and base_params is not None:
            alone = _param_support_problems(spec, k, f, mspec, base_params)
            probs.extend(alone)
            if not alone:
                valid_alone.append(k)
        for what in ("actors", "issues"):
            for j, n in enumerate(getattr(f, what) or []):
                if n not in known[what]:
                    ids = sorted(known[what])
                    probs.append(Problem(f"unknown {what[:-1]} of scenario {scenario.name!r}", file=file,
                                         line=spec.locate("factors", k, what, j), column=f"factors.{k}.{what}.{j}",
                                         value=n, expected="one of " + ", ".join(ids[:20]) + (", ..." if len(ids) > 20 else "")))
    if base_params is not None:
        probs.extend(_joint_param_problems(spec, valid_alone, mspec, base_params))
    if probs:
        raise InputError(probs)


def _support_values(dist: Any) -> list[float]:
    """Values a design can draw from a distribution that bound its range: every value of a
    discrete distribution, else the quantiles at the ends of what :meth:`ppf` accepts (the
    low/high bounds of bounded distributions) and the median."""
    if dist.kind == "discrete":
        return sorted({float(v) for v in dist.values})
    return [float(x) for x in dist.ppf(np.array([0.0, 0.5, 1.0]))]


def _param_support_problems(spec: SweepSpec, k: int, f: Factor, mspec: Any, base_params: Any) -> list[Problem]:
    """Problems of a ``param:NAME`` factor whose distribution draws values the model refuses
    (e.g. ``uniform(0, 2)`` for a probability in [0, 1]), found before any chunk runs."""
    from detente.models.registry import make_params

    name = f.field[6:]
    for v in _support_values(f.dist):
        try:
            make_params(mspec, base_params, **{name: v})
        except InputError as exc:
            why = "; ".join(q.message for q in exc.problems)
            return [Problem(f"distribution of parameter {name!r} can draw {v:g}, which the model refuses: {why}",
                            file=spec._source, line=spec.locate("factors", k, "dist"), column=f"factors.{k}.dist",
                            value=v, expected=f"a distribution whose values are valid for {name!r} "
                            f"(see `detente models --json` for its range)")]
    return []


#: Most combinations of parameter-factor values :func:`check_sweep` validates together.
JOINT_CHECK_CAP = 4096


def _refusal(mspec: Any, base_params: Any, values: dict[str, float]) -> str | None:
    """Why the model's parameter class refuses ``base_params`` with ``values`` set, or ``None``."""
    from detente.models.registry import make_params

    try:
        make_params(mspec, base_params, **values)
    except InputError as exc:
        return "; ".join(q.message for q in exc.problems)
    return None


def _joint_param_problems(spec: SweepSpec, ks: list[int], mspec: Any, base_params: Any) -> list[Problem]:
    """Problems of ``param:`` factors that are valid one by one but can draw values the
    model refuses together (a rule across fields of its parameter class, e.g. the exchange
    model's ``fixed_weight + salience_weight <= 1``), found before any chunk runs.

    ``ks`` are the factors whose values were each accepted alone. Every combination of their
    support values (:func:`_support_values`) is validated by the parameter class itself, so
    no rule is restated here. To stay cheap, when the combinations exceed
    :data:`JOINT_CHECK_CAP` each factor is reduced to the lowest and highest value it can
    draw (where rules of sums and bounds bite), and at most the cap is checked. The first
    refused combination is reported, with only the factors the refusal needs.
    """
    from itertools import islice, product

    axes: dict[str, tuple[int, list[float]]] = {}
    for k in ks:  # design order: a later factor on the same parameter wins, as in apply_design
        f = spec.factors[k]
        axes[f.field[6:]] = (k, _support_values(f.dist))
    if len(axes) < 2:
        return []
    names = list(axes)
    values = [axes[n][1] for n in names]
    if math.prod(len(v) for v in values) > JOINT_CHECK_CAP:
        values = [sorted({min(v), max(v)}) for v in values]
    for combo in islice(product(*values), JOINT_CHECK_CAP):
        over = dict(zip(names, combo))
        if _refusal(mspec, base_params, over) is None:
            continue
        # leave out, one at a time, the factors the refusal does not need (each value is
        # valid alone, so at least two remain)
        for n in names:
            fewer = {m: x for m, x in over.items() if m != n}
            if len(fewer) >= 2 and _refusal(mspec, base_params, fewer) is not None:
                over = fewer
        why = _refusal(mspec, base_params, over)
        involved = sorted((axes[n][0], n) for n in over)
        who = " and ".join(f"factors.{k} ({spec.factors[k].label})" for k, _ in involved)
        drawn = ", ".join(f"{n}={over[n]:g}" for _, n in involved)
        k0 = involved[0][0]
        return [Problem(f"{who} can draw {drawn} in the same run, which the model refuses: {why}",
                        file=spec._source, line=spec.locate("factors", k0, "dist"), column=f"factors.{k0}.dist",
                        value=drawn, expected="distributions whose values are valid together (narrow their bounds) "
                        "or fixed values in params")]
    return []


def sweep_key(spec: SweepSpec, scenario_hash: str) -> str:
    """Content hash of everything that determines a sweep's numbers (not where it runs)."""
    d = spec.model_dump(mode="json", exclude={"executor", "base_dir", "name"})
    if spec.design.kind == "table" and spec.design.file:
        d["design"]["file_sha256"] = hashlib.sha256(spec.resolve_path(spec.design.file).read_bytes()).hexdigest()
        d["design"]["file"] = None
    from detente import __version__

    blob = json.dumps({"spec": d, "scenario": scenario_hash, "version": __version__}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


# ---------------------------------------------------------------- designs


def n_runs(spec: SweepSpec, n_cols: int) -> int:
    """Number of runs (design rows) a spec makes."""
    d = spec.design
    if d.kind in ("montecarlo", "lhs"):
        return d.need_int("runs")
    if d.kind == "grid":
        return int(d.levels ** max(n_cols, 0)) if n_cols else 1
    if d.kind == "sobol":
        return d.need_int("n") * (2 * n_cols + 2 if d.second_order else n_cols + 2)
    if d.kind == "morris":
        return d.need_int("n") * (n_cols + 1)
    return -1  # table: known once read


def design_values(spec: SweepSpec, cols: list[FactorColumn], factors: list[Factor]) -> np.ndarray | None:
    """The full design as values (runs × columns), or ``None`` for Monte Carlo (drawn per chunk)."""
    d = spec.design
    k = len(cols)
    dists = [factors[c.factor].dist for c in cols]
    if d.kind == "montecarlo":
        return None
    if d.kind == "table":
        import pandas as pd

        if d.file is None:  # the validator requires it for a table design
            raise InputError(Problem("a table design needs `file`", column="design.file"))
        path = spec.resolve_path(d.file)
        try:
            df = pd.read_csv(path)
        except FileNotFoundError:
            raise InputError(Problem("design file not found", file=str(path))) from None
        except Exception as exc:  # noqa: BLE001 - pandas parser errors
            raise InputError(Problem(f"cannot read design table: {exc}", file=str(path))) from None
        labels = [c.label for c in cols]
        missing = [x for x in labels if x not in df.columns]
        if missing:
            raise InputError(Problem("design table lacks columns", file=str(path), line=1, value=", ".join(missing),
                                     expected="one column per design column: " + ", ".join(labels)))
        vals = np.column_stack([pd.to_numeric(df[x], errors="coerce").to_numpy(dtype=float, na_value=np.nan) for x in labels]) \
            if labels else np.zeros((len(df), 0))
        bad = np.argwhere(~np.isfinite(vals))
        if len(bad):
            probs = [Problem("not a finite number", file=str(path), line=int(r) + 2, column=labels[c], value=str(df[labels[c]].iloc[r]))
                     for r, c in bad[:50]]
            raise InputError(probs)
        return vals
    if d.kind == "lhs":
        from scipy.stats import qmc

        u = qmc.LatinHypercube(d=max(k, 1), seed=np.random.default_rng(np.random.SeedSequence(spec.seed, spawn_key=(2**31 - 1,)))).random(d.need_int("runs"))
        return np.column_stack([dists[j].ppf(u[:, j]) for j in range(k)]) if k else np.zeros((d.need_int("runs"), 0))
    if d.kind == "grid":
        axes = []
        for dist in dists:
            if dist.kind == "discrete":
                axes.append(np.asarray(dist.values, float))
            else:
                axes.append(dist.ppf((np.arange(d.levels) + 0.5) / d.levels))
        if not axes:
            return np.zeros((1, 0))
        mesh = np.meshgrid(*axes, indexing="ij")
        return np.column_stack([m.ravel() for m in mesh])
    # sobol / morris: SALib samples in the unit cube, mapped through the marginals
    problem = {"num_vars": k, "names": [c.label for c in cols], "bounds": [[0.0, 1.0]] * k}
    if d.kind == "sobol":
        from SALib.sample import sobol as sobol_sample

        u = sobol_sample.sample(problem, d.need_int("n"), calc_second_order=d.second_order, seed=spec.seed)
    else:
        from SALib.sample import morris as morris_sample

        u = morris_sample.sample(problem, d.need_int("n"), num_levels=d.morris_levels, seed=spec.seed)
    return np.column_stack([dists[j].ppf(u[:, j]) for j in range(k)])


# ---------------------------------------------------------------- applying a design


@dataclass
class Perturbed:
    """Arrays of ``n`` perturbed copies of a scenario, and per-run parameter overrides."""

    position: np.ndarray  # (n, A, I)
    salience: np.ndarray
    capability: np.ndarray
    status_quo: np.ndarray  # (n, I)
    params: list[dict[str, float]]


def apply_design(base: ScenarioArrays, factors: list[Factor], cols: list[FactorColumn], values: np.ndarray) -> Perturbed:
    """Apply design rows (``values``: runs × columns) to the base arrays, in column order.

    Positions and status quo are kept inside their issue bounds, saliences in
    ``[0, salience_max]`` and capabilities non-negative, after each factor's own ``clip``.
    """
    n = values.shape[0]
    pos = np.broadcast_to(base.position, (n,) + base.position.shape).copy()
    sal = np.broadcast_to(base.salience, (n,) + base.salience.shape).copy()
    cap = np.broadcast_to(base.capability, (n,) + base.capability.shape).copy()
    sq = np.broadcast_to(base.status_quo, (n,) + base.status_quo.shape).copy()
    params: list[dict[str, float]] = [{} for _ in range(n)]

    def act(cur: np.ndarray, v: np.ndarray, f: Factor) -> np.ndarray:
        if f.mode == "add":
            out = cur + v
        elif f.mode == "multiply":
            out = cur * v
        else:
            out = np.broadcast_to(v, cur.shape).astype(float)
        if f.clip is not None:
            out = np.clip(out, f.clip[0], f.clip[1])
        return out

    for j, col in enumerate(cols):
        f = factors[col.factor]
        v = values[:, j]
        if f.field.startswith("param:"):
            name = f.field[6:]
            for r in range(n):
                params[r][name] = float(v[r])
            continue
        for a, i in col.cells:
            if f.field == "position":
                pos[:, a, i] = np.clip(act(pos[:, a, i], v, f), base.lower[i], base.upper[i])
            elif f.field == "salience":
                sal[:, a, i] = np.clip(act(sal[:, a, i], v, f), 0.0, base.salience_max)
            elif f.field == "capability":
                cap[:, a, i] = np.maximum(act(cap[:, a, i], v, f), 0.0)
            elif f.field == "status_quo":
                sq[:, i] = np.clip(act(sq[:, i], v, f), base.lower[i], base.upper[i])
            elif f.field == "actor_capability":
                idx = np.nonzero(base.has[a] & ~base.override[a])[0]
                if len(idx):
                    cap[:, a, idx] = np.maximum(act(cap[:, a, idx], v[:, None], f), 0.0)
    return Perturbed(pos, sal, cap, sq, params)


def _scenario_from(base_scn: Any, base: ScenarioArrays, p: Perturbed, r: int):
    """The r-th perturbed scenario (values already within bounds, so no re-validation)."""
    from detente.scenario import Issue, Scenario, Stance

    stances = []
    for a, i in zip(*np.nonzero(base.has)):
        stances.append(Stance.model_construct(actor=base.actors[a], issue=base.issues[i], position=float(p.position[r, a, i]),
                                              salience=float(p.salience[r, a, i]), capability=float(p.capability[r, a, i])))
    issues = []
    for i, iss in enumerate(base_scn.issues):
        if iss.status_quo is not None and p.status_quo[r, i] != iss.status_quo:
            iss = Issue.model_construct(**{**iss.__dict__, "status_quo": float(p.status_quo[r, i])})
        issues.append(iss)
    return Scenario.model_construct(**{**base_scn.__dict__, "stances": stances, "issues": issues})


# ---------------------------------------------------------------- chunks


@dataclass(frozen=True)
class ChunkJob:
    """Everything a worker needs to compute one chunk (picklable, self-contained)."""

    spec_json: str
    scenario_json: str
    chunk: int
    start: int
    stop: int
    values: np.ndarray | None  # design rows of this chunk, None for Monte Carlo


def plan_chunks(spec: SweepSpec, scenario: Any) -> tuple[list[ChunkJob], list[str]]:
    """Cut a sweep into chunk jobs; also return the design column labels."""
    base = ScenarioArrays.from_scenario(scenario)
    try:
        cols = expand_factors(spec.factors, base)
    except ValueError as exc:
        raise InputError(Problem(str(exc), file=spec._source, line=spec.locate("factors"), column="factors")) from None
    V = design_values(spec, cols, spec.factors)
    total = V.shape[0] if V is not None else n_runs(spec, len(cols))
    sj, scj = spec.model_dump_json(), scenario.model_dump_json()
    jobs = []
    for c, start in enumerate(range(0, total, spec.chunk_size)):
        stop = min(total, start + spec.chunk_size)
        jobs.append(ChunkJob(sj, scj, c, start, stop, None if V is None else V[start:stop]))
    return jobs, [c.label for c in cols]


@functools.lru_cache(maxsize=8)
def _prepared(spec_json: str, scenario_json: str):
    from detente.models.registry import get, make_params
    from detente.scenario import Scenario

    spec = SweepSpec.model_validate_json(spec_json)
    scn = Scenario.model_validate_json(scenario_json)
    base = ScenarioArrays.from_scenario(scn)
    cols = expand_factors(spec.factors, base)
    mspec = get(spec.model)
    over = {"variant": spec.variant} if spec.variant else {}
    params = make_params(mspec, spec.params, **over)
    return spec, scn, base, cols, mspec, params


def guarded(result: Any, where: str) -> Any:
    """``result`` if its forecasts and round positions are finite
    (:func:`~detente.models.registry.check_finite`, as :func:`~detente.models.registry.run_model`
    applies it); otherwise a :class:`~detente.errors.RunError` naming ``where`` (the run and the
    chunk), raised before the chunk is stored: a chunk holding a run whose arithmetic broke
    down is not stored at all (the chunks computed before it stay)."""
    from detente.models.registry import check_finite

    try:
        check_finite(result)
    except RunError as exc:
        msg = str(exc).replace("; nothing was stored.", "; nothing of this chunk was stored.")
        raise RunError(f"{where}: {msg}") from None
    return result


def evaluate_chunk(job: ChunkJob) -> pa.Table:
    """Compute one chunk and return its part table (see the module docstring).

    Deterministic: the same job gives the same bytes in any process.
    """
    from detente.models.registry import make_params

    spec, scn, base, cols, mspec, params = _prepared(job.spec_json, job.scenario_json)
    ss = np.random.SeedSequence(spec.seed, spawn_key=(job.chunk,))
    draw_ss, model_ss = ss.spawn(2)
    n = job.stop - job.start
    if job.values is None:
        u = np.random.default_rng(draw_ss).random((n, len(cols)))
        V = np.column_stack([spec.factors[c.factor].dist.ppf(u[:, j]) for j, c in enumerate(cols)]) if cols else np.zeros((n, 0))
    else:
        V = np.asarray(job.values, float)
    pert = apply_design(base, spec.factors, cols, V)
    rng = np.random.default_rng(model_ss)

    runs: list[int] = []
    issues: list[str] = []
    rounds: list[int | None] = []
    actors: list[str | None] = []
    values: list[float] = []
    extras: list[str | None] = []
    fac_rows: list[int] = []  # index into V for forecast rows, -1 otherwise

    def row(run: int, iid: str, rnd: int | None, actor: str | None, value: float, extra: str | None,
            fac_row: int) -> None:
        runs.append(run)
        issues.append(iid)
        rounds.append(rnd)
        actors.append(actor)
        values.append(value)
        extras.append(extra)
        fac_rows.append(fac_row)

    batch = mspec.extra.get("batch") if hasattr(mspec, "extra") else None
    fc = None
    if batch is not None and spec.trace == "summary" and not any(pert.params):
        # {issue: (n,) forecasts}, or None: the kernel declines (e.g. parameters it does not
        # support) without drawing from rng, and the per-run engine below computes the chunk
        fc = batch(base, pert, params, rng=rng)
    if fc is not None:
        for i, iid in enumerate(base.issues):  # NaN is the kernel's "no forecast" only where no actor has a position
            bad = ~np.isfinite(np.asarray(fc[iid], dtype=np.float64))
            if base.has[:, i].any() and bad.any():
                r = int(np.argmax(bad))
                raise RunError(f"sweep run {job.start + r} (chunk {job.chunk}): model {spec.model!r} produced a "
                               f"non-finite forecast ({float(fc[iid][r])}) on issue {iid!r}: its arithmetic overflowed "
                               "or divided zero by zero, most likely on input values of extreme magnitude; nothing of "
                               "this chunk was stored. Please report it with the scenario.")
        for r in range(n):
            for iid in base.issues:
                row(job.start + r, iid, None, None, float(fc[iid][r]), None, r)
    else:
        for r in range(n):
            scn_r = _scenario_from(scn, base, pert, r)
            p = params if not pert.params[r] else make_params(mspec, params, **pert.params[r])
            res = guarded(mspec.run(scn_r, p, rng=rng), f"sweep run {job.start + r} (chunk {job.chunk})")
            for iid, ir in res.issues.items():
                row(job.start + r, iid, None, None, math.nan if ir.forecast is None else float(ir.forecast), None, r)
                if spec.trace != "summary":
                    for k, rec in enumerate(ir.rounds):
                        ex = json.dumps(rec.to_json_dict(), sort_keys=True) if spec.trace == "full" else None
                        for a, x in rec.positions.items():
                            row(job.start + r, iid, k, a, float(x), ex, -1)
    fr = np.asarray(fac_rows, dtype=np.int64)
    cols_out: dict[str, pa.Array] = {
        "run": pa.array(np.asarray(runs, dtype=np.int64)),
        "issue": pa.array(issues, type=pa.string()),
        "round": pa.array(rounds, type=pa.int32()),
        "actor": pa.array(actors, type=pa.string()),
        "value": pa.array(np.asarray(values, dtype=np.float64)),
    }
    for j, c in enumerate(cols):
        col = np.where(fr >= 0, V[np.maximum(fr, 0), j] if len(fr) else np.zeros(0), np.nan)
        cols_out[c.label] = pa.array(col, type=pa.float64(), from_pandas=True)
    if spec.trace == "full":
        cols_out["extra"] = pa.array(extras, type=pa.string())
    return pa.table(cols_out)


def iter_chunks(jobs: Iterable[ChunkJob], executor: Any, on_done: Callable[[ChunkJob, pa.Table], None]) -> None:
    """Run jobs on an executor, handing each finished chunk to ``on_done`` as it completes."""
    for job, table in executor.map_unordered(evaluate_chunk, list(jobs)):
        on_done(job, table)
