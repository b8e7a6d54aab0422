"""Review regressions of the crisis engine: overrides that must take effect, report text
read from the run object, and bad numbers rejected as invalid input (not internal errors)."""

from __future__ import annotations

import pytest

from detente import examples
from detente.crisis import CrisisParams, load_spec
from detente.crisis.engine import compile_spec
from detente.crisis.spec import resolve


@pytest.fixture(scope="module")
def scn():
    return examples.load("seesaw-2021")


@pytest.mark.parametrize("path", ["flashpoints[UA].base_hazard_m.value", "flashpoints[UA].base_hazard_m"])
def test_set_value_of_calibrated_number_takes_effect(scn, path):
    """`--set X.value=v` on a calibrated number used to be ignored (the calibration file won)."""
    c = compile_spec(load_spec(scn.dynamics, extra={path: 0.003}), CrisisParams())
    assert c.fixed["flashpoints[UA].base_hazard_m"] == 0.003
    assert not any(p == "flashpoints[UA].base_hazard_m" for p, _, _ in c.drawn)


def test_set_value_of_drawn_number_takes_effect(scn):
    """`X.value=v` on a per-run drawn number used to be ignored (every run drew from the range)."""
    path = "dyads[US-CN].beliefs.0.cliff.size"
    spec = load_spec(scn.dynamics, extra={path + ".value": 0.2})
    c = compile_spec(spec, CrisisParams())
    assert path not in [p for p, _, _ in c.drawn]
    assert c.fixed[path] == 0.2
    num = spec.dyads[0].beliefs[0].cliff.size
    assert resolve(num) == 0.2 and "--set" in num.assumption.note


@pytest.mark.parametrize("path,value", [
    ("settings.delta_annual", 1.0),            # ZeroDivisionError before
    ("policies.seesaw.period_months", 0.0),    # ZeroDivisionError
    ("followers.UK.lag_mean_m", 0.0),          # ZeroDivisionError
    ("alliances.0.lag_mean_m", 0.0),           # ZeroDivisionError
    ("flashpoints[UA].base_hazard_m", -1.0),   # NaN hazards, then a traceback in the JSON writer
    ("triangle.belief_prior", 2.0),            # silently nonsense
    ("tracks[SSD].obstinate.US", 1.5),
    ("actors.US.capability", 0.0),
])
def test_numbers_outside_their_domain_are_invalid_input(scn, path, value):
    from detente.crisis import run
    from detente.errors import InputError

    with pytest.raises(InputError) as ei:
        run(scn, {"runs": 4, "horizon_months": 2, "set": {path: value}}, seed=1)
    assert path in str(ei.value)


def test_drawn_range_outside_the_domain_is_invalid_input(scn):
    from detente.errors import InputError

    bad = {"value": 0.5, "assumption": {"range": [0.2, 1.4], "draw": "uniform"}}
    with pytest.raises(InputError, match=r"policies.stall.postpone_prob: assumption range 1.4"):
        load_spec(scn.dynamics, extra={"policies.stall.postpone_prob": bad})


def test_cli_bad_number_exits_2_without_traceback(tmp_path):
    from typer.testing import CliRunner

    from detente.cli import app

    r = CliRunner().invoke(app, ["run", "seesaw-2021", "-n", "4", "--json", "--set",
                                 "flashpoints[UA].base_hazard_m=-1"])
    assert r.exit_code == 2, r.output
    assert "base_hazard_m" in r.output and "Traceback" not in r.output


def test_report_states_the_outcomes_that_were_scored(scn, tmp_path):
    """The report's back-test paragraph used to hard-code the outcomes ([1]/[0]) and the date."""
    from detente.crisis.analysis import run_hypotheses
    from detente.report.crisis import write_report

    # a record without any war (set on the scenario's own record): every war event is scored 0
    obj = run_hypotheses(scn, hypotheses=["combined"], runs=20, seed=3, with_counterfactuals=False,
                         extra_set={"record.war": False, "record.onset": None, "record.flashpoint": None,
                                    "record.initiator": None})
    assert obj["hypotheses"]["combined"]["backtest"]["outcomes"]["war_ru"] == 0
    text = write_report(obj, tmp_path, figures=False).read_text(encoding="utf-8")
    assert "war involving RU [0]" in text and "war at Ukraine / Donbas [0]" in text
    assert "war involving RU [1]" not in text and "no war (use of force) began in the window" in text
    assert f"P(war by {obj['backtest_end']})" in text


@pytest.mark.parametrize("path", ["actors.CN.growth_m", "triangle.stag_hunt.T", "tracks[SSD].meet_prob_m",
                                  "flashpoints[UA].background_initiators.RU", "shocks.0.hazard_mult.TW"])
def test_draw_on_a_number_used_as_one_value_is_refused(scn, path):
    """These numbers enter the engine as one value for all runs (mean or plain value); a per-run
    draw on them used to be accepted and silently had no effect."""
    from detente.crisis import run
    from detente.errors import InputError

    num = {"value": 0.5, "assumption": {"range": [0.0, 1.0], "draw": "uniform"}}
    with pytest.raises(InputError, match="draw: uniform"):
        run(scn, {"runs": 4, "horizon_months": 2, "set": {path: num}}, seed=1)


def test_every_shipped_hypothesis_compiles(scn):
    from detente.crisis.engine import compile_spec

    for h in [None, *scn.dynamics["hypotheses"]]:
        compile_spec(load_spec(scn.dynamics, hypothesis=h), CrisisParams())


