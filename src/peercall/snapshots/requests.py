"""A host asks a participant's device for a high-resolution snapshot (signaling side).

The server checks the role (hosts only) and the target, writes the ``requested`` audit
entry *before* forwarding, so there is evidence of every request even if the device
never answers. The target's SDK captures from its own camera and uploads with the
``request_id`` (see :meth:`SnapshotService.upload`); if it cannot, it reports
``snapshot-failed``, which is audited and forwarded to the host.
"""

from __future__ import annotations

import logging
import time

from peercall.errors import PeercallError
from peercall.hub.base import Member
from peercall.rooms.service import RoomService
from peercall.snapshots.audit import AuditEntry
from peercall.store.snapshots_sql import SnapshotStore

log = logging.getLogger(__name__)


class SnapshotRequests:
    def __init__(self, rooms: RoomService, store: SnapshotStore, max_per_minute: int = 30) -> None:
        self._rooms = rooms
        self._store = store
        self._max_per_minute = max_per_minute  # per room: every request is an audit row

    async def request(self, room_id: str, actor: Member, target_peer_id: str, request_id: str) -> None:
        if actor.role != "host":
            raise PeercallError("forbidden", "only a host can request a snapshot")
        if actor.peer_id == target_peer_id:
            raise PeercallError("forbidden", "take a local snapshot of your own camera instead")
        target = next((m for m in await self._rooms.hub.members(room_id) if m.peer_id == target_peer_id), None)
        if target is None:
            raise PeercallError("participant_not_found", f"peer {target_peer_id!r} is not in this room")
        if await self._store.count_audit(room_id, "requested", since=time.time() - 60) >= self._max_per_minute:
            raise PeercallError("rate_limited", "too many snapshot requests in the last minute")
        existing, _ = await self._store.find_request(room_id, request_id)
        if existing is not None:
            raise PeercallError("bad_request", "request_id was already used in this room")
        await self._store.append_audit(
            AuditEntry(
                room_id=room_id,
                call_id=self._rooms.call_id(room_id),
                at=time.time(),
                action="requested",
                actor=actor.identity,
                device=target.identity,
                subject=target.identity,
                request_id=request_id,
            )
        )
        log.info("snapshot requested", extra={"room_id": room_id, "request_id": request_id})
        frame = {"type": "snapshot-request", "from": actor.peer_id, "request_id": request_id, "by": actor.public()}
        await self._rooms.hub.send(room_id, target.peer_id, frame)
        ack = {"type": "snapshot-requested", "request_id": request_id, "to": target.peer_id}
        await self._rooms.hub.send(room_id, actor.peer_id, ack)

    async def failed(self, room_id: str, member: Member, request_id: str, reason: str) -> None:
        """The device could not capture: audit it and tell the host who asked."""
        requested, answered = await self._store.find_request(room_id, request_id)
        if requested is None or requested.device != member.identity:
            raise PeercallError("not_found", "no such snapshot request for you in this room")
        if answered:
            raise PeercallError("forbidden", "this snapshot request was already answered")
        await self._store.append_audit(
            AuditEntry(
                room_id=room_id,
                call_id=self._rooms.call_id(room_id),
                at=time.time(),
                action="failed",
                actor=requested.actor,
                device=member.identity,
                subject=member.identity,
                request_id=request_id,
                details={"reason": reason},
            )
        )
        frame = {"type": "snapshot-failed", "from": member.peer_id, "request_id": request_id, "reason": reason}
        for other in await self._rooms.hub.members(room_id):
            if other.identity == requested.actor:
                await self._rooms.hub.send(room_id, other.peer_id, frame)
