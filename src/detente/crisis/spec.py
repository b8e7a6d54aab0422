"""Validated description of a crisis scenario: the ``dynamics`` block of a :class:`Scenario`.

The scenario layer keeps ``Scenario.dynamics`` as a free dictionary so that it does not
depend on the engine; this module gives that dictionary a strict shape (pydantic v2,
``extra="forbid"``) and turns validation errors into :class:`detente.errors.InputError`
problems that name the file, the field path and the value.

Every number that feeds the engine is a :class:`Num`: a value with *either* a ``source``
(data, publication, or the calibration file) *or* an ``assumption`` with a plausible
``range``.  An assumption may ask to be drawn per Monte-Carlo run (``draw: uniform``),
which is how belief and parameter uncertainty enters the simulation.

Hypotheses are named overlays of the base description: ``set:`` maps dotted paths into
``dynamics`` to new values (``flashpoints[UA].base_hazard_m.value``, ``policies.stall.enabled``).
Inside a hypothesis bare numbers are allowed; they become assumptions of that hypothesis.

Examples
--------
>>> Num.model_validate({"value": 0.5, "assumption": {"range": [0.2, 0.8]}}).value
0.5
>>> Num.model_validate({"value": 0.5}, context={"allow_bare": False})
Traceback (most recent call last):
...
pydantic_core._pydantic_core.ValidationError: 1 validation error for Num
  Value error, a number must be annotated: give `source:` or `assumption: {range: [lo, hi]}` [type=value_error, input_value={'value': 0.5}, input_type=dict]
...
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
import types
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from detente.errors import InputError, Problem

__all__ = [
    "Num", "FitRef", "Assumption", "Settings", "ActorDyn", "Cliff", "Belief", "Support", "Dyad",
    "Escalation", "CrisisBargain", "Richardson", "Beta", "Flashpoint", "Alliance", "Follower", "Track",
    "StallPolicy", "SeesawPolicy", "LeakPolicy", "AllyPressure", "Policies", "StagHunt",
    "Provocation", "Coupling", "Triangle", "CalendarEvent", "Shock", "Hypothesis", "Mechanism", "ClaimTest", "Claim",
    "Record", "RecordFocal", "RecordOnset", "RecordEvent", "RecordState", "RecordForecast", "CrowdForecast",
    "RECORD_EVENT_KINDS",
    "CrisisSpec", "load_spec", "spec_memo",
    "apply_patch", "resolve", "CALIBRATION_PATH", "crisis_json_schema",
]

CALIBRATION_PATH = Path(__file__).resolve().parent.parent / "data" / "calibration.json"


def _number_kinds(ann: Any) -> tuple[bool, bool]:
    """``(takes a number, takes a boolean)`` of a field annotation, looking through unions,
    ``Annotated`` and the items of lists and tuples."""
    origin = get_origin(ann)
    if origin is Annotated:
        return _number_kinds(get_args(ann)[0])
    if origin in (Union, types.UnionType, list, tuple):
        kinds = [_number_kinds(a) for a in get_args(ann) if a is not Ellipsis]
        return any(k[0] for k in kinds), any(k[1] for k in kinds)
    return ann in (int, float), ann is bool


def _has_bool(v: Any) -> bool:
    # `x is True or x is False` and `bool in map(type, v)` are isinstance(x, bool) (bool has no
    # subclasses) without a Python call per item: this runs for every field of every model of a
    # description, and some fields are long lists
    return v is True or v is False or (isinstance(v, (list, tuple)) and bool in map(type, v))


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _no_boolean_numbers(cls, v: Any, info: ValidationInfo) -> Any:
        """``true``/``false`` where a number is expected is refused, as the scenario readers
        refuse it (issue 13): pydantic would read it as 1/0 without a word."""
        if (v is True or v is False or (isinstance(v, (list, tuple)) and _has_bool(v))) \
                and info.field_name in cls.model_fields:
            number, boolean = _number_kinds(cls.model_fields[info.field_name].annotation)
            if number and not boolean:
                raise ValueError("a boolean (true/false) where a number is expected")
        return v


# ---------------------------------------------------------------- annotated numbers
class Assumption(_M):
    """An assumed number: plausible ``range`` and optionally a per-run ``draw`` from it."""

    range: tuple[float, float]
    draw: Literal["fixed", "uniform"] = "fixed"
    note: str | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Assumption:
        lo, hi = self.range
        if not lo <= hi:
            raise ValueError(f"assumption range [{lo}, {hi}] must have lo <= hi")
        return self


class FitRef(_M):
    """Where a number comes from in a frozen fit on history (:mod:`detente.crisis.fits`).

    ``coefficient`` takes one fitted coefficient (raw scale); ``hazard`` (``war`` or
    ``violence``) with ``features`` takes the fitted monthly hazard floor
    ``exp(log_base_<hazard>_m + Σ β x)`` at those trigger-time features (each a number with its
    own source). ``scale`` (default 1) multiplies the fitted number when the scenario's units
    differ from the fit's; it needs ``scale_note`` saying why.
    """

    file: str = Field("icb_engine", description="Name of the frozen fit: `detente/data/<file>.json`.")
    variant: str = Field("without_trigger", description="Variant of the fit (e.g. without_trigger, with_trigger).")
    coefficient: str | None = Field(None, description="A fitted coefficient on its raw scale (e.g. beta_rung).")
    hazard: Literal["war", "violence"] | None = Field(
        None, description="The fitted monthly hazard floor exp(log_base_<hazard>_m + Σβx) at `features`.")
    features: dict[str, Num] | None = Field(
        None, description="Trigger-time features of the linear predictor (with `hazard`).")
    scale: float = Field(1.0, gt=0, description="Multiplier of the fitted number (units); needs `scale_note`.")
    scale_note: str | None = None

    @model_validator(mode="after")
    def _resolvable(self) -> FitRef:
        from detente.crisis.fits import load_fit

        if self.scale != 1.0 and not self.scale_note:
            raise ValueError("a fit reference with `scale` other than 1 needs `scale_note` saying why")
        fit = load_fit(self.file)
        fit.number(self.variant, coefficient=self.coefficient, hazard=self.hazard,
                   features=None if self.features is None else {k: n.value for k, n in self.features.items()},
                   scale=self.scale, scale_note=self.scale_note)
        return self

    def resolve(self) -> Any:
        """The :class:`detente.crisis.fits.FitNumber` this reference stands for."""
        from detente.crisis.fits import load_fit

        return load_fit(self.file).number(
            self.variant, coefficient=self.coefficient, hazard=self.hazard,
            features={k: n.value for k, n in (self.features or {}).items()} if self.hazard else None,
            scale=self.scale, scale_note=self.scale_note)


def _num_json_schema(schema: dict[str, Any]) -> None:
    """``value`` may be omitted when ``fit`` gives it: the schema asks for one of the two."""
    schema["required"] = [r for r in schema.get("required", []) if r != "value"]
    if not schema["required"]:
        schema.pop("required")
    schema["anyOf"] = [{"required": ["value"]}, {"required": ["fit"]}]


class Num(_M):
    """A number with provenance: ``source`` (data/paper/calibration) or ``assumption``.

    ``calibrated`` names a key of ``data/calibration.json`` (dotted path); when the file
    and key exist, the derived value replaces ``value`` at resolve time (see
    :func:`resolve`), otherwise ``value`` is used and the fallback is reported.

    ``fit`` (:class:`FitRef`) takes the number from a frozen fit on history when the scenario
    is validated: ``value`` may be omitted (if given it must equal the fitted number) and
    ``source`` is written from the fit's record (file and SHA-256, variant, coefficient,
    standard error, training period). Such a number has no assumption range.
    """

    model_config = ConfigDict(extra="forbid", json_schema_extra=_num_json_schema)

    value: float
    source: str | None = None
    assumption: Assumption | None = None
    calibrated: str | None = None
    fit: FitRef | None = None
    se: float | None = Field(None, description="Standard error of a number taken from a frozen fit (filled in).")

    @model_validator(mode="before")
    @classmethod
    def _bare(cls, data: Any, info: ValidationInfo) -> Any:
        if isinstance(data, (int, float)) and not isinstance(data, bool):
            if info.context and info.context.get("allow_bare"):
                note = info.context.get("bare_note", "bare number")
                return {"value": float(data), "assumption": {"range": [float(data), float(data)], "note": note}}
            return {"value": data}
        if isinstance(data, dict) and "fit" in data and "value" not in data:
            # filled in from the fit after validation (the reference is checked first)
            return {**data, "value": math.nan}
        return data

    @model_validator(mode="after")
    def _annotated(self, info: ValidationInfo) -> Num:
        if self.fit is not None:
            if self.assumption is not None or self.calibrated is not None:
                raise ValueError("a number taken from a frozen fit (`fit:`) has no `assumption:` or `calibrated:`")
            got = self.fit.resolve()
            if not math.isnan(self.value) and not math.isclose(self.value, got.value, rel_tol=1e-9, abs_tol=1e-15):
                raise ValueError(f"value {self.value} differs from the frozen fit's {got.value:.10g}: omit `value` "
                                 "(it is read from the fit)")
            if self.source is not None and self.source != got.source:
                raise ValueError("`source` of a number taken from a frozen fit is written from the fit: omit it")
            self.value, self.source, self.se = got.value, got.source, got.se
            return self
        if self.se is not None:
            raise ValueError("`se` is filled in from a frozen fit (`fit:`); a number without `fit:` has none")
        if self.source is None and self.assumption is None and self.calibrated is None:
            raise ValueError("a number must be annotated: give `source:` or `assumption: {range: [lo, hi]}`")
        if self.assumption is not None:
            lo, hi = self.assumption.range
            if not lo - 1e-12 <= self.value <= hi + 1e-12:
                raise ValueError(f"value {self.value} outside its assumption range [{lo}, {hi}]")
        return self

    @property
    def drawn(self) -> bool:
        return self.assumption is not None and self.assumption.draw == "uniform"


FitRef.model_rebuild()


def _num(v: float, note: str = "engine default") -> Num:
    return Num(value=v, assumption=Assumption(range=(v, v), note=note))


# ---------------------------------------------------------------- settings and actors
class Settings(_M):
    start: dt.date
    horizon_months: int = Field(48, ge=1, le=240)
    step: Literal["month", "week"] = "month"
    runs: int = Field(2000, ge=1)
    seed: int = Field(20211201, ge=0)
    delta_annual: Num
    lookahead_months: int = Field(48, ge=2, le=120)
    reeval_months: int = Field(
        1, ge=1, le=12,
        description="Believed power paths are re-evaluated every step for runs whose earliest forced "
                    "date is within this many months, and for all runs every this many months.")
    pressure_scale_months: Num = Field(
        default_factory=lambda: _num(6.0),
        description="Time scale τ (months) of preventive pressure: a direction whose earliest forced war "
                    "is k* months ahead exerts pressure exp(−k*/τ) on the hazard and the escalation "
                    "chain (larger τ: distant windows already press). Engine default 6.")
    preventive_pressure: bool = Field(
        True,
        description="ASSUMPTION (no source in the cited theory): a direction whose earliest forced war is "
                    "k* months ahead exerts pressure exp(−k*/τ) on the hazard (beta.pressure), the escalation "
                    "chain (up_pressure) and Richardson forces (g_pressure) before any war is forced. "
                    "Preventive-war theory (Fearon 1995; Powell 2006) predicts war only at the forced date "
                    "(the `forced` covariate); false tests that pure theory. Mechanism switch.")
    capability_growth: bool = Field(
        True,
        description="Mechanism switch `growth`: false sets every actor's mean growth g_i to 0 in the "
                    "capability path and in the believed contest trends (growth noise stays).")
    allies_lag: bool = Field(
        True,
        description="Mechanism switch `allies_lag`: false makes followers hold their `follows_patron` "
                    "cohesion from the start and delivers patron requests in the month they are made.")
    war_parties: bool = Field(
        True,
        description="Mechanism switch `war_parties`: false removes the protégés' war-party (moral hazard) "
                    "covariate from every flashpoint hazard.")
    after_first_war: Literal["continue", "stop"] = "continue"
    initiators_allowed: list[str] | Literal["all"] = "all"
    russia: str | None = Field(
        None, description="The focal actor whose months of peace are reported (the flagship's Russia). Default: "
                          "the record's focal actor, else the triangle's first partner (without a triangle "
                          "one of the two is required).")
    draw_assumptions: bool = Field(
        False,
        description="Parameter uncertainty switch: true draws every number that has an `assumption:` with a "
                    "non-degenerate range uniformly per run (as `draw: uniform` would), except calibrated numbers "
                    "and those the engine uses as one value for all runs (engine.SCALAR_ONLY). Usable per "
                    "hypothesis (`set: {settings.draw_assumptions: true}`) or for a whole run "
                    "(`detente run --draw-assumptions`). See docs/crisis.md, 'Parameter uncertainty'.")


class ActorDyn(_M):
    capability: Num
    growth_m: Num
    growth_sd_m: Num | None = None
    verify: Num | None = None
    credulity: Num | None = None
    hawk_share: Num | None = None


class Cliff(_M):
    """A believed discontinuity: at ``date`` (+ a per-run shift) the believer's p drops by ``size``."""

    date: dt.date
    shift_months: Num | None = None
    size: Num
    coalition: bool = Field(
        False,
        description="A cliff against a coalition (e.g. 'cannot beat the RU–CN pair after 2024'): with the "
                    "triangle coupling on, its size is scaled by the rising side's current expected "
                    "partner support relative to the start (clipped to [0, 2]); a split removes it.")


