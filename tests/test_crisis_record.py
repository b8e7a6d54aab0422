"""The scenario's own record and its scoring as a likelihood (issue 15, docs/crisis.md "Back-test").

Hand-computed values on a four-run result; the record block's validation (an event the
engine cannot simulate is named); a facts file read relative to the scenario file; a
scenario without a record; labels taken from the scenario.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from detente import examples
from detente.crisis import record as R
from detente.crisis.result import CrisisResult
from detente.crisis.spec import load_spec
from detente.errors import InputError

START = dt.date(2021, 12, 1)


def _hand() -> CrisisResult:
    """Four runs, monthly steps Dec 2021 … Mar 2022, flashpoints UA, TW, BY-PL.

    run 0: first war at UA in Feb 2022 (step 2) started by RU; run 1: war at UA in Mar 2022
    started by RU; run 2: war at TW in Jan 2022 started by CN, RU–CN split in Dec 2021, an
    agreement on track T in Jan 2022; run 3: nothing.
    """
    me = (dt.date(2021, 12, 31), dt.date(2022, 1, 31), dt.date(2022, 2, 28), dt.date(2022, 3, 31))
    onset = np.array([[2, -1, -1], [3, -1, -1], [-1, 1, -1], [-1, -1, -1]], np.int16)
    init = np.array([[1, -1, -1], [1, -1, -1], [-1, 2, -1], [-1, -1, -1]], np.int8)
    return CrisisResult(
        scenario="hand", hypothesis=None, runs=4, root_seed=0, chunk_size=4, step="month", dt_months=1.0,
        actors=("US", "RU", "CN", "UA"), flashpoints=("UA", "TW", "BY-PL"), tracks=("T",), dyads=(), directions=(),
        involves={"UA": ("RU", "UA"), "TW": ("CN", "TW", "US"), "BY-PL": ("RU", "BY", "PL")},
        triangle=("US", "RU", "CN"), russia="RU", step_end=me, month_ends=me, month_end_step=(0, 1, 2, 3),
        onset_step=onset, onset_initiator=init, onset_cause=np.where(onset >= 0, 0, -1).astype(np.int8),
        first_step=np.array([2, 3, 1, -1], np.int16), first_flashpoint=np.array([0, 0, 1, -1], np.int8),
        first_initiator=np.array([1, 1, 2, -1], np.int8), split_step=np.array([-1, -1, 0, -1], np.int16),
        agree_step=np.array([[-1], [-1], [1], [-1]], np.int16), hazard=None, rc_alignment=None, configuration=None,
        diagnostics={}, params={}, input_hash="", version="test")


def _obs(**kw):
    base = {"window": ["2021-12-01", "2022-02-28"], "cutoff": "2021-12-01", "war": True,
            "onset": {"date": "2022-02-24", "precision": "day"}, "flashpoint": "UA", "initiator": "RU",
            "events": [{"kind": "split", "happened": False, "by": "2022-02-28", "track": None}],
            "focal": {"actor": "RU", "horizon_months": 4, "label": "RU: 4 months"}, "reference": None}
    base.update(kw)
    return base


def test_likelihood_of_the_observed_onset_month_place_and_initiator():
    bt, hist = R.score(_hand(), _obs(), START)
    # only run 0 has its first war in Feb 2022, at UA, by RU, without a split
    assert hist.tolist() == [True, False, False, False]
    lik = bt["likelihood"]
    assert lik["p"] == 0.25 and lik["hits"] == 1 and bt["p_record"] == 0.25
    assert lik["se"] == pytest.approx(math.sqrt(0.25 * 0.75 / 4), abs=1e-15)
    assert lik["log"] == pytest.approx(math.log(0.25), abs=1e-15)
    assert lik["log_se"] == pytest.approx(math.sqrt(0.75 / (4 * 0.25)), abs=1e-15)   # delta method
    assert bt["components"]["onset"]["p"] == 0.25
    # per-event view (by the window's end, 2022-02-28): run 0 UA/RU; run 2 TW/CN and a split
    assert bt["events"] == {"war_ru": 0.25, "war_at_UA": 0.25, "war_at_TW": 0.25, "war_at_BY-PL": 0.0,
                            "initiator_RU": 0.25, "no_ru_cn_split": 0.75}
    assert bt["outcomes"] == {"war_ru": 1, "war_at_UA": 1, "war_at_TW": 0, "war_at_BY-PL": 0, "initiator_RU": 1,
                              "no_ru_cn_split": 1}
    assert bt["brier"] == pytest.approx((0.5625 * 3 + 0.0625 + 0 + 0.0625) / 6, abs=1e-15)
    want = (3 * math.log(0.25) + 2 * math.log(0.75) + math.log(1 - 1e-4)) / 6
    assert bt["log_score"] == pytest.approx(want, abs=1e-15)
    assert bt["worst_event"] == "war_ru"


def test_the_onset_precision_widens_the_steps_that_match():
    # known only to the year 2022: steps Jan, Feb, Mar 2022 → runs 0, 1 (UA, RU) and 2 (TW, CN)
    bt, hist = R.score(_hand(), _obs(onset={"date": "2022-02-24", "precision": "year"}, events=[]), START)
    assert bt["components"]["onset"]["p"] == 0.75
    assert bt["components"]["onset_place"]["p"] == 0.5
    assert bt["components"]["onset_place_initiator"]["p"] == 0.5
    assert hist.tolist() == [True, True, False, False]
    # known to the month: the Feb 2022 step only
    bt, _ = R.score(_hand(), _obs(onset={"date": "2022-02-03", "precision": "month"}, events=[]), START)
    assert bt["components"]["onset"]["p"] == 0.25
    # a wrong initiator: nobody reproduces the history, and the upper bound replaces the log
    bt, _ = R.score(_hand(), _obs(initiator="UA", events=[]), START)
    assert bt["likelihood"]["hits"] == 0 and bt["likelihood"]["log"] is None
    assert bt["likelihood"]["upper"] == pytest.approx(1 - 0.05 ** 0.25, abs=1e-15)


def test_a_record_without_war_and_with_an_agreement():
    obs = _obs(window=["2021-12-01", "2022-01-31"], war=False, onset=None, flashpoint=None, initiator=None,
               events=[{"kind": "agreement", "track": "T", "happened": False, "by": "2022-01-31"}])
    bt, hist = R.score(_hand(), obs, START)
    # no war in Dec–Jan: runs 0, 1, 3 (run 2 has one in Jan); no agreement on T: not run 2
    assert hist.tolist() == [True, True, False, True]
    assert bt["components"]["no_war"]["p"] == 0.75
    assert bt["events"]["no_agreement_T"] == 0.75 and bt["outcomes"]["no_agreement_T"] == 1
    assert bt["outcomes"]["war_ru"] == 0 and bt["outcomes"]["initiator_RU"] == 0
    obs["events"][0]["happened"] = True
    bt, hist = R.score(_hand(), obs, START)
    assert hist.tolist() == [False, False, False, False]   # the run with the agreement had a war
    assert bt["events"]["agreement_T"] == 0.25


def test_log_ratio_with_the_paired_delta_method_se():
    h = np.array([1, 0, 0, 0], bool)
    ref = np.array([1, 1, 0, 0], bool)
    lr = R.log_ratio(h, ref)
    assert lr["value"] == pytest.approx(math.log(0.25 / 0.5), abs=1e-15)
    # d = x_h/0.25 − x_ref/0.5 = [2, −2, 0, 0]: mean 0, sd (ddof 1) √(8/3), SE = sd/2
    assert lr["se"] == pytest.approx(math.sqrt(8 / 3) / 2, abs=1e-15)
    assert R.log_ratio(np.zeros(4, bool), ref) == {"value": None, "se": None}


@pytest.mark.parametrize("value,se,want", [(-4.0, 0.4, "rejected"), (-2.0, 0.4, "kept"), (-3.0, 0.4, "undecided"),
                                           (-math.log(20) - 0.4, 0.2 + 1e-3, "undecided"),
                                           (-math.log(20) - 0.4, 0.2 - 1e-3, "rejected"),
                                           (-math.log(20) + 0.4, 0.2 + 1e-3, "undecided"),
                                           (-math.log(20) + 0.4, 0.2 - 1e-3, "kept")])
def test_verdict_rule(value, se, want):
    # threshold ln 20 = 2.996: rejected when value + 2 SE < −2.996, kept when value − 2 SE > −2.996
    lik = {"log": -1.0, "log_se": 0.1, "upper": None}
    assert R.verdict({"value": value, "se": se}, lik, lik)["verdict"] == want


def test_verdict_when_no_run_reproduces_the_record():
    ref = R.likelihood(np.r_[np.ones(80, bool), np.zeros(320, bool)])     # 0.2 ± log-SE 0.1
    assert ref["log_se"] == pytest.approx(math.sqrt(0.8 / 80), abs=1e-15)
    none = R.likelihood(np.zeros(400, bool))
    v = R.verdict({"value": None, "se": None}, none, ref)
    # upper end: log(1 − 0.05^(1/400)) − (log 0.2 − 2·0.1) = −4.898 + 1.809 < −2.996
    assert v["hi"] == pytest.approx(math.log(1 - 0.05 ** (1 / 400)) - (math.log(0.2) - 0.2), abs=1e-12)
    assert v["verdict"] == "rejected" and v["lo"] is None
    few = R.likelihood(np.zeros(40, bool))          # 40 runs cannot tell: the bound is 0.072
    assert R.verdict({"value": None, "se": None}, few, ref)["verdict"] == "undecided"


def test_event_score_and_its_standard_errors():
    e = R.event_score(np.array([1, 1, 0, 0], bool), 1)
    assert (e["p"], e["p_se"], e["brier"]) == (0.5, 0.25, 0.25)
    assert e["brier_se"] == pytest.approx(2 * 0.5 * 0.25, abs=1e-15)
    assert e["log"] == pytest.approx(math.log(0.5)) and e["log_se"] == pytest.approx(0.5)
    e = R.event_score(np.array([1, 0, 0, 0], bool), 0)
    assert e["brier"] == 0.0625 and e["log"] == pytest.approx(math.log(0.75))


def test_compare_against_the_reference_and_fallback():
    res = _hand()
    bt_a, h_a = R.score(res, _obs(), START)
    bt_b, h_b = R.score(res, _obs(onset={"date": "2022-02-24", "precision": "year"}, events=[]), START)
    blocks = {"a": bt_a, "b": bt_b}
    assert R.compare(blocks, {"a": h_a, "b": h_b}, "a") == "a"
    assert blocks["a"]["verdict"] == "reference" and blocks["a"]["log_lr"] == 0.0
    assert blocks["b"]["log_lr"] == pytest.approx(math.log(0.5 / 0.25))
    assert blocks["b"]["verdict"] == "kept" and not blocks["b"]["rejected"]
    # a reference that was not run: the hypothesis with the highest likelihood
    assert R.compare(blocks, {"a": h_a, "b": h_b}, "missing") == "b"


# ------------------------------------------------------------------ the record block
def _flagship_dyn() -> dict:
    return dict(examples.load("seesaw-2021").dynamics)


def test_an_event_the_engine_cannot_simulate_is_named():
    dyn = _flagship_dyn()
    dyn["record"] = {**dyn["record"], "events": [{"kind": "annexation"}]}
    with pytest.raises(InputError) as ei:
        load_spec(dyn)
    text = str(ei.value)
    assert "'annexation'" in text and "cannot simulate" in text and "dynamics.record.events.0" in text


def test_a_rung_event_is_accepted_within_the_ladder_and_named_above_it():
    dyn = _flagship_dyn()
    dyn["record"] = {**dyn["record"], "events": [{"kind": "rung", "flashpoint": "UA", "rung": 3}]}
    ev = load_spec(dyn).record.events[0]
    assert (ev.kind, ev.flashpoint, ev.rung, ev.happened) == ("rung", "UA", 3, True)
    top = load_spec(_flagship_dyn()).flashpoints[0].escalation.rungs
    dyn["record"] = {**dyn["record"], "events": [{"kind": "split", "happened": False},
                                                 {"kind": "rung", "flashpoint": "UA", "rung": top}]}
    with pytest.raises(InputError) as ei:
        load_spec(dyn)
    assert f"record.events.1.rung: {top} is not a rung of UA (0–{top - 1})" in str(ei.value)
    dyn["record"] = {**dyn["record"], "events": [{"kind": "rung", "rung": 2}]}
    with pytest.raises(InputError) as ei:
        load_spec(dyn)
    assert "'rung' needs `flashpoint:` and `rung:`" in str(ei.value) and "dynamics.record.events.0" in str(ei.value)


@pytest.mark.parametrize("patch,needle", [
    ({"flashpoint": "XX"}, "record.flashpoint: unknown flashpoint 'XX'"),
    ({"initiator": "ZZ"}, "record.initiator: unknown actor 'ZZ'"),
    ({"reference": "nope"}, "record.reference: unknown hypothesis 'nope'"),
    ({"onset": {"date": "2023-01-05"}}, "outside the window"),
    ({"window": ["2022-03-01", "2022-01-01"]}, "after end"),
])
def test_record_references_are_checked(patch, needle):
    dyn = _flagship_dyn()
    dyn["record"] = {**dyn["record"], **patch}
    with pytest.raises(InputError) as ei:
        load_spec(dyn)
    assert needle in str(ei.value)


def _write_scenario(folder: Path, record: dict | None) -> Path:
    doc = yaml.safe_load(examples.path("seesaw-2021").read_text(encoding="utf-8"))
    if record is None:
        doc["dynamics"].pop("record")
    else:
        doc["dynamics"]["record"] = record
    doc["dynamics"]["claims"] = []
    p = folder / "scn.yaml"
    p.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return p


def test_facts_file_is_read_relative_to_the_scenario_file(tmp_path, monkeypatch):
    from detente.cli.crisis_run import crisis_run

    sub = tmp_path / "scen"
    sub.mkdir()
    (sub / "facts").mkdir()
    fixture = Path(__file__).parent / "fixtures" / "record_facts.csv"
    (sub / "facts" / "t.csv").write_text(fixture.read_text(encoding="utf-8"), encoding="utf-8")
    p = _write_scenario(sub, {"window": ["2021-12-01", "2022-02-28"], "facts": "facts/t.csv", "war": True,
                              "focal": {"actor": "RU", "label": "the focal months"}})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    obj, rep = crisis_run(str(p.resolve()), hypotheses=["combined"], runs=40, out_dir=elsewhere / "rep",
                          mechanisms="none")
    rec = obj["record"]
    # the fixture's war_onset row: 2022-01 (month precision), actors "RU;UA" → initiator RU, flashpoint UA
    assert rec["onset"] == {"date": "2022-01-01", "precision": "month"}
    assert (rec["initiator"], rec["flashpoint"]) == ("RU", "UA")
    assert Path(rec["facts"]) == (sub / "facts" / "t.csv").resolve() and obj["timeline"] == rec["facts"]
    text = rep.read_text(encoding="utf-8")
    assert "## the focal months" in text and "read from t.csv" in text
    # a missing facts file is an input error naming it
    p2 = _write_scenario(sub, {"window": ["2021-12-01", "2022-02-28"], "facts": "facts/none.csv"})
    with pytest.raises(InputError) as ei:
        crisis_run(str(p2), hypotheses=["combined"], runs=4, out_dir=None, mechanisms="none")
    assert "none.csv" in str(ei.value) and "record.facts" in str(ei.value)


def test_a_scenario_without_a_record_runs_and_scores_nothing(tmp_path):
    from detente.crisis.analysis import run_hypotheses
    from detente.formats import load
    from detente.report.crisis import write_report

    scn = load(_write_scenario(tmp_path, None))
    obj = run_hypotheses(scn, hypotheses=["combined"], runs=20, with_counterfactuals=False)
    assert obj["record"] is None and obj["backtest_end"] is None
    assert obj["hypotheses"]["combined"]["backtest"] is None
    assert obj["backtest_table"] == [] and obj["likelihood_table"] == [] and obj["rejected_by_record"] == []
    assert "p_war_by_end" not in obj["hypotheses"]["combined"]["outputs"]
    text = write_report(obj, tmp_path / "rep", figures=False).read_text(encoding="utf-8")
    assert "declares no record" in text and "2022-02-28" not in text.split("## Where")[0]


def test_labels_come_from_the_scenario(tmp_path):
    from detente.cli.crisis_run import crisis_run

    obj, rep = crisis_run("seesaw-2021", hypotheses=["combined"], runs=20, out_dir=tmp_path, mechanisms="none",
                          sets=['record.focal.label="Moscow\'s horizon"', "record.focal.horizon_months=24",
                                "record.window=[\"2021-12-01\", \"2022-03-31\"]"])
    text = rep.read_text(encoding="utf-8")
    assert "## Moscow's horizon" in text and "Russia's 48 months" not in text
    assert "Back-test against 2021-12-01 – 2022-03-31" in text and "P(war by 2022-03-31)" in text
    assert obj["focal"] == {"actor": "RU", "horizon_months": 24, "label": "Moscow's horizon"}
    assert obj["hypotheses"]["combined"]["focal"]["horizon_months"] == 24


def test_no_flagship_literal_in_the_backtest_and_report_code():
    root = Path(R.__file__).resolve().parent.parent
    for rel in ("crisis/record.py", "crisis/analysis.py", "report/crisis.py"):
        src = (root / rel).read_text(encoding="utf-8")
        for lit in ('"2022', "'2022", '"RU"', "'RU'", '"UA"', "Russia", "48 months"):
            assert lit not in src, (rel, lit)


@pytest.mark.slow
def test_flagship_verdicts_agree_at_400_2000_and_20000_runs_or_are_undecided():
    """Issue 15: the old rule (P(record) < 0.01) kept base_rates at 400 runs and rejected it at
    1,000–20,000. A verdict reached at one number of runs must not flip at another (~2 min)."""
    from detente.crisis.analysis import run_hypotheses

    scn = examples.load("seesaw-2021")
    by_n = {n: {r["hypothesis"]: r["verdict"] for r in
                run_hypotheses(scn, runs=n, with_counterfactuals=False)["likelihood_table"]}
            for n in (400, 2000, 20000)}
    for h in by_n[400]:
        decided = {by_n[n][h] for n in by_n} - {"undecided"}
        assert len(decided) <= 1, (h, {n: by_n[n][h] for n in by_n})
    assert by_n[20000]["combined"] == "reference"
    # 20,000 runs decide the hypothesis that lets no Russian-initiated war happen
    assert by_n[20000]["article"] == "rejected"


# ------------------------------------------------------------------ forecasts as of a date
def test_as_of_overrides_start_from_the_records_state():
    from detente.crisis.analysis import as_of_overrides

    spec = load_spec(_flagship_dyn())
    obs = R.observed(spec)
    over, st = as_of_overrides(spec, obs, dt.date(2022, 2, 19), dt.date(2022, 12, 31))
    # Feb → Dec 2022: 11 month ends; the record's state of 2022-02-19 puts Ukraine on rung 4
    assert over == {"settings.start": "2022-02-19", "settings.horizon_months": 11,
                    "flashpoints[UA].escalation.start_rung": 4}
    over, st = as_of_overrides(spec, obs, dt.date(2022, 2, 1), dt.date(2022, 12, 31))
    assert over["flashpoints[UA].escalation.start_rung"] == 3 and st["date"] == "2022-01-18"
    with pytest.raises(InputError, match="before the scenario's start"):
        as_of_overrides(spec, obs, dt.date(2021, 11, 1), dt.date(2022, 12, 31))
    with pytest.raises(InputError, match="not before the question's date"):
        as_of_overrides(spec, obs, dt.date(2023, 1, 5), dt.date(2022, 12, 31))


def test_forecast_path_of_the_flagship_next_to_the_crowd():
    from detente.crisis.analysis import run_hypotheses

    scn = examples.load("seesaw-2021")
    assert run_hypotheses(scn, hypotheses=["combined"], runs=4, with_counterfactuals=False)["forecast_path"] is None
    obj = run_hypotheses(scn, hypotheses=["combined"], runs=40, with_counterfactuals=False,
                         as_of=[dt.date(2022, 2, 23)])
    fp = obj["forecast_path"]
    assert fp["hypothesis"] == "combined" and fp["outcome"] == 1 and fp["before"] == "2023-01-01"
    path = {r["date"]: r for r in fp["path"]}
    assert list(path) == ["2021-12-01", "2022-01-18", "2022-02-13", "2022-02-19", "2022-02-23"]
    assert [path[d]["crowd"] for d in list(path)[:4]] == [0.40, 0.50, 0.60, 0.79]
    assert path["2022-02-23"]["crowd"] is None and path["2022-02-23"]["crowd_brier"] is None
    for r in fp["path"]:
        assert r["brier"] == pytest.approx((r["p"] - 1) ** 2)
        assert r["se"] == pytest.approx(math.sqrt(r["p"] * (1 - r["p"]) / 39), rel=1e-9)   # sd (ddof 1)/√n
    assert path["2022-02-19"]["crowd_brier"] == pytest.approx(0.21 ** 2)
    assert path["2022-02-19"]["start_rungs"] == {"UA": 4} and path["2021-12-01"]["horizon_months"] == 13


def test_as_of_without_a_forecast_question_or_with_a_bad_date(tmp_path):
    from detente.cli.crisis_run import crisis_run

    p = _write_scenario(tmp_path, {"window": ["2021-12-01", "2022-02-28"], "war": False})
    with pytest.raises(InputError, match="needs a forecast question"):
        crisis_run(str(p), hypotheses=["combined"], runs=4, out_dir=None, mechanisms="none", as_of=["2022-01-01"])
    with pytest.raises(InputError, match="not a date"):
        crisis_run("seesaw-2021", hypotheses=["combined"], runs=4, out_dir=None, mechanisms="none", as_of=["Jan 5"])


def test_the_focal_actor_comes_from_the_scenario():
    dyn = _flagship_dyn()
    dyn["settings"] = {k: v for k, v in dyn["settings"].items() if k != "russia"}
    assert load_spec(dyn).settings.russia == "RU"                      # the record's focal actor
    dyn["record"] = {k: v for k, v in dyn["record"].items() if k != "focal"}
    dyn["triangle"] = {**dyn["triangle"], "actors": ["US", "CN", "RU"]}
    assert load_spec(dyn).settings.russia == "CN"                      # else the triangle's first partner
    dyn = _flagship_dyn()
    dyn["record"] = {**dyn["record"], "focal": {"actor": "CN"}}
    with pytest.raises(InputError, match=r"differs from settings.russia"):
        load_spec(dyn)
    dyn = _flagship_dyn()
    dyn["settings"] = {**dyn["settings"], "russia": "XX"}
    dyn["record"] = {k: v for k, v in dyn["record"].items() if k != "focal"}
    with pytest.raises(InputError, match=r"settings.russia: unknown actor 'XX'"):
        load_spec(dyn)


# ------------------------------------------------------------------ rung reached (hand values)
def test_rung_events_scored_from_the_first_step_of_each_rung():
    import dataclasses
    # UA (index 0) has 5 rungs, start rung 1: run 0 reaches rung 3 in Jan 2022 (step 1), run 1 in
    # Mar 2022 (step 3), runs 2 and 3 never; run 2 reaches rung 2 in Dec 2021 (step 0)
    rs = np.full((4, 3, 5), -1, np.int16)
    rs[:, :, :2] = 0
    rs[0, 0, 2:4] = (0, 1)
    rs[1, 0, 2:4] = (2, 3)
    rs[2, 0, 2] = 0
    res = dataclasses.replace(_hand(), rung_step=rs)
    ev3 = {"kind": "rung", "flashpoint": "UA", "rung": 3, "happened": True, "by": "2022-02-28", "track": None}
    assert R._event_runs(ev3, res, START).tolist() == [True, False, False, False]
    # by 2022-01-15: the January step (starts 2022-01-01) counts, as for the other events
    assert R._event_runs({**ev3, "by": "2022-01-15"}, res, START).tolist() == [True, False, False, False]
    assert R._event_runs({**ev3, "by": "2021-12-31"}, res, START).tolist() == [False] * 4
    ev2 = {**ev3, "rung": 2, "by": "2021-12-31"}
    assert R._event_runs(ev2, res, START).tolist() == [True, False, True, False]
    # the start rung is reached from the outset; "did not happen" is the complement
    assert R._event_runs({**ev3, "rung": 1}, res, START).all()
    assert R._event_runs({**ev3, "happened": False}, res, START).tolist() == [False, True, True, True]
    # scored like the other events: in the likelihood and in the per-event table
    # run 0 is the only run with the observed onset (Feb, UA, RU), and it did reach rung 3
    bt, hist = R.score(res, _obs(events=[ev3]), START)
    assert hist.tolist() == [True, False, False, False] and bt["p_record"] == 0.25
    assert bt["event_scores"]["rung_UA_3_by_2022-02-28"]["p"] == 0.25
    bt, hist = R.score(res, _obs(events=[{**ev3, "happened": False}]), START)
    assert bt["likelihood"]["hits"] == 0 and bt["event_scores"]["no_rung_UA_3_by_2022-02-28"]["p"] == 0.75
    bt, hist = R.score(res, _obs(events=[ev2]), START)
    assert hist.tolist() == [True, False, False, False] and bt["p_record"] == 0.25
    t = bt["event_scores"]["rung_UA_2_by_2021-12-31"]
    assert t["p"] == 0.5 and t["outcome"] == 1 and t["brier"] == 0.25
    assert t["p_se"] == pytest.approx(math.sqrt(0.25 / 4)) and t["brier_se"] == pytest.approx(1.0 * math.sqrt(0.25 / 4))
    from detente.report.crisis import event_label
    assert event_label("no_rung_BY-PL_3_by_2022-01-31") == "BY-PL did not reach rung 3 by 2022-01-31"
