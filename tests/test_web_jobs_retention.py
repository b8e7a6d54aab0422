"""Bounded job list of the web UI: finished jobs are kept up to a count (and optionally an
age), unfinished jobs never dropped, and a dropped job answers the unknown-job 404."""

from __future__ import annotations

import threading

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient

from detente.errors import InputError
from detente.web.app import WebConfig, create_app
from detente.web.jobs import JobManager


def _finish(jm: JobManager, n: int, label: str = "j") -> list[str]:
    """Submit ``n`` quick jobs one after the other and wait for each."""
    ids = []
    for k in range(n):
        job = jm.submit("test", f"{label}{k}", lambda report, k=k: f"result-{k}")
        assert jm.wait(job.id, timeout=10) is not None
        ids.append(job.id)
    return ids


def test_finished_jobs_beyond_the_limit_are_dropped_oldest_first():
    jm = JobManager(workers=1, max_finished=3)
    try:
        ids = _finish(jm, 7)
        kept = [j.id for j in jm.list()]
        assert kept == ids[:-4:-1]  # the three newest, newest first
        for old in ids[:4]:
            assert jm.get(old) is None
        assert jm.get(ids[-1]).result_id == "result-6"
    finally:
        jm.shutdown()


def test_failed_jobs_count_as_finished():
    jm = JobManager(workers=1, max_finished=2)

    def boom(report):
        raise InputError([])

    try:
        first = jm.submit("test", "fails", boom)
        assert jm.wait(first.id, timeout=10).status == "failed"
        _finish(jm, 2)
        assert jm.get(first.id) is None
        assert len(jm.list()) == 2
    finally:
        jm.shutdown()


def test_running_and_queued_jobs_are_never_dropped():
    jm = JobManager(workers=1, max_finished=1)
    gate = threading.Event()
    try:
        done_id = _finish(jm, 1)[0]
        blocked = jm.submit("test", "blocked", lambda report: gate.wait(10) and "r-blocked")
        queued = [jm.submit("test", f"queued{k}", lambda report: "r") for k in range(3)]  # behind the only worker
        # one finished job (the limit) plus the running one and the three queued ones
        assert {j.id for j in jm.list()} == {done_id, blocked.id, *(q.id for q in queued)}
        assert all(jm.get(q.id).status == "queued" for q in queued)
        gate.set()
        assert jm.wait(queued[-1].id, timeout=10).status == "done"
        # everything finished, limit 1: only the newest finished job is left
        assert [j.id for j in jm.list()] == [queued[-1].id]
    finally:
        gate.set()
        jm.shutdown()


def test_unfinished_jobs_survive_while_many_others_finish():
    jm = JobManager(workers=2, max_finished=2)
    gate = threading.Event()
    try:
        slow = jm.submit("test", "slow", lambda report: gate.wait(10) and "r-slow")
        _finish(jm, 6)  # run on the second worker while "slow" occupies the first
        assert jm.get(slow.id) is not None and jm.get(slow.id).status == "running"
        assert len(jm.list()) == 3  # "slow" plus the two newest finished jobs
        gate.set()
        assert jm.wait(slow.id, timeout=10).status == "done"
        assert slow.id in [j.id for j in jm.list()]  # the newest finished job now
        assert len(jm.list()) == 2
    finally:
        gate.set()
        jm.shutdown()


def test_finished_jobs_older_than_the_ttl_are_dropped(monkeypatch):
    import detente.web.jobs as jobs_mod

    now = [1_000_000.0]
    monkeypatch.setattr(jobs_mod.time, "time", lambda: now[0])
    jm = JobManager(workers=1, max_finished=100, finished_ttl=60.0)
    gate = threading.Event()
    try:
        done_id = _finish(jm, 1)[0]
        pending = jm.submit("test", "pending", lambda report: gate.wait(10) and "r")
        now[0] += 59.0
        assert jm.get(done_id) is not None
        now[0] += 2.0  # 61 s after it finished
        assert jm.get(done_id) is None
        assert [j.id for j in jm.list()] == [pending.id]  # unfinished: no TTL
    finally:
        gate.set()
        jm.shutdown()


@pytest.mark.parametrize("kw", [{"max_finished": 0}, {"max_finished": -1}, {"finished_ttl": 0}, {"finished_ttl": -5.0}])
def test_invalid_retention_settings_are_refused(kw):
    with pytest.raises(ValueError):
        JobManager(workers=1, **kw)


def test_web_config_limits_the_job_list_and_dropped_job_is_404(tmp_path, monkeypatch):
    monkeypatch.setenv("DETENTE_HOME", str(tmp_path / "home"))
    cfg = WebConfig(library_dir=tmp_path / "lib", store_root=tmp_path / "store", max_finished_jobs=2)
    assert WebConfig(library_dir=tmp_path / "lib").max_finished_jobs == 200  # the documented default
    app = create_app(cfg)
    with TestClient(app) as client:
        ids, results = [], []
        for _ in range(3):
            r = client.post("/api/jobs", json={"source": "examples", "name": "ec_emission", "model": "compromise"})
            assert r.status_code == 202
            ids.append(r.json()["id"])
            done = app.state.jobs.wait(ids[-1], timeout=30)
            assert done.status == "done"
            results.append(done.result_id)
        listed = [j["id"] for j in client.get("/api/jobs").json()["jobs"]]
        assert listed == [ids[2], ids[1]]
        gone = client.get(f"/api/jobs/{ids[0]}")
        unknown = client.get("/api/jobs/000000000000")
        assert gone.status_code == unknown.status_code == 404
        assert gone.json()["error"] == unknown.json()["error"].replace("000000000000", ids[0])
        # the run the dropped job stored is still in the store
        assert client.get(f"/api/runs/{results[0]}").status_code == 200


def test_serve_passes_the_retention_options(tmp_path, monkeypatch):
    import uvicorn
    from typer.testing import CliRunner

    from detente.cli import app as cli_app

    seen = {}
    monkeypatch.setattr(uvicorn, "run", lambda web_app, **kw: seen.update(jobs=web_app.state.jobs))
    r = CliRunner().invoke(cli_app, ["serve", "--library", str(tmp_path / "lib"), "--store", str(tmp_path / "store"),
                                     "--max-finished-jobs", "5", "--finished-job-ttl", "3600"])
    assert r.exit_code == 0, r.output
    assert (seen["jobs"].max_finished, seen["jobs"].finished_ttl) == (5, 3600.0)
    seen["jobs"].shutdown()
    r = CliRunner().invoke(cli_app, ["serve", "--library", str(tmp_path / "lib"), "--max-finished-jobs", "0"])
    assert r.exit_code == 2
