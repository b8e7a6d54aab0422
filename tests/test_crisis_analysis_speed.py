"""The speed-ups of the crisis analysis (everything of ``detente run`` around the engine's
simulation: loading and patching descriptions, summaries) give the same results as the plain
code they replace (issue 17).

Each faster method is checked against the method it replaced, written out here as it was, on
inputs that reach its special cases; the command's outputs as a whole are pinned by
``tests/test_crisis_regression.py``.
"""

from __future__ import annotations

import json
import os
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from detente import examples
from detente.crisis import spec as S
from detente.crisis.engine import CrisisParams, run
from detente.crisis.result import sorted_quantiles


def _same(a: np.ndarray, b: np.ndarray) -> None:
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.tobytes() == b.tobytes()


# ====================================================================== quantiles from a sort
QS = [(0.1, 0.5, 0.9), (0.1, 0.9), (0.0, 1.0), (0.05, 0.25, 0.5, 0.75, 0.95), (0.5,)]


@settings(max_examples=300, deadline=None)
@given(v=st.one_of(
    hnp.arrays(np.float64, st.integers(1, 60), elements=st.floats(-1e6, 1e6, allow_nan=False, width=64)),
    hnp.arrays(np.float32, st.integers(1, 60), elements=st.floats(-1e3, 1e3, allow_nan=False, width=32)),
    # many ties (hazards: a share of runs sits at exactly the same value, often 0)
    hnp.arrays(np.float64, st.integers(1, 60), elements=st.sampled_from([0.0, 0.25, 0.5, 1e-9, 3.0]))),
    q=st.sampled_from(QS))
def test_sorted_quantiles_are_np_quantile_bit_for_bit(v, q):
    _same(sorted_quantiles(v, q), np.quantile(v, q))


@pytest.mark.parametrize("case", ["nan", "negative_zero", "zeros_and_values", "one", "two", "large"])
def test_sorted_quantiles_special_cases(case):
    rng = np.random.default_rng(5)
    v = {"nan": np.array([0.3, np.nan, 0.1, 0.2]), "negative_zero": np.array([0.0, -0.0, -0.0, 0.0, 1.0]),
         "zeros_and_values": np.where(rng.random(1001) < 0.4, 0.0, rng.exponential(size=1001)),
         "one": np.array([0.7]), "two": np.array([2.0, 1.0]), "large": rng.random(100_001)}[case]
    for q in QS:
        _same(sorted_quantiles(v, q), np.quantile(v, q))
    if case != "nan":   # sorting float32 values and widening them: numpy's quantiles of the widened values
        v32 = v.astype(np.float32)
        for q in QS:
            _same(sorted_quantiles(v32, q, dtype=np.float64), np.quantile(v32.astype(np.float64), q))


def test_sorted_quantiles_hand_values():
    # type 7: virtual index (n - 1) q; [1, 2, 3, 4, 10] at q = 0.1 → 1.4, 0.5 → 3, 0.9 → 4 + 0.6 · 6 = 7.6
    got = sorted_quantiles(np.array([10.0, 3.0, 1.0, 4.0, 2.0]), (0.1, 0.5, 0.9))
    assert got.tolist() == pytest.approx([1.4, 3.0, 7.6], abs=1e-12)


# ====================================================================== hazard bands
def _hazard_bands_before(res, q=(0.1, 0.5, 0.9)):
    """CrisisResult.hazard_bands as it was (one strided gather and np.quantile per month and flashpoint)."""
    out = {}
    per_month = max(1, round(1.0 / res.dt_months))
    for j, f in enumerate(res.flashpoints):
        row = {}
        prev = -1
        for me, k in zip(res.month_ends, res.month_end_step):
            if k < 0:
                continue
            steps = np.arange(prev + 1, k + 1)
            prev = k
            h = res.hazard[:, steps, j].astype(float)
            hm = 1.0 - np.prod(1.0 - h, axis=1) if per_month > 1 else h[:, 0]
            at_peace = (res.onset_step[:, j] < 0) | (res.onset_step[:, j] >= steps[0])
            v = hm[at_peace]
            if v.size == 0:
                continue
            qs = np.quantile(v, q)
            se = float(v.std(ddof=1) / np.sqrt(v.size)) if v.size > 1 else None
            row[me.isoformat()] = {"mean": float(v.mean()), "se": se,
                                   **{f"q{round(x * 100):02d}": float(y) for x, y in zip(q, qs)}}
        out[f] = row
    return out


