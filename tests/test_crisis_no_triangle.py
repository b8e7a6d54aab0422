"""Issue 15: a crisis scenario without a triangle runs and reports what applies.

The fixture tests/fixtures/crisis/toy-no-triangle.yaml has two actors, one flashpoint, one track
and a record, and no ``dynamics.triangle``: the engine skips the information/triangle step, the
triangle outputs are null in ``--json``, the report says in one line that there is no triangle and
shows no triangle section, and a ``split`` record event is an input error naming it.
"""

from __future__ import annotations

import copy
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import detente
from detente.crisis import run
from detente.crisis.analysis import declared_mechanisms, run_hypotheses
from detente.crisis.spec import load_spec
from detente.errors import InputError
from detente.formats import load
from detente.report.crisis import NO_TRIANGLE, write_report
from detente.report.html import crisis_report

FIX = Path(__file__).parent / "fixtures" / "crisis"
TOY = FIX / "toy-no-triangle.yaml"
# the fixture's monthly hazard: 3·λ0 under `live`, λ0 under `calm` (see its header)
P_LIVE = 1 - math.exp(-0.03 * 24)
P_CALM = 1 - math.exp(-0.01 * 24)


@pytest.fixture(scope="module")
def toy():
    return load(TOY)


@pytest.fixture(scope="module")
def obj(toy):
    return run_hypotheses(toy, runs=1500, seed=5, mechanisms="none")


def _dyn(toy) -> dict:
    return copy.deepcopy(dict(toy.dynamics))


def test_the_fixture_declares_no_triangle(toy):
    spec = load_spec(toy.dynamics)
    assert spec.triangle is None
    assert spec.settings.russia == "A"          # from record.focal.actor, not a triangle partner


def test_engine_runs_without_a_triangle_and_matches_the_closed_form(toy):
    for hyp, p in (("live", P_LIVE), ("calm", P_CALM)):
        res = run(toy, {"runs": 4000, "hypothesis": hyp}, seed=3)
        got = list(res.p_war_by().values())[-1]
        se = math.sqrt(p * (1 - p) / 4000)
        assert abs(got - p) < 4 * se, (hyp, got, p)
        assert res.triangle is None
        assert np.all(res.split_step == -1)               # no split is simulated
        assert not any(k.startswith("deals_") for k in res.diagnostics)
        assert res.diagnostics["leaks"].sum() == 0
        s = res.summary()
        assert s["ru_cn_alignment"] is None and s["p_ru_cn_split_by"] is None and s["triangle"] is None
        assert set(s["p_agreement_by"]) == {"T"}


def test_run_hypotheses_reports_what_applies(obj, toy):
    assert obj["triangle_actors"] is None
    assert set(obj["hypotheses"]) == {"live", "calm"}
    for b in obj["hypotheses"].values():
        assert b["ru_cn_alignment"] is None and b["p_ru_cn_split_by"] is None and b["triangle"] is None
        assert b["backtest"] is not None
        assert not any(k.endswith("_split") for k in b["backtest"]["outcomes"])
        assert b["backtest"]["outcomes"]["no_agreement_T"] == 1
    assert obj["reference"] == "live"
    # the derived mechanisms of a scenario without a triangle hold no triangle ones
    spec = load_spec(toy.dynamics)
    assert set(declared_mechanisms(spec)) == {"flashpoint_F"}
    json.dumps(obj)   # serialisable as is


def test_reports_omit_the_triangle_and_say_so(obj, tmp_path):
    p = write_report(obj, tmp_path)
    text = p.read_text(encoding="utf-8")
    assert NO_TRIANGLE in text
    assert "## Triangle configuration" not in text and "alignment" not in text.replace(NO_TRIANGLE, "")
    assert not (tmp_path / f"{p.stem}-alignment.png").exists()
    from detente.plotting.export import static_export_problem

    why = static_export_problem()   # PNGs need kaleido and a Chrome/Chromium; without them the report says so
    assert (tmp_path / f"{p.stem}-p_war_by.png").exists() if why is None else f"not written: {why}" in text
    html = crisis_report(obj)
    assert NO_TRIANGLE in html
    assert "Strategic triangle" not in html and "fig-alignment" not in html and "fig-triangle" not in html


def test_a_report_with_a_triangle_keeps_its_section(tmp_path):
    o = run_hypotheses(load(FIX / "toy-crisis.yaml"), hypotheses=["live"], runs=200, seed=5, mechanisms="none")
    assert o["triangle_actors"] == ["C", "A", "B"]
    text = write_report(o, tmp_path).read_text(encoding="utf-8")
    assert "## Triangle configuration at the horizon" in text and NO_TRIANGLE not in text
    assert NO_TRIANGLE not in crisis_report(o)


