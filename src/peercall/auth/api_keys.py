"""Dashboard API keys: held only as SHA-256 digests, named, and scoped.

Scopes are ordered ``read`` < ``write`` < ``admin``: a ``read`` key (monitoring) may
only use safe methods, ``write`` may change rooms and participants, ``admin`` may also
read the audit log. Plain keys from the older configuration (``api_key``/``api_keys``)
are hashed at load and get ``admin``, so existing deployments keep working. API keys
are long random strings, so one fast hash is the right tool (a password KDF adds
nothing against a 128-bit secret); the digest comparison runs in constant time and over
every key, so timing reveals neither a match nor which key.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, cast

from peercall.errors import PeercallError

Scope = Literal["read", "write", "admin"]
_RANK: dict[str, int] = {"read": 0, "write": 1, "admin": 2}


def digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


@dataclass(frozen=True)
class ApiKey:
    name: str
    scope: Scope
    sha256: bytes

    def allows(self, needed: Scope) -> bool:
        return _RANK[self.scope] >= _RANK[needed]


class ApiKeyRing:
    """The set of API keys accepted by the REST API."""

    def __init__(self, keys: Iterable[str | ApiKey]) -> None:
        self._keys: list[ApiKey] = []
        for number, key in enumerate(keys, start=1):
            if isinstance(key, ApiKey):
                self._keys.append(key)
            elif key:
                self._keys.append(ApiKey(f"key-{number}", "admin", digest(key)))

    def __bool__(self) -> bool:
        return bool(self._keys)

    def check(self, authorization: str | None, needed: Scope = "read") -> ApiKey:
        """Accept ``Authorization: Bearer <key>`` with at least ``needed`` scope."""
        presented = bearer_value(authorization)
        if presented is None:
            raise PeercallError("unauthorized", "send 'Authorization: Bearer <api key>'")
        candidate = digest(presented)
        found: ApiKey | None = None
        for key in self._keys:
            if hmac.compare_digest(candidate, key.sha256):
                found = key
        if found is None:
            raise PeercallError("unauthorized", "the API key is not valid")
        if not found.allows(needed):
            raise PeercallError("forbidden", f"the API key {found.name!r} has scope {found.scope!r}; {needed} needed")
        return found


def bearer_value(authorization: str | None) -> str | None:
    """The value of a ``Bearer`` Authorization header, or None."""
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def scoped_keys(entries: Iterable[object]) -> list[ApiKey]:
    """Keys from ``scoped_api_keys`` settings (``name``, ``scope``, ``key`` or ``key_sha256``)."""
    keys: list[ApiKey] = []
    for entry in entries:
        name, scope = str(getattr(entry, "name", "")), getattr(entry, "scope", "admin")
        plain, hashed = getattr(entry, "key", None), getattr(entry, "key_sha256", None)
        if scope not in _RANK or not (plain or hashed):
            raise ValueError(f"API key {name!r} needs a scope (read|write|admin) and a key or key_sha256")
        keys.append(ApiKey(name, cast(Scope, scope), bytes.fromhex(hashed) if hashed else digest(str(plain))))
    return keys
