"""Exchange model against ``shared/conformance/exchange`` (spec §6): Tier A on the real data
sets in every mode, the reference bookkeeping on the reference's own trajectories, and
Tier C seed ensembles in the reference-compatible mode. Skips without ``../shared``."""

from __future__ import annotations

import json

import numpy as np
import pytest

import exchange_decide as dec
from detente.models.exchange import ExchangeParams, simulate
from test_exchange import MODES, compare_run

pytestmark = pytest.mark.shared

BIG = [
    ("sample_data.txt", "sample_data_EG_p0_deterministic.json", 240),
    ("copenhagen.csv", "copenhagen_EG_p0_deterministic.json", 437),
    ("cop21.csv", "cop21_EG_p0_deterministic.json", 2094),
]


def load(shared, inp, exp):
    base = shared / "conformance" / "exchange"
    return dec.data(base / "inputs" / inp), json.loads((base / "expected" / exp).read_text())


def _fmt(x: float) -> str:
    return f"{x:g}"


@pytest.mark.parametrize("mode", MODES[:3], ids=["corrected-live", "corrected-stale", "reference"])
@pytest.mark.parametrize("inp,exp,ncand", BIG, ids=[b[0] for b in BIG])
def test_round0_forecasts_groups_candidates_c1_c2(shared, inp, exp, ncand, mode):
    data, e = load(shared, inp, exp)
    r = simulate(data, ExchangeParams(rounds=1, **mode)).rounds[0]
    assert r.candidates == ncand
    for d, iss in enumerate(data.issues):
        assert float(data.to_scale(r.preference_forecast[d], d)) == pytest.approx(e["rounds"][0]["preference_nbs"][iss], abs=1e-9)
    lab = {iss: f"{iss} [{_fmt(lo)} - {_fmt(hi)}]" for iss, (lo, hi) in e["issues"].items()}
    groups = {f"{lab[data.issues[p]]}-{lab[data.issues[q]]}": dict(zip("abcd", g)) for (p, q), g in r.groups.items()}
    assert groups == e["rounds"][0]["groups"]
    if inp == "sample_data.txt":
        assert all(sum(g.values()) == 10 for g in groups.values())


def test_first_exchanges_c3(shared):
    data, _e = load(shared, "sample_data.txt", "sample_data_EG_p0_deterministic.json")
    r = simulate(data, ExchangeParams(rounds=1)).rounds[0]
    x = r.exchanges[0]
    A, I = data.actors, data.issues
    assert (A[x["I"]], I[x["q"]], A[x["J"]], I[x["p"]]) == ("Willems", "extra-investering", "Wcentr", "tolheffing-binnenstad")
    assert x["G"] == pytest.approx(75 / 38, abs=1e-12)
    assert (x["xI"], x["yI"]) == (25.0, 100.0)
    assert x["yJ"] == pytest.approx(61.05117364047237, abs=1e-9)
    assert r.exchanges[1]["G"] == pytest.approx(1.792636308765341, abs=1e-9)
    cph, _ = load(shared, "copenhagen.csv", "copenhagen_EG_p0_deterministic.json")
    x = simulate(cph, ExchangeParams(rounds=1)).rounds[0].exchanges[0]
    assert x["G"] == pytest.approx(3.27881773399015, abs=1e-9)
    assert (cph.actors[x["I"]], cph.issues[x["q"]], x["yI"]) == ("USA", "Extra", 90.0)
    assert x["yJ"] == pytest.approx(21.8936627, abs=1e-6)
    cop, _ = load(shared, "cop21.csv", "cop21_EG_p0_deterministic.json")
    g = [x["G"] for x in simulate(cop, ExchangeParams(rounds=1)).rounds[0].exchanges[:3]]
    assert g == pytest.approx([2.19072164948454, 1.79560426747508, 1.38725985844287], abs=1e-9)


