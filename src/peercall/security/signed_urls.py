"""Short-lived signed download URLs (recordings, snapshots).

A download link is ``<path>?exp=<unix>&sig=<hmac>``: anyone holding it may fetch that one
path until ``exp``, nothing else, with no API key in a browser's history. The HMAC key
is derived from the token secret with a distinct label, so a signature can never be
replayed as a join token or vice versa. Use: the dashboard route that lists a recording
calls :meth:`UrlSigner.sign` (a POST, so the audit log records who asked); the download
route calls :meth:`UrlSigner.verify_request` when the request carries a signature and
otherwise wants an API key (that use is audited too, see ``security.audit.audited``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable
from urllib.parse import urlencode

from starlette.requests import Request

from peercall.errors import PeercallError

DEFAULT_TTL_S = 300
MAX_TTL_S = 3600

# OpenAPI for a route that also opens with a signed link (``openapi_extra=SIGNED_LINK_OPENAPI``):
# the route reads ``exp``/``sig`` through :meth:`UrlSigner.verify_request`, not as parameters.
SIGNED_LINK_OPENAPI = {
    "parameters": [
        {"name": "exp", "in": "query", "required": False, "schema": {"type": "integer"}},
        {"name": "sig", "in": "query", "required": False, "schema": {"type": "string", "maxLength": 64}},
    ]
}


class UrlSigner:
    def __init__(self, secret: str, *, clock: Callable[[], float] = time.time) -> None:
        self._key = hmac.new(secret.encode(), b"peercall:signed-url:v1", hashlib.sha256).digest()
        self._clock = clock

    def _mac(self, path: str, expires: int) -> str:
        digest = hmac.new(self._key, f"{path}\n{expires}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def expiry(self, ttl_s: int = DEFAULT_TTL_S) -> int:
        """The expiry (unix seconds) of a link signed now for ``ttl_s`` (clamped to ``MAX_TTL_S``)."""
        return int(self._clock()) + max(1, min(ttl_s, MAX_TTL_S))

    def sign(self, path: str, ttl_s: int = DEFAULT_TTL_S, *, expires: int | None = None) -> str:
        """``path?exp=..&sig=..``, valid for ``ttl_s`` (or until ``expires``, from :meth:`expiry`)."""
        if not path.startswith("/") or "?" in path or "#" in path:
            raise ValueError("sign an absolute path without query or fragment")
        expires = self.expiry(ttl_s) if expires is None else expires
        return f"{path}?{urlencode({'exp': expires, 'sig': self._mac(path, expires)})}"

    @staticmethod
    def carries_signature(request: Request) -> bool:
        """The request presents a signed link (rather than an API key)."""
        return "sig" in request.query_params or "exp" in request.query_params

    def verify(self, path: str, exp: str | None, sig: str | None) -> None:
        """Raise ``unauthorized`` (bad or missing signature) or ``link_expired``."""
        if not exp or not sig or not exp.isdigit() or len(exp) > 12:
            raise PeercallError("unauthorized", "this download link is not valid")
        # Bytes: compare_digest refuses non-ASCII str (a crafted ?sig= must not become a 500).
        if not hmac.compare_digest(self._mac(path, int(exp)).encode(), sig.encode()):
            raise PeercallError("unauthorized", "this download link is not valid")
        if int(exp) < self._clock():
            raise PeercallError("link_expired", "this download link has expired; ask for a new one")

    def verify_request(self, request: Request) -> None:
        """FastAPI dependency body: the request's own path must carry a valid signature."""
        self.verify(request.url.path, request.query_params.get("exp"), request.query_params.get("sig"))
