"""Start-up cost of the ``detente`` command (issue 18: under 0.3 s CPU for a small forecast).

Measures the CPU time (user + system, from ``resource.getrusage(RUSAGE_CHILDREN)`` around each
subprocess) of

* ``python -c pass`` — the interpreter alone, the baseline measured in the same process;
* ``python -m detente.cli --version``, ``--help`` and ``run --help`` (what the command costs before
  it does anything), and ``runs list`` on the empty store;
* ``python -m detente.cli forecast tests/fixtures/emission.csv -m compromise`` — the 10-actor
  EC emission case, the run saved in a throw-away store (``DETENTE_HOME`` in a temporary
  directory), which is what a user's first command does;
* the same with ``--no-store``;

median of ``--repeat`` runs each (CPU time, less sensitive than wall time to a shared machine),
the ratio to the baseline, and which heavy libraries the forecast command imported (a separate
run that lists ``sys.modules`` at exit).

The commands run with the bytecode cache, as an installed package does (pip compiles on install):
``PYTHONDONTWRITEBYTECODE`` is removed from their environment and each command runs once, untimed,
before it is measured. Without the cache every ``detente`` module is compiled from source on every
run, which adds about 0.1 s of CPU to the forecast and measures the compiler, not the command.

Run: ``.venv/bin/python benchmarks/bench_startup.py [--repeat N]``. Prints a table; exits 0.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASE = ROOT / "tests" / "fixtures" / "emission.csv"
TARGET_S = 0.3
HEAVY = ("pandas", "pyarrow", "duckdb", "matplotlib", "scipy", "SALib", "fastapi", "plotly", "yaml", "openpyxl")


def cpu_seconds(args: list[str], env: dict[str, str], repeat: int) -> tuple[float, float]:
    """Median and minimum CPU seconds (user + sys) of ``args`` over ``repeat`` runs."""
    times = []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        cp = subprocess.run(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if cp.returncode != 0:
            raise SystemExit(f"{' '.join(args)} failed ({cp.returncode}): {cp.stderr[-2000:]}")
        times.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    return statistics.median(times), min(times)


def heavy_imports(cli_args: list[str], env: dict[str, str]) -> list[str]:
    """Heavy libraries present in ``sys.modules`` after the command ran (in one process)."""
    code = ("import sys, runpy\n"
            f"sys.argv = ['detente', *{cli_args!r}]\n"
            "try:\n    runpy.run_module('detente.cli', run_name='__main__')\n"
            "except SystemExit:\n    pass\n"
            f"print(','.join(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)\n")
    cp = subprocess.run([sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                        text=True)
    return [m for m in cp.stderr.strip().splitlines()[-1].split(",") if m] if cp.stderr.strip() else []


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7, help="runs per command (median reported)")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, DETENTE_HOME=home)
        no_cache = env.pop("PYTHONDONTWRITEBYTECODE", None) is not None
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "src"), env.get("PYTHONPATH")) if p)
        py = sys.executable
        forecast = ["forecast", str(CASE), "-m", "compromise"]
        cases = [
            ("python -c pass (baseline)", [py, "-c", "pass"]),
            ("detente --version", [py, "-m", "detente.cli", "--version"]),
            ("detente --help", [py, "-m", "detente.cli", "--help"]),
            ("detente run --help", [py, "-m", "detente.cli", "run", "--help"]),
            ("detente runs list (empty store)", [py, "-m", "detente.cli", "runs", "list"]),
            ("detente forecast emission.csv -m compromise", [py, "-m", "detente.cli", *forecast]),
            ("  ... --no-store", [py, "-m", "detente.cli", *forecast, "--no-store"]),
        ]
        for _, args in cases:  # warm the bytecode cache (untimed)
            cpu_seconds(args, env, 1)
        rows = [(label, *cpu_seconds(args, env, a.repeat)) for label, args in cases]
        heavy = heavy_imports(forecast, env)
    base = rows[0][1]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"start-up CPU time, median (min) of {a.repeat} runs; load average {load:.2f}; python {sys.version.split()[0]}")
    print(f"{'command':48s} {'CPU s':>7s} {'(min)':>7s} {'x baseline':>10s}")
    for label, med, mn in rows:
        print(f"{label:48s} {med:7.3f} {mn:7.3f} {med / base if base > 0 else float('nan'):10.1f}")
    if no_cache:
        print("(PYTHONDONTWRITEBYTECODE was set here; removed for the measured commands)")
    fc = next(med for label, med, _ in rows if label.startswith("detente forecast"))
    print(f"forecast target < {TARGET_S} s CPU: {'met' if fc < TARGET_S else 'NOT met'} ({fc:.3f} s)")
    print(f"heavy libraries imported by the forecast command: {', '.join(heavy) or 'none'}")


if __name__ == "__main__":
    main()