class Belief(_M):
    """How ``believer`` projects its own win probability p in the dyad."""

    believer: str
    enabled: bool = Field(True, description="Mechanism switch: false drops this belief (drift and cliff).")
    drift_m: Num | None = None
    cliff: Cliff | None = None


class Support(_M):
    """Third parties whose capability adds to ``side`` (weight × cohesion or alignment)."""

    side: str
    actors: list[str]
    weight: Num
    via: Literal["cohesion", "alignment"] = "cohesion"


class Dyad(_M):
    id: str
    a: str
    b: str
    exponent: Num
    kappa: dict[str, Num]
    phi_base: Num
    beliefs: list[Belief] = Field(default_factory=list)
    support: list[Support] = Field(default_factory=list)


# ---------------------------------------------------------------- flashpoints
class Escalation(_M):
    rungs: int = Field(5, ge=2, le=12)
    start_rung: int = Field(1, ge=0)
    up_m: Num
    down_m: Num
    up_pressure: Num
    down_groups: Num
    push_factor: Num = Field(
        default_factory=lambda: _num(0.5),
        description="Each rung push (calendar `rung_push`, an ally's action) multiplies the chance of "
                    "not moving up this step by this factor: 1 − P(up) ← (1 − P(up))·factor^pushes "
                    "(0.5: each push halves it; 1: pushes have no effect). Engine default 0.5.")


class CrisisBargain(_M):
    """Risk–return bargaining when the rung is at least ``rung``: P(war) = (c̄ − c_A)/(2c̄)."""

    rung: int = Field(2, ge=0)
    demander: str
    c_A: Num
    c_bar: Num
    fake_noise: Num


class Richardson(_M):
    k: Num
    l: Num
    a: Num
    b: Num
    g: Num
    h: Num
    g_pressure: Num


class Beta(_M):
    """Hazard coefficients: λ = λ₀ exp(Σ β·x); ``groups`` is the damping θ (enters as −θ·Σa)."""

    forced: Num
    pressure: Num
    crisis_pwar: Num
    moral_hazard: Num
    rung: Num
    forces: Num
    groups: Num
    agreement: Num


class Flashpoint(_M):
    id: str
    name: str | None = None
    local: str
    adversary: str
    patron: str | None = None
    involves: list[str]
    base_hazard_m: Num
    background_initiators: dict[str, Num]
    dyads: list[str] = Field(default_factory=list)
    hawks: list[str] = Field(default_factory=list)
    beta: Beta
    escalation: Escalation
    crisis: CrisisBargain
    richardson: Richardson | None = None


class Alliance(_M):
    patron: str
    protege: str
    kind: str = "partner"
    reliability_prior: Num
    lag_mean_m: Num
    follows_patron: Num
    provoke_p0: Num
    provoke_dp: Num
    provoke_cost: Num


class Follower(_M):
    """An ally that follows its patron's line with a lag: cohesion moves from ``reliability_prior``
    toward ``follows_patron`` at rate 1/``lag_mean_m``."""

    patron: str
    reliability_prior: Num
    lag_mean_m: Num
    follows_patron: Num


