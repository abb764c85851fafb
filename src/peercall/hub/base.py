"""The hub interface: who is in which room, and how a frame reaches a member.

Every frame the hub hands to a member carries a per-member sequence number ``seq`` and
is kept in a bounded replay buffer until the client acknowledges it. When a member's socket drops, its slot is
*suspended* (frames keep being buffered) until it *resumes* on a new socket — the
client says the last ``seq`` it saw and gets the rest replayed — or is removed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

Frame = dict[str, Any]
# Called by the hub to hand a frame to a member's connection. It must not block: the
# connection puts the frame on its bounded send queue (and drops itself when full).
Deliver = Callable[[Frame], None]


class EncodedFrame(dict[str, Any]):
    """A frame with its wire text, encoded once by the hub for its replay ring.

    The connection sends ``text`` instead of encoding the frame a second time, and the ring
    keeps only the text: strings are not tracked by Python's cyclic GC, whereas every ringed
    dict was promoted to the oldest generation and made full collections (hundreds of ms
    with thousands of connections) both more frequent and longer. Treat it as read-only.
    """

    __slots__ = ("text",)

    def __init__(self, frame: Frame, text: str | None = None) -> None:
        """``text``: the frame's wire text when it is already known (e.g. read from Redis)."""
        super().__init__(frame)
        self.text = encode_frame(frame) if text is None else text

    @classmethod
    def numbered(cls, frame: Frame, seq: int) -> EncodedFrame:
        """``frame`` with its ``seq`` (a member's frame number) added: one copy of it."""
        numbered = cls(frame, "")
        numbered["seq"] = seq
        numbered.text = encode_frame(numbered)
        return numbered


def encode_frame(frame: Frame) -> str:
    """The JSON text of a frame on the wire (compact). orjson: json.dumps was ~8 % of a
    node's CPU under relay load (every relayed frame and reply is encoded once)."""
    return orjson.dumps(frame).decode()


# Frames kept per member for replay after a resume, until the client acknowledges them
# (`ping` with `ack`, every ~10 s): at most this many (a suspended member's backlog).
REPLAY_FRAMES = 512


@dataclass(frozen=True, slots=True)
class Member:
    """One participant's presence in a room (one signaling session)."""

    peer_id: str
    identity: str
    name: str
    role: str
    joined_at: float
    # Last announced media state (mic, camera, screen share): late joiners see the truth.
    media: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_MEDIA))
    # The join token this member came in with, so a removal can revoke exactly that link.
    token_id: str = ""
    token_expires_at: float = 0.0

    def public(self) -> Frame:
        """The peer description sent to the other members."""
        return {
            "peer_id": self.peer_id,
            "identity": self.identity,
            "name": self.name,
            "role": self.role,
            "media": dict(self.media),
        }


DEFAULT_MEDIA: dict[str, Any] = {"audio": "on", "video": "on", "screen": False}


@dataclass(frozen=True)
class JoinOutcome:
    others: list[Member]  # members already there, in join order (excluding `replaced`)
    replaced: Member | None  # the same identity's previous session, now removed


@dataclass(frozen=True)
class ResumeOutcome:
    member: Member
    others: list[Member]
    replayed: int  # frames after the client's last_seq, delivered right after the preamble
    gap: bool  # frames were lost (buffer overflow): the client must renegotiate
    epoch: int  # identifies this attachment; a stale socket cannot suspend the slot


# Builds the first frame of a resumed socket from (the member, the others, gap); the hub
# delivers it, then the replayed frames, then live frames — in that order, atomically.
Preamble = Callable[[Member, list[Member], bool], Frame]


class RoomFullError(Exception):
    """The room already has its maximum number of members."""


class ResumeRefused(Exception):
    """No suspended or live slot matches the resume token."""


class ResumeSuperseded(ResumeRefused):
    """A later resume attempt of the same client already took the slot over.

    Under overload a server can read an attempt the client has abandoned (timed out) after
    the attempt that replaced it; executing it would evict the client's live socket.
    """


class HubUnavailable(Exception):
    """The hub's backing service did not answer in time (Redis down, or every pooled
    connection busy past the pool's wait on an overloaded node). Not a bug: the socket is
    closed as lost (``hub_unavailable``) and the member stays suspended, so the client
    resumes with its frames replayed instead of leaving the call."""


class Hub(Protocol):
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
        """Add a member atomically; returns the outcome and the attachment epoch.

        Raises RoomFullError. A member with the same identity is replaced: it is removed
        and handed ``evict_frame`` (its connection closes on it).
        """
        ...

    async def leave(self, room_id: str, peer_id: str, *, epoch: int | None = None) -> Member | None:
        """Remove a member; returns it, or None if it was already gone (or ``epoch`` is stale)."""
        ...

    async def suspend(self, room_id: str, peer_id: str, epoch: int) -> bool:
        """Detach a dropped socket, keep the slot; False if that socket was not the current one."""
        ...

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
        """Re-attach a member on a new socket (evicting a socket still attached).

        ``attempt`` (> 0) orders one client's resume attempts: one not above the highest
        attempt already accepted raises ResumeSuperseded; 0 is not ordered. Raises ResumeRefused.
        """
        ...

    async def acknowledge(self, room_id: str, peer_id: str, seq: int) -> None:
        """The member processed every frame up to ``seq``: drop them from its replay ring."""
        ...

    async def is_suspended(self, room_id: str, peer_id: str) -> bool: ...

    async def send(self, room_id: str, peer_id: str, frame: Frame) -> bool:
        """Deliver (or buffer) a frame for one member; False if no such member is in the room."""
        ...

    def send_now(self, room_id: str, peer_id: str, frame: Frame) -> bool | None:
        """:meth:`send` without waiting, when this hub can (the member's socket is in this
        process and nothing else needs asking): the relay path then costs no task. None:
        this hub cannot; use :meth:`send`. Never raises HubUnavailable (it asks no one)."""
        ...

    async def broadcast(self, room_id: str, frame: Frame, *, exclude: str | None = None) -> None: ...

    async def members(self, room_id: str) -> list[Member]: ...

    async def set_media(self, room_id: str, peer_id: str, media: dict[str, Any]) -> Member | None:
        """Record a member's media state; returns the updated member (None if absent)."""
        ...

    async def close_room(self, room_id: str, frame: Frame) -> list[Member]:
        """Deliver `frame` to every member, remove them all and return who was there."""
        ...

    async def room_ids(self) -> list[str]: ...

    async def ping(self) -> None:
        """Reach the hub's backend once (``/readyz``); raises HubUnavailable when it cannot."""
        ...
