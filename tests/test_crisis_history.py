"""The `history` hypothesis of seesaw-2021: hazard and escalation numbers read from the frozen ICB
fit (`fit:` references, detente.crisis.fits), its provenance, its errors, its as-of forecasts and
the report's out-of-sample section."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from detente import examples
from detente.crisis import fits as F
from detente.crisis.spec import Num, load_spec
from detente.errors import InputError

FIT_FILE = Path(F.FITS_DIR) / "icb_engine.json"
FEATURES = ("log_cinc_ratio", "trend_gap_m", "rivalry", "log1p_prior_mids")
SLOPE = {"log_cinc_ratio": "beta_log_cinc_ratio", "trend_gap_m": "beta_trend_gap", "rivalry": "beta_rivalry",
         "log1p_prior_mids": "beta_log1p_mids"}


def _fit() -> dict:
    return json.loads(FIT_FILE.read_text(encoding="utf-8"))


def _history_set() -> dict:
    return examples.load("seesaw-2021").dynamics["hypotheses"]["history"]["set"]


def _expected_hazard(rec: dict, fp: str) -> float:
    c = rec["variants"]["without_trigger"]["coefficients"]
    feats = _history_set()[f"flashpoints[{fp}].base_hazard_m"]["fit"]["features"]
    return math.exp(c["log_base_war_m"] + sum(c[SLOPE[k]] * feats[k]["value"] for k in FEATURES))


def _expected_hazard_se(rec: dict, fp: str) -> float:
    v, std = rec["variants"]["without_trigger"], rec["provenance"]["standardisation"]
    feats = _history_set()[f"flashpoints[{fp}].base_hazard_m"]["fit"]["features"]
    z = {"beta_ratio": "log_cinc_ratio", "beta_trend": "trend_gap_m", "beta_mids": "log1p_prior_mids"}
    g = {"alpha_war": 1.0, "beta_rivalry": float(feats["rivalry"]["value"])}
    for b, f in z.items():
        g[b] = (feats[f]["value"] - std[f]["mean"]) / std[f]["sd"]
    names = v["covariance_standardised"]["names"]
    gv = np.array([g.get(n, 0.0) for n in names])
    return _expected_hazard(rec, fp) * math.sqrt(gv @ np.array(v["covariance_standardised"]["matrix"]) @ gv)


# ------------------------------------------------------------------ the numbers come from the file
def test_history_reads_its_numbers_from_the_frozen_fit():
    rec = _fit()
    v = rec["variants"]["without_trigger"]
    spec = load_spec(examples.load("seesaw-2021").dynamics, hypothesis="history")
    sha = __import__("hashlib").sha256(FIT_FILE.read_bytes()).hexdigest()
    for f in spec.flashpoints:
        assert f.beta.rung.value == v["coefficients"]["beta_rung"]
        assert f.beta.rung.se == pytest.approx(v["se_standardised"]["beta_rung"])
        # one rung of the fitted 3-rung chain = two of the flagship's 5 (documented scale 2)
        assert f.escalation.down_m.value == pytest.approx(2 * v["coefficients"]["escalation_down_m"])
        assert f.escalation.down_m.se == pytest.approx(2 * v["down_m"] * v["se_log_down_m"])
        assert f.base_hazard_m.value == pytest.approx(_expected_hazard(rec, f.id), rel=1e-12)
        # delta method from the record's covariance, by hand: g = (α_war 1, β_j z_j) on the standardised scale
        assert f.base_hazard_m.se == pytest.approx(_expected_hazard_se(rec, f.id), rel=1e-9)
        for n in (f.beta.rung, f.escalation.down_m, f.base_hazard_m):
            assert n.fit is not None and n.assumption is None
            assert sha[:12] in n.source and "ICB crises 1918–1989" in n.source and "without_trigger" in n.source
        # every other hazard term is off, as in the fitted model; no upward moves
        assert [getattr(f.beta, k).value for k in ("forced", "pressure", "crisis_pwar", "moral_hazard", "forces",
                                                   "groups", "agreement")] == [0.0] * 7
        assert f.escalation.up_m.value == 0.0 and f.escalation.push_factor.value == 1.0
        assert {k: n.value for k, n in f.background_initiators.items()} == {f.local: 0.5, f.adversary: 0.5}
    # the base description is untouched
    base = load_spec(examples.load("seesaw-2021").dynamics)
    assert base.flashpoints[0].beta.rung.value == 0.7 and base.flashpoints[0].beta.rung.fit is None


def test_the_slope_standard_errors_are_rescaled_to_the_raw_scale():
    rec = _fit()
    v, std = rec["variants"]["without_trigger"], rec["provenance"]["standardisation"]
    fit = F.load_fit("icb_engine")
    se, _ = fit.se_of("without_trigger", "beta_log_cinc_ratio")
    assert se == pytest.approx(v["se_standardised"]["beta_ratio"] / std["log_cinc_ratio"]["sd"])
    se, _ = fit.se_of("without_trigger", "beta_rivalry")
    assert se == pytest.approx(v["se_standardised"]["beta_rivalry"])
    se, why = fit.se_of("without_trigger", "log_base_war_m")
    assert "delta method" in why and se > v["se_standardised"]["alpha_war"]  # the raw intercept is far from the data's centre
    # the raw slopes are the standardised ones over the training SD (as the fit writes them)
    assert v["coefficients"]["beta_log_cinc_ratio"] == pytest.approx(
        v["theta_standardised"]["beta_ratio"] / std["log_cinc_ratio"]["sd"])


def test_changing_the_fit_file_changes_the_hypothesis_numbers(tmp_path, monkeypatch):
    from detente.crisis import CrisisParams, run

    def p_war_ua() -> float:
        res = run(examples.load("seesaw-2021"), CrisisParams(runs=400, hypothesis="history"), seed=3)
        return float((res.onset_step[:, 0] >= 0).mean())

    frozen = p_war_ua()
    rec = _fit()
    c = rec["variants"]["without_trigger"]["coefficients"]
    c["beta_rung"], c["escalation_down_m"], c["log_base_war_m"] = 4.0, 0.9, -7.0
    (tmp_path / "icb_engine.json").write_text(json.dumps(rec), encoding="utf-8")
    monkeypatch.setattr(F, "FITS_DIR", tmp_path)
    spec = load_spec(examples.load("seesaw-2021").dynamics, hypothesis="history")
    ua = spec.flashpoints[0]
    assert ua.beta.rung.value == 4.0 and ua.escalation.down_m.value == pytest.approx(1.8)
    assert ua.base_hazard_m.value == pytest.approx(_expected_hazard(rec, "UA"))
    assert math.log(ua.base_hazard_m.value) > -7.1                   # was about −12.1
    new_sha = __import__("hashlib").sha256((tmp_path / "icb_engine.json").read_bytes()).hexdigest()
    assert new_sha[:12] in ua.beta.rung.source
    # the engine runs on the new numbers: a hazard floor e^5 times larger gives many more wars
    assert frozen < 0.01 and p_war_ua() > 0.04


def test_a_fit_file_copied_unchanged_gives_the_same_numbers(tmp_path, monkeypatch):
    shutil.copy(FIT_FILE, tmp_path / "icb_engine.json")
    before = load_spec(examples.load("seesaw-2021").dynamics, hypothesis="history").flashpoints[0]
    monkeypatch.setattr(F, "FITS_DIR", tmp_path)
    after = load_spec(examples.load("seesaw-2021").dynamics, hypothesis="history").flashpoints[0]
    assert after.base_hazard_m.value == before.base_hazard_m.value and after.base_hazard_m.source == before.base_hazard_m.source


# ------------------------------------------------------------------ bad references
def _bad_history_file(tmp_path: Path, old: str, new: str) -> tuple[Path, int]:
    text = examples.path("seesaw-2021").read_text(encoding="utf-8")
    assert text.count(old) == 1
    text = text.replace(old, new)
    p = tmp_path / "seesaw-bad.yaml"
    p.write_text(text, encoding="utf-8")
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if new in ln)
    return p, line


def test_an_unknown_coefficient_names_file_line_and_value(tmp_path):
    from detente.cli.crisis_run import crisis_run

    p, line = _bad_history_file(tmp_path, "coefficient: beta_rung}}", "coefficient: beta_rungg}}")
    with pytest.raises(InputError) as ei:
        crisis_run(str(p), hypotheses=["history"], runs=4, out_dir=None, mechanisms="none")
    probs = ei.value.problems
    assert probs and all(pr.file == str(p) and pr.line == line for pr in probs)
    assert all(pr.value == "icb_engine/without_trigger/beta_rungg" for pr in probs)
    assert "unknown coefficient 'beta_rungg'" in probs[0].message and "beta_rung," in probs[0].message
    assert probs[0].column == "dynamics.flashpoints.0.beta.rung.fit"
    # the other hypotheses do not use it and still run
    obj, _ = crisis_run(str(p), hypotheses=["combined"], runs=4, out_dir=None, mechanisms="none")
    assert "combined" in obj["hypotheses"]


def test_a_base_description_problem_is_located_too(tmp_path):
    from detente.cli.crisis_run import crisis_run

    p, line = _bad_history_file(tmp_path, "rung: {value: 0.7, assumption: {range: [0.3, 1.5]",
                                "rung: {value: 0.7, assumptio: {range: [0.3, 1.5]")
    with pytest.raises(InputError) as ei:
        crisis_run(str(p), hypotheses=["combined"], runs=4, out_dir=None, mechanisms="none")
    assert any(pr.file == str(p) and pr.line == line for pr in ei.value.problems)


@pytest.mark.parametrize("ref, msg", [
    ({"file": "no_such_fit", "coefficient": "beta_rung"}, "unknown frozen fit 'no_such_fit'; expected one of: icb_engine"),
    ({"file": "../calibration", "coefficient": "beta_rung"}, "unknown frozen fit"),
    ({"variant": "sideways", "coefficient": "beta_rung"}, "unknown variant 'sideways'"),
    ({"coefficient": "beta_rung", "hazard": "war"}, "exactly one of"),
    ({"hazard": "war", "features": {"log_cinc_ratio": {"value": 1.0, "source": "x"}}},
     "missing: trend_gap_m, rivalry, log1p_prior_mids"),
    ({"hazard": "war", "features": {**{k: {"value": 0.0, "source": "x"} for k in FEATURES},
                                    "gdp": {"value": 1.0, "source": "x"}}}, "unknown: gdp"),
    ({"coefficient": "escalation_down_m", "scale": 2.0}, "needs `scale_note`"),
])
def test_bad_fit_references_are_refused_with_the_expected_names(ref, msg):
    with pytest.raises(Exception, match=msg.replace("(", r"\(").replace(")", r"\)")):
        Num.model_validate({"fit": ref})


def test_a_fit_number_takes_no_hand_copied_value_or_assumption():
    v = _fit()["variants"]["without_trigger"]["coefficients"]["beta_rung"]
    assert Num.model_validate({"fit": {"coefficient": "beta_rung"}, "value": v}).value == v
    with pytest.raises(Exception, match="differs from the frozen fit"):
        Num.model_validate({"fit": {"coefficient": "beta_rung"}, "value": 1.0})
    with pytest.raises(Exception, match="no `assumption:`"):
        Num.model_validate({"fit": {"coefficient": "beta_rung"}, "assumption": {"range": [0, 20]}})
    with pytest.raises(Exception, match="`se` is filled in"):
        Num.model_validate({"value": 1.0, "source": "x", "se": 0.1})


# ------------------------------------------------------------------ features from the data
def test_the_features_in_the_yaml_are_the_case_builders(shared):
    """The flashpoints' trigger-time features written in the hypothesis are those the ICB case
    builder computes from the conflict data for a crisis triggered at the scenario's start."""
    from detente.cases.flashpoint import scenario_flashpoint_features
    from detente.crisis.calibration import ACTORS

    spec = load_spec(examples.load("seesaw-2021").dynamics)
    got = scenario_flashpoint_features(shared / "data" / "conflict", spec, dict(ACTORS))
    sets = _history_set()
    for fp, row in got.items():
        yaml = {k: v["value"] for k, v in sets[f"flashpoints[{fp}].base_hazard_m"]["fit"]["features"].items()}
        assert yaml == pytest.approx(row["features"], rel=1e-9, abs=1e-15), fp
        assert row["cinc_year"] == 2020 and row["mid_window_observed"] == 0.0
    assert got["TW"]["features"]["rivalry"] == 1 and got["UA"]["features"]["rivalry"] == 0