# ---------------------------------------------------------------- negotiation tracks
class Track(_M):
    id: str
    name: str | None = None
    parties: tuple[str, str]
    created: dt.date | None = None
    groups: list[str] = Field(default_factory=list)
    meet_prob_m: Num
    eta: Num
    omega: Num
    omega_idle: Num
    demands: dict[str, Num]
    obstinate: dict[str, Num]
    rate_m: dict[str, Num]
    deadline: dt.date | None = None
    deadline_boost: Num
    deadline_width_months: Num = Field(
        default_factory=lambda: _num(3.0),
        description="Width w (months) of the deadline effect: concession hazards are multiplied by "
                    "1 + deadline_boost·exp(−|months to deadline|/w) until deadline_tail_months after the "
                    "deadline. Engine default 3.")
    deadline_tail_months: Num = Field(
        default_factory=lambda: _num(1.0),
        description="How long (months) the deadline effect lasts after the deadline: the factor "
                    "1 + deadline_boost·exp(−|months to deadline|/deadline_width_months) applies while "
                    "months to deadline ≥ −deadline_tail_months, and the hazards return to 1× after. "
                    "0 = the effect stops at the deadline. Engine default 1.")
    h0: Num
    gamma: Num
    holdout: Num
    phi_max: Num
    dyads: list[str] = Field(default_factory=list)
    flashpoints: list[str] = Field(default_factory=list)
    agreement_phi: Num


class StallPolicy(_M):
    """Russia's stalling, channel by channel (docs/crisis.md "Stalling channels").

    ``enabled`` switches the whole policy; ``postpone``, ``online_only`` and ``expert_groups``
    switch one channel each (a counterfactual can remove one and keep the others).
    """

    enabled: bool = True
    actor: str
    track: str
    postpone: bool = Field(True, description="Channel switch: the staller postpones scheduled meetings.")
    postpone_prob: Num
    hold_months: Num = Field(
        default_factory=lambda: _num(0.0),
        description="ASSUMPTION (the article: 'postponing buys time'): after a postponement the meeting is "
                    "still pending for this many months (exponential); while it is pending the hazard "
                    "of the track's flashpoints is multiplied by exp(−hold_damping), and on a track with the "
                    "triangle's pivot the pivot's belief that its wedge failed (coupling.provocation) does "
                    "not move (it still waits for the meeting). 0 = no effect.")
    hold_damping: Num = Field(
        default_factory=lambda: _num(0.0),
        description="ASSUMPTION: hazard damping while a postponed meeting is pending (see hold_months).")
    online_only: bool = True
    online_fake_block: Num = Field(
        default_factory=lambda: _num(0.0),
        description="ASSUMPTION (the article: online talks leave a record, so no fake leak about them is "
                    "possible): in a step with online talks the rate of fake leaks is multiplied by "
                    "1 − online_fake_block (on top of the receivers' better verification).")
    expert_groups: bool = Field(True, description="Channel switch: the staller creates permanent expert groups.")
    new_groups_per_quarter: Num
    group_meet_prob_m: Num = Field(
        default_factory=lambda: _num(0.0),
        description="ASSUMPTION (the article: permanent groups have their own bureaucratic momentum): monthly "
                    "rate at which the staller's permanent expert groups meet on their own, also when the "
                    "plenary is postponed (a group that met is not worn down by the postponement). "
                    "0 = groups meet only with the plenary.")
    max_groups: int = Field(6, ge=0, le=32)
    obstinacy_boost: Num
    patience: Num


class SeesawPolicy(_M):
    enabled: bool = True
    actor: str
    targets: tuple[str, str]
    period_months: Num
    offer_s: Num
    courting_gain: Num


class LeakPolicy(_M):
    sender: str
    receiver: str
    about: str
    claim: Literal["dealing", "loyal"] = "dealing"
    rate_m: Num
    fake_share: Num


class AllyPressure(_M):
    patron: str
    protege: str
    request_rate_m: Num
    q_gain: Num


class Policies(_M):
    leaks_enabled: bool = Field(True, description="Mechanism switch `leaks`: false stops every leak policy.")
    stall: StallPolicy | None = None
    seesaw: SeesawPolicy | None = None
    leaks: list[LeakPolicy] = Field(default_factory=list)
    ally_pressure: list[AllyPressure] = Field(default_factory=list)


# ---------------------------------------------------------------- triangle / information
class StagHunt(_M):
    R: Num
    T: Num
    P: Num
    S: Num


class Provocation(_M):
    """A failed wedge raises a provocation channel (specs/crisis.md §5.8, [proposal]).

    The pivot watches whether the pair holds (partners' tie above ``hold_tie`` and no side
    deal). Its belief that the wedge has failed is an exponential moving average of that
    indicator with time scale ``patience_months`` (0 at the start). That belief x_prov enters
    the hazard of each flashpoint in ``flashpoints`` as ``beta·x_prov``, with the part attributed
    to ``initiator`` (the pivot itself or its protégé at the flashpoint).
    """

    enabled: bool = Field(True, description="Mechanism switch of the failed-wedge provocation channel. The channel "
                                            "also needs a wedge (a declared seesaw policy that is enabled) and "
                                            "an alignment that can hold (`coupling.support`).")
    initiator: str = Field(description="Actor to which the provocation part is attributed (the pivot or its protégé).")
    flashpoints: list[str] = Field(description="Flashpoints whose hazard carries the provocation term.")
    hold_tie: Num = Field(description="The pair 'holds' while the partners' tie is above this (and neither deals).")
    patience_months: Num = Field(description="Time scale (months) of the moving average 'the pair holds' = x_prov.")
    beta: Num = Field(description="Hazard coefficient β_prov of x_prov ∈ [0, 1].")


class Coupling(_M):
    """How the triangle reaches war and war reaches the triangle (specs/crisis.md §5.8, [proposal]).

    * Expected partner support: a partner k adds ``weight·π·C_k`` to side i's capability with
      π = ρ·max(X_ik, 0)^κ_h·μ_ik (ρ alliance reliability, Leeds et al. 2000 / Leeds 2003; X the
      signed tie; μ_ik i's belief that k stays loyal), so the contest p (Fearon 1995; Powell
      2006) of every dyad with support ``via: alignment`` moves with the tie and the beliefs.
    * Cost of war: each side's flow cost κ is multiplied by 1 + ψ(s_opponent − s_own), s the share
      of effective capability that comes from partners (a supported rival is costlier to fight).
    * A failed wedge raises a provocation channel (:class:`Provocation`).
    * War feeds back: an onset started by a partner moves the partners' tie by ``war_tie_shift``
      (either sign) and resets both loyalty beliefs to the prior (Crawford 2011 on wedges).

    ``enabled: false`` gives the uncoupled engine (support = weight·max(tie, 0)·C_k, as before).
    """

    enabled: bool = Field(False, description="Master switch of the triangle–war coupling (false = the uncoupled engine).")
    support: bool = Field(True, description="Mechanism switch `alignment`: false makes the partners' tie and loyalty "
                                            "beliefs reach no war: no partner support via alignment, no coalition "
                                            "cliff, no failed-wedge provocation (no pair to hold).")
    reliability: Num = Field(default_factory=lambda: _num(1.0), description="ρ: P(an aligned partner honours).")
    tie_exponent: Num = Field(default_factory=lambda: _num(1.0), description="κ_h in h(X) = max(X, 0)^κ_h.")
    cost_effect: Num = Field(default_factory=lambda: _num(0.0), description="ψ: war-cost multiplier 1 + ψ(s_opp − s_own).")
    war_feedback: bool = Field(True, description="Switch of the war → tie feedback.")
    war_tie_shift: Num = Field(default_factory=lambda: _num(0.0),
                               description="Δ_war: change of the partners' tie when one partner starts a war "
                                           "(> 0 rallying, < 0 distancing).")
    split_memory: Num = Field(
        default_factory=lambda: _num(0.0),
        description="θ: the believer's probability that a weakened pair re-forms by the date of a coalition "
                    "cliff. 0: a split is taken as lasting (the coalition cliff shrinks with the support); "
                    "θ > 0: the expected cliff keeps θ of its size and adds θ times the fall of the believer's "
                    "p when the support returns (a window against the lone partner, 'one by one').")
    provocation: Provocation | None = None


