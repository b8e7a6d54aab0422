"""Sweeps and sensitivity analyses apply the finite-result guard of ``run_model`` (issue 13).

They call a model's ``spec.run`` themselves; a run whose forecast is not finite used to be stored
as NaN (read back as "no forecast"). Now the chunk fails with a :class:`RunError` naming the run
and the chunk, and nothing is stored for that chunk (the chunks computed before it stay).
"""

from __future__ import annotations

import dataclasses
import math

import pyarrow.parquet as pq
import pytest

from detente.errors import RunError
from detente.experiments import sweep as sweep_mod
from detente.experiments.runner import run_sweep
from detente.experiments.sensitivity import tornado
from detente.experiments.sweep import SweepSpec
from detente.models import registry
from detente.store import Store


def _spec() -> SweepSpec:
    return SweepSpec.model_validate(dict(
        name="finite", scenario="example:ec_emission", model="median", seed=5, chunk_size=10,
        factors=[{"field": "position", "dist": {"kind": "uniform", "low": -15, "high": 15}, "per": "cell",
                  "clip": [0, 100]}],
        design={"kind": "montecarlo", "runs": 60}, executor={"kind": "serial"},
    ))


def _overflow(monkeypatch, bad=lambda x: True) -> None:
    """``median`` as a model whose arithmetic breaks down (forecast inf) where ``bad(forecast)``."""
    real = registry.get("median")

    def run(scenario, params, *, rng=None):
        res = real.run(scenario, params, rng=rng)
        issues = {k: (dataclasses.replace(ir, forecast=math.inf) if bad(ir.forecast) else ir)
                  for k, ir in res.issues.items()}
        return dataclasses.replace(res, issues=issues)

    sweep_mod._prepared.cache_clear()
    monkeypatch.setitem(registry._cache, "median", dataclasses.replace(real, run=run))


@pytest.fixture(autouse=True)
def _fresh_cache():
    sweep_mod._prepared.cache_clear()
    yield
    sweep_mod._prepared.cache_clear()


def test_a_non_finite_forecast_fails_its_chunk_and_stores_nothing_for_it(tmp_path, monkeypatch):
    clean = Store(tmp_path / "clean")
    res = run_sweep(_spec(), store=clean)
    df = res.to_df(forecasts_only=True)
    chunk0 = set(df.loc[df["run"] < 10, "value"])
    later = df.loc[(df["run"] >= 10) & ~df["value"].isin(chunk0)]
    assert len(later), "the sweep must have a forecast outside the first chunk's"
    v = float(later["value"].iloc[0])  # the model breaks down on this forecast only
    first = int(df.loc[df["value"] == v, "run"].min())
    chunk = first // 10
    assert chunk >= 1

    st = Store(tmp_path / "guarded")
    _overflow(monkeypatch, lambda x: x == v)
    with pytest.raises(RunError) as ei:
        run_sweep(_spec(), store=st)
    msg = str(ei.value)
    assert f"run {first} " in msg and f"chunk {chunk}" in msg and "non-finite forecast (inf)" in msg
    (info,) = st.list(limit=None)
    stored = sorted(int(p.stem.split("-")[1]) for p in st.part_files(info.run_id))
    assert stored == list(range(chunk))  # the chunks before it, not the failing one
    for p in st.part_files(info.run_id):
        assert all(math.isfinite(v) for v in pq.read_table(p).column("value").to_pylist())


def test_tornado_refuses_a_non_finite_forecast(monkeypatch):
    _overflow(monkeypatch)
    spec = _spec().model_copy(update={"factors": [sweep_mod.Factor.model_validate(
        {"field": "position", "dist": {"kind": "uniform", "low": 40, "high": 60}, "per": "cell", "clip": [0, 100]})]})
    with pytest.raises(RunError, match=r"tornado point \d+.*non-finite forecast"):
        tornado(spec, spec.load_scenario())


def test_the_whole_chunk_kernel_is_guarded_too(tmp_path, monkeypatch):
    """``compromise`` computes a chunk at once (``extra["batch"]``); a non-finite value of it
    fails the chunk the same way (run 23 is chunk 2)."""
    import numpy as np

    real = registry.get("compromise")
    kernel = real.extra["batch"]

    def batch(base, pert, params, *, rng=None):
        out = kernel(base, pert, params, rng=rng)
        start = batch.calls * 10  # the serial executor computes the chunks in order
        if start <= 23 < start + 10:
            out = {k: v.copy() for k, v in out.items()}
            out[next(iter(out))][23 - start] = np.nan
        batch.calls += 1
        return out

    batch.calls = 0
    monkeypatch.setitem(registry._cache, "compromise", dataclasses.replace(real, extra={"batch": batch}))
    st = Store(tmp_path / "st")
    spec = _spec().model_copy(update={"model": "compromise"})
    with pytest.raises(RunError, match=r"sweep run 23 \(chunk 2\): model 'compromise' produced a non-finite forecast \(nan\)"):
        run_sweep(spec, store=st)
    (info,) = st.list(limit=None)
    assert sorted(int(p.stem.split("-")[1]) for p in st.part_files(info.run_id)) == [0, 1]
