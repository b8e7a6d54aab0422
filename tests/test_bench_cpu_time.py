"""The benchmarks' CPU clock (``benchmarks/cpu_time.py``) counts processes that ended under a child.

``bench_crisis_run.py`` used to read the CPU time of live descendants only (``tree_cpu``): the
report's browser processes, which end under Chromium and are not reaped into this process's
``RUSAGE_CHILDREN``, dropped out of the count once the browser closed (the "rest" stage showed a
negative CPU time). ``TreeCPU`` keeps each descendant's last sample.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from cpu_time import TreeCPU, tree_cpu

# a child that forks a grandchild burning CPU_S of CPU, waits until it has finished (a pipe), and
# exits without reaping it: the grandchild's time never reaches this process's RUSAGE_CHILDREN
CPU_S = 0.5
CHILD = f"""
import os, time
r, w = os.pipe()
if os.fork() == 0:
    t = time.process_time()
    while time.process_time() - t < {CPU_S}:
        pass
    os.write(w, b"x")
    os._exit(0)
os.read(r, 1)
time.sleep(0.2)
os._exit(0)
"""


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_tree_cpu_counts_a_grandchild_that_ended_unreaped():
    t0 = tree_cpu()                      # the live-only count (no sampler running: its own time would add)
    subprocess.run([sys.executable, "-c", CHILD], check=True)
    lost = tree_cpu() - t0
    clock = TreeCPU(every=0.01)
    try:
        c0 = clock.now()
        subprocess.run([sys.executable, "-c", CHILD], check=True)
        time.sleep(0.05)
        kept = clock.now() - c0
    finally:
        clock.stop()
    assert lost < CPU_S / 2               # the live-only count keeps (almost) nothing of the grandchild
    assert kept >= CPU_S - 0.05           # its time, at its last sample
    assert kept < CPU_S + 1.0             # nothing counted twice (the child itself only waits)
