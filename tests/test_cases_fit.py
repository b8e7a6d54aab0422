"""The simulated-likelihood fit of the ICB case scenarios (detente.cases.fit)."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

from detente.cases import fit as F
from detente.cases.icb import PRIOR_COEFFICIENTS, CaseParams, build_cases, case_scenario

FIX = Path(__file__).parent / "fixtures" / "cases"


def test_outcomes_hand_coded():
    out = F.load_outcomes(FIX)
    # 1: viol 4, AAA's violent trigger in the trigger month; 4: BBB's violent major response a
    # month after the trigger; 3: viol 2 with no violent trigger or response (undated)
    assert out[1] == F.Outcome(2, 0) and out[2] == F.Outcome(0, None)
    assert out[3] == F.Outcome(1, None) and out[4] == F.Outcome(1, 1) and out[6] == F.Outcome(1, 0)


def _data(month: int, category: int, runs: int = 400, down_m: float = 0.7):
    cases, _ = build_cases(FIX)
    cs = [cases[1], cases[2], cases[6]]
    outs = {c.crisno: F.Outcome(category, month if month >= 0 else None) for c in cs}
    std = F.standardiser(cs)
    return cs, std, F.fit_data(cs, outs, down_m, runs, std)


THETA = np.array([-3.0, -4.5, 0.3, -0.2, 0.5, 0.4, 1.5])


def test_dated_terms_add_up_to_the_category_probabilities():
    """Σ over months of P(first violence in m, category) = P(category) (per crisis, same paths)."""
    _, _, d0 = _data(-1, 1)
    p = F.category_probs(THETA, d0)
    assert np.allclose(p.sum(axis=1), 1.0)
    for cat in (1, 2):
        tot = np.zeros(3)
        for m in range(12):
            _, _, d = _data(m, cat)
            tot += np.exp(F._loglik_terms(THETA, d, False))
        assert np.allclose(tot, p[:, cat], rtol=1e-9, atol=1e-12)


def test_rao_blackwell_probabilities_match_a_forward_engine_run():
    """The fit's analytic probabilities equal the engine's onset frequencies with the same coefficients."""
    from detente.crisis import run

    cs, std, d = _data(-1, 0, runs=3000, down_m=0.7)
    raw = F.raw_coefficients(THETA, std, 0.7, False)
    coef = {k: dict(v) for k, v in PRIOR_COEFFICIENTS.items()}
    for k, v in raw.items():
        coef[k] = {"value": v, "source": "test"}
    p = F.category_probs(THETA, d)
    for i, c in enumerate(cs):
        res = run(case_scenario(c, coefficients=coef), {"runs": 3000}, seed=99)
        war = res.onset_step[:, 1] >= 0
        viol = (res.onset_step[:, 0] >= 0) | war
        for est, sim in ((p[i, 2], war.mean()), (p[i, 1] + p[i, 2], viol.mean())):
            # two independent Monte Carlo estimates of one probability (3000 paths each)
            assert abs(est - sim) < 4 * math.sqrt(2 * est * (1 - est) / 3000)


def test_raw_coefficients_reproduce_the_standardised_predictor():
    cs, std, d = _data(-1, 0)
    raw = F.raw_coefficients(THETA, std, 0.7, False)
    for i, c in enumerate(cs):
        f = c.features()
        eta_raw = (raw["beta_log_cinc_ratio"] * f["log_cinc_ratio"] + raw["beta_trend_gap"] * f["trend_gap_m"]
                   + raw["beta_rivalry"] * f["rivalry"] + raw["beta_log1p_mids"] * f["log1p_prior_mids"])
        assert raw["log_base_violence_m"] + eta_raw == pytest.approx(THETA[0] + d.X[i] @ THETA[2:6], rel=1e-10)


def test_fit_recovers_a_better_likelihood_than_the_start():
    _cs, _std, d = _data(0, 2, runs=200)
    d = dataclasses.replace(d, category=np.array([2, 0, 1]), month=np.array([0, -1, 0]))
    r = F.fit_one(d, False)
    assert r.fun <= F.neg_loglik(F.start_values(d, False), d) + 1e-9


# ------------------------------------------------------------------ scores (detente.cases.score)
def test_scores_hand_computed():
    from detente.cases import score as S

    p, y = np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1])
    assert S.brier(p, y) == pytest.approx((0.01 + 0.16 + 0.4225 + 0.04) / 4)
    assert S.log_score(p, y) == pytest.approx((math.log(0.9) + math.log(0.6) + math.log(0.35) + math.log(0.8)) / 4)
    assert S.auc(p, y) == pytest.approx(0.75)  # 3 of the 4 (positive, negative) pairs ordered
    assert S.auc(np.array([0.5, 0.5]), np.array([0, 1])) == pytest.approx(0.5)
    assert S.log_score(np.array([1.0]), np.array([0])) == -math.inf
    rel = S.reliability(p, y, bins=2)
    assert [b["n"] for b in rel] == [2, 2] and rel[0]["observed"] == 0.5 and rel[1]["observed"] == 0.5
    assert rel[0]["mean_forecast"] == pytest.approx(0.225)


def test_paired_bootstrap_is_zero_for_the_base_itself_and_positive_for_a_perfect_forecast():
    from detente.cases import score as S

    y = np.array([0, 1] * 20)
    base = np.full(40, 0.5)
    out = S.paired_bootstrap(y, {"base": base, "same": base.copy(), "perfect": y.astype(float)}, "base", B=500)
    assert out["same"]["bss_vs_base"] == [0.0, 0.0]
    assert out["perfect"]["bss_vs_base"] == [1.0, 1.0]


def test_bootstrap_intervals_hand_checked_and_reproducible():
    """The paired bootstrap resamples crises with numpy's Generator: same seed, same intervals; the
    interval of the Brier skill is the percentile interval of 1 − Brier/Brier_base over the resamples."""
    from detente.cases import score as S

    rng = np.random.default_rng(3)
    y = (rng.random(60) < 0.3).astype(int)
    base, eng, lg = np.full(60, 0.3), np.clip(0.3 + 0.4 * (y - 0.3) + rng.normal(0, 0.1, 60), 0.01, 0.99), \
        rng.uniform(0.1, 0.5, 60)
    a = S._boot_intervals(y, eng, base, lg, B=300, seed=11)
    assert a == S._boot_intervals(y, eng, base, lg, B=300, seed=11)
    assert a != S._boot_intervals(y, eng, base, lg, B=300, seed=12)
    # by hand: the same resamples (one Generator, one integers() call per resample)
    g = np.random.default_rng(11)
    bss = []
    for _ in range(300):
        i = g.integers(0, 60, size=60)
        bss.append(1 - np.mean((eng[i] - y[i]) ** 2) / np.mean((base[i] - y[i]) ** 2))
    assert a["bss_engine_vs_base"] == pytest.approx([np.quantile(bss, 0.05), np.quantile(bss, 0.95)], rel=1e-12)
    p = S.paired_bootstrap(y, {"base": base, "engine": eng}, "base", B=300, seed=11)
    assert p == S.paired_bootstrap(y, {"base": base, "engine": eng}, "base", B=300, seed=11)
    lo, hi = p["engine"]["bss_vs_base"]
    full = 1 - S.brier(eng, y) / S.brier(base, y)
    assert lo < full < hi and lo > 0  # a forecast that leans toward the outcomes beats the base rate


def test_brier_skill_and_auc_by_hand_on_ties():
    from detente.cases import score as S

    y = np.array([1, 0, 1, 0, 0])
    p = np.array([0.6, 0.6, 0.9, 0.2, 0.1])
    # pairs (pos, neg): (0.6, 0.6) tie ½, (0.6, 0.2) 1, (0.6, 0.1) 1, (0.9, ·) 3 → 5.5 / 6
    assert S.auc(p, y) == pytest.approx(5.5 / 6)
    base = np.full(5, 0.4)
    assert 1 - S.brier(p, y) / S.brier(base, y) == pytest.approx(1 - (0.16 + 0.36 + 0.01 + 0.04 + 0.01) / (0.36 * 2 + 0.16 * 3))


def test_forecast_case_agrees_with_the_fit_probabilities():
    from detente.cases import score as S

    cs, std, d = _data(-1, 0, runs=300, down_m=0.7)
    p = F.category_probs(THETA, d)
    for i, c in enumerate(cs):
        f = S.forecast_case(c, THETA, std, 0.7, 300, False)
        assert f["p_war"] == pytest.approx(p[i, 2], rel=1e-9)
        assert f["p_violence"] == pytest.approx(p[i, 1] + p[i, 2], rel=1e-9)
        assert sum(f["p_onset_by_month"].values()) == pytest.approx(1.0)


def test_logit_baseline_matches_statsmodels_fit_on_separable_free_data():
    pytest.importorskip("statsmodels")
    from detente.cases import score as S

    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 1))
    y = (rng.random(400) < 1 / (1 + np.exp(-(0.5 + 1.5 * X[:, 0])))).astype(int)
    p = S.logit_baseline(X, y, np.array([[0.0], [1.0]]))
    # the MLE is near the true curve (0.5 + 1.5x) for 400 draws
    assert p[0] == pytest.approx(1 / (1 + math.exp(-0.5)), abs=0.08)
    assert p[1] == pytest.approx(1 / (1 + math.exp(-2.0)), abs=0.08)


# ------------------------------------------------------------------ regression on the real data
@pytest.mark.slow
def test_fit_on_a_fixed_training_subset_matches_committed_numbers(shared):
    """The first 40 built training crises (by crisno), R = 100, grid {0.5, 1, 2}, no refinement.

    Numbers committed from the run of this exact call (06 Dec 2026); a change to the case
    builder, the outcome coding, the likelihood or the engine's rung chain moves them.
    """
    data = shared / "data" / "conflict"
    cases, _ = build_cases(data, CaseParams(code_corrections=False))  # the builder the fit was frozen with
    out = F.load_outcomes(data)
    train = [cases[k] for k in sorted(cases) if cases[k].year <= 1989 and k in out][:40]
    r = F.fit_profile(train, out, runs=100, grid=(0.5, 1.0, 2.0), variants=(False,), refine=False)[False]
    assert r["down_m"] == 0.5
    assert [f for _, f in r["profile"]] == pytest.approx([55.9, 56.4409, 60.2533], abs=2e-3)
    assert r["theta"] == pytest.approx([-5.6352, -8.061, -0.8909, 0.2436, -1.1283, 0.6544, 7.3801], abs=0.02)


# ------------------------------------------------------------------ the frozen fit shipped in the package
def test_frozen_fit_record_and_scenario():
    import json

    from detente.crisis import run

    rec = json.loads(F.FROZEN_PATH.read_text(encoding="utf-8"))
    prov = rec["provenance"]
    assert prov["train"]["last_year"] == 1989 and prov["test_set_looked_at"] is False
    assert prov["preregistration"] == "preregistration/icb_crisis_engine.md"
    assert set(prov["files"]) == {"icb1", "icb2", "nmc", "mid", "rivalries"}
    assert set(prov["covariance"]["variants"]) == set(rec["variants"]) and "no coefficient refitted" in prov["covariance"]["method"]
    for name, v in rec["variants"].items():
        assert v["converged"], name
        assert set(F.THETA_NAMES) <= set(v["theta_standardised"]) <= set(F.THETA_NAMES) | {"beta_trigger"}
        assert all(s >= 0 for s in v["se_standardised"].values())
        # the covariance added after the first look (§4 promised it): its diagonal is the SEs', symmetric, PD
        cov = v["covariance_standardised"]
        assert cov["names"] == list(v["theta_standardised"])
        m = np.array(cov["matrix"])
        assert np.allclose(m, m.T, rtol=0, atol=1e-12) and np.all(np.linalg.eigvalsh(m) > 0)
        assert np.sqrt(np.diag(m)) == pytest.approx([v["se_standardised"][n] for n in cov["names"]], rel=1e-12)
        # the raw-scale coefficients are the standardised ones converted with the recorded means/SDs
        std = {k: (x["mean"], x["sd"]) for k, x in prov["standardisation"].items()}
        theta = np.array(list(v["theta_standardised"].values()))
        raw = F.raw_coefficients(theta, std, v["down_m"], name == "with_trigger")
        assert raw == pytest.approx(v["coefficients"])
    cases, _ = build_cases(FIX)
    coef = {k: dict(x) for k, x in PRIOR_COEFFICIENTS.items()}
    for k, x in rec["variants"]["without_trigger"]["coefficients"].items():
        coef[k] = {"value": x, "source": "frozen ICB fit (detente/data/icb_engine.json)"}
    res = run(case_scenario(cases[1], coefficients=coef), {"runs": 200}, seed=1)
    assert res.onset_step.shape == (200, 2)


# ------------------------------------------------------------------ initiator (added after the first look)
def test_violent_acts_and_initiator_side_hand_coded():
    acts = F.load_violent_acts(FIX)
    # crisis 1: AAA's violent trigger on 15 March by BBB (102), AAA's violent response on 20 March,
    # BBB's violent response on 2 April
    assert sorted(acts[1], key=lambda a: (a.month, a.day)) == [
        F.ViolentAct(0, 15, 102, False), F.ViolentAct(0, 20, 101, True), F.ViolentAct(1, 2, 102, True)]
    cases, _ = build_cases(FIX)
    out = F.load_outcomes(FIX)
    assert F.initiator_side(cases[1], out[1], acts[1]) == "adversary"     # BBB acted first (day 15 < 20)
    assert F.initiator_side(cases[6], out[6], acts[6]) == "adversary"     # both November acts by AAA
    assert out[8] == F.Outcome(1, 1)
    assert F.initiator_side(cases[8], out[8], acts[8]) == "local"         # AAA's violent response, March 1966
    assert F.initiator_side(cases[2], out[2], acts.get(2, [])) is None    # no violence
    c1 = cases[1]
    # a month with an unknown day: decided only if every act of the month comes from one side
    mixed = [F.ViolentAct(0, None, 102, False), F.ViolentAct(0, 3, 101, True)]
    assert F.initiator_side(c1, F.Outcome(2, 0), mixed) is None
    same = [F.ViolentAct(0, None, 102, False), F.ViolentAct(0, 3, 102, True), F.ViolentAct(1, 1, 101, True)]
    assert F.initiator_side(c1, F.Outcome(2, 0), same) == "adversary"
    # a response and a trigger on the same known day: the triggering act comes first
    tie = [F.ViolentAct(0, 4, 101, True), F.ViolentAct(0, 4, 102, False)]
    assert F.initiator_side(c1, F.Outcome(2, 0), tie) == "adversary"
    # a non-state or out-of-case actor leaves it uncoded
    assert F.initiator_side(c1, F.Outcome(2, 0), [F.ViolentAct(0, 1, None, False)]) is None
    assert F.initiator_side(c1, F.Outcome(2, 0), [F.ViolentAct(0, 1, 103, False)]) is None  # CCC joined late


def test_initiator_forecast_comes_from_the_engine_runs():
    from detente.cases import score as S
    from detente.crisis import run

    cases, _ = build_cases(FIX)
    coef = {"log_base_violence_m": math.log(0.3), "log_base_war_m": math.log(0.05)}
    p = S.initiator_forecast(cases[1], coef, 1000)
    assert set(p) == {"AAA", "BBB"} and sum(p.values()) == pytest.approx(1.0)
    # the frozen design splits initiation evenly between the leads: 0.5 within Monte Carlo error
    assert abs(p["BBB"] - 0.5) < 4 * math.sqrt(0.25 / 600)
    assert S.initiator_forecast(cases[1], coef, 1000) == p                   # same seed, same numbers
    # it is the share of first onsets by each lead in the scenario's own run
    full = {k: dict(v) for k, v in PRIOR_COEFFICIENTS.items()}
    for k, v in coef.items():
        full[k] = {"value": v, "source": "t"}
    sc = case_scenario(cases[1], coefficients=full)
    res = run(sc, {"runs": 1000}, seed=sc.dynamics["settings"]["seed"])
    hit = res.first_step >= 0
    assert p["BBB"] == pytest.approx(np.mean(res.first_initiator[hit] == res.actors.index("BBB")))


def test_initiator_block_hand_computed():
    from detente.cases import score as S

    p, y = np.array([0.5, 0.5, 0.8]), np.array([1, 0, 1])
    b = S.initiator_block(p, y, 0.6, B=200, seed=1)
    assert b["n"] == 3 and b["adversary_started"] == 2
    assert b["engine"]["brier"] == pytest.approx((0.25 + 0.25 + 0.04) / 3)
    assert b["engine"]["log_score"] == pytest.approx((2 * math.log(0.5) + math.log(0.8)) / 3)
    assert b["engine"]["accuracy"] == pytest.approx((0.5 + 0.5 + 1) / 3)   # 0.5 is half right
    assert b["base_rate"]["brier"] == pytest.approx((0.16 + 0.36 + 0.16) / 3)
    assert b["base_rate"]["accuracy"] == pytest.approx(2 / 3)
    assert b["base_rate"]["log_score"] == pytest.approx((2 * math.log(0.6) + math.log(0.4)) / 3)
    lo, hi = b["bootstrap90_log_engine_minus_base"]
    assert lo <= b["engine"]["log_score"] - b["base_rate"]["log_score"] <= hi
    assert S.initiator_block(p, y, 0.6, B=200, seed=1) == b
