"""Calibration of the crisis engine from conflict datasets (spec §4.5, §7.4).

Reads the raw tables from a directory (normally ``../shared/data/conflict/``; see its
README for files, versions and citation terms) and derives the few numbers the
``seesaw-2021`` scenario needs:

* CINC capability shares of the scenario's actors in the *capability year* — the last NMC
  year that ended before the scenario's start (:func:`capability_year`; 2021 for the
  flagship, which starts on :data:`FLAGSHIP_START`) — and their growth over the ten years
  ending there (log-linear trend, per year and per month). An NMC year is an annual total
  (military spending, personnel, …), so the start's own year is known only after the
  outcome: for the flagship, 2022 contains the war;
* monthly base rates, with uncertainty, of militarized-dispute onsets, uses of force and
  wars for the dyad types of the scenario (strategic rivals, major-power rivals,
  major–minor rivals, and the scenario's own dyads), of crisis escalation to war while an
  ICB crisis is open, and of system-level war onsets.

Only the derived numbers are shipped (``detente/data/calibration.json``), never the raw
data. :func:`derive` is deterministic (same files → same dict); the command line adds the
generation date::

    python -m detente.crisis.calibration ../shared/data/conflict --out src/detente/data/calibration.json

(``--start`` defaults to the flagship's start, 2021-12-01; another scenario passes its own
``--start`` and ``--actors``.)

Uncertainty conventions
-----------------------
*Rates* (events per month of exposure): ``k`` events in ``E`` months; point estimate
``k/E``; Jeffreys posterior ``Gamma(k + ½, E)`` and its central 90 % interval; the monthly
probability ``1 − exp(−rate)``. *Proportions*: ``k`` of ``n``; Jeffreys posterior
``Beta(k + ½, n − k + ½)`` with its central 90 % interval, plus the Wilson 95 % score
interval.

References
----------
Singer, Bremer & Stuckey (1972); Gibler, Miller & Little (2016, *ISQ* 60(4)); Brecher &
Wilkenfeld (2000), *A Study of Crisis*; Sarkees & Wayman (2010), *Resort to War*;
Thompson & Dreyer (2012), *Handbook of International Rivalries*; Gleditsch et al. (2002,
*JPR* 39(5)); Miller (2022, *CMPS*) for the peacesciencer exports. Base-rate practice:
Beck, Katz & Tucker (1998, *AJPS* 42(4)).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "ACTORS", "MAJOR_POWERS", "SCENARIO_DYADS", "DAYS_PER_MONTH", "derive", "load_shipped",
    "FLAGSHIP_START", "capability_year", "rate_estimate", "proportion_estimate", "wilson_interval", "cinc_shares", "cinc_growth",
    "hostility_level", "dyadic_mid_onsets", "dyad_year_exposure", "mid_rates",
    "base_hazards", "FLASHPOINT_REFERENCE", "icb_escalation",
    "war_onsets", "ucdp_interstate_onsets", "main",
]

#: Scenario actors → COW country codes (= ICB ``cracid``). Taiwan is COW 713 (NMC 1949–).
ACTORS: dict[str, int] = {
    "US": 2, "RU": 365, "CN": 710, "UA": 369, "BY": 370, "TW": 713,
    "DE": 255, "FR": 220, "PL": 290, "UK": 200, "JP": 740, "AU": 900,
}

#: COW major-power status periods (Correlates of War Project, "State System Membership
#: List, v2016", major powers table; inclusive years). Not in the shared files; hard-coded.
MAJOR_POWERS: dict[int, tuple[tuple[int, int], ...]] = {
    2: ((1898, 2016),),
    200: ((1816, 2016),),
    220: ((1816, 1940), (1945, 2016)),
    255: ((1816, 1918), (1925, 1945), (1991, 2016)),
    300: ((1816, 1918),),
    325: ((1860, 1943),),
    365: ((1816, 1917), (1922, 2016)),
    710: ((1950, 2016),),
    740: ((1895, 1945), (1991, 2016)),
}

#: Dyads of the seesaw scenario whose own MID history is summarised.
SCENARIO_DYADS: tuple[tuple[str, str], ...] = (
    ("US", "RU"), ("US", "CN"), ("RU", "CN"), ("RU", "UA"), ("CN", "TW"),
    ("RU", "PL"), ("BY", "PL"),
)

#: Start date of the flagship scenario ``seesaw-2021`` (its ``settings.start``). The default
#: ``start`` of :func:`derive`: the shipped capability shares are those of the last NMC year
#: before it (:func:`capability_year`), so no information from the outcome enters the forecast.
FLAGSHIP_START = date(2021, 12, 1)

#: Mean Gregorian month length used to turn ICB durations (days) into months.
DAYS_PER_MONTH = 365.2425 / 12

#: Post-war window for the base rates (MID data end in 2010).
WINDOW = (1946, 2010)

FILES = {
    "nmc": "cow_nmc.csv", "mid_part": "gml_part.csv",
    "rivalries": "td_rivalries.csv", "icb1": "icb1v14.csv", "icb2": "icb2v14.csv",
    "cow_war": "cow_war_inter.csv", "ucdp": "ucdp_acd.csv",
}

DATASETS = {
    "nmc": "COW National Material Capabilities (labelled v6 by peacesciencer 1.2.9; rows to 2022)",
    "mid": "Gibler-Miller-Little MID 2.2.1 (via peacesciencer 1.2.9)",
    "rivalries": "Thompson-Dreyer strategic rivalries 2012 (via peacesciencer 1.2.9)",
    "icb": "International Crisis Behavior v14 (system and actor level)",
    "cow_war": "COW Inter-State War v4 (via peacesciencer 1.2.9)",
    "ucdp": "UCDP/PRIO Armed Conflict Dataset (labelled 20.1 by peacesciencer; rows to 2024)",
}

_ROUND = 12  # significant digits kept in the output (stable across platforms)


# ---------------------------------------------------------------------------------------
# estimators
# ---------------------------------------------------------------------------------------

def _r(x: float) -> float:
    """Round to ``_ROUND`` significant digits (plain float, JSON-friendly)."""
    x = float(x)
    if x == 0.0 or not math.isfinite(x):
        return x
    return float(f"{x:.{_ROUND}g}")


def rate_estimate(count: int, exposure_months: float, level: float = 0.9) -> dict:
    """Poisson rate per month with a Jeffreys Gamma posterior.

    Returns ``count``, ``exposure_months``, ``rate_m = k/E``, ``p_month = 1 − e^(−rate)``,
    ``posterior`` (``Gamma(k + ½, E)``, shape/rate) and its central ``ci90`` interval.

    >>> r = rate_estimate(3, 120.0)
    >>> r["rate_m"], r["posterior"]
    (0.025, {'dist': 'gamma', 'shape': 3.5, 'rate': 120.0})
    """
    k, E = int(count), float(exposure_months)
    if k < 0 or E <= 0:
        raise ValueError("need count >= 0 and positive exposure")
    a = (1.0 - level) / 2.0
    shape = k + 0.5
    lo, hi = np.asarray(stats.gamma.ppf([a, 1.0 - a], shape, scale=1.0 / E))
    rate = k / E
    return {
        "count": k, "exposure_months": _r(E), "rate_m": _r(rate),
        "p_month": _r(-math.expm1(-rate)),
        "posterior": {"dist": "gamma", "shape": shape, "rate": _r(E)},
        "ci90": [_r(lo), _r(hi)],
    }


def wilson_interval(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (default 95 %).

    >>> [round(x, 4) for x in wilson_interval(5, 10)]
    [0.2366, 0.7634]
    """
    if n <= 0:
        raise ValueError("n must be positive")
    p = k / n
    den = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(0.0, centre - half), min(1.0, centre + half)


