"""Property-based API testing with schemathesis against the app's own OpenAPI schema:
bounded examples per operation, and no server error (5xx) for any generated request."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402

from detente.web.app import WebConfig, create_app  # noqa: E402

_tmp = Path(tempfile.mkdtemp(prefix="detente-st-"))
APP = create_app(WebConfig(library_dir=_tmp / "lib", store_root=_tmp / "store", workers=1))
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_never_errors(case):
    response = case.call()
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:300]}"
