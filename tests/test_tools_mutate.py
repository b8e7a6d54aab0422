"""``tools/mutate.py``: the results it scores after ``--survivors`` (issue 19)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parents[1] / "tools" / "mutate.py"


@pytest.fixture(scope="module")
def mutate():
    spec = importlib.util.spec_from_file_location("mutate_tool", TOOL)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_survivors_rerun_keeps_earlier_kills_when_mutmut_dropped_them(mutate):
    # before: a, b killed (exit 1), c survived (0), d timed out (36), e never run (None)
    previous = {"a": 1, "b": 1, "c": 0, "d": 36, "e": None}
    # mutmut reset every result (new test selection) and re-ran only c and d: c now killed, d survives
    current = {"a": None, "b": None, "c": 1, "d": 0, "e": None}
    got = mutate.merge_retested(previous, current, ["c", "d"])
    assert got == {"a": 1, "b": 1, "c": 1, "d": 0, "e": None}
    # a mutant mutmut knows only now (source changed) keeps its current status
    assert mutate.merge_retested({"a": 1}, {"a": None, "z": 0}, [])["z"] == 0
