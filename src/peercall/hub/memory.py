"""In-process hub for a single node (the embedded default)."""

from __future__ import annotations

import asyncio
import hmac
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from peercall.hub.base import (
    REPLAY_FRAMES,
    Deliver,
    EncodedFrame,
    Frame,
    JoinOutcome,
    Member,
    Preamble,
    ResumeOutcome,
    ResumeRefused,
    ResumeSuperseded,
    RoomFullError,
)


@dataclass(slots=True)
class _Slot:
    """A member's place in a room: its socket (if attached) and its numbered frames."""

    member: Member
    deliver: Deliver | None
    secret: str
    epoch: int
    seq: int = 0
    attempt: int = 0  # highest resume attempt accepted
    # The last frames (seq, wire text: see EncodedFrame), oldest first, at most
    # REPLAY_FRAMES. A list, not a deque: acks keep it a few frames long, and an empty
    # deque costs a 64-slot block (~0.6 KiB per member, measured at 4,000 members).
    ring: list[tuple[int, str]] = field(default_factory=list)

    def push(self, frame: Frame) -> None:
        self.seq += 1
        numbered = EncodedFrame.numbered(frame, self.seq)
        self.ring.append((self.seq, numbered.text))
        if len(self.ring) > REPLAY_FRAMES:
            del self.ring[0]
        if self.deliver is not None:
            self.deliver(numbered)

    def replay_after(self, last_seq: int) -> list[Frame]:
        return [orjson.loads(text) for seq, text in self.ring if seq > last_seq]

    def trim_to(self, seq: int) -> None:
        """Drop what the client acknowledged."""
        keep = next((n for n, (kept, _) in enumerate(self.ring) if kept > seq), len(self.ring))
        del self.ring[:keep]


class MemoryHub:
    """Rooms as dicts in memory; an asyncio lock makes membership changes atomic."""

    def __init__(self) -> None:
        self._rooms: dict[str, dict[str, _Slot]] = {}
        self._lock = asyncio.Lock()
        self._epochs = 0

    def _next_epoch(self) -> int:
        self._epochs += 1
        return self._epochs

    async def join(
        self,
        room_id: str,
        member: Member,
        deliver: Deliver,
        *,
        capacity: int,
        evict_frame: Frame,
        resume_secret: str,
    ) -> tuple[JoinOutcome, int]:
        async with self._lock:
            room = self._rooms.setdefault(room_id, {})
            same = [pid for pid, slot in room.items() if slot.member.identity == member.identity]
            if len(room) - len(same) >= capacity:
                if not room:
                    del self._rooms[room_id]
                raise RoomFullError(room_id)
            replaced: Member | None = None
            for peer_id in same:
                old = room.pop(peer_id)
                replaced = old.member
                if old.deliver is not None:
                    old.deliver(evict_frame)
            others = [slot.member for slot in room.values()]
            epoch = self._next_epoch()
            room[member.peer_id] = _Slot(member, deliver, resume_secret, epoch)
            return JoinOutcome(others=others, replaced=replaced), epoch

    async def leave(self, room_id: str, peer_id: str, *, epoch: int | None = None) -> Member | None:
        async with self._lock:
            room = self._rooms.get(room_id)
            if not room or peer_id not in room:
                return None
            if epoch is not None and room[peer_id].epoch != epoch:
                return None
            slot = room.pop(peer_id)
            if not room:
                del self._rooms[room_id]
            return slot.member

    async def suspend(self, room_id: str, peer_id: str, epoch: int) -> bool:
        async with self._lock:
            slot = self._rooms.get(room_id, {}).get(peer_id)
            if slot is None or slot.epoch != epoch or slot.deliver is None:
                return False
            slot.deliver = None
            return True

    async def resume(
        self,
        room_id: str,
        peer_id: str,
        secret: str,
        deliver: Deliver,
        *,
        last_seq: int,
        evict_frame: Frame,
        preamble: Preamble,
        attempt: int = 0,
    ) -> ResumeOutcome:
        async with self._lock:
            room = self._rooms.get(room_id, {})
            slot = room.get(peer_id)
            if slot is None or not hmac.compare_digest(slot.secret, secret):
                raise ResumeRefused(peer_id)
            if attempt:
                if attempt <= slot.attempt:
                    raise ResumeSuperseded(peer_id)
                slot.attempt = attempt
            if slot.deliver is not None:  # the old socket is still open (it has not noticed the drop)
                slot.deliver(evict_frame)
            replay = slot.replay_after(last_seq)
            gap = last_seq < slot.seq and (not slot.ring or slot.ring[0][0] > last_seq + 1)
            others = [s.member for pid, s in room.items() if pid != peer_id]
            deliver(preamble(slot.member, others, gap))
            for frame in replay:
                deliver(frame)
            slot.deliver = deliver
            slot.epoch = self._next_epoch()
            return ResumeOutcome(slot.member, others, len(replay), gap, slot.epoch)

    async def acknowledge(self, room_id: str, peer_id: str, seq: int) -> None:
        slot = self._rooms.get(room_id, {}).get(peer_id)
        if slot is not None:
            slot.trim_to(seq)

    async def is_suspended(self, room_id: str, peer_id: str) -> bool:
        slot = self._rooms.get(room_id, {}).get(peer_id)
        return slot is not None and slot.deliver is None

    async def send(self, room_id: str, peer_id: str, frame: Frame) -> bool:
        return self._push(room_id, peer_id, frame)

    def send_now(self, room_id: str, peer_id: str, frame: Frame) -> bool:
        return self._push(room_id, peer_id, frame)

    def _push(self, room_id: str, peer_id: str, frame: Frame) -> bool:
        room = self._rooms.get(room_id)
        slot = room.get(peer_id) if room is not None else None
        if slot is None:
            return False
        slot.push(frame)
        return True

    async def broadcast(self, room_id: str, frame: Frame, *, exclude: str | None = None) -> None:
        for peer_id, slot in list(self._rooms.get(room_id, {}).items()):
            if peer_id != exclude:
                slot.push(frame)

    async def set_media(self, room_id: str, peer_id: str, media: dict[str, Any]) -> Member | None:
        slot = self._rooms.get(room_id, {}).get(peer_id)
        if slot is None:
            return None
        slot.member = replace(slot.member, media=dict(media))
        return slot.member

    async def members(self, room_id: str) -> list[Member]:
        return [slot.member for slot in self._rooms.get(room_id, {}).values()]

    async def close_room(self, room_id: str, frame: Frame) -> list[Member]:
        async with self._lock:
            room = self._rooms.pop(room_id, {})
        for slot in room.values():
            slot.push(frame)
        return [slot.member for slot in room.values()]

    async def room_ids(self) -> list[str]:
        return list(self._rooms)

    async def ping(self) -> None:
        """In this process: always reachable."""
