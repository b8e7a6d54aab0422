"""Calibration from conflict data: shipped numbers re-derive from ../shared, and the
arithmetic (counts, exposure, rates, intervals) is right on a tiny synthetic dataset."""

from __future__ import annotations

import json
import math

import pytest
from scipy import stats

from detente.crisis import calibration as cal

DPM = 365.2425 / 12


@pytest.fixture(scope="module")
def mini(request):
    from pathlib import Path

    return cal.derive(Path(__file__).resolve().parent / "fixtures" / "crisis" / "conflict_mini")


# ---------------------------------------------------------------------------------------
# estimators, independently
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("k,E", [(0, 240.0), (3, 120.0), (67, 37920.0)])
def test_rate_estimate_matches_chi_square_form(k, E):
    r = cal.rate_estimate(k, E)
    assert r["rate_m"] == pytest.approx(k / E, rel=1e-11)
    assert r["p_month"] == pytest.approx(1 - math.exp(-k / E), rel=1e-11)
    # Jeffreys Gamma(k + 1/2, E) quantiles = chi2(2k + 1) quantiles / (2E)
    lo = stats.chi2.ppf(0.05, 2 * k + 1) / (2 * E)
    hi = stats.chi2.ppf(0.95, 2 * k + 1) / (2 * E)
    assert r["ci90"] == pytest.approx([lo, hi], rel=1e-10)


def test_wilson_textbook_values():
    assert cal.wilson_interval(5, 10) == pytest.approx((0.236593, 0.763407), abs=1e-6)
    z2 = stats.norm.ppf(0.975) ** 2
    assert cal.wilson_interval(0, 10) == pytest.approx((0.0, z2 / (10 + z2)), abs=1e-12)


def test_proportion_estimate_beta_interval():
    p = cal.proportion_estimate(1, 3)
    assert p["p"] == pytest.approx(1 / 3, rel=1e-11)
    assert p["posterior"] == {"dist": "beta", "a": 1.5, "b": 2.5}
    # central 90 % interval of Beta(1.5, 2.5) by its CDF
    lo, hi = p["ci90"]
    assert stats.beta.cdf(lo, 1.5, 2.5) == pytest.approx(0.05, abs=1e-9)
    assert stats.beta.cdf(hi, 1.5, 2.5) == pytest.approx(0.95, abs=1e-9)


def test_hostility_levels():
    assert [cal.hostility_level(a) for a in (0, 6, 7, 12, 13, 19, 20, 21)] == [1, 2, 3, 3, 4, 4, 5, 5]
    with pytest.raises(ValueError):
        cal.hostility_level(22)


# ---------------------------------------------------------------------------------------
# derive() on the synthetic tables (expected values computed by hand, see fixture README)
# ---------------------------------------------------------------------------------------

def test_mini_cinc(mini):
    c = mini["cinc"]
    assert c["year"] == 2020
    a = c["actors"]
    us, ru, cn, tw = 0.2 * math.exp(-0.1), 0.05, 0.1 * math.exp(0.2), 0.01
    assert a["US"]["cinc"] == pytest.approx(us, rel=1e-11)
    assert a["TW"]["year"] == 2018 and a["TW"]["fallback"] == "latest own year 2018"
    assert a["UA"]["cinc"] is None and a["UA"]["fallback"] == "absent"
    assert a["CN"]["share_of_set"] == pytest.approx(cn / (us + ru + cn + tw), rel=1e-11)
    g = mini["cinc_growth"]
    assert g["window"] == [2010, 2020]
    assert g["actors"]["US"]["g_annual"] == pytest.approx(-0.01, abs=1e-11)
    assert g["actors"]["US"]["g_monthly"] == pytest.approx(-0.01 / 12, abs=1e-12)
    assert g["actors"]["CN"]["endpoint_annual"] == pytest.approx(0.02, abs=1e-11)
    assert g["actors"]["RU"]["g_annual"] == pytest.approx(0.0, abs=1e-12)
    assert g["actors"]["TW"]["years"] == [2010, 2018] and g["actors"]["TW"]["n"] == 9
    assert g["actors"]["UA"] is None


