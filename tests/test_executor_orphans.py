"""A killed `detente sweep --executor process`, crisis run with workers or DEU benchmark with
jobs leaves no process behind (issue 13).

The run goes in a subprocess; once its worker processes compute, it is killed with SIGKILL (no
cleanup code runs) and every process it started — the forkserver, the resource tracker and the
workers — must be gone within a few seconds. All three use ``detente.processes.OwnedProcessPool``.
Processes are listed with psutil when it is installed, else from /proc (Linux).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

try:
    import psutil
except ImportError:  # pragma: no cover - depends on the environment
    psutil = None

pytestmark = pytest.mark.skipif(
    sys.platform == "win32" or (psutil is None and not Path("/proc/self/stat").exists()),
    reason="needs POSIX (the process executor uses forkserver) and psutil or /proc to list processes")

SPEC = (
    "name: orphans\nscenario: example:ec_emission\nmodel: median\nseed: 5\nchunk_size: 20\n"
    "factors:\n  - field: salience\n    dist: {kind: normal, mean: 0, sd: 5}\n    clip: [0, 100]\n    per: cell\n"
    "design: {kind: montecarlo, runs: 100000}\n"
)


def _stat(pid: int) -> tuple[int, str] | None:
    """(parent pid, state letter) of a process from /proc, or None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()  # after "pid (comm) "
    return int(fields[1]), fields[0]


def descendants(pid: int) -> list[int]:
    if psutil is not None:
        return [p.pid for p in psutil.Process(pid).children(recursive=True)]
    parent = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit() and (st := _stat(int(d.name))) is not None:
            parent[int(d.name)] = st[0]
    out, frontier = [], [pid]
    while frontier:
        kids = [c for c, p in parent.items() if p in frontier]
        out += kids
        frontier = kids
    return out


def alive(pids: list[int]) -> list[int]:
    out = []
    for pid in pids:
        if psutil is not None:
            try:
                if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                    out.append(pid)
            except psutil.NoSuchProcess:
                pass
        else:
            st = _stat(pid)
            if st is not None and st[1] != "Z":
                out.append(pid)
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
    kids: list[int] = []
    try:
        # wait until the workers exist (resource tracker + forkserver + 2 workers) and a chunk is stored
        parts = tmp_path / "st" / "parts"
        t0 = time.time()
        while time.time() - t0 < 60:
            kids = descendants(proc.pid)
            if len(kids) >= 4 and parts.exists() and any(parts.glob("*/part-*.parquet")):
                break
            time.sleep(0.05)
        assert len(kids) >= 4, f"the process executor did not start its workers: {kids}"
        assert proc.poll() is None, "the sweep ended before it could be killed: make it longer"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    _require_gone(kids, "the sweep")


def _kill_when_busy(tmp_path, script: str, n_kids: int) -> None:
    """Run ``script`` (Python) in a subprocess, SIGKILL it once it has ``n_kids`` descendants
    (and they have had a moment to start computing), then require all of them gone in 10 s."""
    env = {**os.environ, "DETENTE_HOME": str(tmp_path / "home"),
           "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    proc = subprocess.Popen([sys.executable, "-c", script], env=env, cwd=str(tmp_path),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    kids: list[int] = []
    try:
        t0 = time.time()
        while time.time() - t0 < 60 and proc.poll() is None:
            kids = descendants(proc.pid)
            if len(kids) >= n_kids:
                time.sleep(1.0)  # let the workers take their first tasks
                kids = descendants(proc.pid)
                break
            time.sleep(0.05)
        assert proc.poll() is None, f"the run ended before it could be killed: {proc.stderr.read().decode()[-2000:]}"
        assert len(kids) >= n_kids, f"the pool did not start its workers: {kids}"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stderr.close()
    _require_gone(kids, "the run")


@pytest.mark.slow  # ~5 s: interpreter and scenario start-up, then a kill
def test_killed_crisis_run_with_workers_leaves_no_workers(tmp_path):
    script = ("from detente import examples\n"
              "from detente.crisis import run\n"
              "run(examples.load('cuba-1962'), {'runs': 20_000_000, 'workers': 2, 'chunk_size': 4096}, seed=1)\n")
    _kill_when_busy(tmp_path, script, 2)


@pytest.mark.slow  # ~5 s
def test_killed_deu_benchmark_with_jobs_leaves_no_workers(tmp_path):
    fixture = Path(__file__).resolve().parent / "fixtures" / "deu" / "deu_sample.csv"
    # every task sleeps, so the pool is certainly busy when the benchmark is killed
    script = ("import time\n"
              "from detente.experiments import deu_benchmark as d\n"
              "def slow(*a, **k):\n    time.sleep(600)\n"
              "d._entry_job = slow\n"
              f"d.run_tournament({str(fixture)!r}, jobs=2, n_boot=100)\n")
    _kill_when_busy(tmp_path, script, 2)


def _watched_sleep(lifeline, inherited) -> None:
    from detente.processes import watch_owner

    inherited.close()  # a forked child holds a copy of the owner's end: drop it, as the pool does
    watch_owner(lifeline, exit_code=70)
    time.sleep(60)


def test_watch_owner_ends_the_process_once_the_owner_end_is_closed():
    """The watch the pools' workers and the web server's job processes share: the child ends
    with the given exit code once the owner's end of the lifeline is gone."""
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    r, w = ctx.Pipe(duplex=False)
    p = ctx.Process(target=_watched_sleep, args=(r, w), daemon=True)
    p.start()
    try:
        p.join(0.5)
        assert p.exitcode is None  # alive while the owner holds its end
        w.close()
        p.join(10)
        assert p.exitcode == 70
    finally:
        if p.is_alive():
            p.kill()
            p.join()


def _require_gone(kids: list[int], what: str) -> None:
    """Every pid of ``kids`` must be gone within 10 s; any left is killed, then the test fails."""
    deadline = time.time() + 10
    left = alive(kids)
    while left and time.time() < deadline:
        time.sleep(0.1)
        left = alive(kids)
    for pid in left:  # never leave them running after the test, whatever it found
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    assert not left, f"still alive 10 s after {what} was killed: {left}"
