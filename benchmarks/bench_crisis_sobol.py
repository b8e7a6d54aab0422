"""Timing of a Sobol analysis of 20 crisis numbers of seesaw-2021 (issue 17; plain script).

Target: under 10 minutes on a 2-core machine, at a sample size whose indices are usable (no
index warning: intervals narrower than the indices, no clearly negative first-order index, no
total above 1; :func:`detente.experiments.sensitivity.index_warnings`). The twenty numbers are
those of ``benchmarks/bench_crisis_sensitivity.py``; hypothesis ``combined``; outputs P(war by
the record's end) and Russia's months of peace; the library defaults for the base sample ``N``
and the runs per point unless given.

Prints wall and CPU time (this process and its workers, :mod:`cpu_time`), the points and engine runs, runs per
CPU second, the widest confidence half-width and the warnings, and the ratio to a baseline
measured in the same process (a plain numpy loop, as in ``benchmarks/bench_crisis.py``), so
numbers from loaded and idle machines can be compared. No assertion is made.

Usage: python benchmarks/bench_crisis_sobol.py [--n N] [--runs-per-point M] [--workers W]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_crisis_sensitivity import FACTORS  # the twenty numbers: one list for both scripts
from cpu_time import tree_cpu


def baseline() -> tuple[float, float]:
    """Wall and CPU time of 48 × 200 multiply-add passes over an 8192-run float64 array."""
    a = np.random.default_rng(0).random(8192)
    b = a.copy()
    t, c = time.perf_counter(), time.process_time()
    for _ in range(48 * 200):
        np.multiply(a, 0.999, out=b)
        b += 0.001
    return time.perf_counter() - t, time.process_time() - c


def cpu_now() -> float:
    """CPU seconds of this process and the processes under it (worker pools included)."""
    return tree_cpu()


def main() -> None:
    from detente import examples
    from detente.experiments import crisis_sensitivity as cs

    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=cs.DEFAULT_SOBOL_N)
    ap.add_argument("--runs-per-point", type=int, default=cs.DEFAULT_RUNS_PER_POINT)
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()
    scn = examples.load("seesaw-2021")
    base, base_cpu = baseline()
    pool = contextlib.nullcontext()
    if args.workers > 1:
        from detente.executors import ProcessExecutor

        pool = ProcessExecutor(args.workers)
    with pool as ex:
        t, c = time.perf_counter(), cpu_now()
        r = cs.crisis_sensitivity(scn, hypothesis="combined", factors=FACTORS, outputs=["p_war_by_end", "months_of_peace"],
                                  n=args.n, runs_per_point=args.runs_per_point, with_tornado=False,
                                  executor=ex if args.workers > 1 else None)
        wall, cpu = time.perf_counter() - t, cpu_now() - c
    df = r.to_df()
    runs = r.points * args.runs_per_point
    print(f"Sobol, seesaw-2021 combined, {len(FACTORS)} numbers, N={args.n}, {args.runs_per_point} runs per point, "
          f"workers={args.workers} (load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} cores)")
    print(f"  wall {wall:8.1f} s   CPU {cpu:8.1f} s   target < 600 s wall: {'met' if wall < 600 else 'NOT met'}")
    print(f"  {r.points:,} points, {runs:,} engine runs x 48 months, {runs / max(cpu, 1e-9):,.0f} runs per CPU second")
    print(f"  widest 95 % half-width {float(df[['S1_conf', 'ST_conf']].max().max()):.3f}; warnings: "
          f"{'; '.join(r.warnings) if r.warnings else 'none (indices usable)'}")
    print(f"  baseline (numpy loop) wall {base:.2f} s, CPU {base_cpu:.2f} s; ratios: wall {wall / base:.0f}, "
          f"CPU {cpu / base_cpu:.0f}")
    print(df.sort_values("ST", ascending=False).head(6).to_string(index=False))


if __name__ == "__main__":
    main()
