"""Web UI page-load benchmark: the scenario page of a 200-actor x 6-issue scenario.

Target (issue 9): under 1 s on the 2-core machine. Prints the median time of the page and,
as an in-process baseline, of the library page (a near-empty page), and their ratio.

Run: ``.venv/bin/python benchmarks/bench_web.py``
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient

import detente
from detente.web.app import WebConfig, create_app


def big_scenario(n_actors: int = 200, n_issues: int = 6, seed: int = 0) -> detente.Scenario:
    rng = np.random.default_rng(seed)
    actors = [detente.Actor(id=f"A{i:03d}", capability=float(rng.uniform(1, 100))) for i in range(n_actors)]
    issues = [detente.Issue(id=f"I{j}", lower=0, upper=100) for j in range(n_issues)]
    stances = [detente.Stance(actor=a.id, issue=i.id, position=float(rng.uniform(0, 100)), salience=float(rng.uniform(0, 100)))
               for a in actors for i in issues]
    return detente.Scenario(name="bench-200", actors=actors, issues=issues, stances=stances)


def timed(client: TestClient, url: str, reps: int = 7) -> tuple[float, float]:
    """(first, median) response time of ``reps`` GETs: cold (file parsed) and warm (cached)."""
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        r = client.get(url)
        ts.append(time.perf_counter() - t0)
        assert r.status_code == 200, r.status_code
    return ts[0], statistics.median(ts)


def main() -> None:
    with tempfile.TemporaryDirectory() as td:
        lib = Path(td) / "lib"
        lib.mkdir()
        detente.save(big_scenario(), lib / "bench200.yaml")
        app = create_app(WebConfig(library_dir=lib, store_root=Path(td) / "store"))
        with TestClient(app) as c:
            base = timed(c, "/")
            page = timed(c, "/scenario/library/bench200.yaml")
            api = timed(c, "/api/scenarios/library/bench200.yaml")
    print(f"library page (baseline)               {base[1] * 1000:8.1f} ms")
    for label, (cold, warm) in (("200-actor scenario page", page), ("200-actor scenario JSON (API)", api)):
        print(f"{label:<32} cold {cold * 1000:8.1f} ms  warm {warm * 1000:8.1f} ms  "
              f"ratio(warm/baseline) {warm / base[1]:6.1f}x  target < 1000 ms: {'OK' if max(cold, warm) < 1 else 'MISSED'}")


if __name__ == "__main__":
    main()
