"""Media recovery towards one remote member: the Python peer's rung of the failover ladder.

aiortc cannot restart ICE, so the browser's first two rungs (ICE restart, relay-only
restart) do not exist here: when the connection to a member that is still in the room
breaks, it is replaced by a new RTCPeerConnection whose offer carries ``reset: true``
(the other side replaces its connection too) — step ``new_connection``, retried with
jittered backoff until it connects or the policy gives up. The episode is then reported
to the server (``recovery-report``) and emitted as ``media-recovered``.

"Breaks" means ``failed`` (ICE checks or the DTLS handshake failed) *or* an unexpected
``closed``: aiortc 1.16 reports a lost path that way — when consent expires aioice closes
the agent, DTLS sees the end of its transport and the connection closes itself. The same
``closed`` follows a DTLS close from the other side (it replaced its connection or left),
so on ``closed`` even the impolite side first waits ``closed_settle`` for its offer or
``peer-left``.

Exactly one side drives, as in media-recovery.js: the impolite side (at once on ``failed``);
the polite side only when the other side stayed silent for ``polite_grace``.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from .wire import PeerError, PeerEvent

if TYPE_CHECKING:
    from .remote_peer import RemotePeer

__all__ = ["MediaRecovery", "MediaRecoveryPolicy", "RecoveryOutcome"]

logger = logging.getLogger(__name__)

RecoveryOutcome = Literal["recovered", "failed"]


@dataclass(frozen=True)
class MediaRecoveryPolicy:
    """Timers of a recovery episode (seconds); ``delays`` are jittered by ±``jitter``."""

    delays: tuple[float, ...] = (0.4, 0.8, 1.5, 2.5, 4.0)
    jitter: float = 0.2
    polite_grace: float = 3.0
    closed_settle: float = 1.0
    connect_timeout: float = 10.0
    """A new connection not connected by then counts as a failed attempt."""
    give_up_after: float = 120.0

    def next_delay(self, attempt: int) -> float:
        base = self.delays[min(attempt, len(self.delays)) - 1]
        return base * random.uniform(1 - self.jitter, 1 + self.jitter)


class MediaRecovery:
    """Watches one :class:`RemotePeer`; at most one episode runs at a time."""

    def __init__(self, remote: RemotePeer, policy: MediaRecoveryPolicy) -> None:
        self._remote, self._policy = remote, policy
        self._task: asyncio.Task[None] | None = None

    @property
    def active(self) -> bool:
        return self._task is not None and not self._task.done()

    def on_broken(self, state: str) -> None:
        """The current connection went ``failed`` or ``closed`` (not by us): start an episode."""
        if not self.active:
            policy = self._policy
            wait = policy.polite_grace if self._remote.polite else 0.0 if state == "failed" else policy.closed_settle
            self._task = self._remote.spawn(self._run("ice_failed", wait))

    async def _run(self, cause: str, wait: float) -> None:
        remote, policy = self._remote, self._policy
        owner = remote.owner
        started, broken_generation = time.monotonic(), remote.generation
        if wait > 0:
            await asyncio.sleep(wait)
            if remote.generation != broken_generation or remote.state == "connected":
                logger.info("peer %s: recovery driven by the other side", remote.info.peer_id)
                return
        steps: list[dict[str, Any]] = []
        outcome: RecoveryOutcome = "failed"
        attempt = 0
        while time.monotonic() - started < policy.give_up_after and remote.present:
            attempt += 1
            if not await owner._link.wait_up(policy.give_up_after):
                break
            logger.info("peer %s: media recovery, new_connection #%d (%s)", remote.info.peer_id, attempt, cause)
            owner.emit(PeerEvent.MEDIA_RECOVERING, remote.info.peer_id, cause, "new_connection", attempt)
            step_at, generation = time.monotonic(), remote.generation
            remote.reconnect(reset=True)
            ok = await self._connected(generation)
            steps.append({"step": "new_connection", "ok": ok, "ms": round((time.monotonic() - step_at) * 1000)})
            if ok:
                outcome = "recovered"
                break
            await asyncio.sleep(policy.next_delay(attempt))
        if not remote.present:
            return
        duration_ms = round((time.monotonic() - started) * 1000)
        report = {"cause": cause, "duration_ms": duration_ms, "outcome": outcome, "steps": steps}
        logger.info("peer %s: media recovery %s in %d ms, %d steps", remote.info.peer_id, outcome, duration_ms, attempt)
        try:
            await owner._send_to(remote, {"type": "recovery-report", **report}, key="peer_id")
        except PeerError as exc:
            logger.warning("peer %s: recovery report not sent: %s", remote.info.peer_id, exc)
        owner.emit(PeerEvent.MEDIA_RECOVERED, remote.info.peer_id, report)

    async def _connected(self, generation: int) -> bool:
        """Wait until a connection newer than ``generation`` connects (True) or fails (False)."""
        remote = self._remote

        def settled() -> bool | None:
            if remote.generation > generation and remote.state in ("connected", "failed"):
                return remote.state == "connected"
            return None if remote.present else False

        try:
            return await remote.owner._wait_for(settled, self._policy.connect_timeout)
        except TimeoutError:
            return False
