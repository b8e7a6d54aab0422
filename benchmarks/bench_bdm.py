"""Speed of the ``bdm`` model against the targets of issue 4, all measured in this process.

1. Per-run engine, time per full run (10 rounds) of the 10-actor EC case, per variant, and the
   ratio to a naive pure-Python loop implementation of the same rounds (``masad2014`` rules:
   loops over actor pairs and voter triples).
2. Per-run engine (``run_issue``), 10, 50 and 200 actors x 10 rounds, per variant, on random
   scenarios ``random_scenario(n, seed=0)`` (capability ~ U(0.1, 1), position ~ U(0, 100),
   salience ~ U(0.1, 1), drawn in that order from ``numpy.random.default_rng(0)``), best of
   ``--repeat`` wall times, with the CPU time, the rounds actually run (a run stops early at
   consensus) and the target: 200 actors under 1 s (``detente``, ``masad2014``, ``masad2016``)
   and under 5 s (``scholz2011``); no target at 10 and 50 actors. Baseline: the naive loop
   (``masad2014`` rules) on the same scenario at 10 and 50 actors (200 actors with
   ``--naive-200``, about 30 s or more).
3. 1,000 Monte Carlo runs of the EC case through the model's own option:
   ``run(ec, BDMParams(variant=v, monte_carlo=1000, record_eu=False))`` (one main run plus the
   1,000-run summary, which uses the batched engine), target under 2 s; baseline: the per-run
   loop of the same summary (``_monte_carlo(..., batched=False)``) on ``--mc-baseline`` runs,
   per run.

Then the batched engine (``detente.models.bdm_batch``, the sweep batch kernel): CPU time per
run over a batch of EC copies with salience +-10 per cell (the sweep benchmark's design), per
variant, against the per-run engine on the same perturbed copies in this process, and the
projected time of 1,000,000 runs on 2 cores (target < 300 s, i.e. < 0.6 ms per run per core;
process and store overheads of a real sweep are measured by ``bench_sweep.py``).

Scaling (``--scaling 200 400 800 [1600]``, issue 17): CPU time and peak traced memory of one
``run_issue`` (default variant, 10 rounds, ``record_eu=False``) per size on
``random_scenario(n, seed=0)``, and the slope ``log2(t(2n)/t(n))`` between consecutive sizes, with
the vote sums of ``BDMParams(vote_sums="auto")`` (the sorted O(n^2 log n) sums at these sizes) and,
as the baseline in the same process, ``vote_sums="pairwise"`` (the O(n^3) voter-order sums, the
only method before; ``--pairwise-up-to N`` skips it above N actors). The forecasts of the two
are printed side by side. Peak memory is measured in a second run under ``tracemalloc`` (numpy
reports its arrays to it), not in the timed one; ``--no-memory`` skips it.

Run: ``.venv/bin/python benchmarks/bench_bdm.py [--runs N] [--batch B] [--quick] [--targets-only]
[--scaling 200 400 800 [--pairwise-up-to N] [--no-memory]]``.
The machine may be shared: CPU times are reported (less sensitive to load than wall time),
with the load average.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

import numpy as np

from detente.models.bdm import BDMParams, run_issue
from detente.scenario import Actor, Issue, Scenario, Stance

ROOT = Path(__file__).resolve().parents[1]
EC = ROOT / "tests" / "fixtures" / "bdm" / "inputs" / "emission_scholz2011_table1.csv"


def ec_scenario() -> Scenario:
    with open(EC, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return Scenario(
        name="ec", salience_scale="percent",
        actors=[Actor(id=r["Actor"], capability=float(r["Capability"])) for r in rows],
        issues=[Issue(id="x", lower=4, upper=10)],
        stances=[Stance(actor=r["Actor"], issue="x", position=float(r["Position"]), salience=float(r["Salience"])) for r in rows],
    )


def random_scenario(n: int, seed: int = 0) -> Scenario:
    """The synthetic scenario of the scaling runs (:func:`detente.examples.random_scenario`)."""
    from detente.examples import random_scenario as make

    return make(n, seed)


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


def cpu_timeit(fn, runs: int) -> float:
    fn()
    t0 = time.process_time()
    for _ in range(runs):
        fn()
    return (time.process_time() - t0) / runs


def best_time(fn, repeat: int) -> tuple[float, float, object]:
    """Best wall time and the CPU time of that repeat (no warm-up: the first call counts too)."""
    best = (float("inf"), float("inf"), None)
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        w, c = time.perf_counter() - w0, time.process_time() - c0
        if w < best[0]:
            best = (w, c, out)
    return best


TARGET_200 = {"detente": 1.0, "scholz2011": 5.0, "masad2014": 1.0, "masad2016": 1.0}
TARGET_MC = 2.0
VARIANTS = ("detente", "scholz2011", "masad2014", "masad2016")


def sizes(repeat: int, naive_200: bool) -> bool:
    """Section 2: 10, 50, 200 actors x 10 rounds per variant against the targets."""
    print(f"\nper-run engine, random_scenario(n, seed=0) x 10 rounds, best of {repeat} (wall s / CPU s); "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    ok = True
    for n in (10, 50, 200):
        sc = random_scenario(n)
        arr = sc.issue_arrays("x")
        x, c, s = arr.position.tolist(), arr.capability.tolist(), arr.salience.tolist()
        t_naive = None
        if n < 200 or naive_200:
            t_naive, _, _ = best_time(lambda x=x, c=c, s=s: naive_masad2014(x, c, s), 1 if n >= 50 else repeat)
            print(f"  n={n:<4} naive pure-Python loops (masad2014 rules): {t_naive:8.3f} s")
        for v in VARIANTS:
            p = BDMParams(variant=v, record_eu=False)
            w, cpu, res = best_time(lambda sc=sc, p=p: run_issue(sc, "x", p, rng=np.random.default_rng(0)), repeat)
            tgt = TARGET_200[v] if n == 200 else None
            verdict = "" if tgt is None else (f"target < {tgt:g} s: " + ("met" if w < tgt else "MISSED"))
            ok &= tgt is None or w < tgt
            ratio = f"naive/this {t_naive / w:7.1f}x" if t_naive is not None else "naive/this       -"
            print(f"  n={n:<4} {v:<11} {w:8.3f} s  (CPU {cpu:6.3f})  rounds run {res.extra['rounds_run']:>2}  {ratio}  {verdict}")
    return ok


def monte_carlo(repeat: int, baseline_runs: int) -> bool:
    """Section 3: 1,000 Monte Carlo runs of the EC case through the model's own option."""
    from detente.models.bdm import _monte_carlo, run

    scn = ec_scenario()
    print(f"\n1,000 Monte Carlo runs of the EC case, run(ec, BDMParams(variant=v, monte_carlo=1000)), best of {repeat} "
          f"(wall s / CPU s), target < {TARGET_MC:g} s; baseline: per-run loop on {baseline_runs} runs; "
          f"load average {os.getloadavg()[0]:.1f}")
    ok = True
    for v in VARIANTS:
        p = BDMParams(variant=v, monte_carlo=1000, record_eu=False)
        w, cpu, res = best_time(lambda p=p: run(scn, p, rng=np.random.default_rng(0)), repeat)
        assert res.issues["x"].extra["monte_carlo"]["runs"] == 1000
        pb = p.model_copy(update={"monte_carlo": baseline_runs})
        wb, _, _ = best_time(lambda pb=pb: _monte_carlo(scn, "x", pb, np.random.default_rng(0), None, batched=False), 1)
        per_loop, per_fast = wb / baseline_runs, w / 1000
        ok &= w < TARGET_MC
        print(f"  {v:<11} {w:7.3f} s  (CPU {cpu:6.3f})  {per_fast * 1e3:6.3f} ms/run   per-run loop {per_loop * 1e3:6.2f} ms/run "
              f"(ratio {per_loop / per_fast:5.1f}x)  target < {TARGET_MC:g} s: {'met' if w < TARGET_MC else 'MISSED'}")
    return ok