def proportion_estimate(k: int, n: int, level: float = 0.9) -> dict:
    """Share ``k/n`` with a Jeffreys Beta posterior (central ``ci90``) and Wilson 95 %.

    >>> proportion_estimate(1, 4)["posterior"]
    {'dist': 'beta', 'a': 1.5, 'b': 3.5}
    """
    k, n = int(k), int(n)
    if not 0 <= k <= n or n == 0:
        raise ValueError("need 0 <= k <= n and n > 0")
    a_, b_ = k + 0.5, n - k + 0.5
    a = (1.0 - level) / 2.0
    lo, hi = np.asarray(stats.beta.ppf([a, 1.0 - a], a_, b_))
    w = wilson_interval(k, n)
    return {
        "successes": k, "trials": n, "p": _r(k / n),
        "posterior": {"dist": "beta", "a": a_, "b": b_},
        "ci90": [_r(lo), _r(hi)], "wilson95": [_r(w[0]), _r(w[1])],
    }


# ---------------------------------------------------------------------------------------
# readers
# ---------------------------------------------------------------------------------------

def _read(path: Path, key: str) -> pd.DataFrame:
    enc = "utf-8-sig" if key.startswith("icb") else "utf-8"
    return pd.read_csv(path / FILES[key], encoding=enc, low_memory=False)