def test_rescaled_issues_give_the_same_run_c8(shared):
    a, _ = load(shared, "sample_data.txt", "sample_data_EG_p0_deterministic.json")
    b, e = load(shared, "sample_data_rescaled.txt", "sample_data_rescaled_EG_p0_deterministic.json")
    for mode in MODES[:3]:
        sa, sb = simulate(a, ExchangeParams(**mode)), simulate(b, ExchangeParams(**mode))
        for ra, rb in zip(sa.rounds, sb.rounds):
            np.testing.assert_allclose(ra.next_start, rb.next_start, atol=1e-9)
            assert [(x["I"], x["J"], x["p"], x["q"]) for x in ra.exchanges] == [(x["I"], x["J"], x["p"], x["q"]) for x in rb.exchanges]
    r0 = simulate(b, ExchangeParams(rounds=1)).rounds[0]
    for d, iss in enumerate(b.issues):
        assert float(b.to_scale(r0.preference_forecast[d], d)) == pytest.approx(e["rounds"][0]["preference_nbs"][iss], abs=1e-9)


@pytest.mark.parametrize("inp,exp,rounds", [
    ("sample_data.txt", "sample_data_EG_p0_deterministic.json", [0, 1, 2, 3]),
    ("sample_data_rescaled.txt", "sample_data_rescaled_EG_p0_deterministic.json", [0, 1, 2, 3]),
    ("copenhagen.csv", "copenhagen_EG_p0_deterministic.json", [0]),
], ids=["sample", "sample-rescaled", "copenhagen"])
def test_reference_mode_follows_the_reference_until_exact_ties(shared, inp, exp, rounds):
    """Reference bookkeeping reproduces the reference trajectories (Tier B data) until the
    first exact tie whose order the reference decides by 28-digit rounding noise (spec Q3)."""
    data, e = load(shared, inp, exp)
    sim = simulate(data, ExchangeParams(mode="reference"))
    summaries = {r["round"]: r for r in e["round_summaries"]}
    full = {r["round"]: r for r in e["rounds"]}
    for t in rounds:
        rec = dict(summaries[t])
        rec["next_start_positions"] = full[t]["next_start_positions"] if t in full else {}
        rec["exchanges"] = full[t]["exchanges"] if t in full else []
        rec["candidate_exchanges"] = summaries[t]["candidate_exchanges"]
        compare_run(sim, data, {"rounds": [rec]}, exchanges=t in full)


def test_corrected_history_realizes_one_more_exchange(shared):
    """Spec §3: with the corrected history sample_data realizes 40 instead of 39 exchanges in
    round 0 and its round-0 voting forecasts become 70.082 / 47.779."""
    data, _ = load(shared, "sample_data.txt", "sample_data_EG_p0_deterministic.json")
    r = simulate(data, ExchangeParams(rounds=1, overshoot="stale")).rounds[0]
    assert len(r.exchanges) == 40
    assert float(r.voting_forecast[0]) == pytest.approx(70.082, abs=5e-4)
    assert float(r.voting_forecast[2]) == pytest.approx(47.779, abs=5e-4)
    assert len(simulate(data, ExchangeParams(rounds=1, mode="reference")).rounds[0].exchanges) == 39


# ----------------------------------------------------------------------------- Tier C


def ensemble_finals(data, params, seeds):
    out = {"round0_voting_nbs": [], "voting_nbs": [], "next_start_nbs": []}
    for s in seeds:
        sim = simulate(data, params, rng=np.random.default_rng(s))
        sc = lambda a: [float(data.to_scale(a[d], d)) for d in range(len(data.issues))]  # noqa: E731
        out["round0_voting_nbs"].append(sc(sim.rounds[0].voting_forecast))
        out["voting_nbs"].append(sc(sim.rounds[-1].voting_forecast))
        out["next_start_nbs"].append(sc(sim.rounds[-1].next_forecast))
    return {k: np.array(v) for k, v in out.items()}


def tier_c_failures(data, e, vals, keys):
    bad = []
    n = len(e["seeds"])
    for key in keys:
        ek = key if key in e["summary"] else "final_" + key
        v = vals[key]
        for d, iss in enumerate(data.issues):
            ref = e["summary"][ek][iss]
            mean, sd = v[:, d].mean(), v[:, d].std(ddof=1)
            if abs(mean - ref["mean"]) > max(3 * ref["sd"] / np.sqrt(n), 1e-9):
                bad.append((key, iss, "mean", mean, ref["mean"]))
            both_zero = ref["sd"] < 1e-9 and sd < 1e-9
            if not both_zero and not (ref["sd"] > 0 and 1 / 1.5 <= sd / ref["sd"] <= 1.5):
                bad.append((key, iss, "sd", sd, ref["sd"]))
    return bad


