"""Benchmark of the markdown report's PNG export in `detente run seesaw-2021 -H combined` (plain script).

Runs the command's work in this process (:func:`detente.cli.crisis_run.crisis_run`, report written
to a temporary folder) and prints the wall and CPU time of the whole command and of its "report"
stage (``detente.report.crisis.write_report``: building the figures, exporting them to PNG
through kaleido's headless Chromium, writing the markdown), with the load average.

CPU time counts the browser's processes (``cpu_time.TreeCPU``: a thread samples the CPU time of
every process under this one every 20 ms from ``/proc`` and counts a process that has ended at its
last sample; the browser's processes are not all reaped into ``RUSAGE_CHILDREN``, so
``cpu_time.tree_cpu`` alone loses most of their time once the browser is closed); the sampling
thread's own CPU time is not counted. Without a browser the PNGs are not written
and the report says why.

No assertion is made. Works on any version of the code (it only wraps ``write_report``).

Usage: python benchmarks/bench_report_images.py [--runs N] [--repeat R]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cpu_time import TreeCPU


def measure(runs: int) -> dict[str, Any]:
    from detente.cli.crisis_run import crisis_run
    from detente.report import crisis as report

    cpu = TreeCPU()
    stage: dict[str, float] = {}
    write = report.write_report

    def timed(*a: Any, **k: Any) -> Any:
        t, c = time.perf_counter(), cpu.now()
        try:
            return write(*a, **k)
        finally:
            stage["wall"], stage["cpu"] = time.perf_counter() - t, cpu.now() - c

    report.write_report = timed
    try:
        with tempfile.TemporaryDirectory() as tmp:
            t, c = time.perf_counter(), cpu.now()
            _, rep = crisis_run("seesaw-2021", hypotheses=["combined"], runs=runs, out_dir=tmp)
            wall, c = time.perf_counter() - t, cpu.now() - c
            pngs = sorted(p.name for p in rep.parent.glob("*.png"))
    finally:
        report.write_report = write
        cpu.stop()
    return {"wall": wall, "cpu": c, "report_wall": stage["wall"], "report_cpu": stage["cpu"], "pngs": pngs}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    print(f"detente run seesaw-2021 -H combined --runs {args.runs}")
    for _ in range(args.repeat):
        load = os.getloadavg()[0]
        m = measure(args.runs)
        print(f"  command wall {m['wall']:6.2f} s  CPU {m['cpu']:6.2f} s | report wall {m['report_wall']:5.2f} s  "
              f"CPU {m['report_cpu']:5.2f} s | {len(m['pngs'])} PNGs | load average {load:.1f} (2 cores)")


if __name__ == "__main__":
    main()
