"""A real Dask cluster — a scheduler and two workers, each its own process — gives
byte-identical sweep results to the serial executor."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest

pytest.importorskip("distributed")

from detente.experiments.executors import DaskExecutor, SerialExecutor
from detente.experiments.runner import run_sweep
from detente.experiments.sweep import SweepSpec
from detente.store import Store


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def cluster(tmp_path):
    port = _port()
    addr = f"tcp://127.0.0.1:{port}"
    log = open(tmp_path / "dask.log", "w")  # noqa: SIM115 - the cluster processes write to it until the finally block
    procs = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                               "--port", str(port), "--no-dashboard"], stdout=log, stderr=log)]
    time.sleep(1.0)
    for _ in range(2):
        procs.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", addr, "--nthreads", "1",
                                       "--nworkers", "1", "--no-dashboard", "--local-directory", str(tmp_path)],
                                      stdout=log, stderr=log))
    try:
        from distributed import Client

        with Client(addr, timeout="30s") as c:
            c.wait_for_workers(2, timeout=60)
        yield addr
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        log.close()


def _spec() -> SweepSpec:
    return SweepSpec.model_validate(dict(
        name="dask", scenario="example:ec_emission", model="median", seed=99, chunk_size=25,
        factors=[{"field": "salience", "dist": {"kind": "truncnorm", "mean": 0, "sd": 8, "low": -20, "high": 20},
                  "clip": [0, 100], "per": "cell"},
                 {"field": "capability", "actors": ["UK", "France"], "mode": "multiply",
                  "dist": {"kind": "beta", "a": 2, "b": 2, "low": 0.5, "high": 1.5}}],
        design={"kind": "montecarlo", "runs": 300},
    ))


def _bytes(store, run_id):
    return [p.read_bytes() for p in store.part_files(run_id)]


@pytest.mark.slow
def test_dask_cluster_matches_serial_bytes(tmp_path, cluster):
    s = _spec()
    serial = run_sweep(s, store=Store(tmp_path / "serial"), executor=SerialExecutor())
    ex = DaskExecutor(address=cluster)
    try:
        dask = run_sweep(s, store=Store(tmp_path / "dask"), executor=ex)
    finally:
        ex.close()
    assert serial.n_chunks == dask.n_chunks == 12
    assert _bytes(serial.store, serial.run_id) == _bytes(dask.store, dask.run_id)
