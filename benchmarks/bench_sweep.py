"""Sweep benchmarks (issue 8), ratios against baselines measured in the same process.

1. Chunking overhead: the same Monte Carlo sweep (compromise model, EC emission case,
   salience +-10 per cell) as one big chunk and as chunks of 10,000 runs. Target < 5 %.
2. Query speed: quantiles per issue per round over a 10-million-row result set stored as
   Parquet parts, through ``Store.query`` (DuckDB). Target < 5 s. Baseline: a plain
   ``count(*)`` over the same parts.
3. BDM throughput: runs per second of the ``bdm`` model (default variant) on the EC case
   through the sweep path (``evaluate_chunk`` with the batched engine,
   ``detente.models.bdm_batch``), and the time 1,000,000 runs would take on two worker
   processes. Target < 300 s. Baselines in the same process: the per-run engine through the
   same sweep path (batch kernel switched off) on one core, and the batched engine on one core.

Run: ``.venv/bin/python benchmarks/bench_sweep.py [--quick] [--only chunking|query|bdm]``
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from detente.experiments.executors import ProcessExecutor, SerialExecutor
from detente.experiments.runner import run_sweep
from detente.experiments.sweep import SweepSpec
from detente.models.registry import get, names
from detente.store import Store


def mc_spec(model: str, runs: int, chunk: int, **kw) -> SweepSpec:
    return SweepSpec.model_validate(dict(
        name=f"bench-{model}", scenario="example:ec_emission", model=model, seed=1, chunk_size=chunk,
        factors=[{"field": "salience", "dist": {"kind": "uniform", "low": -10, "high": 10}, "clip": [0, 100], "per": "cell"}],
        design={"kind": "montecarlo", "runs": runs}, **kw))


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def chunking(runs: int) -> None:
    with tempfile.TemporaryDirectory() as td:
        one = timed(lambda: run_sweep(mc_spec("compromise", runs, runs), store=Store(Path(td) / "a"), executor=SerialExecutor()))
        many = timed(lambda: run_sweep(mc_spec("compromise", runs, 10_000), store=Store(Path(td) / "b"), executor=SerialExecutor()))
    over = many / one - 1
    print(f"[chunking] {runs:,} runs: one chunk {one:.2f} s, chunks of 10,000 {many:.2f} s -> overhead {over * 100:+.1f} % "
          f"(target < 5 %: {'OK' if over < 0.05 else 'MISSED'})")


def query(rows: int) -> None:
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as td:
        st = Store(td)
        rid = st.open_run("ab" * 16, model="synthetic", kind="sweep")
        per = 1_000_000
        actors = np.array([f"A{i}" for i in range(10)])
        issues = np.array(["I0", "I1", "I2", "I3"])
        for c in range(rows // per):
            st.write_part(rid, c, pa.table({
                "run": np.arange(c * per, (c + 1) * per, dtype=np.int64) // 400,
                "issue": issues[rng.integers(0, 4, per)],
                "round": rng.integers(0, 10, per).astype(np.int32),
                "actor": actors[rng.integers(0, 10, per)],
                "value": rng.random(per) * 100,
            }))
        base = timed(lambda: st.query("SELECT count(*) FROM parts", run_id=rid))
        q = "SELECT issue, round, quantile_cont(value, [0.05, 0.25, 0.5, 0.75, 0.95]) AS q FROM parts GROUP BY issue, round ORDER BY issue, round"
        t = timed(lambda: st.query(q, run_id=rid))
    print(f"[query] {rows:,} rows: quantiles per issue per round {t:.2f} s (count(*) baseline {base:.2f} s, ratio {t / base:.1f}x) "
          f"(target < 5 s: {'OK' if t < 5 else 'MISSED'})")


@contextlib.contextmanager
def _without_batch(model: str):
    """Switch a model's sweep batch kernel off in this process (the per-run engine is used)."""
    spec = get(model)
    saved = spec.extra.pop("batch", None)
    try:
        yield
    finally:
        if saved is not None:
            spec.extra["batch"] = saved


def bdm(runs: int, per_run_runs: int) -> None:
    if "bdm" not in names():
        print("[bdm] model not registered; skipped")
        return
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as td:
        with _without_batch("bdm"):
            t_slow = timed(lambda: run_sweep(mc_spec("bdm", per_run_runs, per_run_runs), store=Store(Path(td) / "s"),
                                             executor=SerialExecutor()))
        one = max(per_run_runs, runs // 4)
        t_one = timed(lambda: run_sweep(mc_spec("bdm", one, max(1, one // 4)), store=Store(Path(td) / "o"), executor=SerialExecutor()))
        with ProcessExecutor(2) as ex:
            run_sweep(mc_spec("bdm", 64, 32), store=Store(Path(td) / "w"), executor=ex)  # start the workers
            t = timed(lambda: run_sweep(mc_spec("bdm", runs, max(1, runs // 8)), store=Store(Path(td) / "b"), executor=ex))
    slow_ms, one_ms = t_slow / per_run_runs * 1e3, t_one / one * 1e3
    rate = runs / t
    est = 1_000_000 / rate
    print(f"[bdm] per-run engine, 1 core: {slow_ms:.2f} ms/run ({per_run_runs} runs); batched engine, 1 core: {one_ms:.3f} ms/run "
          f"({one:,} runs) -> ratio {slow_ms / one_ms:.0f}x")
    print(f"[bdm] {runs:,} BDM runs on 2 processes: {t:.2f} s = {rate:,.0f} runs/s -> 1,000,000 runs in ~{est:.0f} s "
          f"(target < 300 s: {'OK' if est < 300 else 'MISSED'}); per-run engine on 2 cores would need ~{slow_ms * 1e3 / 2:,.0f} s; "
          f"load average at start {load:.1f} on {os.cpu_count()} cores (shared machine: timings inflated by other users)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="smaller sizes (smoke run)")
    ap.add_argument("--only", choices=["chunking", "query", "bdm"], help="run one section")
    a = ap.parse_args()
    if a.only in (None, "chunking"):
        chunking(200_000 if not a.quick else 20_000)
    if a.only in (None, "query"):
        query(10_000_000 if not a.quick else 2_000_000)
    if a.only in (None, "bdm"):
        bdm(20_000 if not a.quick else 8_000, 200 if not a.quick else 40)


if __name__ == "__main__":
    main()
