"""Conformance of the ``bdm`` model with the reference implementations and published numbers
(spec ``bdm.md`` section 10; fixtures ``conformance/bdm/``, copied to ``tests/fixtures/bdm``)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bdm_helpers import FIX, case_scenario, compare_trajectory, expected, scripted_resolver
from detente.models.bdm import BDMParams, probability_matrix, run_issue
from detente.models.registry import run_model

VARIANTS = ("scholz2011", "masad2014", "masad2016")
CASES = ("emission", "greece", "russia")


def _run(variant, case, root=FIX, resolver=None, **kw):
    kw.setdefault("rounds", 10)
    return run_issue(case_scenario(case, root), "issue", BDMParams(variant=variant, **kw),
                     rng=np.random.default_rng(0), resolver=resolver)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("case", CASES)
def test_trajectory_matches_reference(variant, case):
    """Cases 8, 11, 15, 17, 24: full 10-round trajectories (1e-9 round 1, 1e-6 later; same events).
    masad2016 emission is compared conditional on the recorded conflict winners."""
    ref = expected(f"{variant}__{case}.json")
    res = scripted_resolver(ref) if variant == "masad2016" else None
    ir = _run(variant, case, resolver=res)
    assert compare_trajectory(ir, ref, normalised=variant == "masad2016") == []


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("case", CASES)
def test_trajectory_matches_shared_reference(shared, variant, case):
    """The same comparison against the shared originals (skips without ../shared)."""
    root = shared / "conformance" / "bdm"
    ref = expected(f"{variant}__{case}.json", root)
    res = scripted_resolver(ref) if variant == "masad2016" else None
    ir = _run(variant, case, root=root, resolver=res)
    assert compare_trajectory(ir, ref, normalised=variant == "masad2016") == []


def test_local_fixtures_are_copies_of_shared(shared):
    root = shared / "conformance" / "bdm"
    for sub in ("inputs", "expected"):
        for p in (root / sub).iterdir():
            assert (FIX / sub / p.name).read_bytes() == p.read_bytes(), p.name


# ------------------------------------------------------------------ round 0 (cases 1-5)


def test_initial_summaries():
    ir = _run("scholz2011", "emission", rounds=0)
    r0 = ir.rounds[0]
    assert abs(r0.mean - 7.389955686853767) < 1e-12
    assert r0.median == 7.0
    for v in VARIANTS:
        g = run_issue(case_scenario("greece"), "issue", BDMParams(variant=v, rounds=0), rng=np.random.default_rng(0)).rounds[0]
        assert abs(g.mean - 82.22222222222223) < 1e-9 and g.median == 100.0
        ru = run_issue(case_scenario("russia"), "issue", BDMParams(variant=v, rounds=0), rng=np.random.default_rng(0)).rounds[0]
        assert abs(ru.mean - 68.831169) < 1e-6 and abs(ru.median - 80) < 1e-6
    uk = run_issue(case_scenario("uk_emu"), "issue", BDMParams(variant="scholz2011", rounds=0), rng=np.random.default_rng(0)).rounds[0]
    assert abs(uk.mean - 5.321569) < 1e-6
    assert uk.median == 6.0
    uk14 = run_issue(case_scenario("uk_emu"), "issue", BDMParams(variant="masad2014", rounds=0), rng=np.random.default_rng(0)).rounds[0]
    assert uk14.median == 6.0


# ------------------------------------------------------------------ diagnostics


@pytest.fixture(scope="module")
def diag():
    return expected("emission_diagnostics.json")


def test_scholz2011_belgium_quadrant(diag):
    """Case 7: Belgium's view after the round-1 risk update, vs the reference (1e-9) and the
    published figure (0.03)."""
    ir = _run("scholz2011", "emission", rounds=1)
    table = {(p["actor"], p["other"]): p for p in ir.extra["perception"]}
    pub = expected("published_targets.json")["belgium_quadrant"]["points"]
    for other, v in diag["scholz2011"]["belgium_view_round1"]["values"].items():
        p = table[("Belgium", other)]
        assert abs(p["eu_actor"] - v["eu_belgium_challenges_j"]) < 1e-9
        assert abs(p["eu_other"] - v["eu_j_challenges_belgium"]) < 1e-9
        assert abs(p["eu_actor"] - pub[other][0]) <= 0.03 and abs(p["eu_other"] - pub[other][1]) <= 0.03


def test_scholz2011_all_pairs_probability(diag):
    ir = _run("scholz2011", "emission", rounds=1)
    sc = case_scenario("emission")
    a = sc.issue_arrays("issue")
    r = np.array([ir.rounds[1].extra["risk_exponents"][x] for x in a.actors])
    P = probability_matrix(a.position, a.capability * a.salience, rule="all_pairs", delta=6.0, voter_r=r)
    be, fr = a.actors.index("Belgium"), a.actors.index("France")
    vals = diag["scholz2011"]["probability_after_round1_risk_update"]["values"]
    assert abs(P[be, fr] - vals["P(7 beats 10)"]) < 1e-12
    assert abs(P[fr, be] - vals["P(10 beats 7)"]) < 1e-12


def test_masad2014_round1(diag):
    """Case 11: round-1 r, vote() = 10, mean, events, Belgium's EU row."""
    ir = _run("masad2014", "emission", rounds=1)
    r1 = ir.rounds[1]
    assert r1.median == 10.0
    assert abs(r1.mean - 7.444520171019051) < 1e-12
    for other, v in diag["masad2014"]["belgium_eu_row_round1"]["values"].items():
        assert abs(r1.extra["eu"]["Belgium"][other] - v) < 1e-9
    ev = {(e["actor"], e["counterpart"], e["type"]) for e in r1.extra["events"]}
    assert ev == {("Luxembourg", "France", "confrontation"), ("Ireland", "France", "compromise")}
    a = case_scenario("emission").issue_arrays("issue")
    P = probability_matrix(a.position, a.capability * a.salience, rule="net_vote", delta=6.0)
    be, fr = a.actors.index("Belgium"), a.actors.index("France")
    vals = diag["masad2014"]["probability_initial"]["values"]
    assert abs(P[be, fr] - vals["P(Belgium beats France)"]) < 1e-12 and P[fr, be] == vals["P(France beats Belgium)"]


