"""Speed of the ``bdm`` model: time per full run (10 rounds) of the 10-actor EC case, per
variant, and the ratio to a naive pure-Python loop implementation of the same rounds
(``masad2014`` rules: loops over actor pairs and voter triples), measured in this process.

Run: ``.venv/bin/python benchmarks/bench_bdm.py [--runs N]``.

The later sweep target (1,000,000 EC runs in 5 minutes on 2 cores) needs about 0.6 ms per run
per core; the numbers printed here say how far the per-run engine is from it.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np

from detente.models.bdm import BDMParams, run_issue
from detente.scenario import Actor, Issue, Scenario, Stance

ROOT = Path(__file__).resolve().parents[1]
EC = ROOT / "tests" / "fixtures" / "bdm" / "inputs" / "emission_scholz2011_table1.csv"


def ec_scenario() -> Scenario:
    rows = list(csv.DictReader(open(EC, newline="", encoding="utf-8")))
    return Scenario(
        name="ec", salience_scale="percent",
        actors=[Actor(id=r["Actor"], capability=float(r["Capability"])) for r in rows],
        issues=[Issue(id="x", lower=4, upper=10)],
        stances=[Stance(actor=r["Actor"], issue="x", position=float(r["Position"]), salience=float(r["Salience"])) for r in rows],
    )


def random_scenario(n: int, seed: int = 0) -> Scenario:
    g = np.random.default_rng(seed)
    ids = [f"A{k}" for k in range(n)]
    return Scenario(
        name=f"random{n}", salience_scale="unit",
        actors=[Actor(id=a, capability=float(c)) for a, c in zip(ids, g.uniform(0.1, 1, n))],
        issues=[Issue(id="x", lower=0, upper=100)],
        stances=[Stance(actor=a, issue="x", position=float(p), salience=float(s))
                 for a, p, s in zip(ids, g.uniform(0, 100, n), g.uniform(0.1, 1, n))],
    )


# ------------------------------------------------------------------ naive loop baseline (masad2014)


def naive_masad2014(x: list[float], c: list[float], s: list[float], rounds: int = 10) -> list[float]:
    n = len(x)
    x = list(x)
    delta = max(x) - min(x)
    w = [c[k] * s[k] for k in range(n)]

    def prob(i, j):
        if x[i] == x[j]:
            return 0.0
        net = tot = 0.0
        for k in range(n):
            v = w[k] * (abs(x[k] - x[j]) - abs(x[k] - x[i]))
            net += v
            tot += abs(v)
        return max(0.0, net) / tot if tot > 0 else 0.0

    def eu(i, j, r, P):
        if x[i] == x[j]:
            return 0.0
        d = abs(x[i] - x[j]) / delta
        us = 2 - 4 * (0.5 - 0.5 * d) ** r
        uf = 2 - 4 * (0.5 + 0.5 * d) ** r
        usq = 2 - 4 * 0.5**r
        return s[j] * (P[i][j] * us + (1 - P[i][j]) * uf) + (1 - s[j]) * us - usq

    means = []
    for _ in range(rounds):
        P = [[prob(i, j) for j in range(n)] for i in range(n)]
        S = [sum(eu(j, k, 1.0, P) for j in range(n) if j != k) for k in range(n)]
        hi, lo = max(S), min(S)
        r = [1.0] * n if hi == lo else [(1 - (2 * S[i] - hi - lo) / (hi - lo) / 3) / (1 + (2 * S[i] - hi - lo) / (hi - lo) / 3) for i in range(n)]
        E = [[eu(i, j, r[i], P) for j in range(n)] for i in range(n)]
        new = list(x)
        for i in range(n):
            offers = [(E[j][i], -abs(x[j] - x[i]), j) for j in range(n) if j != i and E[j][i] > 0]
            if not offers:
                continue
            best = max(o[0] for o in offers)
            j = min((o for o in offers if o[0] == best), key=lambda o: (-o[1], o[2]))[2]
            a, b = E[i][j], E[j][i]
            if 0 < a < b:
                new[i] = x[j]
            elif a < 0 and abs(a) < b:
                new[i] = x[i] + (x[j] - x[i]) * abs(a / b)
            elif a < 0 and abs(a) > b:
                new[i] = x[j]
        x = new
        means.append(sum(w[k] * x[k] for k in range(n)) / sum(w))
    return means


def timeit(fn, runs: int) -> float:
    fn()  # warm up
    t0 = time.perf_counter()
    for _ in range(runs):
        fn()
    return (time.perf_counter() - t0) / runs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=200)
    args = ap.parse_args(argv)
    scn = ec_scenario()
    arr = scn.issue_arrays("x")
    x, c, s = arr.position.tolist(), arr.capability.tolist(), arr.salience.tolist()

    vec = run_issue(scn, "x", BDMParams(variant="masad2014", record_eu=False), rng=np.random.default_rng(0))
    ref = naive_masad2014(x, c, s)
    assert np.allclose([r.mean for r in vec.rounds[1:]], ref, atol=1e-9), "naive baseline disagrees"

    t_naive = timeit(lambda: naive_masad2014(x, c, s), max(5, args.runs // 10))
    print(f"EC, 10 actors x 10 rounds; naive pure-Python loops (masad2014 rules): {t_naive * 1e3:8.3f} ms/run")
    for v in ("detente", "scholz2011", "masad2014", "masad2016"):
        p = BDMParams(variant=v, record_eu=False)
        t = timeit(lambda: run_issue(scn, "x", p, rng=np.random.default_rng(0)), args.runs)
        print(f"  {v:<11} vectorised: {t * 1e3:8.3f} ms/run   ratio naive/this {t_naive / t:6.2f}x   "
              f"-> 1e6 runs on 2 cores: {t * 1e6 / 2 / 60:7.1f} min")
    for n in (20, 50, 100):
        sc = random_scenario(n)
        for v in ("scholz2011", "masad2014", "masad2016", "detente"):
            p = BDMParams(variant=v, record_eu=False)
            t = timeit(lambda: run_issue(sc, "x", p, rng=np.random.default_rng(0)), 1 if n == 100 else 3)
            print(f"  n={n:<4} {v:<11} {t:8.3f} s/run (10 rounds)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
