"""Who may open a signaling socket: caps on sockets open at once (per node and per
client IP) and on how fast one IP may open new ones.

A refused client gets a clear, fatal error frame (``too_many_connections`` or
``server_busy``) instead of a hung handshake, so a legitimate user behind the same
NAT as an abuser sees why. The per-IP table is bounded: idle entries are pruned.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from peercall.errors import PeercallError
from peercall.signaling.ratelimit import TokenBucket

MAX_TRACKED_IPS = 50_000


@dataclass(frozen=True)
class AdmissionLimits:
    max_connections: int = 2000
    max_per_ip: int = 50
    connect_rate_per_ip: float = 5.0
    connect_burst_per_ip: int = 40
    # An address whose sockets were closed for flooding ``abuse_strikes`` times within
    # ``abuse_penalty_s`` may not reconnect for ``abuse_penalty_s`` (one bad tab behind a
    # shared NAT does not lock everyone out; a flooding script does).
    abuse_penalty_s: float = 10.0
    abuse_strikes: int = 3


class Admission:
    """Counts open sockets; :meth:`admit` and :meth:`release` bracket each connection."""

    def __init__(self, limits: AdmissionLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self._limits = limits
        self._clock = clock
        self._open: dict[str, int] = {}
        self._buckets: dict[str, TokenBucket] = {}
        self._penalty: dict[str, float] = {}
        self._strikes: dict[str, list[float]] = {}
        self.total = 0
        self.refused = 0

    def admit(self, ip: str) -> None:
        """Count a new socket from ``ip`` or raise the error to send before closing it."""
        limits = self._limits
        bucket = self._buckets.get(ip)
        if bucket is None:
            self._prune()
            bucket = self._buckets[ip] = TokenBucket(
                limits.connect_rate_per_ip, limits.connect_burst_per_ip, self._clock
            )
        error: PeercallError | None = None
        if self._penalty.get(ip, 0.0) > self._clock():
            error = PeercallError("too_many_connections", "this address flooded the server; wait before reconnecting")
        elif self.total >= limits.max_connections:
            error = PeercallError("server_busy", "the server is at its connection limit; try again shortly")
        elif self._open.get(ip, 0) >= limits.max_per_ip:
            error = PeercallError("too_many_connections", f"at most {limits.max_per_ip} connections per address")
        elif not bucket.allow():
            error = PeercallError("too_many_connections", "connecting too fast from this address; slow down")
        if error is not None:
            self.refused += 1
            raise error
        self._open[ip] = self._open.get(ip, 0) + 1
        self.total += 1

    def release(self, ip: str) -> None:
        count = self._open.get(ip, 0) - 1
        if count <= 0:
            self._open.pop(ip, None)
        else:
            self._open[ip] = count
        self.total = max(0, self.total - 1)

    def penalized(self, ip: str) -> bool:
        if self._penalty.get(ip, 0.0) > self._clock():
            self.refused += 1
            return True
        return False

    def penalize(self, ip: str) -> None:
        """A socket of this address was closed for flooding; enough strikes refuse it for a while."""
        now, window = self._clock(), self._limits.abuse_penalty_s
        if len(self._penalty) + len(self._strikes) >= MAX_TRACKED_IPS:
            self._penalty = {k: v for k, v in self._penalty.items() if v > now}
            self._strikes = {k: v for k, v in self._strikes.items() if v and v[-1] > now - window}
        strikes = [t for t in self._strikes.get(ip, []) if t > now - window] + [now]
        if len(strikes) >= self._limits.abuse_strikes:
            self._penalty[ip] = now + window
            self._strikes.pop(ip, None)
        else:
            self._strikes[ip] = strikes

    def open_from(self, ip: str) -> int:
        return self._open.get(ip, 0)

    def _prune(self) -> None:
        """Forget rate state of addresses with no open socket once the table is large."""
        if len(self._buckets) < MAX_TRACKED_IPS:
            return
        for ip in [ip for ip in self._buckets if ip not in self._open]:
            del self._buckets[ip]
