"""Keeping a member's place while its signaling socket is gone.

A dropped socket *suspends* the member: the others see ``peer-reconnecting``, frames
for it are buffered by the hub, and a grace timer starts. A resume within the grace
period re-attaches it (``peer-resumed``); otherwise it is removed with reason
``timeout``. Each episode is stored as a reconnect record of the call.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass

from peercall.errors import PeercallError
from peercall.hub.base import Deliver, HubUnavailable, Preamble, ResumeOutcome, ResumeRefused, ResumeSuperseded
from peercall.rooms.service import RoomService
from peercall.store.base import ReconnectRecord

log = logging.getLogger(__name__)


@dataclass
class _Suspension:
    identity: str
    started_at: float
    cause: str
    timer: asyncio.TimerHandle
    epoch: int  # the attachment that dropped: with several nodes the member may resume elsewhere
    retries: int = 0  # expiries put off because the hub was unreachable


# Sessions that expired are remembered this long, so a late resume gets a clear
# "expired" (end the call) rather than "unknown" (which after a server restart means: join again).
TOMBSTONE_S = 600.0
MAX_TOMBSTONES = 10_000
# A hub write that did not happen because the hub was unreachable (a dropped socket's
# suspension, a leave, an expiry) is tried again: first after RETRY_FIRST_S, doubling up
# to RETRY_MAX_S, for RETRY_FOR_S at most. Each is guarded by the attachment epoch, so a
# late retry cannot undo what happened meanwhile (e.g. the member resumed).
RETRY_FIRST_S = 1.0
RETRY_MAX_S = 30.0
RETRY_FOR_S = 600.0


class ResumeKeeper:
    def __init__(self, rooms: RoomService, grace_s: float) -> None:
        self._rooms = rooms
        self.grace_s = grace_s
        self._suspended: dict[tuple[str, str], _Suspension] = {}
        self._ended: OrderedDict[tuple[str, str], tuple[float, str]] = OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()

    async def suspend(self, room_id: str, peer_id: str, identity: str, epoch: int, cause: str) -> bool:
        """Keep the slot of a member whose socket dropped; False if it was not attached.

        The hub unreachable: False, and the suspension is tried again in the background
        (else the slot would stay attached to a dead socket, out of every sweep's reach)."""
        try:
            return await self._suspend(room_id, peer_id, identity, epoch, cause)
        except HubUnavailable as exc:
            log.warning(
                "hub unavailable: suspension retried", extra={"room_id": room_id, "peer_id": peer_id, "error": str(exc)}
            )
            self.retry_later(
                "suspend", lambda: self._suspend(room_id, peer_id, identity, epoch, cause), room_id, peer_id
            )
            return False

    async def _suspend(self, room_id: str, peer_id: str, identity: str, epoch: int, cause: str) -> bool:
        if not await self._rooms.hub.suspend(room_id, peer_id, epoch):
            return False
        loop = asyncio.get_running_loop()
        timer = loop.call_later(self.grace_s, self._spawn_expiry, room_id, peer_id)
        self._suspended[(room_id, peer_id)] = _Suspension(identity, time.time(), cause, timer, epoch)
        try:
            await self._rooms.hub.broadcast(room_id, {"type": "peer-reconnecting", "peer_id": peer_id}, exclude=peer_id)
        except HubUnavailable as exc:  # suspended all the same; the others see the resume or the leave
            log.warning("hub unavailable: peer-reconnecting not sent", extra={"room_id": room_id, "error": str(exc)})
        log.info("peer suspended", extra={"room_id": room_id, "peer_id": peer_id})
        return True

    def retry_later(self, what: str, action: Callable[[], Awaitable[object]], room_id: str, peer_id: str) -> None:
        """Run ``action`` again in the background until the hub answers (see RETRY_*)."""
        task = asyncio.create_task(self._retry(what, action, room_id, peer_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _retry(self, what: str, action: Callable[[], Awaitable[object]], room_id: str, peer_id: str) -> None:
        where = {"room_id": room_id, "peer_id": peer_id}
        delay, deadline = RETRY_FIRST_S, time.monotonic() + RETRY_FOR_S
        while True:
            await asyncio.sleep(delay)
            try:
                await action()
            except HubUnavailable:
                if time.monotonic() + delay > deadline:
                    log.error("hub unavailable for too long: %s given up", what, extra=where)
                    return
                delay = min(RETRY_MAX_S, delay * 2)
                continue
            except Exception:
                log.exception("%s retry failed", what, extra=where)
                return
            log.info("%s done, the hub is back", what, extra=where)
            return

    async def resume(
        self,
        room_id: str,
        peer_id: str,
        secret: str,
        deliver: Deliver,
        last_seq: int,
        preamble: Preamble,
        *,
        attempt: int = 0,
    ) -> ResumeOutcome:
        evict = PeercallError("session_replaced", "this session resumed on another connection").to_frame()
        try:
            outcome = await self._rooms.hub.resume(
                room_id,
                peer_id,
                secret,
                deliver,
                last_seq=last_seq,
                evict_frame=evict,
                preamble=preamble,
                attempt=attempt,
            )
        except ResumeSuperseded:
            log.info("stale resume attempt refused", extra={"room_id": room_id, "peer_id": peer_id})
            raise PeercallError("resume_superseded", "a later attempt resumed this session") from None
        except ResumeRefused:
            ended = self._ended.get((room_id, peer_id))
            if ended is not None and time.time() - ended[0] < TOMBSTONE_S:
                if ended[1] == "replaced":
                    raise PeercallError("session_replaced", "you joined this call from another connection") from None
                raise PeercallError(
                    "session_expired", f"you were disconnected for more than {self.grace_s:.0f} s; the call ended"
                ) from None
            raise PeercallError("resume_failed", "the session is unknown here; join again") from None
        episode = self._suspended.pop((room_id, peer_id), None)
        if episode is not None:
            episode.timer.cancel()
        await self._rooms.hub.broadcast(room_id, {"type": "peer-resumed", "peer_id": peer_id}, exclude=peer_id)
        started = episode.started_at if episode else time.time()
        await self._record(
            room_id,
            peer_id,
            outcome.member.identity,
            episode.cause if episode else "socket_replaced",
            started,
            "resumed",
            gap=outcome.gap,
        )
        return outcome

    def _spawn_expiry(self, room_id: str, peer_id: str) -> None:
        task = asyncio.create_task(self._expire(room_id, peer_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _expire(self, room_id: str, peer_id: str) -> None:
        episode = self._suspended.pop((room_id, peer_id), None)
        if episode is None:
            return
        try:
            await self._end_suspension(room_id, peer_id, episode)
        except HubUnavailable as exc:  # try again later; a resume meanwhile cancels the timer
            delay = min(RETRY_MAX_S, RETRY_FIRST_S * 2**episode.retries)
            log.warning(
                "hub unavailable: expiry put off %.0f s",
                delay,
                extra={"room_id": room_id, "peer_id": peer_id, "error": str(exc)},
            )
            episode.retries += 1
            episode.timer = asyncio.get_running_loop().call_later(delay, self._spawn_expiry, room_id, peer_id)
            self._suspended[(room_id, peer_id)] = episode

    async def _end_suspension(self, room_id: str, peer_id: str, episode: _Suspension) -> None:
        if not await self._rooms.hub.is_suspended(room_id, peer_id):
            return
        log.info("resume grace period over", extra={"room_id": room_id, "peer_id": peer_id})
        self.tombstone(room_id, peer_id, "expired")
        call_id = self._rooms.call_id(room_id)
        # Only the attachment that dropped here: it may have resumed on another node since.
        await self._rooms.leave(room_id, peer_id, "timeout", epoch=episode.epoch)
        if call_id:
            await self._rooms.store.add_reconnect(
                ReconnectRecord(
                    call_id,
                    peer_id,
                    episode.identity,
                    "signaling",
                    episode.cause,
                    episode.started_at,
                    time.time(),
                    "timeout",
                )
            )

    async def _record(
        self, room_id: str, peer_id: str, identity: str, cause: str, started: float, outcome: str, *, gap: bool
    ) -> None:
        call_id = self._rooms.call_id(room_id)
        if call_id:
            steps = [{"step": "signaling_resume", "ok": True, "replay_gap": gap}]
            await self._rooms.store.add_reconnect(
                ReconnectRecord(call_id, peer_id, identity, "signaling", cause, started, time.time(), outcome, steps)
            )

    def tombstone(self, room_id: str, peer_id: str, why: str) -> None:
        """Remember how a session ended, so a late resume gets a terminal answer."""
        self.forget(room_id, peer_id)
        self._ended[(room_id, peer_id)] = (time.time(), why)
        while len(self._ended) > MAX_TOMBSTONES:
            self._ended.popitem(last=False)

    @property
    def suspended(self) -> Collection[tuple[str, str]]:
        """(room, peer) of every member whose grace timer this node runs (read-only view)."""
        return self._suspended.keys()

    def is_tracking(self, room_id: str, peer_id: str) -> bool:
        """True while this node runs the member's grace timer."""
        return (room_id, peer_id) in self._suspended

    def forget(self, room_id: str, peer_id: str) -> None:
        """The member left for good (e.g. replaced): drop its grace timer."""
        episode = self._suspended.pop((room_id, peer_id), None)
        if episode is not None:
            episode.timer.cancel()

    async def close(self) -> None:
        for episode in self._suspended.values():
            episode.timer.cancel()
        self._suspended.clear()
        for task in list(self._tasks):
            task.cancel()
