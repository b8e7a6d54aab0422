"""Regression guards of the crisis engine and the back-test arithmetic.

* ``test_snapshot_*``: a fixed-seed run (200 runs, 2 hypotheses, the shipped scenario) with its
  key numbers and a hash of the per-run arrays pinned to the values the engine gave when the
  test was written (commit d5f529d; re-pinned for issue 14: risk–return cap, barred initiators, triangle–war coupling, stalling channels;
  P(record) re-pinned for issue 15: it is now the likelihood of the observed onset *month*, place and
  initiator with no RU–CN split, no longer a cumulative war by the window's end; re-pinned when the
  capabilities became CINC 2020 and its 2010–2020 trend, the last NMC year before the start, instead
  of CINC 2022: the engine before that change gives these pins with the new calibration.json and
  YAML, and only the 24 ``actors.*.capability``/``growth_m`` numbers of the compiled spec differ). It guards against unintended changes of the numbers
  (a refactor that should be neutral must keep them). When a change of the numbers is
  *intended*, re-derive the pins with the snippet in the docstring of
  :func:`_snapshot` and say why in the commit message. The hash covers float32 hazards, so a
  different numpy/libm may change it; the pinned probabilities are counts over 200 runs.
* The back-test arithmetic (likelihood, Brier, log score, Bayes factors, verdicts) is checked by
  hand on a four-run :class:`CrisisResult` in ``tests/test_crisis_record.py``.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from detente import examples
from detente.crisis.analysis import run_hypotheses
from detente.crisis.result import CrisisResult

ARRAYS = ("onset_step", "onset_initiator", "onset_cause", "first_step", "split_step", "agree_step", "hazard",
          "rc_alignment", "configuration")

# hypothesis: (P(war by 2022-02-28), P(war by 48 m), P(no war RU 48 m), E[months of peace RU],
#              Brier, log score, P(record), sha256 of ARRAYS)
SNAPSHOT = {
    "combined": (0.045, 0.975, 0.18, 22.72, 0.4560125, -1.5505963971060754, 0.015,
                 "fa72690e86df922b077b7e9d02a3eed321550e592b436c55018580e782655ebd"),
    "ru_preventive": (0.695, 1.0, 0.0, 2.68, 0.04986666666666667, -0.19520447657825982, 0.035,
                      "a6b4ec364726fd397849da39adac17e338e4d9e7666ec1daa724d57a09b5059b"),
}


def _digest(res: CrisisResult) -> str:
    h = hashlib.sha256()
    for name in ARRAYS:
        h.update(np.ascontiguousarray(getattr(res, name)).tobytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def _snapshot():
    """``run_hypotheses(seesaw-2021, hypotheses=[combined, ru_preventive], runs=200, seed=20211201,
    with_counterfactuals=False, keep_results=True)``; print ``(p_war_by[2022-02-28], p_war_by[-1],
    p_no_war_ru_48, months_of_peace_ru_48, brier, log_score, p_record, _digest(result))`` to re-pin."""
    scn = examples.load("seesaw-2021")
    return run_hypotheses(scn, hypotheses=list(SNAPSHOT), runs=200, seed=20211201, with_counterfactuals=False,
                          keep_results=True)


@pytest.mark.parametrize("hyp", list(SNAPSHOT))
def test_snapshot_key_numbers(_snapshot, hyp):
    b = _snapshot["hypotheses"][hyp]
    bt = b["backtest"]
    got = (b["p_war_by"]["2022-02-28"], list(b["p_war_by"].values())[-1], b["p_no_war_ru_48"],
           b["months_of_peace_ru_48"], bt["brier"], bt["log_score"], bt["p_record"])
    assert got == pytest.approx(SNAPSHOT[hyp][:7], rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("hyp", list(SNAPSHOT))
def test_snapshot_same_bytes(_snapshot, hyp):
    assert _digest(_snapshot["_results"][hyp]) == SNAPSHOT[hyp][7]


