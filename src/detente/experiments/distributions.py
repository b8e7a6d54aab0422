"""Typed input distributions on scenario fields ("factors") and how they perturb a scenario.

A :class:`Factor` names a field (``position``, ``salience``, ``capability`` of stances,
``actor_capability``, ``status_quo`` of issues, or a model parameter ``param:NAME``), the
cells it applies to (actors × issues, default all), how a drawn value acts on the cell
(``add`` to the current value, ``multiply`` it, or ``set`` it), a marginal distribution and
optional clipping bounds. ``per: cell`` draws one independent value per selected cell;
``per: factor`` (default) draws one value shared by all selected cells.

The expert-coding uncertainty "salience +-10 clipped to [0, 100]" reads::

    - field: salience
      dist: {kind: uniform, low: -10, high: 10}
      mode: add
      clip: [0, 100]
      per: cell

Values are drawn as quantiles: a design supplies numbers ``u`` in (0, 1) and
:meth:`Distribution.ppf` maps them to the marginal (inverse-CDF), so Monte Carlo, Latin
hypercube, Sobol and Morris designs all share one mechanism.

Examples
--------
>>> d = Distribution(kind="uniform", low=-10, high=10)
>>> float(d.ppf(np.array([0.5]))[0])
0.0
>>> Distribution(kind="discrete", values=[1, 2, 3]).ppf(np.array([0.1, 0.5, 0.99])).tolist()
[1.0, 2.0, 3.0]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator
from scipy import stats

__all__ = ["Distribution", "Factor", "FIELDS", "ScenarioArrays", "expand_factors", "FactorColumn"]

FIELDS = ("position", "salience", "capability", "actor_capability", "status_quo")


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Distribution(_M):
    """A marginal distribution, given by its kind and parameters.

    Kinds and parameters: ``uniform`` (low, high); ``normal`` (mean, sd); ``truncnorm``
    (mean, sd, low, high); ``triangular`` (low, mode, high); ``beta`` (a, b, low, high:
    a Beta(a, b) stretched to [low, high], default [0, 1]); ``discrete`` (values, optional
    weights).
    """

    kind: Literal["uniform", "normal", "truncnorm", "triangular", "beta", "discrete"]
    low: float | None = None
    high: float | None = None
    mean: float | None = None
    sd: float | None = Field(None, gt=0)
    mode: float | None = None
    a: float | None = Field(None, gt=0)
    b: float | None = Field(None, gt=0)
    values: list[float] | None = None
    weights: list[float] | None = None

    @model_validator(mode="after")
    def _check(self) -> Distribution:
        need = {
            "uniform": ("low", "high"),
            "normal": ("mean", "sd"),
            "truncnorm": ("mean", "sd", "low", "high"),
            "triangular": ("low", "mode", "high"),
            "beta": ("a", "b"),
            "discrete": ("values",),
        }[self.kind]
        missing = [k for k in need if getattr(self, k) is None]
        if missing:
            raise ValueError(f"{self.kind} distribution needs {', '.join(missing)}")
        for k in ("low", "high", "mean", "mode"):
            v = getattr(self, k)
            if v is not None and not math.isfinite(v):
                raise ValueError(f"{k} must be finite")
        if self.kind in ("uniform", "truncnorm", "triangular") and not self._par("low") < self._par("high"):
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        if self.kind == "triangular" and not (self._par("low") <= self._par("mode") <= self._par("high")):
            raise ValueError("mode must lie in [low, high]")
        if self.kind == "beta" and self.low is not None and self.high is not None and not self.low < self.high:
            raise ValueError("low must be below high")
        if self.kind == "discrete":
            if not self.values:
                raise ValueError("discrete distribution needs at least one value")
            if self.weights is not None:
                if len(self.weights) != len(self.values):
                    raise ValueError("weights and values differ in length")
                if any(w < 0 for w in self.weights) or not sum(self.weights) > 0:
                    raise ValueError("weights must be non-negative with a positive sum")
        return self

    def _par(self, name: str) -> float:
        """A parameter the validator requires for this kind (so never None here)."""
        v = getattr(self, name)
        if v is None:
            raise ValueError(f"a {self.kind} distribution needs `{name}`")
        return float(v)

    def _frozen(self) -> Any:
        if self.kind == "uniform":
            low, high = self._par("low"), self._par("high")
            return stats.uniform(loc=low, scale=high - low)
        if self.kind == "normal":
            return stats.norm(loc=self._par("mean"), scale=self._par("sd"))
        if self.kind == "truncnorm":
            mean, sd = self._par("mean"), self._par("sd")
            a = (self._par("low") - mean) / sd
            b = (self._par("high") - mean) / sd
            return stats.truncnorm(a, b, loc=mean, scale=sd)
        if self.kind == "triangular":
            low, high = self._par("low"), self._par("high")
            c = (self._par("mode") - low) / (high - low)
            return stats.triang(c, loc=low, scale=high - low)
        lo = 0.0 if self.low is None else self.low
        hi = 1.0 if self.high is None else self.high
        return stats.beta(self._par("a"), self._par("b"), loc=lo, scale=hi - lo)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Quantile function: maps ``u`` in (0, 1) to values of the distribution."""
        u = np.asarray(u, dtype=float)
        if self.kind == "discrete":
            vals = np.asarray(self.values, dtype=float)
            w = np.ones(len(vals)) if self.weights is None else np.asarray(self.weights, dtype=float)
            cum = np.cumsum(w) / w.sum()
            idx = np.searchsorted(cum, np.clip(u, 0.0, 1.0), side="right")
            return vals[np.minimum(idx, len(vals) - 1)]
        uu = np.clip(u, 1e-12, 1 - 1e-12)
        return np.asarray(self._frozen().ppf(uu), dtype=float)

    def median(self) -> float:
        return float(self.ppf(np.array([0.5]))[0])


