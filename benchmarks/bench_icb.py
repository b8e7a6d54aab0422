"""Cost of the ICB case library's scoring and fit (issue 16 targets: scoring < 2 min, fit < 30 min on 2 cores).

Times, in one process, against a baseline run in the same process:

* ``baseline``: one engine run of ICB crisis 196 (Cuba 1962) with the frozen coefficients,
  20,000 runs (``detente.crisis.run``; every forecast is made of such runs);
* ``build``: building the case library (``detente.cases.icb.build_cases``, all 487 crises);
* ``score``: the one scoring of the frozen fit, as ``detente cases icb DATA --forecast`` runs it
  (``detente.cases.score.score_test``: 2,000 runs per crisis, B = 10,000 paired bootstrap
  resamples, the logistic baselines, and the per-crisis initiator runs);
* ``fit``: by default a **fixed fraction** of the pre-registered fit — the first ``--fit-crises``
  training crises (40) on two of the ten ``down_m`` grid values, 1,000 runs, both variants — and a
  linear extrapolation to the whole fit (366 crises × 10 grid values + the refinement point, the
  Hessians not counted); ``--full-fit`` runs ``detente.cases.fit.freeze`` itself instead (about
  25 minutes on this machine under load).

It prints wall and CPU seconds (this process and its finished worker processes), the load average
and each wall time as a ratio to the baseline's. Nothing is asserted: timings on a shared machine
are reported, not tested.

Run: ``PYTHONPATH=src python benchmarks/bench_icb.py [DATA_DIR] [--fit-crises 40] [--full-fit]``
(``DATA_DIR`` defaults to ``../shared/data/conflict``).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from detente.cases import fit as F
from detente.cases.icb import PRIOR_COEFFICIENTS, CaseParams, build_cases, case_scenario
from detente.cases.score import score_test
from detente.crisis import run


def cpu() -> float:
    """CPU seconds of this process and of its finished child processes (the engine's worker pool)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def clock() -> tuple[float, float]:
    return time.perf_counter(), cpu()


def since(t: tuple[float, float]) -> tuple[float, float]:
    return time.perf_counter() - t[0], cpu() - t[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data_dir", nargs="?", default=str(Path("..") / "shared" / "data" / "conflict"))
    ap.add_argument("--fit-crises", type=int, default=40)
    ap.add_argument("--full-fit", action="store_true")
    ap.add_argument("--skip-score", action="store_true")
    a = ap.parse_args()
    frozen = json.loads(F.FROZEN_PATH.read_text(encoding="utf-8"))
    print(f"load average at start {os.getloadavg()[0]:.2f}; seconds (wall, CPU)")

    t = clock()
    cases, _ = build_cases(a.data_dir, CaseParams(code_corrections=False))
    build = since(t)
    coef = {k: dict(v) for k, v in PRIOR_COEFFICIENTS.items()}
    for k, v in frozen["variants"]["without_trigger"]["coefficients"].items():
        coef[k] = {"value": v, "source": "frozen"}
    sc = case_scenario(cases[196], coefficients=coef)
    t = clock()
    run(sc, {"runs": 20000}, seed=1)
    base = since(t)

    rows = [("baseline: one engine run, 20,000 runs", base), ("build the case library", build)]
    if not a.skip_score:
        t = clock()
        score_test(a.data_dir, frozen)
        rows.append(("score (the --forecast scoring, with initiators)", since(t)))
    outcomes = F.load_outcomes(a.data_dir)
    train = [cases[k] for k in sorted(cases) if cases[k].year <= 1989 and k in outcomes]
    if a.full_fit:
        t = clock()
        F.freeze(a.data_dir)
        rows.append(("fit: the whole pre-registered fit (freeze)", since(t)))
    else:
        sub = train[:a.fit_crises]
        t = clock()
        F.fit_profile(sub, outcomes, runs=1000, grid=(0.35, 1.0), refine=False)
        part = since(t)
        scale = len(train) / len(sub) * (len(F.DOWN_GRID) + 1) / 2
        rows.append((f"fit fraction: {len(sub)} crises × 2 grid values", part))
        rows.append((f"fit extrapolated (× {scale:.1f}: {len(train)} crises, {len(F.DOWN_GRID)} + 1 grid values)",
                     (part[0] * scale, part[1] * scale)))
    width = max(len(r[0]) for r in rows)
    print(f"{'':<{width}} {'wall s':>9} {'CPU s':>9} {'wall/base':>10}")
    for name, (w, c) in rows:
        print(f"{name:<{width}} {w:>9.1f} {c:>9.1f} {w / base[0]:>10.1f}")
    print(f"load average at end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
