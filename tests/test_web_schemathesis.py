"""Property-based API testing with schemathesis against the app's own OpenAPI schema, with
bounded examples per operation: no server error (5xx) for any generated request, every
status code the API answers is documented for its operation, and every response body
(errors included) matches the documented schema."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis")
from fastapi.testclient import TestClient  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from detente import examples  # noqa: E402
from detente.web.app import WebConfig, create_app  # noqa: E402

_tmp = Path(tempfile.mkdtemp(prefix="detente-st-"))
(_tmp / "lib").mkdir()
# a library file, so that generated names sometimes hit one
(_tmp / "lib" / "mine.yaml").write_text(examples.path("ec_emission").read_text())
APP = create_app(WebConfig(library_dir=_tmp / "lib", store_root=_tmp / "store", workers=1))
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)

CHECKS = (not_a_server_error, status_code_conformance, response_schema_conformance, content_type_conformance)


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case):
    response = case.call()
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:300]}"
    case.validate_response(response, checks=CHECKS)


def _error_schema() -> dict:
    return APP.openapi()["components"]["schemas"]["Error"]


def test_every_api_error_response_is_documented_with_the_error_schema():
    """Each documented 4xx response of every /api route refers to the one error model."""
    spec = APP.openapi()
    assert set(_error_schema()["required"]) == {"error"}
    seen = 0
    for path, ops in spec["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method, op in ops.items():
            for code, resp in op["responses"].items():
                if code.startswith("4"):
                    ref = resp["content"]["application/json"]["schema"]["$ref"]
                    assert ref == "#/components/schemas/Error", (method, path, code, ref)
                    seen += 1
    assert seen > 20
    # every operation documents 400: a Host header the server does not answer gets it anywhere
    assert all("400" in op["responses"] for path, ops in spec["paths"].items() if path.startswith("/api/")
               for op in ops.values())


@pytest.mark.parametrize("method,url,kw,status", [
    ("get", "/api/no-such-route", {}, 404),                                  # Starlette's own 404
    ("delete", "/api/models", {}, 405),                                      # wrong method
    ("post", "/api/jobs", {"json": {"source": "examples"}}, 422),             # request validation
    ("post", "/api/jobs", {"content": b"{not json", "headers": {"content-type": "application/json"}}, 422),
    ("get", "/api/runs?limit=0", {}, 422),
    ("get", "/api/runs/a%20b", {}, 400),
    ("get", "/api/runs/abcdef012345", {}, 404),
    ("get", "/api/scenarios/nowhere/x", {}, 404),
    ("post", "/api/scenarios/mine.yaml/cells", {"json": {"cells": [{"actor": "UK", "issue": "emission",
                                                                    "field": "position", "value": 99}]}}, 422),
    ("post", "/api/jobs/0123456789ab/cancel", {}, 404),
    ("get", "/api/models", {"headers": {"host": "evil.example"}}, 400),             # DNS rebinding refused
    ("post", "/api/validate", {"content": b"--x\r\nTrue--x--\r\n",                   # found by schemathesis
                               "headers": {"content-type": "multipart/form-data; boundary=x"}}, 400),
])
def test_error_bodies_follow_the_error_schema(method, url, kw, status):
    """No ``{"detail": ...}`` bodies: every error under /api/ is ``{"error": ..., ...}``."""
    from detente.web.app import Error

    with TestClient(APP) as client:
        r = getattr(client, method)(url, **kw)
    assert r.status_code == status, r.text
    body = r.json()
    assert "detail" not in body and isinstance(body["error"], str) and body["error"], body
    Error.model_validate(body)  # the documented model (extra keys forbidden)
    for p in body.get("problems") or []:
        assert isinstance(p["message"], str) and p["message"]
