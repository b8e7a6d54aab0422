"""Benchmark of `detente run seesaw-2021 -H combined --runs 100000` (issue 17; plain script).

Target: under 10 s wall on a 2-core machine. The script does the command's work in this process
(:func:`detente.cli.crisis_run.crisis_run`: the hypothesis run, its two counterfactual passes, the
mechanism map, the back-test forecast path and the Markdown report, written to a temporary
folder) and prints, for the whole and for each stage:

* wall time and CPU time (this process, its workers and the report's browser, also after they
  have ended: ``cpu_time.TreeCPU``; less sensitive to other load on a shared machine; ≈ wall ×
  cores in use when the machine is idle);
* the ratio to a baseline measured in the same process just before: a plain numpy loop with
  a fixed number of element-operations (the same as ``benchmarks/bench_crisis.py``), so numbers
  from loaded and idle machines can be compared.

No assertion is made. ``--executor`` chooses where the chunks run, as ``detente run
--executor`` (default ``auto``, the command's default: a process pool of one worker per core
when the planned passes are large enough; ``--workers W`` for ``process``/``auto``); the same
bytes on any.

``run_hypotheses`` plans every engine pass first and submits all their chunks together (stage
"engine passes (together)"; the analysis stages then only read results). ``--sequential`` runs
each pass on its own as it is asked for (the behaviour before the passes were planned
together), and ``--compare`` measures both in this process, one after the other, with the
serial executor for the sequential one (the command's old default) and ``--executor`` for the
planned one, so both see the same load.

Also printed: the peak resident memory of this process (``ru_maxrss``; workers not included).

Usage: python benchmarks/bench_crisis_run.py [--runs N] [--executor auto|serial|process] [--workers W]
                                             [--hypothesis H] [--sequential | --compare]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cpu_time import TreeCPU


def baseline(runs: int, months: int) -> tuple[float, float]:
    """Wall and CPU time of 200 multiply-add passes per month over a (runs,) float64 array (a
    reference for the machine's speed and load)."""
    a = np.random.default_rng(0).random(min(runs, 8192))
    b = a.copy()
    t, c = time.perf_counter(), time.process_time()
    reps = max(1, runs // a.size)
    for _ in range(months):
        for _ in range(reps):
            for _ in range(200):
                np.multiply(a, 0.999, out=b)
                b += 0.001
    return time.perf_counter() - t, time.process_time() - c


#: the engine's cost with the compiled twins, measured on one chunk of `combined` (chunks of 100 to
#: 32,768 runs, idle machine, 2026-12-06; docs/crisis.md "Where it stands"): the marginal CPU per
#: run-step and the fixed CPU per chunk-step, for the floor printed under the stages
MARGINAL_US = 1.25
CHUNK_STEP_MS = 0.56


#: CPU time of this process and of every process under it (worker pools, the fork server, the
#: report's browser and its renderer processes), counting a process that has ended at its last
#: sample (started in main)
CPU: list[TreeCPU] = []


def cpu_now() -> float:
    """CPU seconds of this process and of the processes under it, also those already ended
    (``detente run`` closes its pool and its browser before it returns)."""
    return CPU[0].now()


def _sample_before_close() -> None:
    """Make every ProcessExecutor and every report browser (ImageSession) take a last sample of
    its processes' CPU time just before they close, so none of it is lost."""
    from detente.executors import ProcessExecutor
    from detente.plotting.export import ImageSession

    for cls in (ProcessExecutor, ImageSession):
        close = cls.close
        if getattr(close, "sampled", False):
            continue

        def sampled_close(self: Any, _close: Any = close) -> None:
            if CPU:
                CPU[0].sample()
            _close(self)

        sampled_close.sampled = True   # type: ignore[attr-defined]
        cls.close = sampled_close   # type: ignore[method-assign]


class Stages:
    """Wall and CPU time of named stages (a stage nested in another is counted in the outer one only)."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self.depth = 0
        self.run_steps = 0      # runs × steps of every engine pass
        self.chunk_steps = 0    # chunks × steps

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*a: Any, **k: Any) -> Any:
            if self.depth:
                return fn(*a, **k)
            self.depth += 1
            t, c = time.perf_counter(), cpu_now()
            try:
                return fn(*a, **k)
            finally:
                self.depth -= 1
                self.wall[name] = self.wall.get(name, 0.0) + time.perf_counter() - t
                self.cpu[name] = self.cpu.get(name, 0.0) + cpu_now() - c
        return timed


@contextlib.contextmanager
def patched(stages: Stages) -> Iterator[None]:
    """Time the command's stages by wrapping the functions it calls (restored afterwards)."""
    from detente.crisis import analysis
    from detente.executors import ProcessExecutor
    from detente.plotting.export import ImageSession
    from detente.report import crisis as report

    names = {(analysis, "run_planned"): "engine passes (together)", (analysis, "_plan_passes"): "planning the passes",
             (analysis, "counterfactuals"): "counterfactual passes", (analysis, "mechanism_map"): "mechanism map",
             (analysis, "forecast_path"): "forecast path", (report, "write_report"): "report",
             (ImageSession, "close"): "closing the browser", (ProcessExecutor, "close"): "closing the pool"}
    saved = {key: getattr(*key) for key in names}

    def counted(plans: Any, **kw: Any) -> Any:   # the run-steps and chunk-steps the engine is given
        plans = list(plans)
        for p in plans:
            steps = len(p.compiled.step_start)
            stages.run_steps += p.runs * steps
            stages.chunk_steps += len(p.chunks) * steps
        return saved[(analysis, "run_planned")](plans, **kw)

    try:
        for (mod, attr), label in names.items():
            setattr(mod, attr, stages.wrap(label, counted if (mod, attr) == (analysis, "run_planned") else saved[(mod, attr)]))
        yield
    finally:
        for (mod, attr), fn in saved.items():
            setattr(mod, attr, fn)


def measure(args: argparse.Namespace, *, sequential: bool, executor: str) -> dict[str, Any]:
    """Run the command's work once; wall, CPU, stages and the ``--json`` object."""
    from detente.cli.crisis_run import crisis_run
    from detente.crisis import analysis

    stages = Stages()
    saved = analysis._plan_passes
    if sequential:   # nothing planned ahead: each pass is simulated when the analysis asks for it
        analysis._plan_passes = lambda *a, **k: None
    try:
        with tempfile.TemporaryDirectory() as tmp, patched(stages):
            t, c = time.perf_counter(), cpu_now()
            obj, _ = crisis_run("seesaw-2021", hypotheses=[args.hypothesis], runs=args.runs, out_dir=tmp,
                                executor=executor, workers=args.workers)
            wall, cpu = time.perf_counter() - t, cpu_now() - c
    finally:
        analysis._plan_passes = saved
    return {"wall": wall, "cpu": cpu, "stages": stages, "obj": obj, "label":
            f"{'each pass on its own' if sequential else 'passes planned together'}, executor {executor}"}


def show(args: argparse.Namespace, m: dict[str, Any], base: float, base_cpu: float) -> None:
    wall, cpu, stages = m["wall"], m["cpu"], m["stages"]
    print(f"  [{m['label']}]")
    print(f"  command                wall {wall:7.2f} s   CPU {cpu:7.2f} s   target < 10 s wall: "
          f"{'met' if wall < 10 else 'NOT met'}")
    rest = ("planning the passes", "closing the browser", "closing the pool")
    for name in ("engine passes (together)", "counterfactual passes", "mechanism map", "forecast path", "report"):
        if name in stages.wall:
            print(f"  {name:<22} wall {stages.wall[name]:7.2f} s   CPU {stages.cpu[name]:7.2f} s")
    rest_w, rest_c = wall - sum(stages.wall.values()), cpu - sum(stages.cpu.values())
    print(f"  {'rest (specs, hypothesis block, back-test, claims)':<22} wall "
          f"{rest_w + sum(stages.wall.get(n, 0.0) for n in rest):7.2f} s   CPU "
          f"{rest_c + sum(stages.cpu.get(n, 0.0) for n in rest):7.2f} s, of which")
    for name in rest:
        if name in stages.wall:
            print(f"    {name:<20} wall {stages.wall[name]:7.2f} s   CPU {stages.cpu[name]:7.2f} s")
    print(f"    {'the others':<20} wall {rest_w:7.2f} s   CPU {rest_c:7.2f} s")
    print(f"  ratios command/baseline: wall {wall / base:.1f}, CPU {cpu / base_cpu:.1f}")
    if stages.run_steps:
        eng = stages.cpu.get("engine passes (together)", 0.0)
        print(f"  the engine simulated {stages.run_steps / 1e6:.2f} M run-steps in {stages.chunk_steps:,} chunk-steps: "
              f"{eng / stages.run_steps * 1e6:.2f} µs of CPU per run-step in the engine stage (workers' start-up "
              f"included); at {MARGINAL_US} µs per run-step and {CHUNK_STEP_MS} ms per chunk-step (one chunk of "
              f"`combined` with the twins, docs/crisis.md) the runs alone need "
              f"{(stages.run_steps * MARGINAL_US / 1e6 + stages.chunk_steps * CHUNK_STEP_MS / 1e3) / (os.cpu_count() or 1):.1f} s "
              f"of wall on {os.cpu_count() or 1} perfectly used cores")
    b = m["obj"]["hypotheses"][args.hypothesis]
    print(f"  P(war by 2022-02-28) = {b['p_war_by']['2022-02-28']:.4f}; months gained by stalling "
          f"{(b.get('counterfactuals') or {}).get('stalling', {}).get('months_gained', float('nan')):.3f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=100_000)
    ap.add_argument("--executor", default="auto", choices=["auto", "serial", "process"])
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--hypothesis", default="combined")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--sequential", action="store_true")
    mode.add_argument("--compare", action="store_true")
    args = ap.parse_args()
    from detente.cli.crisis_run import crisis_run

    CPU.append(TreeCPU())
    _sample_before_close()

    # warm the imports, with numpy only: a command that runs on the pool never loads numba here, and
    # numba's compiler would add ≈ 240 MB to this process' peak memory printed below
    mode = os.environ.get("DETENTE_COMPILED")
    os.environ["DETENTE_COMPILED"] = "off"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            crisis_run("seesaw-2021", hypotheses=[args.hypothesis], runs=200, out_dir=tmp, executor="serial")
    finally:
        if mode is None:
            del os.environ["DETENTE_COMPILED"]
        else:
            os.environ["DETENTE_COMPILED"] = mode
    base, base_cpu = baseline(args.runs, 48)
    runs = ([measure(args, sequential=True, executor="serial")] if args.compare or args.sequential else [])
    if not args.sequential:
        runs.append(measure(args, sequential=False, executor=args.executor))
    load = os.getloadavg()[0]
    print(f"detente run seesaw-2021 -H {args.hypothesis} --runs {args.runs}  (load average {load:.1f}, "
          f"{os.cpu_count()} cores)")
    for m in runs:
        show(args, m, base, base_cpu)
    print(f"  {'baseline (numpy loop)':<22} wall {base:7.2f} s   CPU {base_cpu:7.2f} s")
    if len(runs) == 2:
        import json

        same = json.dumps(runs[0]["obj"], sort_keys=True, default=str) == json.dumps(runs[1]["obj"], sort_keys=True,
                                                                                      default=str)
        print(f"  same --json object both ways: {same}; planned/sequential: wall {runs[1]['wall'] / runs[0]['wall']:.2f}, "
              f"CPU {runs[1]['cpu'] / runs[0]['cpu']:.2f}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak resident memory of this process: {peak:.0f} MB")


if __name__ == "__main__":
    main()