class Factor(_M):
    """One uncertain input: which field and cells, how a draw acts on them, its distribution."""

    name: str | None = Field(None, description="Label in outputs; derived from field and cells when omitted.")
    field: str = Field(description="position | salience | capability | actor_capability | status_quo | param:NAME")
    actors: list[str] | None = Field(None, description="Actors selected (default: all).")
    issues: list[str] | None = Field(None, description="Issues selected (default: all).")
    mode: Literal["add", "multiply", "set"] = Field("add", description="How a drawn value acts on the current value.")
    dist: Distribution
    clip: tuple[float, float] | None = Field(
        None, description="Bounds applied after the change; positions are always kept in their issue's bounds."
    )
    per: Literal["factor", "cell"] = Field(
        "factor", description="One draw shared by every selected cell, or one independent draw per cell."
    )

    @model_validator(mode="after")
    def _field_ok(self) -> Factor:
        if self.field not in FIELDS and not (self.field.startswith("param:") and len(self.field) > 6):
            raise ValueError(f"unknown field {self.field!r}; expected one of {', '.join(FIELDS)} or param:NAME")
        if self.field.startswith("param:") and self.per == "cell":
            raise ValueError("model parameters have no cells: use per: factor")
        if self.clip is not None and not self.clip[0] <= self.clip[1]:
            raise ValueError("clip must be [low, high] with low <= high")
        return self

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        sel = []
        if self.actors:
            sel.append(",".join(self.actors))
        if self.issues:
            sel.append(",".join(self.issues))
        return self.field + (f"[{'|'.join(sel)}]" if sel else "")


@dataclass(frozen=True)
class FactorColumn:
    """One column of the design: a factor applied to a set of cells."""

    label: str
    factor: int  # index into the factor list
    cells: tuple[tuple[int, int], ...]  # (actor index, issue index); issue-only fields use actor -1


