"""Wall time of the full DEU tournament (issue 7: < 60 s on a 2-core machine).

Plain script, no assertions. In one process it times (1) the compromise-only tournament
(one cheap entry: file reading, scoring, bootstrap — the fixed cost) and (2) the full
tournament of every registered model with ``--jobs`` workers, and prints the wall and CPU
seconds, the ratio full / compromise-only, the CPU per entry, and the load average (the
machine is shared: wall time depends on what else runs). Scenario caches are cleared before
each timing so both are cold.

Usage::

    .venv/bin/python benchmarks/bench_deu.py [PATH] [--jobs 2] [--repeat 1] [--save out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DETENTE_SHARED", REPO.parent / "shared"))
DEFAULT = SHARED / "data" / "deu" / "deu3_dev.csv"


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(path: Path, models: list[str] | None, jobs: int) -> dict:
    from detente.experiments import deu_benchmark as db

    db._SCEN_CACHE.clear()
    c0, k0, w0 = time.process_time(), _children_cpu(), time.perf_counter()
    res = db.run_tournament(path, entries=db.default_entries(models), jobs=jobs)
    wall = time.perf_counter() - w0
    return {"wall": wall, "cpu_main": time.process_time() - c0, "cpu_workers": _children_cpu() - k0,
            "n_issues": res["n_issues"], "run": res["run"],
            "entries": {k: {"n": v["n"], "n_failed": v["n_failed"], "seconds": v["seconds"]}
                        for k, v in res["models"].items()}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path", nargs="?", default=str(DEFAULT))
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--save", default=None)
    a = ap.parse_args()
    path = Path(a.path)
    if not path.exists():
        print(f"bench_deu: skipped, {path} not found (set DETENTE_SHARED)")
        return
    import detente.experiments.deu_benchmark  # noqa: F401  (imports are not part of the timings)

    out = {"path": str(path), "jobs": a.jobs, "cpus": os.cpu_count(), "runs": []}
    for _ in range(a.repeat):
        la0 = os.getloadavg()[0]
        base = timed(path, ["compromise"], 1)
        full = timed(path, None, a.jobs)
        la1 = os.getloadavg()[0]
        ratio = full["wall"] / base["wall"]
        failed = {k: v["n_failed"] for k, v in full["entries"].items() if v["n_failed"]}
        print(f"compromise-only tournament: {base['wall']:.2f} s wall")
        print(f"full tournament ({len(full['entries'])} entries, {full['run']['configurations']} configurations, "
              f"{full['run']['tasks']} tasks, jobs={a.jobs}): {full['wall']:.2f} s wall, "
              f"CPU {full['cpu_main']:.1f} s main + {full['cpu_workers']:.1f} s workers")
        print(f"ratio full / compromise-only: {ratio:.1f}x; load average {la0:.1f} -> {la1:.1f} on {os.cpu_count()} CPUs")
        print("complete: every entry forecast every issue" if not failed else f"entries with missing forecasts: {failed}")
        for k, v in sorted(full["entries"].items(), key=lambda kv: -kv[1]["seconds"]):
            print(f"  {k:24s} {v['seconds']:7.2f} s CPU  n={v['n']}")
        out["runs"].append({"baseline": base, "full": full, "ratio": ratio, "load": [la0, la1]})
    if a.save:
        Path(a.save).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
