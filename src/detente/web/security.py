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
import re
import secrets
from hashlib import sha256
from pathlib import Path

__all__ = ["SAFE_NAME", "safe_join", "CsrfGuard", "DEFAULT_UPLOAD_LIMIT"]

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
