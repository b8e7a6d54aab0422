"""Cost of turning a model result into ``--json`` text, against the model run itself.

For each size N (default 200 and 800 actors) the benchmark builds the random one-issue scenario of
``bench_bdm.random_scenario(N, seed=0)`` (capability ~ U(0.1, 1), position ~ U(0, 100), salience ~
U(0.1, 1)), runs ``bdm`` with its default parameters (10 rounds, the per-round expected-utility
matrix recorded) and times, in the same process:

* ``model``: the run itself (``detente.models.bdm.run``), the baseline;
* ``to_json_dict``: :meth:`RunResult.to_json_dict` (``_clean`` over every round);
* ``dumps``: ``json.dumps(d, allow_nan=False, ensure_ascii=False)``, as ``forecast --json`` prints it;
* ``no-rounds``: both steps for the object ``forecast --json --no-rounds`` prints (the rounds left
  out, ``detente.cli.without_rounds``), and the size of that text.

It prints CPU seconds, the size of the JSON text and the ratio serialisation / model. Nothing is
asserted: timings on a shared machine are reported, not tested.

Run: ``.venv/bin/python benchmarks/bench_result_json.py [--sizes 200 800]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_bdm import random_scenario

from detente.cli import without_rounds
from detente.models.bdm import BDMParams, run


def cpu() -> float:
    return time.process_time()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[200, 800])
    a = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}; CPU seconds")
    print(f"{'actors':>6} {'model':>8} {'to_json_dict':>13} {'dumps':>8} {'MB':>8} {'(dict+dumps)/model':>19} {'no-rounds':>9} {'MB':>6}")
    for n in a.sizes:
        sc = random_scenario(n, seed=0)
        t0 = cpu()
        res = run(sc, BDMParams(), rng=np.random.default_rng(0))
        t1 = cpu()
        d = res.to_json_dict()
        t2 = cpu()
        text = json.dumps(d, allow_nan=False, ensure_ascii=False)
        t3 = cpu()
        model, clean, dumps = t1 - t0, t2 - t1, t3 - t2
        size = len(text)
        del d, text
        t4 = cpu()
        slim = json.dumps(without_rounds(res).to_json_dict(), allow_nan=False, ensure_ascii=False)
        t5 = cpu()
        print(f"{n:>6} {model:>8.2f} {clean:>13.2f} {dumps:>8.2f} {size / 1e6:>8.1f} {(clean + dumps) / model:>19.2f}"
              f" {t5 - t4:>9.2f} {len(slim) / 1e6:>6.1f}")
        del res, slim


if __name__ == "__main__":
    main()
