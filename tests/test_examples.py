"""detente.examples: the synthetic scenario of the scaling studies."""

from __future__ import annotations


def test_random_scenario_is_seeded_and_within_its_bounds():
    from detente.examples import random_scenario

    a, b, c = random_scenario(40, seed=3), random_scenario(40, seed=3), random_scenario(40, seed=4)
    assert a.model_dump() == b.model_dump() and a.model_dump() != c.model_dump()
    assert [x.id for x in a.actors] == [f"A{k}" for k in range(40)]
    assert all(0.1 <= x.capability <= 1 for x in a.actors)
    assert all(0 <= s.position <= 100 and 0.1 <= s.salience <= 1 for s in a.stances)