class Triangle(_M):
    """The US–RU–CN triangle (order: pivot candidate, partner 1, partner 2)."""

    forced_split: bool = Field(False, description="Counterfactual: the partners' tie is held at −1 and both "
                                                  "partners deal in every step (a split in 100 % of runs).")
    coupling: Coupling = Field(default_factory=Coupling)

    actors: tuple[str, str, str]
    initial: dict[str, Num]
    balance_rate: Num
    stag_hunt: StagHunt
    belief_prior: Num
    belief_memory: Num
    defect_step: Num
    loyal_recovery: Num
    true_leak_prob: Num
    online_verify: Num
    noise_decay_m: Num = Field(
        default_factory=lambda: _num(0.5),
        description="Monthly decay rate of the stock of undetected fake leaks (noise ← noise·e^{−rate·Δ}); "
                    "the stock widens c̄ in crisis bargaining (fake_noise). 0: fakes never fade. "
                    "Engine default 0.5.")


# ---------------------------------------------------------------- calendar, shocks
class CalendarEvent(_M):
    date: dt.date
    kind: str
    known_by: dt.date
    track: str | None = None
    format: Literal["in_person", "video", "phone", "online"] | None = None
    flashpoint: str | None = None
    rung_push: Num | None = None
    note: str | None = None


class Shock(_M):
    window: tuple[dt.date, dt.date]
    kind: str
    known_by: dt.date
    hazard_mult: dict[str, Num]


class Hypothesis(_M):
    label: str
    description: str = ""
    set: dict[str, Any] = Field(default_factory=dict)


# ---------------------------------------------------------------- mechanisms and claims (the analysis' vocabulary)
class Mechanism(_M):
    """A named causal mechanism of the scenario and the switch that turns it off.

    ``switch`` maps dotted paths of the dynamics to the values that switch the mechanism off
    (the same syntax as a hypothesis' ``set:``); it is applied on top of the hypothesis being
    analysed. (The key is not ``off``: YAML 1.1 reads a bare ``off`` as the boolean false.) The mechanism map (:mod:`detente.crisis.analysis`) runs each hypothesis with and
    without it on the same random root (common random numbers).
    """

    label: str
    description: str = ""
    switch: dict[str, Any] = Field(min_length=1)


class ClaimTest(_M):
    """One testable part of a claim: ``output op value``.

    Without ``mechanism`` the quantity is the output's value under a hypothesis; with it, the
    mechanism's effect on the output (with − without, paired over runs). The verdict compares
    the interval quantity ± z·SE with ``value`` (see :mod:`detente.crisis.analysis`).
    """

    output: str
    op: Literal[">", "<"] = ">"
    value: float = 0.0
    mechanism: str | None = None
    meaning: str = ""


class Claim(_M):
    """A proposition of the source the scenario models, with the outputs that decide it."""

    id: str
    text: str
    mechanisms: list[str] = Field(default_factory=list)
    tests: list[ClaimTest] = Field(default_factory=list)
    record: str = ""
    record_events: list[str] = Field(default_factory=list)


# ---------------------------------------------------------------- the record (back-test) — docs/crisis.md "Back-test"
#: Kinds of declared record events the engine simulates (besides the war onset itself).
RECORD_EVENT_KINDS = {
    "agreement": "an agreement on a negotiation track (needs `track`)",
    "split": "the triangle's partners split (their tie falls to 0 or below)",
    "rung": "a flashpoint reached an escalation rung (needs `flashpoint` and `rung`; "
            "the rung counts as reached when it is at or below the start rung)",
}
#: Kinds the engine does not record per run (so they cannot be scored), with the reason.
RECORD_EVENT_UNSCORED: dict[str, str] = {}


class RecordFocal(_M):
    """The actor whose peace the report follows, over ``horizon_months`` (default: the
    scenario's horizon), with the report's ``label`` (default "A: N months")."""

    actor: str
    horizon_months: int | None = Field(None, ge=1, le=240)
    label: str | None = None


class RecordOnset(_M):
    """When the observed war (use of force) began, and how precisely the date is known:
    ``day``/``month`` → the step(s) of that month, ``year`` → the steps of that year."""

    date: dt.date
    precision: Literal["day", "month", "year"] = "day"


class RecordEvent(_M):
    """Another observed event the engine simulates (:data:`RECORD_EVENT_KINDS`): whether it
    ``happened`` by ``by`` (default: the end of the window)."""

    kind: str
    happened: bool = True
    by: dt.date | None = None
    track: str | None = None
    flashpoint: str | None = None
    rung: int | None = Field(None, ge=0)
    note: str = ""

    @model_validator(mode="after")
    def _simulable(self) -> RecordEvent:
        if self.kind in RECORD_EVENT_UNSCORED:
            raise ValueError(f"the engine cannot simulate a record event of kind {self.kind!r}: "
                             f"{RECORD_EVENT_UNSCORED[self.kind]}; it simulates: " + ", ".join(RECORD_EVENT_KINDS))
        if self.kind not in RECORD_EVENT_KINDS:
            raise ValueError(f"the engine cannot simulate a record event of kind {self.kind!r}; it simulates: "
                             + "; ".join(f"{k} ({v})" for k, v in RECORD_EVENT_KINDS.items())
                             + ". Describe the event in `note:` or leave it out of the record")
        if self.kind == "agreement" and not self.track:
            raise ValueError("a record event of kind 'agreement' needs `track:`")
        if self.kind == "rung" and (self.flashpoint is None or self.rung is None):
            raise ValueError("a record event of kind 'rung' needs `flashpoint:` and `rung:` "
                             "(it happened when the flashpoint reached that rung or higher by `by`)")
        return self


class RecordState(_M):
    """The state the record gives for a date (used by ``--as-of``): the escalation rung each
    named flashpoint had reached by then (an interpretive mapping of the facts onto the rungs)."""

    date: dt.date
    rungs: dict[str, int] = Field(default_factory=dict)
    note: str = ""


class CrowdForecast(_M):
    """A public forecast of the record's question on a date (e.g. a forecasting platform's
    community prediction), with its source; ``approximate`` when read off a chart or a text."""

    date: dt.date
    p: float = Field(ge=0.0, le=1.0)
    source: str
    approximate: bool = True


class RecordForecast(_M):
    """The forecast path: P(a war at ``flashpoint`` started by ``initiator`` before ``before``)
    as of each of ``dates`` (the engine started on that date from the record's state, with only
    the calendar events known by then), next to the ``crowd`` forecasts of the same question.
    ``chosen`` says which numbers were chosen before and which after the outcome was known."""

    question: str
    flashpoint: str
    initiator: str | None = None
    before: dt.date
    outcome: bool
    dates: list[dt.date] = Field(default_factory=list)
    crowd: list[CrowdForecast] = Field(default_factory=list)
    chosen: str = ""


class Record(_M):
    """What happened: the scenario's own back-test (docs/crisis.md "Back-test").

    ``window`` (start, end) is the period scored; ``cutoff`` the information date the forecast
    may use (default: the window's start). The war part of the record is inline (``war``,
    ``onset``, ``flashpoint``, ``initiator``) or read from ``facts``: a CSV with the columns of
    the shared timelines (date, event, actors, kind, …), a path relative to the scenario file;
    its first row of a kind in ``war_kinds`` inside the window gives the onset (date and its
    precision), the initiator (first actor listed) and the flashpoint (the one whose ``local``
    actor is listed). Inline values win over the file. ``reference`` names the hypothesis the
    others are compared with (Bayes factors); ``focal`` the actor whose months of peace the
    report follows.
    """

    window: tuple[dt.date, dt.date]
    cutoff: dt.date | None = None
    focal: RecordFocal | None = None
    reference: str | None = None
    facts: str | None = None
    war_kinds: list[str] = Field(default_factory=lambda: ["war_onset"])
    war: bool | None = None
    onset: RecordOnset | None = None
    flashpoint: str | None = None
    initiator: str | None = None
    events: list[RecordEvent] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)
    note: str = ""
    states: list[RecordState] = Field(default_factory=list)
    forecast: RecordForecast | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Record:
        a, b = self.window
        if not a <= b:
            raise ValueError(f"record.window: start {a} after end {b}")
        if self.war is False and (self.onset or self.initiator or self.flashpoint):
            raise ValueError("record: `war: false` with an onset, initiator or flashpoint")
        if self.war is None and self.facts is None and (self.onset or self.initiator or self.flashpoint):
            self.war = True
        if self.war is None and self.facts is None:
            raise ValueError("record: say whether a war (use of force) happened in the window (`war: true/false`) "
                             "or give `facts:` (a timeline CSV)")
        if self.war and self.facts is None and self.onset is None:
            raise ValueError("record: `war: true` needs `onset: {date: ..., precision: day|month|year}`")
        if self.onset is not None and not a <= self.onset.date <= b:
            raise ValueError(f"record.onset.date {self.onset.date} is outside the window {a} – {b}")
        return self


