"""Web jobs are cancellable (a running job's worker process is stopped) and their states are
kept in the store: a restarted server lists finished jobs and marks the ones a previous
server left unfinished ``interrupted``."""

from __future__ import annotations

import os
import time

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient

from detente.store import Store
from detente.store.jobs import JobRecords
from detente.web.app import WebConfig, create_app

LONG_CRISIS = {"source": "examples", "name": "seesaw-2021", "runs": 20000, "counterfactuals": True}  # ~30 s


def _app(tmp_path, **kw):
    return create_app(WebConfig(library_dir=tmp_path / "lib", store_root=tmp_path / "store", **kw))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead too
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def _wait_status(app, job_id, statuses, timeout=20.0):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        j = app.state.jobs.get(job_id)
        if j is not None and j.status in statuses:
            return j
        time.sleep(0.02)
    return app.state.jobs.get(job_id)


def test_cancel_running_job_stops_its_process_and_stores_nothing(tmp_path):
    app = _app(tmp_path)
    with TestClient(app) as client:
        job = client.post("/api/crisis-jobs", json=LONG_CRISIS).json()
        running = _wait_status(app, job["id"], ("running",))
        assert running.status == "running"
        t0 = time.monotonic()
        while running.pid is None and time.monotonic() - t0 < 10:
            time.sleep(0.01)
        pid = running.pid
        assert pid is not None and _alive(pid)
        time.sleep(0.5)  # well into the work
        page = client.get("/runs").text
        assert f'class="cancel-job" data-job="{job["id"]}"' in page  # the jobs list offers to cancel it
        r = client.post(f"/api/jobs/{job['id']}/cancel")
        assert r.status_code == 200, r.text
        t0 = time.monotonic()
        done = app.state.jobs.wait(job["id"], timeout=10)
        assert done.status == "cancelled" and done.result_id is None
        assert time.monotonic() - t0 < 5  # stopped, not run to its end (about 30 s)
        t0 = time.monotonic()
        while _alive(pid) and time.monotonic() - t0 < 5:
            time.sleep(0.05)
        assert not _alive(pid)
        assert client.get("/api/runs").json()["runs"] == []
        assert client.get(f"/api/jobs/{job['id']}").json()["status"] == "cancelled"
        again = client.post(f"/api/jobs/{job['id']}/cancel")
        assert again.status_code == 409 and "already finished" in again.json()["error"]
        assert client.post("/api/jobs/0123456789ab/cancel").status_code == 404
    rec = JobRecords(Store(tmp_path / "store")).get(job["id"])
    assert rec["status"] == "cancelled" and rec["finished"] is not None and rec["started"] is not None


def test_cancel_queued_job_never_runs(tmp_path):
    app = _app(tmp_path, workers=1)
    with TestClient(app) as client:
        first = client.post("/api/crisis-jobs", json=LONG_CRISIS).json()
        queued = client.post("/api/jobs", json={"source": "examples", "name": "ec_emission", "model": "compromise"}).json()
        assert client.get(f"/api/jobs/{queued['id']}").json()["status"] == "queued"
        r = client.post(f"/api/jobs/{queued['id']}/cancel")
        assert r.status_code == 200 and r.json()["status"] == "cancelled"
        assert client.post(f"/api/jobs/{first['id']}/cancel").status_code == 200
        assert app.state.jobs.wait(first["id"], timeout=10).status == "cancelled"
        time.sleep(0.3)  # the worker is free again: the cancelled job must not start
        j = app.state.jobs.get(queued["id"])
        assert j.status == "cancelled" and j.started is None
        assert client.get("/api/runs").json()["runs"] == []


