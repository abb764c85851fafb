"""The storage interface: what the rest of peercall may ask of a database.

Records are plain frozen dataclasses so no ORM object leaks out of the store; a
PostgreSQL backend only has to implement :class:`Store`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class RoomRecord:
    id: str
    name: str
    max_participants: int
    settings: dict[str, Any]
    created_at: float
    deleted_at: float | None = None


@dataclass(frozen=True)
class JoinFacts:
    """What a join must know of the store, read at once (:meth:`Store.join_facts`)."""

    room: RoomRecord | None  # None: no such room
    banned: bool  # the identity was removed from the room by its host (False: not asked)
    revoked: str | None  # the token's revocation reason, if it is revoked


@dataclass(frozen=True)
class ParticipantRecord:
    peer_id: str
    identity: str
    name: str
    role: str
    joined_at: float
    left_at: float | None = None
    left_reason: str | None = None


@dataclass(frozen=True)
class CallRecord:
    """One call session: from the first join in a room until the room is empty."""

    id: str
    room_id: str
    started_at: float
    ended_at: float | None = None
    end_reason: str | None = None
    participants: list[ParticipantRecord] = field(default_factory=list)


@dataclass(frozen=True)
class ReconnectRecord:
    """One recovery episode of one participant: what broke, what was tried, how long it took.

    ``kind`` is ``signaling`` (recorded by the server: socket lost → resumed or timed out)
    or ``media`` (reported by the client SDK: ICE failure → restart ladder).
    """

    call_id: str
    peer_id: str
    identity: str
    kind: str
    cause: str
    started_at: float
    ended_at: float
    outcome: str  # recovered | resumed | timeout | failed | abandoned
    steps: list[dict[str, Any]] = field(default_factory=list)

    @property
    def duration_ms(self) -> int:
        return round((self.ended_at - self.started_at) * 1000)


@dataclass(frozen=True)
class ChatRecord:
    """One archived chat message (rooms with ``chat_archive``): who sent what, and when."""

    room_id: str
    call_id: str | None
    message_id: str
    identity: str
    name: str
    sent_at: float
    """The sender's clock."""
    received_at: float
    """The server's clock."""
    text: str


class Store(Protocol):
    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def ping(self) -> bool: ...

    async def create_room(self, room: RoomRecord) -> None: ...
    async def get_room(self, room_id: str) -> RoomRecord | None: ...
    async def list_rooms(self, *, limit: int = 100) -> list[RoomRecord]: ...
    async def mark_room_deleted(self, room_id: str, at: float) -> bool: ...

    async def start_call(self, call_id: str, room_id: str, at: float) -> None: ...
    async def end_call(self, call_id: str, at: float, reason: str) -> None: ...
    async def active_call(self, room_id: str) -> CallRecord | None: ...
    async def get_call(self, call_id: str) -> CallRecord | None: ...
    async def list_calls(self, room_id: str, *, limit: int = 100) -> list[CallRecord]: ...
    async def add_participant(self, call_id: str, participant: ParticipantRecord) -> None: ...
    async def participant_left(self, call_id: str, peer_id: str, at: float, reason: str) -> None: ...
    async def add_reconnect(self, record: ReconnectRecord) -> None: ...
    async def ban(self, room_id: str, identity: str, at: float) -> None: ...
    async def is_banned(self, room_id: str, identity: str) -> bool: ...
    async def join_facts(self, room_id: str, identity: str | None, revocation_key: str, now: float) -> JoinFacts:
        """The room, the identity's ban from it (None: not asked) and a revocation: one
        read, since every join and resume needs them (each read is ~0.3 ms of a node's CPU)."""
        ...

    async def list_reconnects(self, call_id: str) -> list[ReconnectRecord]: ...
    async def add_chat_message(self, record: ChatRecord) -> bool: ...
    async def list_chat_messages(self, room_id: str, *, limit: int = 1000) -> list[ChatRecord]: ...
    async def revoke(self, key: str, reason: str, expires_at: float) -> None: ...
    async def revocation(self, key: str, now: float) -> str | None: ...
    async def add_audit(self, entry: AuditRecord) -> None: ...
    async def list_audit(self, *, limit: int = 100) -> list[AuditRecord]: ...


@dataclass(frozen=True)
class AuditRecord:
    """One dashboard action: who (API key name), what, on which object, when."""

    at: float
    actor: str
    action: str
    target: str
    detail: dict[str, Any] = field(default_factory=dict)
