"""The hub interface: who is in which room, and how a frame reaches a member."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

Frame = dict[str, Any]
# Called by the hub to hand a frame to a member's connection. It must not block: the
# connection puts the frame on its bounded send queue (and drops itself when full).
Deliver = Callable[[Frame], None]


@dataclass(frozen=True)
class Member:
    """One participant's presence in a room (one signaling session)."""

    peer_id: str
    identity: str
    name: str
    role: str
    joined_at: float

    def public(self) -> Frame:
        """The peer description sent to the other members."""
        return {"peer_id": self.peer_id, "identity": self.identity, "name": self.name, "role": self.role}


@dataclass(frozen=True)
class JoinOutcome:
    others: list[Member]  # members already there, in join order (excluding `replaced`)
    replaced: Member | None  # the same identity's previous session, now removed


class RoomFullError(Exception):
    """The room already has its maximum number of members."""


class Hub(Protocol):
    async def join(
        self, room_id: str, member: Member, deliver: Deliver, *, capacity: int, evict_frame: Frame
    ) -> JoinOutcome:
        """Add a member atomically; raises RoomFullError.

        A member with the same identity is replaced: it is removed and handed
        ``evict_frame`` (its connection closes on it).
        """
        ...

    async def leave(self, room_id: str, peer_id: str) -> Member | None:
        """Remove a member; returns it, or None if it was already gone."""
        ...

    async def send(self, room_id: str, peer_id: str, frame: Frame) -> bool:
        """Deliver a frame to one member; False if no such member is in the room."""
        ...

    async def broadcast(self, room_id: str, frame: Frame, *, exclude: str | None = None) -> None: ...

    async def members(self, room_id: str) -> list[Member]: ...

    async def close_room(self, room_id: str, frame: Frame) -> list[Member]:
        """Deliver `frame` to every member, remove them all and return who was there."""
        ...

    async def room_ids(self) -> list[str]: ...
