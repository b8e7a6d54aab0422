"""Reference-mode REX replays the reference implementation draw for draw (issue 5, spec §2.10).

``fixtures/exchange/rex_reference_draws.json`` holds REX runs of the reference implementation
(``decide-exchange-model`` 2025.3.1, 28-digit Decimal; recorded by
``fixtures/exchange/make_rex_reference.py``): every draw (u, v, z) it made, keyed by round and
candidate, in order, and the forecasts and realized exchanges of every round. Here detente's
``mode="reference"`` is fed the same draws for the same candidates (``_Round._draws`` is the
one place the model draws them) and must realize the same exchanges with the same votes and
reach the same forecasts, at 1e-9, using every recorded draw and no other.

The Tier C ensembles (``test_exchange_conformance.py``) compare distributions with detente's
own generator; this test pins the move rule itself, which those ensembles can only sample.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import exchange_decide as dec
from detente.models import exchange as ex

FIX = Path(__file__).parent / "fixtures" / "exchange"
REF = json.loads((FIX / "rex_reference_draws.json").read_text())
RUNS = [(case, seed) for case, c in REF["cases"].items() for seed in c["seeds"]]


class ReplayedDraws:
    """Hands out the reference's draws per (round, I, J, p, q) in the order it made them."""

    def __init__(self, draws: list, actors: tuple, issues: tuple):
        self.queues = {tuple(d[:5]): [list(x) for x in d[5:]] for d in draws}
        self.actors, self.issues = actors, issues
        self.round = -1
        self.missing: list[tuple] = []

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        replay = self
        init = ex._Round.__init__

        def counting_init(rd, *a, **k):
            replay.round += 1
            init(rd, *a, **k)

        def draws(rd, cand):
            out = []
            for c in np.asarray(cand).tolist():
                I, J, p, q, _ = rd.IJPQ[c].tolist()
                key = (replay.round, replay.actors[I], replay.actors[J], replay.issues[p], replay.issues[q])
                queue = replay.queues.get(key)
                if queue:
                    out.append(queue.pop(0))
                else:  # the reference made no (further) draw here: a rule difference
                    replay.missing.append(key)
                    out.append([0.5, 0.5, 0.5])
            return np.array(out, float).reshape(-1, 3)

        monkeypatch.setattr(ex._Round, "__init__", counting_init)
        monkeypatch.setattr(ex._Round, "_draws", draws)

    def unused(self) -> list[tuple]:
        return [k for k, q in self.queues.items() if q]


@pytest.mark.parametrize("case,seed", RUNS, ids=[f"{c}-seed{s}" for c, s in RUNS])
def test_reference_mode_rex_replays_reference_draws(monkeypatch, case, seed):
    c = REF["cases"][case]
    run = c["seeds"][seed]
    data = dec.data(FIX / c["input"])
    replay = ReplayedDraws(run["draws"], data.actors, data.issues)
    replay.install(monkeypatch)
    params = ex.ExchangeParams(variant="rex", p=c["p"], mode="reference", rounds=c["rounds"])
    sim = ex.simulate(data, params, rng=np.random.default_rng(0))
    assert replay.missing == [], "detente drew for candidates the reference did not draw for"
    assert replay.unused() == [], "the reference drew for candidates detente never computed"
    for t, (ours, ref) in enumerate(zip(sim.rounds, run["rounds"], strict=True)):
        got = [[data.actors[e["I"]], data.actors[e["J"]], data.issues[e["p"]], data.issues[e["q"]]]
               for e in ours.exchanges]
        assert got == [e[:4] for e in ref["exchanges"]], f"round {t}: realized exchanges differ"
        for e, r in zip(ours.exchanges, ref["exchanges"]):
            assert (e["yI"], e["yJ"]) == pytest.approx((r[4], r[5]), abs=1e-9)
        for d, issue in enumerate(data.issues):  # these inputs are on 0-100 scales
            assert ours.voting_forecast[d] == pytest.approx(ref["voting_nbs"][issue], abs=1e-9)
            assert ours.next_forecast[d] == pytest.approx(ref["next_start_nbs"][issue], abs=1e-9)


def test_replay_detects_a_different_move_rule(monkeypatch):
    """The replay is sharp: the former reading of §2.10 (corrected-mode REX) fails it."""
    c = REF["cases"]["S5_exchange_4x2"]
    run = c["seeds"]["1"]
    data = dec.data(FIX / c["input"])
    replay = ReplayedDraws(run["draws"], data.actors, data.issues)
    replay.install(monkeypatch)
    sim = ex.simulate(data, ex.ExchangeParams(variant="rex", p=1.0, mode="corrected", overshoot="stale",
                                              rounds=c["rounds"]), rng=np.random.default_rng(0))
    last = run["rounds"][-1]["next_start_nbs"]
    assert max(abs(sim.rounds[-1].next_forecast[d] - last[i]) for d, i in enumerate(data.issues)) > 1e-3
