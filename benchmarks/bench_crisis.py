"""Benchmark of the crisis engine on `seesaw-2021` (plain script, prints ratios).

Target (issue 3): 100,000 runs × 48 months under 20 s and 2 GB on a 2-core machine. The
baseline, measured in the same process, is a plain numpy loop with the same number of
element-operations per run-month as a reference for machine speed/load: the script prints
wall time, CPU time (parent + workers, less sensitive to other load), runs/s, peak
RSS and the ratio engine/baseline so numbers from loaded and idle
machines can be compared. No assertion is made.

Usage: python benchmarks/bench_crisis.py [--runs N] [--workers W] [--hypothesis H]
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import numpy as np


def baseline(runs: int, months: int) -> float:
    """Time 200 fused-multiply-add passes per month over a (runs,) float64 array."""
    a = np.random.default_rng(0).random(min(runs, 8192))
    b = a.copy()
    t = time.perf_counter()
    reps = max(1, runs // a.size)
    for _ in range(months):
        for _ in range(reps):
            for _ in range(200):
                np.multiply(a, 0.999, out=b)
                b += 0.001
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=100_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--hypothesis", default=None)
    args = ap.parse_args()
    from detente import examples
    from detente.crisis import run

    scn = examples.load("seesaw-2021")
    run(scn, {"runs": 200, "horizon_months": 2}, seed=1)  # warm imports
    base = baseline(args.runs, 48)
    cpu0 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    res = run(scn, {"runs": args.runs, "workers": args.workers, "hypothesis": args.hypothesis}, seed=20211201)
    wall = time.perf_counter() - t
    cpu1 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = sum(b.ru_utime + b.ru_stime - a.ru_utime - a.ru_stime for a, b in zip(cpu0, cpu1))
    load = os.getloadavg()[0]
    rss_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    rss_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2
    print(f"seesaw-2021: {args.runs} runs x 48 months, workers={args.workers}, hypothesis={args.hypothesis}")
    print(f"  engine wall      {wall:8.2f} s   ({args.runs / wall:,.0f} runs/s)   target < 20 s: "
          f"{'met' if wall < 20 else 'NOT met'}")
    print(f"  engine CPU       {cpu:8.2f} s   (all processes; ≈ wall × cores when the machine is idle); "
          f"load average {load:.1f}")
    print(f"  baseline (numpy) {base:8.2f} s   ratio engine/baseline = {wall / base:.2f}")
    print(f"  peak RSS         {rss_gb:8.2f} GB (parent), {rss_children:.2f} GB (largest worker); target < 2 GB")
    print(f"  P(war by 2022-02-28) = {res.p_war_by()['2022-02-28']:.4f}, P(no RU war, 48 m) = {res.p_no_war_ru():.4f}")


if __name__ == "__main__":
    main()