class CrisisSpec(_M):
    """The whole crisis description (``Scenario.dynamics``)."""

    engine: Literal["crisis"] = "crisis"
    settings: Settings
    actors: dict[str, ActorDyn]
    dyads: list[Dyad]
    flashpoints: list[Flashpoint]
    alliances: list[Alliance] = Field(default_factory=list)
    followers: dict[str, Follower] = Field(default_factory=dict)
    tracks: list[Track] = Field(default_factory=list)
    policies: Policies = Field(default_factory=Policies)
    triangle: Triangle | None = Field(
        None, description="The strategic triangle (pivot, partner 1, partner 2). Absent: the engine skips the "
                          "information/triangle step (no seesaw, leaks, loyalty beliefs, alignment support, "
                          "coupling or split) and the triangle outputs are null.")
    calendar: list[CalendarEvent] = Field(default_factory=list)
    shocks: list[Shock] = Field(default_factory=list)
    hypotheses: dict[str, Hypothesis] = Field(default_factory=dict)
    mechanisms: dict[str, Mechanism] = Field(default_factory=dict)
    claims: list[Claim] = Field(default_factory=list)
    record: Record | None = None

    @model_validator(mode="after")
    def _record_refs(self) -> CrisisSpec:
        """The focal actor (``settings.russia``, filled from the record or the triangle when not
        given) and the references of the record (actors, flashpoints, tracks, the reference
        hypothesis)."""
        r = self.record
        focal = r.focal.actor if r is not None and r.focal is not None else None
        if self.settings.russia is None:
            if focal is not None:
                self.settings.russia = focal
            elif self.triangle is not None:
                self.settings.russia = self.triangle.actors[1]
            else:
                raise ValueError("settings.russia: no focal actor; without a triangle give `settings.russia` "
                                 "or `record.focal.actor`")
        elif focal is not None and focal != self.settings.russia:
            raise ValueError(f"record.focal.actor {focal!r} differs from settings.russia {self.settings.russia!r} "
                             "(the focal actor of the reports); give one of them or the same actor")
        if self.settings.russia not in self.actors:
            raise ValueError(f"settings.russia: unknown actor {self.settings.russia!r} "
                             f"(known: {', '.join(sorted(self.actors))})")
        if r is None:
            return self
        errs = []
        fps, tracks = {f.id for f in self.flashpoints}, {t.id for t in self.tracks}
        for where, v, pool, what in (("record.focal.actor", r.focal.actor if r.focal else None, set(self.actors), "actor"),
                                     ("record.initiator", r.initiator, set(self.actors), "actor"),
                                     ("record.flashpoint", r.flashpoint, fps, "flashpoint"),
                                     # without hypotheses the base description is the only one: no reference to check
                                     ("record.reference", r.reference if self.hypotheses else None, set(self.hypotheses),
                                      "hypothesis"),
                                     *((f"record.events.{i}.track", e.track, tracks, "track") for i, e in enumerate(r.events)),
                                     *((f"record.events.{i}.flashpoint", e.flashpoint, fps, "flashpoint")
                                       for i, e in enumerate(r.events)),
                                     *((f"record.states.{i}.rungs", f, fps, "flashpoint")
                                       for i, st in enumerate(r.states) for f in st.rungs),
                                     ("record.forecast.flashpoint", r.forecast.flashpoint if r.forecast else None, fps,
                                      "flashpoint"),
                                     ("record.forecast.initiator", r.forecast.initiator if r.forecast else None,
                                      set(self.actors), "actor")):
            if v is not None and v not in pool:
                errs.append(f"{where}: unknown {what} {v!r} (known: {', '.join(sorted(pool)) or 'none'})")
        if self.triangle is None:
            for i, e in enumerate(r.events):
                if e.kind == "split":
                    errs.append(f"record.events.{i}: kind 'split' needs `triangle` (the scenario declares none, "
                                "so the engine simulates no split)")
        nr = {f.id: f.escalation.rungs for f in self.flashpoints}
        for i, e in enumerate(r.events):
            if (e.kind == "rung" and e.flashpoint is not None and e.rung is not None and e.flashpoint in nr
                    and not 0 <= e.rung < nr[e.flashpoint]):
                errs.append(f"record.events.{i}.rung: {e.rung} is not a rung of {e.flashpoint} "
                            f"(0–{nr[e.flashpoint] - 1})")
        for i, st in enumerate(r.states):
            for f, k in st.rungs.items():
                if f in nr and not 0 <= k < nr[f]:
                    errs.append(f"record.states.{i}.rungs.{f}: {k} is not a rung of {f} (0–{nr[f] - 1})")
        if errs:
            raise ValueError("; ".join(errs))
        return self

    @model_validator(mode="after")
    def _refs(self) -> CrisisSpec:
        errs: list[str] = []
        actors = set(self.actors)
        dyads = {d.id for d in self.dyads}
        fps = {f.id for f in self.flashpoints}
        tracks = {t.id for t in self.tracks}

        def need(v: str, where: str, pool: set[str], what: str) -> None:
            if v not in pool:
                errs.append(f"{where}: unknown {what} {v!r} (known: {', '.join(sorted(pool))})")

        for i, d in enumerate(self.dyads):
            need(d.a, f"dyads.{i}.a", actors, "actor")
            need(d.b, f"dyads.{i}.b", actors, "actor")
            for k in d.kappa:
                need(k, f"dyads.{i}.kappa", {d.a, d.b}, "dyad member")
            for k in sorted({d.a, d.b} - set(d.kappa)):
                errs.append(f"dyads.{i}.kappa: needs the war cost of {k!r} (both members of the dyad)")
            for j, b in enumerate(d.beliefs):
                need(b.believer, f"dyads.{i}.beliefs.{j}.believer", {d.a, d.b}, "dyad member")
            for j, s in enumerate(d.support):
                need(s.side, f"dyads.{i}.support.{j}.side", {d.a, d.b}, "dyad member")
                for a in s.actors:
                    need(a, f"dyads.{i}.support.{j}.actors", actors, "actor")
        for i, f in enumerate(self.flashpoints):
            for fld in ("local", "adversary"):
                need(getattr(f, fld), f"flashpoints.{i}.{fld}", actors, "actor")
            for dy_id in f.dyads:
                need(dy_id, f"flashpoints.{i}.dyads", dyads, "dyad")
            for a in list(f.background_initiators) + f.hawks + f.involves + [f.crisis.demander]:
                need(a, f"flashpoints.{i}", actors, "actor")
            if f.escalation.start_rung >= f.escalation.rungs:
                errs.append(f"flashpoints.{i}.escalation.start_rung: must be below rungs ({f.escalation.rungs})")
        for i, t in enumerate(self.tracks):
            for a in t.parties:
                need(a, f"tracks.{i}.parties", actors, "actor")
            for dct in ("demands", "obstinate", "rate_m"):
                if set(getattr(t, dct)) != set(t.parties):
                    errs.append(f"tracks.{i}.{dct}: needs exactly the parties {list(t.parties)}")
            for dy_id in t.dyads:
                need(dy_id, f"tracks.{i}.dyads", dyads, "dyad")
            for fp_id in t.flashpoints:
                need(fp_id, f"tracks.{i}.flashpoints", fps, "flashpoint")
        for i, al in enumerate(self.alliances):
            need(al.patron, f"alliances.{i}.patron", actors, "actor")
            need(al.protege, f"alliances.{i}.protege", actors, "actor")
        for k, fol in self.followers.items():
            need(k, "followers", actors, "actor")
            need(fol.patron, f"followers.{k}.patron", actors, "actor")
        p = self.policies
        if p.stall:
            need(p.stall.actor, "policies.stall.actor", actors, "actor")
            need(p.stall.track, "policies.stall.track", tracks, "track")
        if p.seesaw:
            need(p.seesaw.actor, "policies.seesaw.actor", actors, "actor")
        for i, lk in enumerate(p.leaks):
            for fld in ("sender", "receiver", "about"):
                need(getattr(lk, fld), f"policies.leaks.{i}.{fld}", actors, "actor")
        for i, ap in enumerate(p.ally_pressure):
            need(ap.patron, f"policies.ally_pressure.{i}.patron", actors, "actor")
            need(ap.protege, f"policies.ally_pressure.{i}.protege", actors, "actor")
        if self.triangle is None:
            # the information channels act on the triangle's partners: without one they do nothing
            if p.seesaw:
                errs.append("policies.seesaw: a seesaw policy needs `triangle` (the scenario declares none)")
            if p.leaks:
                errs.append("policies.leaks: leaks need `triangle` (the scenario declares none)")
        for a in self.triangle.actors if self.triangle is not None else ():
            need(a, "triangle.actors", actors, "actor")
        prov = self.triangle.coupling.provocation if self.triangle is not None else None
        if prov is not None:
            need(prov.initiator, "triangle.coupling.provocation.initiator", actors, "actor")
            for fp_id in prov.flashpoints:
                need(fp_id, "triangle.coupling.provocation.flashpoints", fps, "flashpoint")
        for i, e in enumerate(self.calendar):
            if e.track is not None:
                need(e.track, f"calendar.{i}.track", tracks, "track")
            if e.flashpoint is not None:
                need(e.flashpoint, f"calendar.{i}.flashpoint", fps, "flashpoint")
        for i, shk in enumerate(self.shocks):
            for fp_id in shk.hazard_mult:
                need(fp_id, f"shocks.{i}.hazard_mult", fps, "flashpoint")
        ia = self.settings.initiators_allowed
        if ia != "all":
            for a in ia:
                need(a, "settings.initiators_allowed", actors, "actor")
        for i, cl in enumerate(self.claims):
            for m in dict.fromkeys(cl.mechanisms + [t.mechanism for t in cl.tests if t.mechanism]):
                if self.mechanisms:
                    need(m, f"claims.{i}.mechanisms", set(self.mechanisms), "mechanism")
        errs += domain_problems(self.num_items())
        if errs:
            raise ValueError("; ".join(errs))
        return self

    def num_items(self) -> list[tuple[str, Num]]:
        """Every annotated number with its dotted path (for reports and audits)."""
        out: list[tuple[str, Num]] = []
        inner = (BaseModel, dict, list, tuple)   # what may hold a Num (a Num is a BaseModel)

        def walk(obj: Any, path: str) -> None:
            # only values that can hold a number are walked into (not every leaf of the description)
            if isinstance(obj, Num):
                out.append((path, obj))
            elif isinstance(obj, BaseModel):
                for name in _walked_fields(type(obj)):
                    v = getattr(obj, name)
                    if isinstance(v, inner):
                        walk(v, f"{path}.{name}" if path else name)
            elif isinstance(obj, dict):
                for k, v in obj.items():
                    if isinstance(v, inner):
                        walk(v, f"{path}.{k}")
            else:   # a list or tuple
                for i, v in enumerate(obj):
                    if isinstance(v, inner):
                        key = getattr(v, "id", None)
                        walk(v, f"{path}[{key}]" if key else f"{path}.{i}")

        walk(self, "")
        return out


