"""The time-stepped crisis engine, vectorised over Monte-Carlo runs.

One call of :func:`run` simulates ``runs`` independent histories of a crisis scenario
(``Scenario.dynamics``, validated by :mod:`detente.crisis.spec`) over ``horizon_months``
with a monthly (default) or weekly step. The loop runs over time only; every state
variable is a numpy array over the runs of a chunk. Chunks draw from
``SeedSequence(root, spawn_key=(chunk,))`` with a recorded ``chunk_size``, so results do
not depend on how chunks are scheduled (serial, worker processes or a Dask cluster).

The public chunk API: :func:`plan` compiles a scenario and cuts its runs into
:class:`CrisisChunk` jobs; :func:`simulate_chunk` simulates one (what executors map over);
:meth:`CrisisPlan.assemble` puts the parts together in chunk order; :func:`run_plans` does all
three on an executor, keeping finished chunks in a chunk store so a killed run resumes;
:func:`simulate` runs a compiled scenario with any random source and :func:`with_values` sets
numbers per run (the sensitivity studies' parameter points).

Step order (specs/crisis.md §9.3):

1. capabilities — ``P_i ← P_i·exp(g_i·Δ + σ_i√Δ·ε)``;
2. diplomacy — calendar meetings, postponements (stalling), online format, expert groups
   (progress stocks ``a_k``), commitment capacity φ per dyad;
3. information — seesaw offer, true and fake leaks from any side, Bayesian updating with
   believed likelihoods and verification, stag-hunt loyalty test, balance dynamics of the
   US–RU–CN triangle and its Dittmer configuration;
4. bargaining — per dyad and direction the preventive-war backward pass over the believed
   power path (with a believed cliff); risk–return P(war) for flashpoints in crisis;
   Abreu–Gul concessions per negotiation track with momentum, deadlines and holdout;
5. escalation — Richardson forces, escalation rungs, allies' lagged requests, perceived
   patron support q and the protégé war party's moral hazard;
6. hazard — λ_j = λ₀_j·exp(Σβx) split into cause-specific parts with initiators, competing
   risks with the proportional tie rule, onsets drawn;
7. record.

References are given in :mod:`detente.crisis.kernels` and ``docs/crisis.md``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import math
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date  # the Calendar field `dt` hides the module name inside its class body
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from detente.crisis import compiled as _compiled_kernels
from detente.crisis import kernels as K
from detente.crisis.result import CrisisResult
from detente.crisis.spec import CrisisSpec, Num, load_spec, resolve
from detente.errors import InputError, Problem

__all__ = ["CrisisParams", "run", "compile_spec", "calibration_note", "drawable", "CrisisChunk", "CrisisPlan", "plan",
           "simulate", "simulate_chunk", "chunk_work", "with_values", "run_plans", "run_planned", "execution", "current_execution",
           "reporting"]

WEEK_MONTHS = 12.0 / 52.0
NCAUSE = 6   # background, preventive, crisis, moral hazard, escalation, provocation (result.CAUSES)


class CrisisParams(BaseModel):
    """Run parameters of the crisis engine (anything left ``None`` comes from the scenario)."""

    model_config = ConfigDict(extra="forbid")

    runs: int | None = Field(None, ge=1)
    horizon_months: int | None = Field(None, ge=1, le=240)
    step: Literal["month", "week"] | None = None
    chunk_size: int = Field(8192, ge=1, description="Runs per random stream (recorded; results depend on it).")
    hypothesis: str | None = None
    set: dict[str, Any] = Field(default_factory=dict, description="Extra dotted-path overrides of the dynamics.")
    information_cutoff: dt.date | Literal["all"] | None = Field(
        None, description="Calendar events known after this date are ignored; None = scenario start; 'all' = hindsight.")
    record_paths: bool = True
    workers: int = Field(1, ge=1, le=64)


# ====================================================================== compilation
def _months_between(a: dt.date, b: dt.date) -> float:
    return (b.year - a.year) * 12 + (b.month - a.month) + (b.day - a.day) / 30.4375


def _add_months(d: dt.date, k: int) -> dt.date:
    y, m = divmod(d.month - 1 + k, 12)
    return dt.date(d.year + y, m + 1, 1)


def _month_end(d: dt.date) -> dt.date:
    return _add_months(dt.date(d.year, d.month, 1), 1) - dt.timedelta(days=1)


@dataclass
class _Compiled:
    spec: CrisisSpec
    notes: list[str]
    fixed: dict[str, float]
    drawn: list[tuple[str, float, float]]
    actors: list[str]
    aidx: dict[str, int]
    dt: float
    n_steps: int
    step_start: list[date]
    step_end: list[date]
    month_ends: list[date]
    month_end_step: list[int]
    delta_m: float
    events: list[Any]
    shocks: list[Any]


#: Numbers the engine uses as one value for all runs (the mean of a per-run draw, or the
#: plain value): a ``draw: uniform`` on them would have no effect, so it is refused.
SCALAR_ONLY = re.compile(r"^(settings\.delta_annual|actors\.[^.]+\.(growth_m|growth_sd_m)|triangle\.stag_hunt\.[RTPS]"
                         r"|tracks\[[^\]]+\]\.meet_prob_m|flashpoints\[[^\]]+\]\.background_initiators\.[^.]+"
                         r"|calendar\..*|shocks\..*)$")


def drawable(path: str, num: Num) -> bool:
    """Whether ``settings.draw_assumptions`` draws this number per run: an assumption with a
    non-degenerate range, not calibrated, and not one the engine uses as one value for all runs."""
    a = num.assumption
    return (a is not None and a.range[0] < a.range[1] and not num.calibrated
            and not SCALAR_ONLY.match(path))


def calibration_note(n_cal: int, keys: dict[str, int]) -> str:
    """The run note on calibrated numbers, built from the calibration file's ``provenance``
    (generation date, deriving function, datasets) and the keys the run used."""
    from detente.crisis.spec import CALIBRATION_PATH, _calibration

    prov = (_calibration() or {}).get("provenance") or {}
    made = []
    if prov.get("generated"):
        made.append(f"generated {prov['generated']}")
    if prov.get("function"):
        made.append(f"by {prov['function']}")
    text = f"{n_cal} numbers taken from {CALIBRATION_PATH.parent.name}/{CALIBRATION_PATH.name}"
    if made:
        text += f" ({' '.join(made)})"
    if keys:
        text += "; keys " + ", ".join(f"{k} ×{v}" for k, v in keys.items())
    ds = prov.get("datasets")
    if isinstance(ds, dict) and ds:
        text += "; the file is derived from " + "; ".join(f"{k}: {v}" for k, v in ds.items())
    elif isinstance(ds, (list, tuple)) and ds:
        text += "; the file is derived from " + "; ".join(map(str, ds))
    return text


def compile_spec(spec: CrisisSpec, params: CrisisParams) -> _Compiled:
    """Resolve numbers (calibration, draws), the time grid and the visible calendar."""
    notes: list[str] = []
    fixed: dict[str, float] = {}
    drawn: list[tuple[str, float, float]] = []
    n_cal = 0
    cal_keys: dict[str, int] = {}
    items = spec.num_items()   # walked once: the description's annotated numbers
    scalar_draws = [Problem(f"{path}: `draw: uniform` is not supported here (the engine uses one value for all "
                            "runs, so the draw would have no effect)", column=f"dynamics.{path}",
                            expected="draw: fixed (or no draw)")
                    for path, num in items if num.drawn and SCALAR_ONLY.match(path)]
    if scalar_draws:
        raise InputError(scalar_draws)
    for path, num in items:
        before = len(notes)
        v = resolve(num, notes, path)
        fixed[path] = v
        if num.calibrated and len(notes) == before:
            n_cal += 1
            group = num.calibrated.rsplit(".", 1)[0] if num.calibrated.count(".") > 1 else num.calibrated.split(".")[0]
            cal_keys[group] = cal_keys.get(group, 0) + 1
        if num.drawn or (spec.settings.draw_assumptions and drawable(path, num)):
            rng_ = num.assumption.range if num.assumption is not None else None
            if rng_ is None:  # the spec's validator gives every drawn or drawable number a range
                raise InputError(Problem("a number drawn per run needs an assumption range", column=path))
            lo, hi = rng_
            drawn.append((path, lo, hi))
    if n_cal:
        notes.append(calibration_note(n_cal, cal_keys))
    st = spec.settings
    horizon = params.horizon_months or st.horizon_months
    step = params.step or st.step
    dtm = 1.0 if step == "month" else WEEK_MONTHS
    start = st.start
    if step == "month":
        n_steps = horizon
        s_start = [_add_months(dt.date(start.year, start.month, 1), k) for k in range(n_steps)]
        s_end = [_month_end(d) for d in s_start]
    else:
        end = _month_end(_add_months(start, horizon - 1))
        n_steps = math.ceil(((end - start).days + 1) / 7)
        s_start = [start + dt.timedelta(days=7 * k) for k in range(n_steps)]
        s_end = [d + dt.timedelta(days=6) for d in s_start]
    month_ends = [_month_end(_add_months(start, k)) for k in range(horizon)]
    me_step = []
    for me in month_ends:
        idx = max((k for k, e in enumerate(s_end) if e <= me), default=-1)
        me_step.append(idx)
    cutoff = params.information_cutoff
    if cutoff is None:
        cutoff = start
    if cutoff == "all":
        events = list(spec.calendar)
        shocks = list(spec.shocks)
    else:
        events = [e for e in spec.calendar if e.known_by <= cutoff]
        shocks = [s for s in spec.shocks if s.known_by <= cutoff]
    delta_m = fixed["settings.delta_annual"] ** (1.0 / 12.0)
    actors = list(spec.actors)
    return _Compiled(spec, notes, fixed, drawn, actors, {a: i for i, a in enumerate(actors)}, dtm, n_steps,
                     s_start, s_end, month_ends, me_step, delta_m, events, shocks)


# ====================================================================== the chunk simulation
class _Vals:
    """Per-run parameter values of one chunk: floats, or arrays for drawn assumptions."""

    def __init__(self, c: _Compiled, rng: np.random.Generator, n: int):
        self.v: dict[str, Any] = dict(c.fixed)
        for path, lo, hi in c.drawn:
            self.v[path] = rng.uniform(lo, hi, n)

    def __getitem__(self, path: str) -> Any:
        return self.v[path]

    def get(self, path: str, default: Any = None) -> Any:
        return self.v.get(path, default)


def _simulate_chunk(c: _Compiled, n: int, rng: np.random.Generator, record_paths: bool,
                    use_compiled: bool = False) -> dict[str, Any]:
    spec = c.spec
    # the preventive pass: numpy kernel or its compiled twin (the same numbers; detente.crisis.compiled)
    first_war = _compiled_kernels.preventive_first_war if use_compiled else K.preventive_first_war
    st = spec.settings
    V = _Vals(c, rng, n)
    A = len(c.actors)
    aidx = c.aidx
    T = c.n_steps
    dtm = c.dt
    start = st.start
    f32 = np.float32

    # ---------------- capabilities
    P = np.empty((A, n))                   # layout (actor, run): rows contiguous
    g = np.zeros(A)
    gsd = np.zeros(A)
    for a, ad in spec.actors.items():
        i = aidx[a]
        P[i] = V[f"actors.{a}.capability"]
        g[i] = np.mean(V[f"actors.{a}.growth_m"])
        gsd[i] = np.mean(V[f"actors.{a}.growth_sd_m"]) if ad.growth_sd_m is not None else 0.0

    if not st.capability_growth:          # mechanism switch `growth`
        g[:] = 0.0
    noisy = np.nonzero(gsd > 0)[0]
    quiet = np.nonzero(gsd <= 0)[0]

    # ---------------- followers' cohesion (allies follow the patron with a lag)
    fol = list(spec.followers)
    coh = np.empty((len(fol), n))          # layout (follower, run): rows contiguous
    for k, fo in enumerate(fol):
        # mechanism switch `allies_lag`: without the lag, followers hold their final line at once
        coh[k] = V[f"followers.{fo}.reliability_prior"] if st.allies_lag else V[f"followers.{fo}.follows_patron"]

    def cohesion(actor: str) -> Any:
        if actor in fol:
            return coh[fol.index(actor)]
        return 1.0

    # ---------------- triangle (pivot, partner 1, partner 2)
    # without a triangle (``dynamics.triangle`` absent) the information/triangle step is skipped:
    # no leaks, seesaw, loyalty beliefs, alignment support, coupling or split; the placeholders
    # below are never updated and nothing reads them
    tri = spec.triangle
    has_tri = tri is not None
    # without a triangle its three members are the empty id, which names no actor
    t0, t1, t2 = tri.actors if tri is not None else ("", "", "")
    ini = {frozenset(k.split("-")): k for k in tri.initial} if tri is not None else {}

    def tri_init(a: str, b: str) -> Any:
        key = ini.get(frozenset((a, b)))
        if key is None:
            raise InputError(Problem(f"triangle.initial needs the tie {a}-{b}", column="dynamics.triangle.initial"))
        return np.broadcast_to(np.asarray(V[f"triangle.initial.{key}"], float), (n,)).copy()

    if has_tri:
        x01, x02, x12 = tri_init(t0, t1), tri_init(t0, t2), tri_init(t1, t2)
        mu_prior = V["triangle.belief_prior"]
    else:
        x01, x02, x12 = np.zeros(n), np.zeros(n), np.zeros(n)
        mu_prior = 1.0
    mu1 = np.broadcast_to(np.asarray(mu_prior, float), (n,)).copy()  # partner 1's belief that partner 2 is loyal
    mu2 = mu1.copy()
    deal1 = np.zeros(n, bool)
    deal2 = np.zeros(n, bool)
    noise = np.zeros(n)
    if has_tri:
        R_, T_, P_, S_ = (float(np.mean(V[f"triangle.stag_hunt.{k}"])) for k in "RTPS")

    # ---------------- dyads and directions
    dyads = spec.dyads
    dyad_ids = [d.id for d in dyads]
    directions: list[tuple[int, str, str]] = []
    for di, d in enumerate(dyads):
        directions.append((di, d.a, d.b))
        directions.append((di, d.b, d.a))
    ndir = len(directions)
    forced = np.zeros((ndir, n), bool)       # layout (direction, run)
    prox = np.zeros((ndir, n))
    kmon = np.full((ndir, n), np.inf)  # months until the earliest forced date, as last evaluated
    reeval = st.reeval_months
    phi = np.zeros((n, len(dyads)))
    delta = c.delta_m
    L = st.lookahead_months
    cliff_k: dict[tuple[int, str], tuple[Any, Any]] = {}
    coalition_cliff: set[tuple[int, str]] = set()
    belief_drift: dict[tuple[int, str], Any] = {}
    for di, d in enumerate(dyads):
        for bi, bel in enumerate(d.beliefs):
            if not bel.enabled:
                continue
            base = f"dyads[{d.id}].beliefs.{bi}"
            if bel.drift_m is not None:
                belief_drift[(di, bel.believer)] = V[f"{base}.drift_m"]
            if bel.cliff is not None:
                kc = _months_between(start, bel.cliff.date)
                if bel.cliff.shift_months is not None:
                    kc = kc + V[f"{base}.cliff.shift_months"]
                cliff_k[(di, bel.believer)] = (np.round(kc), V[f"{base}.cliff.size"])
                if bel.cliff.coalition:
                    coalition_cliff.add((di, bel.believer))
    # what step 4 reads of each direction and does not change during the chunk: κ of both sides
    # (before the war-cost coupling), the contest exponent m, the trend m·(g_R − g_D), the believed
    # drift and cliff, and the exact screen's bound on a one-step decline, |drift| + m·max(g_R − g_D, 0)/4
    dir_static = []
    for di, D, R in directions:
        d = dyads[di]
        m = V[f"dyads[{d.id}].exponent"]
        gdiff = m * (g[aidx[R]] - g[aidx[D]])
        drift = belief_drift.get((di, D), 0.0)
        bound = np.maximum(-np.asarray(drift), 0.0) + np.maximum(gdiff, 0.0) / 4.0
        dir_static.append((V[f"dyads[{d.id}].kappa.{D}"], V[f"dyads[{d.id}].kappa.{R}"],   # both members required
                           m, gdiff, drift, cliff_k.get((di, D)), bound))
    scr_ev = np.zeros(n, bool)   # the compiled screens' runs to evaluate and months to the cliff (step 4)
    scr_rel = np.zeros(n)
    tau_prox = V["settings.pressure_scale_months"]
    inv_tau = -1.0 / tau_prox                # scalar, or one value per run when drawn

    cp = tri.coupling if tri is not None else None
    coupled = cp is not None and cp.enabled
    cp_support = cp is not None and cp.support
    rho = V["triangle.coupling.reliability"] if has_tri else 0.0
    kh = V["triangle.coupling.tie_exponent"] if has_tri else 1.0
    psi = V["triangle.coupling.cost_effect"] if has_tri else 0.0
    cost_coupled = coupled and bool(np.any(np.asarray(psi) > 0))

    # capabilities, ties, beliefs and cohesion do not change between the bargaining step and the
    # crisis contest of a month: effective capabilities and cost multipliers are computed once per
    # month (the memo is cleared before and after those steps; results are read-only)
    cap_memo: dict[Any, Any] = {}
    # the compiled twin of step 1 and of the capabilities below (detente.crisis._compiled_caps)
    caps_twin = None
    if use_compiled:
        from detente.crisis._compiled_caps import CapsTwin

        caps_twin = CapsTwin(spec, V, n, dtm, g, gsd, noisy, quiet, fol, aidx, has_tri=has_tri,
                             tri_actors=(t0, t1, t2), coupled=coupled, cp_support=cp_support, rho=rho, kh=kh, psi=psi)

    def eff_cap(di: int, side: str) -> Any:
        """Effective capability of ``side`` in dyad ``di``: own capability plus expected support."""
        got = cap_memo.get((di, side))
        if got is not None:
            return got
        cap_memo[(di, side)] = cap = _eff_cap(di, side)
        return cap

    def _eff_cap(di: int, side: str) -> Any:
        if caps_twin is not None:
            got = caps_twin.eff_cap(di, side, P, coh, x01, x02, x12, mu1, mu2)
            if got is not None:
                return got
        d = dyads[di]
        cap = P[aidx[side]].copy()
        for si, s in enumerate(d.support):
            if s.side != side:
                continue
            w = V[f"dyads[{d.id}].support.{si}.weight"]
            for a in s.actors:
                if s.via == "alignment":
                    if not has_tri:               # no triangle: no alignment support
                        continue
                    ties = {frozenset((t0, t1)): x01, frozenset((t0, t2)): x02, frozenset((t1, t2)): x12}
                    tie = ties.get(frozenset((side, a)))
                    if not coupled:
                        level = np.maximum(tie, 0.0) if tie is not None else 1.0
                    elif not cp_support:          # mechanism switch `alignment`
                        continue
                    else:
                        level = K.partner_support(tie, rho, kh, _loyalty_belief(side, a))
                else:
                    level = cohesion(a)
                cap += w * level * P[aidx[a]]
        return cap

    def alignment_support(di: int, side: str) -> Any:
        """Capability that ``side`` expects from aligned partners in dyad ``di`` (coupled engine)."""
        got = cap_memo.get(("align", di, side))
        if got is None:
            cap_memo[("align", di, side)] = got = _alignment_support(di, side)
        return got

    def _alignment_support(di: int, side: str) -> Any:
        if caps_twin is not None:
            got = caps_twin.alignment_support(di, side, P, coh, x01, x02, x12, mu1, mu2)
            if got is not None:
                return got
        d = dyads[di]
        out = np.zeros(n)
        if not has_tri or not cp_support:
            return out
        for si, s in enumerate(d.support):
            if s.side != side or s.via != "alignment":
                continue
            w = V[f"dyads[{d.id}].support.{si}.weight"]
            for a in s.actors:
                ties = {frozenset((t0, t1)): x01, frozenset((t0, t2)): x02, frozenset((t1, t2)): x12}
                out += w * K.partner_support(ties.get(frozenset((side, a))), rho, kh, _loyalty_belief(side, a)) * P[aidx[a]]
        return out

    def _loyalty_belief(side: str, partner: str) -> Any:
        """μ: ``side``'s belief that ``partner`` stays loyal (1 outside the partners' pair)."""
        if (side, partner) == (t1, t2):
            return mu1
        if (side, partner) == (t2, t1):
            return mu2
        return 1.0

    def cost_mult(di: int, capD: Any, capR: Any, D: str, R: str) -> tuple[Any, Any]:
        """War-cost multipliers of D and R in dyad ``di`` (``capD``, ``capR`` = ``eff_cap`` of this month)."""
        # the multipliers of (R, D) are those of (D, R) swapped, bit for bit
        got = cap_memo.get(("cost", di, D, R))
        if got is None:
            got = cap_memo.get(("cost", di, R, D))
            if got is not None:
                return got[1], got[0]
            got = None if caps_twin is None else caps_twin.cost_mult(P[aidx[D]], capD, P[aidx[R]], capR)
            if got is None:
                got = K.war_cost_multipliers(P[aidx[D]], capD, P[aidx[R]], capR, psi)
            cap_memo[("cost", di, D, R)] = got
        return got

    theta_re = V["triangle.coupling.split_memory"] if has_tri else 0.0
    remember = bool(np.any(np.asarray(theta_re) > 0))

    def _coalition_cliff_size(di: int, D: str, R: str, size: Any, m: Any, capD: Any, capR: Any) -> Any:
        """Believed size of a cliff against a coalition: scaled by the partner support behind R
        now relative to the start (clipped to [0, 2]). With ``split_memory`` θ > 0 the believer
        expects a weakened pair to re-form by the cliff with probability θ: the expected cliff is
        ``size·((1 − θ)r + θ)`` plus θ times the drop of its p when the support returns (a window
        against the lone partner: "one by one")."""
        now = alignment_support(di, R)
        r = K.clip(now / support0[(di, R)], 0.0, 2.0)
        if not remember:
            return size * r
        weak = r < 1.0
        if capD is None:
            capD, capR = eff_cap(di, D), eff_cap(di, R)
        p_now = K.contest_p(capD, capR, m)
        p_back = K.contest_p(capD, capR - now + support0[(di, R)], m)
        gap = np.maximum(p_now - p_back, 0.0)
        return np.where(weak, size * ((1.0 - theta_re) * r + theta_re) + theta_re * gap, size * r)

    # partner support behind the rising side of each coalition cliff at the start (its reference)
    support0 = {}
    for di, D in coalition_cliff:
        R = dyads[di].b if dyads[di].a == D else dyads[di].a
        support0[(di, R)] = np.maximum(alignment_support(di, R), 1e-12)
    cap_memo.clear()

    # ---------------- tracks and expert groups
    tracks = spec.tracks
    NK = len(tracks)
    stall = spec.policies.stall if (spec.policies.stall and spec.policies.stall.enabled) else None
    gmax = max([len(t.groups) for t in tracks] + [stall.max_groups if stall else 0, 1])
    gstock = np.zeros((NK, gmax, n))        # layout (track, group slot, run): contiguous per slot
    nact = np.zeros((NK, n), np.int64)       # groups active per track (slots 0 … nact-1)
    for k, t in enumerate(tracks):
        nact[k] = len(t.groups)
        if t.created is not None and t.groups:
            # groups set up before the start have met once
            gstock[k, : len(t.groups), :] = V[f"tracks[{t.id}].eta"]
    nsteps_track = np.zeros((n, NK))
    agreed = np.zeros((n, NK), bool)
    agree_step = np.full((n, NK), -1, np.int16)
    obst = np.zeros((n, NK, 2), bool)
    lam_ag = np.zeros((n, NK, 2))
    init_mass = np.zeros((n, NK, 2))
    started = np.zeros((n, NK), bool)
    for k, t in enumerate(tracks):
        a1, a2 = (V[f"tracks[{t.id}].demands.{p}"] for p in t.parties)
        r1, r2 = (V[f"tracks[{t.id}].rate_m.{p}"] for p in t.parties)
        z = [np.broadcast_to(np.asarray(V[f"tracks[{t.id}].obstinate.{p}"], float), (n,)).copy() for p in t.parties]
        if stall is not None and stall.track == t.id and stall.actor in t.parties:
            j = t.parties.index(stall.actor)
            z[j] = K.clip(z[j] + V["policies.stall.obstinacy_boost"], 0.0, 0.99)
            if j == 0:
                r1 = r1 * V["policies.stall.patience"]
            else:
                r2 = r2 * V["policies.stall.patience"]
        l1, l2 = K.abreu_gul_rates(a1, a2, r1, r2)
        l1 = np.broadcast_to(l1, (n,))
        l2 = np.broadcast_to(l2, (n,))
        lam_ag[:, k, 0], lam_ag[:, k, 1] = l1, l2
        T1 = -np.log(np.maximum(z[0], 1e-9)) / np.maximum(l1, 1e-12)
        T2 = -np.log(np.maximum(z[1], 1e-9)) / np.maximum(l2, 1e-12)
        Ts = np.minimum(T1, T2)
        # the side with the longer finishing time concedes at once with prob 1 - z e^{λ T*}
        init_mass[:, k, 0] = np.where(T1 > T2, 1.0 - z[0] * np.exp(l1 * Ts), 0.0)
        init_mass[:, k, 1] = np.where(T2 > T1, 1.0 - z[1] * np.exp(l2 * Ts), 0.0)
        for j in range(2):
            obst[:, k, j] = rng.random(n) < z[j]

    # ---------------- flashpoints
    fps = spec.flashpoints
    J = len(fps)
    rung = np.zeros((J, n), np.int16)        # layout (flashpoint, run)
    fx = np.zeros((n, J))
    fy = np.zeros((n, J))
    f_eq = np.ones((n, J))
    # first step at which each rung was reached (run, flashpoint, rung); -1 never, 0 for the rungs
    # at or below the start rung. A rung moves by at most one per step, so a new maximum is the
    # next rung up: recording it needs no random draw (docs/crisis.md "Back-test").
    rung_step = np.full((n, J, max((f.escalation.rungs for f in fps), default=0)), -1, np.int16)
    for j, f in enumerate(fps):
        rung[j] = f.escalation.start_rung
        rung_step[:, j, :f.escalation.start_rung + 1] = 0
        if f.richardson is not None:
            b = f"flashpoints[{f.id}].richardson"
            kR, lR, aR, bR, gR, hR = (V[f"{b}.{x}"] for x in ("k", "l", "a", "b", "g", "h"))
            den = aR * bR - kR * lR
            xs = np.where(np.asarray(den) > 0, (bR * gR + kR * hR) / np.where(np.asarray(den) > 0, den, 1), 1.0)
            ys = np.where(np.asarray(den) > 0, (aR * hR + lR * gR) / np.where(np.asarray(den) > 0, den, 1), 1.0)
            fx[:, j], fy[:, j] = xs, ys
            f_eq[:, j] = np.maximum(np.asarray(xs + ys, float), 1e-9)
    # the contest behind each flashpoint's crisis bargaining: the demander against the local
    # actor in a dyad of the flashpoint that holds both (else any dyad with the demander, its
    # other member as the opponent); without such a dyad, the plain capability contest (m = 1)
    crisis_dyad: list[tuple[int | None, str, str]] = []
    for f in fps:
        dem = f.crisis.demander
        opp = f.local if f.local != dem else f.adversary
        cands = [di for di, d in enumerate(dyads) if d.id in f.dyads and dem in (d.a, d.b)]
        exact = [di for di in cands if opp in (dyads[di].a, dyads[di].b)]
        if exact:
            crisis_dyad.append((exact[0], dem, opp))
        elif cands:
            d = dyads[cands[0]]
            crisis_dyad.append((cands[0], dem, d.b if d.a == dem else d.a))
        else:
            crisis_dyad.append((None, dem, opp))

    def _crisis_contest(j: int, f: Any, c_A: Any, rows: np.ndarray) -> tuple[Any, Any]:
        """The demander's win probability p and (with cost coupling) its war cost c_A, in the
        runs ``rows`` (element by element the values of the whole arrays)."""
        di, dem, opp = crisis_dyad[j]
        if di is None:
            return K.contest_p(P[aidx[dem], rows], P[aidx[opp], rows], 1.0), _at(c_A, rows)
        capA, capB = eff_cap(di, dem), eff_cap(di, opp)
        p_dem = K.contest_p(capA[rows], capB[rows], _at(V[f"dyads[{dyads[di].id}].exponent"], rows))
        if cost_coupled:
            c_A = _at(c_A, rows) * cost_mult(di, capA, capB, dem, opp)[0][rows]
        else:
            c_A = _at(c_A, rows)
        return p_dem, c_A

    alive = np.ones((n, J), bool)
    onset_step = np.full((n, J), -1, np.int16)
    onset_init = np.full((n, J), -1, np.int8)
    onset_cause = np.full((n, J), -1, np.int8)
    first_step = np.full(n, -1, np.int16)
    first_fp = np.full(n, -1, np.int8)
    first_init = np.full(n, -1, np.int8)
    allowed = np.ones(A, bool)
    if st.initiators_allowed != "all":
        allowed[:] = False
        for a in st.initiators_allowed:
            allowed[aidx[a]] = True

    # ---------------- allies (patron → protégé requests with lags, perceived support q)
    alls = spec.alliances
    NA = len(alls)
    q = np.zeros((n, NA))
    pending = np.zeros((NA, n), np.int32)   # layout (alliance, run)
    for i in range(NA):
        q[:, i] = V[f"alliances.{i}.reliability_prior"]
    pressure_of: dict[int, int] = {}
    for pi, ap in enumerate(spec.policies.ally_pressure):
        for i, al in enumerate(alls):
            if al.patron == ap.patron and al.protege == ap.protege:
                pressure_of[i] = pi

    # ---------------- stalling channels (labelled assumptions; 0 = the channel has no effect)
    hold_on = stall is not None and stall.postpone and bool(np.any(np.asarray(V["policies.stall.hold_months"]) > 0))
    pending_hold = np.zeros((n, NK))
    hold_keep = np.exp(-dtm / np.maximum(V["policies.stall.hold_months"], 1e-9)) if hold_on else 0.0
    perm_rate = None
    if stall is not None and stall.expert_groups and np.any(np.asarray(V["policies.stall.group_meet_prob_m"]) > 0):
        perm_rate = 1.0 - np.exp(-V["policies.stall.group_meet_prob_m"] * dtm)
    fake_block = None
    if stall is not None and stall.online_only and np.any(np.asarray(V["policies.stall.online_fake_block"]) > 0):
        fake_block = V["policies.stall.online_fake_block"]

    # ---------------- failed wedge → provocation (triangle.coupling.provocation)
    seesaw = spec.policies.seesaw if (spec.policies.seesaw and spec.policies.seesaw.enabled) else None
    prov = cp.provocation if cp is not None else None
    # a failed wedge needs a wedge: with a declared seesaw policy switched off there is none; with
    # `alignment` off there is no pair whose holding the pivot could observe
    prov_on = (coupled and prov is not None and prov.enabled and cp_support
               and (spec.policies.seesaw is None or seesaw is not None))
    wedge_fail = np.zeros(n)
    prov_gain = 1.0 - np.exp(-dtm / V["triangle.coupling.provocation.patience_months"]) if prov_on else 0.0
    prov_fps = set(prov.flashpoints) if prov_on and prov is not None else set()
    feedback_on = coupled and cp is not None and cp.war_feedback
    pivot_tracks = [k for k, t in enumerate(tracks) if stall is not None and stall.actor in t.parties and t0 in t.parties]
    hold_fp = [[k for k, t in enumerate(tracks) if f.id in t.flashpoints and stall is not None and stall.actor in t.parties]
               for f in fps]

    # ---------------- leaks
    leaks = spec.policies.leaks

    # ---------------- records
    hz = np.zeros((T, n, J), f32) if record_paths else None       # written per step, transposed at the end
    rc_path = np.zeros((T, n), f32) if record_paths and has_tri else None
    cfg_path = np.zeros((T, n), np.int8) if record_paths and has_tri else None
    split_step = np.full(n, -1, np.int16)
    diag_names = ["meetings_held", "postponed", "online", "groups_active", "group_stock", "leaks", "fake_leaks",
                  "verified_fakes", *(("deals_" + t1, "deals_" + t2) if has_tri else ()), "p_any"]
    diag = {k: np.zeros(T) for k in diag_names}
    diag_dir_forced = np.zeros((T, ndir))
    diag_dir_prox = np.zeros((T, ndir))
    diag_phi = np.zeros((T, len(dyads)))
    diag_rung = np.zeros((T, J))
    diag_q = np.zeros((T, max(NA, 1)))
    diag_cause = np.zeros((T, J, NCAUSE))  # background, preventive, crisis, moral hazard, escalation, provocation
    diag_init = np.zeros((T, J, A))        # hazard sums per initiator

    bgs = []
    for f in fps:
        bg = np.zeros(A)
        for a in f.background_initiators:
            bg[aidx[a]] = np.mean(V[f"flashpoints[{f.id}].background_initiators.{a}"])
        # shares over every listed initiator, then barred initiators removed (not redistributed)
        bgs.append((bg / bg.sum() if bg.sum() > 0 else bg) * allowed)

    ev_by_step: dict[int, list[Any]] = {}
    for e in c.events:
        for s in range(T):
            if c.step_start[s] <= e.date <= c.step_end[s]:
                ev_by_step.setdefault(s, []).append(e)
                break
    fidx = {f.id: j for j, f in enumerate(fps)}
    didx = {d: i for i, d in enumerate(dyad_ids)}

    def war_feedback(rows: np.ndarray, who: np.ndarray) -> None:
        """A war started by one partner (initiator ``who`` of the runs ``rows``) moves the partners'
        tie and resets their beliefs (``triangle.coupling.war_feedback``)."""
        by_partner = rows[(who == aidx[t1]) | (who == aidx[t2])]
        if by_partner.size:
            shift = V["triangle.coupling.war_tie_shift"]
            shift = shift[by_partner] if np.ndim(shift) else shift
            x12[by_partner] = K.clip(x12[by_partner] + shift, -1.0, 1.0)
            mu1[by_partner] = mu_prior[by_partner] if np.ndim(mu_prior) else mu_prior
            mu2[by_partner] = mu_prior[by_partner] if np.ndim(mu_prior) else mu_prior

    # the compiled twins of steps 2-3 and the tracks, of the crisis bargaining and step 5, and of step 6
    # (detente.crisis._compiled_diplo, _compiled_escal, _compiled_hazard): built once per chunk, they
    # draw nothing here; None with the numpy code (EscalationTwin.build: also when a value is not finite)
    dip: Any = None
    esc_twin: Any = None
    hz_twin: Any = None
    if use_compiled:
        from detente.crisis._compiled_diplo import Diplomacy
        from detente.crisis._compiled_escal import EscalationTwin
        from detente.crisis._compiled_hazard import HazardTwin

        dip = Diplomacy(V=V, n=n, dtm=dtm, rng=rng, tracks=tracks, stall=stall, hold_on=hold_on,
                        hold_keep=hold_keep, perm_rate=perm_rate, gmax=gmax, didx=didx, fidx=fidx, dyads=dyads,
                        leaks=leaks, leaks_enabled=spec.policies.leaks_enabled, actors=spec.actors, tri=tri,
                        t1=t1, t2=t2, fake_block=fake_block, seesaw=seesaw, mu_prior=mu_prior,
                        stag=(R_, T_, P_, S_) if has_tri else (0.0, 0.0, 0.0, 0.0), prov_on=prov_on,
                        prov_gain=prov_gain, pivot_tracks=pivot_tracks, step_end=c.step_end,
                        months_between=_months_between)
        esc_twin = EscalationTwin.build(spec, V, n, directions, dyad_ids, pressure_of, dtm)
        hz_twin = HazardTwin(n=n, fps=fps, directions=directions, dyad_ids=dyad_ids, aidx=aidx, V=V, bgs=bgs,
                             allowed=allowed, hold_on=hold_on, hold_fp=hold_fp, n_cause=NCAUSE, c=c,
                             prov_term=(prov_fps, V["triangle.coupling.provocation.beta"], prov.initiator)
                             if prov_on and prov is not None else None)

    for s in range(T):
        tau = s * dtm  # months since start
        # 1. capabilities -------------------------------------------------------------
        eps = rng.standard_normal((noisy.size, n)) if noisy.size else None
        if caps_twin is None or not caps_twin.grow(eps, P, coh):   # else the compiled twin did it in place
            if eps is not None:
                eps *= (gsd[noisy] * math.sqrt(dtm))[:, None]
                eps += (g[noisy] * dtm)[:, None]
                np.exp(eps, out=eps)
                for ri, ai in enumerate(noisy):        # row by row, in place (same products as P[noisy] *= …)
                    P[ai] *= eps[ri]
            if quiet.size:
                for ai, fac in zip(quiet, np.exp(g[quiet] * dtm)):
                    if fac != 1.0:                     # × 1.0 leaves every value as it is
                        P[ai] *= fac
            for k, fo in enumerate(fol if st.allies_lag else ()):
                lag = V[f"followers.{fo}.lag_mean_m"]
                target = V[f"followers.{fo}.follows_patron"]
                coh[k] += (target - coh[k]) * (1.0 - np.exp(-dtm / lag))

        # 2. diplomacy ----------------------------------------------------------------
        evs = ev_by_step.get(s, [])
        met = np.zeros((n, NK), bool)
        postponed = np.zeros((n, NK), bool)
        online = np.zeros((n, NK), bool)
        rung_push = np.zeros((n, J))
        if dip is not None:   # the compiled twin: meetings, pending holds, expert groups
            met, postponed, online = dip.meetings(evs, agreed, pending_hold, gstock, nact)
        else:
            for k, t in enumerate(tracks):
                sched = [e for e in evs if e.track == t.id]
                p_meet = 1.0 - math.exp(-np.mean(V[f"tracks[{t.id}].meet_prob_m"]) * dtm)
                scheduled = np.full(n, bool(sched)) | (rng.random(n) < p_meet)
                if stall is not None and stall.actor in t.parties:
                    pp = V["policies.stall.postpone_prob"] if stall.postpone else 0.0   # channel switch
                    pst = scheduled & (rng.random(n) < pp)
                    on = np.full(n, stall.online_only)
                else:
                    pst = np.zeros(n, bool)
                    on = np.zeros(n, bool)
                if sched and any(e.format in ("video", "online") for e in sched):
                    on |= True
                met[:, k] = scheduled & ~pst & ~agreed[:, k]
                postponed[:, k] = pst
                online[:, k] = on & met[:, k]
                if hold_on and stall is not None and stall.actor in t.parties:
                    # a postponed meeting stays pending (stock decaying over hold_months)
                    pending_hold[:, k] = K.pending_step(pending_hold[:, k], hold_keep, pst)
                eta, om, omi = (V[f"tracks[{t.id}].{x}"] for x in ("eta", "omega", "omega_idle"))
                g_met, g_pst = met[:, k], postponed[:, k]
                if perm_rate is not None and stall is not None and stall.track == t.id:
                    # permanent groups meet on their own as well (bureaucratic momentum), so a
                    # postponed plenary does not wear down a group that met
                    g_met = g_met | (rng.random(n) < perm_rate)   # permanent: also after an agreement
                    g_pst = g_pst & ~g_met
                top = int(nact[k].max()) if n else 0
                if top:
                    # K.group_step for every slot at once: a·mult + add, zero for inactive slots
                    one = np.ones(n)
                    gmult = K.group_step(one, g_met, g_pst, eta, om * dtm, omi * dtm)
                    gadd = K.group_step(np.zeros(n), g_met, g_pst, eta, om * dtm, omi * dtm)
                    gmult -= gadd
                    for slot in range(top):
                        gs = gstock[k, slot]
                        gs *= gmult
                        gs += gadd
                        gs *= nact[k] > slot
                if stall is not None and stall.track == t.id:
                    rate = V["policies.stall.new_groups_per_quarter"] / 3.0 if stall.expert_groups else 0.0
                    newg = rng.random(n) < (1.0 - np.exp(-rate * dtm))
                    nact[k] += newg & (nact[k] < min(stall.max_groups, gmax))
        nact_all = nact.T
        gsum = gstock.sum(axis=1).T  # (n, NK)
        if dip is not None:   # the compiled twin: φ per dyad, damping and agreements per flashpoint
            g_damp, agreed_fp, track_phi = dip.phi(phi, nact, gsum.T, agreed)
        else:
            mean_stock = np.where(nact_all > 0, gsum / np.maximum(nact_all, 1), 0.0)
            phi[:] = 0.0
            for di, d in enumerate(dyads):
                phi[:, di] = V[f"dyads[{d.id}].phi_base"]
            g_damp = np.zeros((n, J))
            agreed_fp = np.zeros((n, J))
            track_phi = np.zeros((n, NK))
            for k, t in enumerate(tracks):
                track_phi[:, k] = V[f"tracks[{t.id}].phi_max"] * mean_stock[:, k]
                extra = track_phi[:, k] + V[f"tracks[{t.id}].agreement_phi"] * agreed[:, k]
                for dy_id in t.dyads:
                    phi[:, didx[dy_id]] += extra
                for fid in t.flashpoints:
                    g_damp[:, fidx[fid]] += gsum[:, k]
                    agreed_fp[:, fidx[fid]] = np.maximum(agreed_fp[:, fidx[fid]], agreed[:, k])
            K.clip(phi, 0.0, 1.0, out=phi)

        # 3. information and the triangle ----------------------------------------------
        nleak = np.zeros(n)
        nfake = np.zeros(n)
        nver = np.zeros(n)
        if tri is not None and dip is not None:   # the compiled twin of this step
            nleak, nfake, nver, deal1, deal2, x01, x02, x12, wedge_fail = dip.triangle(
                s, tau, online, deal1, deal2, mu1, mu2, noise, x01, x02, x12, wedge_fail, split_step, pending_hold)
        elif tri is not None:   # without a triangle: no seesaw, leaks, beliefs, ties or split
            if seesaw is not None:
                period = V["policies.seesaw.period_months"]
                courted_first = (np.floor(tau / period) % 2) == 0
                s_off = V["policies.seesaw.offer_s"]
                s1 = np.where(courted_first, s_off, 0.0)
                s2 = np.where(courted_first, 0.0, s_off)
            else:
                courted_first = np.zeros(n, bool)
                s1 = s2 = np.zeros(n)
            online_any = online.any(axis=1)
            for li, lk in enumerate(leaks):
                pairs = {(t1, t2): 1, (t2, t1): 2}
                which = pairs.get((lk.receiver, lk.about))
                rate = V[f"policies.leaks.{li}.rate_m"] if spec.policies.leaks_enabled else 0.0  # switch `leaks`
                fs = V[f"policies.leaks.{li}.fake_share"]
                f_rate = 1.0 - np.exp(-rate * fs * dtm)
                if fake_block is not None:
                    # online talks leave a record: fakes about them cannot be planted (believed rate unchanged)
                    f_true = f_rate * (1.0 - fake_block * online_any)
                else:
                    f_true = f_rate
                t_rate = (1.0 - np.exp(-rate * (1.0 - fs) * dtm)) * V["triangle.true_leak_prob"]
                about_dealing = deal2 if which == 1 else deal1 if which == 2 else np.zeros(n, bool)
                is_true = about_dealing & (rng.random(n) < t_rate) if lk.claim == "dealing" \
                    else (~about_dealing) & (rng.random(n) < t_rate)
                is_fake = (~is_true) & (rng.random(n) < f_true)
                got = is_true | is_fake
                nleak += got
                nfake += is_fake
                if which is None:
                    continue
                recv = spec.actors[lk.receiver]
                v0 = V[f"actors.{lk.receiver}.verify"] if recv.verify is not None else 0.0
                cred = V[f"actors.{lk.receiver}.credulity"] if recv.credulity is not None else 0.0
                v_eff = v0 + (1.0 - v0) * V["triangle.online_verify"] * online_any
                checked = rng.random(n) < v_eff
                caught = is_fake & checked
                nver += caught
                noise += is_fake & ~checked
                f_bel = f_rate * (1.0 - cred)
                p_dis = 1.0 - (1.0 - t_rate) * (1.0 - f_bel)  # believed P(leak | the claim is true)
                if lk.claim == "dealing":
                    a_l, b_l = p_dis, f_bel
                else:
                    a_l, b_l = f_bel, p_dis
                upd = np.flatnonzero(got & ~caught)   # Bayes only where a leak arrived unchecked
                if upd.size:
                    mu = mu1 if which == 1 else mu2
                    mu[upd] = K.leak_posterior(mu[upd], _at(a_l, upd), _at(b_l, upd))
            mem = V["triangle.belief_memory"]
            mu1 += (mu_prior - mu1) * (1.0 - np.exp(-mem * dtm))
            mu2 += (mu_prior - mu2) * (1.0 - np.exp(-mem * dtm))
            deal1 = mu1 < K.stag_hunt_mu_star(R_, T_ + s1, P_, S_)
            deal2 = mu2 < K.stag_hunt_mu_star(R_, T_ + s2, P_, S_)
            dstep = V["triangle.defect_step"] * dtm
            rec = V["triangle.loyal_recovery"] * dtm
            x12 = np.where(deal1 | deal2, x12 - dstep * (deal1.astype(float) + deal2), x12 + rec * (1.0 - x12))
            if seesaw is not None:
                cg = V["policies.seesaw.courting_gain"] * dtm
                x01 = x01 + np.where(courted_first, cg, -cg) * (1.0 + deal1)
                x02 = x02 + np.where(courted_first, -cg, cg) * (1.0 + deal2)
            x01, x02, x12 = K.balance_step(K.clip(x01, -1, 1), K.clip(x02, -1, 1), K.clip(x12, -1, 1),
                                           V["triangle.balance_rate"] * dtm)
            if tri.forced_split:               # counterfactual: the pair is split in every run
                x12 = np.full(n, -1.0)
                deal1 = np.ones(n, bool)
                deal2 = np.ones(n, bool)
            if prov_on:
                # the pivot's belief that its wedge has failed: moving average of "the pair holds"
                holds = (x12 > V["triangle.coupling.provocation.hold_tie"]) & ~deal1 & ~deal2
                if hold_on and pivot_tracks:
                    # postponing buys time: while a meeting with the pivot is pending, the pivot still
                    # waits for it and its belief that the wedge failed does not move
                    wait = np.minimum(pending_hold[:, pivot_tracks].sum(axis=1), 1.0)
                    wedge_fail = K.failed_wedge_step(wedge_fail, holds, prov_gain, wait)
                else:
                    wedge_fail = K.failed_wedge_step(wedge_fail, holds, prov_gain)
            nd = V["triangle.noise_decay_m"]
            noise *= math.exp(-nd * dtm) if np.ndim(nd) == 0 else np.exp(-nd * dtm)
            newly_split = (x12 <= 0) & (split_step < 0)
            split_step[newly_split] = s

        # 4. bargaining: preventive test per direction ----------------------------------
        cap_memo.clear()
        kmon -= dtm
        periodic = (s % max(1, round(reeval / dtm))) == 0
        for r, (di, D, R) in enumerate(directions):
            kD, kR, m, gdiff, drift, cl, bound = dir_static[r]
            capD = capR = None
            if cost_coupled:
                capD, capR = eff_cap(di, D), eff_cap(di, R)
                mD, mR = cost_mult(di, capD, capR, D, R)
                kD, kR = kD * mD, kR * mR
            if cl is not None and coupled and (di, D) in coalition_cliff:
                cl = (cl[0], _coalition_cliff_size(di, D, R, cl[1], m, capD, capR))
            if use_compiled:   # the compiled twin of the two screens below (the same comparisons)
                if not _compiled_kernels.screen(kmon[r], bound, kD, delta=delta, cliff=cl, tau=tau, L=L,
                                                periodic=periodic, reeval=reeval, ev=scr_ev, rel=scr_rel):
                    continue
                ev = scr_ev
                rel = scr_rel
            else:
                # exact screen: without a cliff, the largest one-step decline is bounded by
                # |drift| + m·max(gR−gD, 0)/4 (`bound`); no war anywhere if it stays below (1−δ)κ_D/δ
                if cl is None and np.all(bound * delta <= (1.0 - delta) * np.asarray(kD)):
                    kmon[r] = np.inf
                    continue
                # run-level screen (necessary for war under any φ): a believed cliff inside the
                # look-ahead, or a smooth decline steeper than the Markov one-step threshold
                need = np.broadcast_to(bound * delta > (1.0 - delta) * np.asarray(kD), (n,)).copy()
                if cl is not None:
                    kc, size = cl
                    rel = np.broadcast_to(np.asarray(kc) - tau, (n,))
                    need |= (rel >= 1) & (rel <= L - 1) & (np.broadcast_to(size, (n,)) > 0)
                kmon[r, ~need] = np.inf
                # re-evaluate every `reeval_months`, and every step where a forced date is near
                ev = need if periodic else need & (kmon[r] <= reeval)
                if not ev.any():
                    continue
            if capD is None or capR is None:
                capD, capR = eff_cap(di, D), eff_cap(di, R)
            if use_compiled and _compiled_kernels.direction_pass(
                    ev, capD, capR, m, gdiff, drift, None if cl is None else rel, 0.0 if cl is None else cl[1], kD, kR,
                    phi[:, di], L=L, delta=delta, kmon=kmon[r]):
                continue
            rows = np.nonzero(ev)[0]
            cD = np.broadcast_to(np.asarray(kD) / (1.0 - delta), (n,))
            cR = np.broadcast_to(np.asarray(kR) / (1.0 - delta), (n,))
            ratio = np.power(capR[rows] / capD[rows], _at(m, rows))
            # the trend uses each run's m when the contest exponent is drawn per run
            first = first_war(
                ratio, _at(gdiff, rows) if np.ndim(gdiff) else float(gdiff), _at(np.asarray(drift, float), rows),
                None if cl is None else rel[rows], _at(np.asarray(cl[1], float), rows) if cl is not None else 0.0,
                L=L, delta=delta, c_D=cD[rows], c_R=cR[rows], phi=phi[rows, di])
            kmon[r, rows] = np.where(first >= 0, first.astype(float), np.inf)
        if use_compiled:
            _compiled_kernels.forced_and_pressure(kmon, inv_tau, st.preventive_pressure, forced, prox)
        for r in range(0 if use_compiled else ndir):
            kr = kmon[r]
            if np.isinf(kr).all():
                forced[r] = False
                prox[r] = 0.0
                continue
            ok = kr > -1e-9
            np.logical_and(ok, kr < 1.0 - 1e-9, out=forced[r])
            if st.preventive_pressure:     # labelled assumption, see Settings.preventive_pressure
                np.multiply(np.exp(np.maximum(kr, 0.0) * inv_tau), ok, out=prox[r])
            else:
                prox[r] = 0.0

        # crisis bargaining (risk–return) per flashpoint
        pwar = np.zeros((n, J))
        for j, f in enumerate(fps):
            b = f"flashpoints[{f.id}].crisis"
            if esc_twin is not None:
                if not esc_twin.in_crisis(j, rung):
                    continue
                # the inputs of _crisis_contest, over all runs
                di_c, dem_c, opp_c = crisis_dyad[j]
                if di_c is None:
                    capA_c, capB_c, m_c, cm_c = P[aidx[dem_c]], P[aidx[opp_c]], 1.0, None
                else:
                    capA_c, capB_c = eff_cap(di_c, dem_c), eff_cap(di_c, opp_c)
                    m_c = V[f"dyads[{dyads[di_c].id}].exponent"]
                    cm_c = cost_mult(di_c, capA_c, capB_c, dem_c, opp_c)[0] if cost_coupled else None
                if esc_twin.crisis_pwar(j, rung, noise, capA_c, capB_c, m_c, cm_c, pwar):
                    continue
            # P(war) only where the flashpoint is in crisis (0 elsewhere)
            crows = np.flatnonzero(rung[j] >= f.crisis.rung)
            if not crows.size:
                continue
            cbar = _at(V[f"{b}.c_bar"], crows) * (1.0 + _at(V[f"{b}.fake_noise"], crows) * noise[crows])
            p_dem, c_A = _crisis_contest(j, f, V[f"{b}.c_A"], crows)
            pwar[crows, j] = K.risk_return_pwar(p_dem, c_A, cbar)

        cap_memo.clear()

        # negotiation tracks: Abreu–Gul concessions with momentum, deadline, holdout
        if dip is not None:   # the compiled twin of this block
            dip.tracks_step(s, met, agreed, started, agree_step, nsteps_track, track_phi, lam_ag, init_mass, obst)
        else:
            for k, t in enumerate(tracks):
                mk = met[:, k] & ~agreed[:, k]
                first_meet = mk & ~started[:, k]
                started[:, k] |= mk
                rows = np.nonzero(mk)[0]           # only runs whose track met this step can concede
                if not rows.size:
                    continue
                h0, gam, hold, dlb, dlw, dlt = (_at(V[f"tracks[{t.id}].{x}"], rows)
                                                for x in ("h0", "gamma", "holdout", "deadline_boost",
                                                          "deadline_width_months", "deadline_tail_months"))
                u = rng.random((5, rows.size))
                ns = nsteps_track[rows, k]
                momentum = K.exp_common(gam * ns)
                step_p = 1.0 - np.exp(-h0 * momentum * dtm)
                nsteps_track[rows, k] = ns + (u[0] < step_p)
                mult = momentum * np.exp(-hold * track_phi[rows, k])
                if t.deadline is not None:
                    to_dl = _months_between(c.step_end[s], t.deadline)
                    near = math.exp(-abs(to_dl) / dlw) if np.ndim(dlw) == 0 else np.exp(-abs(to_dl) / dlw)
                    mult = mult * (1.0 + dlb * near * (to_dl >= -dlt))
                fm = first_meet[rows]
                conc = np.zeros(rows.size, bool)
                for j in range(2):
                    pj = 1.0 - np.exp(-lam_ag[rows, k, j] * mult * dtm)
                    now = (u[1 + j] < pj) | (fm & (u[3 + j] < init_mass[rows, k, j]))
                    conc |= ~obst[rows, k, j] & now
                newly = rows[conc]                 # mk excludes runs already agreed
                agreed[newly, k] = True
                agree_step[newly, k] = s

        # 5. escalation, allies -------------------------------------------------------------
        for ev in evs:
            if ev.flashpoint is not None and ev.rung_push is not None:
                rung_push[:, fidx[ev.flashpoint]] += resolve(ev.rung_push)
        # the compiled twin (built with the crisis bargaining's, above)
        got = None if esc_twin is None else \
            esc_twin.step(s, rng, pending, q, prox, fx, fy, f_eq, g_damp, rung_push, rung, rung_step)
        if got is not None:
            mh, forces = got
        else:
            for i, al in enumerate(alls):
                pk = pressure_of.get(i)
                if pk is not None:
                    rr = V[f"policies.ally_pressure.{pk}.request_rate_m"]
                    pending[i] += rng.random(n) < (1.0 - np.exp(-rr * dtm))
                    lag = V[f"alliances.{i}.lag_mean_m"]
                    u_del = rng.random(n)
                    # switch `allies_lag` off: every pending request is delivered in the step it is made
                    deliver = _binomial_small(pending[i], 1.0 - np.exp(-dtm / lag), u_del) if st.allies_lag \
                        else pending[i].copy()
                    pending[i] -= deliver
                    qg = V[f"policies.ally_pressure.{pk}.q_gain"]
                    q[:, i] = 1.0 - (1.0 - q[:, i]) * _power_sparse(1.0 - qg, deliver)
                    acts = (deliver > 0) & (rng.random(n) < V[f"alliances.{i}.follows_patron"])
                    for j, f in enumerate(fps):
                        if f.local == al.protege or al.protege in f.hawks:
                            rung_push[:, j] += acts
            mh = np.zeros((n, J))
            mh_term: dict[int, Any] = {}   # one protégé's war-party term, shared by its flashpoints
            for j, f in enumerate(fps if st.war_parties else ()):      # switch `war_parties`
                for i, al in enumerate(alls):
                    if al.protege == f.local or al.protege in f.hawks:
                        if i not in mh_term:
                            hs_num = spec.actors[al.protege].hawk_share
                            hs = V[f"actors.{al.protege}.hawk_share"] if hs_num is not None else 0.0
                            p0, dp, cst = (V[f"alliances.{i}.{x}"] for x in ("provoke_p0", "provoke_dp", "provoke_cost"))
                            mh_term[i] = hs * np.maximum(0.0, p0 + q[:, i] * dp - cst) / np.maximum(dp, 1e-9)
                        mh[:, j] += mh_term[i]
            forces = np.zeros((n, J))
            for j, f in enumerate(fps):
                e = f"flashpoints[{f.id}].escalation"
                adv_prox = np.zeros(n)
                for r, (di, _D, _R) in enumerate(directions):
                    if dyad_ids[di] in f.dyads:
                        adv_prox = np.maximum(adv_prox, prox[r])
                if f.richardson is not None:
                    b = f"flashpoints[{f.id}].richardson"
                    kR, lR, aR, bR, gR, hR, gp = (V[f"{b}.{x}"] for x in ("k", "l", "a", "b", "g", "h", "g_pressure"))
                    dx = kR * fy[:, j] - aR * fx[:, j] + gR + gp * adv_prox
                    dy = lR * fx[:, j] - bR * fy[:, j] + hR
                    fx[:, j] = np.maximum(fx[:, j] + dx * dtm, 0.0)
                    fy[:, j] = np.maximum(fy[:, j] + dy * dtm, 0.0)
                    # both forces at 0 give log 0 = -inf: harmless, the hazard uses max(forces, 0)
                    with np.errstate(divide="ignore"):
                        forces[:, j] = np.log((fx[:, j] + fy[:, j]) / f_eq[:, j])
                up = 1.0 - K.exp_common(-(V[f"{e}.up_m"] + V[f"{e}.up_pressure"] * adv_prox) * dtm)
                up = 1.0 - (1.0 - up) * _power_sparse(V[f"{e}.push_factor"], rung_push[:, j])
                down = 1.0 - np.exp(-(V[f"{e}.down_m"] + V[f"{e}.down_groups"] * g_damp[:, j]) * dtm)
                u = rng.random(n)
                step_r = np.where(u < up, 1, np.where(u > 1.0 - down, -1, 0))
                new_rung = K.clip(rung[j] + step_r, 0, f.escalation.rungs - 1)
                rose = np.nonzero(new_rung > rung[j])[0]
                if rose.size:
                    hit = rung_step[rose, j, new_rung[rose]] < 0
                    rung_step[rose[hit], j, new_rung[rose[hit]]] = s
                rung[j] = new_rung

        # 6. hazards, causes, initiators, onsets ------------------------------------------
        # the compiled twin of this step (the same numbers; detente.crisis._compiled_hazard), None when
        # it is off or hands the month to the numpy code below (a hazard that is not finite)
        hz6 = None
        if hz_twin is not None:
            hz6 = hz_twin.hazards(s, dtm, pending_hold, g_damp, agreed_fp, alive, forced, prox, pwar, mh, rung, forces,
                                  wedge_fail)
        if hz6 is not None:
            h_fp, p_any, hz_parts, hz_tots = hz6
            causes = np.zeros((J, NCAUSE))
            u = rng.random(n)
            rows = np.nonzero(u < p_any)[0]
            u_pick = rng.random(len(rows)) if rows.size else u[:0]
            u_who = rng.random(len(rows)) if rows.size else u[:0]
            u_cause = rng.random(len(rows)) if rows.size else u[:0]
            who = hz_twin.onsets(s, rows, u_pick, u_who, u_cause, h_fp, hz_parts, hz_tots, causes, diag_init[s],
                                 onset_step, onset_init, onset_cause, alive, first_step, first_fp, first_init,
                                 st.after_first_war == "stop")
            if feedback_on and rows.size:
                war_feedback(rows, who)
        else:
            fp_parts: list[list[tuple[int, Any, Any]]] = []
            lam_fp = np.zeros((n, J))
            causes = np.zeros((J, NCAUSE))
            for j, f in enumerate(fps):
                b = f"flashpoints[{f.id}].beta"
                lam0 = V[f"flashpoints[{f.id}].base_hazard_m"]
                neg = -V[f"{b}.groups"] * g_damp[:, j] + V[f"{b}.agreement"] * agreed_fp[:, j]
                if hold_on and hold_fp[j]:
                    # a postponed meeting still pending keeps the process alive (stall.hold_damping)
                    neg = neg - V["policies.stall.hold_damping"] * np.minimum(pending_hold[:, hold_fp[j]].sum(axis=1), 1.0)
                smult = 1.0
                for shk in c.shocks:
                    if f.id in shk.hazard_mult and shk.window[0] <= c.step_end[s] and c.step_start[s] <= shk.window[1]:
                        # a window covering part of the step scales the hazard for that part only
                        days = (min(shk.window[1], c.step_end[s]) - max(shk.window[0], c.step_start[s])).days + 1
                        frac = days / ((c.step_end[s] - c.step_start[s]).days + 1)
                        smult = smult * (1.0 - frac + frac * resolve(shk.hazard_mult[f.id]))
                lam_b = lam0 * np.exp(neg) * smult * alive[:, j]
                terms: list[tuple[int, Any, Any]] = []  # (cause, exponent term, initiator index or shares)
                for r, (di, D, _R) in enumerate(directions):
                    if dyad_ids[di] in f.dyads and D in f.involves:
                        terms.append((1, V[f"{b}.forced"] * forced[r] + V[f"{b}.pressure"] * prox[r], aidx[D]))
                terms.append((2, V[f"{b}.crisis_pwar"] * pwar[:, j], aidx[f.crisis.demander]))
                terms.append((3, V[f"{b}.moral_hazard"] * mh[:, j], aidx[f.local]))
                esc = V[f"{b}.rung"] * rung[j] / (f.escalation.rungs - 1) + V[f"{b}.forces"] * np.maximum(forces[:, j], 0)
                terms.append((4, esc, bgs[j]))
                if prov_on and prov is not None and f.id in prov_fps:
                    terms.append((5, V["triangle.coupling.provocation.beta"] * wedge_fail, aidx[prov.initiator]))
                parts = _hazard_parts(lam_b, bgs[j], terms, allowed)
                for cause, lam, who in parts:
                    lam_fp[:, j] += lam
                    tot_l = float(np.sum(lam))
                    causes[j, cause] += tot_l
                    if isinstance(who, np.ndarray):
                        ws = who.sum()
                        if ws > 0:
                            diag_init[s, j] += tot_l * who / ws
                    else:
                        diag_init[s, j, who] += tot_l
                fp_parts.append(parts)
            h_fp = K.hazard_prob(lam_fp, dtm)
            p_any = K.hazard_prob(lam_fp.sum(axis=1), dtm)  # = 1 − Π_j(1 − h_j), exactly in real arithmetic
            u = rng.random(n)
            onset = u < p_any
            if onset.any():
                rows = np.nonzero(onset)[0]
                hsum = h_fp[rows].cumsum(axis=1)
                pick = np.minimum((rng.random(len(rows))[:, None] * hsum[:, -1:] > hsum).sum(axis=1), J - 1)
                u_who = rng.random(len(rows))
                u_cause = rng.random(len(rows))
                who = np.zeros(len(rows), np.int64)
                cause_of = np.zeros(len(rows), np.int64)
                for j in range(J):
                    sel = np.nonzero(pick == j)[0]
                    if not len(sel):
                        continue
                    rr = rows[sel]
                    W = np.zeros((len(sel), A))
                    Cw = np.zeros((len(sel), NCAUSE))
                    for cause, lam, whom in fp_parts[j]:
                        lv = lam[rr] if np.ndim(lam) else np.full(len(sel), lam)
                        if isinstance(whom, np.ndarray):
                            W += lv[:, None] * (whom / max(whom.sum(), 1e-300))[None, :]
                        else:
                            W[:, whom] += lv
                        Cw[:, cause] += lv
                    cw = W.cumsum(axis=1)
                    who[sel] = np.minimum((u_who[sel, None] * cw[:, -1:] > cw).sum(axis=1), A - 1)
                    cc = Cw.cumsum(axis=1)
                    cause_of[sel] = np.minimum((u_cause[sel, None] * cc[:, -1:] > cc).sum(axis=1), NCAUSE - 1)
                onset_step[rows, pick] = s
                onset_init[rows, pick] = who
                onset_cause[rows, pick] = cause_of
                alive[rows, pick] = False
                fresh = first_step[rows] < 0
                first_step[rows[fresh]] = s
                first_fp[rows[fresh]] = pick[fresh]
                first_init[rows[fresh]] = who[fresh]
                if st.after_first_war == "stop":
                    alive[rows, :] = False
                if feedback_on:
                    war_feedback(rows, who)

        # 7. record ----------------------------------------------------------------------
        if hz is not None:   # record_paths
            hz[s] = h_fp
            if rc_path is not None and cfg_path is not None:   # and a triangle
                rc_path[s] = x12
                cfg_path[s] = K.triangle_config(x01, x02, x12)
        diag["meetings_held"][s] = met.sum()
        diag["postponed"][s] = postponed.sum()
        diag["online"][s] = online.sum()
        diag["groups_active"][s] = nact_all.sum()
        diag["group_stock"][s] = gsum.sum()
        diag["leaks"][s] = nleak.sum()
        diag["fake_leaks"][s] = nfake.sum()
        diag["verified_fakes"][s] = nver.sum()
        if has_tri:
            diag["deals_" + t1][s] = deal1.sum()
            diag["deals_" + t2][s] = deal2.sum()
        diag["p_any"][s] = p_any.sum()
        diag_dir_forced[s] = np.count_nonzero(forced, axis=1)
        diag_dir_prox[s] = prox.sum(axis=1)
        diag_phi[s] = phi.sum(axis=0)
        diag_rung[s] = rung.sum(axis=1)
        if NA:
            diag_q[s] = q.sum(axis=0)
        diag_cause[s] = causes

    return {
        "onset_step": onset_step, "onset_init": onset_init, "onset_cause": onset_cause,
        "first_step": first_step, "first_fp": first_fp, "first_init": first_init,
        "split_step": split_step, "agree_step": agree_step, "rung_step": rung_step,
        "hazard": None if hz is None else np.ascontiguousarray(hz.transpose(1, 0, 2)),
        "rc": None if rc_path is None else np.ascontiguousarray(rc_path.T),
        "config": None if cfg_path is None else np.ascontiguousarray(cfg_path.T),
        "diag": diag, "diag_dir_forced": diag_dir_forced, "diag_dir_prox": diag_dir_prox, "diag_phi": diag_phi,
        "diag_rung": diag_rung, "diag_q": diag_q, "diag_cause": diag_cause, "diag_initiator_hazard": diag_init,
        "directions": [f"{D}>{R}" for _, D, R in directions],
    }


def _hazard_parts(lam_b: np.ndarray, bg: np.ndarray, terms: list[tuple[int, Any, Any]],
                  allowed: np.ndarray) -> list[tuple[int, Any, Any]]:
    """Split one flashpoint's hazard into cause- and initiator-specific parts (specs §7.4).

    ``λ = λ_b·(Σ bg + e^{Σ β_c x_c} − 1)``: the background part ``λ_b·Σ bg`` (shares of the
    listed background initiators, barred ones already zero) and the excess over background
    ``λ_b(e^{Σx} − 1)`` split among the causes in proportion to ``β_c x_c``. ``terms`` holds
    ``(cause, β_c x_c, initiator)`` with the initiator an actor index or a vector of shares.
    A part whose initiator is barred (``allowed`` false; for a vector, the barred shares) is
    removed, and so is its term from the exponent: the hazard equals the one computed with the
    barred actor's terms set to zero, nothing is handed to the other initiators.
    """
    kept = []
    total_e = np.zeros(np.shape(lam_b))
    for cause, term, who in terms:
        w = float(who.sum()) if isinstance(who, np.ndarray) else float(allowed[who])
        if w > 0:
            t = np.maximum(term, 0.0)
            if w != 1.0:                      # × 1.0 leaves every value as it is
                t = t * w
            kept.append((cause, t, who))
            total_e += t
    excess = lam_b * np.expm1(total_e) / np.where(total_e > 0, total_e, 1.0)
    parts: list[tuple[int, Any, Any]] = [(0, lam_b * bg.sum(), bg)]
    for cause, t, who in kept:
        parts.append((cause, excess * t, who))
    return parts


def _at(x: Any, rows: np.ndarray) -> Any:
    """``x`` at ``rows`` when it is an array over runs (a number stays as it is)."""
    return x[rows] if np.ndim(x) else x


def _power_sparse(base: Any, expo: np.ndarray) -> np.ndarray:
    """``np.power(base, expo)`` for an exponent array that is mostly zero: ``x**0`` is 1 for
    every ``x``, so only the non-zero exponents are computed (the same values, element by element)."""
    out = np.ones(expo.shape)
    nz = np.flatnonzero(expo)
    if nz.size:
        out[nz] = np.power(_at(base, nz), expo[nz])
    return out


def _binomial_small(k: np.ndarray, p: Any, u: np.ndarray) -> np.ndarray:
    """Binomial(k, p) draws by inversion of one uniform per run (k small non-negative integers)."""
    out = np.zeros(k.shape, np.int32)
    rows = np.nonzero(k)[0]
    if not rows.size:
        return out
    p = np.broadcast_to(np.asarray(p, float), k.shape)[rows]
    kk = k[rows].astype(float)
    uu = u[rows]
    q = 1.0 - p
    odds = p / np.where(q > 0, q, 1.0)
    pmf = np.power(q, kk)                 # P(X = 0)
    cdf = pmf.copy()
    x_out = np.zeros(rows.size, np.int32)
    for x in range(int(kk.max())):
        more = (uu >= cdf) & (kk > x)
        if not more.any():
            break
        x_out += more
        pmf = pmf * (kk - x) / (x + 1) * odds
        cdf = cdf + pmf
    out[rows] = x_out
    return out


# ====================================================================== the public chunk API
#: The execution context of :func:`run` calls that name no executor or chunk store
#: (:func:`execution`): ``(executor, chunks)``.
_EXECUTION: ContextVar[tuple[Any, Any]] = ContextVar("detente_crisis_execution", default=(None, None))


#: The fixed CPU cost of one step of one chunk, whatever its runs, in run-steps of the numpy code
#: (the month loop's per-call overhead): a month costs ≈ 3.3 ms per chunk plus ≈ 1.37 µs per run
#: (``combined`` of seesaw-2021, 100–8,192-run chunks, idle machine; docs/crisis.md "Default
#: executor"), so a 1,000-run chunk costs 3.5 times its runs and an 8,192-run chunk 1.3 times.
CHUNK_STEP_WORK = 2500
#: The same for the compiled twins (≈ 0.56 ms per chunk-month, in the numpy code's run-steps): where
#: the twins save most is the per-chunk cost.
CHUNK_STEP_WORK_COMPILED = 400
#: A run-step with the twins in per cent of one of the numpy code (≈ 1.27 against ≈ 1.37 µs).
COMPILED_RUN_STEP_PERCENT = 93


def chunk_work(n: int, steps: int, compiled: bool = False) -> int:
    """The estimated CPU cost of one engine call of ``n`` runs and ``steps`` steps, in run-steps of
    the numpy code (:attr:`CrisisChunk.work`; also a sensitivity study's group of points)."""
    if compiled:
        return (n * COMPILED_RUN_STEP_PERCENT // 100 + CHUNK_STEP_WORK_COMPILED) * steps
    return (n + CHUNK_STEP_WORK) * steps


@dataclass(frozen=True)
class CrisisChunk:
    """One chunk of a crisis run: everything a worker needs to simulate it (picklable).

    Chunk ``chunk`` of a run with root seed ``root`` draws every random number from
    ``SeedSequence(root, spawn_key=(chunk,))``; ``key`` names the run it belongs to
    (:attr:`CrisisPlan.key`), so stores can keep finished chunks under it.
    """

    compiled: _Compiled
    chunk: int
    n: int
    root: int
    record_paths: bool
    key: str = ""
    #: simulate with the compiled twins (:mod:`detente.crisis.compiled`; ``None``: as
    #: ``DETENTE_COMPILED`` says in the process that simulates). Speed only: the same numbers.
    use_compiled: bool | None = None

    @property
    def work(self) -> int:
        """The chunk's estimated CPU cost in run-steps of the numpy code: (runs + the fixed cost of a
        chunk-step) × steps (:data:`CHUNK_STEP_WORK`, or :data:`CHUNK_STEP_WORK_COMPILED` with the
        twins, whose run-steps also cost a little less). What :func:`run_plans` weighs to choose
        the twins and :class:`detente.executors.AutoExecutor` to choose a process pool."""
        return chunk_work(self.n, len(self.compiled.step_start), bool(self.use_compiled))


def simulate(compiled: _Compiled, n: int, rng: Any, record_paths: bool = False, *,
             use_compiled: bool | None = None) -> dict[str, Any]:
    """Simulate ``n`` runs of a compiled scenario with the random numbers of ``rng``.

    ``rng`` is a :class:`numpy.random.Generator` or a stand-in with the same draw methods (the
    sensitivity studies pass one that gives every parameter point common random numbers).
    Returns a *part*: per-run arrays and per-step sums, assembled by
    :meth:`CrisisResult.from_parts` / :meth:`CrisisPlan.assemble` in chunk order.
    ``use_compiled`` chooses the compiled twins of :mod:`detente.crisis.compiled` (default: as
    ``DETENTE_COMPILED`` says for this call's runs × steps); the numbers are the same either way.
    """
    if use_compiled is None:
        use_compiled = _compiled_kernels.choose(int(n) * len(compiled.step_start))
    return _simulate_chunk(compiled, int(n), rng, bool(record_paths), bool(use_compiled))


def simulate_chunk(job: CrisisChunk) -> dict[str, Any]:
    """Simulate one chunk from its own random stream (the function executors map over chunks)."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(job.root, spawn_key=(job.chunk,))))
    return simulate(job.compiled, job.n, rng, job.record_paths, use_compiled=job.use_compiled)


def with_values(compiled: _Compiled, values: dict[str, Any]) -> _Compiled:
    """A copy of ``compiled`` with the numbers at ``values``' dotted paths set (a float for all
    runs, or an array with one value per run) and no longer drawn per run."""
    fixed = dict(compiled.fixed)
    fixed.update(values)
    return dataclasses.replace(compiled, fixed=fixed, drawn=[t for t in compiled.drawn if t[0] not in values])


@dataclass(frozen=True)
class CrisisPlan:
    """A crisis run cut into chunks, before any is simulated (see :func:`plan`).

    ``key`` is the SHA-256 of everything that determines the run's numbers (the compiled
    numbers and calendar, the run parameters but ``workers``, the runs, the root seed and the
    detente version), never of where it runs; a chunk store keeps finished chunks under it.
    """

    compiled: _Compiled
    params: CrisisParams
    runs: int
    root: int
    input_hash: str
    scenario_name: str
    key: str

    @property
    def chunks(self) -> list[CrisisChunk]:
        """The chunk jobs, in chunk order (``chunk_size`` runs each, the last one the rest)."""
        cs = self.params.chunk_size
        return [CrisisChunk(self.compiled, i, min(cs, self.runs - i * cs), self.root, self.params.record_paths, self.key)
                for i in range((self.runs + cs - 1) // cs)]

    def assemble(self, parts: Sequence[dict[str, Any]]) -> CrisisResult:
        """The :class:`CrisisResult` of the parts of every chunk, given in chunk order."""
        return CrisisResult.from_parts(list(parts), compiled=self.compiled, params=self.params, root_seed=self.root,
                                       runs=self.runs, input_hash=self.input_hash, scenario_name=self.scenario_name)


def _plan_key(c: _Compiled, params: CrisisParams, runs: int, root: int) -> str:
    from detente.result import detente_version

    def num(v: Any) -> Any:
        return np.asarray(v).tolist() if isinstance(v, np.ndarray) else v

    blob = json.dumps({
        "spec": c.spec.model_dump(mode="json"), "fixed": {k: num(v) for k, v in sorted(c.fixed.items())},
        "drawn": [list(t) for t in c.drawn], "dt": c.dt, "steps": [d.isoformat() for d in c.step_start],
        "events": [repr(e) for e in c.events], "shocks": [repr(x) for x in c.shocks],
        "params": params.model_dump(mode="json", exclude={"workers"}), "runs": runs, "root": root,
        "version": detente_version(),
    }, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def plan(scenario: Any, params: CrisisParams | dict | None = None, *,
         rng: np.random.Generator | int | None = None, seed: int | None = None) -> CrisisPlan:
    """Compile a crisis scenario and cut its runs into chunks (arguments as for :func:`run`).

    Examples
    --------
    >>> from detente import examples
    >>> from detente.crisis.engine import plan, simulate_chunk
    >>> p = plan(examples.load("seesaw-2021"), {"runs": 300, "chunk_size": 100, "horizon_months": 3}, seed=1)
    >>> [c.n for c in p.chunks]
    [100, 100, 100]
    >>> p.assemble([simulate_chunk(c) for c in p.chunks]).runs
    300
    """
    if params is None:
        params = CrisisParams()
    elif isinstance(params, dict):
        params = CrisisParams.model_validate(params)
    spec = load_spec(scenario.dynamics, file=getattr(scenario, "name", None), hypothesis=params.hypothesis,
                     extra=params.set or None)
    c = compile_spec(spec, params)
    runs = params.runs or spec.settings.runs
    root = _root_seed(rng, seed, spec.settings.seed)
    return CrisisPlan(c, params, runs, root, scenario.content_hash(), scenario.name, _plan_key(c, params, runs, root))


@contextmanager
def execution(executor: Any = None, chunks: Any = None) -> Iterator[None]:
    """Within the block, :func:`run` calls that name no ``executor``/``chunks`` use these.

    So a whole analysis (:func:`detente.crisis.analysis.run_hypotheses`: hypotheses,
    counterfactual passes, back-test forecasts) runs its chunks on one executor and keeps them
    in one chunk store without passing them through every function.
    """
    token = _EXECUTION.set((executor, chunks))
    try:
        yield
    finally:
        _EXECUTION.reset(token)


class _Tally:
    """Chunks done and chunks started over every :func:`run` of a :func:`reporting` block."""

    def __init__(self, callback: Callable[[int, int], None]) -> None:
        self.callback, self.done, self.total = callback, 0, 0

    def for_run(self) -> Callable[[int, int], None]:
        """The ``progress`` of one :func:`run_plans` call, added to what earlier runs did."""
        done0, total0 = self.done, self.total

        def hook(done: int, total: int) -> None:
            self.done, self.total = done0 + done, total0 + total
            self.callback(self.done, self.total)

        return hook


_PROGRESS: ContextVar[_Tally | None] = ContextVar("detente_crisis_progress", default=None)


@contextmanager
def reporting(progress: Callable[[int, int], None] | None) -> Iterator[None]:
    """Within the block, every :func:`run` reports ``progress(chunks done, chunks started)``
    summed over all the runs so far (the second number grows as each run starts: an analysis
    does not know in advance how many runs its passes will make). ``None``: nothing reported.
    """
    token = _PROGRESS.set(_Tally(progress) if progress is not None else None)
    try:
        yield
    finally:
        _PROGRESS.reset(token)


def current_execution() -> tuple[Any, Any]:
    """``(executor, chunks)`` of the enclosing :func:`execution` block (``(None, None)`` outside one)."""
    return _EXECUTION.get()


def run_plans(plans: Sequence[CrisisPlan], *, executor: Any = None, chunks: Any = None,
              progress: Callable[[int, int], None] | None = None) -> list[CrisisResult]:
    """Simulate the chunks of several plans together and assemble one result per plan.

    Parameters
    ----------
    executor
        Anything with ``map_unordered(fn, jobs)`` yielding ``(job, fn(job))`` as jobs finish
        (:mod:`detente.executors`: serial, process pool, Dask); ``None``: in this process.
        The chunks of all plans are submitted at once, so many small runs (one chunk each)
        fill the workers too.
    chunks
        A chunk store (``None``: none), with ``stored(plan) -> {chunk: part}`` (the chunks
        finished earlier, e.g. before a kill), ``save(plan, chunk, part)`` (called as each chunk
        finishes) and ``finish(plan)``; only the missing chunks are simulated.
    progress
        Called with ``(chunks done, chunks in all)``.

    Results are the same bytes whatever the executor, the number of workers, the order in
    which chunks finish and how many were stored before: parts are assembled in chunk order.
    """
    got: dict[str, dict[int, dict[str, Any]]] = {}   # by plan key: identical plans are simulated once
    todo: list[CrisisChunk] = []
    for p in plans:
        if p.key in got:
            continue
        have = dict(chunks.stored(p)) if chunks is not None else {}
        got[p.key] = have
        todo += [j for j in p.chunks if j.chunk not in have]
    # the compiled twins or numpy, chosen once for the batch by its plans' work (DETENTE_COMPILED),
    # so a run resumed from a chunk store makes the same choice as its first attempt
    first = {p.key: p for p in reversed(plans)}
    twins = _compiled_kernels.choose(sum(c.work for k in got for c in first[k].chunks))
    todo = [dataclasses.replace(j, use_compiled=twins) for j in todo]
    total = sum(len(first[k].chunks) for k in got)
    done = total - len(todo)
    if progress:
        progress(done, total)
    results = executor.map_unordered(simulate_chunk, todo) if executor is not None else \
        ((j, simulate_chunk(j)) for j in todo)
    for job, part in results:
        got[job.key][job.chunk] = part
        if chunks is not None:
            chunks.save(first[job.key], job.chunk, part)
        done += 1
        if progress:
            progress(done, total)
    if chunks is not None:
        for k in got:
            chunks.finish(first[k])
    out = [p.assemble([got[p.key][j.chunk] for j in p.chunks]) for p in plans]
    return out


def _root_seed(rng: np.random.Generator | int | None, seed: int | None, default: int) -> int:
    if seed is not None:
        return int(seed)
    if isinstance(rng, (int, np.integer)):
        return int(rng)
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(0, 2**63 - 1))
    return int(default)


def run(scenario: Any, params: CrisisParams | dict | None = None, *,
        rng: np.random.Generator | int | None = None, seed: int | None = None, executor: Any = None,
        chunks: Any = None) -> CrisisResult:
    """Simulate a crisis scenario over Monte-Carlo runs.

    Parameters
    ----------
    scenario
        A :class:`detente.scenario.Scenario` whose ``dynamics`` holds a crisis description.
    params
        :class:`CrisisParams` (or a dict of its fields).
    rng, seed
        The root of the random streams: an integer ``seed`` (recorded), or a
        ``numpy.random.Generator`` from which one root integer is drawn; if neither is
        given the scenario's ``settings.seed`` is used.
    executor, chunks
        Where the chunks run and where finished chunks are kept (see :func:`run_plans`);
        by default those of the enclosing :func:`execution` block, else in this process (or
        a local process pool of ``params.workers``) with no store. The result does not depend
        on either.

    Returns
    -------
    CrisisResult
        Frozen record with per-run arrays and summaries (see :mod:`detente.crisis.result`).

    Examples
    --------
    >>> from detente import examples
    >>> from detente.crisis import run
    >>> res = run(examples.load("seesaw-2021"), {"runs": 200, "horizon_months": 6}, seed=1)
    >>> 0.0 <= res.p_war_by()["2022-02-28"] <= 1.0
    True
    """
    return run_planned([plan(scenario, params, rng=rng, seed=seed)], executor=executor, chunks=chunks)[0]


def run_planned(plans: Sequence[CrisisPlan], *, executor: Any = None, chunks: Any = None) -> list[CrisisResult]:
    """:func:`run_plans` as :func:`run` calls it: by default on the executor and chunk store of the
    enclosing :func:`execution` block (else in this process, or on a local process pool of the
    largest ``params.workers`` of the plans), reporting to the enclosing :func:`reporting` block.

    An analysis that plans all its passes first and calls this once
    (:func:`detente.crisis.analysis.run_hypotheses`) gives the executor every pass's chunks together.
    """
    ctx_executor, ctx_chunks = current_execution()
    executor = executor if executor is not None else ctx_executor
    chunks = chunks if chunks is not None else ctx_chunks
    tally = _PROGRESS.get()
    progress = tally.for_run() if tally is not None else None
    workers = max((p.params.workers for p in plans), default=1)
    if executor is None and workers > 1 and sum(len(p.chunks) for p in plans) > 1:
        from detente.executors import ProcessExecutor

        # workers exit when this process dies (detente.processes.OwnedProcessPool)
        with ProcessExecutor(workers) as ex:
            return run_plans(plans, executor=ex, chunks=chunks, progress=progress)
    return run_plans(plans, executor=executor, chunks=chunks, progress=progress)
