"""Benchmark of the ``smp`` model against KTAB's ``smpc`` figures (specs/smp.md §16).

Plain script (no timed assertions anywhere): for each input it reads the file with
``detente.formats.load``, runs the model through the registry, serialises the ``--json``
result, and prints CPU and wall seconds, the number of states, the ratio to smpc's median CPU
time, and the CPU time per state. With ``--cli`` it also times the whole command line
(``python -m detente forecast FILE -m smp --json --no-store``) in a subprocess.

Inputs come from ``../shared/conformance/smp/inputs`` (set ``DETENTE_SHARED``); random 2-D
scenarios of 20, 50 and 100 actors are generated with a fixed seed (KTAB's were held back, so
those ratios compare instances of the same size, not the same instance).

Usage::

    .venv/bin/python benchmarks/bench_smp.py [--repeat 3] [--cli] [--only a080,r50x2] [--save out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DETENTE_SHARED", REPO.parent / "shared"))
INPUTS = SHARED / "conformance" / "smp" / "inputs"

# key: (file or random spec, N x K, smpc states, smpc CPU s median, smpc wall s median)
CASES: dict[str, tuple[str, str, int | None, float, float]] = {
    "d3": ("dummyData_3Dim.csv", "7x3", 11, 0.09, 0.18),
    "polcomp": ("SOE-Pol-Comp.csv", "13x2", 28, 0.84, 1.27),
    "r20x2": ("random:20:2", "20x2", None, 1.17, 1.87),
    "policy": ("SOE-Policy.csv", "26x1", 20, 3.39, 5.75),
    "d6": ("dummyData_6Dim.csv", "27x6", 30, 6.24, 6.67),
    "competitive": ("SOE-Competitive.csv", "34x1", 36, 16.61, 29.86),
    "a040": ("dummyData-a040.csv", "40x1", 21, 15.41, 28.97),
    "r50x2": ("random:50:2", "50x2", None, 38.85, 65.92),
    "a080": ("dummyData-a080.csv", "80x1", 18, 241.06, 370.95),
    "r100x2": ("random:100:2", "100x2", None, 1248.43, 1614.59),
}


def random_ktab_csv(n: int, k: int, seed: int, path: Path) -> Path:
    """A KTAB CSV with random capabilities, positions and saliences (total salience <= 100)."""
    rng = np.random.default_rng(seed)
    cap = rng.uniform(10, 300, n)
    pos = rng.uniform(0, 100, (n, k))
    sal = rng.dirichlet(np.ones(k), n) * rng.uniform(40, 100, (n, 1))
    head = ",".join(f"Pstn{d + 1},Sal{d + 1}" for d in range(k))
    lines = [f"Random-{n}x{k},random benchmark scenario seed {seed},{n},{k},", f"Actor,Description,Power,{head},"]
    for i in range(n):
        cells = ",".join(f"{pos[i, d]:.2f},{np.floor(sal[i, d] * 100) / 100:.2f}" for d in range(k))
        lines.append(f"R{i:03d},random actor,{cap[i]:.3f},{cells},")
    path.write_text("\n".join(lines) + "\n")
    return path


def resolve(spec: str, tmp: Path) -> Path:
    if spec.startswith("random:"):
        _, n, k = spec.split(":")
        return random_ktab_csv(int(n), int(k), 20240 + int(n) * 10 + int(k), tmp / f"random_{n}x{k}.csv")
    return INPUTS / spec


def run_inprocess(path: Path) -> tuple[float, float, int, int]:
    from detente.formats import load
    from detente.models.registry import run_model

    c0, w0 = time.process_time(), time.perf_counter()
    scn = load(path)
    res = run_model(scn, "smp", seed=1)
    text = res.to_json()
    return time.process_time() - c0, time.perf_counter() - w0, int(res.extra["num_states"]), len(text)


def run_cli(path: Path) -> tuple[float, float]:
    w0 = time.perf_counter()
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-m", "detente", "forecast", str(path), "-m", "smp", "--json", "--no-store"],
                   check=True, stdout=subprocess.DEVNULL)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return cpu, time.perf_counter() - w0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--cli", action="store_true", help="also time the command line end to end")
    ap.add_argument("--save", type=Path, help="write the rows as JSON to this file")
    ap.add_argument("--only", default="", help="comma-separated case keys: " + ",".join(CASES))
    a = ap.parse_args(argv)
    keys = [k for k in a.only.split(",") if k] or list(CASES)
    if not INPUTS.is_dir():
        print(f"shared inputs not found at {INPUTS} (set DETENTE_SHARED)")
        return 2
    print(f"load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs, median of {a.repeat}")
    hdr = f"{'case':12} {'N x K':7} {'states':>6} {'smpc':>5} {'cpu s':>7} {'wall s':>7} {'s/state':>8} " \
          f"{'smpc cpu':>9} {'speed-up':>9}"
    if a.cli:
        hdr += f" {'cli cpu':>8} {'cli wall':>9}"
    print(hdr)
    rows = []
    with tempfile.TemporaryDirectory() as td:
        for k in keys:
            spec, size, states_ref, cpu_ref, _wall_ref = CASES[k]
            path = resolve(spec, Path(td))
            runs = [run_inprocess(path) for _ in range(a.repeat)]
            cpu = statistics.median(r[0] for r in runs)
            wall = statistics.median(r[1] for r in runs)
            states = runs[0][2]
            line = (f"{k:12} {size:7} {states:6d} {states_ref if states_ref else '-':>5} {cpu:7.2f} {wall:7.2f} "
                    f"{cpu / states:8.3f} {cpu_ref:9.2f} {cpu_ref / cpu:8.0f}x")
            row = {"case": k, "size": size, "states": states, "smpc_states": states_ref, "cpu": cpu, "wall": wall,
                   "smpc_cpu": cpu_ref, "speedup": cpu_ref / cpu}
            if a.cli:
                cl = [run_cli(path) for _ in range(a.repeat)]
                ccpu = statistics.median(c[0] for c in cl)
                cwall = statistics.median(c[1] for c in cl)
                line += f" {ccpu:8.2f} {cwall:9.2f}"
                row.update(cli_cpu=ccpu, cli_wall=cwall)
            print(line, flush=True)
            rows.append(row)
    if a.save:
        a.save.write_text(json.dumps({"load_average": os.getloadavg()[0], "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
