"""Join-token hardening: key rotation by ``kid`` and revocation records in a real SQLite store."""

from __future__ import annotations

import time
from pathlib import Path

import jwt
import pytest

from peercall.auth.revocation import Revocations
from peercall.auth.tokens import TokenIssuer
from peercall.errors import PeercallError
from peercall.hub.base import Member
from peercall.store.sql import SqlStore

OLD, NEW = "o" * 32, "n" * 32


def test_security_key_rotation_keeps_old_tokens_valid_until_the_key_is_dropped():
    before = TokenIssuer(OLD, key_id="k1")
    old_token, old_claims = before.issue("room_1", "alice", "Alice", "host", 60)
    rotated = TokenIssuer(NEW, key_id="k2", previous={"k1": OLD})
    new_token, _ = rotated.issue("room_1", "bob", "Bob", "participant", 60)
    assert jwt.get_unverified_header(new_token)["kid"] == "k2"
    assert rotated.verify(old_token) == old_claims  # issued before the rotation, still accepted
    assert rotated.verify(new_token).identity == "bob"
    with pytest.raises(PeercallError) as info:
        before.verify(new_token)  # a node that has not got k2 yet refuses cleanly
    assert info.value.code == "token_invalid"
    after = TokenIssuer(NEW, key_id="k2")  # k1 retired
    with pytest.raises(PeercallError) as info:
        after.verify(old_token)
    assert info.value.code == "token_invalid" and "no longer valid" in info.value.message
    # A forged kid pointing at the new key with the old signature is still refused.
    forged = jwt.encode(jwt.decode(old_token, options={"verify_signature": False}), OLD, headers={"kid": "k2"})
    with pytest.raises(PeercallError):
        rotated.verify(forged)


async def test_security_revocation_is_stored_checked_and_expires(tmp_path: Path):
    store = SqlStore(f"sqlite+aiosqlite:///{tmp_path / 'p.db'}")
    await store.open()
    try:
        issuer = TokenIssuer(NEW)
        revocations = Revocations(store)
        _, kicked = issuer.issue("room_1", "eve", "Eve", "participant", 60)
        _, other = issuer.issue("room_1", "eve", "Eve", "participant", 60)
        member = Member(
            "p_1",
            "eve",
            "Eve",
            "participant",
            time.time(),
            token_id=kicked.token_id,
            token_expires_at=kicked.expires_at,
        )
        await revocations.revoke_member("room_1", member)
        with pytest.raises(PeercallError) as info:
            await revocations.check_token(kicked)
        assert info.value.code == "removed"
        with pytest.raises(PeercallError) as info:
            await revocations.check_resume("room_1", "p_1")
        assert info.value.code == "removed"
        assert await revocations.check_token(other) == other  # only that link
        await revocations.check_resume("room_1", "p_2")
        # A dashboard revocation of a leaked link; an already-expired entry no longer counts.
        await revocations.revoke_token(other.token_id, time.time() + 60)
        with pytest.raises(PeercallError) as info:
            await revocations.check_token(other)
        assert info.value.code == "token_revoked"
        await store.revoke("jti:stale", "revoked", time.time() - 1)
        assert await store.revocation("jti:stale", time.time()) is None
    finally:
        await store.close()