_SCALAR_TYPES = (str, int, float, bool, dt.date, type(None))


def _scalar_annotation(ann: Any) -> bool:
    """Whether a field annotated ``ann`` holds only plain values (text, numbers, dates, literals),
    never a model, mapping or sequence."""
    origin = get_origin(ann)
    if origin is Literal:
        return True
    if origin is Annotated:
        return _scalar_annotation(get_args(ann)[0])
    if origin in (Union, types.UnionType):
        return all(_scalar_annotation(a) for a in get_args(ann))
    return ann in _SCALAR_TYPES


@functools.cache
def _walked_fields(cls: type[BaseModel]) -> tuple[str, ...]:
    """The fields of a model class that :meth:`CrisisSpec.num_items` walks into, in order: all but
    ``hypotheses`` and those annotated as plain values (they cannot hold a number)."""
    return tuple(name for name, f in cls.model_fields.items()
                 if name != "hypotheses" and not _scalar_annotation(f.annotation))


# ---------------------------------------------------------------- domains of the numbers
_PROB = (0.0, 1.0, False, False, "a probability or share in [0, 1]")
_NONNEG = (0.0, math.inf, False, True, "a non-negative number")
_POS = (0.0, math.inf, True, True, "a positive number")

#: Admissible values by field name (for mappings such as ``kappa.US`` the mapping's name).
#: The engine divides by the positive ones and takes logs/powers of probabilities; values
#: outside these sets used to end in a ZeroDivisionError, NaN results or silent nonsense.
DOMAINS: dict[str, tuple[float, float, bool, bool, str]] = {
    "delta_annual": (0.0, 1.0, True, True, "an annual discount factor in (0, 1)"),
    "capability": _POS, "growth_sd_m": _NONNEG, "exponent": _POS, "kappa": _NONNEG, "weight": _NONNEG,
    "phi_base": _PROB, "phi_max": _PROB, "agreement_phi": _PROB,
    "verify": _PROB, "credulity": _PROB, "hawk_share": _PROB,
    "base_hazard_m": _NONNEG, "background_initiators": _NONNEG, "hazard_mult": _NONNEG,
    "up_m": _NONNEG, "down_m": _NONNEG, "up_pressure": _NONNEG, "down_groups": _NONNEG,
    "c_A": _NONNEG, "c_bar": _POS, "fake_noise": _NONNEG,
    "reliability_prior": _PROB, "follows_patron": _PROB, "lag_mean_m": _POS,
    "meet_prob_m": _NONNEG, "eta": _PROB, "omega": _PROB, "omega_idle": _PROB,
    "demands": _PROB, "obstinate": _PROB, "rate_m": _NONNEG, "deadline_boost": _NONNEG, "h0": _NONNEG,
    "holdout": _NONNEG, "postpone_prob": _PROB, "new_groups_per_quarter": _NONNEG,
    "obstinacy_boost": _PROB, "patience": _NONNEG, "period_months": _POS, "offer_s": _NONNEG,
    "courting_gain": _NONNEG, "fake_share": _PROB, "request_rate_m": _NONNEG, "q_gain": _PROB,
    "initial": (-1.0, 1.0, False, False, "a tie value in [-1, 1]"),
    "balance_rate": _NONNEG, "belief_prior": _PROB, "belief_memory": _NONNEG, "defect_step": _NONNEG,
    "loyal_recovery": _NONNEG, "true_leak_prob": _PROB, "online_verify": _PROB,
    "pressure_scale_months": (0.0, 240.0, True, False, "a time scale in months in (0, 240]"),
    "noise_decay_m": (0.0, 12.0, False, False, "a monthly decay rate in [0, 12]"),
    "deadline_width_months": (0.0, 120.0, True, False, "a width in months in (0, 120]"),
    "deadline_tail_months": (0.0, 120.0, False, False, "a number of months in [0, 120]"),
    "push_factor": _PROB,
    "hold_months": (0.0, 120.0, False, False, "a number of months in [0, 120]"),
    "hold_damping": _NONNEG, "online_fake_block": _PROB, "group_meet_prob_m": _NONNEG,
    "reliability": _PROB, "tie_exponent": _POS, "cost_effect": (0.0, 2.0, False, False, "a number in [0, 2]"),
    "war_tie_shift": (-2.0, 2.0, False, False, "a tie change in [-2, 2]"),
    "hold_tie": (-1.0, 1.0, False, False, "a tie value in [-1, 1]"),
    "patience_months": (0.0, 240.0, True, False, "a time scale in months in (0, 240]"),
    "beta": _NONNEG, "split_memory": _PROB,
}
_KEYED = {"kappa", "demands", "obstinate", "rate_m", "background_initiators", "hazard_mult", "initial"}


@functools.lru_cache(maxsize=4096)
def _domain(path: str) -> tuple[float, float, bool, bool, str] | None:
    """The domain (:data:`DOMAINS`) of the number at ``path``: by its field's name, or for a
    mapping such as ``kappa.US`` by the mapping's name (paths recur in every description)."""
    parts = [m.group(1) or m.group(2) for m in _SEG.finditer(path)]
    name = parts[-1] if len(parts) < 2 or parts[-2] not in _KEYED else parts[-2]
    return DOMAINS.get(name)