# ------------------------------------------------------------------ as-of forecasts and the report
def _exact_p(spec, start_rung: int, months: int) -> float:
    """P(war at UA started by RU within ``months``) under `history`, by the Markov chain of the
    rung (down one rung w.p. 1 − e^{−down_m} each month, then the hazard at the new rung) with
    the initiator split 0.5: the closed form the engine's Monte Carlo must reproduce."""
    ua = spec.flashpoints[0]
    b, beta, down, R = ua.base_hazard_m.value, ua.beta.rung.value, ua.escalation.down_m.value, ua.escalation.rungs
    p = np.zeros(R)
    p[start_rung] = 1.0
    q = 1.0 - math.exp(-down)
    h = 1.0 - np.exp(-b * np.exp(beta * np.arange(R) / (R - 1)))
    onset = 0.0
    for _ in range(months):
        p = np.append(p[1:] * q, 0.0) + p * np.append(0.0, np.full(R - 1, 1.0 - q)) + np.append(p[0], np.zeros(R - 1))
        onset += float((p * h).sum())
        p = p * (1.0 - h)
    return 0.5 * onset


def test_history_as_of_forecast_matches_its_closed_form():
    from detente.cli.crisis_run import scenario_dir
    from detente.crisis import record as R
    from detente.crisis.analysis import forecast_path

    scn = examples.load("seesaw-2021")
    spec = load_spec(scn.dynamics)
    obs = R.observed(spec, scenario_dir("seesaw-2021"))
    fp = forecast_path(scn, spec, obs, "history", runs=4000, seed=5)
    row = {r["date"]: r for r in fp["path"]}["2022-02-19"]
    assert row["start_rungs"] == {"UA": 4} and row["horizon_months"] == 11
    exact = _exact_p(load_spec(scn.dynamics, hypothesis="history"), 4, 11)
    assert 0.02 < exact < 0.05
    assert abs(row["p"] - exact) < 4 * row["se"]