def batched(runs: int, per_run: int) -> None:
    """Batched engine vs per-run engine on perturbed EC copies, CPU seconds, per variant."""
    from detente.experiments.distributions import Factor, ScenarioArrays, expand_factors
    from detente.experiments.sweep import _scenario_from, apply_design
    from detente.models.bdm import run
    from detente.models.bdm_batch import batch_bdm, block_size

    scn = ec_scenario()
    base = ScenarioArrays.from_scenario(scn)
    f = [Factor.model_validate({"field": "salience", "dist": {"kind": "uniform", "low": -10, "high": 10},
                                "clip": [0, 100], "per": "cell"})]
    cols = expand_factors(f, base)
    u = np.random.default_rng(0).random((runs, len(cols)))
    pert = apply_design(base, f, cols, np.column_stack([f[0].dist.ppf(u[:, j]) for j in range(len(cols))]))
    print(f"batched engine: {runs:,} EC runs (salience +-10 per cell), blocks of {block_size(10)}; CPU time; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for v in ("detente", "scholz2011", "masad2014", "masad2016"):
        p = BDMParams(variant=v, record_eu=False)
        t0 = time.process_time()
        fast = batch_bdm(base, pert, p, rng=np.random.default_rng(1))["x"]
        tb = (time.process_time() - t0) / runs
        t0 = time.process_time()
        slow = [run(_scenario_from(scn, base, pert, r), p, rng=np.random.default_rng(1)).issues["x"].forecast for r in range(per_run)]
        ts = (time.process_time() - t0) / per_run
        same = "" if v in ("detente", "masad2016") else \
            f", max |batch - per-run| {np.max(np.abs(fast[:per_run] - np.asarray(slow))):.1e}"
        print(f"  {v:<11} batched {tb * 1e3:7.3f} ms/run   per-run {ts * 1e3:7.2f} ms/run   ratio {ts / tb:5.0f}x   "
              f"-> 1e6 runs on 2 cores: {tb * 1e6 / 2:6.0f} s (per-run engine {ts * 1e6 / 2 / 3600:5.1f} h){same}")


def scaling(ns: list[int], pairwise_up_to: int | None = None, memory: bool = True) -> None:
    """CPU time (and peak traced memory) of one run per size and the slopes between sizes, sorted
    (``vote_sums="auto"``) against pairwise vote sums, in this process."""
    import itertools
    import math
    import tracemalloc

    print(f"scaling: run_issue(random_scenario(n), 'x', BDMParams(record_eu=False, vote_sums=...)), CPU s"
          f"{', peak traced MB' if memory else ''}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    modes = {"sorted (auto)": "auto", "pairwise (before)": "pairwise"}
    got: dict[str, list[tuple[int, float]]] = {m: [] for m in modes}
    for n in ns:
        sc = random_scenario(n)
        line = [f"  n={n:<5}"]
        for mode, vs in modes.items():
            if vs == "pairwise" and pairwise_up_to is not None and n > pairwise_up_to:
                line.append(f"{mode} not run")
                continue
            p = BDMParams(record_eu=False, vote_sums=vs)
            t0 = time.process_time()
            res = run_issue(sc, "x", p, rng=np.random.default_rng(0))
            t = time.process_time() - t0
            got[mode].append((n, t))
            peak = ""
            if memory:
                tracemalloc.start()
                run_issue(sc, "x", p, rng=np.random.default_rng(0))
                peak = f" {tracemalloc.get_traced_memory()[1] / 1e6:7.0f} MB"
                tracemalloc.stop()
            line.append(f"{mode} {t:8.2f} s{peak} forecast {res.forecast!r}")
        print("   ".join(line), f"(load {os.getloadavg()[0]:.1f})", flush=True)
    for mode, pts in got.items():
        slopes = [f"{a}->{b}: {math.log(t2 / t1) / math.log(b / a):.2f}" for (a, t1), (b, t2) in itertools.pairwise(pts)]
        print(f"  slopes ({mode}): " + ", ".join(slopes))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--batch", type=int, default=20_000, help="runs in the batched-engine measurement")
    ap.add_argument("--quick", action="store_true", help="small sizes; skip the batched sweep section")
    ap.add_argument("--targets-only", action="store_true", help="only the issue-4 target sections (sizes, Monte Carlo)")
    ap.add_argument("--repeat", type=int, default=3, help="repeats of each target measurement (best wall time kept)")
    ap.add_argument("--mc-baseline", type=int, default=200, help="runs of the per-run Monte Carlo loop baseline")
    ap.add_argument("--naive-200", action="store_true", help="also time the naive loop at 200 actors (slow)")
    ap.add_argument("--scaling", type=int, nargs="+", help="only the scaling section at these sizes (e.g. 200 400 800)")
    ap.add_argument("--pairwise-up-to", type=int, default=None, help="scaling: run the pairwise baseline only up to this size")
    ap.add_argument("--no-memory", action="store_true", help="scaling: skip the peak-memory runs")
    args = ap.parse_args(argv)
    if args.scaling:
        scaling(args.scaling, args.pairwise_up_to, not args.no_memory)
        return 0
    if args.quick:
        args.runs, args.batch = min(args.runs, 30), min(args.batch, 2_000)
        args.mc_baseline = min(args.mc_baseline, 50)
    if args.targets_only:
        ok = sizes(args.repeat, args.naive_200)
        ok &= monte_carlo(args.repeat, args.mc_baseline)
        print(f"\nall targets met: {ok}")
        return 0
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
        t = timeit(lambda p=p: run_issue(scn, "x", p, rng=np.random.default_rng(0)), args.runs)
        print(f"  {v:<11} vectorised: {t * 1e3:8.3f} ms/run   ratio naive/this {t_naive / t:6.2f}x   "
              f"-> 1e6 runs on 2 cores: {t * 1e6 / 2 / 60:7.1f} min")
    ok = sizes(args.repeat, args.naive_200)
    ok &= monte_carlo(args.repeat, args.mc_baseline)
    print(f"\nall targets met: {ok}")
    if not args.quick:
        print()
        batched(args.batch, max(20, args.runs // 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