def domain_problems(items: list[tuple[str, Num]]) -> list[str]:
    """Numbers (``value`` and assumption range) outside their field's domain (:data:`DOMAINS`)."""
    errs = []
    for path, num in items:
        dom = _domain(path)
        if dom is None:
            continue
        lo, hi, lo_open, hi_open, what = dom
        vals = [num.value] + (list(num.assumption.range) if num.assumption is not None else [])
        for v in vals:
            if not math.isfinite(v) or v < lo or v > hi or (lo_open and v == lo) or (hi_open and v == hi):
                src = "value" if v == num.value else "assumption range"
                errs.append(f"{path}: {src} {v:g} is not {what}")
                break
    return errs


# ---------------------------------------------------------------- patches (hypotheses)
_SEG = re.compile(r"([^.\[\]]+)|\[([^\]]+)\]")


def _segments(path: str) -> list[str | tuple[str]]:
    segs: list[str | tuple[str]] = []
    for m in _SEG.finditer(path):
        if m.group(1) is not None:
            segs.append(m.group(1))
        else:
            segs.append((m.group(2),))
    return segs


def _tree_copy(obj: Any) -> Any:
    """Copy dicts and lists without sharing (YAML anchors/aliases become independent copies);
    other values (leaves) are kept as they are, without a call per leaf."""
    if isinstance(obj, dict):
        return {k: _tree_copy(v) if isinstance(v, (dict, list)) else v for k, v in obj.items()}
    if isinstance(obj, list):
        return [_tree_copy(v) if isinstance(v, (dict, list)) else v for v in obj]
    return obj


def _overrides_value(num: dict[str, Any]) -> bool:
    """Whether a number's ``value`` is overridden at run time (calibration key, per-run draw, or a
    frozen fit, whose value is read from the fit file)."""
    assumption = num.get("assumption")
    drawn = isinstance(assumption, dict) and assumption.get("draw") == "uniform"
    return bool(num.get("calibrated")) or drawn or num.get("fit") is not None


def apply_patch(doc: dict[str, Any], updates: dict[str, Any], *, where: str) -> dict[str, Any]:
    """Return a copy of ``doc`` with each ``dotted.path[id].key: value`` of ``updates`` set.

    ``[ID]`` selects the element of a list whose ``id`` equals ``ID``; a plain integer
    segment indexes a list. Unknown paths raise :class:`InputError` naming ``where``.
    A number set at ``X`` or ``X.value`` replaces the annotated number ``X`` with a fixed
    assumption of that value when ``X`` is calibrated, drawn per run or taken from a frozen fit
    (otherwise the calibration file, the draw or the fit would win over the new ``value``).
    """
    out = _tree_copy(doc)
    _patch_in_place(out, updates, where=where)
    return out


def _patch_in_place(out: dict[str, Any], updates: dict[str, Any], *, where: str) -> None:
    """:func:`apply_patch` on ``out`` itself (a tree the caller owns, e.g. a fresh :func:`_tree_copy`)."""
    problems: list[Problem] = []
    for path, value in list(updates.items()):
        node: Any = out
        segs = _segments(path)
        ok = bool(segs)
        for i, seg in enumerate(segs):
            last = i == len(segs) - 1
            key: Any
            if isinstance(seg, tuple):
                if not isinstance(node, list):
                    ok = False
                    break
                idx = [j for j, el in enumerate(node) if isinstance(el, dict) and str(el.get("id")) == seg[0]]
                if not idx:
                    ok = False
                    break
                key = idx[0]
            elif isinstance(node, list):
                if not seg.isdigit() or int(seg) >= len(node):
                    ok = False
                    break
                key = int(seg)
            elif isinstance(node, dict):
                key = seg
                if key not in node and not last:
                    node[key] = {}
            else:
                ok = False
                break
            if last:
                number = isinstance(value, (int, float)) and not isinstance(value, bool)
                if isinstance(node, dict) and isinstance(node.get(key), dict) and number and (
                        "value" in node[key] or "fit" in node[key]):
                    # a bare number replacing an annotated one: keep it annotated as a hypothesis assumption
                    node[key] = {"value": float(value), "assumption": {"range": [float(value), float(value)],
                                                                       "note": f"set by {where}"}}
                elif key == "value" and number and isinstance(node, dict) and _overrides_value(node):
                    # `X.value: v` on a calibrated or per-run drawn number: `value` alone would be
                    # ignored (the calibration file or the draw wins), so the number becomes v
                    node.clear()
                    node.update({"value": float(value), "assumption": {"range": [float(value), float(value)],
                                                                       "note": f"set by {where}"}})
                else:
                    node[key] = _tree_copy(value)
            else:
                node = node[key]
        if not ok:
            problems.append(Problem(f"{where}: path {path!r} does not exist in the scenario dynamics",
                                    column=path, value=value, expected="a path such as flashpoints[UA].base_hazard_m"))
    if problems:
        raise InputError(problems)


def _settable(annotation: Any) -> Any:
    """``annotation`` without ``Optional``/``Annotated``/unions with ``None`` (what a path walks into)."""
    import typing

    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            rest = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(rest) != 1:
                return annotation
            annotation = rest[0]
        else:
            return annotation


def _setting_paths(model: Any, depth: int = 3) -> list[str]:
    """Dotted paths of the settings under ``model`` (a pydantic class), ``[ID]`` for a list
    element and ``KEY`` for a mapping key, ``depth`` levels deep (for suggestions)."""
    import typing

    out: list[str] = []
    if depth == 0 or not (isinstance(model, type) and issubclass(model, BaseModel)):
        return out
    for name, f in model.model_fields.items():
        out.append(name)
        inner = _settable(f.annotation)
        sel = ""
        origin, args = typing.get_origin(inner), typing.get_args(inner)
        if origin is list and args:
            inner, sel = _settable(args[0]), "[ID]"
        elif origin is dict and len(args) == 2:
            inner, sel = _settable(args[1]), ".KEY"
        out += [f"{name}{sel}.{q}" for q in _setting_paths(inner, depth - 1)]
    return out


def set_path_problems(paths: Iterable[str], *, where: str = "--set") -> list[Problem]:
    """A problem for each dotted path that names no setting of a crisis description
    (:class:`CrisisSpec`), e.g. ``--set no.such.path=1`` or ``settings.horizn_months``: it names
    the first unknown part and the close valid names there ("did you mean"). Paths through
    mappings with free keys (``actors.RU``), list elements (``flashpoints[UA]``, ``dyads.0``) and
    free-form values are followed as far as the model says what may be there."""
    import difflib
    import typing

    problems: list[Problem] = []
    for path in paths:
        node: Any = CrisisSpec
        walked: list[str] = []
        for seg in _segments(path):
            node = _settable(node)
            origin, args = typing.get_origin(node), typing.get_args(node)
            if isinstance(seg, tuple) or (origin is list and seg.isdigit()):
                if origin is not list:
                    break                                    # apply_patch reports a selector on a non-list
                node, text = args[0], f"[{seg[0]}]" if isinstance(seg, tuple) else f".{seg}"
                walked.append(text)
                continue
            if origin is dict:
                node = args[1] if len(args) == 2 else Any
                walked.append(f".{seg}")
                continue
            if not (isinstance(node, type) and issubclass(node, BaseModel)):
                break                                        # a free-form value: nothing more to check
            fields = {name: f.annotation for name, f in node.model_fields.items()}
            if seg not in fields:
                prefix = "".join(walked).lstrip(".")
                close = difflib.get_close_matches(seg, list(fields), n=3, cutoff=0.6)
                full = [f"{prefix}.{c}" if prefix else c for c in close]
                if not full:                                 # the name may sit deeper: settings.horizon_months
                    deeper = _setting_paths(node)
                    names = difflib.get_close_matches(seg, sorted({q.rsplit(".", 1)[-1] for q in deeper}), n=3,
                                                      cutoff=0.75)
                    full = [f"{prefix}.{q}" if prefix else q for q in deeper if q.rsplit(".", 1)[-1] in names][:3]
                hint = f"; did you mean {' or '.join(repr(f) for f in full)}?" if full else ""
                problems.append(Problem(
                    f"{where} {path!r}: {repr(prefix) if prefix else 'the crisis dynamics'} has no setting "
                    f"{seg!r}{hint}", column=where, value=path,
                    expected=f"a setting of {prefix or 'the dynamics'}: " + ", ".join(sorted(fields))))
                break
            node = fields[seg]
            walked.append(f".{seg}")
    return problems