def _alignment_before(res):
    out = {}
    for me, k in zip(res.month_ends, res.month_end_step):
        if k < 0:
            continue
        v = res.rc_alignment[:, k]
        q10, q90 = np.quantile(v, (0.1, 0.9))
        out[me.isoformat()] = {"mean": float(v.mean()), "q10": float(q10), "q90": float(q90)}
    return out


@pytest.mark.parametrize("step", ["month", "week"])
def test_hazard_bands_and_alignment_are_those_of_the_plain_method(step):
    res = run(examples.load("seesaw-2021"), CrisisParams(runs=3000, chunk_size=1000, hypothesis="combined",
                                                          horizon_months=12, step=step, record_paths=True), seed=11)
    assert res.hazard is not None and (res.onset_step >= 0).any()   # some runs leave the at-peace set
    got, want = res.hazard_bands(), _hazard_bands_before(res)
    assert json.dumps(got) == json.dumps(want)
    assert json.dumps(res.alignment()) == json.dumps(_alignment_before(res))


# ====================================================================== loading descriptions
def _tree_copy_before(obj):
    if isinstance(obj, dict):
        return {k: _tree_copy_before(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_tree_copy_before(v) for v in obj]
    return obj


def test_tree_copy_unshares_aliases_and_keeps_leaves():
    shared = {"value": 0.5, "assumption": {"range": [0.1, 0.9]}}
    doc = {"a": shared, "b": [shared, [1, "x", None, True]], "c": (1, 2)}
    out = S._tree_copy(doc)
    assert out == doc == _tree_copy_before(doc)
    assert out["a"] is not out["b"][0] and out["a"]["assumption"] is not out["b"][0]["assumption"]
    out["a"]["assumption"]["range"][0] = 0.2
    assert out["b"][0]["assumption"]["range"][0] == 0.1 and shared["assumption"]["range"][0] == 0.1
    assert out["c"] is doc["c"]   # not a list: kept as it is, as before


def _load_spec_before(dyn, hypothesis=None, extra=None):
    """load_spec's valid path as it was: a copy, then a copy per patch (apply_patch)."""
    doc = S._tree_copy(dict(dyn))
    if hypothesis is not None:
        doc = S.apply_patch(doc, (doc["hypotheses"][hypothesis] or {}).get("set", {}), where=f"hypothesis {hypothesis!r}")
    if extra:
        doc = S.apply_patch(doc, extra, where="--set")
    ctx = {"allow_bare": hypothesis is not None or bool(extra),
           "bare_note": f"hypothesis {hypothesis}" if hypothesis is not None else "--set"}
    return S.CrisisSpec.model_validate(doc, context=ctx)


@pytest.mark.parametrize("hypothesis, extra", [
    (None, None), ("combined", None), (None, {"policies.stall.enabled": False}),
    ("combined", {"policies.seesaw.enabled": False, "flashpoints[UA].base_hazard_m": 0.02}),
    ("combined", {"dyads[US-CN].beliefs": []}),
])
def test_load_spec_patches_in_place_with_the_same_result(hypothesis, extra):
    dyn = examples.load("seesaw-2021").dynamics
    before = json.dumps(dyn, sort_keys=True, default=str)
    got = S.load_spec(dyn, hypothesis=hypothesis, extra=extra)
    assert got.model_dump(mode="json") == _load_spec_before(dyn, hypothesis, extra).model_dump(mode="json")
    assert json.dumps(dyn, sort_keys=True, default=str) == before   # the scenario's own dict is untouched


def test_load_spec_still_names_the_source_of_an_error():
    dyn = examples.load("seesaw-2021").dynamics
    with pytest.raises(S.InputError) as exc:   # valid under the hypothesis, invalid by --set
        S.load_spec(dyn, hypothesis="combined", extra={"flashpoints[UA].base_hazard_m": -1.0})
    assert any(p.message.startswith("(--set)") for p in exc.value.problems)
    with pytest.raises(S.InputError, match="unknown hypothesis"):
        S.load_spec(dyn, hypothesis="nope", extra={"policies.stall.enabled": False})


def _num_items_before(spec):
    out = []

    def walk(obj, path):
        if isinstance(obj, S.Num):
            out.append((path, obj))
        elif isinstance(obj, S.BaseModel):
            for name in type(obj).model_fields:
                if name == "hypotheses":
                    continue
                walk(getattr(obj, name), f"{path}.{name}" if path else name)
        elif isinstance(obj, dict):
            for k, v in obj.items():
                walk(v, f"{path}.{k}")
        elif isinstance(obj, (list, tuple)):
            for i, v in enumerate(obj):
                key = getattr(v, "id", None)
                walk(v, f"{path}[{key}]" if key else f"{path}.{i}")

    walk(spec, "")
    return out


@pytest.mark.parametrize("hypothesis", [None, "combined", "history"])
def test_num_items_and_domains_are_those_of_the_plain_walk(hypothesis):
    spec = S.load_spec(examples.load("seesaw-2021").dynamics, hypothesis=hypothesis)
    got, want = spec.num_items(), _num_items_before(spec)
    assert [p for p, _ in got] == [p for p, _ in want] and all(a is b for (_, a), (_, b) in zip(got, want))
    assert len(got) > 100
    for path, _ in got:   # the cached domain lookup: the field's name, or the keyed mapping's name
        parts = [m.group(1) or m.group(2) for m in re.finditer(r"([^.\[\]]+)|\[([^\]]+)\]", path)]
        name = parts[-1] if len(parts) < 2 or parts[-2] not in S._KEYED else parts[-2]
        assert S._domain(path) == S.DOMAINS.get(name)
    assert S._domain("dyads[US-CN].kappa.US") == S.DOMAINS["kappa"]
    assert S.domain_problems([("tracks[T].rate_m.RU", S.Num(value=-1.0, source="x"))]) == [
        "tracks[T].rate_m.RU: value -1 is not a non-negative number"]


# ====================================================================== the calibration file
def test_calibration_is_parsed_once_per_version_of_the_file(tmp_path, monkeypatch):
    path = tmp_path / "calibration.json"
    monkeypatch.setattr(S, "CALIBRATION_PATH", path)
    monkeypatch.setattr(S, "_CAL_CACHE", {})
    assert S._calibration() is None                      # missing
    path.write_text(json.dumps({"a": {"b": 0.25}}), encoding="utf-8")
    first = S._calibration()
    assert first == {"a": {"b": 0.25}} and S._calibration() is first   # parsed once
    path.write_text(json.dumps({"a": {"b": 0.5, "c": 1}}), encoding="utf-8")
    st_ = path.stat()
    os.utime(path, ns=(st_.st_atime_ns, st_.st_mtime_ns + 1_000_000))   # a rewrite within the same tick
    assert S._calibration() == {"a": {"b": 0.5, "c": 1}}
    path.write_text("{not json", encoding="utf-8")
    assert S._calibration() is None                      # unreadable: as before, no calibration
    num = S.Num(value=0.1, calibrated="a.b", source="calibration")
    notes: list[str] = []
    assert S.resolve(num, notes, "x") == 0.1 and "not available" in notes[0]


@pytest.mark.parametrize("value, refused", [(True, True), (False, True), ([0.1, True], True), ((False, 0.2), True),
                                            (1, False), (0.0, False), ([0.1, 0.9], False)])
def test_a_boolean_number_is_refused_alone_or_in_a_list(value, refused):
    rng = value if isinstance(value, (list, tuple)) else [0.0, 1.0]
    val = 0.5 if isinstance(value, (list, tuple)) else value
    data = {"value": val, "assumption": {"range": rng}}
    if refused:
        with pytest.raises(S.ValidationError, match="a boolean"):
            S.Num.model_validate(data)
    else:
        assert S.Num.model_validate(data).value == float(val)


# ====================================================================== one validation per variant
def test_spec_memo_returns_the_first_validation_of_each_variant():
    dyn = examples.load("seesaw-2021").dynamics
    off = {"policies.stall.enabled": False}
    assert S.load_spec(dyn, hypothesis="combined") is not S.load_spec(dyn, hypothesis="combined")   # no memo
    with S.spec_memo():
        a = S.load_spec(dyn, hypothesis="combined", extra=dict(off))
        assert S.load_spec(dyn, file="x.yaml", hypothesis="combined", extra=dict(off)) is a
        assert a.model_dump(mode="json") == S.load_spec(dyn, hypothesis="combined", extra=off).model_dump(mode="json")
        assert S.load_spec(dyn, hypothesis="combined") is not a                       # other variants: their own
        assert S.load_spec(dyn, extra=dict(off)) is not a
        assert S.load_spec(dyn, hypothesis="combined", extra={"policies.stall.enabled": 0}) is not a   # 0 is not False
        assert S.load_spec(dict(dyn), hypothesis="combined", extra=dict(off)) is not a   # another mapping
        lst = S.load_spec(dyn, hypothesis="combined", extra={"dyads[US-CN].beliefs": []})
        assert S.load_spec(dyn, hypothesis="combined", extra={"dyads[US-CN].beliefs": ()}) is not lst
        for file in ("a.yaml", "b.yaml"):   # a failed load is not kept: each call names its own file
            with pytest.raises(S.InputError) as exc:
                S.load_spec(dyn, file=file, hypothesis="combined", extra={"flashpoints[UA].base_hazard_m": -1.0})
            assert {p.file for p in exc.value.problems} == {file}
        with S.spec_memo():   # a block inside another starts empty and ends with it
            assert S.load_spec(dyn, hypothesis="combined", extra=dict(off)) is not a
        assert S.load_spec(dyn, hypothesis="combined", extra=dict(off)) is a
    assert S.load_spec(dyn, hypothesis="combined", extra=dict(off)) is not a


def test_an_analysis_gives_the_same_object_with_and_without_the_memos(monkeypatch):
    """run_hypotheses with one validation per variant and one content hash per analysis (the
    plans made from a view of the scenario) against the same analysis validating and hashing
    every time (the method before)."""
    import contextlib

    from detente.crisis import analysis as A
    from detente.scenario.model import Scenario

    scn = examples.load("seesaw-2021")
    kw = dict(hypotheses=["combined", "article"], runs=200, seed=5, mechanisms="stalling,seesaw,leaks,war_parties",
              mechanism_runs=100, forecast=True, extra_set={"settings.horizon_months": 14},
              base_dir=examples.path("seesaw-2021").parent)
    hashes = []
    real_hash = Scenario.content_hash
    monkeypatch.setattr(Scenario, "content_hash", lambda self: hashes.append(1) or real_hash(self))
    fast = A.run_hypotheses(scn, **kw)
    n_fast = len(hashes)
    monkeypatch.setattr(A, "spec_memo", contextlib.nullcontext)
    monkeypatch.setattr(A, "_HashedOnce", lambda s: s)
    hashes.clear()
    plain = A.run_hypotheses(scn, **kw)
    assert json.dumps(fast, sort_keys=True, default=str) == json.dumps(plain, sort_keys=True, default=str)
    assert n_fast == 1 and len(hashes) > 5   # every plan hashed the scenario before


def test_the_plans_record_the_scenarios_own_hash():
    from detente.crisis import analysis as A

    scn = examples.load("seesaw-2021")
    ps = A._Passes(scn)
    p = ps.want(CrisisParams(runs=10, hypothesis="combined"), 3)
    assert p.input_hash == scn.content_hash() and p.scenario_name == scn.name
    assert ps._view.dynamics is scn.dynamics


def test_num_items_skips_only_fields_that_cannot_hold_a_number():
    import datetime as dt
    from typing import Annotated, Literal, Optional

    # typing.Optional as some fields of the description are written (a typing.Union, not X | None)
    optional = [Optional[int], Optional[Literal["x"]]]  # noqa: UP045
    assert all(S._scalar_annotation(a) for a in (str, int, float, bool, dt.date, str | None, *optional,
                                                   Literal["a", "b"], Annotated[float, "m"]))
    assert not any(S._scalar_annotation(a) for a in (S.Num, S.Num | None, list[str], dict[str, S.Num],
                                                       tuple[float, float], S.Assumption | None, dict))
    assert S._walked_fields(S.Num) == ("assumption", "fit")
    assert "hypotheses" not in S._walked_fields(S.CrisisSpec) and "settings" in S._walked_fields(S.CrisisSpec)