def test_a_split_event_without_a_triangle_is_refused_by_name(toy):
    dyn = _dyn(toy)
    dyn["record"]["events"] = [*dyn["record"]["events"], {"kind": "split", "happened": False}]
    with pytest.raises(InputError) as ei:
        load_spec(dyn)
    text = str(ei.value)
    assert "record.events.1" in text and "'split'" in text and "triangle" in text


@pytest.mark.parametrize("policy, needle", [
    ("seesaw", "policies.seesaw"), ("leaks", "policies.leaks")])
def test_information_policies_without_a_triangle_are_refused(toy, policy, needle):
    dyn = _dyn(toy)
    if policy == "seesaw":
        dyn["policies"] = {"seesaw": {"actor": "A", "targets": ["A", "B"],
                                      "period_months": {"value": 6, "source": "toy"},
                                      "offer_s": {"value": 0.5, "source": "toy"},
                                      "courting_gain": {"value": 0.1, "source": "toy"}}}
    else:
        dyn["policies"] = {"leaks": [{"sender": "A", "receiver": "B", "about": "A", "claim": "dealing",
                                      "rate_m": {"value": 0.1, "source": "toy"},
                                      "fake_share": {"value": 0.5, "source": "toy"}}]}
    with pytest.raises(InputError) as ei:
        load_spec(dyn)
    assert needle in str(ei.value) and "triangle" in str(ei.value)


def test_without_a_triangle_the_focal_actor_must_be_named(toy):
    dyn = _dyn(toy)
    dyn.pop("record")   # no record focal actor and no triangle partner to fall back on
    assert "russia" not in dyn["settings"]
    with pytest.raises(InputError) as ei:
        load_spec(dyn)
    assert "settings.russia" in str(ei.value) and "triangle" in str(ei.value)
    dyn["settings"] = {**dyn["settings"], "russia": "B"}
    assert load_spec(dyn).settings.russia == "B"