_SPEC_MEMO: ContextVar[dict[Any, tuple[Any, CrisisSpec]] | None] = ContextVar("detente_crisis_spec_memo", default=None)


@contextmanager
def spec_memo() -> Iterator[None]:
    """Within the block, :func:`load_spec` validates each variant of a description once: a call
    with the same ``dynamics`` object (by identity), hypothesis and ``extra`` paths (the same keys
    in the same order, the same values and types) returns the description validated by the first
    call. One analysis (:func:`detente.crisis.analysis.run_hypotheses`) loads the same variants
    several times (planning, the mechanism switches, the engine's plans); validating a description
    is most of their cost (issue 17). The ``dynamics`` must not change inside the block and the
    descriptions returned are shared: read them, do not change them. Failed loads are not kept
    (each call raises its own problems, naming its own ``file``)."""
    token = _SPEC_MEMO.set({})
    try:
        yield
    finally:
        _SPEC_MEMO.reset(token)


def _frozen(obj: Any) -> Any:
    """A hashable, type-exact form of an ``extra`` mapping (KeyError for a value of another kind)."""
    if isinstance(obj, dict):
        return ("dict", tuple((k, _frozen(v)) for k, v in obj.items()))
    if isinstance(obj, (list, tuple)):
        return (type(obj).__name__, tuple(_frozen(v) for v in obj))
    if obj is None or type(obj) in (str, int, float, bool):
        return (type(obj).__name__, obj)
    raise KeyError(type(obj).__name__)


def load_spec(dynamics: dict[str, Any] | None, *, file: str | None = None,
              hypothesis: str | None = None, extra: dict[str, Any] | None = None) -> CrisisSpec:
    """Validate ``dynamics`` (optionally patched by a named hypothesis and ``extra`` paths).

    Raises :class:`InputError` with one problem per validation error, located by path. Inside
    :func:`spec_memo` a variant already validated there is returned again.
    """
    if not dynamics:
        raise InputError(Problem("the scenario has no `dynamics:` block for the crisis engine", file=file,
                                 column="dynamics", expected="a crisis dynamics mapping (see docs/crisis.md)"))
    memo = _SPEC_MEMO.get()
    if memo is None:
        return _load_spec(dynamics, file=file, hypothesis=hypothesis, extra=extra)
    try:
        key = (id(dynamics), hypothesis, _frozen(extra or {}))
    except KeyError:   # a value of another kind in `extra`: not kept
        return _load_spec(dynamics, file=file, hypothesis=hypothesis, extra=extra)
    hit = memo.get(key)
    if hit is not None and hit[0] is dynamics:
        return hit[1]
    spec = _load_spec(dynamics, file=file, hypothesis=hypothesis, extra=extra)
    memo[key] = (dynamics, spec)   # the dynamics object is kept alive: its id is not reused in the block
    return spec


def _load_spec(dynamics: dict[str, Any], *, file: str | None, hypothesis: str | None,
               extra: dict[str, Any] | None) -> CrisisSpec:
    """:func:`load_spec` itself (the description validated, no memo)."""
    def base() -> dict[str, Any]:
        """A fresh copy of the description with the hypothesis' ``set:`` applied (one tree copy)."""
        doc = _tree_copy(dict(dynamics))
        if hypothesis is not None:
            hyps = doc.get("hypotheses") or {}
            if hypothesis not in hyps:
                raise InputError(Problem(f"unknown hypothesis {hypothesis!r}", file=file, column="hypotheses",
                                         value=hypothesis, expected=", ".join(sorted(hyps)) or "a declared hypothesis"))
            # a snapshot of the hypothesis' `set:`: it lives in the tree being patched
            _patch_in_place(doc, _tree_copy((hyps[hypothesis] or {}).get("set", {})), where=f"hypothesis {hypothesis!r}")
        return doc

    doc = base()
    allow_bare = hypothesis is not None
    if extra:
        unknown = set_path_problems(extra, where="--set")
        if unknown:
            raise InputError(unknown)
        _patch_in_place(doc, extra, where="--set")
        allow_bare = True
    context = {"allow_bare": allow_bare,
               "bare_note": f"hypothesis {hypothesis}" if hypothesis is not None else "--set"}
    try:
        return CrisisSpec.model_validate(doc, context=context)
    except ValidationError as exc:
        errors = exc.errors()
    # label each error by where it comes from: the hypothesis (or the base description) alone,
    # or the --set overrides on top of it
    own: set[tuple[Any, str]] | None = None
    if extra:
        try:
            CrisisSpec.model_validate(base(), context=context)   # the description without the --set paths
            own = set()
        except ValidationError as exc0:
            own = {(tuple(e["loc"]), e["msg"]) for e in exc0.errors()}
    problems = []
    for e in errors:
        path = ".".join(str(x) for x in ("dynamics",) + tuple(e["loc"]))
        msg = e["msg"].removeprefix("Value error, ")
        val = e.get("input")
        if isinstance(val, dict) and e["loc"] and e["loc"][-1] == "fit":
            # a frozen-fit reference: name it as file/variant/coefficient (or hazard)
            val = "/".join(str(val.get(k, d)) for k, d in (("file", "icb_engine"), ("variant", "without_trigger"))) \
                + "/" + str(val.get("coefficient") or val.get("hazard"))
        if isinstance(val, (dict, list)):
            val = None
        from_set = own is not None and (tuple(e["loc"]), e["msg"]) not in own
        if from_set:
            msg = f"(--set) {msg}"
        elif hypothesis:
            msg = f"(hypothesis {hypothesis!r}) {msg}"
        problems.append(Problem(msg, file=file, column=path, value=val))
    raise InputError(problems) from None


def crisis_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a crisis scenario's ``dynamics`` block (:class:`CrisisSpec`).

    The scenario schema (``detente schema``) keeps ``dynamics`` a free mapping because the
    scenario layer does not know the engine; this one (``detente schema --crisis``,
    ``schemas/crisis-dynamics.schema.json``) describes it. What a schema cannot say is checked
    when the scenario is loaded: that a ``fit:`` reference names a coefficient the frozen fit has,
    domains of the numbers, references between ids.
    """
    schema = CrisisSpec.model_json_schema(mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": "https://detente.invalid/schemas/crisis-dynamics.schema.json",
            **schema, "title": "detente crisis dynamics"}


# ---------------------------------------------------------------- calibration
#: The parsed calibration file, keyed by its path and the file's identity (device, inode, size,
#: modification time): a compiled description resolves every calibrated number through
#: :func:`_calibration`, and parsing the file each time was most of the cost (issue 17).
_CAL_CACHE: dict[str, Any] = {}


def _calibration() -> dict[str, Any] | None:
    """The calibration file (:data:`CALIBRATION_PATH`) parsed, or ``None`` when it is missing or
    unreadable. Parsed once per version of the file (a rewritten file is read again); the
    returned mapping is shared, so callers only read it."""
    import json

    path = CALIBRATION_PATH
    try:
        st = path.stat()
    except OSError:
        return None
    key = (str(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    if _CAL_CACHE.get("key") == key:
        return _CAL_CACHE["value"]
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        value = None
    _CAL_CACHE.clear()
    _CAL_CACHE.update(key=key, value=value)
    return value


def _lookup(d: Any, key: str) -> float | None:
    for part in key.split("."):
        if isinstance(d, dict) and part in d:
            d = d[part]
        else:
            return None
    if isinstance(d, dict) and "value" in d:
        d = d["value"]
    return float(d) if isinstance(d, (int, float)) and not isinstance(d, bool) else None


def resolve(num: Num, notes: list[str] | None = None, path: str = "") -> float:
    """The number to use: the calibrated value when available, else ``value``."""
    if num.calibrated:
        cal = _calibration()
        v = _lookup(cal, num.calibrated) if cal else None
        if v is not None:
            return v
        if notes is not None:
            notes.append(f"{path}: calibration key {num.calibrated!r} not available, used {num.value:g}")
    return num.value
