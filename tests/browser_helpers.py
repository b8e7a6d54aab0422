"""Helpers shared by the browser tests (Playwright driving Debian's chromium): the chromium
path and launch flags, a detente web server on a free local port, a page, and screenshots under
``test-artifacts/web/``. Each test module still skips itself when Playwright, uvicorn or chromium
is missing (``require_browser``)."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("DETENTE_CHROMIUM", "/usr/bin/chromium")
ART = Path(__file__).resolve().parents[1] / "test-artifacts" / "web"
# the closed network refuses chromium's background connections: switch them off
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


def require_browser():
    """Skip the calling test module unless Playwright, uvicorn and chromium are there; return the
    Playwright sync API module."""
    api = pytest.importorskip("playwright.sync_api")
    pytest.importorskip("uvicorn")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"chromium not found at {CHROMIUM} (apt-get install -y chromium)", allow_module_level=True)
    return api


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(tmp: Path):
    """A detente web server (library and store under ``tmp``) in a thread; yields its base URL."""
    import uvicorn

    from detente.web.app import WebConfig, create_app

    app = create_app(WebConfig(library_dir=tmp / "lib", store_root=tmp / "store"))
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    th = threading.Thread(target=srv.run, daemon=True)
    th.start()
    for _ in range(200):
        if srv.started:
            break
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        th.join(timeout=10)


@contextlib.contextmanager
def browser_page(api):
    """A chromium page (1300 x 900, downloads accepted)."""
    with api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        ctx = browser.new_context(accept_downloads=True, viewport={"width": 1300, "height": 900})
        try:
            yield ctx.new_page()
        finally:
            browser.close()


def shot(page, name: str) -> None:
    """Full-page screenshot ``test-artifacts/web/NAME.png``."""
    ART.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ART / f"{name}.png"), full_page=True)
