"""Token bucket: ``rate`` frames per second on average, bursts up to ``burst``; and the
per-socket frame limit built on it (:class:`FrameGate`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from peercall.errors import PeercallError


@dataclass(frozen=True)
class SessionLimits:
    rate_per_s: float = 50.0
    burst: int = 200
    # Frames dropped by the rate limiter before the connection is closed.
    abuse_threshold: int = 200


class TokenBucket:
    __slots__ = ("_burst", "_clock", "_rate", "_stamp", "_tokens")  # one or two per socket

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._tokens = float(burst)
        self._clock = clock
        self._stamp = clock()

    def allow(self) -> bool:
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


class FrameGate(TokenBucket):
    """A socket's frame rate limit: a frame over it is dropped; the client hears of its
    first drop and of every 50th, and ``abuse_threshold`` drops end the connection.
    A bucket itself (not one more object per socket): :meth:`allow` says whether a frame
    passes."""

    __slots__ = ("_abuse_threshold", "_dropped")

    def __init__(self, limits: SessionLimits) -> None:
        super().__init__(limits.rate_per_s, limits.burst)
        self._abuse_threshold = limits.abuse_threshold
        self._dropped = 0

    def refusal(self) -> PeercallError | None:
        """After :meth:`allow` said no: the error frame to send, if any (fatal for abuse)."""
        self._dropped += 1
        if self._dropped >= self._abuse_threshold:
            return PeercallError("rate_limit_abuse", "too many frames; connection closed")
        if self._dropped == 1 or self._dropped % 50 == 0:
            return PeercallError("rate_limited", "too many frames; this one was dropped")
        return None