def test_job_states_survive_a_restart(tmp_path):
    app = _app(tmp_path)
    with TestClient(app) as client:
        ok = client.post("/api/jobs", json={"source": "examples", "name": "ec_emission", "model": "compromise"}).json()
        done = app.state.jobs.wait(ok["id"], timeout=60)
        assert done.status == "done"
        # a job that fails while it runs: the toy crisis scenario whose record names a facts file
        # that is not there (requests the server can check are refused before a job starts)
        from pathlib import Path

        toy = (Path(__file__).parent / "fixtures" / "crisis" / "toy-crisis.yaml").read_text(encoding="utf-8")
        (tmp_path / "lib" / "toy-rec.yaml").write_text(toy.replace("  hypotheses:\n", "  record:\n    window: [2021-12-01, "
                                                                   "2022-06-01]\n    war: false\n    facts: no-such-facts.csv\n"
                                                                   "  hypotheses:\n", 1), encoding="utf-8")
        bad = client.post("/api/crisis-jobs", json={"source": "library", "name": "toy-rec.yaml", "runs": 2,
                                                     "hypotheses": ["live"]}).json()
        failed = app.state.jobs.wait(bad["id"], timeout=60)
        assert failed.status == "failed" and "no-such-facts.csv" in str(failed.error)
        slow = client.post("/api/crisis-jobs", json=LONG_CRISIS).json()
        assert _wait_status(app, slow["id"], ("running",)).status == "running"
    # the server stopped (lifespan end) while "slow" ran: recorded as interrupted
    rec = JobRecords(Store(tmp_path / "store"))
    assert rec.get(slow["id"])["status"] == "interrupted"
    # a server killed outright leaves "running" records: the next server marks them interrupted
    rec.put({"id": "deadbeef0001", "kind": "forecast", "label": "bdm on x", "status": "running",
             "created": time.time(), "started": time.time(), "request": {"model": "bdm"}})
    app2 = _app(tmp_path)
    with TestClient(app2) as client:
        jobs = {j["id"]: j for j in client.get("/api/jobs").json()["jobs"]}
        assert jobs[ok["id"]]["status"] == "done" and jobs[ok["id"]]["result_id"] == done.result_id
        assert jobs[bad["id"]]["status"] == "failed" and jobs[bad["id"]]["error"] == failed.error
        assert jobs[slow["id"]]["status"] == "interrupted"
        lost = jobs["deadbeef0001"]
        assert lost["status"] == "interrupted" and lost["finished"] is not None
        assert lost["error"]["error"] == "interrupted" and lost["request"] == {"model": "bdm"}
        assert client.get(f"/api/runs/{done.result_id}").status_code == 200
        assert client.post("/api/jobs/deadbeef0001/cancel").status_code == 409


def test_job_records_follow_the_retention_bound(tmp_path):
    app = _app(tmp_path, max_finished_jobs=2)
    with TestClient(app) as client:
        ids = []
        for _ in range(3):
            j = client.post("/api/jobs", json={"source": "examples", "name": "ec_emission", "model": "compromise"}).json()
            assert app.state.jobs.wait(j["id"], timeout=60).status == "done"
            ids.append(j["id"])
        client.get("/api/jobs")
    kept = [r["id"] for r in JobRecords(Store(tmp_path / "store")).list()]
    assert kept == [ids[2], ids[1]]


def test_unreadable_store_leaves_jobs_in_memory(tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    (store / "catalog.sqlite").write_bytes(b"this is not a database" * 100)
    app = _app(tmp_path)
    assert app.state.jobs.records is None  # the server still starts
    assert (store / "catalog.sqlite").read_bytes() == b"this is not a database" * 100


def test_seedless_stochastic_job_records_the_seed_it_is_handed(tmp_path):
    app = _app(tmp_path)
    with TestClient(app) as client:
        seeds = []
        for _ in range(2):
            job = client.post("/api/jobs", json={"source": "examples", "name": "ec_emission", "model": "bdm"}).json()
            seed = job["request"]["seed"]
            assert isinstance(seed, int)  # drawn by the server (detente.seeding.resolve_seed)
            done = app.state.jobs.wait(job["id"], timeout=60)
            assert done.status == "done", done.error
            assert client.get(f"/api/runs/{done.result_id}").json()["seed"] in (seed, None)  # None: drew nothing
            seeds.append(seed)
        assert seeds[0] != seeds[1]


def test_shutdown_records_a_job_that_does_not_stop_in_time_as_interrupted(tmp_path):
    import threading

    from detente.web.jobs import JobManager

    records = JobRecords(Store(tmp_path / "store"))
    jm = JobManager(workers=1, records=records)
    gate = threading.Event()
    job = jm.submit("test", "stubborn", lambda report: gate.wait(10) and "r")  # never looks at the cancellation
    t0 = time.monotonic()
    while jm.get(job.id).status != "running" and time.monotonic() - t0 < 5:
        time.sleep(0.01)
    jm.shutdown(wait=0.2)
    assert records.get(job.id)["status"] == "interrupted"
    gate.set()
    time.sleep(0.2)  # the worker ends later and changes nothing
    assert records.get(job.id)["status"] == "interrupted" and jm.get(job.id).result_id is None
