"""Revoked credentials: a removed participant's join link and resume session stop working.

Join tokens are deliberately reusable until they expire (a client whose network broke
rejoins with the same link), so a signature check alone cannot keep someone out. A
removal therefore records the token's ``jti`` and the member's resume session in the
store until the token would have expired anyway; every join, resume and token-authenticated
REST call consults that list. Keys::

    jti:<token id>               a join token (removal, or revoked by the dashboard)
    resume:<room id>.<peer id>   a resume session of one member
"""

from __future__ import annotations

import time

from peercall.auth.tokens import JoinClaims
from peercall.errors import PeercallError
from peercall.hub.base import Member
from peercall.store.base import Store

# A resume session cannot outlive this (the grace period is capped at 600 s in config).
RESUME_REVOCATION_S = 3600.0


class Revocations:
    """Records and checks revoked join tokens and resume sessions."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def revoke_token(self, token_id: str, expires_at: float, reason: str = "revoked") -> None:
        if token_id:
            await self._store.revoke(token_key(token_id), reason, expires_at)

    async def revoke_member(self, room_id: str, member: Member, reason: str = "removed") -> None:
        """Revoke the link the member joined with and its resume session."""
        await self.revoke_token(member.token_id, member.token_expires_at or time.time() + 86400, reason)
        await self._store.revoke(resume_key(room_id, member.peer_id), reason, time.time() + RESUME_REVOCATION_S)

    async def check_token(self, claims: JoinClaims) -> JoinClaims:
        """Raise ``removed``/``token_revoked`` when the token was revoked; else return it."""
        refuse_revoked(await self._store.revocation(token_key(claims.token_id), time.time()))
        return claims

    async def check_resume(self, room_id: str, peer_id: str) -> None:
        refuse_revoked(await self._store.revocation(resume_key(room_id, peer_id), time.time()))


def token_key(token_id: str) -> str:
    """The revocation key of a join token (its ``jti``)."""
    return f"jti:{token_id}"


def resume_key(room_id: str, peer_id: str) -> str:
    """The revocation key of a member's resume session."""
    return f"resume:{room_id}.{peer_id}"


def refuse_revoked(reason: str | None) -> None:
    """Raise the client's error for a revocation ``reason`` (None: not revoked)."""
    if reason == "removed":
        raise PeercallError("removed", "you were removed from this call by the host")
    if reason is not None:
        raise PeercallError("token_revoked", "this join link was revoked; ask for a new one")
