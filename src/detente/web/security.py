"""Security helpers of the web UI: safe names inside a directory, upload limits and
cross-site request forgery (CSRF) tokens.

* Every file the UI reads or writes is addressed by a *name* that must match
  :data:`SAFE_NAME` and is resolved inside a fixed directory; anything else is refused
  (no path traversal).
* Uploads larger than the configured limit are refused while streaming, before they are
  stored.
* Every state-changing form carries a token bound to a per-app secret (double submit:
  cookie + form field, compared in constant time); JSON endpoints also require the
  ``Origin``/``Referer`` to be the app's own host when a browser sends one.

Examples
--------
>>> safe_join(Path("/no-such-library"), "ec_emission.yaml").as_posix()
'/no-such-library/ec_emission.yaml'
>>> safe_join(Path("/no-such-library"), "../etc/passwd") is None
True
"""

from __future__ import annotations

import hmac
import json
import re
import secrets
from hashlib import sha256
from pathlib import Path

__all__ = ["SAFE_NAME", "safe_join", "CsrfGuard", "DEFAULT_UPLOAD_LIMIT", "BodyLimit"]

#: File names the UI accepts: letters, digits, ``._-``, no leading dot, an extension.
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$")

#: Default upload limit in bytes.
DEFAULT_UPLOAD_LIMIT = 5 * 1024 * 1024


def safe_join(root: Path, name: str) -> Path | None:
    """``root / name`` if ``name`` is a plain safe file name that stays inside ``root``."""
    if not SAFE_NAME.match(name or "") or ".." in name:
        return None
    p = (root / name).resolve() if root.exists() else (root / name)
    try:
        p.relative_to(root.resolve() if root.exists() else root)
    except ValueError:
        return None
    return p


class CsrfGuard:
    """Issue and check CSRF tokens derived from a secret and a per-browser nonce."""

    cookie_name = "detente_csrf"
    field_name = "csrf_token"

    def __init__(self, secret: bytes | None = None):
        self.secret = secret or secrets.token_bytes(32)

    def new_nonce(self) -> str:
        return secrets.token_urlsafe(18)

    def token_for(self, nonce: str) -> str:
        return hmac.new(self.secret, nonce.encode(), sha256).hexdigest()

    def check(self, nonce: str | None, token: str | None) -> bool:
        if not nonce or not token:
            return False
        return hmac.compare_digest(self.token_for(nonce), token)


class BodyLimit:
    """ASGI middleware: refuse (413) request bodies longer than ``limit`` bytes.

    A declared ``Content-Length`` above the limit is refused before anything is read;
    otherwise the body is counted while it streams in and the request fails as soon as it
    passes the limit. The form parser spools uploads to temporary files before a handler
    sees them, so without this bound an upload of any size would be stored (in a
    temporary file) before the handler's own, exact limit applies.
    """

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def _refuse(self, send) -> None:
        body = json.dumps({"error": f"request body larger than {self.limit} bytes"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        for k, v in scope.get("headers") or ():
            if k == b"content-length":
                try:
                    declared = int(v)
                except ValueError:
                    declared = 0
                if declared > self.limit:
                    return await self._refuse(send)
        from fastapi import HTTPException

        class _TooLarge(HTTPException):  # an HTTPException: the app's handlers render it as a 413
            pass

        seen, started = 0, False

        async def counted():
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge(413, f"request body larger than {self.limit} bytes")
            return msg

        async def watched(msg):
            nonlocal started
            if msg["type"] == "http.response.start":
                started = True
            await send(msg)

        try:
            await self.app(scope, counted, watched)
        except _TooLarge:
            if not started:
                await self._refuse(send)
