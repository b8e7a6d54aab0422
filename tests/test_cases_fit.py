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
    for name, v in rec["variants"].items():
        assert v["converged"], name
        assert set(F.THETA_NAMES) <= set(v["theta_standardised"]) <= set(F.THETA_NAMES) | {"beta_trigger"}
        assert all(s >= 0 for s in v["se_standardised"].values())
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
