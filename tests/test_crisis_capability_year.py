"""No look-ahead in the capabilities of the bundled crisis scenarios.

An NMC year is an annual total (military spending, personnel, ...), complete only at its end,
so a scenario that starts on date ``D`` may use capability levels and trends of years before
``D.year`` only (DESIGN.md, crisis-engine rules: nothing after the start enters a forecast of
the start). For every bundled crisis scenario, in its base case and every hypothesis, each
actor's ``capability`` and ``growth_m`` taken from COW NMC must name (calibrated numbers: carry
in ``data/calibration.json``) a year before the start. With ``../shared``, the numbers written
into the historical scenarios re-derive from the command their header documents.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from pathlib import Path

import pandas as pd
import pytest

from detente import examples
from detente.crisis import calibration as cal
from detente.crisis import load_spec

MINI = Path(__file__).resolve().parent / "fixtures" / "crisis" / "conflict_mini"
CAPABILITY = re.compile(r"^actors\.(\w+)\.(capability|growth_m)$")
LEVEL_YEAR = re.compile(r"CINC (\d{4})\b")
TREND_YEARS = re.compile(r"trend (\d{4})–(\d{4})\b")
COMMAND = re.compile(r"python -m detente\.crisis\.calibration \S+ --start (\S+) --actors (\S+)")


def _crisis_scenarios() -> list[str]:
    out = []
    for name in examples.names():
        dyn = getattr(examples.load(name), "dynamics", None)
        if isinstance(dyn, dict) and dyn.get("engine") == "crisis":
            out.append(name)
    return out


SCENARIOS = _crisis_scenarios()


def test_the_four_crisis_scenarios_are_covered():
    assert {"seesaw-2021", "taiwan-strait-1995", "cuba-1962", "crimea-2014"} <= set(SCENARIOS)


def _data_years(path: str, num, shipped: dict) -> list[int]:
    """The NMC years a capability number rests on: its level year, or the trend window's end."""
    actor, kind = CAPABILITY.match(path).groups()
    if num.calibrated:
        if kind == "capability":
            year = shipped["cinc"]["actors"][actor]["year"]
            assert f"CINC {year}" in (num.source or ""), (path, num.source, year)
            return [year]
        first, last = shipped["cinc_growth"]["actors"][actor]["years"]
        assert f"trend {first}–{last}" in (num.source or ""), (path, num.source, first, last)
        return [last]
    src = num.source or ""
    if "NMC" not in src and "CINC" not in src:
        return []  # an assumption (e.g. the article's growth override), not data
    m = (LEVEL_YEAR if kind == "capability" else TREND_YEARS).search(src)
    assert m, f"{path}: source {src!r} names no NMC year"
    return [int(m.groups()[-1])]


@pytest.mark.parametrize("name", SCENARIOS)
def test_capability_years_before_start(name):
    dyn = examples.load(name).dynamics
    shipped = cal.load_shipped()
    base = load_spec(dyn)
    specs = {"base": base} | {h: load_spec(dyn, hypothesis=h) for h in base.hypotheses}
    checked = 0
    for label, spec in specs.items():
        start: dt.date = spec.settings.start
        for path, num in spec.num_items():
            if not CAPABILITY.match(path):
                continue
            for year in _data_years(path, num, shipped):
                checked += 1
                assert year < start.year, (f"{name} [{label}] {path}: NMC year {year} is not before the "
                                           f"start {start} (the year is complete only on 31 December)")
    assert checked >= 2 * len(base.actors)


def test_shipped_calibration_records_its_start():
    c = cal.load_shipped()["cinc"]
    assert c["start"] == cal.FLAGSHIP_START.isoformat() == "2021-12-01"
    assert c["year"] < cal.FLAGSHIP_START.year and c["rule"] == "last NMC year before the start"
    assert examples.load("seesaw-2021").dynamics["settings"]["start"] in (cal.FLAGSHIP_START, "2021-12-01")


# ---------------------------------------------------------------------------------------
# the rule itself, on the synthetic tables (years 2000–2020)
# ---------------------------------------------------------------------------------------

def test_capability_year_is_the_last_complete_year():
    nmc = pd.read_csv(MINI / "cow_nmc.csv")
    assert cal.capability_year(nmc, dt.date(2016, 3, 1)) == 2015
    assert cal.capability_year(nmc, dt.date(2016, 12, 31)) == 2015   # 2016 is not over yet
    assert cal.capability_year(nmc, dt.date(2017, 1, 1)) == 2016
    assert cal.capability_year(nmc, dt.date(2030, 1, 1)) == 2020     # the data end in 2020
    with pytest.raises(ValueError, match="no year before the start 2000-06-01"):
        cal.capability_year(nmc, dt.date(2000, 6, 1))


def test_derive_from_start():
    d = cal.derive(MINI, start="2016-03-01", actors={"US": 2, "CN": 710})
    assert d["cinc"]["year"] == 2015 and d["cinc"]["start"] == "2016-03-01"
    assert d["cinc"]["actors"]["US"]["cinc"] == pytest.approx(0.2 * math.exp(-0.05), rel=1e-11)
    assert d["cinc_growth"]["window"] == [2005, 2015]
    # the default start is the flagship's; the mini data end in 2020, before it
    assert cal.derive(MINI)["cinc"]["start"] == "2021-12-01"
    with pytest.raises(ValueError, match="capability year 2016 is not before the start 2016-03-01"):
        cal.derive(MINI, start=dt.date(2016, 3, 1), year=2016)
    e = cal.derive(MINI, start="2016-03-01", year=2012)
    assert e["cinc"]["year"] == 2012 and e["cinc"]["rule"] == "explicit year before the start"
    assert cal.main([str(MINI), "--start", "2016-13-01"]) == 2
    assert cal.main([str(MINI), "--start", "2016-03-01", "--year", "2016"]) == 2


# ---------------------------------------------------------------------------------------
# the historical scenarios' numbers re-derive from their documented command
# ---------------------------------------------------------------------------------------

@pytest.mark.shared
@pytest.mark.parametrize("name", [n for n in SCENARIOS if n != "seesaw-2021"])
def test_historical_capabilities_rederive(shared, name):
    path = shared / "data" / "conflict"
    if not path.is_dir():
        pytest.skip(f"{path} not found")
    text = examples.path(name).read_text(encoding="utf-8")
    m = COMMAND.search(text)
    assert m, f"{name}: no documented calibration command"
    start, actors = m.group(1), dict(item.split("=") for item in m.group(2).split(","))
    spec = load_spec(examples.load(name).dynamics)
    assert start == spec.settings.start.isoformat()
    d = cal.derive(path, start=start, actors={k: int(v) for k, v in actors.items()})
    for a in actors:
        assert spec.actors[a].capability.value == pytest.approx(d["cinc"]["share"][a], rel=1e-7), a
        assert spec.actors[a].growth_m.value == pytest.approx(d["cinc"]["growth_m"][a], rel=1e-8), a
