"""One signaling connection's protocol state machine, free of socket I/O.

The WebSocket adapter feeds it text frames (:meth:`SignalingSession.receive`) and it
answers through ``deliver`` — the same non-blocking callable the hub uses — so tests
drive it without a socket. Fatal errors are delivered as ``error`` frames with
``fatal: true``; the adapter closes the socket after sending such a frame.
"""

from __future__ import annotations

import enum
import logging
import secrets
import time
from dataclasses import dataclass

from peercall.auth.tokens import TokenIssuer
from peercall.errors import PeercallError
from peercall.hub.base import Deliver, Member
from peercall.rooms.service import RoomService
from peercall.signaling import PROTOCOL_VERSION
from peercall.signaling.messages import (
    Answer,
    IceCandidate,
    Join,
    Leave,
    Offer,
    Ping,
    parse_client_frame,
    relay_payload,
)
from peercall.signaling.ratelimit import TokenBucket
from peercall.turn.ice_servers import IceServerProvider

log = logging.getLogger(__name__)


class SessionState(enum.Enum):
    AWAITING_JOIN = "awaiting_join"
    JOINED = "joined"
    CLOSED = "closed"


@dataclass(frozen=True)
class SessionLimits:
    rate_per_s: float = 50.0
    burst: int = 200
    # Frames dropped by the rate limiter before the connection is closed.
    abuse_threshold: int = 200


class SignalingSession:
    def __init__(
        self,
        rooms: RoomService,
        tokens: TokenIssuer,
        ice: IceServerProvider,
        deliver: Deliver,
        limits: SessionLimits | None = None,
    ) -> None:
        self._rooms = rooms
        self._tokens = tokens
        self._ice = ice
        self._deliver = deliver
        self._limits = limits or SessionLimits()
        self._bucket = TokenBucket(self._limits.rate_per_s, self._limits.burst)
        self._dropped = 0
        self.state = SessionState.AWAITING_JOIN
        self.room_id: str | None = None
        self.member: Member | None = None

    def _set_state(self, new: SessionState) -> None:
        if new is not self.state:
            log.debug("session %s -> %s", self.state.value, new.value)
            self.state = new

    def fail(self, error: PeercallError, ref: str | None = None) -> None:
        """Send an error frame; a fatal one ends the session."""
        if self.state is SessionState.CLOSED:
            return
        self._deliver(error.to_frame(ref))
        if error.kind.fatal:
            self._set_state(SessionState.CLOSED)

    async def receive(self, text: str) -> None:
        if self.state is SessionState.CLOSED:
            return
        if not self._bucket.allow():
            self._dropped += 1
            if self._dropped >= self._limits.abuse_threshold:
                self.fail(PeercallError("rate_limit_abuse", "too many frames; connection closed"))
            elif self._dropped == 1 or self._dropped % 50 == 0:
                self.fail(PeercallError("rate_limited", "too many frames; this one was dropped"))
            return
        ref: str | None = None
        try:
            frame = parse_client_frame(text)
            ref = frame.type
            await self._dispatch(frame)
        except PeercallError as error:
            self.fail(error, ref)

    async def _dispatch(self, frame: Join | Offer | Answer | IceCandidate | Leave | Ping) -> None:
        if isinstance(frame, Ping):
            self._deliver({"type": "pong", "ts": frame.ts})
        elif isinstance(frame, Join):
            await self._join(frame)
        elif self.state is not SessionState.JOINED or self.room_id is None or self.member is None:
            raise PeercallError("not_joined", "send 'join' first")
        elif isinstance(frame, Leave):
            await self.close(frame.reason)
        else:
            await self._rooms.relay(self.room_id, self.member.peer_id, frame.to, relay_payload(frame))

    async def _join(self, frame: Join) -> None:
        if self.state is SessionState.JOINED:
            raise PeercallError("already_joined", "this connection has already joined a room")
        if frame.v != PROTOCOL_VERSION:
            raise PeercallError("unsupported_version", f"protocol version {frame.v} is not supported (use 1)")
        claims = self._tokens.verify(frame.token)
        member = Member(
            peer_id=f"p_{secrets.token_urlsafe(9)}",
            identity=claims.identity,
            name=claims.name,
            role=claims.role,
            joined_at=time.time(),
        )
        outcome, call_id = await self._rooms.join(claims.room_id, member, self._deliver)
        self.room_id, self.member = claims.room_id, member
        self._set_state(SessionState.JOINED)
        self._deliver(
            {
                "type": "joined",
                "v": PROTOCOL_VERSION,
                "peer_id": member.peer_id,
                "room_id": claims.room_id,
                "call_id": call_id,
                "identity": member.identity,
                "name": member.name,
                "role": member.role,
                "peers": [other.public() for other in outcome.others],
                "ice_servers": self._ice.for_identity(member.identity),
            }
        )
        await self._rooms.hub.broadcast(
            claims.room_id, {"type": "peer-joined", "peer": member.public()}, exclude=member.peer_id
        )
        log.info("peer joined", extra={"room_id": claims.room_id, "peer_id": member.peer_id})

    async def close(self, reason: str = "disconnected") -> None:
        """Leave the room (if joined) and stop accepting frames. Idempotent."""
        room_id, member = self.room_id, self.member
        self.room_id = self.member = None
        self._set_state(SessionState.CLOSED)
        if room_id and member:
            await self._rooms.leave(room_id, member.peer_id, reason)
