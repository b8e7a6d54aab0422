"""Trigger-time features of any scenario's flashpoint, by the rules of the ICB case builder.

The frozen ICB fit (:mod:`detente.cases.fit`) maps the features of a crisis at its trigger
month — ``log_cinc_ratio``, ``trend_gap_m``, ``rivalry``, ``log1p_prior_mids`` — to a hazard.
To use that fit in another scenario (the ``history`` hypothesis of ``seesaw-2021``), the
scenario's flashpoints need the same features, computed the same way and only from what was
known at the scenario's start. This module does not re-implement the rules: it describes the
flashpoint as a one-crisis ICB table (its local actor as the first crisis actor, naming the
adversary as principal adversary, triggered on the given date) and runs
:func:`detente.cases.icb.build_cases` on it with the real NMC, MID and rivalry tables, so every
rule of ``docs/cases.md`` applies unchanged (CINC of the year before the trigger, 5-year
trend, Thompson–Dreyer rivalry begun by the year before, MIDs of the 10 years before the
trigger and the observed share of that window).

Sides are the flashpoint's ``local`` and ``adversary`` actors only (the flagship declares no
other side members; ``involves`` lists who may start a war, not alliances).

``python -m detente.cases.flashpoint DATA_DIR [SCENARIO]`` prints the features of each
flashpoint of a crisis scenario (default ``seesaw-2021``) as YAML with their sources.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import pandas as pd

from detente.cases.icb import CaseParams, IcbCase, Tables, build_cases, load_tables
from detente.errors import InputError, Problem

__all__ = ["FEATURES", "flashpoint_case", "scenario_flashpoint_features"]

#: Features of the fitted linear predictor (``detente.cases.icb.PREDICTOR``).
FEATURES = ("log_cinc_ratio", "trend_gap_m", "rivalry", "log1p_prior_mids")


def flashpoint_case(tables: Tables, *, trigger: dt.date, local: tuple[str, int], adversary: tuple[str, int],
                    params: CaseParams | None = None) -> IcbCase:
    """The flashpoint as an ICB case triggered on ``trigger`` (``local``/``adversary``: id and COW code)."""
    (lid, lcode), (aid, acode) = local, adversary
    icb1 = pd.DataFrame([{"crisno": 0, "yrtrig": trigger.year, "motrig": trigger.month, "datrig": trigger.day,
                          "break": math.nan, "geog": math.nan}])
    icb2 = pd.DataFrame([{"crisno": 0, "cracno": 1, "cracid": lcode, "actor": lid, "yrtrig": trigger.year,
                          "motrig": trigger.month, "southv": acode}])
    one = Tables(icb1=icb1, icb2=icb2, nmc=tables.nmc, mid=tables.mid, rivalries=tables.rivalries)
    cases, skipped = build_cases(one, params)
    if 0 not in cases:
        raise InputError(Problem(f"the flashpoint {lid}–{aid} cannot be built as an ICB case: {skipped.get(0)}",
                                 column="flashpoints", value=f"{lid}-{aid}"))
    case = cases[0]
    # the adversary keeps the scenario's id (the builder names states without an ICB row by COW code)
    acts = tuple(a if a.ccode != acode else type(a)(**{**a.__dict__, "id": aid}) for a in case.actors)
    return IcbCase(**{**case.__dict__, "adversary": aid, "actors": acts})


def scenario_flashpoint_features(data_dir: str | Path | Tables, spec: Any, codes: dict[str, int],
                                 params: CaseParams | None = None) -> dict[str, dict[str, Any]]:
    """Features of each flashpoint of a crisis spec triggered at ``spec.settings.start``.

    ``codes`` maps the scenario's actor ids to COW codes. Returns, per flashpoint id, the
    builder's features, its notes and the CINC year, e.g. ``{"UA": {"features": {...},
    "notes": [...], "cinc_year": 2020, "mid_window_observed": 0.0}}``.
    """
    t = data_dir if isinstance(data_dir, Tables) else load_tables(data_dir)
    out: dict[str, dict[str, Any]] = {}
    for f in spec.flashpoints:
        missing = [a for a in (f.local, f.adversary) if a not in codes]
        if missing:
            raise InputError(Problem(f"no COW code for {', '.join(missing)}", column=f"flashpoints[{f.id}]",
                                     value=", ".join(missing), expected="an actor of the COW state list"))
        case = flashpoint_case(t, trigger=spec.settings.start, local=(f.local, codes[f.local]),
                               adversary=(f.adversary, codes[f.adversary]), params=params)
        feats = case.features()
        out[f.id] = {"features": {k: feats[k] for k in FEATURES}, "notes": list(case.notes),
                     "cinc_year": case.actors[0].cinc_year, "mid_window_observed": feats["mid_window_observed"],
                     "prior_mids": feats["prior_mids"]}
    return out


def _yaml(feats: dict[str, dict[str, Any]], params: CaseParams) -> str:
    lines = []
    for fid, row in feats.items():
        y = row["cinc_year"]
        src = {
            "log_cinc_ratio": f"ln(CINC adversary / CINC local), COW NMC {y} (case-builder rule: the year before the trigger)",
            "trend_gap_m": f"OLS slope of ln CINC {y - params.trend_years + 1}–{y} / 12, adversary − local (COW NMC)",
            "rivalry": (f"Thompson–Dreyer strategic rivalry between the two begun by {y}: "
                        + ("yes" if row["features"]["rivalry"] else "none coded") + " (the rivalry data end in 2010)"),
            "log1p_prior_mids": (f"ln(1 + {row['prior_mids']} GML MIDs between the sides in the "
                                 f"{params.mid_window_years} years before the trigger); MID data end in 2010: "
                                 f"{row['mid_window_observed']:.0%} of the window observed"),
        }
        lines.append(f"{fid}:")
        for k, v in row["features"].items():
            lines.append(f"  {k}: {{value: {v!r}, source: \"{src[k]}\"}}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    import argparse

    from detente.crisis.calibration import ACTORS
    from detente.crisis.spec import load_spec
    from detente.examples import load

    ap = argparse.ArgumentParser(prog="python -m detente.cases.flashpoint",
                                 description="Trigger-time ICB features of a crisis scenario's flashpoints.")
    ap.add_argument("data_dir")
    ap.add_argument("scenario", nargs="?", default="seesaw-2021")
    a = ap.parse_args(argv)
    spec = load_spec(load(a.scenario).dynamics)
    params = CaseParams()
    print(_yaml(scenario_flashpoint_features(a.data_dir, spec, dict(ACTORS), params), params), end="")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