@dataclass
class ScenarioArrays:
    """A scenario as dense arrays (actors × issues), the form perturbations act on.

    ``has[a, i]`` marks stances; ``position``/``salience``/``capability`` hold the stance
    values (capability = effective, i.e. override or actor default), NaN where no stance.
    """

    actors: list[str]
    issues: list[str]
    lower: np.ndarray
    upper: np.ndarray
    status_quo: np.ndarray
    has: np.ndarray
    position: np.ndarray
    salience: np.ndarray
    capability: np.ndarray
    override: np.ndarray  # stance has its own capability
    actor_capability: np.ndarray
    salience_max: float

    @classmethod
    def from_scenario(cls, scn: Any) -> ScenarioArrays:
        from detente.scenario import SALIENCE_MAX

        A, I = scn.actor_ids, scn.issue_ids
        ai = {a: k for k, a in enumerate(A)}
        ii = {i: k for k, i in enumerate(I)}
        shape = (len(A), len(I))
        pos = np.full(shape, np.nan)
        sal = np.full(shape, np.nan)
        cap = np.full(shape, np.nan)
        ovr = np.zeros(shape, bool)
        acap = np.array([a.capability for a in scn.actors], float)
        for s in scn.stances:
            a, i = ai[s.actor], ii[s.issue]
            pos[a, i], sal[a, i] = s.position, s.salience
            ovr[a, i] = s.capability is not None
            cap[a, i] = s.capability if s.capability is not None else acap[a]
        return cls(
            actors=list(A), issues=list(I),
            lower=np.array([x.lower for x in scn.issues], float),
            upper=np.array([x.upper for x in scn.issues], float),
            status_quo=np.array([np.nan if x.status_quo is None else x.status_quo for x in scn.issues], float),
            has=~np.isnan(pos), position=pos, salience=sal, capability=cap, override=ovr,
            actor_capability=acap, salience_max=SALIENCE_MAX[scn.salience_scale],
        )


def expand_factors(factors: list[Factor], arrays: ScenarioArrays) -> list[FactorColumn]:
    """Design columns of a factor list: one per factor, or one per selected cell (``per: cell``).

    Raises ``ValueError`` naming unknown actors or issues.
    """
    cols: list[FactorColumn] = []
    ai = {a: k for k, a in enumerate(arrays.actors)}
    ii = {i: k for k, i in enumerate(arrays.issues)}
    for fi, f in enumerate(factors):
        for what, names, index in (("actor", f.actors, ai), ("issue", f.issues, ii)):
            for n in names or []:
                if n not in index:
                    raise ValueError(f"factor {f.label!r}: unknown {what} {n!r}")
        acts = [ai[a] for a in f.actors] if f.actors else list(range(len(arrays.actors)))
        isss = [ii[i] for i in f.issues] if f.issues else list(range(len(arrays.issues)))
        if f.field.startswith("param:"):
            cells: list[tuple[int, int]] = []
        elif f.field == "status_quo":
            cells = [(-1, i) for i in isss if not np.isnan(arrays.status_quo[i])]
        elif f.field == "actor_capability":
            cells = [(a, -1) for a in acts]
        else:
            cells = [(a, i) for a in acts for i in isss if arrays.has[a, i]]
        if not cells and not f.field.startswith("param:"):
            raise ValueError(f"factor {f.label!r} selects no cell of the scenario")
        if f.per == "cell":
            for c in cells:
                an = arrays.actors[c[0]] if c[0] >= 0 else ""
                inn = arrays.issues[c[1]] if c[1] >= 0 else ""
                cols.append(FactorColumn(label=f"{f.name or f.field}[{','.join(x for x in (an, inn) if x)}]", factor=fi, cells=(c,)))
        else:
            cols.append(FactorColumn(label=f.label, factor=fi, cells=tuple(cells)))
    labels = [c.label for c in cols]
    dup = {x for x in labels if labels.count(x) > 1}
    if dup:
        raise ValueError(f"two factors share the label(s) {', '.join(sorted(dup))}: give them distinct names")
    return cols