def test_masad2016_step0(diag):
    """Cases 12-14: r_i,0, the step-0 EU matrix, step-1 conflict P(Belgium), printed P."""
    ref = expected("masad2016__emission.json")
    ir = _run("masad2016", "emission", rounds=1, resolver=scripted_resolver(ref))
    r1 = ir.rounds[1]
    for a, v in diag["masad2016"]["risk_exponents_step0"]["values"].items():
        assert abs(r1.extra["risk_exponents"][a] - v) < 1e-9
    dissertation = [1.12, 1.00, 0.50, 1.12, 1.02, 1.02, 2.00, 0.65, 1.45, 1.56]
    got = list(r1.extra["risk_exponents"].values())
    assert max(abs(g - d) for g, d in zip(got, dissertation)) <= 0.005 + 1e-12
    for s, row in diag["masad2016"]["eu_matrix_step0"]["values"].items():
        for t, v in row.items():
            assert abs(r1.extra["eu"][s][t] - v) < 1e-9
    (c,) = r1.extra["conflicts"]
    p_be = c["p_a"] if c["a"] == "Belgium" else 1 - c["p_a"]
    assert abs(p_be - diag["masad2016"]["conflict_belgium_vs_netherlands_step1"]["values"]["P_Belgium"]) < 1e-9
    a = case_scenario("emission").issue_arrays("issue")
    y = (a.position - 4) / 6
    P = probability_matrix(y, a.capability * a.salience, rule="printed")
    be, fr = a.actors.index("Belgium"), a.actors.index("France")
    vals = diag["masad2016"]["probability_initial"]["values"]
    assert abs(P[be, fr] - vals["P(Belgium beats France)"]) < 1e-12
    assert abs(P[be, fr] + P[fr, be] - 1) < 1e-12


def test_masad2016_montecarlo():
    """Case 16: 200 seeded runs; cluster (0.7077, 0.5) within 3 binomial sd of 125/200, mean of
    final means within 3 sd/sqrt(n) of the reference."""
    ref = expected("masad2016_montecarlo.json")["cases"]["emission"]
    res = run_model(case_scenario("emission"), "bdm", variant="masad2016", seed=1,
                    params={"monte_carlo": 200, "record_eu": False})
    n = 200
    finals = []
    ss = np.random.SeedSequence(1).spawn(n)
    for k in range(n):
        ir = run_issue(case_scenario("emission"), "issue", BDMParams(variant="masad2016", record_eu=False),
                       rng=np.random.default_rng(ss[k]))
        finals.append((ir.rounds[-1].extra["mean_normalised"], ir.rounds[-1].extra["median_normalised"]))
    hits = sum(abs(m - 0.7077) < 5e-4 and abs(md - 0.5) < 1e-9 for m, md in finals)
    p = 125 / 200
    assert abs(hits - n * p) <= 3 * math.sqrt(n * p * (1 - p)), hits
    means = np.array([m for m, _ in finals])
    assert abs(means.mean() - ref["final_mean"]["mean"]) <= 3 * ref["final_mean"]["sd"] / math.sqrt(n)
    mc = res.issues["issue"].extra["monte_carlo"]
    assert mc["runs"] == 200 and mc["final_mean"]["interval"][0] <= mc["final_mean"]["interval"][1]


# ------------------------------------------------------------------ published series


def test_published_mean_series_scholz2011():
    """Case 9 (gate): the published per-round means within 0.07."""
    pub = expected("published_targets.json")["per_round_series"]
    ir = _run("scholz2011", "emission")
    got = [r.mean for r in ir.rounds]
    assert max(abs(g - p) for g, p in zip(got, pub["mean"])) <= pub["tolerance"]["mean"]


def test_published_median_series_report(capsys):
    """Case 10 (report only): print which rounds each variant matches within 0.1."""
    pub = expected("published_targets.json")["per_round_series"]
    for v in ("detente",) + VARIANTS:
        ir = _run(v, "emission")
        off = [k for k, (r, p) in enumerate(zip(ir.rounds, pub["median"])) if p is not None and abs(r.median - p) > 0.1]
        grid = [k for k, (r, p) in enumerate(zip(ir.rounds, pub["median"])) if p is not None and abs(round(r.median, 1) - p) > 1e-9]
        print(v, "median rounds outside +-0.1:", off, "; not equal on the 0.1 grid:", grid)
    ir = _run("scholz2011", "emission")
    grid = [k for k, (r, p) in enumerate(zip(ir.rounds, pub["median"])) if p is not None and abs(round(r.median, 1) - p) > 1e-9]
    off = [k for k, (r, p) in enumerate(zip(ir.rounds, pub["median"])) if p is not None and abs(r.median - p) > 0.1]
    # as the reference implementation: rounds 2 (9.611 vs 9.9) and 9 (9.671 vs 7.0) are off by
    # more than 0.1; round 6 (7.472 vs 7.4) is within 0.1 but not on the 0.1 grid.
    assert off == [2, 9]


def test_not_int_truncated():
    """Case 22: Bayramli's int-truncated exponent gives medians 10, 7, 10, 7; we must not."""
    ir = _run("masad2014", "emission", rounds=4)
    assert [r.median for r in ir.rounds[1:5]] != [10, 7, 10, 7]
