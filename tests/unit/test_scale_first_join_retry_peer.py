"""The Python peer's first join (``Dialer.first_join``) tries again after a refusal-for-now,
as the browser SDK's ``firstJoin`` does (tests/unit/test_scale_first_join_retry_sdk.py):
``too_many_connections`` (an address at its socket limit, e.g. a school's NAT whose other
sockets close) is retried; ``rate_limit_abuse`` (this client flooded) and other refusals are
raised at once."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from peercall.peer.reconnect import REFUSED_FOR_NOW, BackoffPolicy, Dialer
from peercall.peer.signaling_client import JoinRejected, SignalingClient

JOINED = object()  # stands for the SignalingClient of a successful join


@dataclass(frozen=True)
class ScriptedDialer(Dialer):
    """Each join raises the next refusal of ``codes``, then succeeds."""

    codes: list[str] = field(default_factory=list)
    calls: list[float] = field(default_factory=list)

    async def join(self, timeout: float) -> SignalingClient:
        self.calls.append(timeout)
        if len(self.calls) <= len(self.codes):
            code = self.codes[len(self.calls) - 1]
            raise JoinRejected(code, "refused", close_code=4000)
        return JOINED  # type: ignore[return-value]


POLICY = BackoffPolicy(delays=(0.0,), jitter=0.0)


async def test_scale_python_peer_first_join_retries_too_many_connections() -> None:
    assert "too_many_connections" in REFUSED_FOR_NOW
    dialer = ScriptedDialer("http://node.invalid", "token", codes=["too_many_connections", "too_many_connections"])
    assert await dialer.first_join(5.0, POLICY) is JOINED
    assert len(dialer.calls) == 3


@pytest.mark.parametrize("code", ["rate_limit_abuse", "room_full", "token_revoked"])
async def test_scale_python_peer_first_join_reports_other_refusals_at_once(code: str) -> None:
    dialer = ScriptedDialer("http://node.invalid", "token", codes=[code])
    with pytest.raises(JoinRejected) as refused:
        await dialer.first_join(5.0, POLICY)
    assert refused.value.code == code and len(dialer.calls) == 1