def _sha256(file: Path) -> str:
    return hashlib.sha256(file.read_bytes()).hexdigest()


# ---------------------------------------------------------------------------------------
# capabilities
# ---------------------------------------------------------------------------------------

def _year(nmc: pd.DataFrame, year: int | None) -> int:
    """The NMC year to use: ``year`` (checked against the data's range) or the latest."""
    lo, hi = int(nmc["year"].min()), int(nmc["year"].max())
    if year is None:
        return hi
    if not lo <= int(year) <= hi:
        raise ValueError(f"year {year} is outside the NMC data ({lo}–{hi})")
    return int(year)


def capability_year(nmc: pd.DataFrame, start: date) -> int:
    """The last NMC year that ended before ``start``: the latest year in the data below
    ``start.year``.

    NMC values are annual totals, so a year is complete only at its end; a crisis that starts
    in year ``Y`` may use capabilities up to ``Y − 1``, never ``Y`` (which includes the
    crisis and, for the flagship, the war). Raises ``ValueError`` when the data have no year
    before the start.
    """
    years = nmc.dropna(subset=["cinc"])["year"]
    before = years[years < start.year]
    if before.empty:
        raise ValueError(f"the NMC data have no year before the start {start.isoformat()} "
                         f"(they begin in {int(years.min())})")
    return int(before.max())


def cinc_shares(nmc: pd.DataFrame, actors: dict[str, int] = ACTORS, year: int | None = None) -> dict:
    """CINC (share of world capabilities) of each actor in ``year`` (default: the latest NMC year).

    An actor missing in that year falls back to its own latest year with data up to it (recorded
    in ``year``); an actor absent from NMC (up to that year) gets ``None``. ``share_of_set`` renormalises the
    CINC values over the actors present, for contest functions over the scenario set.
    """
    nmc = nmc.dropna(subset=["cinc"])
    latest = _year(nmc, year)
    nmc = nmc[nmc["year"] <= latest]
    out: dict[str, dict] = {}
    for name, code in actors.items():
        rows = nmc[nmc["ccode"] == code]
        if rows.empty:
            out[name] = {"ccode": code, "year": None, "cinc": None, "fallback": "absent"}
            continue
        row = rows.iloc[int(np.argmax(rows["year"].to_numpy()))]  # the first row of the latest year
        year = int(row["year"])
        out[name] = {"ccode": code, "year": year, "cinc": _r(row["cinc"]),
                     "fallback": None if year == latest else f"latest own year {year}"}
    total = sum(v["cinc"] for v in out.values() if v["cinc"] is not None)
    for v in out.values():
        v["share_of_set"] = None if v["cinc"] is None else _r(v["cinc"] / total)
    return {"year": latest, "actors": out}


def cinc_growth(nmc: pd.DataFrame, actors: dict[str, int] = ACTORS, years: int = 10, year: int | None = None) -> dict:
    """Trend growth of CINC over the ``years`` years up to ``year`` (default: the latest NMC
    year; ``years + 1`` observations).

    ``g_annual`` is the OLS slope of ``ln CINC`` on the year (a share, so growth is relative
    to the world); ``g_monthly = g_annual / 12`` (log points per month, the engine's
    ``growth_m``); ``endpoint_annual`` the plain ``ln(c_T/c_{T−years})/years``; ``se_annual``
    the OLS standard error of the slope.
    """
    nmc = nmc.dropna(subset=["cinc"])
    latest = _year(nmc, year)
    first = latest - years
    out: dict[str, dict[str, Any] | None] = {}
    for name, code in actors.items():
        rows = nmc[(nmc["ccode"] == code) & (nmc["year"] >= first) & (nmc["year"] <= latest) & (nmc["cinc"] > 0)]
        rows = rows.sort_values("year")
        if len(rows) < 3:
            out[name] = None
            continue
        x = rows["year"].to_numpy(float)
        y = np.log(rows["cinc"].to_numpy(float))
        fit = stats.linregress(x, y)
        end = (y[-1] - y[0]) / (x[-1] - x[0])
        out[name] = {"g_annual": _r(fit.slope), "g_monthly": _r(fit.slope / 12.0),
                     "se_annual": _r(fit.stderr), "endpoint_annual": _r(end),
                     "years": [int(x[0]), int(x[-1])], "n": len(rows)}
    return {"window": [first, latest], "actors": out}