def test_history_as_of_forecasts_are_pinned_and_reported(tmp_path):
    from detente.cli.crisis_run import crisis_run
    from detente.report.crisis import write_report
    from detente.report.html import crisis_report

    obj, _ = crisis_run("seesaw-2021", hypotheses=["history", "combined"], runs=200, seed=11, out_dir=None,
                        mechanisms="none", cf_runs=4)
    rep = write_report(obj, tmp_path, figures=False)   # the flagship report's writer, without the PNG export
    assert obj["out_of_sample"] == ["history"]
    ff = obj["hypotheses"]["history"]["frozen_fit"]
    assert ff["before_record"] is True and ff["label"] == "frozen fit on ICB 1918–1989, not chosen knowing 2022"
    assert obj["hypotheses"]["combined"]["frozen_fit"] is None
    assert {n["path"] for n in ff["numbers"]} == {f"flashpoints[{f}].{k}" for f in ("UA", "TW", "BY-PL")
                                                  for k in ("base_hazard_m", "beta.rung", "escalation.down_m")}
    paths = obj["forecast_paths"]
    assert set(paths) == {"history", "combined"} and paths["combined"] == obj["forecast_path"]
    hits = {r["date"]: round(r["p"] * 200) for r in paths["history"]["path"]}
    assert hits == PINNED_HISTORY_HITS
    md = rep.read_text(encoding="utf-8")
    assert "## Out of sample: the forecast of 2022 whose numbers were not chosen knowing 2022" in md
    assert "*frozen fit on ICB 1918–1989, not chosen knowing 2022*" in md
    assert "| `flashpoints[UA].beta.rung` | icb_engine / without_trigger: beta_rung | 9.31619 | 1.45 |" in md
    assert "| `flashpoints[UA].escalation.down_m` | icb_engine / without_trigger: escalation_down_m × 2 | 0.7 | 0.0918 |" in md
    lik = {r["hypothesis"]: r for r in obj["likelihood_table"]}
    assert "| history (out of sample) | frozen fit on ICB 1918–1989, not chosen knowing 2022 |" in md
    assert ("0 (< 0.0149, 95 %)" if lik["history"]["hits"] == 0 else f"({lik['history']['hits']} runs)") in md
    html = crisis_report(obj)
    assert "frozen fit on ICB 1918–1989, not chosen knowing 2022" in html and 'id="out-of-sample"' in html


