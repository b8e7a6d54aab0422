"""The fast ``_clean`` of ``result.py`` (issue 17, speed) gives exactly the JSON text of the
element-wise version it replaced: on real model results (bdm with rounds and the expected-utility
matrix, exchange, smp), on a result holding nan/inf, and value by value on every rule of the old
function (non-finite floats, bools, numpy scalars and arrays, tuples, non-str keys, model_dump)."""

from __future__ import annotations

import json
import math
from collections import OrderedDict, namedtuple
from collections.abc import Mapping
from enum import Enum, IntEnum
from typing import Any

import numpy as np
import pytest
from pydantic import BaseModel

from detente import examples
from detente import result as result_mod
from detente.models.registry import run_model
from detente.result import IssueResult, RoundRecord, RunResult, _clean


def _old_clean(x: Any) -> Any:
    """The element-wise ``_clean`` as it was before the fast paths (reference, kept verbatim)."""
    if isinstance(x, Mapping):
        return {str(k): _old_clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_old_clean(v) for v in x]
    if isinstance(x, np.ndarray):
        return _old_clean(x.tolist())
    if isinstance(x, np.generic):
        return _old_clean(x.item())
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if hasattr(x, "model_dump"):
        return _old_clean(x.model_dump(mode="json"))
    return x


def _text(obj: Any) -> str:
    return json.dumps(obj, allow_nan=False, ensure_ascii=False)


def _old_text(res: RunResult, monkeypatch) -> str:
    with monkeypatch.context() as m:
        m.setattr(result_mod, "_clean", _old_clean)
        return _text(res.to_json_dict())


class _P(BaseModel):
    a: float = 1.5
    b: tuple[int, ...] = (1, 2)


class _S(str, Enum):  # noqa: UP042 - the str-mixin Enum is the case under test (str() differs from StrEnum)
    A = "a"


class _I(IntEnum):
    ONE = 1


_Pair = namedtuple("_Pair", "x y")


class _F(float):
    pass


# (input, expected output) -- hand-written, the behaviour of the old function
PINS = [
    (float("nan"), None), (float("inf"), None), (-float("inf"), None), (1.25, 1.25), (-0.0, -0.0),
    (True, True), (False, False), (None, None), (3, 3), ("s", "s"), (10**30, 10**30),
    (np.float64("nan"), None), (np.float32(np.inf), None), (np.float64(2.5), 2.5), (np.int64(7), 7),
    (np.bool_(True), True), (np.array(np.nan), None), (np.array(4.0), 4.0),
    ((1, 2.0, float("nan")), [1, 2.0, None]), ([np.inf, 1.0], [None, 1.0]),
    ([1.0, 2.0], [1.0, 2.0]), ([1e308, 1e308], [1e308, 1e308]),          # the sum overflows, the values do not
    ([1e308, 1e308, float("nan")], [1e308, 1e308, None]),
    ([True, 1, None, "x"], [True, 1, None, "x"]), ([1.0, None, 2], [1.0, None, 2]),
    (np.array([1.0, np.nan, -np.inf]), [1.0, None, None]), (np.array([[1, 2], [3, 4]]), [[1, 2], [3, 4]]),
    (np.array([True, False]), [True, False]), (np.array([[0.5, np.inf]], dtype=np.float32), [[0.5, None]]),
    (np.array([1.0, 2.0], dtype=np.float16), [1.0, 2.0]), (np.array([], dtype=float), []),
    (np.array([1, "a"], dtype=object), [1, "a"]), (np.array([np.float64(np.nan)], dtype=object), [None]),
    ({1: 1.0, True: 2.0}, {"1": 2.0}),  # noqa: F601 - 1 == True: one key, as a dict has
    ({None: 1, 1.5: float("nan"), (1, 2): [np.nan]}, {"None": 1, "1.5": None, "(1, 2)": [None]}),
    ({"a": 1e308, "b": 1e308}, {"a": 1e308, "b": 1e308}), ({"a": "s", "b": float("nan"), "c": 1}, {"a": "s", "b": None, "c": 1}),
    ({"a": [1.0, np.nan], "b": np.int8(2)}, {"a": [1.0, None], "b": 2}), ({}, {}), ([], []),
    ({False: 0, 2: 1}, {"False": 0, "2": 1}), ({_S.A: 1.0}, {str(_S.A): 1.0}),
    ({"a": {"b": [np.float64(1.0), float("-inf")]}}, {"a": {"b": [1.0, None]}}),
    (OrderedDict([("z", np.int32(1)), ("a", 2.0)]), {"z": 1, "a": 2.0}),
    (_Pair(1.0, float("nan")), [1.0, None]), (_I.ONE, _I.ONE), (_S.A, _S.A),
    (_F(2.0), 2.0), (_F("nan"), None), (_P(), {"a": 1.5, "b": [1, 2]}),
]


