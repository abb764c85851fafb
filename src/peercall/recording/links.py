"""Signed, expiring download links: ``?expires=<unix>&sig=<hex HMAC-SHA256>``.

The key is derived from the node's token secret, so links survive restarts and every
node of a deployment accepts them; nothing is stored per link.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from peercall.errors import PeercallError


class DownloadLinks:
    def __init__(self, secret: str) -> None:
        self._key = hmac.new(secret.encode(), b"peercall recording download", hashlib.sha256).digest()

    def sign(self, recording_id: str, expires: int) -> str:
        return hmac.new(self._key, f"{recording_id}:{expires}".encode(), hashlib.sha256).hexdigest()

    def check(self, recording_id: str, expires: int, signature: str) -> None:
        if expires < time.time():
            raise PeercallError("link_expired", "this download link has expired")
        # Bytes: compare_digest refuses non-ASCII str (a crafted ?sig= must not become a 500).
        if not hmac.compare_digest(self.sign(recording_id, expires).encode(), signature.encode()):
            raise PeercallError("unauthorized", "bad download signature")
