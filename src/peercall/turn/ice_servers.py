"""Build the RTCIceServer list for one participant.

TURN credentials follow the TURN REST API scheme that coturn implements with
``use-auth-secret``: username ``"<unix expiry>:<identity>"``, password
``base64(HMAC-SHA1(secret, username))``. They expire on their own, so a leaked
credential is useless after ``ttl`` seconds and the server keeps no state.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any


def turn_credentials(secret: str, identity: str, ttl_s: int, *, now: float | None = None) -> tuple[str, str]:
    """Return (username, password) valid for ``ttl_s`` seconds."""
    expiry = int((now if now is not None else time.time()) + ttl_s)
    username = f"{expiry}:{identity}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


class IceServerProvider:
    """Turns configured STUN/TURN URLs into the list a client passes to RTCPeerConnection."""

    def __init__(self, stun_urls: list[str], turn_urls: list[str], turn_secret: str | None, ttl_s: int) -> None:
        if turn_urls and not turn_secret:
            raise ValueError("turn_urls are configured but turn_secret is not")
        self._stun = list(stun_urls)
        self._turn = list(turn_urls)
        self._secret = turn_secret
        self.ttl_s = ttl_s

    def for_identity(self, identity: str) -> list[dict[str, Any]]:
        servers: list[dict[str, Any]] = []
        if self._stun:
            servers.append({"urls": list(self._stun)})
        if self._turn and self._secret:
            username, credential = turn_credentials(self._secret, identity, self.ttl_s)
            servers.append({"urls": list(self._turn), "username": username, "credential": credential})
        return servers