def test_dyad_needs_both_war_costs(scn):
    """A missing κ used to fall back to an undocumented 0.1 inside the engine."""
    from detente.errors import InputError

    kappa = dict(scn.dynamics["dyads"][0]["kappa"])
    kappa.pop("CN")
    with pytest.raises(InputError, match=r"dyads.0.kappa: needs the war cost of 'CN'"):
        load_spec(scn.dynamics, extra={"dyads[US-CN].kappa": kappa})


# ------------------------------------------------------------------ CLI error paths
def _cli(args, tmp_path):
    from typer.testing import CliRunner

    from detente.cli import app

    return CliRunner().invoke(app, ["run", *args, "--out", str(tmp_path / "rep")])


def test_cli_missing_hypothesis_file_says_file_not_found(tmp_path):
    missing = tmp_path / "missing.yaml"
    r = _cli(["seesaw-2021", "-n", "4", "--json", "-H", str(missing)], tmp_path)
    assert r.exit_code == 2, r.output
    assert "file not found" in r.output and "missing.yaml" in r.output
    assert "unknown hypothesis" not in r.output and "Traceback" not in r.output


def _scenario_without_hypotheses(tmp_path):
    import yaml

    from detente.examples import path as example_path

    doc = yaml.safe_load(example_path("seesaw-2021").read_text(encoding="utf-8"))
    doc["dynamics"].pop("hypotheses")
    p = tmp_path / "nohyp.yaml"
    p.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return p


def test_scenario_without_hypotheses_runs_its_base_description(tmp_path):
    """Used to end in "internal error: StopIteration" (report) or an empty run."""
    import json

    p = _scenario_without_hypotheses(tmp_path)
    r = _cli([str(p), "-n", "20", "--json", "--mechanisms", "seesaw"], tmp_path)
    assert r.exit_code == 0, r.output
    obj = json.loads(r.stdout)
    assert list(obj["hypotheses"]["base"]["mechanisms"]) == ["seesaw"]
    assert list(obj["hypotheses"]) == ["base"] and "no hypotheses" in obj["hypotheses"]["base"]["label"]
    assert [row["hypothesis"] for row in obj["backtest_table"]] == ["base"]
    r = _cli([str(p), "-n", "20", "--mechanisms", "seesaw"], tmp_path)   # writes the markdown report
    assert r.exit_code == 0, r.output
    assert "StopIteration" not in r.output and "internal error" not in r.output
    assert "**base**" in (tmp_path / "rep" / "seesaw-2021.md").read_text(encoding="utf-8")
    r = _cli([str(p), "-n", "4", "--json", "-H", "combined"], tmp_path)
    assert r.exit_code == 2 and "no hypotheses are declared" in r.output


def test_set_errors_are_not_labelled_with_a_hypothesis(scn):
    from detente.crisis import run
    from detente.errors import InputError

    for hyp in ("combined", None):
        with pytest.raises(InputError) as ei:
            run(scn, {"runs": 4, "horizon_months": 2, "hypothesis": hyp,
                      "set": {"flashpoints[UA].base_hazard_m": -1.0}}, seed=1)
        text = str(ei.value)
        assert "(--set)" in text and "hypothesis" not in text, text
    # an error of the hypothesis itself keeps the hypothesis label, also when --set is given
    dyn = dict(scn.dynamics)
    dyn["hypotheses"] = {**dyn["hypotheses"], "bad": {"label": "bad", "set": {"triangle.belief_prior": 2.0}}}
    with pytest.raises(InputError) as ei:
        load_spec(dyn, hypothesis="bad", extra={"policies.stall.enabled": False})
    assert "(hypothesis 'bad')" in str(ei.value) and "(--set)" not in str(ei.value)


def test_cli_set_error_names_set_not_the_hypothesis(tmp_path):
    r = _cli(["seesaw-2021", "-n", "4", "--json", "-H", "combined", "--set", "flashpoints[UA].base_hazard_m=-1"],
             tmp_path)
    assert r.exit_code == 2, r.output
    assert "(--set)" in r.output and "hypothesis 'combined'" not in r.output


def test_html_report_reads_the_backtest_date_from_the_run_object(scn):
    """The HTML report hard-coded "2022-02-28" for the P(war by …) column (the markdown read it)."""
    import copy

    from detente.crisis.analysis import run_hypotheses
    from detente.report.html import crisis_report

    obj = run_hypotheses(scn, hypotheses=["combined"], runs=20, seed=3, with_counterfactuals=False)
    obj = copy.deepcopy(obj)
    obj["backtest_end"] = "2022-01-31"
    obj["hypotheses"]["combined"]["p_war_by"]["2022-01-31"] = 0.4321
    obj["hypotheses"]["combined"]["p_war_by"]["2022-02-28"] = 0.8765
    import re

    from detente.plotting.export import plotlyjs

    # the tables, not the figures (whose data hold every date of the curve) nor plotly.js
    page = re.sub(r"<figure\b.*?</figure>", "", crisis_report(obj).replace(plotlyjs(), ""), flags=re.S)
    assert "P(war by 2022-01-31)" in page and "P(war by 2022-02-28)" not in page
    assert "0.4321" in page or "0.432" in page
    assert "0.8765" not in page and "0.877" not in page