# ---------------------------------------------------------------------------------------
# disputes, rivalries, crises, wars
# ---------------------------------------------------------------------------------------

def _is_major(code: int, year: int) -> bool:
    return any(a <= year <= b for a, b in MAJOR_POWERS.get(int(code), ()))


def hostility_level(hiact: float) -> int:
    """MID hostility level (1–5) of a participant's highest action ``hiact`` (0–21).

    0 no militarized action → 1; 1–6 threats → 2; 7–12 displays → 3; 13–19 uses of
    force → 4; 20–21 begin/join interstate war → 5 (MID codebook; reproduces GML's
    dispute-level ``hostlev`` as the maximum over participants).

    >>> [hostility_level(a) for a in (0, 1, 7, 17, 20)]
    [1, 2, 3, 4, 5]
    """
    a = int(hiact)
    if a < 0 or a > 21:
        raise ValueError(f"hiact must lie in 0…21, got {hiact!r}")
    return 1 if a == 0 else 2 if a <= 6 else 3 if a <= 12 else 4 if a <= 19 else 5


def dyadic_mid_onsets(part: pd.DataFrame) -> pd.DataFrame:
    """Dyadic MID onsets: one row per dispute and pair of states on opposite sides.

    The dyad's onset year is the later of the two participants' start years. Dyadic
    hostility is the higher of the two sides' levels (:func:`hostility_level` of
    ``hiact``), except that war (5) needs *both* sides at war level — so that joining a
    multilateral war against someone else does not make every cross-side pair a war dyad
    (it then counts as a use of force, 4). Columns: ``dispnum, a, b, year, hostlev``
    with ``a < b`` (COW codes). A state with several records in one dispute keeps its
    earliest start and highest action.
    """
    p = part[["dispnum", "ccode", "styear", "sidea", "hiact"]].copy()
    p["hl"] = p["hiact"].map(hostility_level)
    p = p.groupby(["dispnum", "ccode", "sidea"], as_index=False).agg(
        styear=("styear", "min"), hl=("hl", "max"))
    m = p[p["sidea"] == 1].merge(p[p["sidea"] == 0], on="dispnum", suffixes=("_x", "_y"))
    m = m[m["ccode_x"] != m["ccode_y"]]
    hi = np.maximum(m["hl_x"], m["hl_y"])
    lo = np.minimum(m["hl_x"], m["hl_y"])
    out = pd.DataFrame({
        "dispnum": m["dispnum"].astype(int),
        "a": np.minimum(m["ccode_x"], m["ccode_y"]).astype(int),
        "b": np.maximum(m["ccode_x"], m["ccode_y"]).astype(int),
        "year": np.maximum(m["styear_x"], m["styear_y"]).astype(int),
        "hostlev": np.where(lo >= 5, 5, np.minimum(hi, 4)).astype(int),
    })
    out = out.sort_values(["dispnum", "a", "b", "year"]).drop_duplicates(["dispnum", "a", "b"])
    return out.reset_index(drop=True)


def dyad_year_exposure(rivalries: pd.DataFrame, window: tuple[int, int] = WINDOW) -> pd.DataFrame:
    """Rivalry dyad-years inside ``window``: columns ``a, b, year, kind``.

    ``kind`` is ``major_major`` (both COW major powers that year), ``major_minor`` or
    ``minor_minor``. A dyad with two rivalry spells covering one year counts once.
    """
    rows = []
    for c1, c2, sty, endy in rivalries[["ccode1", "ccode2", "styear", "endyear"]].itertuples(index=False, name=None):
        a, b = sorted((int(c1), int(c2)))
        for y in range(max(int(sty), window[0]), min(int(endy), window[1]) + 1):
            n_major = _is_major(a, y) + _is_major(b, y)
            rows.append((a, b, y, ("minor_minor", "major_minor", "major_major")[n_major]))
    df = pd.DataFrame(rows, columns=["a", "b", "year", "kind"])
    return df.drop_duplicates(["a", "b", "year"]).reset_index(drop=True)


