"""Helpers shared by the web API tests."""

from __future__ import annotations

import time


def wait_job(client, job, timeout=120):
    """Poll ``/api/jobs/ID`` (FastAPI TestClient) until the job is neither queued nor running."""
    t0 = time.time()
    while job["status"] in ("queued", "running"):
        assert time.time() - t0 < timeout, job
        time.sleep(0.1)
        job = client.get(f"/api/jobs/{job['id']}").json()
    return job
