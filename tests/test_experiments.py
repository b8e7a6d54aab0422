"""Sweeps, designs, executors, resumption, sensitivity and export."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from scipy import stats

from detente import examples
from detente.errors import InputError
from detente.experiments.distributions import Distribution, ScenarioArrays, expand_factors
from detente.experiments.executors import ProcessExecutor, SerialExecutor
from detente.experiments.export import export_run
from detente.experiments.runner import resume_sweep, run_sweep
from detente.experiments.sensitivity import run_sensitivity
from detente.experiments.sweep import SweepSpec, load_sweep_spec
from detente.store import Store

REPO = Path(__file__).resolve().parents[1]


def spec(**kw) -> SweepSpec:
    base = dict(
        name="t", scenario="example:ec_emission", model="compromise", seed=11, chunk_size=40,
        factors=[
            {"field": "salience", "dist": {"kind": "uniform", "low": -10, "high": 10}, "clip": [0, 100], "per": "cell"},
            {"field": "position", "actors": ["UK"], "dist": {"kind": "normal", "mean": 0, "sd": 1}},
        ],
        design={"kind": "montecarlo", "runs": 200},
    )
    base.update(kw)
    return SweepSpec.model_validate(base)


def parts_bytes(store: Store, run_id: str) -> list[bytes]:
    return [pq.read_table(p).to_pandas().to_csv(index=False).encode() for p in store.part_files(run_id)]


@pytest.mark.parametrize("kind,params,ref", [
    ("uniform", dict(low=-10, high=10), stats.uniform(-10, 20)),
    ("normal", dict(mean=1, sd=2), stats.norm(1, 2)),
    ("truncnorm", dict(mean=0, sd=1, low=-1, high=2), stats.truncnorm(-1, 2)),
    ("triangular", dict(low=0, mode=1, high=4), stats.triang(0.25, 0, 4)),
    ("beta", dict(a=2, b=3, low=0, high=100), stats.beta(2, 3, 0, 100)),
])
def test_distribution_quantiles(kind, params, ref):
    u = np.linspace(0.01, 0.99, 33)
    assert np.allclose(Distribution(kind=kind, **params).ppf(u), ref.ppf(u), atol=1e-10)


def test_discrete_and_invalid_distributions():
    d = Distribution(kind="discrete", values=[1, 2, 3], weights=[1, 0, 3])
    assert set(d.ppf(np.random.default_rng(0).random(1000)).tolist()) == {1.0, 3.0}
    for bad in [dict(kind="uniform", low=1, high=0), dict(kind="normal", mean=0), dict(kind="triangular", low=0, mode=5, high=1),
                dict(kind="discrete", values=[1, 2], weights=[1])]:
        with pytest.raises(ValueError):
            Distribution(**bad)


def test_salience_plus_minus_10_clipped():
    s = spec(factors=[{"field": "salience", "dist": {"kind": "uniform", "low": -10, "high": 10}, "clip": [0, 100], "per": "cell"}],
             trace="summary")
    st_ = ScenarioArrays.from_scenario(examples.load("ec_emission"))
    cols = expand_factors(s.factors, st_)
    assert len(cols) == 10  # one per stance
    from detente.experiments.sweep import apply_design

    V = np.full((3, 10), 10.0)
    p = apply_design(st_, s.factors, cols, V)
    assert p.salience.max() == 100.0  # Denmark at 100 + 10 clipped
    dk = st_.actors.index("Denmark")
    assert p.salience[0, dk, 0] == 100.0


def test_unknown_actor_in_factor_is_an_input_error(tmp_path):
    s = spec(factors=[{"field": "position", "actors": ["Atlantis"], "dist": {"kind": "normal", "mean": 0, "sd": 1}}])
    with pytest.raises(InputError) as e:
        run_sweep(s, store=Store(tmp_path))
    assert "Atlantis" in str(e.value)


def test_spec_errors_name_lines(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text("scenario: example:ec_emission\nmodel: compromise\nchunk_size: -3\nfactors:\n  - field: nonsense\n    dist: {kind: uniform, low: 0, high: 1}\n")
    with pytest.raises(InputError) as e:
        load_sweep_spec(p)
    lines = {pr.line for pr in e.value.problems}
    assert 3 in lines and 5 in lines


def test_same_results_whatever_the_executor_and_workers(tmp_path):
    s = spec()
    a = run_sweep(s, store=Store(tmp_path / "a"), executor=SerialExecutor())
    with ProcessExecutor(2) as ex:
        b = run_sweep(s, store=Store(tmp_path / "b"), executor=ex)
    with ProcessExecutor(1) as ex:
        c = run_sweep(s, store=Store(tmp_path / "c"), executor=ex)
    assert a.n_chunks == 5
    ref = parts_bytes(a.store, a.run_id)
    assert ref == parts_bytes(b.store, b.run_id) == parts_bytes(c.store, c.run_id)
    df = a.to_df()
    assert sorted(df["run"].unique().tolist()) == list(range(200))


def test_chunk_size_is_part_of_the_key_and_reproducible(tmp_path):
    st_ = Store(tmp_path)
    a = run_sweep(spec(chunk_size=40), store=st_)
    again = run_sweep(spec(chunk_size=40), store=st_)
    assert again.run_id == a.run_id and again.computed_chunks == 0
    b = run_sweep(spec(chunk_size=50), store=st_)
    assert b.run_id != a.run_id


@pytest.mark.parametrize("design", [
    {"kind": "lhs", "runs": 30},
    {"kind": "grid", "levels": 3},
])
def test_designs(tmp_path, design):
    s = spec(design=design, factors=[
        {"field": "position", "actors": ["UK"], "dist": {"kind": "uniform", "low": -3, "high": 0}},
        {"field": "capability", "actors": ["Germany"], "mode": "multiply", "dist": {"kind": "discrete", "values": [0.5, 1, 2]}},
    ])
    r = run_sweep(s, store=Store(tmp_path))
    df = r.to_df()
    if design["kind"] == "grid":
        assert len(df) == 9
        assert set(df["capability[Germany]"]) == {0.5, 1.0, 2.0}
    else:
        # Latin hypercube: one draw in each of the 30 strata
        u = (df["position[UK]"].to_numpy() + 3) / 3
        assert sorted(np.floor(u * 30).astype(int).tolist()) == list(range(30))


def test_design_table(tmp_path):
    (tmp_path / "d.csv").write_text("position[UK]\n-6\n0\n")
    s = spec(design={"kind": "table", "file": "d.csv"}, base_dir=str(tmp_path),
             factors=[{"field": "position", "actors": ["UK"], "dist": {"kind": "normal", "mean": 0, "sd": 1}}])
    df = run_sweep(s, store=Store(tmp_path / "st")).to_df()
    base = 7.389955686853767
    assert df["value"].iloc[1] == pytest.approx(base, abs=1e-12)
    assert df["value"].iloc[0] < base
    (tmp_path / "e.csv").write_text("position[UK]\nabc\n")
    with pytest.raises(InputError) as e:
        run_sweep(s.model_copy(update={"design": s.design.model_copy(update={"file": "e.csv"})}), store=Store(tmp_path / "st"))
    assert e.value.problems[0].line == 2


def test_positions_trace_and_export(tmp_path):
    st_ = Store(tmp_path / "st")
    pytest.importorskip("openpyxl")
    r = run_sweep(spec(trace="summary"), store=st_)
    for fmt in ("csv", "parquet", "xlsx"):
        path, n = export_run(st_, r.run_id, fmt, tmp_path / f"out.{fmt}")
        assert path.exists() and n == 200
    with pytest.raises(InputError):
        export_run(st_, r.run_id, "docx")


def test_sobol_matches_closed_form(tmp_path):
    # compromise = sum(w x)/sum(w) is linear in positions: with independent equal-variance
    # additive shocks, the first-order index of actor i is w_i^2 / sum_j w_j^2.
    scn = examples.load("ec_emission")
    actors = ["UK", "Germany", "Luxembourg"]
    s = spec(chunk_size=1024, factors=[{"field": "position", "actors": [a], "dist": {"kind": "uniform", "low": -0.5, "high": 0.5}} for a in actors])
    res = run_sensitivity(s, method="sobol", n=512, store=Store(tmp_path))
    arr = scn.issue_arrays("emission")
    w = {a: arr.capability[k] * arr.salience[k] for k, a in enumerate(arr.actors)}
    tot = sum(w[a] ** 2 for a in actors)
    rows = {r["factor"]: r for r in res.indices["emission"]}
    for a in actors:
        exact = w[a] ** 2 / tot
        r = rows[f"position[{a}]"]
        assert abs(r["S1"] - exact) <= max(2 * r["S1_conf"], 0.02), (a, r, exact)
        assert abs(r["ST"] - exact) <= max(2 * r["ST_conf"], 0.02)
    # tornado: the swing is proportional to the weight
    t = res.tornado["emission"]
    assert [x["factor"] for x in t] == [f"position[{a}]" for a in sorted(actors, key=lambda a: -w[a])]
    m = run_sensitivity(s, method="morris", n=10, store=Store(tmp_path))
    mu = {r["factor"]: r["mu_star"] for r in m.indices["emission"]}
    assert mu["position[UK]"] > mu["position[Germany]"] > mu["position[Luxembourg]"]


def _sweep_cli(*args, env):
    return subprocess.Popen([sys.executable, "-m", "detente", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.mark.slow
def test_killed_sweep_resumes_without_loss_or_duplicates(tmp_path):
    spec_path = tmp_path / "s.yaml"
    spec_path.write_text(
        "name: kill\nscenario: example:ec_emission\nmodel: median\nseed: 5\nchunk_size: 20\n"
        "factors:\n  - field: salience\n    dist: {kind: normal, mean: 0, sd: 5}\n    clip: [0, 100]\n    per: cell\n"
        "design: {kind: montecarlo, runs: 1200}\n"
    )
    env = {**os.environ, "DETENTE_HOME": str(tmp_path / "home")}
    store_dir = tmp_path / "st"
    proc = _sweep_cli("sweep", str(spec_path), "--store", str(store_dir), "--json", env=env)
    parts_dir = store_dir / "parts"
    t0 = time.time()
    while time.time() - t0 < 120:
        n = len(list(parts_dir.glob("*/part-*.parquet"))) if parts_dir.exists() else 0
        if n >= 5:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    st_ = Store(store_dir)
    (info,) = st_.list(kind="sweep")
    assert info.status == "running"
    partial = len(st_.part_files(info.run_id))
    assert 5 <= partial < 60
    out = subprocess.run([sys.executable, "-m", "detente", "sweep", "resume", info.run_id, "--store", str(store_dir), "--json"],
                         env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    import json

    d = json.loads(out.stdout)
    assert d["chunks"] == 60 and d["computed_chunks"] <= 60 - partial + 1
    df = resume_sweep(info.run_id, store=st_).to_df()
    assert len(df) == 1200 and df["run"].is_unique
    # identical to an uninterrupted run
    ref = run_sweep(load_sweep_spec(spec_path), store=Store(tmp_path / "ref"))
    assert parts_bytes(st_, info.run_id) == parts_bytes(ref.store, ref.run_id)


def test_compromise_batch_kernel_equals_per_run_model(tmp_path):
    from detente.experiments.sweep import ScenarioArrays, _scenario_from, apply_design, design_values, expand_factors
    from detente.models.baseline import CompromiseParams, batch_compromise, run_compromise

    s = spec(design={"kind": "lhs", "runs": 50})
    scn = examples.load("ec_emission")
    base = ScenarioArrays.from_scenario(scn)
    cols = expand_factors(s.factors, base)
    pert = apply_design(base, s.factors, cols, design_values(s, cols, s.factors))
    fast = batch_compromise(base, pert, CompromiseParams())["emission"]
    slow = [run_compromise(_scenario_from(scn, base, pert, r), CompromiseParams()).forecast() for r in range(50)]
    assert np.allclose(fast, slow, rtol=0, atol=1e-12)


def test_bundled_sweep_example_runs(tmp_path):
    from importlib import resources

    path = Path(str(resources.files("detente.examples"))) / "sweeps" / "ec_salience.yaml"
    s = load_sweep_spec(path)
    s = s.model_copy(update={"design": s.design.model_copy(update={"runs": 300})})
    r = run_sweep(s, store=Store(tmp_path))
    df = r.to_df()
    assert len(df) == 300 and "salience +-10[UK,emission]" in df.columns and "UK position" in df.columns
    assert (df["UK position"] <= 0).all()
    summ = r.summary()
    assert 4 <= summ["q05"].iloc[0] <= summ["median"].iloc[0] <= summ["q95"].iloc[0] <= 10
    html = r._repr_html_()
    assert "<table" in html
    fig = r.plot()
    bars = [t for t in fig.data if t.type == "bar"]
    assert sum(bars[0].y) == 300   # every run in the histogram
    assert f"median {summ['median'].iloc[0]:.4g}" in [t.name for t in fig.data]
