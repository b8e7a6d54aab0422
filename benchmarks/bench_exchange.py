"""Benchmark of the exchange model against the reference figures of specs/exchange.md §7.

Plain script (no timed assertions): ``python benchmarks/bench_exchange.py [--quick]``.
Random instances: positions U[0, 100], saliences U[0.1, 1], one power per actor U[0.1, 1]
(the generator of the spec's random cases, not its exact draws). CPU = process time, median
(and minimum) of ``--repeat`` runs; the load average is printed because on a shared machine
CPU times grow with it (cache and memory-bandwidth contention).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from detente.models.exchange import ExchangeData, ExchangeParams, data_from_scenario, simulate

SHARED = Path(os.environ.get("DETENTE_SHARED", Path(__file__).resolve().parents[1].parent / "shared"))
# real data sets of the spec's table: file -> [(variant kwargs, reference model CPU s, label)]
REAL = {
    "sample_data.txt": [({}, 1.75, "EG"), ({"variant": "rex", "p": 1.0}, 2.55, "REX p=1")],
    "copenhagen.csv": [({}, 2.25, "EG")],
    "cop21.csv": [({}, 21.64, "EG")],
}

# model CPU seconds of the reference (spec §7), case -> (seconds, rounds it covers)
REFERENCE = {
    (10, 4): (0.49, 10),
    (30, 8): (54.72, 10),
    (60, 12): (155.0, 1),
}
TARGETS = {(60, 12): 2.0, (100, 20): 30.0}


def random_data(n: int, m: int, seed: int) -> ExchangeData:
    rng = np.random.default_rng(seed)
    X = np.round(rng.uniform(0, 100, (n, m)), 1)
    S = np.round(rng.uniform(0.1, 1, (n, m)), 2)
    C = np.repeat(np.round(rng.uniform(0.1, 1, (n, 1)), 2), m, axis=1)
    return ExchangeData(tuple(f"A{i:03d}" for i in range(n)), tuple(f"I{d:02d}" for d in range(m)),
                        X, S, C, np.ones((n, m), bool), np.zeros(m), np.full(m, 100.0))


def bench(n: int, m: int, rounds: int, repeat: int, **kw) -> tuple[float, float, list[int], list[int]]:
    data = random_data(n, m, seed=1)
    params = ExchangeParams(rounds=rounds, detail="summary", **kw)
    times = []
    for r in range(repeat):
        t = time.process_time()
        sim = simulate(data, params, rng=np.random.default_rng(r))
        times.append(time.process_time() - t)
    return (statistics.median(times), min(times), [x.candidates for x in sim.rounds],
            [len(x.exchanges) for x in sim.rounds])


def load() -> str:
    try:
        return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    except OSError:  # pragma: no cover - not on every platform
        return "load average unknown"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="skip the 100 x 20 case")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args(argv)
    cases = [(10, 4, 10), (30, 8, 10), (60, 12, 1), (60, 12, 10)] + ([] if a.quick else [(100, 20, 10)])
    print(load(), f"(nproc {os.cpu_count()})")
    print(f"{'case':>16} {'mode':>10} {'CPU s':>8} {'min':>7} {'target':>7} {'vs reference':>14}  "
          "candidates/realized (round 0)")
    for n, m, rounds in cases:
        for mode in ("corrected", "reference"):
            rep = 1 if n * m >= 2000 else a.repeat
            sec, best, cand, real = bench(n, m, rounds, rep, mode=mode)
            ref = REFERENCE.get((n, m))
            ratio = ""
            if ref is not None and ref[1] == rounds:
                ratio = f"{ref[0] / sec:10.0f}x faster"
            elif ref is not None:
                ratio = f"{ref[0] * rounds / ref[1] / sec:8.0f}x (est.)"
            tgt = TARGETS.get((n, m)) if rounds == 10 else None
            flag = "" if tgt is None else (f"{tgt:5.0f}s " + ("ok" if sec < tgt else "SLOW"))
            print(f"{n:>4} x {m:<3} x {rounds:>2}r {mode:>10} {sec:8.3f} {best:7.3f} {flag:>7} {ratio:>14}  "
                  f"{cand[0]}/{real[0]}")
            sys.stdout.flush()
    inputs = SHARED / "conformance" / "exchange" / "inputs"
    if not inputs.is_dir():
        print(f"(real data sets skipped: {inputs} not found)")
        return 0
    from detente.formats.decide import read_decide

    print(f"{'data set':>22} {'model':>10} {'CPU s':>8} {'reference':>10} {'speed-up':>9}")
    for name, runs in REAL.items():
        data = data_from_scenario(read_decide(inputs / name))
        for kw, ref, label in runs:
            times = []
            for r in range(a.repeat):
                t = time.process_time()
                simulate(data, ExchangeParams(rounds=10, detail="summary", **kw), rng=np.random.default_rng(r))
                times.append(time.process_time() - t)
            sec = statistics.median(times)
            print(f"{name:>22} {label:>10} {sec:8.3f} {ref:10.2f} {ref / sec:8.0f}x")
    print(load())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