@pytest.mark.parametrize("x, expect", PINS, ids=[repr(p[0])[:40] for p in PINS])
def test_clean_keeps_every_rule_of_the_old_function(x, expect):
    got = _clean(x)
    assert got == expect or (got is None and expect is None)
    assert _text(got) == _text(expect) == _text(_old_clean(x))
    assert type(got) is type(_old_clean(x))


def test_clean_of_a_float_dict_with_one_nan_maps_only_that_value():
    d = {f"A{k}": float(k) for k in range(50)}
    d["A17"] = float("nan")
    out = _clean(d)
    assert out["A17"] is None and out["A16"] == 16.0 and list(out) == list(d)


def test_clean_copies_instead_of_aliasing():
    xs, d = [1.0, 2.0], {"a": 1.0}
    cx, cd = _clean(xs), _clean(d)
    assert cx == xs and cx is not xs and cd == d and cd is not d


def test_bdm_result_with_rounds_gives_the_old_text(monkeypatch):
    sc = examples.load("ec_emission")
    res = run_model(sc, "bdm", seed=1)
    ir = next(iter(res.issues.values()))
    assert len(ir.rounds) > 1 and "eu" in ir.rounds[1].extra          # the nested matrices are covered
    assert _text(res.to_json_dict()) == _old_text(res, monkeypatch)


@pytest.mark.parametrize("model, kw", [("exchange", {}), ("smp", {}), ("bdm", {"variant": "scholz2011"})])
def test_other_model_results_give_the_old_text(monkeypatch, model, kw):
    res = run_model(examples.load("ec_emission"), model, seed=3, **kw)
    assert _text(res.to_json_dict()) == _old_text(res, monkeypatch)


def test_result_with_non_finite_values_gives_the_old_text(monkeypatch):
    rounds = (
        RoundRecord(positions={"A": 1.0, "B": float("nan")}, median=float("inf"), mean=np.float64(2.0),
                    extra={"eu": {"A": {"A": 0.0, "B": -np.inf}, "B": {"A": np.float32(1.5), "B": 0.0}},
                           "r": np.array([0.5, np.nan]), "flags": np.array([True, False]), "t": (1, "x")}),
        RoundRecord(positions={"A": 1.0, "B": 2.0}, median=1.5, mean=1.5, extra={1: [1e308, 1e308], None: True}),
    )
    res = RunResult(model="bdm", variant=None, params={"k": np.int64(3), "q": (1.0, float("nan"))}, seed=1,
                    version="0", input_hash="h",
                    issues={"x": IssueResult(forecast=float("nan"), rounds=rounds, extra={"ci": np.array([-np.inf, 1.0])})},
                    extra={"m": {True: np.array([[1.0, np.inf]])}, "p": _P()})
    new = _text(res.to_json_dict())
    assert new == _old_text(res, monkeypatch)
    d = json.loads(new)
    assert d["issues"]["x"]["forecast"] is None and d["issues"]["x"]["rounds"][0]["median"] is None
    assert d["issues"]["x"]["rounds"][0]["positions"] == {"A": 1.0, "B": None}
    assert d["issues"]["x"]["rounds"][0]["eu"]["A"] == {"A": 0.0, "B": None}
    assert d["issues"]["x"]["rounds"][1]["1"] == [1e308, 1e308] and d["issues"]["x"]["rounds"][1]["null"] is True  # round-extra keys are not str()-ed
    assert d["extra"]["m"] == {"True": [[1.0, None]]} and d["params"]["q"] == [1.0, None]


def test_numpy_values_are_cleaned_when_numpy_is_imported_after_the_result_module():
    # result.py does not import numpy (the store's catalogue commands stay light); it finds numpy
    # when numpy values can exist, however late numpy was imported
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys, json\nfrom detente.result import json_clean\n"
            "assert 'numpy' not in sys.modules\n"
            "assert json_clean({'a': [1.0, float('nan')]}) == {'a': [1.0, None]}\n"  # no numpy yet
            "import numpy as np\n"
            "print(json.dumps(json_clean({'x': np.array([1.0, np.nan]), 'y': np.int64(3), 'z': [np.float32(0.5)],"
            " 'w': np.array([[1, 2]])})))\n")
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]))
    cp = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert cp.returncode == 0, cp.stderr
    assert json.loads(cp.stdout) == {"x": [1.0, None], "y": 3, "z": [0.5], "w": [[1, 2]]}