def test_tier_c_s4_c14_rex_p0(shared):
    data, _ = load(shared, "random_3x2_s1.csv", "random_3x2_s1_EG_p0.json")
    e = json.loads((shared / "conformance/exchange/expected/S4_C14_random_3x2_s1_REX_p0.0_summary.json").read_text())
    for mode in ("corrected", "reference"):
        vals = ensemble_finals(data, ExchangeParams(variant="rex", p=0.0, mode=mode), e["seeds"])
        assert tier_c_failures(data, e, vals, ["voting_nbs", "next_start_nbs", "round0_voting_nbs"]) == []
        for d, iss in enumerate(data.issues):
            assert vals["next_start_nbs"][:, d] == pytest.approx(e["summary"]["next_start_nbs"][iss]["mean"], abs=1e-12)


def test_tier_c_s1_random_ties_reference_mode(shared):
    data, _ = load(shared, "sample_data.txt", "sample_data_EG_p0_deterministic.json")
    e = json.loads((shared / "conformance/exchange/expected/S1_sample_data_EG_randomties_summary.json").read_text())
    vals = ensemble_finals(data, ExchangeParams(mode="reference", ties="coin"), e["seeds"])
    assert tier_c_failures(data, e, vals, ["next_start_nbs"]) == []


REX_C = [
    ("S2_sample_data_REX_p1.0_summary.json", "sample_data.txt", 1.0),
    ("S4_random_3x2_s1_REX_p0.5_summary.json", "random_3x2_s1.csv", 0.5),
    ("S4_random_3x2_s1_REX_p1.0_summary.json", "random_3x2_s1.csv", 1.0),
    ("S5_exchange_4x2_REX_p1.0_summary.json", "exchange_4x2.csv", 1.0),
]


@pytest.mark.parametrize("fx,inp,p", REX_C, ids=[r[0].split("_summary")[0] for r in REX_C])
def test_tier_c_rex_reference_mode(shared, fx, inp, p):
    data = dec.data(shared / "conformance/exchange/inputs" / inp)
    e = json.loads((shared / "conformance/exchange/expected" / fx).read_text())
    vals = ensemble_finals(data, ExchangeParams(variant="rex", p=p, mode="reference"), e["seeds"])
    # the last round's voting forecast and the forecast of the next start positions; the
    # round-0 voting forecast of S4 is lumpy (a few discrete outcomes), so with 50 seeds its
    # sd misses the factor 1.5 by sampling alone (docs/models/exchange.md, Conformance); the
    # move rule itself is pinned draw for draw by test_exchange_rex_draws.py
    assert tier_c_failures(data, e, vals, ["voting_nbs", "next_start_nbs"]) == []


def test_decide_reader_reports_every_error_c12(shared):
    decide = pytest.importorskip("detente.formats.decide")
    from detente.errors import InputError

    base = shared / "conformance/exchange/inputs"
    with pytest.raises(InputError) as ei:
        decide.read_decide(base / "copenhagen_with_errors.csv")
    lines = sorted(p.line for p in ei.value.problems)
    assert lines == [86, 87]
    with pytest.raises(InputError) as ei:
        decide.read_decide(base / "copenhagen_with_position_error.csv")
    assert [p.line for p in ei.value.problems] == [86]
    # the reader's scenarios run through the model like the tests' own reader's
    for name in ("sample_data.txt", "copenhagen.csv"):
        sc = decide.read_decide(base / name)
        from detente.models.exchange import data_from_scenario

        a, b = data_from_scenario(sc), dec.data(base / name)
        np.testing.assert_allclose(a.position, b.position)
        np.testing.assert_allclose(np.where(a.present, a.power, 0), np.where(b.present, b.power, 0))
        assert (a.present == b.present).all()
