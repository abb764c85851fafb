"""In-process hub for a single node (the embedded default)."""

from __future__ import annotations

import asyncio

from peercall.hub.base import Deliver, Frame, JoinOutcome, Member, RoomFullError


class MemoryHub:
    """Rooms as dicts in memory; an asyncio lock makes join/leave atomic per hub."""

    def __init__(self) -> None:
        self._rooms: dict[str, dict[str, tuple[Member, Deliver]]] = {}
        self._lock = asyncio.Lock()

    async def join(
        self, room_id: str, member: Member, deliver: Deliver, *, capacity: int, evict_frame: Frame
    ) -> JoinOutcome:
        async with self._lock:
            room = self._rooms.setdefault(room_id, {})
            same = [pid for pid, (m, _) in room.items() if m.identity == member.identity]
            if len(room) - len(same) >= capacity:
                if not room:
                    del self._rooms[room_id]
                raise RoomFullError(room_id)
            replaced: Member | None = None
            for peer_id in same:
                replaced, old_deliver = room.pop(peer_id)
                old_deliver(evict_frame)
            others = [m for m, _ in room.values()]
            room[member.peer_id] = (member, deliver)
            return JoinOutcome(others=others, replaced=replaced)

    async def leave(self, room_id: str, peer_id: str) -> Member | None:
        async with self._lock:
            room = self._rooms.get(room_id)
            if not room or peer_id not in room:
                return None
            member, _ = room.pop(peer_id)
            if not room:
                del self._rooms[room_id]
            return member

    async def send(self, room_id: str, peer_id: str, frame: Frame) -> bool:
        entry = self._rooms.get(room_id, {}).get(peer_id)
        if entry is None:
            return False
        entry[1](frame)
        return True

    async def broadcast(self, room_id: str, frame: Frame, *, exclude: str | None = None) -> None:
        for peer_id, (_, deliver) in list(self._rooms.get(room_id, {}).items()):
            if peer_id != exclude:
                deliver(frame)

    async def members(self, room_id: str) -> list[Member]:
        return [m for m, _ in self._rooms.get(room_id, {}).values()]

    async def close_room(self, room_id: str, frame: Frame) -> list[Member]:
        async with self._lock:
            room = self._rooms.pop(room_id, {})
        for _, deliver in room.values():
            deliver(frame)
        return [m for m, _ in room.values()]

    async def room_ids(self) -> list[str]:
        return list(self._rooms)
