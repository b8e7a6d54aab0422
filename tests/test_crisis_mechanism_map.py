"""The mechanism map (common random numbers, paired standard errors, inert reasons) and the
Claims section of the crisis report, on the toy scenario tests/fixtures/crisis/toy-crisis.yaml."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from detente.crisis import run
from detente.crisis.analysis import (
    _verdict,
    declared_mechanisms,
    mean_se,
    mechanism_map,
    output_samples,
    paired_effect,
    run_hypotheses,
)
from detente.crisis.spec import load_spec
from detente.errors import InputError
from detente.formats import load

TOY = Path(__file__).parent / "fixtures" / "crisis" / "toy-crisis.yaml"
SWITCH = {"flashpoints[F].beta.rung": 0}
# the toy's monthly hazard: 3·λ0 with the escalation term, λ0 without (see the fixture's header)
P_WITH = 1 - math.exp(-0.03 * 24)
P_WITHOUT = 1 - math.exp(-0.01 * 24)


@pytest.fixture(scope="module")
def toy():
    return load(TOY)


@pytest.fixture(scope="module")
def toy_obj(toy):
    return run_hypotheses(toy, hypotheses=["live", "calm"], runs=3000, seed=11, keep_results=True,
                          mechanisms=["escalation", "balance", "window"])


def test_paired_se_by_hand():
    w = np.array([1.0, 0.0, 1.0, 1.0])
    wo = np.array([0.0, 0.0, 1.0, 0.0])
    e = paired_effect(w, wo)
    # d = (1, 0, 0, 1): mean 0.5, sample sd sqrt(4·0.25/3) = 0.57735, se = sd/√4
    assert e == pytest.approx({"with": 0.75, "without": 0.25, "diff": 0.5, "se": math.sqrt(1 / 3) / 2})
    # not the unpaired SE sqrt(var(w)/n + var(wo)/n) = 0.3536
    assert abs(e["se"] - math.sqrt(w.var(ddof=1) / 4 + wo.var(ddof=1) / 4)) > 0.05
    m = mean_se(np.array([2.0, 4.0, 6.0]))
    assert m == pytest.approx({"value": 4.0, "se": 2.0 / math.sqrt(3)})
    with pytest.raises(ValueError):
        paired_effect(w, wo[:3])


def test_verdict_rules():
    assert _verdict(0.10, 0.02, ">", 0.0)[0] == "supported"          # 0.06 > 0
    assert _verdict(0.03, 0.02, ">", 0.0)[0] == "undecided"          # [-0.01, 0.07] spans 0
    assert _verdict(-0.05, 0.02, ">", 0.0)[0] == "contradicted"      # hi = -0.01 <= 0
    assert _verdict(0.0, 0.0, ">", 0.0)[0] == "contradicted"         # exactly no effect is not an increase
    assert _verdict(0.02, 0.01, "<", 0.05)[0] == "supported"         # hi = 0.04 < 0.05
    assert _verdict(0.08, 0.01, "<", 0.05)[0] == "contradicted"
    assert _verdict(0.04, 0.01, "<", 0.05)[0] == "undecided"


def test_map_pins_the_known_effect(toy_obj):
    m = toy_obj["hypotheses"]["live"]["mechanisms"]["escalation"]
    e = m["effects"]["p_war_horizon"]
    n = toy_obj["runs"]
    se_with = math.sqrt(P_WITH * (1 - P_WITH) / n)
    se_without = math.sqrt(P_WITHOUT * (1 - P_WITHOUT) / n)
    assert abs(e["with"] - P_WITH) < 4 * se_with
    assert abs(e["without"] - P_WITHOUT) < 4 * se_without
    assert abs(e["diff"] - (P_WITH - P_WITHOUT)) < 4 * e["se"]
    assert m["switch"] == "flashpoints[F].beta.rung = 0" and m["status"] == "measured"
    assert m["inert_reason"] is None
    # the focal actor A is involved in F: its months of peace fall with the escalation term
    mp = m["effects"]["months_of_peace_focal"]
    want = (1 - math.exp(-0.03 * 24)) / 0.03  # E[min(T, 24)] for T ~ Exp(0.03)
    assert mp["with"] == pytest.approx(want, rel=0.05)
    assert mp["diff"] < -5 * mp["se"]


def test_without_run_is_switched_off_with_the_same_seed(toy, toy_obj):
    cache: dict = {}
    base = toy_obj["_results"]["live"]
    mm = mechanism_map(toy, "live", runs=3000, seed=11, base=base, names=["escalation"], cache=cache)
    (alt,) = cache.values()
    assert alt.root_seed == 11 and alt.params["set"] == SWITCH and alt.runs == 3000
    # the engine run with the switch and the same seed, made here independently
    ref = run(toy, {"runs": 3000, "hypothesis": "live", "set": SWITCH, "record_paths": False}, seed=11)
    np.testing.assert_array_equal(alt.first_step, ref.first_step)
    for o, e in mm["escalation"]["effects"].items():
        assert e["without"] == output_samples(ref, o).mean()
        assert e["with"] == output_samples(base, o).mean()
    # the switch is really applied: no war has the escalation cause without it, some have it with it
    assert ref.cause_distribution().get("escalation", 0.0) == 0.0
    assert base.cause_distribution()["escalation"] > 0.5
    # another seed (or the switch left on) would not give these numbers
    other = run(toy, {"runs": 3000, "hypothesis": "live", "set": SWITCH, "record_paths": False}, seed=12)
    assert output_samples(other, "p_war_horizon").mean() != mm["escalation"]["effects"]["p_war_horizon"]["without"]
    assert mm["escalation"]["effects"]["p_war_horizon"]["without"] != output_samples(base, "p_war_horizon").mean()
    # paired SE of the map = the hand formula on the two runs' per-run values
    d = output_samples(base, "p_war_horizon") - output_samples(ref, "p_war_horizon")
    assert mm["escalation"]["effects"]["p_war_horizon"]["se"] == pytest.approx(d.std(ddof=1) / math.sqrt(d.size))


def test_inert_reasons_are_derived(toy_obj):
    calm = toy_obj["hypotheses"]["calm"]["mechanisms"]
    assert calm["escalation"]["status"] == "already_off"
    assert calm["escalation"]["inert_reason"].startswith("switched off in hypothesis 'calm'")
    assert "flashpoints[F].beta.rung = 0" in calm["escalation"]["inert_reason"]
    bal = toy_obj["hypotheses"]["live"]["mechanisms"]["balance"]
    assert bal["status"] == "measured"
    assert all(e["diff"] == 0.0 for e in bal["effects"].values())
    assert "changed no run's history" in bal["inert_reason"]
    assert "reaches nothing the hazards use" in bal["inert_reason"]
    # the regime is described from the run: the toy has no preventive or crisis hazard, only
    # background and escalation parts
    regime = bal["inert_reason"].split("in this regime the hazard parts ")[1]
    assert "preventive" in regime and "crisis" in regime
    assert "background" not in regime and "escalation" not in regime


def test_switch_path_absent_under_a_hypothesis(toy_obj, toy):
    """`window` switches a belief that only the `believer` hypothesis declares: absent elsewhere."""
    live = toy_obj["hypotheses"]["live"]["mechanisms"]["window"]
    assert live["status"] == "absent" and live["absent_paths"] == ["dyads[A-B].beliefs.0.enabled"]
    assert live["inert_reason"].startswith("absent from hypothesis 'live'")
    mm = mechanism_map(toy, "believer", runs=400, seed=2, names=["window"])
    assert mm["window"]["status"] == "measured" and "absent_paths" not in mm["window"]


def test_claims_verdicts(toy_obj):
    cl = {c["id"]: c for c in toy_obj["claims"]}
    esc = cl["escalation_matters"]["by_hypothesis"]
    assert esc["live"]["verdict"] == "supported" and esc["calm"]["verdict"] == "contradicted"
    t = esc["live"]["tests"][0]
    assert t["quantity"] == toy_obj["hypotheses"]["live"]["mechanisms"]["escalation"]["effects"]["p_war_horizon"]["diff"]
    likely = cl["war_likely"]["by_hypothesis"]
    # P(war) with escalation ≈ 0.513: within 2 SE (≈ 0.018) of 0.5, hence undecided; without ≈ 0.213: contradicted
    assert likely["live"]["verdict"] == "undecided" and likely["calm"]["verdict"] == "contradicted"
    assert cl["escalation_matters"]["summary"] == "supported under live; contradicted under calm"
    # the contradiction under calm is a zero effect of a switched-off mechanism: the test says why
    calm_t = esc["calm"]["tests"][0]
    assert calm_t["inert_reason"] == toy_obj["hypotheses"]["calm"]["mechanisms"]["escalation"]["inert_reason"]
    assert calm_t["inert_reason"].startswith("switched off in hypothesis 'calm'")
    assert "inert_reason" not in t   # escalation moves P(war) under live: no reason attached


def test_report_opens_with_claims_and_prints_inert_reasons(toy_obj, tmp_path):
    from detente.report.crisis import write_report
    from detente.report.html import crisis_report

    obj = {k: v for k, v in toy_obj.items() if k != "_results"}
    md = write_report(obj, tmp_path, figures=False).read_text(encoding="utf-8")
    heads = [ln for ln in md.splitlines() if ln.startswith("## ")]
    assert heads[0] == "## Claims: what the model concludes"
    first_table = md.index("\n|")
    assert md.index("## Claims") < first_table
    assert "The escalation term raises the risk of war." in md
    assert "supported under live; contradicted under calm" in md
    assert "switched off in hypothesis 'calm'" in md and "changed no run's history" in md
    calm_line = next(ln for ln in md.splitlines() if ln.startswith("* under **calm**"))
    assert "contradicted; escalation is inert here: switched off in hypothesis 'calm'" in calm_line
    row = next(ln for ln in md.splitlines() if ln.startswith("| live | escalation |"))
    e = obj["hypotheses"]["live"]["mechanisms"]["escalation"]["effects"]["p_war_horizon"]
    assert f"{e['diff']:+.3f} ± {e['se']:.3f}" in row
    page = crisis_report(obj)
    h2 = page.index("<h2")
    assert page[h2:].startswith('<h2 id="claims">') and page.index("<table") > h2
    assert "switched off in hypothesis &#x27;calm&#x27;" in page


def test_scenario_without_claims_or_mechanisms(toy, tmp_path):
    from detente.report.crisis import write_report

    dyn = {k: v for k, v in toy.dynamics.items() if k not in ("mechanisms", "claims")}
    bare = toy.model_copy(update={"dynamics": dyn})
    mechs = declared_mechanisms(load_spec(dyn))
    assert list(mechs) == ["flashpoint_F"] and mechs["flashpoint_F"]["off"] == {"flashpoints[F].base_hazard_m": 0.0}
    obj = run_hypotheses(bare, hypotheses=["live"], runs=400, seed=3, mechanisms="all")
    assert obj["claims"] == []
    fp = obj["hypotheses"]["live"]["mechanisms"]["flashpoint_F"]
    assert fp["effects"]["p_war_horizon"]["without"] == 0.0 and fp["inert_reason"] is None
    md = write_report(obj, tmp_path, figures=False).read_text(encoding="utf-8")
    assert md.split("\n## ")[1].startswith("Claims") and "declares no claims" in md


def test_mechanism_choice_and_bad_switch(toy):
    obj = run_hypotheses(toy, hypotheses=["live"], runs=200, seed=1)     # the library maps on request only
    assert "mechanisms" not in obj["hypotheses"]["live"]
    assert obj["claims"][0]["by_hypothesis"]["live"]["verdict"] == "not evaluated"
    obj = run_hypotheses(toy, hypotheses=["live", "calm"], runs=200, seed=1, mechanisms="balance",
                         mechanism_hypotheses=["calm"], mechanism_runs=100)
    assert "mechanisms" not in obj["hypotheses"]["live"]
    assert list(obj["hypotheses"]["calm"]["mechanisms"]) == ["balance"]
    assert obj["hypotheses"]["calm"]["mechanism_runs"] == 100
    obj = run_hypotheses(toy, hypotheses=["live"], runs=100, seed=1, mechanisms="claims")
    assert list(obj["hypotheses"]["live"]["mechanisms"]) == ["escalation"]     # the one the toy's claims test
    with pytest.raises(InputError, match="unknown mechanism 'nope'"):
        run_hypotheses(toy, hypotheses=["live"], runs=50, mechanisms="nope")
    dyn = dict(toy.dynamics)
    dyn["mechanisms"] = {"bad": {"label": "x", "switch": {"flashpoints[Z].beta.rung": 0}}}
    dyn["claims"] = []
    bad = toy.model_copy(update={"dynamics": dyn, "name": "toy-bad"})
    with pytest.raises(InputError) as ei:
        run_hypotheses(bad, hypotheses=["live"], runs=50, with_counterfactuals=False, mechanisms="all")
    assert "mechanisms.bad.switch" in str(ei.value) and "flashpoints[Z]" in str(ei.value)
    # a claim naming an undeclared mechanism is refused when the scenario is read
    dyn["claims"] = [{"id": "c", "text": "t", "mechanisms": ["ghost"]}]
    with pytest.raises(InputError, match=r"claims.0.mechanisms: unknown mechanism 'ghost'"):
        load_spec(dyn)


def test_cli_mechanisms_option(tmp_path):
    import json

    from typer.testing import CliRunner

    from detente.cli import app

    r = CliRunner().invoke(app, ["run", str(TOY), "-n", "100", "--json", "-H", "live", "--mechanisms", "escalation"])
    assert r.exit_code == 0, r.output
    obj = json.loads(r.output)
    assert list(obj["hypotheses"]["live"]["mechanisms"]) == ["escalation"]
    r = CliRunner().invoke(app, ["run", str(TOY), "-n", "50", "--json", "-H", "live", "--mechanisms", "nope"])
    assert r.exit_code == 2


def test_flagship_policy_switches_are_really_off():
    """On seesaw-2021, the runs without `stalling` and without `postponements` postpone no meeting
    (the runs with them do), and they are the engine's own runs with the switch, same seed."""
    from detente import examples

    scn = examples.load("seesaw-2021")
    cache: dict = {}
    mm = mechanism_map(scn, "combined", runs=150, seed=5, names=["stalling", "postponements"], cache=cache)
    alts = {tuple(r.params["set"]): r for r in cache.values()}
    assert set(alts) == {("policies.stall.enabled",), ("policies.stall.postpone",)}
    base = run(scn, {"runs": 150, "hypothesis": "combined", "record_paths": False}, seed=5)
    assert np.sum(base.diagnostics["postponed"]) > 0
    for res in alts.values():
        assert res.root_seed == 5 and np.sum(res.diagnostics["postponed"]) == 0
    ref = run(scn, {"runs": 150, "hypothesis": "combined", "set": {"policies.stall.enabled": False},
                    "record_paths": False}, seed=5)
    np.testing.assert_array_equal(alts[("policies.stall.enabled",)].onset_step, ref.onset_step)
    assert mm["stalling"]["switch"] == "policies.stall.enabled = false"