#: Hits out of 200 runs (seed 11) of "war in Ukraine started by Russia before 2023" under
#: `history`, as of each date of the record's forecast question.
PINNED_HISTORY_HITS = {"2021-12-01": 0, "2022-01-18": 1, "2022-02-13": 2, "2022-02-19": 7}


@pytest.mark.slow   # the command writes both reports, with the PNG export (~10–30 s)
def test_detente_run_prints_the_out_of_sample_line(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from detente.cli import app

    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(app, ["run", "seesaw-2021", "-H", "history", "-H", "combined", "--runs", "20",
                                 "--mechanisms", "none", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    line = next(ln for ln in r.output.splitlines() if ln.startswith("history: "))
    assert "frozen fit on ICB 1918–1989, not chosen knowing 2022 (9 numbers from icb_engine.json)" in line
    assert "P(war at UA by RU before 2023-01-01) as of 2021-12-01 " in line
    assert not any(ln.startswith("combined: ") for ln in r.output.splitlines())


@pytest.mark.slow   # a crisis run, the web app and its page (~10–15 s)
def test_the_web_run_page_labels_the_out_of_sample_hypothesis(tmp_path, monkeypatch):
    from fastapi.testclient import TestClient

    from detente.cli.crisis_run import crisis_run
    from detente.report.stored import save_crisis
    from detente.store import Store
    from detente.web.app import WebConfig, create_app

    monkeypatch.setenv("DETENTE_HOME", str(tmp_path / "home"))
    obj, _ = crisis_run("seesaw-2021", hypotheses=["history", "combined"], runs=20, seed=2, out_dir=None,
                        mechanisms="none", cf_runs=4)
    rid = save_crisis(Store(tmp_path / "store"), obj)
    (tmp_path / "lib").mkdir()
    app = create_app(WebConfig(library_dir=tmp_path / "lib", store_root=tmp_path / "store"))
    with TestClient(app) as c:
        page = c.get(f"/runs/{rid}").text
    row = page[page.index('id="likelihood-table"'):]
    row = row[:row.index("</table>")]
    assert '<td class="name">history<br><span class="muted frozen-fit">frozen fit on ICB 1918–1989, not chosen ' \
           'knowing 2022</span></td>' in row
    assert '<td class="name">combined</td>' in row


def test_a_set_value_replaces_a_fit_number_with_a_labelled_assumption():
    dyn = examples.load("seesaw-2021").dynamics
    for path in ("flashpoints[UA].beta.rung.value", "flashpoints[UA].beta.rung"):
        spec = load_spec(dyn, hypothesis="history", extra={path: 2.5})
        n = spec.flashpoints[0].beta.rung
        assert n.value == 2.5 and n.fit is None and n.assumption is not None and n.assumption.note == "set by --set"
        assert spec.flashpoints[1].beta.rung.fit is not None          # TW keeps the fitted number


def test_detente_validate_checks_the_hypotheses_of_a_crisis_scenario(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from detente.cli import app

    monkeypatch.setenv("COLUMNS", "250")
    p, line = _bad_history_file(tmp_path, "coefficient: beta_rung}}", "coefficient: beta_rungg}}")
    bad = CliRunner().invoke(app, ["validate", str(p), "--json"])
    assert bad.exit_code == 2, bad.output
    probs = json.loads(bad.stdout)["problems"]
    assert len(probs) == 3 and {(q["file"], q["line"], q["value"]) for q in probs} == {
        (str(p), line, "icb_engine/without_trigger/beta_rungg")}
    good = CliRunner().invoke(app, ["validate", str(examples.path("seesaw-2021"))])
    assert good.exit_code == 0 and "valid" in good.output


# ------------------------------------------------------------------ delta-method SEs from the stored covariance
def test_hazard_floor_se_is_the_delta_method_from_the_stored_covariance(tmp_path, monkeypatch):
    """Hand-made record: 2 standardised slopes (ratio standardised, rivalry raw) and a known covariance."""
    names = ["alpha_violence", "alpha_war", "beta_ratio", "beta_trend", "beta_rivalry", "beta_mids", "beta_rung"]
    cov = np.diag([0.04, 0.09, 0.01, 0.0, 0.25, 0.0, 1.0])
    cov[1, 2] = cov[2, 1] = -0.02
    cov[1, 4] = cov[4, 1] = 0.03
    rec = {"provenance": {"train": {"first_year": 1918, "last_year": 1989, "crises": 10},
                          "standardisation": {"log_cinc_ratio": {"mean": 0.5, "sd": 2.0},
                                              "trend_gap_m": {"mean": 0.0, "sd": 1.0},
                                              "log1p_prior_mids": {"mean": 1.0, "sd": 0.5}}},
           "variants": {"without_trigger": {
               "theta_standardised": dict.fromkeys(names, 0.0), "se_standardised": dict(zip(names, np.sqrt(np.diag(cov)))),
               "covariance_standardised": {"names": names, "matrix": cov.tolist()},
               "coefficients": {"beta_log_cinc_ratio": 0.3, "beta_trend_gap": 0.0, "beta_rivalry": 0.2,
                                "beta_log1p_mids": 0.0, "log_base_violence_m": -5.0, "log_base_war_m": -7.0,
                                "beta_rung": 1.0, "escalation_down_m": 0.5}}}}
    (tmp_path / "toy.json").write_text(json.dumps(rec), encoding="utf-8")
    monkeypatch.setattr(F, "FITS_DIR", tmp_path)
    fit = F.load_fit("toy")
    x = {"log_cinc_ratio": 2.5, "trend_gap_m": 0.0, "rivalry": 1, "log1p_prior_mids": 1.0}
    n = fit.number("without_trigger", hazard="war", features=x, scale=2.0, scale_note="test")
    # by hand: g = (α_war 1, β_ratio z=(2.5-0.5)/2=1, β_rivalry 1, β_mids z=0):
    # Var = 0.09 + 0.01 + 0.25 + 2(−0.02) + 2(0.03) + 0 = 0.37
    h = math.exp(-7.0 + 0.3 * 2.5 + 0.2)
    assert n.value == pytest.approx(2 * h, rel=1e-12)
    assert n.se == pytest.approx(2 * h * math.sqrt(0.37), rel=1e-12)
    assert "delta method" in n.source
    # the raw intercept: z = −mean/SD = −0.25 on β_ratio, −2 on β_mids (variance 0), 0 on rivalry
    se, how = fit.se_of("without_trigger", "log_base_war_m")
    assert se == pytest.approx(math.sqrt(0.09 + 0.0625 * 0.01 + 2 * (-0.25) * (-0.02)), rel=1e-12)
    assert "delta method" in how
    # without a stored covariance: not available, as before
    del rec["variants"]["without_trigger"]["covariance_standardised"]
    (tmp_path / "toy.json").write_text(json.dumps(rec), encoding="utf-8")
    fit = F.load_fit("toy")
    assert fit.number("without_trigger", hazard="war", features=x).se is None
    assert fit.se_of("without_trigger", "log_base_war_m")[0] is None
