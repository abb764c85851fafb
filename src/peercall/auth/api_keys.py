"""Dashboard API keys, compared in constant time."""

from __future__ import annotations

import hmac

from peercall.errors import PeercallError


class ApiKeyRing:
    """The set of API keys accepted by the REST API."""

    def __init__(self, keys: list[str]) -> None:
        self._keys = [key.encode() for key in keys if key]

    def __bool__(self) -> bool:
        return bool(self._keys)

    def check(self, authorization: str | None) -> None:
        """Accept ``Authorization: Bearer <key>`` or raise ``unauthorized``."""
        presented = bearer_value(authorization)
        if presented is None:
            raise PeercallError("unauthorized", "send 'Authorization: Bearer <api key>'")
        candidate = presented.encode()
        # Compare against every key so timing does not reveal which one matched.
        matched = False
        for key in self._keys:
            matched |= hmac.compare_digest(candidate, key)
        if not matched:
            raise PeercallError("unauthorized", "the API key is not valid")


def bearer_value(authorization: str | None) -> str | None:
    """The value of a ``Bearer`` Authorization header, or None."""
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()
