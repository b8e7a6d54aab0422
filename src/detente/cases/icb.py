"""One crisis scenario per ICB crisis, built from what was known at the trigger date.

Reads the International Crisis Behavior data (v14, system and actor level) and the COW/GML/
Thompson–Dreyer tables from a directory given by the caller (normally
``../shared/data/conflict/``; its README gives versions and citation terms). Nothing from
those files is stored in the package: scenarios are built on the fly.

**No hindsight.** The readers load only the columns of the allow-lists below
(:data:`ICB1_ALLOWED`, :data:`ICB2_ALLOWED`, :data:`NMC_COLUMNS`, :data:`MID_COLUMNS`,
:data:`RIVALRY_COLUMNS`; ``usecols``), each with the reason it is known at the trigger.
ICB columns coded during or after the crisis (violence, crisis-management technique,
duration, termination, outcome, mediation, third-party activity, the number of crisis
actors, the crisis name, protracted-conflict labels, gravity) are never read.
``tests/test_cases_icb.py`` shuffles every other column of a fixture and asserts that the
built scenarios are byte-identical.

What a case holds (all at the trigger month ``T`` = ICB ``yrtrig/motrig``):

* **actors and sides** — the ICB crisis actors whose own trigger falls in the system trigger
  month (late joiners are not known at ``T``), plus the principal adversary (``southv``)
  each of them names. Sides come from two-colouring the graph "actor — its principal
  adversary", starting with the first crisis actor (lowest ``cracno``) on the ``local`` side;
  the first actor's principal adversary leads the ``adversary`` side.
* **capabilities** — COW NMC CINC of each state in year ``yrtrig − cinc_lag_years`` (default
  1: an annual CINC of the trigger year already contains the mobilisation of a crisis that
  turns violent), and the trend: OLS slope of ln CINC on the year over the
  ``trend_years`` years ending there, per month (slope / 12).
* **rivalry** — a Thompson–Dreyer strategic rivalry between a local-side and an
  adversary-side state with ``styear ≤ yrtrig − 1``.
* **code corrections** (``CaseParams.code_corrections``, on by default; added after the first
  look at the test scores, so the pre-registered scoring turns them off) — ICB keeps the code
  of West Germany (260) and of North Yemen (678) for the unified states, which COW codes 255
  (from October 1990) and 679 (from May 1990): :data:`SUCCESSOR_CODES` reads those ICB codes as
  the COW successor's from that month on. And when the first crisis actor names itself or no
  state as its principal adversary (``southv``; crisis 35 names itself), the adversary lead is
  the first crisis actor triggered in the trigger month that names the first actor.
* **prior disputes** — GML MIDs in which a local-side and an adversary-side state took
  opposite sides, started strictly before ``T`` (month precision when a day is unknown) and
  within ``mid_window_years``; MID data end in 2010, so for later triggers the observed share
  of the window is reported (``mid_window_observed``).

References
----------
Brecher & Wilkenfeld (2000), *A Study of Crisis*; Brecher, Wilkenfeld, Beardsley, James &
Quinn, *ICB Data Codebook*; Singer, Bremer & Stuckey (1972) for CINC; Gibler, Miller & Little
(2016, *ISQ* 60(4)) for MIDs; Thompson & Dreyer (2012), *Handbook of International
Rivalries*; Miller (2022, *CMPS*) for the peacesciencer exports.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from detente.errors import InputError, Problem

__all__ = [
    "ICB1_ALLOWED", "ICB2_ALLOWED", "NMC_COLUMNS", "MID_COLUMNS", "RIVALRY_COLUMNS", "FILES",
    "CaseParams", "IcbCase", "CaseActor", "Tables", "load_tables", "build_cases", "case_scenario",
    "library_json", "NON_STATE", "SUCCESSOR_CODES", "Skip",
]

FILES = {"icb1": "icb1v14.csv", "icb2": "icb2v14.csv", "nmc": "cow_nmc.csv",
         "mid": "gml_part.csv", "rivalries": "td_rivalries.csv"}

#: ICB system-level columns read, each with why it is known at the trigger date.
ICB1_ALLOWED: dict[str, str] = {
    "crisno": "identifier of the crisis (join key to the actor level)",
    "yrtrig": "year of the trigger: the date the forecast is made",
    "motrig": "month of the trigger: the date the forecast is made",
    "datrig": "day of the trigger (66/77/88 = unknown): the date the forecast is made",
    "break": "trigger type of the first crisis actor: the triggering act itself, observed at the trigger",
    "geog": "region of the crisis: geography, fixed before the crisis",
}

#: ICB actor-level columns read, each with why it is known at the trigger date.
ICB2_ALLOWED: dict[str, str] = {
    "crisno": "identifier of the crisis (join key)",
    "cracno": "crisis-actor case number: orders the actors (the first is the one the system trigger is about)",
    "cracid": "the actor's COW state code: identifier",
    "actor": "the actor's abbreviation: identifier (used as the scenario's actor id)",
    "yrtrig": "the actor's own trigger year: used only to keep actors whose crisis began in the trigger month",
    "motrig": "the actor's own trigger month: same use (late joiners are dropped)",
    "southv": "principal adversary named at the actor's trigger: who threatens it, known at the trigger",
}

#: Columns read from the other tables (all dated strictly before the trigger when used).
NMC_COLUMNS = ("ccode", "year", "cinc")
MID_COLUMNS = ("dispnum", "ccode", "styear", "stmon", "stday", "sidea")
RIVALRY_COLUMNS = ("ccode1", "ccode2", "styear", "endyear")

#: ICB codes of non-state entities (``southv``/``trigent`` 995–997).
NON_STATE = frozenset({995, 996, 997})

#: ICB codes that COW replaced at a unification: ``ICB code → (COW code, first (year, month))``.
#: From that month on the ICB code is read as the COW successor's (COW State System Membership:
#: GFR 260 ends and GMY 255 resumes in October 1990; YAR 678 ends and YEM 679 begins in May 1990).
SUCCESSOR_CODES: dict[int, tuple[int, tuple[int, int]]] = {260: (255, (1990, 10)), 678: (679, (1990, 5))}

#: MID data (GML 2.2.1) end with disputes started in 2010.
MID_LAST_YEAR = 2010


@dataclass(frozen=True)
class CaseParams:
    """Interpretive choices of the case builder (each documented in ``docs/cases.md``).

    Attributes
    ----------
    cinc_lag_years
        CINC is read for ``yrtrig − cinc_lag_years`` (1: the year before the trigger, whose
        capabilities are complete before the crisis; 0 reads the trigger year itself).
    trend_years
        Years in the OLS of ln CINC on the year that gives the capability trend.
    mid_window_years
        Years before the trigger in which prior MIDs between the sides are counted.
    horizon_months
        Months simulated from the trigger month.
    split
        Last trigger year of the training set (crises triggered after it are the test set).
    runs
        Monte Carlo runs written into each scenario (``detente run`` may override).
    code_corrections
        Apply the corrections added after the first look at the test scores (read ICB's codes
        of the unified Germany and Yemen as COW's, :data:`SUCCESSOR_CODES`; take the adversary
        lead from the actor that names the first actor when the first actor names itself or no
        state). ``False`` is the builder as pre-registered (the frozen fit and its scoring).
    """

    cinc_lag_years: int = 1
    trend_years: int = 5
    mid_window_years: int = 10
    horizon_months: int = 12
    split: int = 1989
    runs: int = 1000
    code_corrections: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.code_corrections, bool):
            raise InputError(Problem("code_corrections must be true or false", column="code_corrections",
                                     value=self.code_corrections))
        for name, lo in (("cinc_lag_years", 0), ("trend_years", 2), ("mid_window_years", 1),
                         ("horizon_months", 1), ("runs", 1)):
            v = getattr(self, name)
            if not isinstance(v, int) or v < lo:
                raise InputError(Problem(f"{name} must be an integer ≥ {lo}", column=name, value=v))


@dataclass(frozen=True)
class CaseActor:
    """A state in a case: id, COW code, side, CINC and its monthly log trend."""

    id: str
    ccode: int
    side: str  # "local" | "adversary"
    crisis_actor: bool
    cinc: float | None
    cinc_year: int
    trend_m: float | None


@dataclass(frozen=True)
class IcbCase:
    """Trigger-time description of one ICB crisis (see the module docstring)."""

    crisno: int
    trigger: dt.date  # first day of the trigger month (the engine's step is the month)
    trigger_day: int | None
    year: int
    trigger_type: int | None
    region: int | None
    local: str
    adversary: str
    actors: tuple[CaseActor, ...]
    rivalry: bool
    prior_mids: int
    mid_window_observed: float
    notes: tuple[str, ...] = field(default=())

    def side_cinc(self, side: str) -> float:
        return float(sum(a.cinc for a in self.actors if a.side == side and a.cinc is not None))

    def features(self) -> dict[str, Any]:
        """Trigger-time covariates (the inputs of the hazard's linear predictor)."""
        loc, adv = self.side_cinc("local"), self.side_cinc("adversary")
        lead = {a.id: a for a in self.actors}
        tl, ta = lead[self.local].trend_m, lead[self.adversary].trend_m
        return {
            "log_cinc_ratio": _r(math.log(adv / loc)),
            "adversary_share": _r(adv / (adv + loc)),
            "trend_gap_m": _r((ta or 0.0) - (tl or 0.0)),
            "trend_known": tl is not None and ta is not None,
            "rivalry": int(self.rivalry),
            "log1p_prior_mids": _r(math.log1p(self.prior_mids)),
            "prior_mids": self.prior_mids,
            "mid_window_observed": _r(self.mid_window_observed),
            "violent_trigger": None if self.trigger_type is None else int(self.trigger_type in (8, 9)),
            "trigger_type": self.trigger_type,
        }


class Skip(str):
    """Why a crisis could not be built: the reason text (a ``str``) with its ``kind`` and trigger ``year``.

    Kinds: ``trigger_not_coded``, ``no_actor_rows``, ``no_actor_at_trigger``, ``no_state_adversary``
    (data gaps of ICB); ``new_state`` (a lead state's NMC series starts after the CINC year: it was
    not yet a member of the COW state system), ``nmc_gap`` (a gap in the state's NMC series, e.g.
    occupation), ``ended_state`` (the series ended before the CINC year), ``not_in_nmc`` (never a
    COW system member), ``zero_cinc`` (data gaps of NMC).
    """

    kind: str
    year: int | None

    def __new__(cls, text: str, kind: str, year: int | None = None) -> Skip:
        obj = super().__new__(cls, text)
        obj.kind = kind
        obj.year = year
        return obj

    def __reduce__(self):  # keep kind/year through pickling (process pools)
        return (Skip, (str(self), self.kind, self.year))


SKIP_KINDS = ("trigger_not_coded", "no_actor_rows", "no_actor_at_trigger", "no_state_adversary", "new_state",
              "nmc_gap", "ended_state", "not_in_nmc", "zero_cinc")


def _cinc_skip(a: CaseActor, series: dict[int, float], year: int) -> Skip:
    """The reason for a lead state without a positive CINC in ``a.cinc_year``, from its NMC series."""
    head = f"no positive NMC CINC for {a.id} (COW {a.ccode}) in {a.cinc_year}"
    yc = a.cinc_year
    if not series:
        return Skip(f"{head}: the state has no NMC record at all (never a member of the COW state system)",
                    "not_in_nmc", year)
    if yc in series:
        return Skip(f"{head}: its NMC CINC that year is {series[yc]:g}", "zero_cinc", year)
    first, last = min(series), max(series)
    if last < yc:
        return Skip(f"{head}: its NMC series ends in {last} (the state left the COW state system)",
                    "ended_state", year)
    if first > yc:
        return Skip(f"{head}: its NMC series begins in {first} (a new state, not yet a member of the COW "
                    f"state system in {yc})", "new_state", year)
    lo = max(y for y in series if y < yc) + 1
    hi = min((y for y in series if y > yc), default=yc + 1) - 1
    return Skip(f"{head}: its NMC series has no record {lo}–{hi} (not a member of the COW state system in "
                f"those years: occupation or union)", "nmc_gap", year)


def _r(x: float) -> float:
    x = float(x)
    return x if x == 0.0 or not math.isfinite(x) else float(f"{x:.10g}")


# ---------------------------------------------------------------------------------- reading
@dataclass(frozen=True)
class Tables:
    icb1: pd.DataFrame
    icb2: pd.DataFrame
    nmc: pd.DataFrame
    mid: pd.DataFrame
    rivalries: pd.DataFrame


def _read(path: Path, key: str, cols: tuple[str, ...] | list[str]) -> pd.DataFrame:
    file = path / FILES[key]
    if not file.is_file():
        raise InputError(Problem(f"missing data file {FILES[key]}", file=str(file),
                                 expected=f"a directory with {', '.join(FILES.values())}"))
    enc = "utf-8-sig" if key.startswith("icb") else "utf-8"
    header = pd.read_csv(file, encoding=enc, nrows=0).columns
    missing = [c for c in cols if c not in header]
    if missing:
        raise InputError(Problem("missing column(s)", file=str(file), column=", ".join(missing),
                                 expected="the columns of " + FILES[key]))
    return pd.read_csv(file, encoding=enc, usecols=list(cols), low_memory=False)


def load_tables(data_dir: str | Path) -> Tables:
    """Read the allow-listed columns of the five tables (nothing else is read)."""
    p = Path(data_dir)
    if not p.is_dir():
        raise InputError(Problem("not a directory", file=str(p), expected="the conflict data directory"))
    return Tables(icb1=_read(p, "icb1", list(ICB1_ALLOWED)), icb2=_read(p, "icb2", list(ICB2_ALLOWED)),
                  nmc=_read(p, "nmc", NMC_COLUMNS), mid=_read(p, "mid", MID_COLUMNS),
                  rivalries=_read(p, "rivalries", RIVALRY_COLUMNS))


def _int(v: Any) -> int | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return int(f) if math.isfinite(f) else None


# ---------------------------------------------------------------------------------- building
def _trend(series: dict[int, float], last: int, years: int) -> float | None:
    ys = [y for y in range(last - years + 1, last + 1) if series.get(y, 0.0) > 0.0]
    if len(ys) < max(3, years // 2 + 1):
        return None
    x = np.asarray(ys, float)
    y = np.log([series[v] for v in ys])
    slope = np.polyfit(x - x.mean(), y, 1)[0]
    return _r(round(slope / 12.0, 12))  # drop float noise of an exactly flat series


def _sides(first: int, edges: list[tuple[int, int]]) -> tuple[dict[int, int], list[str]]:
    """Two-colour the adversary graph from ``first`` (colour 0 = local). Conflicts keep the first colour."""
    adj: dict[int, list[int]] = {}
    for a, b in edges:
        adj.setdefault(a, []).append(b)
        adj.setdefault(b, []).append(a)
    colour = {first: 0}
    queue, notes = [first], []
    while queue:
        u = queue.pop(0)
        for v in adj.get(u, []):
            if v not in colour:
                colour[v] = 1 - colour[u]
                queue.append(v)
            elif colour[v] == colour[u]:
                notes.append(f"states {u} and {v} name each other as adversaries but fall on one side")
    return colour, sorted(set(notes))


def build_cases(data_dir: str | Path | Tables, params: CaseParams | None = None
                ) -> tuple[dict[int, IcbCase], dict[int, Skip]]:
    """Build every ICB crisis that can be built; return ``(cases, skipped)`` keyed by ``crisno``.

    ``skipped`` maps each crisis that could not be built to the reason (a :class:`Skip`: a
    string with its ``kind`` — missing trigger date, no state adversary coded at the trigger,
    no CINC for a lead state and why the NMC series has none).
    """
    params = params or CaseParams()
    t = data_dir if isinstance(data_dir, Tables) else load_tables(data_dir)
    cinc: dict[int, dict[int, float]] = {}
    for c, y, v in t.nmc[["ccode", "year", "cinc"]].itertuples(index=False):
        if pd.notna(c) and pd.notna(y) and pd.notna(v):
            cinc.setdefault(int(c), {})[int(y)] = float(v)
    abbr: dict[int, str] = {}
    for c, a in t.icb2.sort_values("cracno")[["cracid", "actor"]].itertuples(index=False):
        if pd.notna(c) and isinstance(a, str) and a.strip():
            abbr.setdefault(int(c), a.strip())
    if params.code_corrections:  # the successor keeps the ICB abbreviation where COW's code is new to ICB
        for old, (new, _) in SUCCESSOR_CODES.items():
            if new not in abbr and old in abbr:
                abbr[new] = abbr[old]
    # MID starts per dispute and participant
    mid = t.mid.dropna(subset=["dispnum", "ccode", "styear", "stmon"])
    mids = [(int(d), int(c), int(y), int(m), _int(dd) if (_int(dd) or 0) > 0 else None, int(s) if pd.notna(s) else -1)
            for d, c, y, m, dd, s in mid[list(MID_COLUMNS)].itertuples(index=False)]
    riv = [(int(a), int(b), int(s)) for a, b, s, _e in t.rivalries.itertuples(index=False, name=None)
           if pd.notna(a) and pd.notna(b) and pd.notna(s)]

    cases: dict[int, IcbCase] = {}
    skipped: dict[int, Skip] = {}
    actors_by_crisis = {cn: g.sort_values("cracno") for k, g in t.icb2.groupby("crisno") if (cn := _int(k)) is not None}
    for rec in t.icb1.sort_values("crisno").to_dict("records"):
        cn = _int(rec["crisno"])
        if cn is None:
            continue
        y, m = _int(rec["yrtrig"]), _int(rec["motrig"])
        if y is None or m is None or not 1 <= m <= 12:
            skipped[cn] = Skip("trigger year or month not coded", "trigger_not_coded", y)
            continue
        d = _int(rec["datrig"])
        day = d if d is not None and 1 <= d <= 31 else None
        grp = actors_by_crisis.get(cn)
        if grp is None or grp.empty:
            skipped[cn] = Skip("no actor-level rows", "no_actor_rows", y)
            continue
        onset = [r for r in grp.itertuples(index=False)
                 if _int(r.cracid) is not None and _int(r.yrtrig) is not None and _int(r.motrig) is not None
                 and (_int(r.yrtrig), _int(r.motrig)) <= (y, m)]
        if not onset:
            skipped[cn] = Skip("no crisis actor triggered in the trigger month", "no_actor_at_trigger", y)
            continue

        def code(v: Any, when: tuple[int, int] = (y, m)) -> int | None:
            c = _int(v)
            if params.code_corrections and c in SUCCESSOR_CODES and when >= SUCCESSOR_CODES[c][1]:
                return SUCCESSOR_CODES[c][0]
            return c

        notes: list[str] = []
        first = code(onset[0].cracid)
        assert first is not None  # every onset row has an actor code (filtered above)
        edges: list[tuple[int, int]] = []
        crisis_actors: list[int] = []
        for r in onset:
            a = code(r.cracid)
            assert a is not None  # as above
            if a != _int(r.cracid):
                notes.append(f"ICB code {_int(r.cracid)} of {str(r.actor).strip()} read as COW {a} (SUCCESSOR_CODES)")
            crisis_actors.append(a)
            sv = code(r.southv)
            if sv is not None and sv not in NON_STATE and sv != a:
                edges.append((a, sv))
                if sv != _int(r.southv):
                    notes.append(f"ICB principal adversary {_int(r.southv)} read as COW {sv} (SUCCESSOR_CODES)")
        adv_lead = next((b for a, b in edges if a == first), None)
        if adv_lead is None and params.code_corrections:
            adv_lead = next((a for a, b in edges if b == first), None)
            if adv_lead is not None:
                notes.append(f"the first crisis actor names no other state as principal adversary; "
                             f"COW {adv_lead}, which names it, leads the adversary side")
        if adv_lead is None:
            skipped[cn] = Skip("the first crisis actor names no state as principal adversary (southv)",
                               "no_state_adversary", y)
            continue
        colour, side_notes = _sides(first, edges)
        notes.extend(side_notes)
        notes = list(dict.fromkeys(notes))
        year_c = y - params.cinc_lag_years
        acts: list[CaseActor] = []
        ids: dict[int, str] = {}
        for c in sorted(colour, key=lambda c: (colour[c], c not in (first, adv_lead), c)):
            base = abbr.get(c, f"COW{c}")
            ident = base if base not in ids.values() else f"{base}{c}"
            ids[c] = ident
            series = cinc.get(c, {})
            v = series.get(year_c)
            acts.append(CaseActor(id=ident, ccode=c, side="local" if colour[c] == 0 else "adversary",
                                  crisis_actor=c in crisis_actors, cinc=_r(v) if v is not None and v > 0 else None,
                                  cinc_year=year_c, trend_m=_trend(series, year_c, params.trend_years)))
        lead_missing = [a for a in acts if a.ccode in (first, adv_lead) and a.cinc is None]
        if lead_missing:
            a = lead_missing[0]
            skipped[cn] = _cinc_skip(a, {k: v for k, v in cinc.get(a.ccode, {}).items() if v > 0}, y)
            continue
        dropped = [a for a in acts if a.cinc is None]
        if dropped:
            notes.append(f"no CINC in {year_c:d} for {', '.join(a.id for a in dropped)}: left out")
            acts = [a for a in acts if a.cinc is not None]
        side = {a.ccode: a.side for a in acts}
        loc = {c for c, s in side.items() if s == "local"}
        adv = {c for c, s in side.items() if s == "adversary"}
        rivalry = any(((a in loc and b in adv) or (a in adv and b in loc)) and s <= y - 1 for a, b, s in riv)
        # prior MIDs: opposite sides, started strictly before the trigger, within the window
        lo_year = y - params.mid_window_years
        disp: dict[int, dict[int, set[int]]] = {}
        for dn, c, sy, sm, sd, sa in mids:
            if c not in side:
                continue
            before = (sy, sm, sd) < (y, m, day) if (sd is not None and day is not None) else (sy, sm) < (y, m)
            if before and (sy, sm) >= (lo_year, m):
                disp.setdefault(dn, {}).setdefault(sa, set()).add(c)
        n_mid = 0
        for parts in disp.values():
            s0, s1 = parts.get(0, set()), parts.get(1, set())
            if (s0 & loc and s1 & adv) or (s0 & adv and s1 & loc):
                n_mid += 1
        window_end = y + (m - 1) / 12.0
        observed = min(max(MID_LAST_YEAR + 1 - (window_end - params.mid_window_years), 0.0),
                       params.mid_window_years) / params.mid_window_years
        if observed < 1.0:
            notes.append(f"MID data end in {MID_LAST_YEAR}: {observed:.0%} of the prior-dispute window observed")
        cases[cn] = IcbCase(
            crisno=cn, trigger=dt.date(y, m, 1), trigger_day=day, year=y, trigger_type=_int(rec["break"]),
            region=_int(rec["geog"]), local=ids[first], adversary=ids[adv_lead], actors=tuple(acts),
            rivalry=rivalry, prior_mids=n_mid, mid_window_observed=observed, notes=tuple(notes))
    return cases, skipped


# ---------------------------------------------------------------------------------- scenarios
def _a(v: float, lo: float, hi: float, note: str) -> dict[str, Any]:
    return {"value": _r(v), "assumption": {"range": [_r(lo), _r(hi)], "note": note}}


#: Placeholder coefficients of the hazard's linear predictor until the pre-registered fit
#: (``preregistration/icb_crisis_engine.md``) is frozen. Labelled assumptions: they are NOT
#: derived from the ICB outcomes (the ``icb`` block of ``calibration.json`` pools 1946–2017 and
#: therefore contains the test period; it is deliberately not used here).
PRIOR_COEFFICIENTS: dict[str, dict[str, Any]] = {
    "log_base_violence_m": _a(math.log(0.05), math.log(0.005), math.log(0.5), "unfitted placeholder"),
    "log_base_war_m": _a(math.log(0.01), math.log(0.001), math.log(0.1), "unfitted placeholder"),
    "beta_log_cinc_ratio": _a(0.0, -1.0, 1.0, "unfitted placeholder"),
    "beta_trend_gap": _a(0.0, -200.0, 200.0, "unfitted placeholder (per unit of monthly log-trend gap)"),
    "beta_rivalry": _a(0.0, -2.0, 2.0, "unfitted placeholder"),
    "beta_log1p_mids": _a(0.0, -2.0, 2.0, "unfitted placeholder"),
    "escalation_down_m": _a(1.0, 0.05, 5.0, "unfitted placeholder: monthly rate of falling one rung (de-escalation)"),
    "beta_rung": _a(1.0, 0.0, 5.0, "unfitted placeholder: hazard × e^(β·rung/2); the crisis starts at rung 2"),
}

#: Covariates of the linear predictor and their coefficient names.
PREDICTOR = (("log_cinc_ratio", "beta_log_cinc_ratio"), ("trend_gap_m", "beta_trend_gap"),
             ("rivalry", "beta_rivalry"), ("log1p_prior_mids", "beta_log1p_mids"))


def linear_predictor(features: dict[str, Any], coef: dict[str, dict[str, Any]]) -> float:
    """``Σ_k β_k x_k`` over :data:`PREDICTOR` (the case-specific log hazard multiplier).

    A ``beta_violent_trigger`` coefficient (the "with trigger" variant of the fit) adds
    ``β·violent_trigger`` (0 when the trigger type is not coded).
    """
    eta = sum(coef[b]["value"] * float(features[x]) for x, b in PREDICTOR)
    if "beta_violent_trigger" in coef:
        eta += coef["beta_violent_trigger"]["value"] * float(features.get("violent_trigger") or 0)
    return float(eta)


def case_scenario(case: IcbCase, params: CaseParams | None = None,
                  coefficients: dict[str, dict[str, Any]] | None = None):
    """The crisis as a :class:`~detente.scenario.Scenario` runnable by ``detente run``.

    Two flashpoints at the same place carry the two severity thresholds of ICB ``viol``:
    ``violence`` (first armed clash, ``viol ≥ 2``) and ``war`` (full-scale war, ``viol = 4``),
    because the engine records one onset per flashpoint. Their base hazards are
    ``exp(α_k + Σ β x)`` with the trigger-time features ``x`` of :meth:`IcbCase.features`,
    times ``e^{β_rung·rung/2}``: each flashpoint's rung chain starts at the top rung (2; the
    crisis begins at peak tension) and falls one rung at rate ``down_m``, never rising
    (``preregistration/icb_crisis_engine.md`` §3).
    """
    from detente.scenario import Actor, Scenario

    params = params or CaseParams()
    coef = coefficients or PRIOR_COEFFICIENTS
    feats = case.features()
    eta = linear_predictor(feats, coef)
    src_c = "COW NMC CINC {y} (Singer, Bremer & Stuckey 1972)"
    src_t = "OLS slope of ln CINC {a}–{b} / 12 (COW NMC)"
    fitted = coefficients is not None
    lp_note = ("hazard = exp(α + Σβx); coefficients " + ("from the frozen ICB fit" if fitted else
               "are unfitted placeholders (preregistration/icb_crisis_engine.md)"))
    actors_dyn: dict[str, Any] = {}
    for a in case.actors:
        g = a.trend_m
        actors_dyn[a.id] = {
            "capability": {"value": a.cinc, "source": src_c.format(y=a.cinc_year)},
            "growth_m": ({"value": g, "source": src_t.format(a=a.cinc_year - params.trend_years + 1, b=a.cinc_year)}
                         if g is not None else _a(0.0, 0.0, 0.0, "too few NMC years for a trend: none assumed")),
        }
    L, A = case.local, case.adversary
    ids = [a.id for a in case.actors]

    def base(alpha_key: str) -> dict[str, Any]:
        v = math.exp(coef[alpha_key]["value"] + eta)
        return {"value": _r(v), "source": f"detente.cases linear predictor: exp({alpha_key} + Σβx) = "
                f"exp({coef[alpha_key]['value']:.6g} + {eta:.6g}); {lp_note}"}

    zero = {"value": 0.0, "source": "switched off: the ICB cases carry no such mechanism (docs/cases.md)"}

    fixed0 = {"value": 0.0, "source": "fixed by the pre-registration: no upward moves (preregistration/icb_crisis_engine.md)"}

    def flashpoint(fid: str, alpha_key: str) -> dict[str, Any]:
        return {
            "id": fid, "name": f"ICB {case.crisno}: {'first armed clash' if fid == 'violence' else 'full-scale war'}",
            "local": L, "adversary": A, "involves": ids,
            "base_hazard_m": base(alpha_key),
            "background_initiators": {A: _a(0.5, 0.0, 1.0, "initiator split not fitted: even"),
                                      L: _a(0.5, 0.0, 1.0, "initiator split not fitted: even")},
            "dyads": [f"{A}-{L}"],
            "beta": {"forced": zero, "pressure": zero, "crisis_pwar": zero, "moral_hazard": zero,
                     "rung": coef["beta_rung"], "forces": zero, "groups": zero, "agreement": zero},
            "escalation": {"rungs": 3, "start_rung": 2,
                           "up_m": fixed0, "down_m": coef["escalation_down_m"],
                           "up_pressure": zero, "down_groups": zero},
            "crisis": {"rung": 2, "demander": A, "c_A": zero,
                       "c_bar": {"value": 1.0, "source": "inert: crisis bargaining has β_crisis = 0 in the ICB cases"}, "fake_noise": zero},
        }

    dyn: dict[str, Any] = {
        "engine": "crisis",
        "settings": {
            "start": case.trigger.isoformat(), "horizon_months": params.horizon_months, "runs": params.runs,
            "seed": 16_000_000 + case.crisno,
            "delta_annual": _a(0.9, 0.85, 0.95, "spec §2 convention (no preventive motive in the ICB cases)"),
            "lookahead_months": max(2, params.horizon_months), "preventive_pressure": False,
            "after_first_war": "continue", "russia": L,
        },
        "actors": actors_dyn,
        "dyads": [{"id": f"{A}-{L}", "a": A, "b": L,
                   "exponent": _a(1.0, 0.5, 2.0, "contest exponent m"),
                   "kappa": {A: _a(0.1, 0.05, 0.3, "flow cost of war"), L: _a(0.1, 0.05, 0.3, "flow cost of war")},
                   "phi_base": _a(0.0, 0.0, 0.5, "no institutional lock-in assumed")}],
        "flashpoints": [flashpoint("violence", "log_base_violence_m"),
                        flashpoint("war", "log_base_war_m")],
    }
    meta = {
        "source": "built by `detente cases icb` from ICB v14 (Brecher & Wilkenfeld 2000; ICB codebook), COW NMC, "
                  "GML MID 2.2.1 and Thompson-Dreyer rivalries; trigger-time columns only (docs/cases.md)",
        "icb_crisno": str(case.crisno),
        "features": {k: v for k, v in feats.items() if v is not None},
        "sides": {a.id: a.side for a in case.actors},
        "notes": list(case.notes),
    }
    return Scenario(name=f"icb-{case.crisno}", description=f"ICB crisis {case.crisno} at its trigger "
                    f"({case.trigger:%Y-%m}): {L} (local) vs {A} (adversary)",
                    actors=[Actor(id=a.id, capability=a.cinc) for a in case.actors],
                    metadata=meta, dynamics=dyn)


# ---------------------------------------------------------------------------------- output
def library_json(cases: dict[int, IcbCase], skipped: dict[int, Skip] | dict[int, str], params: CaseParams | None = None,
                 total: int | None = None) -> dict[str, Any]:
    """The ``detente cases icb --json`` object (documented in ``docs/json-contract.md``)."""
    params = params or CaseParams()
    crises = {}
    for cn, c in sorted(cases.items()):
        crises[str(cn)] = {
            "year": c.year, "trigger": c.trigger.isoformat(), "set": "train" if c.year <= params.split else "test",
            "local": c.local, "adversary": c.adversary,
            "actors": {a.id: {"ccode": a.ccode, "side": a.side, "crisis_actor": a.crisis_actor, "cinc": a.cinc,
                              "cinc_year": a.cinc_year, "trend_m": a.trend_m} for a in c.actors},
            "features": c.features(), "notes": list(c.notes),
        }
    n_total = total if total is not None else len(cases) + len(skipped)

    def kind(v: str) -> str | None:
        return getattr(v, "kind", None)

    def year(v: str) -> int | None:
        return getattr(v, "year", None)

    def set_of(y: int | None) -> str | None:
        return None if y is None else ("train" if y <= params.split else "test")

    return {
        "split": params.split, "params": {k: getattr(params, k) for k in params.__dataclass_fields__},
        "coverage": {"built": len(cases), "skipped": len(skipped), "total": n_total,
                     "train": sum(1 for c in cases.values() if c.year <= params.split),
                     "test": sum(1 for c in cases.values() if c.year > params.split),
                     "skipped_train": sum(1 for v in skipped.values() if set_of(year(v)) == "train"),
                     "skipped_test": sum(1 for v in skipped.values() if set_of(year(v)) == "test"),
                     "skipped_undated": sum(1 for v in skipped.values() if year(v) is None)},
        "columns": {"icb1": ICB1_ALLOWED, "icb2": ICB2_ALLOWED},
        "crises": crises,
        "skipped": {str(k): str(v) for k, v in sorted(skipped.items())},
        "skipped_detail": {str(k): {"year": year(v), "set": set_of(year(v)), "kind": kind(v), "reason": str(v)}
                           for k, v in sorted(skipped.items())},
        "forecasts": None,
    }
