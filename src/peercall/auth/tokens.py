"""Join tokens: HS256 JWTs that carry room, identity, display name and role.

The role a participant has in a call comes only from here; the signaling server never
trusts a role sent by a client. ``kid`` names the signing key: a node verifies with
the key the token names, so a new key can be introduced while tokens signed with the
previous ones stay valid until they expire (rotation without downtime).
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass
from typing import Literal

import jwt

from peercall.errors import PeercallError

Role = Literal["host", "participant", "recorder"]
ROLES: tuple[Role, ...] = ("host", "participant", "recorder")
# The server's own recorder peer (docs/recording.md): only the server issues this role (the
# REST API offers host/participant only) and this identity is refused to anyone else.
RECORDER_ROLE: Role = "recorder"
RECORDER_IDENTITY = "peercall:recorder"
ISSUER = "peercall"
AUDIENCE = "peercall:join"
IDENTITY_PATTERN = re.compile(r"^[A-Za-z0-9_.@:+-]{1,64}$")


@dataclass(frozen=True)
class JoinClaims:
    """The verified content of a join token."""

    room_id: str
    identity: str
    name: str
    role: Role
    expires_at: int
    token_id: str


class TokenIssuer:
    """Signs with the current key; verifies with whichever valid key the token's ``kid`` names."""

    def __init__(
        self, secret: str, *, key_id: str = "k1", leeway_s: int = 5, previous: dict[str, str] | None = None
    ) -> None:
        keys = {**(previous or {}), key_id: secret}
        if any(len(value) < 32 for value in keys.values()):
            raise ValueError("token secret must be at least 32 characters")
        self._secret = secret
        self._key_id = key_id
        self._keys = keys
        self._leeway = leeway_s

    def issue(self, room_id: str, identity: str, name: str, role: Role, ttl_s: int) -> tuple[str, JoinClaims]:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        now = int(time.time())
        claims = JoinClaims(room_id, identity, name, role, now + ttl_s, uuid.uuid4().hex)
        payload = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": identity,
            "room": room_id,
            "name": name,
            "role": role,
            "iat": now,
            "exp": claims.expires_at,
            "jti": claims.token_id,
        }
        token = jwt.encode(payload, self._secret, algorithm="HS256", headers={"kid": self._key_id})
        return token, claims

    def verify(self, token: str | None, *, room_id: str | None = None) -> JoinClaims:
        """Return the claims or raise ``token_missing``/``token_expired``/``token_invalid``."""
        if not token:
            raise PeercallError("token_missing", "a join token is required")
        try:
            kid = jwt.get_unverified_header(token).get("kid", self._key_id)
        except jwt.PyJWTError as exc:
            raise PeercallError("token_invalid", f"the join token is not valid ({exc})") from None
        secret = self._keys.get(kid) if isinstance(kid, str) else None
        if secret is None:
            raise PeercallError("token_invalid", "the join token was signed with a key that is no longer valid")
        try:
            payload = jwt.decode(
                token,
                secret,
                algorithms=["HS256"],
                audience=AUDIENCE,
                issuer=ISSUER,
                leeway=self._leeway,
                options={"require": ["exp", "iat", "sub", "room", "role", "jti"]},
            )
        except jwt.ExpiredSignatureError:
            raise PeercallError("token_expired", "the join token has expired; ask for a new link") from None
        except jwt.PyJWTError as exc:
            raise PeercallError("token_invalid", f"the join token is not valid ({exc})") from None
        role = payload.get("role")
        identity = payload.get("sub")
        if role not in ROLES or not isinstance(identity, str) or not IDENTITY_PATTERN.match(identity):
            raise PeercallError("token_invalid", "the join token carries an invalid role or identity")
        if room_id is not None and payload.get("room") != room_id:
            raise PeercallError("token_invalid", "the join token is for another room")
        return JoinClaims(
            room_id=str(payload["room"]),
            identity=identity,
            name=str(payload.get("name") or identity)[:100],
            role=role,
            expires_at=int(payload["exp"]),
            token_id=str(payload["jti"]),
        )
