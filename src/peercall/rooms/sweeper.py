"""Cross-node housekeeping of suspended members (only with a shared hub).

Why: on one node, the node that saw a socket drop runs the member's grace timer
(:class:`~peercall.rooms.resume.ResumeKeeper`). With several nodes that node may die with
its sockets: nobody would tell the others "reconnecting", and a member who never comes
back would hold its slot forever. Every node therefore sweeps the shared hub now and then:
members whose node stopped heart-beating are suspended (the others see
``peer-reconnecting``), and suspensions past the grace period are ended with ``timeout``,
exactly as the local timer would. Sweeps on several nodes are harmless: the hub's scripts
report each member once, and removal is guarded by the attachment epoch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Protocol

from peercall.hub.base import HubUnavailable
from peercall.rooms.resume import ResumeKeeper
from peercall.rooms.service import RoomService
from peercall.store.base import ReconnectRecord

log = logging.getLogger(__name__)

# While the hub is unreachable the sweep waits longer each round (doubling), up to this.
BACKOFF_MAX_S = 30.0


class SweepableHub(Protocol):
    async def sweep_due(self, grace_s: float) -> list[tuple[str, str, str, int]]: ...


class OrphanSweeper:
    def __init__(self, rooms: RoomService, keeper: ResumeKeeper, hub: SweepableHub, interval_s: float = 2.0) -> None:
        self._rooms = rooms
        self._keeper = keeper
        self._hub = hub
        self._interval_s = interval_s
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _loop(self) -> None:
        delay = self._interval_s
        while True:
            await asyncio.sleep(delay)
            try:
                await self.run_once()
            except HubUnavailable as exc:  # Redis away: back off, never end the loop
                if delay == self._interval_s:
                    log.warning("orphan sweep: hub unavailable; backing off", extra={"error": str(exc)})
                delay = min(max(BACKOFF_MAX_S, self._interval_s), delay * 2)
                continue
            except Exception:
                log.exception("orphan sweep failed")
            if delay != self._interval_s:
                log.info("orphan sweep: hub back")
            delay = self._interval_s

    async def run_once(self) -> int:
        """One pass over the rooms the hub says may need it; returns how many members it acted on."""
        acted = 0
        for room_id, peer_id, state, epoch in await self._hub.sweep_due(self._keeper.grace_s):
            acted += 1
            if state == "orphaned":
                log.info("member's node is gone; suspended", extra={"room_id": room_id, "peer_id": peer_id})
                frame = {"type": "peer-reconnecting", "peer_id": peer_id}
                await self._rooms.hub.broadcast(room_id, frame, exclude=peer_id)
            elif not self._keeper.is_tracking(room_id, peer_id):  # its own timer will do it
                await self._expire(room_id, peer_id, epoch)
        return acted

    async def _expire(self, room_id: str, peer_id: str, epoch: int) -> None:
        member = next((m for m in await self._rooms.hub.members(room_id) if m.peer_id == peer_id), None)
        if member is None:
            return
        log.info("grace period over (node gone)", extra={"room_id": room_id, "peer_id": peer_id})
        call_id = self._rooms.call_id(room_id) or getattr(await self._rooms.live_call(room_id), "id", None)
        self._keeper.tombstone(room_id, peer_id, "expired")
        await self._rooms.leave(room_id, peer_id, "timeout", epoch=epoch)
        if call_id:
            now = time.time()
            record = ReconnectRecord(
                call_id, peer_id, member.identity, "signaling", "node_lost", now - self._keeper.grace_s, now, "timeout"
            )
            await self._rooms.store.add_reconnect(record)
