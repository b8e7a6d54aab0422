"""Helpers shared by the web API tests."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def wait_job(client, job, timeout=120):
    """Poll ``/api/jobs/ID`` (FastAPI TestClient) until the job is neither queued nor running."""
    t0 = time.time()
    while job["status"] in ("queued", "running"):
        assert time.time() - t0 < timeout, job
        time.sleep(0.1)
        job = client.get(f"/api/jobs/{job['id']}").json()
    return job


@contextmanager
def library_client(tmp_path: Path, monkeypatch, *files: Path) -> Iterator:
    """A TestClient of the web app whose library (``tmp_path/lib``) holds copies of ``files``, with
    its own run store and ``DETENTE_HOME`` under ``tmp_path``."""
    from fastapi.testclient import TestClient

    from detente.web.app import WebConfig, create_app

    monkeypatch.setenv("DETENTE_HOME", str(tmp_path / "home"))
    (tmp_path / "lib").mkdir()
    for f in files:
        shutil.copy(f, tmp_path / "lib" / f.name)
    app = create_app(WebConfig(library_dir=tmp_path / "lib", store_root=tmp_path / "store"))
    with TestClient(app) as c:
        yield c
