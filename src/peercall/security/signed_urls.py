"""Short-lived signed download URLs (recordings, snapshots).

A download link is ``<path>?exp=<unix>&sig=<hmac>``: anyone holding it may fetch that one
path until ``exp``, nothing else, with no API key in a browser's history. The HMAC key
is derived from the token secret with a distinct label, so a signature can never be
replayed as a join token or vice versa. Use: the dashboard route that lists a recording
calls :meth:`UrlSigner.sign` (and is audited); the download route depends on
:meth:`UrlSigner.verify_request` and serves a server-generated, content-addressed file.
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


class UrlSigner:
    def __init__(self, secret: str, *, clock: Callable[[], float] = time.time) -> None:
        self._key = hmac.new(secret.encode(), b"peercall:signed-url:v1", hashlib.sha256).digest()
        self._clock = clock

    def _mac(self, path: str, expires: int) -> str:
        digest = hmac.new(self._key, f"{path}\n{expires}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def sign(self, path: str, ttl_s: int = DEFAULT_TTL_S) -> str:
        """``path?exp=..&sig=..``, valid for ``ttl_s`` (clamped to ``MAX_TTL_S``)."""
        if not path.startswith("/") or "?" in path or "#" in path:
            raise ValueError("sign an absolute path without query or fragment")
        expires = int(self._clock()) + max(1, min(ttl_s, MAX_TTL_S))
        return f"{path}?{urlencode({'exp': expires, 'sig': self._mac(path, expires)})}"

    def verify(self, path: str, exp: str | None, sig: str | None) -> None:
        """Raise ``token_invalid`` (bad or missing signature) or ``token_expired``."""
        if not exp or not sig or not exp.isdigit() or len(exp) > 12:
            raise PeercallError("token_invalid", "this download link is not valid")
        if not hmac.compare_digest(self._mac(path, int(exp)), sig):
            raise PeercallError("token_invalid", "this download link is not valid")
        if int(exp) < self._clock():
            raise PeercallError("token_expired", "this download link has expired; ask for a new one")

    def verify_request(self, request: Request) -> None:
        """FastAPI dependency body: the request's own path must carry a valid signature."""
        self.verify(request.url.path, request.query_params.get("exp"), request.query_params.get("sig"))
