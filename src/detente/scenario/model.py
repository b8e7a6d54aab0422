"""The scenario data model: one description of actors, issues and stances that every
model and the crisis engine read.

A :class:`Scenario` holds

* ``actors`` — who takes part (states, blocs, organisations, factions), each with a
  default ``capability``;
* ``issues`` — what is contested, each on its own scale ``[lower, upper]`` with an
  optional status quo / reference point and decision rule;
* ``stances`` — actor × issue: ``position`` on the issue's scale, ``salience`` on the
  scenario's declared ``salience_scale`` (``unit`` = 0–1, ``percent`` = 0–100) and an
  optional per-issue ``capability`` override;
* ``relations`` — signed affinity between actors in [-1, 1];
* ``dynamics`` — settings and state for time-stepped engines (filled by the crisis
  engine's scenarios; free-form but JSON-serialisable here so that this layer does not
  depend on the engine).

Positions stay on each issue's own scale; models normalise internally and say so.

Ids and names are kept in Unicode NFC form (``"Cafe\u0301"`` and ``"Caf\u00e9"`` are one
actor), and numbers are numbers: ``true``/``false`` where a number belongs are refused
instead of being read as 1 and 0, whatever reader produced them.

Examples
--------
>>> s = Scenario(
...     name="toy",
...     actors=[Actor(id="A", capability=2), Actor(id="B")],
...     issues=[Issue(id="x", lower=0, upper=10)],
...     stances=[Stance(actor="A", issue="x", position=2, salience=50),
...              Stance(actor="B", issue="x", position=8, salience=100)],
... )
>>> s.issue_arrays("x").position.tolist()
[2.0, 8.0]
"""

from __future__ import annotations

import hashlib
import json
import math
import unicodedata
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

__all__ = [
    "Actor",
    "Issue",
    "Stance",
    "Relation",
    "Scenario",
    "IssueArrays",
    "ScenarioProblem",
    "DecisionRule",
    "SalienceScale",
    "SALIENCE_MAX",
]

SalienceScale = Literal["unit", "percent"]
SALIENCE_MAX: dict[str, float] = {"unit": 1.0, "percent": 100.0}

DecisionRule = Literal[
    "majority", "qmv", "unanimity", "consensus", "plurality", "dictator", "codecision", "other"
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=False, frozen=False)


def _nfc(v: Any) -> Any:
    """Unicode NFC form of a text (so "Café" typed with a combining accent and with a
    precomposed "é" is one name); anything else unchanged."""
    return unicodedata.normalize("NFC", v) if isinstance(v, str) else v


def _strict_number(v: Any, info: ValidationInfo) -> Any:
    """Refuse ``true``/``false`` where a number belongs (pydantic would read them as 1 and 0)."""
    if isinstance(v, bool):
        raise ValueError(f"{info.field_name} must be a number, not the boolean {str(v).lower()}")
    return v


def _finite(v: float | None, what: str) -> float | None:
    if v is not None and not math.isfinite(v):
        raise ValueError(f"{what} must be a finite number, got {v!r}")
    return v


class Actor(_Model):
    """A party to the negotiation or crisis.

    ``capability`` is the actor's default resources/clout (any non-negative scale; models
    only use ratios). A stance may override it for one issue.
    """

    id: str = Field(min_length=1, description="Short unique identifier, e.g. 'US'.")
    name: str | None = Field(None, description="Display name; defaults to the id.")
    group: str | None = Field(None, description="Bloc or coalition the actor belongs to.")
    colour: str | None = Field(None, description="Display colour (CSS colour or #rrggbb).")
    capability: float = Field(1.0, ge=0, description="Default capability (non-negative).")
    description: str | None = None

    _numbers = field_validator("capability", mode="before")(_strict_number)
    _names = field_validator("id", "name", "group", mode="before")(lambda v: _nfc(v))

    @field_validator("capability")
    @classmethod
    def _cap_finite(cls, v: float) -> float:
        _finite(v, "capability")  # raises on inf/nan
        return v

    @property
    def label(self) -> str:
        return self.name or self.id