def _cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(Path(detente.__file__).resolve().parent.parent)}
    return subprocess.run([sys.executable, "-m", "detente.cli", "run", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_cli_runs_a_scenario_without_a_triangle_from_a_temporary_folder(tmp_path):
    (tmp_path / "s.yaml").write_text(TOY.read_text(encoding="utf-8"), encoding="utf-8")
    r = _cli(["s.yaml", "-n", "300", "--mechanisms", "none", "--json"], tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    o = json.loads(r.stdout)
    assert o["triangle_actors"] is None and o["record"]["window"] == ["2021-12-01", "2023-11-30"]
    assert all(b["p_ru_cn_split_by"] is None and b["triangle"] is None for b in o["hypotheses"].values())
    r = _cli(["s.yaml", "-n", "300", "--mechanisms", "none", "--out", "rep"], tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    text = (tmp_path / "rep" / "toy-no-triangle.md").read_text(encoding="utf-8")
    assert NO_TRIANGLE in text and "## Triangle configuration" not in text


def test_cli_refuses_a_split_event_without_a_triangle_with_exit_2(tmp_path):
    text = TOY.read_text(encoding="utf-8").replace(
        '      - {kind: agreement, track: T, happened: false, note: "no agreement in the toy world"}',
        "      - {kind: split, happened: true}")
    assert "kind: split" in text
    (tmp_path / "s.yaml").write_text(text, encoding="utf-8")
    r = _cli(["s.yaml", "-n", "50", "--mechanisms", "none", "--json"], tmp_path)
    assert r.returncode == 2, (r.returncode, r.stderr[-2000:])
    out = r.stdout + r.stderr          # with --json the problems are a JSON object on stdout
    assert "record.events.0" in out and "'split'" in out and "triangle" in out and "Traceback" not in out


def _with_support(toy, via: str | None) -> dict:
    """The fixture with a third actor C (capability 50) behind the demander A in dyad A-B (``via``;
    None: no support entry) and the crisis-bargaining term on, so the contest reaches the hazard
    (risk–return P(war) depends on p only through the cap x* ≤ 1: alone p = 0.5 and P(war) =
    (c̄ − c_A)/(2c̄) = 1/3; with C's full support p = 51/52 and P(war) = (1 − p)/c̄ ≈ 0.064)."""
    d = _dyn(toy)
    d["actors"]["C"] = {"capability": {"value": 50.0, "source": "toy"}, "growth_m": {"value": 0.0, "source": "toy"}}
    d["flashpoints"][0]["beta"]["crisis_pwar"] = {"value": 3.0, "source": "toy"}
    d["flashpoints"][0]["dyads"] = ["A-B"]     # the crisis contest of F is dyad A-B's
    if via is not None:
        d["dyads"][0]["support"] = [{"side": "A", "actors": ["C"], "weight": {"value": 1.0, "source": "toy"}, "via": via}]
    return d


def test_contests_use_no_alignment_support_without_a_triangle(toy):
    def p_war(via):
        scn = toy.model_copy(update={"dynamics": _with_support(toy, via),
                                     "actors": [*toy.actors, type(toy.actors[0])(id="C", name="Gamma", capability=50.0)]})
        return run(scn, {"runs": 2000, "hypothesis": "live"}, seed=9).p_war_by()

    none, align, coh = p_war(None), p_war("alignment"), p_war("cohesion")
    assert align == none                 # same seed, no alignment support: the same runs
    assert coh != none                   # control: the same partner via cohesion does reach the contest


# ------------------------------------------------------------------ rung reached (issue 15)
def _rung_run(toy, up_m: float, start_rung: int, runs: int = 4000):
    dyn = _dyn(toy)
    esc = dyn["flashpoints"][0]["escalation"]
    esc["start_rung"] = start_rung
    esc["up_m"] = {"value": up_m, "source": "test"}
    return run(toy.model_copy(update={"dynamics": dyn}), {"runs": runs, "hypothesis": "live"}, seed=11)


def test_the_rung_path_is_recorded_where_it_is_known(toy):
    # the fixture's rung never moves (up = down = 0) and starts at the top rung 2
    res = run(toy, {"runs": 300, "hypothesis": "live"}, seed=3)
    assert res.rung_step.shape == (300, 1, 3) and res.rung_step.dtype == np.int16
    assert (res.rung_step == 0).all()
    # up-hazard 1000/month from rung 0: one rung up every step, so rung 1 in step 0, rung 2 in step 1
    res = _rung_run(toy, 1000.0, 0, runs=200)
    assert (res.rung_step[:, 0, :] == np.array([0, 0, 1])).all()
    # up-hazard 0 from rung 0: the rung never rises
    res = _rung_run(toy, 0.0, 0, runs=200)
    assert (res.rung_step[:, 0, :] == np.array([0, -1, -1])).all()


def test_a_rung_event_is_scored_against_the_geometric_chance(toy):
    from detente.crisis import record as R
    # up-hazard ln 2 a month, no way down, from rung 0: P(rung 1 reached within k months) = 1 − 2^−k
    res = _rung_run(toy, math.log(2.0), 0)
    spec = load_spec(_dyn(toy))
    ev = {"kind": "rung", "flashpoint": "F", "rung": 1, "happened": True, "by": "2022-02-28", "track": None}
    obs = {"window": ["2021-12-01", "2023-11-30"], "war": False, "onset": None, "flashpoint": None,
           "initiator": None, "events": [ev], "focal": {"actor": "A"}}
    bt, _hist = R.score(res, obs, spec.settings.start)
    t = bt["event_scores"]["rung_F_1_by_2022-02-28"]
    assert abs(t["p"] - (1 - 2.0 ** -3)) < 4 * t["p_se"] and t["p_se"] == pytest.approx(math.sqrt(t["p"] * (1 - t["p"]) / 4000))
    assert t["brier"] == pytest.approx((t["p"] - 1) ** 2)
    # the record's likelihood is the share of runs without war (the window is the horizon) that reached it
    no_war = res.first_step < 0
    reached = (res.rung_step[:, 0, 1] >= 0) & (res.rung_step[:, 0, 1] <= 2)
    assert bt["likelihood"]["hits"] == int(np.count_nonzero(no_war & reached))
    # rung 2 needs two rises: P(by 3 months) = 1 − 2^−3 − 3·2^−3 = 1/2
    bt2, _ = R.score(res, {**obs, "events": [{**ev, "rung": 2}]}, spec.settings.start)
    t2 = bt2["event_scores"]["rung_F_2_by_2022-02-28"]
    assert abs(t2["p"] - 0.5) < 4 * t2["p_se"]


def test_cli_table_shows_the_upper_bound_when_no_run_reproduces_the_record(tmp_path, monkeypatch):
    """With a hazard so high that every run has a war, no run reproduces the record (no war):
    the table prints the exact one-sided 95 % bound 1 − 0.05^(1/200) = 0.0149, not '0.0000 ± 0.0000'."""
    monkeypatch.setenv("COLUMNS", "250")   # a table wide enough that no cell wraps
    (tmp_path / "s.yaml").write_text(TOY.read_text(encoding="utf-8"), encoding="utf-8")
    r = _cli(["s.yaml", "-n", "200", "--mechanisms", "none", "--set", "flashpoints[F].base_hazard_m=50",
              "--out", "rep"], tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert f"< {1 - 0.05 ** (1 / 200):.4f} (0 runs; 95 %)" in r.stdout
    assert "0.0000 ± 0.0000" not in r.stdout
