"""SMP building blocks against the 226 unit values computed by KTAB's own functions
(``conformance/smp/expected/unit_cases.jsonl``, copied to ``tests/fixtures/smp``), plus
invariants of the blocks that KTAB does not test."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from detente.models import smp

FIX = Path(__file__).resolve().parent / "fixtures" / "smp"
VR = smp.PARAM_OPTIONS["VotingRule"]
VPM = smp.PARAM_OPTIONS["VictoryProbModel"]
PCM = smp.PARAM_OPTIONS["PCEModel"]
RR = smp.PARAM_OPTIONS["BigRRange"]
RA = smp.PARAM_OPTIONS["BigRAdjust"]
TPC = smp.PARAM_OPTIONS["ThirdPartyCommit"]
IVB = smp.PARAM_OPTIONS["InterVecBrgn"]


def _lines(path: Path) -> list[dict]:
    return [json.loads(s) for s in path.read_text().splitlines() if s.strip()]


UNITS = _lines(FIX / "unit_cases.jsonl")


def close(actual, expected) -> None:
    a = np.asarray(actual, float).ravel()
    e = np.asarray(expected, float).ravel()
    assert a.shape == e.shape
    tol = 1e-9 * np.maximum(1.0, np.abs(e))
    assert np.all(np.abs(a - e) <= tol), (a, e)


def _check(c: dict) -> None:
    fn = c["fn"]
    if fn == "vote":
        close(smp.vote(VR[c["vr"]], c["w"], c["u1"], c["u2"]), c["out"])
    elif fn == "bsUtil":
        close(smp.bs_util(c["d"], c["R"]), c["out"])
    elif fn == "bvDiff":
        close(smp.bv_diff(c["diff"], c["sal"]), c["out"])
    elif fn == "bigRfromProb":
        close(smp.big_r_from_prob(c["p"], RR[c["rr"]]), c["out"])
    elif fn == "estNRA":
        close(smp.est_nra(c["rh"], c["ri"], RA[c["ra"]]), c["out"])
    elif fn == "probCE2":
        V, p = smp.pce(np.array(c["coalitions"]), VPM[c["vpm"]], PCM[c["pcm"]])
        close(V, c["victProb"])
        close(p, c["p"])
    elif fn == "scalarPCE":
        p = smp.scalar_pce(c["w"], np.array(c["u"]), VR[c["vr"]], VPM[c["vpm"]], PCM[c["pcm"]])
        close(p, c["p"])
    elif fn == "thirdPartyVoteSU":
        v, a, b = smp.third_party_vote(c["wk"], VR[c["vr"]], TPC[c["tpc"]], c["pik"], c["uki"], c["ukj"], c["ukk"])
        close([v, a, b], c["out"])
        assert c["pjk"] == pytest.approx(1 - c["pik"])
    elif fn == "vProbLittle":
        close(smp.little_contest_prob(VR[c["vr"]], c["wn"], c["uni"], c["unj"], c["ci"], c["cj"]), c["out"])
    elif fn == "interpolateBrgn":
        bi, bj = smp.interpolate_bargain(IVB[c["ivb"]], c["posI"], c["salI"], c["posJ"], c["salJ"], c["prbI"], c["prbJ"])
        close(bi, c["bI"])
        close(bj, c["bJ"])
    else:  # pragma: no cover
        raise AssertionError(f"unknown unit function {fn}")


def test_fixture_has_all_226_values():
    assert len(UNITS) == 226


@pytest.mark.parametrize("case", UNITS, ids=[f"{c['fn']}-{k}" for k, c in enumerate(UNITS)])
def test_unit_value(case):
    _check(case)


def test_shared_unit_values_match_the_copy(shared):
    """The shared file, when present, holds the same values (and passes)."""
    lines = _lines(shared / "conformance" / "smp" / "expected" / "unit_cases.jsonl")
    assert lines == UNITS


# ----------------------------------------------------------------------- invariants


@pytest.mark.parametrize("vpm", VPM)
@pytest.mark.parametrize("pcm", PCM)
def test_pce_sums_to_one_and_victory_antisymmetric(vpm, pcm):
    rng = np.random.default_rng(7)
    w = rng.uniform(1, 100, 9)
    u = rng.uniform(0, 1, (9, 6))
    for rule in VR:
        S = smp.coalitions(w, u, rule)
        V, p = smp.pce(S, vpm, pcm)
        assert p.sum() == pytest.approx(1.0, abs=1e-12)
        assert np.all(p >= 0)
        assert np.allclose(V + V.T, 1.0, atol=1e-12)
        assert np.all(np.diag(V) == 0.5)


def test_cyclic_markov_incentive_gives_thirds():
    c = next(c for c in UNITS if c["fn"] == "probCE2" and c["case"] == "C2_cyclic" and c["pcm"] == 1 and c["vpm"] == 0)
    _, p = smp.pce(np.array(c["coalitions"]), "Linear", "MarkovIncentive")
    assert np.allclose(p, 1 / 3, atol=1e-6)


def test_asymprosp_coalitions_discount_higher_index():
    # one voter, utility 1 for option 1 and 0 for option 0: the vote for the higher index
    # (option 1) is discounted by 2/3; for the lower index it is not.
    S = smp.coalitions([3.0], np.array([[0.0, 1.0]]), "ASymProsp")
    assert S[1, 0] == pytest.approx(1e-8 + 2.0)
    S = smp.coalitions([3.0], np.array([[1.0, 0.0]]), "ASymProsp")
    assert S[0, 1] == pytest.approx(1e-8 + 3.0)


def test_third_party_no_and_full_commit_votes_vanish():
    for tpc in ("NoCommit", "FullCommit"):
        v, _, _ = smp.third_party_vote(40.0, "Prop", tpc, 0.7, 0.8, 0.4, 1.0)
        assert v == 0.0


def test_equal_probabilities_give_zero_risk():
    assert np.all(smp.big_r_from_prob([0.25] * 4, "Mid") == 0.0)


def test_params_by_name_and_code():
    p = smp.SMPParams(VotingRule="PropCbc", pce_model="MarkovIncentive")
    assert p.voting_rule == "PropCbc"
    assert p.resolved().codes() == [0, 1, 0, 3, 1, 1, 1, 1, 0]
    assert smp.params_from_codes([0, 0, 0, 2, 1, 1, 1, 1, 0]).resolved() == smp.SMPParams().resolved()
    with pytest.raises(ValidationError, match="voting_rule"):
        smp.SMPParams(voting_rule="Majority")
    with pytest.raises(ValidationError, match="bogus"):
        smp.SMPParams(bogus=1)


@pytest.mark.parametrize("rule", [r for r in VR if r != "ASymProsp"])
def test_antisymmetric_shortcut_equals_pairwise_evaluation(rule):
    """The fast path equals KTAB's a > b evaluation bit for bit (exact ties stay exact)."""
    rng = np.random.default_rng(3)
    w = rng.uniform(0, 100, 12)
    u = rng.uniform(0, 1, (12, 9))
    u[:, 5] = u[:, 2]
    S = smp.coalitions(w, u, rule)
    ref = np.full((9, 9), 1e-8)
    for a in range(9):
        for b in range(a):
            v = smp.vote(rule, w, u[:, a], u[:, b])
            ref[a, b] = 1e-8 + np.sum(np.maximum(v, 0))
            ref[b, a] = 1e-8 + np.sum(np.maximum(-v, 0))
    assert np.array_equal(S, ref)
