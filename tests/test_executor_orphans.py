"""A killed `detente sweep --executor process` leaves no process behind (issue 13).

The sweep runs in a subprocess; once its worker processes compute, the sweep is killed with
SIGKILL (no cleanup code runs) and every process it started — the forkserver, the resource
tracker and the workers — must be gone within a few seconds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

psutil = pytest.importorskip("psutil", reason="psutil lists the sweep's descendant processes")

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the process executor uses forkserver (POSIX)")

SPEC = (
    "name: orphans\nscenario: example:ec_emission\nmodel: median\nseed: 5\nchunk_size: 20\n"
    "factors:\n  - field: salience\n    dist: {kind: normal, mean: 0, sd: 5}\n    clip: [0, 100]\n    per: cell\n"
    "design: {kind: montecarlo, runs: 100000}\n"
)


def _alive(procs) -> list:
    out = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p)
        except psutil.NoSuchProcess:
            pass
    return out


@pytest.mark.slow  # ~8 s on an idle machine: interpreter, forkserver and worker start-up
def test_killed_process_sweep_leaves_no_workers(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(SPEC)
    env = {**os.environ, "DETENTE_HOME": str(tmp_path / "home"),
           "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    proc = subprocess.Popen([sys.executable, "-m", "detente", "sweep", str(spec), "--executor", "process",
                             "--workers", "2", "--store", str(tmp_path / "st"), "--json"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    main = psutil.Process(proc.pid)
    descendants: list = []
    try:
        # wait until the workers exist (resource tracker + forkserver + 2 workers) and a chunk is stored
        parts = tmp_path / "st" / "parts"
        t0 = time.time()
        while time.time() - t0 < 60:
            descendants = main.children(recursive=True)
            if len(descendants) >= 4 and parts.exists() and any(parts.glob("*/part-*.parquet")):
                break
            time.sleep(0.05)
        assert len(descendants) >= 4, f"the process executor did not start its workers: {descendants}"
        assert proc.poll() is None, "the sweep ended before it could be killed: make it longer"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    deadline = time.time() + 10
    left = _alive(descendants)
    while left and time.time() < deadline:
        time.sleep(0.1)
        left = _alive(descendants)
    for p in left:  # never leave them running after the test, whatever it found
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    assert not left, f"still alive 10 s after the sweep was killed: {[p.pid for p in left]}"