class Issue(_Model):
    """A contested issue, a one-dimensional policy scale ``[lower, upper]``."""

    id: str = Field(min_length=1)
    name: str | None = None
    lower: float = Field(0.0, description="Lower end of the issue scale.")
    upper: float = Field(100.0, description="Upper end of the issue scale.")
    status_quo: float | None = Field(
        None, description="Status quo / reference point (disagreement point of NBS)."
    )
    decision_rule: DecisionRule | None = Field(None, description="How the issue is decided.")
    labels: dict[str, str] = Field(
        default_factory=dict,
        description="Labels for points of the scale, keyed by the point written as text "
        "(e.g. {'0': 'no relief', '100': 'full reform'}).",
    )
    outcome: float | None = Field(None, description="Observed outcome, when known (back-tests).")
    description: str | None = None

    _numbers = field_validator("lower", "upper", "status_quo", "outcome", mode="before")(_strict_number)
    _names = field_validator("id", "name", mode="before")(lambda v: _nfc(v))

    @model_validator(mode="after")
    def _check_bounds(self) -> Issue:
        for what in ("lower", "upper", "status_quo", "outcome"):
            _finite(getattr(self, what), what)
        if not self.lower < self.upper:
            raise ValueError(f"issue {self.id!r}: lower ({self.lower}) must be below upper ({self.upper})")
        for what in ("status_quo", "outcome"):
            v = getattr(self, what)
            if v is not None and not (self.lower <= v <= self.upper):
                raise ValueError(
                    f"issue {self.id!r}: {what} {v} outside the scale [{self.lower}, {self.upper}]"
                )
        for k in self.labels:
            try:
                float(k)
            except ValueError:
                raise ValueError(f"issue {self.id!r}: label key {k!r} is not a number") from None
        return self

    @property
    def label(self) -> str:
        return self.name or self.id

    @property
    def width(self) -> float:
        return self.upper - self.lower


class Stance(_Model):
    """An actor's stance on one issue."""

    actor: str = Field(min_length=1)
    issue: str = Field(min_length=1)
    position: float = Field(description="Position on the issue's own scale.")
    salience: float = Field(ge=0, description="Salience on the scenario's salience scale.")
    capability: float | None = Field(
        None, ge=0, description="Capability on this issue; overrides the actor's default."
    )

    _numbers = field_validator("position", "salience", "capability", mode="before")(_strict_number)
    _names = field_validator("actor", "issue", mode="before")(lambda v: _nfc(v))

    @field_validator("position", "salience", "capability")
    @classmethod
    def _fin(cls, v: float | None, info: ValidationInfo) -> float | None:
        return _finite(v, info.field_name or "value")


class Relation(_Model):
    """A signed, directed affinity between two actors (``-1`` enemy … ``+1`` ally)."""

    source: str = Field(min_length=1)
    target: str = Field(min_length=1)
    affinity: float = Field(ge=-1.0, le=1.0)
    kind: str | None = Field(None, description="Free label, e.g. 'alliance', 'rivalry'.")

    _numbers = field_validator("affinity", mode="before")(_strict_number)
    _names = field_validator("source", "target", mode="before")(lambda v: _nfc(v))


@dataclass(frozen=True)
class ScenarioProblem:
    """A cross-reference problem found in a scenario, located by field path.

    ``path`` is e.g. ``("stances", 3, "position")``; readers map it back to a file line.
    """

    path: tuple[str | int, ...]
    value: Any
    message: str
    expected: str | None = None


@dataclass(frozen=True)
class IssueArrays:
    """The numbers of one issue, as numpy arrays in actor order (actors with a stance only).

    ``salience`` is on the unit scale (0–1) whatever the scenario declares.
    """

    issue: Issue
    actors: tuple[str, ...]
    position: np.ndarray
    salience: np.ndarray
    capability: np.ndarray

    @property
    def n(self) -> int:
        return len(self.actors)