def _mid_block(onsets: pd.DataFrame, dyad_years: pd.DataFrame) -> dict:
    """MID, use-of-force and war onset rates over the given dyad-years."""
    hits = onsets.merge(dyad_years[["a", "b", "year"]], on=["a", "b", "year"])
    E = 12.0 * len(dyad_years)
    return {
        "dyad_years": len(dyad_years),
        "dyads": int(dyad_years[["a", "b"]].drop_duplicates().shape[0]),
        "mid": rate_estimate(len(hits), E),
        "use_of_force": rate_estimate(int((hits["hostlev"] >= 4).sum()), E),
        "war": rate_estimate(int((hits["hostlev"] >= 5).sum()), E),
        "escalation_to_war_given_mid": (proportion_estimate(int((hits["hostlev"] >= 5).sum()),
                                                            len(hits)) if len(hits) else None),
    }


def mid_rates(onsets: pd.DataFrame, rivalries: pd.DataFrame, nmc: pd.DataFrame,
              window: tuple[int, int] = WINDOW) -> dict:
    """Monthly MID / use-of-force / war onset rates by dyad type (GML MID 2.2.1).

    Types: all Thompson–Dreyer rivalry dyads; major–major and major–minor rivalry dyads;
    every scenario dyad over the years both states are in NMC (``SCENARIO_DYADS``).
    """
    dy = dyad_year_exposure(rivalries, window)
    out: dict[str, Any] = {"window": list(window),
           "rivalry_dyads": _mid_block(onsets, dy),
           "major_major_rivalry_dyads": _mid_block(onsets, dy[dy["kind"] == "major_major"]),
           "major_minor_rivalry_dyads": _mid_block(onsets, dy[dy["kind"] == "major_minor"]),
           "scenario_dyads": {}}
    state_years = nmc[["ccode", "year"]].astype(int)
    for x, y in SCENARIO_DYADS:
        a, b = sorted((ACTORS[x], ACTORS[y]))
        ya = set(state_years.loc[state_years["ccode"] == a, "year"])
        yb = set(state_years.loc[state_years["ccode"] == b, "year"])
        years = sorted(t for t in ya & yb if window[0] <= t <= window[1])
        if not years:
            continue
        block = _mid_block(onsets, pd.DataFrame({"a": a, "b": b, "year": years}))
        block["years"] = [years[0], years[-1]]
        out["scenario_dyads"][f"{x}-{y}"] = block
    return out


def icb_escalation(icb1: pd.DataFrame, icb2: pd.DataFrame, since: int = 1946) -> dict:
    """Crisis-to-war base rates from ICB v14 (crises triggered from ``since`` on).

    * ``war_share``: crises whose violence reached full-scale war (``viol = 4``);
    * ``escalation_hazard``: war crises per crisis-month open (duration ``brexit`` days /
      ``DAYS_PER_MONTH``; crises with unknown duration dropped) — the monthly hazard that
      an open crisis turns into war, assuming a constant hazard over its life;
    * ``major_power_crises``: ``war_share`` for crises with the US, USSR/Russia or China
      among the crisis actors; ``onset``: crises per month in the system.
    """
    c = icb1[icb1["yrtrig"] >= since].dropna(subset=["viol"])
    war = c["viol"] == 4
    d = c.dropna(subset=["brexit"])
    exposure = float(d["brexit"].sum()) / DAYS_PER_MONTH
    mp_crises = set(icb2.loc[icb2["cracid"].isin([2, 365, 710]), "crisno"])
    mp = c[c["crisno"].isin(mp_crises)]
    last = int(c["yrtrig"].max())
    return {
        "since": since, "last_trigger_year": last,
        "war_share": proportion_estimate(int(war.sum()), len(c)),
        "escalation_hazard": rate_estimate(int((d["viol"] == 4).sum()), exposure),
        "major_power_crises": {"war_share": proportion_estimate(int((mp["viol"] == 4).sum()),
                                                                len(mp))},
        "onset": rate_estimate(len(c), 12.0 * (last - since + 1)),
        "median_duration_months": _r(float(d["brexit"].median()) / DAYS_PER_MONTH),
    }


