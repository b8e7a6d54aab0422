"""End to end on an own synthetic fixture (no ../shared): build → fit → freeze → score (detente.cases).

``tests/fixtures/cases_score/`` is written by its ``make_fixture.py`` (48 invented crises, 24 triggered
1960–1989, 24 in 1990–2009). The fit here is the real likelihood fit on the 24 training crises with a
small number of runs and a two-point ``down_m`` grid; the scoring is :func:`detente.cases.score.score_test`
as the CLI's ``--forecast`` calls it. Every score is recomputed independently from the forecasts and the
labels, and the headline numbers are pinned (a change to the builder, the fit, the engine's rung chain or a
score moves them).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from detente.cases import fit as F
from detente.cases import score as S
from detente.cases.icb import CaseParams, build_cases

FIX = Path(__file__).parent / "fixtures" / "cases_score"


@pytest.fixture(scope="module")
def frozen():
    cases, skipped = build_cases(FIX, CaseParams(code_corrections=False))
    assert not skipped and len(cases) == 48
    out = F.load_outcomes(FIX)
    train = [cases[k] for k in sorted(cases) if cases[k].year <= 1989]
    fits = F.fit_profile(train, out, runs=40, grid=(0.5, 1.0), refine=False)
    variants = {}
    for v, r in fits.items():
        names = F.THETA_NAMES + (("beta_trigger",) if v else ())
        variants["with_trigger" if v else "without_trigger"] = {
            "theta_standardised": dict(zip(names, map(float, r["theta"]))), "down_m": r["down_m"],
            "coefficients": F.raw_coefficients(r["theta"], r["std"], r["down_m"], v), "converged": r["converged"]}
    std = fits[False]["std"]
    return {"provenance": {"train": {"last_year": 1989, "crises": len(train)},
                           "standardisation": {k: {"mean": m, "sd": s} for k, (m, s) in std.items()}},
            "variants": variants}


@pytest.fixture(scope="module")
def scored(frozen):
    return S.score_test(FIX, frozen, runs=120, B=200, seed=7)


def _labels():
    out = F.load_outcomes(FIX)
    cases, _ = build_cases(FIX, CaseParams(code_corrections=False))
    tr = [k for k in sorted(cases) if cases[k].year <= 1989]
    te = [k for k in sorted(cases) if cases[k].year > 1989]
    return out, tr, te


def test_scores_recomputed_from_the_forecasts_and_labels(frozen, scored):
    out, tr, te = _labels()
    sc, fc = scored["scores"], scored["forecasts"]
    assert sc["n_train"] == 24 and sc["n_test"] == 24 and set(fc) == {str(k) for k in tr + te}
    assert sc["builder"]["code_corrections"] is False
    assert all(fc[str(k)]["set"] == ("train" if k in tr else "test") for k in tr + te)
    for outcome, key, hit in (("war", "p_war", lambda o: o.category == 2),
                              ("violence", "p_violence", lambda o: o.category >= 1)):
        y = np.array([hit(out[k]) for k in te], int)
        base = np.mean([hit(out[k]) for k in tr])
        p = np.array([fc[str(k)][key] for k in te])
        blk = sc["without_trigger"][outcome]
        assert blk["n"] == 24 and blk["events"] == int(y.sum())
        assert blk["base_rate"]["brier"] == pytest.approx(np.mean((base - y) ** 2), rel=1e-12)
        assert blk["engine"]["brier"] == pytest.approx(np.mean((p - y) ** 2), rel=1e-12)
        assert blk["engine"]["log_score"] == pytest.approx(np.mean(np.log(np.where(y == 1, p, 1 - p))), rel=1e-12)
        pairs = [(a > b) + 0.5 * (a == b) for a in p[y == 1] for b in p[y == 0]]
        assert blk["engine"]["auc"] == pytest.approx(np.mean(pairs), rel=1e-12)
        assert blk["engine"]["bss_vs_base_rate"] == pytest.approx(
            1 - np.mean((p - y) ** 2) / np.mean((base - y) ** 2), rel=1e-12)
        lo, hi = blk["bootstrap90"]["bss_engine_vs_base"]
        assert lo <= hi
    pr = sc["primary"]
    assert pr["bss_vs_base_rate"] == sc["without_trigger"]["war"]["engine"]["bss_vs_base_rate"]
    assert pr["success"] == (pr["bss_vs_base_rate"] > 0 and pr["bootstrap90"][0] > 0)
    # the month distribution of first violence is a distribution
    for k in te:
        assert sum(fc[str(k)]["p_onset_by_month"].values()) == pytest.approx(1.0)


def test_initiator_scores_on_the_fixture(scored):
    out, tr, te = _labels()
    ini = scored["scores"]["initiator_scores"]
    acts = F.load_violent_acts(FIX)
    cases, _ = build_cases(FIX, CaseParams(code_corrections=False))
    y_tr = [F.initiator_side(cases[k], out[k], acts.get(k, [])) for k in tr]
    coded = [s for s in y_tr if s is not None]
    assert ini["train"]["n"] == len(coded) and ini["base_rate_adversary"] == pytest.approx(
        coded.count("adversary") / len(coded))
    assert ini["test"]["post_hoc"].startswith("added after the first look")
    for k in tr + te:
        p = scored["forecasts"][str(k)]["p_initiator"]
        assert p is not None and sum(p.values()) == pytest.approx(1.0)


def test_scoring_is_pinned(scored):
    """Same data, same fit, same seeds: the same numbers on every machine (to 1e-6: the fit is an optimiser)."""
    w = scored["scores"]["without_trigger"]["war"]
    # committed from this exact call (06 Dec 2026)
    assert [w["engine"]["brier"], w["base_rate"]["brier"], w["logit"]["brier"], w["engine"]["auc"]] == pytest.approx(
        PINNED, abs=1e-6)


PINNED = [0.1523133402598804, 0.2239583333333333, 0.14528736969855974, 0.8359375]


def test_no_post_trigger_column_reaches_a_forecast(frozen, tmp_path):
    """Shuffle every column the case builder does not read (outcomes, management, dates after the trigger,
    the triggering entity, ...) in all five files: each crisis' forecast (P(war), P(violence), the month
    distribution and P(initiator)) from the frozen coefficients is byte-identical."""
    from test_cases_icb import _perturb

    v = frozen["variants"]["without_trigger"]
    theta = np.array(list(v["theta_standardised"].values()))
    std = {k: (x["mean"], x["sd"]) for k, x in frozen["provenance"]["standardisation"].items()}

    def forecasts(d: Path) -> bytes:
        cases, _ = build_cases(d, CaseParams(code_corrections=False))
        out = {}
        for k, c in sorted(cases.items()):
            out[k] = {**S.forecast_case(c, theta, std, v["down_m"], 50, False),
                      "p_initiator": S.initiator_forecast(c, v["coefficients"], 50)}
        return json.dumps(out, sort_keys=True).encode()

    base = forecasts(FIX)
    d = tmp_path / "shuffled"
    d.mkdir()
    _perturb(FIX, d, 4)
    assert F.load_outcomes(d) != F.load_outcomes(FIX)  # the labels did change
    assert forecasts(d) == base


def test_added_blocks_are_json_without_nan():
    """A group with one outcome only (no AUC) and a sure forecast that misses (log score −∞) are null."""
    from detente.cases.score import _fit_scores, initiator_block
    from detente.result import json_clean  # what score_test cleans its added blocks with

    d = json_clean({"a": _fit_scores(np.array([0.2, 0.3]), np.array([0, 0]), 0.1),
                    "b": initiator_block(np.array([1.0, 0.5]), np.array([0, 1]), 0.6, B=50, seed=1)})
    json.dumps(d, allow_nan=False)
    assert d["a"]["auc"] is None and d["b"]["engine"]["log_score"] is None
    assert d["b"]["base_rate"]["log_score"] == pytest.approx((np.log(0.4) + np.log(0.6)) / 2)


def test_diagnostics_by_decade_add_up(scored):
    json.dumps(scored, allow_nan=False)
    out, tr, te = _labels()
    dg = scored["scores"]["diagnostics"]
    assert dg["added_after_first_look"] is True
    w = dg["war"]
    y_tr = np.array([out[k].category == 2 for k in tr], int)
    p_tr = np.array([scored["forecasts"][str(k)]["p_war"] for k in tr])
    assert w["train_in_sample"]["n"] == 24 and w["train_in_sample"]["events"] == int(y_tr.sum())
    assert w["train_in_sample"]["engine"]["brier"] == pytest.approx(np.mean((p_tr - y_tr) ** 2), rel=1e-12)
    dec = w["by_decade"]
    assert sum(d["n"] for d in dec.values()) == 48 and sum(d["events"] for d in dec.values()) == sum(
        out[k].category == 2 for k in tr + te)
    assert {k: d["set"] for k, d in dec.items()} == {"1960s": "train", "1970s": "train", "1980s": "train",
                                                     "1990s": "test", "2000s": "test"}
    # the test decades together give the test Brier of the pre-registered block
    test_brier = sum(dec[k]["engine"]["brier"] * dec[k]["n"] for k in ("1990s", "2000s")) / 24
    assert test_brier == pytest.approx(scored["scores"]["without_trigger"]["war"]["engine"]["brier"], rel=1e-12)


def test_reliability_figure_draws_the_bins(scored, tmp_path):
    from detente.cli.cases import reliability_diagram
    from detente.plotting.figures import reliability_figure

    b = scored["scores"]["without_trigger"]["war"]
    fig = reliability_figure({"war": {"engine": b["reliability_engine"], "logistic": b["reliability_logit"]}}, "t")
    tr = {t.name: t for t in fig.data}
    assert set(tr) == {"perfect calibration", "engine", "logistic"}
    assert list(tr["engine"].x) == [x["mean_forecast"] for x in b["reliability_engine"]]
    assert list(tr["engine"].y) == [x["observed"] for x in b["reliability_engine"]]
    lo = [x["observed"] - x["wilson90"][0] for x in b["reliability_engine"]]
    assert list(tr["engine"].error_y.arrayminus) == pytest.approx(lo)
    f = tmp_path / "rel.html"
    assert reliability_diagram(scored["scores"], f) is None and f.stat().st_size > 1000


def test_corrected_builder_scores_its_test_crises_with_the_frozen_fit(frozen, scored, monkeypatch):
    """§7 of the pre-registration: after a builder fix the test crises are rescored with the frozen fit.
    A stand-in "corrected" builder drops test crisis 25, changes test crisis 30 (rivalry flipped) and
    drops training crisis 1: the corrected scoring must score 23 test crises (30 as changed), while the
    training crises behind the base rate and the logistic regression stay the pre-registered 24."""
    import dataclasses

    import detente.cases.icb as icb

    real = icb.build_cases

    def fake(data_dir, params=None):
        cases, skipped = real(data_dir, params)
        if params is not None and params.code_corrections:
            cases = dict(cases)
            del cases[25], cases[1]
            cases[30] = dataclasses.replace(cases[30], rivalry=not cases[30].rivalry)
        return cases, skipped

    monkeypatch.setattr(icb, "build_cases", fake)
    res = S.score_test(FIX, frozen, runs=120, B=200, seed=7, code_corrections=True, initiators=False,
                       diagnostics=False)
    sc, fc = res["scores"], res["forecasts"]
    assert sc["pre_registered"] is False and sc["primary"]["pre_registered"] is False
    assert sc["builder"]["code_corrections"] is True and "NOT PRE-REGISTERED" in sc["builder"]["note"]
    assert sc["n_train"] == 24 and sc["n_test"] == 23
    out, tr, te = _labels()
    te = [k for k in te if k != 25]
    assert set(fc) == {str(k) for k in te}  # only the test crises are forecast
    # unchanged test crises: the same forecast as in the pre-registered scoring; crisis 30 moved
    for k in te:
        same = fc[str(k)]["p_war"] == scored["forecasts"][str(k)]["p_war"]
        assert same is (k != 30), k
    v = frozen["variants"]["without_trigger"]
    std = {k: (x["mean"], x["sd"]) for k, x in frozen["provenance"]["standardisation"].items()}
    cases, _ = fake(FIX, CaseParams(code_corrections=True))
    assert fc["30"]["p_war"] == S.forecast_case(cases[30], np.array(list(v["theta_standardised"].values())), std,
                                                v["down_m"], 120, False)["p_war"]
    y = np.array([out[k].category == 2 for k in te], int)
    base = np.mean([out[k].category == 2 for k in tr])  # all 24 training crises, crisis 1 included
    blk = sc["without_trigger"]["war"]
    assert blk["n"] == 23 and blk["base_rate"]["brier"] == pytest.approx(np.mean((base - y) ** 2), rel=1e-12)
    p = np.array([fc[str(k)]["p_war"] for k in te])
    assert blk["engine"]["brier"] == pytest.approx(np.mean((p - y) ** 2), rel=1e-12)
    # the headline of this scoring is its own (corrected) primary block
    assert sc["primary"]["bss_vs_base_rate"] == blk["engine"]["bss_vs_base_rate"]


def test_cli_corrected_builder_needs_forecast(tmp_path):
    from typer.testing import CliRunner

    from detente.cli import app

    r = CliRunner().invoke(app, ["cases", "icb", str(FIX), "--corrected-builder", "--json"])
    assert r.exit_code == 2 and "--corrected-builder needs --forecast" in r.output


def _record_without_covariance():
    """A frozen record of the fixture as `freeze` writes it (one down_m, small R), minus its covariance."""
    cases, _ = build_cases(FIX, CaseParams(code_corrections=False))
    out = F.load_outcomes(FIX)
    train = [cases[k] for k in sorted(cases) if cases[k].year <= 1989]
    fits = F.fit_profile(train, out, runs=40, grid=(1.0,), refine=False, variants=(False,))
    r = fits[False]
    cov, pd_ok = F.hessian_covariance(r["theta"], r["data"], False)
    se, _ = F.standard_errors(r["theta"], r["data"], False)
    names = list(F.THETA_NAMES)
    rec = {"provenance": {"train": {"last_year": 1989, "crises": len(train)}, "runs": 40,
                          "standardisation": {k: {"mean": m, "sd": s} for k, (m, s) in r["std"].items()}},
           "variants": {"without_trigger": {
               "theta_standardised": dict(zip(names, map(float, r["theta"]))), "se_standardised": dict(zip(names, map(float, se))),
               "hessian_positive_definite": pd_ok, "down_m": 1.0, "neg_loglik": r["neg_loglik"],
               "identification_rule": "none: all coefficients identified"}}}
    return rec, cov


def test_add_covariance_recomputes_the_hessian_at_the_frozen_point_without_refitting():
    rec, cov = _record_without_covariance()
    got = F.add_covariance(FIX, rec)
    v = got["variants"]["without_trigger"]
    assert v["covariance_standardised"]["names"] == list(F.THETA_NAMES)
    m = np.array(v["covariance_standardised"]["matrix"])
    assert np.array_equal(m, cov) and np.allclose(m, m.T)
    assert np.sqrt(np.diag(m)) == pytest.approx(list(v["se_standardised"].values()), rel=1e-12)
    # nothing else moved
    assert {k: x for k, x in v.items() if k != "covariance_standardised"} == rec["variants"]["without_trigger"]
    assert got["provenance"]["covariance"]["variants"] == ["without_trigger"]
    assert "covariance" not in rec["provenance"]            # the input record is not modified
    # a record whose point is not the one the data give is refused (no silent covariance of another fit)
    bad = json.loads(json.dumps(rec))
    bad["variants"]["without_trigger"]["theta_standardised"]["beta_mids"] += 0.01
    with pytest.raises(RuntimeError, match="−ℓ at the frozen point"):
        F.add_covariance(FIX, bad)