def test_mini_mid_rates(mini):
    m = mini["mid_onsets"]
    riv = m["rivalry_dyads"]
    # rivalry dyad-years in 1946–2010: US–RU 11 + RU–CN 31 + CN–TW 6
    assert riv["dyad_years"] == 48 and riv["dyads"] == 3
    assert riv["mid"]["exposure_months"] == 576.0
    assert (riv["mid"]["count"], riv["use_of_force"]["count"], riv["war"]["count"]) == (3, 2, 0)
    assert riv["mid"]["rate_m"] == pytest.approx(3 / 576, rel=1e-11)
    assert riv["escalation_to_war_given_mid"]["trials"] == 3
    mm = m["major_major_rivalry_dyads"]
    assert mm["dyad_years"] == 42 and mm["mid"]["count"] == 3
    mn = m["major_minor_rivalry_dyads"]
    assert mn["dyad_years"] == 6 and mn["mid"]["count"] == 0
    assert mn["escalation_to_war_given_mid"] is None
    sd = m["scenario_dyads"]
    assert set(sd) == {"US-RU", "US-CN", "RU-CN", "CN-TW"}  # UA, PL, BY absent from NMC
    # dispute 4: US at war with CN (both war level); RU only mobilised → use of force
    assert (sd["US-RU"]["mid"]["count"], sd["US-RU"]["use_of_force"]["count"],
            sd["US-RU"]["war"]["count"]) == (2, 2, 0)
    assert sd["US-CN"]["war"]["count"] == 2 and sd["US-CN"]["mid"]["exposure_months"] == 132.0
    assert sd["RU-CN"]["mid"]["count"] == 0  # its 1990 dispute predates both NMC rows
    assert sd["US-RU"]["years"] == [2000, 2010]


def test_mini_base_hazards_and_lookups(mini):
    b = mini["base_hazard_m"]
    assert b["UA"]["value"] == pytest.approx(0.5 / 72, rel=1e-11)  # 0 wars in 6 dyad-years
    assert b["BY-PL"]["value"] is None  # no Russia-Poland rows in the synthetic NMC
    assert mini["cinc"]["share"]["RU"] == 0.05
    assert mini["cinc"]["growth_m"]["US"] == pytest.approx(-0.01 / 12, abs=1e-12)


def test_mini_icb(mini):
    i = mini["icb"]
    assert i["war_share"]["successes"] == 1 and i["war_share"]["trials"] == 3
    h = i["escalation_hazard"]
    assert h["count"] == 1
    assert h["exposure_months"] == pytest.approx(300 / DPM, rel=1e-11)
    assert h["rate_m"] == pytest.approx(DPM / 300, rel=1e-11)
    assert i["major_power_crises"]["war_share"]["trials"] == 2
    assert i["onset"]["count"] == 3 and i["onset"]["exposure_months"] == 660.0
    assert i["median_duration_months"] == pytest.approx(150 / DPM, rel=1e-11)


def test_mini_wars_and_ucdp(mini):
    w = mini["cow_war_onsets"]
    assert w["system"]["count"] == 2 and w["system"]["exposure_months"] == 480.0
    assert w["rivalry_dyads"]["count"] == 1 and w["rivalry_dyads"]["exposure_months"] == 72.0
    u = mini["ucdp"]
    assert u["years"] == [1950, 2000]
    assert u["interstate_conflict"]["count"] == 2
    assert u["interstate_conflict"]["exposure_months"] == 612.0
    assert u["interstate_war_level"]["count"] == 1


def test_missing_files_are_reported(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"cow_nmc.csv"):
        cal.derive(tmp_path)
    assert cal.main([str(tmp_path)]) == 2


# ---------------------------------------------------------------------------------------
# shipped numbers
# ---------------------------------------------------------------------------------------

def test_shipped_json_has_provenance():
    data = cal.load_shipped()
    prov = data["provenance"]
    assert prov["function"] == "detente.crisis.calibration.derive"
    assert set(prov["files"]) == set(cal.FILES.values())
    assert "generated" in prov
    assert set(data["cinc"]["actors"]) == set(cal.ACTORS)


@pytest.mark.shared
def test_shipped_json_rederives_from_shared(shared):
    path = shared / "data" / "conflict"
    if not path.is_dir():
        pytest.skip(f"{path} not found")
    derived = json.loads(json.dumps(cal.derive(path)))
    shipped = cal.load_shipped()
    shipped["provenance"].pop("generated")
    assert derived == shipped


def test_mini_cinc_of_any_year():
    """Issue 15: the capability shares and their trend for a crisis year other than the latest."""
    from pathlib import Path

    path = Path(__file__).resolve().parent / "fixtures" / "crisis" / "conflict_mini"
    d = cal.derive(path, year=2015, actors={"US": 2, "CN": 710, "TW": 713, "XX": 999})
    a = d["cinc"]["actors"]
    assert d["cinc"]["year"] == 2015
    assert a["US"]["cinc"] == pytest.approx(0.2 * math.exp(-0.05), rel=1e-11) and a["US"]["year"] == 2015
    assert a["CN"]["cinc"] == pytest.approx(0.1 * math.exp(0.1), rel=1e-11)
    assert a["TW"]["year"] == 2015 and a["TW"]["fallback"] is None
    assert a["XX"]["cinc"] is None and set(d["cinc"]["share"]) == {"US", "CN", "TW", "XX"}
    g = d["cinc_growth"]
    assert g["window"] == [2005, 2015] and g["actors"]["US"]["years"] == [2005, 2015]
    assert g["actors"]["CN"]["g_annual"] == pytest.approx(0.02, abs=1e-11)
    with pytest.raises(ValueError, match="outside the NMC data"):
        cal.derive(path, year=1900)
    assert cal.main([str(path), "--year", "2015", "--actors", "US=2,bad"]) == 2