def war_onsets(cow_war: pd.DataFrame, rivalries: pd.DataFrame, since: int = 1946) -> dict:
    """COW inter-state war onsets from ``since``: system-level and among rivalry dyads."""
    w = cow_war[cow_war["year"] >= since]
    first = w.groupby("warnum")["year"].min()
    last = int(cow_war["year"].max())
    ons = w[w["cowinteronset"] == 1].copy()
    ons["a"] = np.minimum(ons["ccode1"], ons["ccode2"]).astype(int)
    ons["b"] = np.maximum(ons["ccode1"], ons["ccode2"]).astype(int)
    ons["year"] = ons["year"].astype(int)
    ons = ons.drop_duplicates(["warnum", "a", "b"])
    dy = dyad_year_exposure(rivalries, (since, min(last, WINDOW[1])))
    hits = ons.merge(dy[["a", "b", "year"]], on=["a", "b", "year"])
    return {
        "since": since, "last_year": last,
        "system": rate_estimate(int(first.size), 12.0 * (last - since + 1)),
        "rivalry_dyads": rate_estimate(len(hits), 12.0 * len(dy)),
        "rivalry_window": [since, min(last, WINDOW[1])],
    }


def ucdp_interstate_onsets(ucdp: pd.DataFrame) -> dict:
    """New UCDP/PRIO interstate armed conflicts (first year of each ``conflict_id``) per month."""
    inter = ucdp[ucdp["type_of_conflict"] == "interstate"]
    first = inter.groupby("conflict_id")["year"].min()
    lo, hi = int(ucdp["year"].min()), int(ucdp["year"].max())
    war = inter[inter["intensity_level"] == 2].groupby("conflict_id")["year"].min()
    return {"years": [lo, hi],
            "interstate_conflict": rate_estimate(int(first.size), 12.0 * (hi - lo + 1)),
            "interstate_war_level": rate_estimate(int(war.size), 12.0 * (hi - lo + 1))}


#: Reference class of each seesaw flashpoint for its base war hazard (see :func:`base_hazards`).
FLASHPOINT_REFERENCE = {
    "UA": ("major_minor_rivalry_dyads", "major power vs minor rival (Russia-Ukraine type)"),
    "TW": ("major_minor_rivalry_dyads", "major power vs minor rival (China-Taiwan is one)"),
    "BY-PL": ("scenario_dyads.RU-PL", "Russia-Poland record (Belarus as Russia's ally)"),
}


def base_hazards(mid: dict) -> dict:
    """Monthly base war hazards ``λ₀`` per seesaw flashpoint from :func:`mid_rates`.

    Each flashpoint takes the dyadic war-onset rate of a reference class
    (``FLASHPOINT_REFERENCE``; 1946–2010): ``value`` is the Jeffreys posterior mean
    ``(k + ½)/E`` (finite and positive even with zero wars), with the 90 % interval.
    A modelling choice, documented in ``docs/calibration.md``; swap the class to test it.
    """
    out: dict[str, dict[str, Any]] = {}
    for fp, (ref, why) in FLASHPOINT_REFERENCE.items():
        block: Any = mid
        for part in ref.split("."):
            block = block.get(part) if isinstance(block, dict) else None
        if block is None:  # reference class absent from the data
            out[fp] = {"value": None, "reference": f"mid_onsets.{ref}.war", "why": why}
            continue
        war = block["war"]
        out[fp] = {"value": _r((war["count"] + 0.5) / war["exposure_months"]),
                   "ci90": war["ci90"], "count": war["count"],
                   "exposure_months": war["exposure_months"],
                   "reference": f"mid_onsets.{ref}.war", "why": why}
    return out


# ---------------------------------------------------------------------------------------
# entry points
# ---------------------------------------------------------------------------------------

