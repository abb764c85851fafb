import time

import jwt
import pytest

from peercall.auth.api_keys import ApiKeyRing
from peercall.auth.tokens import TokenIssuer
from peercall.errors import PeercallError

SECRET = "s" * 32


def test_issue_and_verify_round_trip():
    issuer = TokenIssuer(SECRET)
    token, claims = issuer.issue("room_1", "alice", "Alice", "host", 60)
    verified = issuer.verify(token, room_id="room_1")
    assert verified == claims
    assert verified.role == "host" and verified.identity == "alice"
    assert jwt.get_unverified_header(token)["kid"] == "k1"


def test_expired_token_is_rejected():
    issuer = TokenIssuer(SECRET, leeway_s=0)
    token, _ = issuer.issue("room_1", "alice", "Alice", "host", 1)
    time.sleep(1.2)
    with pytest.raises(PeercallError) as info:
        issuer.verify(token)
    assert info.value.code == "token_expired"


def test_wrong_signature_is_rejected():
    token, _ = TokenIssuer("x" * 32).issue("room_1", "alice", "Alice", "host", 60)
    with pytest.raises(PeercallError) as info:
        TokenIssuer(SECRET).verify(token)
    assert info.value.code == "token_invalid"


def test_wrong_room_is_rejected():
    issuer = TokenIssuer(SECRET)
    token, _ = issuer.issue("room_1", "alice", "Alice", "participant", 60)
    with pytest.raises(PeercallError) as info:
        issuer.verify(token, room_id="room_2")
    assert info.value.code == "token_invalid"


def test_forged_role_is_rejected():
    forged = jwt.encode(
        {
            "iss": "peercall",
            "aud": "peercall:join",
            "sub": "eve",
            "room": "r",
            "role": "admin",
            "iat": int(time.time()),
            "exp": int(time.time()) + 60,
            "jti": "x",
        },
        SECRET,
        algorithm="HS256",
    )
    with pytest.raises(PeercallError) as info:
        TokenIssuer(SECRET).verify(forged)
    assert info.value.code == "token_invalid"


def test_alg_none_is_rejected():
    unsigned = jwt.encode({"sub": "eve", "room": "r", "role": "host"}, None, algorithm="none")
    with pytest.raises(PeercallError) as info:
        TokenIssuer(SECRET).verify(unsigned)
    assert info.value.code == "token_invalid"


def test_missing_token():
    with pytest.raises(PeercallError) as info:
        TokenIssuer(SECRET).verify("")
    assert info.value.code == "token_missing"


def test_api_key_ring():
    ring = ApiKeyRing(["k1-secret", "k2-secret"])
    ring.check("Bearer k2-secret")
    for bad in (None, "", "Bearer", "Basic k1-secret", "Bearer nope"):
        with pytest.raises(PeercallError) as info:
            ring.check(bad)
        assert info.value.code == "unauthorized"
