"""SMP: checks that mutation testing showed missing (issue 19): the ideal-adjustment
(affinity) matrix of ``simulate``, ``report=False`` with a generator, and the probability
table of a one-dimensional run."""

from __future__ import annotations

import numpy as np
import pytest

from detente.models import smp
from detente.scenario import Actor, Issue, Scenario, Stance


def arrays(n: int = 5, k: int = 2, seed: int = 4):
    rng = np.random.default_rng(seed)
    cap = rng.uniform(1, 10, n)
    pos = rng.uniform(0, 1, (n, k))
    sal = rng.uniform(0.2, 1, (n, k)) / k
    return cap, pos, sal


def test_identity_affinity_is_no_affinity_and_other_affinities_pull_ideals():
    cap, pos, sal = arrays()
    p = smp.SMPParams(rounds=3)
    plain = smp.simulate(cap, pos, sal, p, rng=np.random.default_rng(0))
    eye = smp.simulate(cap, pos, sal, p, affinity=np.eye(5), rng=np.random.default_rng(0))
    assert np.array_equal(plain.positions, eye.positions) and np.array_equal(plain.ideals, eye.ideals)
    assert np.array_equal(plain.ideals, plain.positions)  # without affinity ideals follow positions
    # actor 0 puts weight .5 on its own new position, .25 on actor 1's and keeps .25 of its old
    # ideal; the others follow their own positions (spec: ideal' = A x' + (1 - min(1, row sum)) ideal)
    A = np.eye(5)
    A[0, :2] = [0.5, 0.25]
    tr = smp.simulate(cap, pos, sal, p, affinity=A, rng=np.random.default_rng(0))
    x1 = tr.positions[1]
    assert tr.ideals[1, 0] == pytest.approx(0.5 * x1[0] + 0.25 * x1[1] + 0.25 * pos[0], abs=1e-15)
    assert np.array_equal(tr.ideals[1, 1:], x1[1:])
    assert not np.array_equal(tr.positions, plain.positions[: tr.num_states])  # the ideal moves actor 0's offers
    with pytest.raises(ValueError, match="N x N"):
        smp.simulate(cap, pos, sal, p, affinity=np.eye(4))


def test_report_false_skips_the_reported_probabilities_with_a_generator_too():
    cap, pos, sal = arrays()
    p = smp.SMPParams(rounds=2)
    on = smp.simulate(cap, pos, sal, p, rng=np.random.default_rng(0))
    off = smp.simulate(cap, pos, sal, p, rng=np.random.default_rng(0), report=False)
    assert np.all(np.isfinite(on.probabilities)) and np.all(np.isnan(off.probabilities))
    assert off.classes == [[] for _ in range(off.num_states)]
    assert np.array_equal(on.positions, off.positions)


def test_tables_of_a_one_dimensional_run():
    sc = Scenario(salience_scale="unit", actors=[Actor(id=a, capability=c) for a, c in zip("abc", (3.0, 2.0, 1.0))],
                  issues=[Issue(id="x", lower=0, upper=10)],
                  stances=[Stance(actor=a, issue="x", position=x, salience=0.8) for a, x in zip("abc", (1.0, 5.0, 9.0))])
    res = smp.run(sc, smp.SMPParams(rounds=2))
    pos, prob = smp.tables(res)
    rounds = res.issues["x"].rounds
    assert list(prob.columns) == ["state", "actor", "probability"]
    assert len(prob) == len(rounds) * 3 == len(pos)
    for rr in rounds:
        t = rr.extra["state"]
        got = prob[prob.state == t].set_index("actor").probability.to_dict()
        assert got == pytest.approx(rr.extra["probabilities"], abs=0)
    assert sum(prob[prob.state == 0].probability) == pytest.approx(1.0, abs=1e-12)
