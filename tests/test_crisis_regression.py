"""Regression guards of the crisis engine and the back-test arithmetic.

* ``test_snapshot_*``: a fixed-seed run (200 runs, 2 hypotheses, the shipped scenario) with its
  key numbers and a hash of the per-run arrays pinned to the values the engine gave when the
  test was written (commit d5f529d; re-pinned for issue 14: risk–return cap, barred initiators, triangle–war coupling, stalling channels). It guards against unintended changes of the numbers
  (a refactor that should be neutral must keep them). When a change of the numbers is
  *intended*, re-derive the pins with the snippet in the docstring of
  :func:`_snapshot` and say why in the commit message. The hash covers float32 hazards, so a
  different numpy/libm may change it; the pinned probabilities are counts over 200 runs.
* ``test_backtest_arithmetic_*``: Brier, log score and P(record) computed by hand on a
  hand-made :class:`CrisisResult`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math

import numpy as np
import pytest

from detente import examples
from detente.crisis.analysis import backtest, run_hypotheses
from detente.crisis.result import CrisisResult

ARRAYS = ("onset_step", "onset_initiator", "onset_cause", "first_step", "split_step", "agree_step", "hazard",
          "rc_alignment", "configuration")

# hypothesis: (P(war by 2022-02-28), P(war by 48 m), P(no war RU 48 m), E[months of peace RU],
#              Brier, log score, P(record), sha256 of ARRAYS)
SNAPSHOT = {
    "combined": (0.045, 0.975, 0.165, 22.4375, 0.4560125, -1.5505963971060754, 0.045,
                 "883357d0482cefb9f761c9fe1f365c09e8fe2d3e43803898b4393d5e5a4cfd76"),
    "ru_preventive": (0.705, 0.99, 0.02, 3.415, 0.0473125, -0.18919404554090805, 0.64,
                      "f2ceeac234434c364f2b386d5b6ff0df2cf5d913f785cea6d79f7838ee8e98de"),
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


# ------------------------------------------------------------------ back-test arithmetic
def _hand_result() -> CrisisResult:
    """Four runs, steps = month ends Dec 2021 … Mar 2022, flashpoints UA, TW, BY-PL.

    run 0: war at UA in Feb 2022 started by RU; run 1: war at UA in Mar 2022 (after the end);
    run 2: war at TW in Jan 2022 started by CN, RU–CN split in Dec 2021; run 3: nothing.
    """
    me = (dt.date(2021, 12, 31), dt.date(2022, 1, 31), dt.date(2022, 2, 28), dt.date(2022, 3, 31))
    actors = ("US", "RU", "CN", "UA")
    onset = np.array([[2, -1, -1], [3, -1, -1], [-1, 1, -1], [-1, -1, -1]], np.int16)
    init = np.array([[1, -1, -1], [1, -1, -1], [-1, 2, -1], [-1, -1, -1]], np.int8)
    cause = np.where(onset >= 0, 0, -1).astype(np.int8)
    return CrisisResult(
        scenario="hand", hypothesis=None, runs=4, root_seed=0, chunk_size=4, step="month", dt_months=1.0,
        actors=actors, flashpoints=("UA", "TW", "BY-PL"), tracks=(), dyads=(), directions=(),
        involves={"UA": ("RU", "UA"), "TW": ("CN", "TW", "US"), "BY-PL": ("RU", "BY", "PL")},
        triangle=("US", "RU", "CN"), russia="RU", step_end=me, month_ends=me, month_end_step=(0, 1, 2, 3),
        onset_step=onset, onset_initiator=init, onset_cause=cause,
        first_step=np.array([2, 3, 1, -1], np.int16), first_flashpoint=np.array([0, 0, 1, -1], np.int8),
        first_initiator=np.array([1, 1, 2, -1], np.int8), split_step=np.array([-1, -1, 0, -1], np.int16),
        agree_step=np.zeros((4, 0), np.int16), hazard=None, rc_alignment=None, configuration=None,
        diagnostics={}, params={}, input_hash="", version="test")


def test_backtest_arithmetic_on_a_hand_made_result():
    bt = backtest(_hand_result(), end="2022-02-28")   # outcomes as in facts/README.md (no timeline)
    assert bt["outcomes"] == {"war_ru": 1, "war_at_UA": 1, "war_at_TW": 0, "war_at_BY-PL": 0, "initiator_RU": 1,
                              "no_ru_cn_split": 1}
    assert bt["events"] == {"war_ru": 0.25, "war_at_UA": 0.25, "war_at_TW": 0.25, "war_at_BY-PL": 0.0,
                            "initiator_RU": 0.25, "no_ru_cn_split": 0.75}
    # Brier: mean of (p - o)^2 = (0.5625 + 0.5625 + 0.0625 + 0 + 0.5625 + 0.0625) / 6
    assert bt["brier"] == pytest.approx(1.8125 / 6, abs=1e-15)
    # log score: mean of log P(observed outcome); P = 1 is clipped to 1 - 1e-4
    want = (3 * math.log(0.25) + 2 * math.log(0.75) + math.log(1 - 1e-4)) / 6
    assert bt["log_score"] == pytest.approx(want, abs=1e-15)
    # P(record): only run 0 has the whole record (RU war at UA by the end, started by RU, no split)
    assert bt["p_record"] == 0.25 and not bt["rejected"]
    assert bt["worst_event"] == "war_ru"
    assert bt["initiators_by_end"] == {"RU": 0.5, "CN": 0.5}
    assert bt["locations_by_end"] == {"UA": 0.5, "TW": 0.5, "BY-PL": 0.0}


def test_backtest_arithmetic_with_a_peaceful_record():
    """A timeline without war onsets scores every war event 0; p = 0 is clipped to 1e-4."""
    tl = [{"date": "2022-01-10", "event": "talks", "actors": "US;RU", "kind": "talks", "mechanism": "", "verified": "yes"}]
    bt = backtest(_hand_result(), end="2022-01-31", timeline=tl)
    assert bt["outcomes"] == {"war_ru": 0, "war_at_UA": 0, "war_at_TW": 0, "war_at_BY-PL": 0, "initiator_RU": 0,
                              "no_ru_cn_split": 1}
    # by Jan 31 only run 2 has a war (TW) and a split
    assert bt["events"] == {"war_ru": 0.0, "war_at_UA": 0.0, "war_at_TW": 0.25, "war_at_BY-PL": 0.0,
                            "initiator_RU": 0.0, "no_ru_cn_split": 0.75}
    assert bt["brier"] == pytest.approx((0.0625 + 0.0625) / 6, abs=1e-15)
    want = (4 * math.log(1 - 1e-4) + 2 * math.log(0.75)) / 6
    assert bt["log_score"] == pytest.approx(want, abs=1e-15)
    assert bt["p_record"] == 0.75 and not bt["rejected"]
    assert bt["worst_event"] == "war_at_TW"