class Scenario(_Model):
    """A complete negotiation or crisis description. See the module docstring."""

    name: str = Field("scenario", min_length=1)
    description: str | None = None
    salience_scale: SalienceScale = Field(
        "percent", description="Scale of every stance's salience: 'unit' (0-1) or 'percent' (0-100)."
    )
    actors: list[Actor] = Field(default_factory=list)
    issues: list[Issue] = Field(default_factory=list)
    stances: list[Stance] = Field(default_factory=list)
    relations: list[Relation] = Field(default_factory=list)
    dynamics: dict[str, Any] | None = Field(
        None, description="Settings and state for time-stepped engines (see the crisis engine)."
    )
    metadata: dict[str, Any] = Field(
        default_factory=dict, description="Provenance, sources, citation, free notes."
    )

    _names = field_validator("name", mode="before")(lambda v: _nfc(v))

    @model_validator(mode="after")
    def _cross_check(self, info: ValidationInfo) -> Scenario:
        if info.context and info.context.get("defer_cross_checks"):
            return self
        problems = self.problems()
        if problems:
            lines = [
                f"{'.'.join(map(str, p.path))}: {p.message} (value {p.value!r})" for p in problems
            ]
            raise ValueError("; ".join(lines))
        return self

    # ------------------------------------------------------------------ checks
    def problems(self) -> list[ScenarioProblem]:
        """Every cross-reference problem: duplicates, unknown actors/issues, out-of-range values."""
        out: list[ScenarioProblem] = []
        if not self.actors:
            out.append(ScenarioProblem(("actors",), [], "a scenario needs at least one actor"))
        seen: set[str] = set()
        for i, a in enumerate(self.actors):
            if a.id in seen:
                out.append(ScenarioProblem(("actors", i, "id"), a.id, "duplicate actor", "a unique id"))
            seen.add(a.id)
        seen_i: set[str] = set()
        issues = {}
        for i, iss in enumerate(self.issues):
            if iss.id in seen_i:
                out.append(ScenarioProblem(("issues", i, "id"), iss.id, "duplicate issue", "a unique id"))
            seen_i.add(iss.id)
            issues[iss.id] = iss
        smax = SALIENCE_MAX[self.salience_scale]
        pairs: set[tuple[str, str]] = set()
        for k, s in enumerate(self.stances):
            if s.actor not in seen:
                out.append(ScenarioProblem(("stances", k, "actor"), s.actor, "unknown actor", "one of the declared actors"))
            st_iss = issues.get(s.issue)
            if st_iss is None:
                out.append(ScenarioProblem(("stances", k, "issue"), s.issue, "unknown issue", "one of the declared issues"))
            elif not (st_iss.lower <= s.position <= st_iss.upper):
                out.append(
                    ScenarioProblem(
                        ("stances", k, "position"), s.position,
                        f"position outside the bounds of issue {s.issue!r}",
                        f"a number in [{_fmt(st_iss.lower)}, {_fmt(st_iss.upper)}]",
                    )
                )
            if s.salience > smax:
                out.append(
                    ScenarioProblem(
                        ("stances", k, "salience"), s.salience,
                        f"salience above the declared {self.salience_scale} scale",
                        f"a number in [0, {_fmt(smax)}]",
                    )
                )
            if (s.actor, s.issue) in pairs:
                out.append(ScenarioProblem(("stances", k, "actor"), s.actor, f"duplicate stance on issue {s.issue!r}", "one stance per actor and issue"))
            pairs.add((s.actor, s.issue))
        for k, r in enumerate(self.relations):
            for fld in ("source", "target"):
                v = getattr(r, fld)
                if v not in seen:
                    out.append(ScenarioProblem(("relations", k, fld), v, "unknown actor", "one of the declared actors"))
        return out

    # ------------------------------------------------------------------ access
    def actor(self, actor_id: str) -> Actor:
        actor_id = _nfc(actor_id)
        for a in self.actors:
            if a.id == actor_id:
                return a
        raise KeyError(actor_id)

    def issue(self, issue_id: str) -> Issue:
        issue_id = _nfc(issue_id)
        for i in self.issues:
            if i.id == issue_id:
                return i
        raise KeyError(issue_id)

    @property
    def actor_ids(self) -> list[str]:
        return [a.id for a in self.actors]

    @property
    def issue_ids(self) -> list[str]:
        return [i.id for i in self.issues]

    def stance(self, actor_id: str, issue_id: str) -> Stance | None:
        actor_id, issue_id = _nfc(actor_id), _nfc(issue_id)
        for s in self.stances:
            if s.actor == actor_id and s.issue == issue_id:
                return s
        return None

    def issue_arrays(self, issue_id: str) -> IssueArrays:
        """Positions, unit-scale saliences and effective capabilities on one issue.

        Actors appear in scenario order; actors without a stance on the issue are left out.
        """
        iss = self.issue(issue_id)
        by_actor = {s.actor: s for s in self.stances if s.issue == issue_id}
        smax = SALIENCE_MAX[self.salience_scale]
        ids, pos, sal, cap = [], [], [], []
        for a in self.actors:
            s = by_actor.get(a.id)
            if s is None:
                continue
            ids.append(a.id)
            pos.append(s.position)
            sal.append(s.salience / smax)
            cap.append(a.capability if s.capability is None else s.capability)
        return IssueArrays(
            issue=iss,
            actors=tuple(ids),
            position=np.asarray(pos, dtype=float),
            salience=np.asarray(sal, dtype=float),
            capability=np.asarray(cap, dtype=float),
        )

    def subset(self, issue_ids: list[str]) -> Scenario:
        """A copy restricted to some issues (actors kept)."""
        keep = set(issue_ids)
        return self.model_copy(
            update={
                "issues": [i for i in self.issues if i.id in keep],
                "stances": [s for s in self.stances if s.issue in keep],
            },
            deep=True,
        )

    # ------------------------------------------------------------------ identity
    #: Most actors (rows) and issues (columns) :meth:`_repr_html_` shows; the rest is counted.
    HTML_MAX_ACTORS: ClassVar[int] = 40
    HTML_MAX_ISSUES: ClassVar[int] = 12

    def _repr_html_(self) -> str:
        """The scenario as Jupyter shows it: name, counts, the issues with their scales, and a
        table of actors × issues with each stance's position and salience (capability when the
        stance sets its own). Large scenarios show the first :attr:`HTML_MAX_ACTORS` actors and
        :attr:`HTML_MAX_ISSUES` issues and say how many are left out."""
        from html import escape as e

        def num(x: float | None) -> str:
            return "" if x is None else f"{x:g}"

        issues = self.issues[: self.HTML_MAX_ISSUES]
        actors = self.actors[: self.HTML_MAX_ACTORS]
        stances = {(s.actor, s.issue): s for s in self.stances}
        sal = "0–1" if self.salience_scale == "unit" else "0–100"
        parts = [f"<div class='detente-scenario'><p><b>{e(self.name)}</b>: {len(self.actors)} actors, "
                 f"{len(self.issues)} issues, {len(self.stances)} stances"
                 + (f", {len(self.relations)} relations" if self.relations else "")
                 + (", crisis dynamics" if self.dynamics else "") + "</p>"]
        if self.description:
            parts.append(f"<p>{e(self.description)}</p>")
        head = "".join(f"<th title='{e(i.id)}'>{e(i.label)}<br><small>{num(i.lower)}–{num(i.upper)}"
                       + (f", status quo {num(i.status_quo)}" if i.status_quo is not None else "") + "</small></th>"
                       for i in issues)
        rows = []
        for a in actors:
            cells = []
            for i in issues:
                s = stances.get((a.id, i.id))
                cells.append("<td></td>" if s is None else
                             f"<td>{num(s.position)} <small>(salience {num(s.salience)}"
                             + (f", capability {num(s.capability)}" if s.capability is not None else "")
                             + ")</small></td>")
            rows.append(f"<tr><th title='{e(a.id)}'>{e(a.label)}</th><td>{num(a.capability)}</td>{''.join(cells)}</tr>")
        parts.append(f"<table><thead><tr><th>actor</th><th>capability</th>{head}</tr></thead>"
                     f"<tbody>{''.join(rows)}</tbody></table>")
        left = [f"{n} more {what}" for n, what in ((len(self.actors) - len(actors), "actors"),
                                                   (len(self.issues) - len(issues), "issues")) if n > 0]
        parts.append(f"<p><small>cells: position on the issue's scale (salience on the {sal} scale)"
                     + ("; " + ", ".join(left) + " not shown" if left else "") + "</small></p></div>")
        return "".join(parts)

    def canonical_json(self) -> str:
        """Canonical JSON text (sorted keys, no whitespace) — the basis of :meth:`content_hash`."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), allow_nan=False)

    def content_hash(self) -> str:
        """SHA-256 of :meth:`canonical_json`; identical scenarios hash identically."""
        return hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()


def _fmt(x: float) -> str:
    return f"{x:g}"