def derive(path, *, start: date | str | None = None, year: int | None = None,
           actors: dict[str, int] | None = None) -> dict:
    """Derive every calibration number from the raw conflict tables in ``path``.

    ``start`` is the scenario's start date (default :data:`FLAGSHIP_START`, 2021-12-01); the
    capability shares are those of :func:`capability_year` (the last NMC year before it: 2021
    for the shipped file) and their growth window is the ten years ending there. ``year``
    overrides that year explicitly; it must still lie before ``start`` (when ``start`` is
    given), since the start's own year includes the outcome. ``actors`` maps scenario codes
    to COW country codes (default :data:`ACTORS`), e.g. ``{"US": 2, "SU": 365, "CU": 40}``
    for 1962. The base rates depend on none of these.

    Deterministic: the same files give the same dict (provenance includes file hashes;
    the generation date is added only by :func:`main`).
    """
    path = Path(path)
    missing = [f for f in FILES.values() if not (path / f).is_file()]
    if missing:
        raise FileNotFoundError(f"{path}: missing {', '.join(missing)}")
    t = {k: _read(path, k) for k in FILES}
    onsets = dyadic_mid_onsets(t["mid_part"])
    mids = mid_rates(onsets, t["rivalries"], t["nmc"])
    acts = ACTORS if actors is None else actors
    if start is None and year is None:
        start = FLAGSHIP_START
    if isinstance(start, str):
        start = date.fromisoformat(start)
    if start is not None:
        if year is None:
            year = capability_year(t["nmc"], start)
        elif year >= start.year:
            raise ValueError(f"capability year {year} is not before the start {start.isoformat()} "
                             "(an NMC year is complete only at its end)")
    cinc = cinc_shares(t["nmc"], acts, year=year)
    cinc["start"] = None if start is None else start.isoformat()
    cinc["rule"] = ("explicit year" if start is None else
                    "last NMC year before the start" if cinc["year"] == capability_year(t["nmc"], start)
                    else "explicit year before the start")
    growth = cinc_growth(t["nmc"], acts, year=year)
    # flat look-ups used by scenario files (``calibrated: cinc.share.US`` etc.)
    cinc["share"] = {k: v["cinc"] for k, v in cinc["actors"].items()}
    cinc["growth_m"] = {k: (None if v is None else v["g_monthly"])
                        for k, v in growth["actors"].items()}
    return {
        "provenance": {
            "function": "detente.crisis.calibration.derive",
            "source_dir_readme": "shared/data/conflict/README.md",
            "datasets": DATASETS,
            "files": {f: _sha256(path / f) for f in sorted(FILES.values())},
            "major_powers": "COW State System Membership v2016, major powers (hard-coded)",
            "uncertainty": "rates: Jeffreys Gamma(k+1/2, E) 90% interval; proportions: "
                           "Jeffreys Beta(k+1/2, n-k+1/2) 90% interval and Wilson 95%",
        },
        "cinc": cinc,
        "cinc_growth": growth,
        "base_hazard_m": base_hazards(mids),
        "mid_onsets": mids,
        "icb": icb_escalation(t["icb1"], t["icb2"]),
        "cow_war_onsets": war_onsets(t["cow_war"], t["rivalries"]),
        "ucdp": ucdp_interstate_onsets(t["ucdp"]),
    }


def load_shipped() -> dict:
    """The calibration shipped with detente (``detente/data/calibration.json``)."""
    from importlib.resources import files

    return json.loads(files("detente.data").joinpath("calibration.json").read_text("utf-8"))


def main(argv: list[str] | None = None) -> int:
    """``python -m detente.crisis.calibration PATH [--start DATE] [--year Y] [--actors ...] [--out FILE]``."""
    ap = argparse.ArgumentParser(prog="python -m detente.crisis.calibration",
                                 description="Derive crisis calibration numbers from conflict data.")
    ap.add_argument("path", help="directory with the raw conflict tables")
    ap.add_argument("--out", help="write JSON here (default: standard output)")
    ap.add_argument("--start", default=FLAGSHIP_START.isoformat(),
                    help="scenario start date YYYY-MM-DD; the capability shares are those of the last NMC "
                         f"year before it (default: the flagship's, {FLAGSHIP_START.isoformat()})")
    ap.add_argument("--year", type=int, help="NMC year of the capability shares, overriding the one chosen "
                                             "from --start (must be before it)")
    ap.add_argument("--actors", help="scenario codes and COW country codes, e.g. US=2,SU=365,CU=40 "
                                     "(default: the flagship's actors)")
    args = ap.parse_args(argv)
    try:
        acts = None
        if args.actors:
            acts = {}
            for item in args.actors.split(","):
                k, _, v = item.partition("=")
                if not k.strip() or not v.strip().isdigit():
                    raise ValueError(f"--actors: {item!r} is not CODE=COW_NUMBER")
                acts[k.strip()] = int(v)
        try:
            start = date.fromisoformat(args.start)
        except ValueError:
            raise ValueError(f"--start: {args.start!r} is not a date YYYY-MM-DD") from None
        result = derive(args.path, start=start, year=args.year, actors=acts)
    except (FileNotFoundError, KeyError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    result["provenance"]["generated"] = date.today().isoformat()
    text = json.dumps(result, indent=1, ensure_ascii=False) + "\n"
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
