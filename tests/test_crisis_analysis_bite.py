"""`detente.crisis.analysis` pinned on hand-computed values (issue 19: tests that kill the
surviving mutants of ``make mutate MODULE=src/detente/crisis/analysis.py``).

Most functions of the module read a :class:`CrisisResult`; here they read a small result built
by hand (four runs, two flashpoints, half-month steps), so every output can be worked out in
the comments. The engine-level behaviour (common random numbers, switches really applied) is
tested in ``tests/test_crisis_mechanism_map.py`` and ``tests/test_crisis_record.py``.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pytest

from detente.crisis import analysis as A
from detente.crisis.result import CAUSES, CrisisResult
from detente.errors import InputError

TOY = Path(__file__).parent / "fixtures" / "crisis" / "toy-crisis.yaml"

# ------------------------------------------------------------------ a result built by hand
# 12 half-month steps (dt = 0.5 month) from 2022-01-01: step k ends on the 15th or the last
# day of a month; the month ends are steps 1, 3, 5, 7, 9, 11.
STEP_END = tuple(d for m in range(1, 7) for d in (dt.date(2022, m, 15),
                                                    dt.date(2022, m + 1, 1) - dt.timedelta(days=1)))
MONTH_ENDS = STEP_END[1::2]
# actors A (0), B (1), C (2); flashpoints F (A, B) and G (B, C); the focal actor is A.
#   run 0: war at F in step 2 started by A (first war), war at G in step 7 started by C
#   run 1: war at G in step 4 started by B (first war), none at F
#   run 2: no war
#   run 3: war at F in step 9 started by B (first war), war at G in step 10 started by B
ONSET = [[2, 7], [-1, 4], [-1, -1], [9, 10]]
ONSET_INIT = [[0, 2], [-1, 1], [-1, -1], [1, 1]]
FIRST = [2, 4, -1, 9]
FIRST_FP = [0, 1, -1, 0]
FIRST_INIT = [0, 1, -1, 1]
SPLIT = [-1, 5, -1, 0]


def _res(**kw) -> CrisisResult:
    n = len(kw.get("first_step", FIRST))
    base = dict(
        scenario="hand", hypothesis=None, runs=n, root_seed=0, chunk_size=8, step="half-month", dt_months=0.5,
        actors=("A", "B", "C"), flashpoints=("F", "G"), tracks=(), dyads=("A-B",), directions=("A>B", "B>A"),
        involves={"F": ("A", "B"), "G": ("B", "C")}, triangle=("C", "A", "B"), russia="A",
        step_end=STEP_END, month_ends=MONTH_ENDS, month_end_step=(1, 3, 5, 7, 9, 11),
        onset_step=np.array(ONSET, np.int16), onset_initiator=np.array(ONSET_INIT, np.int8),
        onset_cause=np.zeros((4, 2), np.int8),
        first_step=np.array(FIRST, np.int16), first_flashpoint=np.array(FIRST_FP, np.int8),
        first_initiator=np.array(FIRST_INIT, np.int8), split_step=np.array(SPLIT, np.int16),
        agree_step=np.zeros((4, 0), np.int16), hazard=None, rc_alignment=None, configuration=None,
        diagnostics={}, params={}, input_hash="", version="test")
    base.update(kw)
    return CrisisResult(**base)


def _out(res, name, **kw):
    return A.output_samples(res, name, **kw).tolist()


# ------------------------------------------------------------------ per-run outputs
def test_output_samples_of_every_kind_on_a_hand_made_result():
    r = _res()
    # P(war by end): the last step ending on or before the date; 2022-02-20 → step 2 (Feb 15)
    assert _out(r, "p_war_by_end", end="2022-02-20") == [1, 0, 0, 0]
    assert _out(r, "p_war_by_end", end="2022-02-14") == [0, 0, 0, 0]      # step 1: run 0's war is in step 2
    assert _out(r, "p_war_by_end", end="2022-03-15") == [1, 1, 0, 0]      # step 4 includes run 1's war
    assert _out(r, "p_war_horizon") == [1, 1, 0, 1]
    # the focal actor A is involved only at F: wars at F in runs 0 and 3
    assert _out(r, "p_no_focal_war_horizon") == [0, 1, 1, 0]
    # months of peace: onset at mid-step, (step + 0.5)·0.5 months, capped at the 6-month horizon
    assert _out(r, "months_of_peace_focal") == [1.25, 6.0, 6.0, 4.75]
    assert _out(r, "p_split_horizon") == [0, 1, 0, 1]
    assert _out(r, "p_first_war_by.A") == [1, 0, 0, 0]
    assert _out(r, "p_first_war_by.B") == [0, 1, 0, 1]
    assert _out(r, "p_first_war_by.A+B") == [1, 1, 0, 1]
    assert _out(r, "p_first_war_by.C") == [0, 0, 0, 0]                     # C starts only a second war
    assert _out(r, "p_first_war_at.F") == [1, 0, 0, 1]
    assert _out(r, "p_first_war_at.G") == [0, 1, 0, 0]
    # any war at a flashpoint, first or not, and by whom
    assert _out(r, "p_war_at.G") == [1, 1, 0, 1]
    assert _out(r, "p_war_at.F") == [1, 0, 0, 1]
    assert _out(r, "p_war_at.G.by.C") == [1, 0, 0, 0]
    assert _out(r, "p_war_at.G.by.B+C") == [1, 1, 0, 1]
    assert _out(r, "p_war_at.F.by.B") == [0, 0, 0, 1]
    assert all(A.output_samples(r, o).dtype == float for o in ("p_war_horizon", "p_war_at.G.by.C"))
    # an actor id may contain a dot: all after the first dot names the actor
    dotted = _res(actors=("A.1", "B", "C"))
    assert _out(dotted, "p_first_war_by.A.1") == [1, 0, 0, 0]
    assert _out(dotted, "p_war_at.F.by.A.1+B") == [1, 0, 0, 1]


def test_months_of_peace_follow_the_step_length_and_the_horizon():
    # monthly steps (dt = 1) over a 3-month horizon: onsets in steps 0 and 1 → 0.5 and 1.5 months,
    # a run without war counts the whole horizon (3), a war after it cannot occur
    r = _res(dt_months=1.0, step_end=MONTH_ENDS[:3], month_ends=MONTH_ENDS[:3], month_end_step=(0, 1, 2),
             onset_step=np.array([[0, -1], [1, -1], [-1, -1], [2, -1]], np.int16),
             first_step=np.array([0, 1, -1, 2], np.int16))
    assert _out(r, "months_of_peace_focal") == [0.5, 1.5, 3.0, 2.5]


def test_unknown_names_in_outputs_are_named_errors():
    r = _res()
    with pytest.raises(InputError) as ei:
        A.output_samples(r, "p_first_war_by.A+Z")
    p = ei.value.problems[0]
    assert "unknown actor 'Z'" in p.message and p.value == "A+Z" and p.expected == "A, B, C"
    assert p.column == "claims.tests.output"
    with pytest.raises(InputError) as ei:
        A.output_samples(r, "p_war_at.H")
    p = ei.value.problems[0]
    assert "unknown flashpoint 'H'" in p.message and p.value == "H" and p.expected == "F, G"
    assert p.column == "claims.tests.output"
    with pytest.raises(InputError) as ei:
        A.output_samples(r, "p_war_at.F.by.Q")
    assert "unknown actor 'Q'" in ei.value.problems[0].message
    with pytest.raises(InputError) as ei:
        A.output_samples(r, "p_peace")
    p = ei.value.problems[0]
    # the message lists every form of output name a claim may use
    assert "unknown output 'p_peace'" in p.message and p.expected == (
        "p_war_by_end, p_war_horizon, p_no_focal_war_horizon, months_of_peace_focal, p_split_horizon, "
        "p_first_war_by.A[+B], p_first_war_at.F, p_war_at.F[.by.A[+B]]")
    assert p.column == "claims.tests.output" and p.value == "p_peace"
    with pytest.raises(InputError, match="needs a record") as ei:
        A.output_samples(r, "p_war_by_end")
    p = ei.value.problems[0]
    assert (p.column, p.value) == ("claims.tests.output", "p_war_by_end")
    with pytest.raises(InputError, match="needs `triangle`") as ei:
        A.output_samples(_res(triangle=None), "p_split_horizon")
    # the same column as the other output problems (it used to say `output`)
    assert (ei.value.problems[0].column, ei.value.problems[0].value) == ("claims.tests.output", "p_split_horizon")


def test_focal_summary_by_hand():
    r = _res()
    # A within 3 months (month end 3 = step 5): run 0's war (step 2) falls inside, run 3's (step 9) after
    # months of peace: min((2.5·0.5, ∞, ∞, 9.5·0.5), 3) = (1.25, 3, 3, 3) → 10.25 / 4
    assert A.focal_summary(r, "A", 3) == {"actor": "A", "horizon_months": 3, "p_no_war": 0.75,
                                         "months_of_peace": 2.5625}
    # C (only at G: steps 7, 4, −, 10) within 4 months (step 7): runs 0 and 1 at war
    # months of peace: min((3.75, 2.25, ∞, 5.25), 4) → (3.75 + 2.25 + 4 + 4) / 4 = 3.5
    assert A.focal_summary(r, "C", 4) == {"actor": "C", "horizon_months": 4, "p_no_war": 0.5,
                                         "months_of_peace": 3.5}
    # a horizon beyond the run's 6 months is cut to 6: A's wars at steps 2 and 9 both count
    assert A.focal_summary(r, "A", 10) == {"actor": "A", "horizon_months": 10, "p_no_war": 0.5,
                                          "months_of_peace": (1.25 + 6 + 6 + 4.75) / 4}


def test_headline_outputs_list_what_happened():
    r = _res()
    tail = ["p_war_horizon", "p_no_focal_war_horizon", "months_of_peace_focal", "p_first_war_at.F",
            "p_first_war_at.G", "p_first_war_by.A", "p_first_war_by.B"]
    assert A.headline_outputs(r) == tail
    # P(war by end) is a headline only when the end falls inside the horizon before its last step
    assert A.headline_outputs(r, end="2022-01-15") == ["p_war_by_end", *tail]       # step 0
    assert A.headline_outputs(r, end="2022-06-15") == ["p_war_by_end", *tail]       # step 10
    assert A.headline_outputs(r, end="2022-06-30") == tail                          # the last step
    assert A.headline_outputs(r, end="2021-12-31") == tail                          # before the first
    # an actor that starts a first war only in the paired result is listed too (in actor order)
    other = _res(first_initiator=np.array([2, 1, -1, 1], np.int8))
    assert A.headline_outputs(r, other)[-3:] == ["p_first_war_by.A", "p_first_war_by.B", "p_first_war_by.C"]
    # an initiator recorded for a run without war does not count
    quiet = _res(first_initiator=np.array([0, 1, 2, 1], np.int8))
    assert "p_first_war_by.C" not in A.headline_outputs(quiet)


def test_mean_and_paired_effect_of_a_single_run_have_no_standard_error():
    assert A.mean_se(np.array([0.25])) == {"value": 0.25, "se": None}
    assert A.paired_effect(np.array([1.0]), np.array([0.0])) == {"with": 1.0, "without": 0.0, "diff": 1.0, "se": None}
    # two runs: d = (1, 0), sd = √0.5, se = √0.5/√2 = 0.5
    assert A.paired_effect(np.array([1, 1]), np.array([0, 1]))["se"] == pytest.approx(0.5, abs=1e-15)
    assert A.mean_se(np.array([1.0, 0.0]))["se"] == pytest.approx(0.5, abs=1e-15)


# ------------------------------------------------------------------ verdicts and choices
@pytest.mark.parametrize("q, se, op, v, want", [
    # (binary fractions, so the interval ends are exact)
    (0.25, 0.125, ">", 0.0, "undecided"),      # lo = 0 is not above 0
    (-0.25, 0.125, ">", 0.0, "contradicted"),  # hi = 0 is at the threshold: no increase
    (0.25, 0.125, "<", 0.5, "undecided"),      # hi = 0.5 is not below 0.5
    (0.75, 0.125, "<", 0.5, "contradicted"),   # lo = 0.5 is at the threshold
    (0.3, None, ">", 0.25, "supported"),      # no SE: the point value decides
    (0.3, None, "<", 0.25, "contradicted"),
])
def test_verdict_at_the_threshold(q, se, op, v, want):
    verdict, lo, hi = A._verdict(q, se, op, v)
    assert verdict == want
    s = se or 0.0
    assert (lo, hi) == pytest.approx((q - 2 * s, q + 2 * s), abs=1e-15)


def test_verdict_uses_its_z():
    # q = 0.1, se = 0.04: z = 2 → [0.02, 0.18] supported; z = 3 → [−0.02, 0.22] undecided
    assert A._verdict(0.1, 0.04, ">", 0.0)[0] == "supported"
    assert A._verdict(0.1, 0.04, ">", 0.0, z=3.0)[0] == "undecided"
    assert A._verdict(0.1, 0.04, ">", 0.0, z=3.0)[1] == pytest.approx(-0.02, abs=1e-15)


def test_mechanism_names_choice():
    assert A._mechanism_names(None) is None
    assert A._mechanism_names("all") is None
    assert A._mechanism_names("none") is False
    assert A._mechanism_names(" a, b ,,") == ["a", "b"]
    assert A._mechanism_names(["x", " ", "y "]) == ["x", "y"]
    assert A._mechanism_names(" , ") is False
    assert A._mechanism_names([]) is False


# ------------------------------------------------------------------ what the inert reasons read
def _diag_result():
    T = len(STEP_END)
    n = 4
    d = {
        "meetings_held": np.full(T, 2.0),                 # 2·12 / 4 / 12 = 0.5 per month
        "leaks": np.arange(T, dtype=float),               # 66 / 4 / 12 = 1.375
        "deals_B": np.full(T, 1.0),                        # 12 / 48 = 0.25
        "dir_forced": np.column_stack([np.full(T, 4.0), np.zeros(T)]),     # 1.0 and 0.0
        "dir_prox": np.column_stack([np.zeros(T), np.full(T, 0.4)]),       # 0.0 and 0.1
        "phi": np.full((T, 1), 2.0),                       # 0.5
        "rung": np.column_stack([np.full(T, 8.0), np.full(T, 4.0)]),       # 2.0 and 1.0
        "q": np.full((T, 2), 0.8),                         # 0.2 for alliances 0 and 1
        "something_else": np.ones(T),                      # not a readable channel: left out
    }
    return _res(diagnostics=d, runs=n)


def test_diag_channels_are_time_means_per_run_with_readable_names():
    got = A._diag_channels(_diag_result())
    assert got == pytest.approx({
        "meetings held per month": 0.5,
        "leaks received per month": 1.375,
        "share of runs where B is ready to deal with C": 0.25,
        "forced preventive war A>B": 1.0, "forced preventive war B>A": 0.0,
        "preventive pressure A>B": 0.0, "preventive pressure B>A": 0.1,
        "commitment capacity φ A-B": 0.5,
        "escalation rung at F": 2.0, "escalation rung at G": 1.0,
        "perceived patron support (alliance 0)": 0.2, "perceived patron support (alliance 1)": 0.2,
        "P(A–B split within the horizon)": 0.5,          # split steps (−1, 5, −1, 0): 2 of 4 runs
    }, abs=1e-15)
    # without a triangle there is no split channel and no partner in the names
    got = A._diag_channels(_res(triangle=None, diagnostics={"meetings_held": np.full(12, 2.0)}))
    assert got == {"meetings held per month": 0.5}


def test_hazard_parts_are_mean_monthly_hazards_by_flashpoint_and_cause():
    cause = np.zeros((3, 2, len(CAUSES)))
    cause[:, 0, CAUSES.index("background")] = 0.4     # 3 steps · 0.4 / 4 runs / 3 steps = 0.1
    cause[0, 1, CAUSES.index("escalation")] = 1.2     # 1.2 / 4 / 3 = 0.1
    hp = A._hazard_parts(_res(diagnostics={"cause": cause}))
    assert len(hp) == 2 * len(CAUSES)
    assert hp["F background"] == pytest.approx(0.1, abs=1e-15)
    assert hp["G escalation"] == pytest.approx(0.1, abs=1e-15)
    assert sum(hp.values()) == pytest.approx(0.2, abs=1e-15)
    # a result without the decomposition has every part zero
    assert set(A._hazard_parts(_res()).values()) == {0.0}


def test_moved_keeps_changes_above_one_percent_largest_first():
    a = {"x": 1.0, "y": 2.0, "z": 0.0, "w": 1.0, "v": 5.0}
    b = {"x": 1.005, "y": 1.0, "z": 0.0, "w": 1.02}       # v is missing in b: read as 0
    rows = A._moved(a, b)
    assert [r[0] for r in rows] == ["v", "y", "w"]        # relative changes 1, 0.5, 0.0196...; x 0.5 % left out
    assert rows[1] == ("y", 2.0, 1.0, 0.5)
    assert rows[2][3] == pytest.approx(0.02 / 1.02, abs=1e-15)
    # exactly 1 % is not a move; a change between two tiny values is ignored
    assert A._moved({"x": 100.0}, {"x": 99.0}) == []
    assert A._moved({"x": 1e-13}, {"x": 0.0}) == []


def test_regime_names_the_zero_causes_and_the_barred_initiators():
    cause = np.zeros((2, 2, len(CAUSES)))
    for c in CAUSES:
        if c not in ("preventive", "crisis"):
            cause[0, 1, CAUSES.index(c)] = 1.0
    r = _res(diagnostics={"cause": cause})
    assert A._regime(r, "all") == "; in this regime the hazard parts preventive, crisis are zero at every flashpoint"
    txt = A._regime(r, ["A"])
    assert txt.endswith("; only A may start a war (settings.initiators_allowed), so every hazard part attributed "
                        "to B, C is removed")
    one = np.ones((2, 2, len(CAUSES)))
    one[:, :, CAUSES.index("crisis")] = 0.0
    assert A._regime(_res(diagnostics={"cause": one}), "all") == ("; in this regime the hazard part crisis is zero at "
                                                                   "every flashpoint")
    assert A._regime(_res(diagnostics={"cause": np.ones((2, 2, len(CAUSES)))}), "all") == ""
    # a cause with hazard at one flashpoint only is not zero "at every flashpoint"
    half = np.ones((2, 2, len(CAUSES)))
    half[:, 0, :] = 0.0
    assert A._regime(_res(diagnostics={"cause": half}), "all") == ""


# ------------------------------------------------------------------ counterfactuals
@pytest.fixture(scope="module")
def flagship():
    from detente import examples

    return examples.load("seesaw-2021")


def _peace(res, months):
    # E[min(T, months)] per run for the focal actor, onset at mid-step (the hand formula)
    s = res.ru_war_step()
    t = np.where(s < 0, np.inf, (s + 0.5) * res.dt_months)
    return np.minimum(t, min(months, len(res.month_ends)))


@pytest.mark.parametrize("months", [48, 12])
def test_counterfactuals_are_paired_runs_with_each_policy_off(flagship, months):
    from detente.crisis import run

    cf = A.counterfactuals(flagship, "article", runs=200, seed=7, focal_months=months)
    params = {"runs": 200, "hypothesis": "article", "record_paths": False}
    base = run(flagship, params, seed=7)
    assert set(cf) == {"stalling", "seesaw"}
    for name, path in (("stalling", "policies.stall.enabled"), ("seesaw", "policies.seesaw.enabled")):
        # the "without" run: the same hypothesis and root seed, only this policy switched off
        alt = run(flagship, {**params, "set": {path: False}}, seed=7)
        c = cf[name]
        d = _peace(base, months) - _peace(alt, months)
        assert c["months_of_peace_ru_48_with"] == pytest.approx(_peace(base, months).mean(), abs=1e-12)
        assert c["months_of_peace_ru_48_without"] == pytest.approx(_peace(alt, months).mean(), abs=1e-12)
        assert c["months_gained"] == pytest.approx(d.mean(), abs=1e-12)
        # the paired SE of the same quantity as months_gained (capped at `months`)
        assert c["months_gained_se"] == pytest.approx(d.std(ddof=1) / math.sqrt(200), rel=1e-12)
        assert c["p_no_war_ru_48_with"] == base.p_no_war_ru(months)
        assert c["p_no_war_ru_48_without"] == alt.p_no_war_ru(months)
        assert c["p_war_by_48_with"] == base.p_war_by()["2025-11-30"]
        assert c["p_war_by_48_without"] == alt.p_war_by()["2025-11-30"]
        assert c["p_ru_cn_split_48_with"] == base.p_split_by()["2025-11-30"]
        assert c["p_ru_cn_split_48_without"] == alt.p_split_by()["2025-11-30"]
        assert c["horizon_months"] == 48
    # the policies change what happens (a "without" run that left them on would give 0 here; over 48
    # months stalling gains about 3.3 months and the seesaw about 0.3 at 200 runs, over 12 months
    # stalling about 0.015 and the seesaw nothing)
    assert cf["stalling"]["months_gained"] > (1.0 if months == 48 else 0.0)
    if months == 48:
        assert cf["seesaw"]["months_gained"] != 0.0


def test_counterfactuals_reuse_the_given_base_and_cache(flagship):
    from detente.crisis import run

    base = run(flagship, {"runs": 100, "hypothesis": "article", "record_paths": False}, seed=3)
    cache: dict = {}
    cf = A.counterfactuals(flagship, "article", runs=100, seed=3, base=base, cache=cache)
    assert len(cache) == 2           # one "without" run per policy, kept for the mechanism map
    again = A.counterfactuals(flagship, "article", runs=100, seed=3, cache=cache)
    assert again == cf               # the cached "without" runs and a fresh base give the same numbers
    assert A.counterfactuals(flagship, "article", runs=100, seed=4)["stalling"] != cf["stalling"]


def test_counterfactuals_of_a_scenario_without_policies_are_null():
    from detente.formats import load

    toy = load(TOY)
    assert A.counterfactuals(toy, "live", runs=20, seed=1) == {"stalling": None, "seesaw": None}


# ------------------------------------------------------------------ mechanisms, claims, as-of


def _toy_spec():
    from detente.crisis.spec import load_spec
    from detente.formats import load

    return load_spec(load(TOY).dynamics)


def test_declared_mechanisms_of_the_toy_are_its_block():
    m = A.declared_mechanisms(_toy_spec())
    assert list(m) == ["escalation", "balance", "window"]
    assert m["escalation"] == {"label": "the escalation rung term", "description": "",
                               "off": {"flashpoints[F].beta.rung": 0}, "declared": True}


def test_derived_mechanisms_one_per_policy_channel_and_flashpoint(flagship):
    from detente.crisis.spec import load_spec

    dyn = {k: v for k, v in flagship.dynamics.items() if k not in ("mechanisms", "claims")}
    m = A.declared_mechanisms(load_spec(dyn))
    # the flagship's policies: RU stalls on SSD, the US plays the seesaw between RU and CN, three
    # leak channels and three ally-pressure channels; war parties in UA, TW and PL; believed power
    # paths in US-CN (believer US) and RU-UA (RU); flashpoints UA, TW and BY-PL
    assert list(m) == ["stalling", "seesaw", "leaks", "ally_requests", "war_parties", "beliefs_US-CN", "beliefs_RU-UA",
                       "flashpoint_UA", "flashpoint_TW", "flashpoint_BY-PL"]
    assert all(v["declared"] is False and v["description"] == "" for v in m.values())
    assert m["stalling"]["label"] == "RU's stalling on track SSD"
    assert m["stalling"]["off"] == {"policies.stall.enabled": False}
    assert m["seesaw"]["label"] == "US's seesaw between RU and CN"
    assert m["seesaw"]["off"] == {"policies.seesaw.enabled": False}
    assert m["leaks"]["label"] == "leaks and disinformation (US→CN, US→RU, RU→CN)"
    assert m["leaks"]["off"] == {f"policies.leaks.{i}.rate_m": 0.0 for i in range(3)}
    assert m["ally_requests"]["off"] == {f"policies.ally_pressure.{i}.request_rate_m": 0.0 for i in range(3)}
    assert m["war_parties"]["label"] == "war parties of UA, TW, PL"
    assert m["war_parties"]["off"] == {"actors.UA.hawk_share": 0.0, "actors.TW.hawk_share": 0.0,
                                       "actors.PL.hawk_share": 0.0}
    assert m["beliefs_RU-UA"] == {"label": "believed power path in RU-UA (RU)", "description": "",
                                  "off": {"dyads[RU-UA].beliefs": []}, "declared": False}
    assert m["flashpoint_TW"]["label"] == "flashpoint Taiwan Strait"
    assert m["flashpoint_TW"]["off"] == {"flashpoints[TW].base_hazard_m": 0.0}


def test_switch_text_and_norm():
    assert A._switch_text({"a.b": False, "c[X].d": 0.5, "e": []}) == "a.b = false; c[X].d = 0.5; e = []"
    from detente.crisis.spec import load_spec
    from detente.formats import load

    dyn = dict(load(TOY).dynamics)
    n0 = A._norm(load_spec(dyn))
    # hypotheses, mechanisms and claims are not part of the description that is run
    assert A._norm(load_spec({k: v for k, v in dyn.items() if k not in ("hypotheses", "mechanisms", "claims")})) == n0
    # a number is compared by its resolved value and, when drawn, its range
    assert A._norm(load_spec(dyn, extra={"flashpoints[F].base_hazard_m": 0.02})) != n0
    assert A._norm(load_spec(dyn, extra={"flashpoints[F].base_hazard_m": 0.01})) == n0
    f = n0["flashpoints"][0]
    assert f["base_hazard_m"] == ("num", 0.01, None)
    # a number drawn per run: the same value with another range is another description
    import copy

    drawn = copy.deepcopy(dyn)
    drawn["flashpoints"][0]["base_hazard_m"] = {"value": 0.01, "assumption": {"range": [0.005, 0.02], "draw": "uniform"}}
    nd = A._norm(load_spec(drawn))
    assert nd["flashpoints"][0]["base_hazard_m"] == ("num", 0.01, (0.005, 0.02))
    assert A._norm(load_spec(drawn, extra={"flashpoints[F].base_hazard_m.assumption.range": [0.005, 0.03]})) != nd
    # a fixed assumption is not drawn: its range does not matter
    fixed = copy.deepcopy(drawn)
    fixed["flashpoints"][0]["base_hazard_m"]["assumption"]["draw"] = "fixed"
    assert A._norm(load_spec(fixed))["flashpoints"][0]["base_hazard_m"] == ("num", 0.01, None)
    assert f["escalation"]["rungs"] == 3 and f["id"] == "F"


def test_as_of_overrides_by_hand():
    spec = _toy_spec()       # starts 2021-12-01
    obs = {"states": [{"date": "2022-01-05", "rungs": {"F": 1}}, {"date": "2022-03-10", "rungs": {"F": 2}},
                      {"date": "2022-04-01", "rungs": {"F": 0}}]}
    # Mar → Dec 2022: 10 month ends; the latest state on or before 2022-03-10 is that day's
    over, st = A.as_of_overrides(spec, obs, dt.date(2022, 3, 10), dt.date(2022, 12, 31))
    assert over == {"settings.start": "2022-03-10", "settings.horizon_months": 10,
                    "flashpoints[F].escalation.start_rung": 2}
    assert st["date"] == "2022-03-10"
    # across a year: Dec 2021 → Feb 2023 is 15 month ends; the first state lies after the date
    over, st = A.as_of_overrides(spec, obs, dt.date(2021, 12, 15), dt.date(2023, 2, 1))
    assert over == {"settings.start": "2021-12-15", "settings.horizon_months": 15} and st is None
    # the start date itself is allowed; a question within the same month gives one month
    over, _ = A.as_of_overrides(spec, {}, dt.date(2021, 12, 1), dt.date(2021, 12, 2))
    assert over == {"settings.start": "2021-12-01", "settings.horizon_months": 1}
    with pytest.raises(InputError) as ei:
        A.as_of_overrides(spec, obs, dt.date(2021, 11, 30), dt.date(2022, 12, 31))
    p = ei.value.problems[0]
    assert p.column == "--as-of" and p.value == "2021-11-30" and "2021-12-01" in p.expected
    with pytest.raises(InputError) as ei:
        A.as_of_overrides(spec, obs, dt.date(2022, 5, 1), dt.date(2022, 5, 1))
    p = ei.value.problems[0]
    assert p.column == "--as-of" and p.value == "2022-05-01" and p.expected == "a date before 2022-05-01"


def test_forecast_path_probability_is_the_share_of_runs_with_the_asked_war(flagship):
    from detente.crisis import record as R
    from detente.crisis import run
    from detente.crisis.spec import load_spec

    spec = load_spec(flagship.dynamics)
    obs = R.observed(spec)
    fp = A.forecast_path(flagship, spec, obs, "combined", runs=60, seed=5, dates=[dt.date(2022, 2, 23)])
    assert fp["question"].startswith("Will Russia invade Ukraine before 2023?")
    assert (fp["flashpoint"], fp["initiator"], fp["before"], fp["outcome"], fp["runs"]) == ("UA", "RU", "2023-01-01", 1, 60)
    assert fp["hypothesis"] == "combined" and fp["chosen"].startswith("Before the outcome")
    for row in fp["path"]:
        d = dt.date.fromisoformat(row["date"])
        over, st = A.as_of_overrides(spec, obs, d, dt.date(2022, 12, 31))
        res = run(flagship, {"runs": 60, "hypothesis": "combined", "set": over, "record_paths": False}, seed=5)
        j, ru = res.flashpoints.index("UA"), res.actors.index("RU")
        # a war at UA started by RU whose step ends on or before 2022-12-31 (the day before "before")
        hit = [s >= 0 and res.step_end[s] <= dt.date(2022, 12, 31) and i == ru
               for s, i in zip(res.onset_step[:, j].tolist(), res.onset_initiator[:, j].tolist())]
        assert row["p"] == sum(hit) / 60
        # the question's outcome is 1 (the war came): Brier (p − 1)², SE of a share √(p(1 − p)/(n − 1))
        assert row["brier"] == pytest.approx((row["p"] - 1) ** 2, abs=1e-15)
        assert row["se"] == pytest.approx(math.sqrt(row["p"] * (1 - row["p"]) / 59), abs=1e-15)
        assert row["horizon_months"] == over["settings.horizon_months"]
        assert row["start_rungs"] == (st or {}).get("rungs", {}) and row["state_date"] == (st or {}).get("date")
    rows = {r["date"]: r for r in fp["path"]}
    assert rows["2022-02-19"]["crowd"] == 0.79 and rows["2022-02-19"]["crowd_approximate"] is not None
    assert rows["2022-02-19"]["crowd_brier"] == pytest.approx((0.79 - 1) ** 2, abs=1e-15)     # 0.0441
    assert rows["2022-02-19"]["crowd_source"].startswith("Metaculus community median 0.79")
    assert rows["2021-12-01"]["state_date"] is None or rows["2021-12-01"]["state_date"] <= "2021-12-01"


def test_forecast_path_without_a_question():
    assert A.forecast_path(None, None, {}, None, runs=1, seed=0) is None
    assert A.forecast_path(None, None, None, None, runs=1, seed=0) is None
    with pytest.raises(InputError) as ei:
        A.forecast_path(None, None, {"forecast": None}, None, runs=1, seed=0, dates=[dt.date(2022, 1, 2)])
    p = ei.value.problems[0]
    assert p.value == "2022-01-02" and p.column == "--as-of"
    assert p.message.startswith("--as-of needs a forecast question in the scenario's record (record.forecast: ")


def _all_war(n=4):
    return _res(first_step=np.arange(n, dtype=np.int16), first_flashpoint=np.zeros(n, np.int8),
                first_initiator=np.zeros(n, np.int8))


def _no_war(n=4):
    return _res(first_step=np.full(n, -1, np.int16), first_flashpoint=np.full(n, -1, np.int8),
                first_initiator=np.full(n, -1, np.int8))


def test_evaluate_claims_by_hand():
    spec = _toy_spec()
    # escalation_matters: the map's effect of `escalation` on p_war_horizon must be > 0;
    # war_likely: p_war_horizon itself must be > 0.5
    blocks = {
        "h1": {"mechanisms": {"escalation": {"effects": {"p_war_horizon": {"diff": 0.2, "se": 0.05}},
                                             "inert_reason": None}},
               "backtest": {"events": {"war_ru": 0.3}, "rejected": True, "outcomes": {"war_ru": 0}}},
        "h2": {"mechanisms": {"escalation": {"effects": {"p_war_horizon": {"diff": 0.0, "se": 0.0}},
                                             "inert_reason": "switched off in h2"}},
               "backtest": None},
        "h3": {},
    }
    results = {"h1": _all_war(), "h2": _no_war(), "h3": _res()}
    out = {c["id"]: c for c in A.evaluate_claims(spec, blocks, results)}
    esc = out["escalation_matters"]
    assert esc["mechanisms"] == ["escalation"] and esc["record"] == "nothing happened in the toy world"
    assert esc["record_outcomes"] == {"war_ru": 0}                       # from the first block's back-test
    h1, h2, h3 = (esc["by_hypothesis"][h] for h in ("h1", "h2", "h3"))
    # 0.2 ± 2·0.05 = [0.1, 0.3] > 0
    assert h1["verdict"] == "supported" and h1["tests"][0]["lo"] == pytest.approx(0.1) and "inert_reason" not in h1["tests"][0]
    assert h1["record_events"] == {"war_ru": 0.3} and h1["rejected_by_record"] is True
    assert {k: h1["tests"][0][k] for k in ("output", "op", "value", "mechanism", "meaning")} == {
        "output": "p_war_horizon", "op": ">", "value": 0, "mechanism": "escalation",
        "meaning": "switching escalation off lowers P(war)"}
    # an exactly-zero effect of an inert mechanism: contradicted, with the reason beside it
    assert h2["verdict"] == "contradicted" and h2["tests"][0]["inert_reason"] == "switched off in h2"
    assert h2["record_events"] == {"war_ru": None} and h2["rejected_by_record"] is False
    assert h3["verdict"] == "not evaluated" and h3["tests"][0]["quantity"] is None
    assert "'escalation' under 'h3'" in h3["tests"][0]["why"]
    assert esc["summary"] == "supported under h1; contradicted under h2; not evaluated under h3"
    likely = out["war_likely"]
    # every run at war: 1 ± 0 > 0.5; no run at war: 0 ± 0; the hand result: 0.75 ± 2·0.25 spans 0.5
    assert [likely["by_hypothesis"][h]["verdict"] for h in ("h1", "h2", "h3")] == ["supported", "contradicted",
                                                                                    "undecided"]
    t3 = likely["by_hypothesis"]["h3"]["tests"][0]
    assert (t3["quantity"], t3["se"], t3["lo"], t3["hi"]) == pytest.approx((0.75, 0.25, 0.25, 1.25))
    assert likely["summary"] == "supported under h1; contradicted under h2; undecided under h3"
    assert likely["record_outcomes"] == {}
    # no hypothesis run
    assert A.evaluate_claims(spec, {}, {})[0]["summary"] == "no hypothesis run"


# ------------------------------------------------------------------ run_hypotheses on the toy
def _toy():
    from detente.formats import load

    return load(TOY)


def test_run_hypotheses_fields_equal_the_independent_runs():
    from detente.crisis import run

    toy = _toy()
    obj = A.run_hypotheses(toy, hypotheses=["live", "calm"], runs=300, seed=0, with_counterfactuals=False,
                           mechanisms="claims", mechanism_runs=200, keep_results=True)
    # seed 0 is a seed (not "use the scenario's 7"); the toy has no record
    assert (obj["runs"], obj["seed"], obj["scenario"], obj["start"]) == (300, 0, "toy-crisis", "2021-12-01")
    assert obj["record"] is None and obj["backtest_end"] is None and obj["reference"] is None
    assert obj["backtest_table"] == [] and obj["likelihood_table"] == [] and obj["rejected_by_record"] == []
    assert obj["focal"] == {"actor": "A", "horizon_months": 24, "label": "A: 24 months"}
    assert (obj["horizon_months"], obj["focal_actor"], obj["triangle_actors"]) == (24, "A", ["C", "A", "B"])
    assert obj["flashpoint_names"] == {"F": "the toy border"} and obj["forecast_path"] is None
    for h, label in (("live", "escalation live"), ("calm", "no escalation term")):
        res = run(toy, {"runs": 300, "hypothesis": h, "record_paths": False}, seed=0)
        np.testing.assert_array_equal(obj["_results"][h].first_step, res.first_step)
        b = obj["hypotheses"][h]
        assert b["label"] == label and b["backtest"] is None and b["notes"] == list(res.notes)
        assert b["focal"] == A.focal_summary(res, "A", 24)
        heads = A.headline_outputs(res)
        assert list(b["outputs"]) == heads       # the claims' only plain output (p_war_horizon) is a headline
        for o in heads:
            assert b["outputs"][o] == A.mean_se(A.output_samples(res, o))
        # the map covers the mechanism the claims test, on its own 200 runs with the same seed
        assert list(b["mechanisms"]) == ["escalation"] and b["mechanism_runs"] == 200
        base200 = run(toy, {"runs": 200, "hypothesis": h, "record_paths": False}, seed=0)
        assert b["mechanisms"]["escalation"]["effects"]["p_war_horizon"]["with"] == \
            A.output_samples(base200, "p_war_horizon").mean()
    assert obj["claims"][1]["by_hypothesis"]["live"]["tests"][0]["quantity"] == \
        obj["hypotheses"]["live"]["outputs"]["p_war_horizon"]["value"]


def test_run_hypotheses_defaults_and_choices():
    toy = _toy()
    obj = A.run_hypotheses(toy, hypotheses=["calm"], with_counterfactuals=False)
    assert (obj["runs"], obj["seed"]) == (4000, 7)                   # the scenario's settings
    assert "_results" not in obj and "mechanisms" not in obj["hypotheses"]["calm"]
    with pytest.raises(InputError) as ei:
        A.run_hypotheses(toy, hypotheses=["calm"], runs=10, mechanism_hypotheses=["calm", "live"], mechanisms="all")
    p = ei.value.problems[0]
    assert p.column == "--mechanism-hypotheses" and p.value == "live" and p.expected == "calm"
    with pytest.raises(InputError, match="hypotheses that are not run: live, believer"):
        A.run_hypotheses(toy, hypotheses=["calm"], runs=10, mechanism_hypotheses=["live", "believer"])
    # a scenario without hypotheses runs its base description under the name "base"
    dyn = {k: v for k, v in toy.dynamics.items() if k not in ("hypotheses", "mechanisms", "claims")}
    bare = toy.model_copy(update={"dynamics": dyn})
    obj = A.run_hypotheses(bare, runs=50, seed=1, with_counterfactuals=False, mechanisms="all",
                           mechanism_hypotheses=["base"])
    assert list(obj["hypotheses"]) == [A.BASE]
    b = obj["hypotheses"][A.BASE]
    assert b["label"] == "base scenario (the scenario declares no hypotheses)"
    assert list(b["mechanisms"]) == ["flashpoint_F"] and b["mechanism_runs"] == 50
    # counterfactuals on request: null without policies, computed with cf_runs
    obj = A.run_hypotheses(toy, hypotheses=["live"], runs=40, seed=1, cf_runs=30)
    assert obj["hypotheses"]["live"]["counterfactuals"] == {"stalling": None, "seesaw": None}


def test_backtest_is_the_record_score_of_the_run_hypotheses_block(flagship):
    from detente.crisis import record as R
    from detente.crisis import run
    from detente.crisis.spec import load_spec

    spec = load_spec(flagship.dynamics)
    obs = R.observed(spec)
    res = run(flagship, {"runs": 60, "hypothesis": "ru_preventive", "record_paths": False}, seed=4)
    bt = A.backtest(res, obs, spec.settings.start)
    obj = A.run_hypotheses(flagship, hypotheses=["ru_preventive"], runs=60, seed=4, with_counterfactuals=False)
    block = obj["hypotheses"]["ru_preventive"]["backtest"]
    # the block adds the comparison with the reference (log_lr, bayes_factor, verdict, ...) on top
    assert bt == {k: v for k, v in block.items() if k in bt}
    assert set(block) - set(bt) >= {"log_lr", "bayes_factor", "verdict"}
    assert {"brier", "log_score", "events", "likelihood"} <= set(bt)
    # P(record) is the share of runs that reproduce the record (its hits over the runs)
    assert bt["likelihood"]["p"] == bt["likelihood"]["hits"] / 60


# ------------------------------------------------------------------ the mechanism map on the toy
def test_mechanism_map_statuses_and_reasons_on_the_toy():
    toy = _toy()
    mm = A.mechanism_map(toy, "live", runs=100, seed=1, names=["window", "balance"])
    w = mm["window"]        # its belief exists only under `believer`
    assert w["status"] == "absent" and w["absent_paths"] == ["dyads[A-B].beliefs.0.enabled"]
    assert w["declared"] is True and w["switch"] == "dyads[A-B].beliefs.0.enabled = false"
    assert all(e["diff"] == 0.0 and e["se"] == 0.0 for e in w["effects"].values())
    assert w["inert_reason"] == ("absent from hypothesis 'live': its switch path dyads[A-B].beliefs.0.enabled does "
                                 "not exist there (the hypothesis removes what it switches), so there is nothing to "
                                 "switch off")
    b = mm["balance"]       # measured, and it changes no run (the toy's triangle reaches no hazard)
    assert b["status"] == "measured" and "absent_paths" not in b
    assert b["inert_reason"].startswith("no effect at all over 100 paired runs: switching it off changed no run's history "
                                        "(every paired run has the same wars: dates, places, initiators)")
    assert "in this regime the hazard parts preventive, crisis, moral_hazard, provocation are zero" in b["inert_reason"]
    assert ("(meetings, postponements, expert groups, leaks, readiness to deal, the partners' split, preventive tests "
            "and pressure, commitment capacity φ, rungs, patron support)") in b["inert_reason"]
    # under `calm` the escalation switch is the hypothesis itself, also with a --set on top
    mm = A.mechanism_map(toy, "calm", runs=50, seed=1, names=["escalation"],
                         extra_set={"flashpoints[F].base_hazard_m": 0.02})
    assert mm["escalation"]["status"] == "already_off"
    assert mm["escalation"]["inert_reason"] == (
        "switched off in hypothesis 'calm': its switch (flashpoints[F].beta.rung = 0) leaves the description "
        "unchanged, so the run without it is the run with it")
    with pytest.raises(InputError) as ei:
        A.mechanism_map(toy, "live", runs=10, seed=1, names=["escalation", "nope", "ghost"])
    p = ei.value.problems[0]
    assert (p.column, p.value, p.expected) == ("--mechanisms", "nope,ghost", "escalation, balance, window")


def test_mechanism_map_of_a_weak_mechanism_reads_its_numbers():
    from detente.crisis import run

    toy = _toy()
    weak = {"flashpoints[F].beta.rung": 0.01}     # an escalation term of 1 %: a tiny, noisy effect
    mm = A.mechanism_map(toy, "live", runs=300, seed=1, names=["escalation"], extra_set=weak)
    e = mm["escalation"]
    base = run(toy, {"runs": 300, "hypothesis": "live", "set": weak, "record_paths": False}, seed=1)
    alt = run(toy, {"runs": 300, "hypothesis": "live", "set": {**weak, "flashpoints[F].beta.rung": 0},
                    "record_paths": False}, seed=1)
    for o, eff in e["effects"].items():
        assert eff == A.paired_effect(A.output_samples(base, o), A.output_samples(alt, o))
    pw = e["effects"]["p_war_horizon"]
    assert abs(pw["diff"]) <= 2 * pw["se"] and e["status"] == "measured"
    z = abs(pw["diff"]) / pw["se"]               # the largest z: the first of the tied war outputs
    assert e["inert_reason"].startswith(
        f"within 2 paired SEs of zero on every headline output over 300 paired runs (largest: p_war_horizon "
        f"{pw['diff']:+.4f} ± {pw['se']:.4f}, {z:.1f} SE); the hazard parts (flashpoint × cause, mean per run-month) "
        "it changes most: F escalation ")
    hb, ha = A._hazard_parts(base), A._hazard_parts(alt)
    tb, ta = sum(hb.values()), sum(ha.values())
    assert f"F escalation {hb['F escalation']:.3g} → 0;" in e["inert_reason"]
    assert f"; the total hazard moves {tb:.4g} → {ta:.4g} ({(ta - tb) / tb:+.1%})" in e["inert_reason"]


def test_run_hypotheses_tables_of_the_flagship_come_from_the_blocks(flagship):
    from detente.crisis import record as R
    from detente.crisis import run
    from detente.crisis.spec import load_spec

    obj = A.run_hypotheses(flagship, hypotheses=["combined", "article"], runs=40, seed=2, chunk_size=16,
                           with_counterfactuals=False, forecast=True)
    spec = load_spec(flagship.dynamics)
    # the runs use the chunk size asked for (results depend on it)
    res = run(flagship, {"runs": 40, "hypothesis": "article", "chunk_size": 16, "record_paths": False}, seed=2)
    assert obj["hypotheses"]["article"]["p_war_by"] == res.summary()["p_war_by"]
    assert obj["hypotheses"]["article"]["description"] == spec.hypotheses["article"].description
    assert obj["verdict_rule"] == {"threshold_log_bf": R.LOG_BF_REJECT, "z": R.VERDICT_Z, "upper_level": R.UPPER_LEVEL}
    bt = {h: b["backtest"] for h, b in obj["hypotheses"].items()}
    assert obj["chunk_size"] == 16 and obj["backtest_end"] == "2022-02-28"
    # the record's window ends inside the horizon: P(war by its end) is a headline output
    out = obj["hypotheses"]["article"]["outputs"]["p_war_by_end"]
    assert out == A.mean_se(A.output_samples(res, "p_war_by_end", end="2022-02-28"))
    # the back-test table is sorted by Brier score; both tables copy each block's numbers
    assert [r["hypothesis"] for r in obj["backtest_table"]] == sorted(bt, key=lambda h: bt[h]["brier"])
    for row in obj["backtest_table"]:
        b = bt[row["hypothesis"]]
        assert row == {"hypothesis": row["hypothesis"], "brier": b["brier"], "log_score": b["log_score"],
                       "p_record": b["p_record"], "rejected": b["rejected"],
                       **{f"p_{e}": p for e, p in b["events"].items()}}
        assert "p_war_ru" in row and "p_initiator_RU" in row     # one column per record event
    for row in obj["likelihood_table"]:
        b = bt[row["hypothesis"]]
        assert row == {"hypothesis": row["hypothesis"], "p_record": b["likelihood"]["p"],
                       "p_record_se": b["likelihood"]["se"], "hits": b["likelihood"]["hits"],
                       "log_likelihood": b["likelihood"]["log"], "log_likelihood_se": b["likelihood"]["log_se"],
                       "p_record_upper": b["likelihood"]["upper"], "log_lr": b["log_lr"], "log_lr_se": b["log_lr_se"],
                       "log_lr_interval": b["log_lr_interval"], "bayes_factor": b["bayes_factor"],
                       "verdict": b["verdict"]}
    assert obj["rejected_by_record"] == [h for h in bt if bt[h]["rejected"]]
    # the forecast path is the reference hypothesis's, run with the same runs, seed and chunk size
    ref = obj["reference"]
    fp = A.forecast_path(flagship, spec, R.observed(spec), ref, runs=40, seed=2, chunk_size=16)
    assert obj["forecast_path"] == fp and obj["forecast_path"]["hypothesis"] == ref
    assert obj["forecast_paths"] == {ref: fp}
    # without forecast=True (or as_of) there is no forecast path
    assert A.run_hypotheses(flagship, hypotheses=["article"], runs=10, seed=2, with_counterfactuals=False,
                            mechanisms="none")["forecast_path"] is None


def test_inert_reason_orders_the_hazard_parts_by_their_change():
    # two parts move (one step, 4 runs: part = cause sum / 4): F background 0.4 → 0.1 (−0.3, −75 %) and
    # G escalation 0.9 → 0.5 (−0.4, −44 %): listed by the size of the change, G first, though F moved
    # more in relative terms; the total 1.3 → 0.6 is −53.8 %
    def res(bg, esc):
        cause = np.zeros((1, 2, len(CAUSES)))
        cause[0, 0, CAUSES.index("background")] = 4 * bg
        cause[0, 1, CAUSES.index("escalation")] = 4 * esc
        return _res(diagnostics={"cause": cause})

    eff = {"p_war_horizon": {"diff": 0.01, "se": 0.1}}
    txt = A._inert_reason(eff, ["p_war_horizon"], res(0.4, 0.9), res(0.1, 0.5), False)
    assert txt == ("within 2 paired SEs of zero on every headline output over 4 paired runs (largest: p_war_horizon "
                   "+0.0100 ± 0.1000, 0.1 SE); the hazard parts (flashpoint × cause, mean per run-month) it changes "
                   "most: G escalation 0.9 → 0.5, F background 0.4 → 0.1; the total hazard moves 1.3 → 0.6 (-53.8%); "
                   "in this regime the hazard parts preventive, crisis, moral_hazard, provocation are zero at every "
                   "flashpoint")


def test_mechanism_absent_with_several_switch_paths_is_worded_in_the_plural():
    toy = _toy()
    dyn = dict(toy.dynamics)
    dyn["mechanisms"] = {**dyn["mechanisms"], "window2": {
        "label": "two switches of the believed window",
        "switch": {"dyads[A-B].beliefs.0.enabled": False, "dyads[A-B].beliefs.0.cliff.size": 0.1}}}
    two = toy.model_copy(update={"dynamics": dyn})
    w = A.mechanism_map(two, "live", runs=20, seed=1, names=["window2"])["window2"]
    assert w["status"] == "absent"
    assert w["absent_paths"] == ["dyads[A-B].beliefs.0.enabled", "dyads[A-B].beliefs.0.cliff.size"]
    assert w["inert_reason"] == ("absent from hypothesis 'live': its switch paths dyads[A-B].beliefs.0.enabled, "
                                 "dyads[A-B].beliefs.0.cliff.size do not exist there (the hypothesis removes what it "
                                 "switches), so there is nothing to switch off")


def test_run_hypotheses_carries_set_into_the_forecast_path(flagship, monkeypatch):
    from detente.crisis import record as R
    from detente.crisis.spec import load_spec

    extra = {"flashpoints[UA].base_hazard_m": 0.05}
    calls = _count_batches(monkeypatch)
    obj = A.run_hypotheses(flagship, hypotheses=["combined"], runs=20, seed=2, extra_set=extra,
                           with_counterfactuals=False, mechanisms="none", forecast=True)
    monkeypatch.undo()
    assert calls == [1 + 4]       # the forecast's 4 dates planned with the --set, with the hypothesis' run
    rspec = load_spec(flagship.dynamics, extra=extra)
    want = A.forecast_path(flagship, rspec, R.observed(rspec), obj["reference"], runs=20, seed=2, extra_set=extra)
    assert obj["forecast_path"] == want
    plain = A.forecast_path(flagship, rspec, R.observed(rspec), obj["reference"], runs=20, seed=2)
    assert [r["p"] for r in plain["path"]] != [r["p"] for r in want["path"]]   # the --set matters here


# ------------------------------------------------------------------ switch errors, planning, fits, base forecast
def test_mechanism_switch_errors_name_the_switch_and_keep_each_problem():
    import copy

    toy = _toy()
    dyn = copy.deepcopy(dict(toy.dynamics))
    dyn["flashpoints"][0]["base_hazard_m"] = {"value": 0.01, "assumption": {"range": [0.005, 0.02]}}
    dyn["claims"] = []
    dyn["mechanisms"] = {
        # each path applies alone (0.015 in [0.005, 0.02]; 0.01 in [0.005, 0.012]) but not together
        "both": {"label": "x", "switch": {"flashpoints[F].base_hazard_m.value": 0.015,
                                          "flashpoints[F].base_hazard_m.assumption.range": [0.005, 0.012]}},
        # neither path exists in the base description nor under any hypothesis
        "nowhere": {"label": "y", "switch": {"flashpoints[Z].beta.rung": 0, "dyads[A-Q].beliefs": []}},
        # under `believer` each applies alone, but the first removes the belief the second sets
        "clash": {"label": "z", "switch": {"dyads[A-B].beliefs": [], "dyads[A-B].beliefs.0.cliff.size": 0.5}},
    }
    scn = toy.model_copy(update={"dynamics": dyn})
    with pytest.raises(InputError) as ei:
        A.mechanism_map(scn, "live", runs=10, seed=1, names=["both"])
    (p,) = ei.value.problems
    assert p.message == "mechanisms.both.switch: (--set) value 0.015 outside its assumption range [0.005, 0.012]"
    assert p.column == "dynamics.flashpoints.0.base_hazard_m"
    with pytest.raises(InputError) as ei:
        A.mechanism_map(scn, "live", runs=10, seed=1, names=["nowhere"])
    # one problem per path, in the switch's order, each with the field, value and expectation of --set's own
    p, q = ei.value.problems
    assert p.message == ("mechanisms.nowhere.switch: --set: path 'flashpoints[Z].beta.rung' does not exist in the "
                         "scenario dynamics")
    assert (p.column, p.value, p.expected) == ("flashpoints[Z].beta.rung", 0, "a path such as flashpoints[UA].base_hazard_m")
    assert q.message.startswith("mechanisms.nowhere.switch: --set: path 'dyads[A-Q].beliefs' does not exist")
    assert (q.column, q.value, q.expected) == ("dyads[A-Q].beliefs", [], "a path such as flashpoints[UA].base_hazard_m")
    with pytest.raises(InputError) as ei:
        A.mechanism_map(scn, "believer", runs=10, seed=1, names=["clash"])
    (p,) = ei.value.problems
    assert p.message == ("mechanisms.clash.switch: --set: path 'dyads[A-B].beliefs.0.cliff.size' does not exist in "
                         "the scenario dynamics")
    assert (p.column, p.value, p.expected) == ("dyads[A-B].beliefs.0.cliff.size", 0.5,
                                               "a path such as flashpoints[UA].base_hazard_m")


def test_mechanism_map_in_run_hypotheses_gets_the_chunk_size_and_the_claims_outputs():
    import copy

    from detente.crisis import run

    toy = _toy()
    dyn = copy.deepcopy(dict(toy.dynamics))
    # a claim on an output that is not a headline: the map must carry it for the claim's verdict
    dyn["claims"] = [{"id": "split", "text": "t", "mechanisms": ["escalation"],
                      "tests": [{"mechanism": "escalation", "output": "p_split_horizon", "op": "<", "value": 0.5}]}]
    scn = toy.model_copy(update={"dynamics": dyn})
    obj = A.run_hypotheses(scn, hypotheses=["live"], runs=30, seed=2, chunk_size=7, mechanisms="escalation",
                           keep_results=True)
    m = obj["hypotheses"]["live"]["mechanisms"]["escalation"]
    assert "p_split_horizon" in m["effects"] and "p_split_horizon" not in m["headline"]
    p = {"runs": 30, "hypothesis": "live", "chunk_size": 7, "record_paths": False}
    base, alt = run(scn, p, seed=2), run(scn, {**p, "set": {"flashpoints[F].beta.rung": 0}}, seed=2)
    for o in ("p_war_horizon", "p_split_horizon"):
        assert m["effects"][o] == A.paired_effect(A.output_samples(base, o), A.output_samples(alt, o))
    # chunks of 7 draw other numbers than one chunk of 30 (else the check above would not see the size)
    one = run(scn, {**p, "chunk_size": 8192}, seed=2)
    assert not np.array_equal(one.first_step, base.first_step)
    t = obj["claims"][0]["by_hypothesis"]["live"]["tests"][0]
    assert t["quantity"] == m["effects"]["p_split_horizon"]["diff"]



def test_run_hypotheses_plans_every_pass_and_reports_out_of_sample_hypotheses(flagship, monkeypatch):
    """One analysis of the flagship with every kind of pass: `combined` (the record's reference) and
    `history` (numbers from the frozen ICB fit, trained on 1918–1989: out of sample for the 2021–22
    record), counterfactuals on 8 runs, the map of two mechanisms on 6, the forecast path at the
    record's 4 dates and one more, in chunks of 4."""
    from detente.crisis import engine
    from detente.crisis import record as R
    from detente.crisis.fits import spec_fit_summary
    from detente.crisis.spec import load_spec

    calls = []
    real = engine.run_planned

    def counting(plans, **kw):
        calls.append(sorted((p.params.hypothesis, p.params.runs, tuple(sorted(p.params.set)), p.params.record_paths)
                            for p in plans))
        return real(plans, **kw)

    monkeypatch.setattr(A, "run_planned", counting)
    # and none outside the planned batch (run() is what an engine pass outside an analysis calls)
    monkeypatch.setattr(A, "run", lambda *a, **k: pytest.fail("an engine pass outside the analysis' planned passes"))
    as_of = dt.date(2022, 1, 20)
    obj = A.run_hypotheses(flagship, hypotheses=["combined", "history"], runs=12, seed=3, cf_runs=8, mechanism_runs=6,
                           mechanisms="stalling,leaks", chunk_size=4, forecast=True, as_of=[as_of])
    monkeypatch.undo()
    # every pass planned before any is run, so all go in one batch: per hypothesis its own run (12, paths
    # recorded), the counterfactuals' base and its two policies off (8), the map's base and its two
    # switches off (6); the forecast path of the reference and of the out-of-sample `history` at 5 dates
    fc = ("flashpoints[UA].escalation.start_rung", "settings.horizon_months", "settings.start")
    want = []
    for h in ("combined", "history"):
        want += [(h, 12, (), True), (h, 8, (), False), (h, 8, ("policies.stall.enabled",), False),
                 (h, 8, ("policies.seesaw.enabled",), False), (h, 6, (), False),
                 (h, 6, ("policies.stall.enabled",), False), (h, 6, ("policies.leaks_enabled",), False)]
        want += [(h, 12, fc, False)] * 5
    assert calls == [sorted(want)]
    # the frozen fits, read against the record window 2021-12-01 – 2022-02-28
    spec = load_spec(flagship.dynamics)
    obs = R.observed(spec)
    assert obs["window"] == ["2021-12-01", "2022-02-28"]
    hist = obj["hypotheses"]["history"]["frozen_fit"]
    assert hist == spec_fit_summary(load_spec(flagship.dynamics, hypothesis="history"),
                                    record_start=dt.date(2021, 12, 1), record_end=dt.date(2022, 2, 28))
    assert hist["before_record"] is True and hist["label"] == "frozen fit on ICB 1918–1989, not chosen knowing 2022"
    assert obj["hypotheses"]["combined"]["frozen_fit"] is None
    assert obj["out_of_sample"] == ["history"] and obj["reference"] == "combined"
    # the map reads the record's end too: P(war by 2022-02-28) is its first headline output
    st = obj["hypotheses"]["combined"]["mechanisms"]["stalling"]
    assert st["headline"][0] == "p_war_by_end" and set(st["headline"]) <= set(st["effects"])
    # a forecast path for the reference and one for each out-of-sample hypothesis
    paths = obj["forecast_paths"]
    assert list(paths) == ["combined", "history"] and paths["combined"] == obj["forecast_path"]
    # both at the record's 4 dates and the date asked for
    for h in ("combined", "history"):
        assert [r["date"] for r in paths[h]["path"]] == ["2021-12-01", "2022-01-18", "2022-01-20", "2022-02-13",
                                                         "2022-02-19"]
    assert paths["history"] == A.forecast_path(flagship, spec, obs, "history", runs=12, seed=3, chunk_size=4,
                                               dates=[as_of])
    # the counterfactuals on their own 8 runs in chunks of 4
    assert obj["hypotheses"]["combined"]["counterfactuals"] == A.counterfactuals(flagship, "combined", runs=8, seed=3,
                                                                                 chunk_size=4)


def test_forecast_path_of_a_scenario_without_hypotheses_is_the_base_description(flagship):
    from detente.crisis import record as R
    from detente.crisis.spec import load_spec

    dyn = {k: v for k, v in flagship.dynamics.items() if k not in ("hypotheses", "mechanisms", "claims")}
    bare = flagship.model_copy(update={"dynamics": dyn})
    obj = A.run_hypotheses(bare, runs=10, seed=3, with_counterfactuals=False, forecast=True)
    assert obj["reference"] == A.BASE and obj["out_of_sample"] == []
    spec = load_spec(dyn)
    fp = A.forecast_path(bare, spec, R.observed(spec), None, runs=10, seed=3)
    assert obj["forecast_path"] == fp and fp["hypothesis"] == A.BASE
    assert obj["forecast_paths"] == {A.BASE: fp}


def test_run_hypotheses_counterfactuals_use_the_records_focal_horizon(flagship, monkeypatch):
    # the record's focal horizon (48 months in the file) set to 12: the counterfactuals count months
    # of peace within 12 months, not within the default 48; the --set of a hazard reaches them too
    ex = {"record.focal.horizon_months": 12, "flashpoints[UA].base_hazard_m": 0.05}
    calls = _count_batches(monkeypatch)
    obj = A.run_hypotheses(flagship, hypotheses=["article"], runs=10, seed=1, mechanisms="stalling", mechanism_runs=6,
                           extra_set=ex)
    monkeypatch.undo()
    # the run, its two counterfactual passes and the map's base and stalling-off passes on 6 runs,
    # all with the --set, planned together
    assert calls == [5] and obj["hypotheses"]["article"]["mechanism_runs"] == 6
    assert obj["focal"]["horizon_months"] == 12
    cf = obj["hypotheses"]["article"]["counterfactuals"]
    assert cf == A.counterfactuals(flagship, "article", runs=10, seed=1, extra_set=ex, focal_months=12)
    assert cf != A.counterfactuals(flagship, "article", runs=10, seed=1, extra_set=ex, focal_months=48)
    assert cf != A.counterfactuals(flagship, "article", runs=10, seed=1, focal_months=12)


def _count_batches(monkeypatch):
    """Replace the analysis' engine call by one that records how many passes each batch holds."""
    from detente.crisis import engine

    calls: list[int] = []
    real = engine.run_planned

    def counting(plans, **kw):
        calls.append(len(plans))
        return real(plans, **kw)

    monkeypatch.setattr(A, "run_planned", counting)
    return calls


def test_forecast_runs_are_planned_only_for_a_hypothesis_known_before_the_back_test(flagship, monkeypatch):
    from detente.crisis import engine

    calls = []
    real = engine.run_planned

    def counting(plans, **kw):
        calls.append(sorted((p.params.hypothesis, tuple(sorted(p.params.set))) for p in plans))
        return real(plans, **kw)

    monkeypatch.setattr(A, "run_planned", counting)
    fc = ("flashpoints[UA].escalation.start_rung", "settings.horizon_months", "settings.start")
    # the only hypothesis run is the one whose forecast path is wanted: planned with it (4 record dates)
    obj = A.run_hypotheses(flagship, hypotheses=["article"], runs=12, seed=3, chunk_size=4, with_counterfactuals=False,
                           forecast=True)
    assert obj["reference"] == "article" and calls == [[("article", ())] + [("article", fc)] * 4]
    # two hypotheses, neither the record's reference (`combined`): which one becomes the reference is
    # known only after the back-test, so its 4 forecast runs come in a second batch
    calls.clear()
    obj = A.run_hypotheses(flagship, hypotheses=["article", "ru_preventive"], runs=12, seed=3, chunk_size=4,
                           with_counterfactuals=False, forecast=True)
    ref = obj["reference"]
    assert calls == [[("article", ()), ("ru_preventive", ())], [(ref, fc)] * 4]
    assert obj["forecast_path"]["hypothesis"] == ref and len(obj["forecast_path"]["path"]) == 4


def test_forecast_without_a_record_is_null():
    obj = A.run_hypotheses(_toy(), hypotheses=["calm"], runs=10, seed=1, with_counterfactuals=False, forecast=True)
    assert obj["forecast_path"] is None and obj["forecast_paths"] is None


def test_diag_channels_name_every_plain_engine_quantity():
    # each quantity constant c over the 12 steps: 12·c / 4 runs / 12 steps = c / 4
    names = {"meetings_held": "meetings held per month", "postponed": "meetings postponed per month",
             "online": "online meetings per month", "groups_active": "expert groups active",
             "group_stock": "expert-group progress stock", "leaks": "leaks received per month",
             "fake_leaks": "fake leaks per month", "verified_fakes": "fake leaks caught per month",
             "p_any": "monthly P(any war)"}
    diag = {k: np.full(len(STEP_END), 4.0 * (i + 1)) for i, k in enumerate(names)}
    got = A._diag_channels(_res(triangle=None, diagnostics=diag))
    assert got == {names[k]: float(i + 1) for i, k in enumerate(names)}


def test_cached_run_returns_the_stored_result():
    toy = _toy()
    cache: dict = {}
    kw = dict(runs=5, seed=1, chunk_size=8192, extra_set=None, off={"flashpoints[F].beta.rung": 0})
    first = A._cached_run(cache, toy, "live", **kw)
    assert len(cache) == 1 and A._cached_run(cache, toy, "live", **kw) is first      # not run again
    # another seed, run count or switch is another entry
    assert A._cached_run(cache, toy, "live", **{**kw, "seed": 2}) is not first and len(cache) == 2
    assert A._cached_run(cache, toy, "live", **{**kw, "runs": 6}).runs == 6 and len(cache) == 3
    hot = A._cached_run(cache, toy, "live", **{**kw, "extra_set": {"flashpoints[F].base_hazard_m": 0.02}})
    assert hot is not first and hot.params["set"]["flashpoints[F].base_hazard_m"] == 0.02 and len(cache) == 4
    assert A._cached_run(None, toy, "live", **kw) is not first                           # no cache: a fresh run


def test_inert_reason_names_the_output_furthest_from_zero_in_standard_errors():
    r = _res()
    # z = |diff| / se: a 0.03 ± 0.01 (3 SE), b 0.1 ± 0.1 (1 SE), c 0 ± 0 (0); a no-SE difference is infinitely far
    eff = {"a": {"diff": 0.03, "se": 0.01}, "b": {"diff": 0.1, "se": 0.1}, "c": {"diff": 0.0, "se": 0.0}}
    txt = A._inert_reason(eff, ["c", "b", "a"], r, r, False)
    assert txt.startswith("within 2 paired SEs of zero on every headline output over 4 paired runs (largest: a "
                          "+0.0300 ± 0.0100, 3.0 SE)")
    eff["d"] = {"diff": -0.001, "se": None}
    txt = A._inert_reason(eff, ["c", "b", "a", "d"], r, r, False)
    assert "(largest: d -0.0010 ± 0.0000, inf SE)" in txt
    # the same result twice: nothing moved, every hazard part zero
    assert "; and it moved none of the 1 quantities the engine records per step" in txt   # the split channel only


def test_passes_simulate_each_planned_pass_once():
    from detente.crisis import run
    from detente.crisis.engine import CrisisParams

    toy = _toy()
    ps = A._Passes(toy)
    p1 = CrisisParams(runs=6, hypothesis="live", record_paths=False)
    p2 = CrisisParams(runs=6, hypothesis="calm", record_paths=False)
    assert ps.want(p1, 3) is ps.want(p1, 3) and len(ps.plans) == 1       # the same request: one plan
    ps.want(p2, 3)
    ps.flush()
    assert ps.flushes == 1 and len(ps.results) == 2
    ps.flush()                                                            # nothing new: no engine call
    assert ps.flushes == 1
    r1 = ps.get(p1, 3)
    assert ps.flushes == 1 and ps.get(p1, 3) is r1
    np.testing.assert_array_equal(r1.first_step, run(toy, p1, seed=3).first_step)
    ps.get(p1, 4)                                                         # not planned: simulated when asked for
    assert ps.flushes == 2 and len(ps.results) == 3
    # inside an analysis, passes of its scenario come from it; another scenario's are run directly
    with A._passes(ps):
        assert A._simulate(toy, p1, 3) is r1
        A._want(toy, p2, 9)
        assert len(ps.plans) == 4
        other = toy.model_copy()
        assert A._simulate(other, p1, 3) is not r1
        A._want(other, p2, 10)
        assert len(ps.plans) == 4
    assert A._simulate(toy, p1, 3) is not r1                              # outside the analysis
    # the mechanism switches are validated once per analysis (and per hypothesis, choice and --set)
    with A._passes(A._Passes(toy)):
        first = A._mechanism_switches(toy, "live", None, None)
        assert A._mechanism_switches(toy, "live", None, None)[0] is first[0]     # the same description object
        assert A._mechanism_switches(toy, "calm", None, None)[1] != first[1]
    assert A._mechanism_switches(toy, "live", None, None)[0] is not first[0]


def test_counterfactuals_follow_the_hypothesis_policies(flagship):
    import copy

    dyn = copy.deepcopy(dict(flagship.dynamics))
    dyn["hypotheses"]["no_stall"] = {"label": "no stalling", "set": {"policies.stall.enabled": False}}
    scn = flagship.model_copy(update={"dynamics": dyn})
    cf = A.counterfactuals(scn, "no_stall", runs=10, seed=1)
    # under this hypothesis there is no stalling to switch off; the seesaw is still there
    assert cf["stalling"] is None and cf["seesaw"] is not None


def test_forecast_path_by_hand(monkeypatch):
    """The forecast path read from the hand-made result: every date's run is `_res()` (the engine
    is replaced), so each probability is a count of its runs. At G: run 0 war in step 7 started by
    C, run 1 in step 4 by B, run 3 in step 10 by B."""
    spec = _toy_spec()       # starts 2021-12-01
    obs = {"forecast": {"question": "War at G started by B before April?", "flashpoint": "G", "initiator": "B",
                        "before": "2022-04-01", "outcome": 1, "dates": ["2022-01-10", "2021-12-20"],
                        "crowd": [{"date": "2022-01-10", "p": 0.6, "source": "a crowd", "approximate": True}]},
           "states": [{"date": "2022-01-05", "rungs": {"F": 1}}]}
    seen = []
    result = [_res()]

    def fake(scenario, params, seed):
        seen.append((scenario, params.hypothesis, params.runs, params.chunk_size, params.set, seed))
        return result[0]

    monkeypatch.setattr(A, "_simulate", fake)
    fp = A.forecast_path("scn", spec, obs, "live", runs=4, seed=9, chunk_size=16, dates=[dt.date(2022, 2, 1)])
    assert {k: v for k, v in fp.items() if k != "path"} == {
        "question": "War at G started by B before April?", "flashpoint": "G", "initiator": "B", "before": "2022-04-01",
        "outcome": 1, "hypothesis": "live", "runs": 4, "chosen": ""}
    # by 2022-03-31 (the day before "before": step 5) only run 1's war (step 4, by B) counts: p = 1/4,
    # SE √(¼·¾/3) = 1/4, Brier (1/4 − 1)² = 9/16; the crowd's 0.6 on 2022-01-10: (0.6 − 1)² = 0.16
    # months to the question: Dec 2021 → Mar 2022 is 4 month ends, Jan → Mar 3, Feb → Mar 2
    want = [("2021-12-20", 4, {}, None), ("2022-01-10", 3, {"F": 1}, "2022-01-05"), ("2022-02-01", 2, {"F": 1}, "2022-01-05")]
    assert len(fp["path"]) == len(want)
    for r, (d, months, rungs, sd) in zip(fp["path"], want):
        assert r["date"] == d
        assert (r["p"], r["se"], r["brier"]) == pytest.approx((0.25, 0.25, 0.5625), abs=1e-15)
        assert (r["horizon_months"], r["start_rungs"], r["state_date"]) == (months, rungs, sd)
    crowd = fp["path"][1]
    assert (crowd["crowd"], crowd["crowd_source"], crowd["crowd_approximate"]) == (0.6, "a crowd", True)
    assert crowd["crowd_brier"] == pytest.approx(0.16, abs=1e-15)
    assert all(fp["path"][i][k] is None for i in (0, 2) for k in ("crowd", "crowd_source", "crowd_approximate",
                                                                   "crowd_brier"))
    # each date's run: the hypothesis, runs, chunk size and seed asked for, started on that date
    assert seen[0] == ("scn", "live", 4, 16, {"settings.start": "2021-12-20", "settings.horizon_months": 4}, 9)
    assert seen[1][4] == {"settings.start": "2022-01-10", "settings.horizon_months": 3,
                          "flashpoints[F].escalation.start_rung": 1}
    # by 2022-04-30 (step 7): a war at G started by anyone is runs 0 (step 7, the last step counted)
    # and 1 → 1/2; started by B still 1/4 (run 3's war in step 10 is after); an outcome 0 scores p²
    q = dict(obs["forecast"], before="2022-05-01", initiator=None, outcome=0, dates=["2022-01-10"], crowd=None)
    fp = A.forecast_path("scn", spec, {**obs, "forecast": q}, None, runs=4, seed=9)
    (r,) = fp["path"]
    assert (r["p"], r["brier"], fp["hypothesis"], fp["initiator"], fp["outcome"]) == (0.5, 0.25, A.BASE, None, 0)
    q["initiator"] = "B"
    assert A.forecast_path("scn", spec, {**obs, "forecast": q}, None, runs=4, seed=9)["path"][0]["p"] == 0.25
    # a question closing before the first step ends (2022-01-15): no run counts, not even a war at G
    # in step 1 (run 0 here)
    q.update(before="2022-01-10", dates=["2022-01-05"], initiator=None)
    result[0] = _res(onset_step=np.array([[2, 1], [-1, 4], [-1, -1], [9, 10]], np.int16))
    assert A.forecast_path("scn", spec, {**obs, "forecast": q}, None, runs=4, seed=9)["path"][0]["p"] == 0.0


def test_a_fit_trained_into_the_record_window_is_not_out_of_sample(flagship):
    # the ICB fit's data end in 1989: with the record window opened in 1989 (--set) the fit is no
    # longer "before the record", though it still ends before the window's last year; a --set
    # number replaces the fit's (UA's base hazard is no longer a fitted number)
    obj = A.run_hypotheses(flagship, hypotheses=["history"], runs=5, seed=1, with_counterfactuals=False,
                           extra_set={"record.window": ["1989-06-01", "2022-02-28"], "flashpoints[UA].base_hazard_m": 0.01})
    ff = obj["hypotheses"]["history"]["frozen_fit"]
    paths = [n["path"] for n in ff["numbers"]]
    assert "flashpoints[UA].base_hazard_m" not in paths and "flashpoints[TW].base_hazard_m" in paths
    assert ff["before_record"] is False and ff["label"] == "frozen fit on ICB 1918–1989 (overlaps the record window)"
    assert obj["out_of_sample"] == [] and obj["backtest_end"] == "2022-02-28"


def test_mechanism_map_under_a_hypothesis_runs_the_hypothesis(monkeypatch):
    import copy

    from detente.crisis import run

    toy = _toy()
    # `calm_hot`: the escalation term off and a higher hazard; the escalation switch leaves it as it is
    dyn = copy.deepcopy(dict(toy.dynamics))
    dyn["hypotheses"]["calm_hot"] = {"label": "x", "set": {"flashpoints[F].beta.rung": 0,
                                                          "flashpoints[F].base_hazard_m": 0.02}}
    scn = toy.model_copy(update={"dynamics": dyn})
    mm = A.mechanism_map(scn, "calm_hot", runs=40, seed=2, names=["escalation", "balance"])
    assert mm["escalation"]["status"] == "already_off"
    # the balance switch is measured against calm_hot's own runs, with and without it
    p = {"runs": 40, "hypothesis": "calm_hot", "record_paths": False}
    base, alt = run(scn, p, seed=2), run(scn, {**p, "set": {"triangle.balance_rate": 0}}, seed=2)
    assert mm["balance"]["effects"]["p_war_horizon"] == A.paired_effect(A.output_samples(base, "p_war_horizon"),
                                                                        A.output_samples(alt, "p_war_horizon"))


def test_set_values_that_are_dates_are_accepted():
    # a --set read from YAML may hold a date; the analysis' run and cache keys must still be built
    toy = _toy()
    ex = {"settings.start": dt.date(2021, 12, 1)}
    obj = A.run_hypotheses(toy, hypotheses=["live"], runs=5, seed=1, mechanisms="escalation", extra_set=ex)
    assert obj["start"] == "2021-12-01" and obj["hypotheses"]["live"]["mechanisms"]["escalation"]["status"] == "measured"
    cache: dict = {}
    A.mechanism_map(toy, "live", runs=5, seed=1, names=["escalation"], extra_set=ex, cache=cache)
    assert len(cache) == 1


def test_counterfactuals_by_hand(flagship, monkeypatch):
    """The counterfactual numbers read from hand-made results: the base run is `_res()`, every
    "without" run the same four runs except that run 2 has a war at F (A–B) in step 10 (the
    last month) and the partners split there too."""
    alt = _res(onset_step=np.array([[2, 7], [-1, 4], [10, -1], [9, 10]], np.int16),
               first_step=np.array([2, 4, 10, 9], np.int16), first_flashpoint=np.array([0, 1, 0, 0], np.int8),
               first_initiator=np.array([0, 1, 1, 1], np.int8), split_step=np.array([-1, 5, 11, 0], np.int16))
    offs = []
    monkeypatch.setattr(A, "_run", lambda scenario, h, **kw: offs.append((h, kw["off"], kw["runs"], kw["seed"])) or alt)
    cf = A.counterfactuals(flagship, "article", runs=4, seed=5, base=_res(), focal_months=6)
    assert offs == [("article", {"policies.stall.enabled": False}, 4, 5),
                    ("article", {"policies.seesaw.enabled": False}, 4, 5)]
    # months of peace for A (wars at F), capped at 6: with (1.25, 6, 6, 4.75) → 4.5, without
    # (1.25, 6, 5.25, 4.75) → 4.3125; paired d = (0, 0, 0.75, 0): mean 0.1875, sd 0.375, SE 0.1875
    # P(no war for A within 6 months): 2/4 with, 1/4 without; P(war by the last month end, step 11):
    # 3/4 with, 4/4 without (by the month before, step 9, both 3/4); P(split): 2/4 with, 3/4 without
    assert cf["stalling"] == cf["seesaw"] == pytest.approx({
        "months_of_peace_ru_48_with": 4.5, "months_of_peace_ru_48_without": 4.3125, "months_gained": 0.1875,
        "months_gained_se": 0.1875, "p_no_war_ru_48_with": 0.5, "p_no_war_ru_48_without": 0.25,
        "p_war_by_48_with": 0.75, "p_war_by_48_without": 1.0, "p_ru_cn_split_48_with": 0.5,
        "p_ru_cn_split_48_without": 0.75, "horizon_months": 6}, abs=1e-15)
    # no triangle: the split entries are null
    alt = _res(triangle=None)
    cf = A.counterfactuals(flagship, "article", runs=4, seed=5, base=_res(triangle=None), focal_months=6)
    assert cf["stalling"]["p_ru_cn_split_48_with"] is None and cf["stalling"]["p_ru_cn_split_48_without"] is None


def test_inert_reason_lists_the_quantities_a_switch_moves():
    base = _diag_result()
    d = dict(base.diagnostics, meetings_held=np.full(len(STEP_END), 4.0), leaks=np.zeros(len(STEP_END)))
    alt = _res(diagnostics=d, runs=4)
    eff = {"p_war_horizon": {"diff": 0.0, "se": 0.1}}
    txt = A._inert_reason(eff, ["p_war_horizon"], base, alt, False)
    # leaks 1.375 → 0 (relative change 1) before meetings 0.5 → 1 (0.5); nothing else moved, no hazard part
    assert ("; it does move leaks received per month 1.375 → 0, meetings held per month 0.5 → 1; but no hazard part "
            "(flashpoint × cause) changes by more than 1%") in txt


def test_unknown_mechanism_of_a_scenario_without_any():
    import copy

    toy = _toy()
    # no flashpoint, policy, war party or belief: no mechanism can be derived either
    dyn = copy.deepcopy(dict(toy.dynamics))
    dyn["flashpoints"], dyn["claims"] = [], []
    del dyn["mechanisms"]
    bare = toy.model_copy(update={"dynamics": dyn})
    with pytest.raises(InputError) as ei:
        A.mechanism_map(bare, "live", runs=5, seed=1, names=["escalation"])
    p = ei.value.problems[0]
    assert (p.column, p.value, p.expected) == ("--mechanisms", "escalation", "no mechanisms declared")


def test_inert_reason_of_a_switch_that_adds_hazard_to_none():
    # no hazard at all with the mechanism, F background 0.1 without it: the part is listed, and the
    # total's relative change (undefined from 0) is written as +0.0%
    cause = np.zeros((1, 2, len(CAUSES)))
    cause[0, 0, CAUSES.index("background")] = 0.4        # 0.4 / 4 runs / 1 step = 0.1
    base, alt = _res(diagnostics={"cause": np.zeros((1, 2, len(CAUSES)))}), _res(diagnostics={"cause": cause})
    txt = A._inert_reason({"p_war_horizon": {"diff": 0.0, "se": 0.1}}, ["p_war_horizon"], base, alt, False)
    assert "it changes most: F background 0 → 0.1; the total hazard moves 0 → 0.1 (+0.0%)" in txt


def test_a_set_that_removes_what_a_switch_needs_everywhere_is_an_error():
    # `window` switches A's belief, which only `believer` declares; a --set that empties the beliefs
    # on top of every hypothesis leaves the switch nowhere to apply (not merely absent here)
    with pytest.raises(InputError) as ei:
        A.mechanism_map(_toy(), "believer", runs=5, seed=1, names=["window"], extra_set={"dyads[A-B].beliefs": []})
    p = ei.value.problems[0]
    assert p.message.startswith("mechanisms.window.switch: --set: path 'dyads[A-B].beliefs.0.enabled' does not exist")
    assert (p.column, p.value) == ("dyads[A-B].beliefs.0.enabled", False)


def test_mechanism_map_of_the_base_description_words_its_reasons():
    import copy

    toy = _toy()
    dyn = copy.deepcopy(dict(toy.dynamics))
    del dyn["hypotheses"]
    dyn["claims"] = []
    bare = toy.model_copy(update={"dynamics": dyn})
    mm = A.mechanism_map(bare, None, runs=5, seed=1, names=["escalation"], extra_set={"flashpoints[F].beta.rung": 0})
    assert mm["escalation"]["inert_reason"] == (
        "switched off in the base description: its switch (flashpoints[F].beta.rung = 0) leaves the description "
        "unchanged, so the run without it is the run with it")
