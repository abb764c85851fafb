"""Room lifecycle and membership, shared by the REST API and the signaling server.

A *call session* starts when the first member joins a room and ends when the last
member leaves (or the room is deleted); both ends are recorded in the store.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from peercall.auth.revocation import refuse_revoked, resume_key, token_key
from peercall.auth.tokens import RECORDER_IDENTITY, RECORDER_ROLE, JoinClaims
from peercall.errors import PeercallError
from peercall.hub.base import Deliver, Frame, Hub, JoinOutcome, Member, RoomFullError
from peercall.store.base import CallRecord, ParticipantRecord, RoomRecord, Store
from peercall.webhooks.events import EventSink, NoEvents, publish_safely

log = logging.getLogger(__name__)


def new_id(prefix: str) -> str:
    """Unguessable, URL-safe ids (room ids appear in join links)."""
    return f"{prefix}_{secrets.token_urlsafe(12)}"


class RoomService:
    def __init__(self, store: Store, hub: Hub) -> None:
        self.store = store
        self.hub = hub
        self._call_ids: dict[str, str] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        # Told of every admitted member (the server-side recorder starts on the first one).
        self.on_joined: list[Callable[[RoomRecord, Member], None]] = []
        # Webhooks (room.started, participant.joined/left, call.ended); set by the server.
        self.events: EventSink = NoEvents()
        # The quality summary of a finished call for `call.ended` (the stats service's).
        self.quality_summary: Callable[[str], Awaitable[list[dict[str, Any]]]] | None = None

    def _lock(self, room_id: str) -> asyncio.Lock:
        return self._locks.setdefault(room_id, asyncio.Lock())

    # ---- dashboard side ---------------------------------------------------
    async def create_room(self, name: str | None, max_participants: int, settings: dict[str, Any]) -> RoomRecord:
        room = RoomRecord(
            id=new_id("room"),
            name=name or "",
            max_participants=max_participants,
            settings=settings,
            created_at=time.time(),
        )
        await self.store.create_room(room)
        log.info("room created", extra={"room_id": room.id})
        return room

    async def admit(self, claims: JoinClaims) -> RoomRecord:
        """The live room a join token lets its holder into, in one store read; refused when
        the token was revoked, the room is gone, or the host removed the identity."""
        facts = await self.store.join_facts(claims.room_id, claims.identity, token_key(claims.token_id), time.time())
        refuse_revoked(facts.revoked)
        if facts.room is None or facts.room.deleted_at is not None:
            raise PeercallError("room_not_found", f"room {claims.room_id!r} does not exist")
        if facts.banned:
            raise _removed()
        return facts.room

    async def resuming(self, room_id: str, peer_id: str) -> RoomRecord | None:
        """The room of a member's resume session, in one store read (None: gone; the hub's
        to refuse); refused when the session was revoked (the host removed the member)."""
        facts = await self.store.join_facts(room_id, None, resume_key(room_id, peer_id), time.time())
        refuse_revoked(facts.revoked)
        return facts.room

    async def get_live_room(self, room_id: str) -> RoomRecord:
        room = await self.store.get_room(room_id)
        if room is None or room.deleted_at is not None:
            raise PeercallError("room_not_found", f"room {room_id!r} does not exist")
        return room

    async def end_room(self, room_id: str, reason: str = "room_deleted") -> None:
        """Delete a room: everyone is disconnected and the call session is closed."""
        await self.get_live_room(room_id)
        async with self._lock(room_id):
            await self.store.mark_room_deleted(room_id, time.time())
            await self.hub.close_room(room_id, {"type": "room-ended", "reason": reason})
            await self._end_call(room_id, reason)

    async def live_call(self, room_id: str) -> CallRecord | None:
        return await self.store.active_call(room_id)

    # ---- signaling side ---------------------------------------------------
    async def join(
        self, room_id: str, member: Member, deliver: Deliver, resume_secret: str, room: RoomRecord | None = None
    ) -> tuple[JoinOutcome, str, int]:
        """Admit a member; returns who else is there, the call id and the attachment epoch.

        ``room``: the room :meth:`admit` returned for the member (a join reads the store
        once); without it, the room and the member's ban are read here.
        """
        if room is None or room.id != room_id:
            room = await self.get_live_room(room_id)
            if await self.store.is_banned(room_id, member.identity):
                raise _removed()
        if (member.role == RECORDER_ROLE) != (member.identity == RECORDER_IDENTITY):
            raise PeercallError("forbidden", "this identity is reserved for the server's recorder")
        evict = PeercallError("session_replaced", "you joined this call from another connection").to_frame()
        async with self._lock(room_id):
            try:
                outcome, epoch = await self.hub.join(
                    room_id,
                    member,
                    deliver,
                    capacity=await self._capacity(room, member),
                    evict_frame=evict,
                    resume_secret=resume_secret,
                )
            except RoomFullError:
                raise PeercallError("room_full", f"the room is full ({room.max_participants} participants)") from None
            call_id = await self._ensure_call(room_id)
            now = time.time()
            if outcome.replaced is not None:
                await self.store.participant_left(call_id, outcome.replaced.peer_id, now, "replaced")
                await self._participant_event("participant.left", room_id, call_id, outcome.replaced, "replaced")
                await self.hub.broadcast(
                    room_id,
                    {"type": "peer-left", "peer_id": outcome.replaced.peer_id, "reason": "replaced"},
                    exclude=member.peer_id,
                )
            await self.store.add_participant(
                call_id,
                ParticipantRecord(member.peer_id, member.identity, member.name, member.role, member.joined_at),
            )
            await self._participant_event("participant.joined", room_id, call_id, member)
        for hook in self.on_joined:
            hook(room, member)
        return outcome, call_id, epoch

    async def _capacity(self, room: RoomRecord, member: Member) -> int:
        """The server's recorder does not take a participant's place: it always fits (one
        per room, by its fixed identity), and a recorder present raises the cap by one."""
        if member.role == RECORDER_ROLE:
            return room.max_participants + 1
        members = await self.hub.members(room.id)
        return room.max_participants + sum(1 for m in members if m.role == RECORDER_ROLE)

    async def leave(self, room_id: str, peer_id: str, reason: str, *, epoch: int | None = None) -> None:
        """Remove a member (idempotent); ends the call session when the room is empty.

        With ``epoch``, only if that attachment is still the member's current one (a
        socket superseded by a resume must not remove the resumed member).
        """
        async with self._lock(room_id):
            member = await self.hub.leave(room_id, peer_id, epoch=epoch)
            if member is None:
                return
            call_id = self._call_ids.get(room_id)
            if call_id:
                await self.store.participant_left(call_id, peer_id, time.time(), reason)
                await self._participant_event("participant.left", room_id, call_id, member, reason)
            await self.hub.broadcast(room_id, {"type": "peer-left", "peer_id": peer_id, "reason": reason})
            if not await self.hub.members(room_id):
                await self._end_call(room_id, "completed")
        if not self._lock(room_id).locked() and not await self.hub.members(room_id):
            self._locks.pop(room_id, None)

    def call_id(self, room_id: str) -> str | None:
        """The call in progress in a room this node serves, if any."""
        return self._call_ids.get(room_id)

    async def relay(self, room_id: str, sender: str, to: str, frame: Frame) -> None:
        """Pass ``frame`` (handed over: it gets ``from``) from one member to another."""
        if to == sender or not await self.hub.send(room_id, to, _sent_by(frame, sender)):
            raise _peer_not_found(to)

    def relay_now(self, room_id: str, sender: str, to: str, frame: Frame) -> bool:
        """:meth:`relay` without waiting, when the hub can (``Hub.send_now``); False when
        it cannot: then use :meth:`relay` (``frame`` may have its ``from`` already)."""
        if to == sender:
            raise _peer_not_found(to)
        sent = self.hub.send_now(room_id, to, _sent_by(frame, sender))
        if sent is None:
            return False
        if not sent:
            raise _peer_not_found(to)
        return True

    # ---- call sessions ----------------------------------------------------
    async def _ensure_call(self, room_id: str) -> str:
        call_id = self._call_ids.get(room_id)
        if call_id:
            return call_id
        existing = await self.store.active_call(room_id)
        if existing is not None:  # e.g. the server restarted during a call
            call_id = existing.id
        else:
            call_id = new_id("call")
            started = time.time()
            await self.store.start_call(call_id, room_id, started)
            await publish_safely(
                self.events, "room.started", {"room_id": room_id, "call_id": call_id, "started_at": started}
            )
        self._call_ids[room_id] = call_id
        return call_id

    async def _end_call(self, room_id: str, reason: str) -> None:
        call_id = self._call_ids.pop(room_id, None)
        if call_id is None:
            existing = await self.store.active_call(room_id)
            call_id = existing.id if existing else None
        if call_id:
            ended = time.time()
            await self.store.end_call(call_id, ended, reason)
            log.info("call ended", extra={"room_id": room_id, "call_id": call_id, "reason": reason})
            await self._call_ended(room_id, call_id, ended, reason)

    async def _participant_event(
        self, event: Any, room_id: str, call_id: str, member: Member, reason: str | None = None
    ) -> None:
        data: dict[str, Any] = {
            "room_id": room_id,
            "call_id": call_id,
            "peer_id": member.peer_id,
            "identity": member.identity,
            "name": member.name,
            "role": member.role,
        }
        if reason is None:
            data["joined_at"] = member.joined_at
        else:
            data.update(reason=reason, left_at=time.time())
        await publish_safely(self.events, event, data)

    async def _call_ended(self, room_id: str, call_id: str, ended: float, reason: str) -> None:
        try:  # the quality summary reads the call's whole stats timeline: only for a subscriber
            if not await self.events.wants("call.ended"):
                return
        except Exception:
            log.exception("webhook subscriptions unreadable; call.ended queued anyway")
        record = await self.store.get_call(call_id)
        started = record.started_at if record is not None else ended
        people = {p.identity for p in record.participants} if record is not None else set()
        try:
            quality = await self.quality_summary(call_id) if self.quality_summary is not None else []
        except Exception:  # the summary is a courtesy: the event goes out without it
            log.exception("no quality summary for call %s", call_id)
            quality = []
        data = {
            "room_id": room_id,
            "call_id": call_id,
            "started_at": started,
            "ended_at": ended,
            "duration_s": round(ended - started, 3),
            "end_reason": reason,
            "participants": sorted(people),
            "quality": quality,
        }
        await publish_safely(self.events, "call.ended", data)


def _sent_by(frame: Frame, sender: str) -> Frame:
    frame["from"] = sender
    return frame


def _removed() -> PeercallError:
    return PeercallError("removed", "you were removed from this call by the host")


def _peer_not_found(peer_id: str) -> PeercallError:
    return PeercallError("peer_not_found", f"peer {peer_id!r} is not in this room")
