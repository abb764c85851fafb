"""One signaling connection's protocol state machine, free of socket I/O.

The WebSocket adapter feeds it text frames (:meth:`SignalingSession.receive`) and it
answers through ``deliver`` — the same non-blocking callable the hub uses — so tests
drive it without a socket. Fatal errors are delivered as ``error`` frames with
``fatal: true``; the adapter closes the socket after sending such a frame.
"""

from __future__ import annotations

import enum
import functools
import logging
import secrets
import time
from typing import Any, cast

from peercall.auth.tokens import TokenIssuer
from peercall.collab import collab_settings
from peercall.errors import PeercallError
from peercall.hub.base import Deliver, Frame, HubUnavailable, Member
from peercall.quality.service import StatsService
from peercall.rooms.resume import ResumeKeeper
from peercall.rooms.service import RoomService
from peercall.signaling import PROTOCOL_VERSION
from peercall.signaling.in_call import InCall
from peercall.signaling.messages import (
    RELAYED,
    AnyClientFrame,
    Drain,
    Join,
    Leave,
    Ping,
    RelayFrame,
    Resume,
    TimeRequest,
    read_client_frame,
    relay_payload,
)
from peercall.signaling.ratelimit import FrameGate, SessionLimits
from peercall.snapshots.requests import SnapshotRequests
from peercall.turn.ice_servers import IceServerProvider

__all__ = ["SessionLimits", "SessionState", "SignalingSession"]

log = logging.getLogger(__name__)


# Fatal for the socket, but the member keeps its place (a dead network looks like this).
_SOCKET_LOSS = frozenset({"idle_timeout", "slow_consumer", "hub_unavailable"})
# How often a client's acknowledgement trims its replay ring (one hub call; Redis with several nodes).
ACK_INTERVAL_S = 5.0


class SessionState(enum.Enum):
    AWAITING_JOIN = "awaiting_join"
    JOINED = "joined"
    CLOSED = "closed"


class SignalingSession:
    # One per socket, as long as the call: no per-instance dict (~1 KiB of the ~14 KiB a
    # socket cost at 4,000 sockets).
    __slots__ = (
        "_acked",
        "_acked_at",
        "_deliver",
        "_epoch",
        "_failed",
        "_gate",
        "_held",
        "_ice",
        "_in_call",
        "_keeper",
        "_loss_cause",
        "_resume_secret",
        "_room_settings",
        "_rooms",
        "_snapshots",
        "_stats",
        "_tokens",
        "member",
        "room_id",
        "state",
    )

    def __init__(
        self,
        rooms: RoomService,
        tokens: TokenIssuer,
        ice: IceServerProvider,
        keeper: ResumeKeeper,
        deliver: Deliver,
        limits: SessionLimits | None = None,
        snapshots: SnapshotRequests | None = None,
        stats: StatsService | None = None,
    ) -> None:
        self._rooms = rooms
        self._snapshots = snapshots
        self._stats = stats
        self._in_call: InCall | None = None  # made at the first in-call frame (in_call.py)
        self._keeper = keeper
        self._resume_secret = secrets.token_urlsafe(24)
        self._epoch = 0
        self._room_settings: dict[str, object] = {}  # relay_only / turn_region shape the ICE fields
        self._failed = False
        self._tokens = tokens
        self._ice = ice
        self._deliver = deliver
        self._gate = FrameGate(limits or SessionLimits())
        self.state = SessionState.AWAITING_JOIN
        self.room_id: str | None = None
        self.member: Member | None = None
        self._loss_cause = "socket_closed"
        self._acked = 0  # the highest seq the client acknowledged (ping `ack`)
        self._acked_at = -ACK_INTERVAL_S
        # Frames the hub routes to us while joining, held back until `joined` is sent.
        self._held: list[Frame] | None = None

    def _set_state(self, new: SessionState) -> None:
        if new is not self.state:
            log.debug("session %s -> %s", self.state.value, new.value)
            self.state = new

    def fail(self, error: PeercallError, ref: str | None = None) -> None:
        """Send an error frame; a fatal one ends the session."""
        if self.state is SessionState.CLOSED:
            return
        self._deliver(error.to_frame(ref))
        if error.code in _SOCKET_LOSS:
            self._loss_cause = error.code  # the reconnect record says why the socket went away
            return  # the socket is going away, not the member: socket_closed() suspends it
        if error.kind.fatal:
            self._failed = True
            self._set_state(SessionState.CLOSED)

    def drain(self, reconnect_within_ms: int) -> None:
        """The node is shutting down: a joined client is told to move (it resumes elsewhere),
        one that has not joined yet is refused (it connects again, elsewhere)."""
        if self.state is SessionState.JOINED:
            self._deliver(Drain(reconnect_within_ms=reconnect_within_ms).model_dump())
        else:
            self.fail(PeercallError("draining", "this node is shutting down; connect again"))

    async def receive(self, text: str) -> None:
        """Handle one text frame from the client, to the end."""
        parsed = self.read(text)
        if parsed is not None and not self.handle_now(*parsed):
            await self.handle(*parsed)

    def read(self, text: str) -> tuple[AnyClientFrame, dict[str, Any]] | None:
        """A client frame within the rate limit, validated, with the JSON object it was read
        from; None when refused (the client got its error frame)."""
        if self.state is SessionState.CLOSED:
            return None
        if not self._gate.allow():
            refusal = self._gate.refusal()
            if refusal is not None:
                self.fail(refusal)
            return None
        try:
            return read_client_frame(text)
        except PeercallError as error:
            self.fail(error)
            return None

    def handle_now(self, frame: AnyClientFrame, data: dict[str, Any]) -> bool:
        """Act on a frame without waiting when nothing needs waiting for: a relayed frame
        when the hub can (``Hub.send_now``), a ping whose ack is not due, a time request.
        True when it was handled, else :meth:`handle` it.

        Nearly all the traffic takes this path on a single node: no task, no coroutine.
        """
        kind = type(frame)
        if kind in RELAYED and self.state is SessionState.JOINED:
            assert self.room_id is not None and self.member is not None
            try:
                to = cast(RelayFrame, frame).to
                return self._rooms.relay_now(self.room_id, self.member.peer_id, to, relay_payload(data))
            except PeercallError as error:
                self.fail(error, frame.type)
                return True
        if kind is Ping and not self._ack_due(cast(Ping, frame).ack):
            self._deliver({"type": "pong", "ts": cast(Ping, frame).ts})
            return True
        if kind is TimeRequest:
            self._tell_time(cast(TimeRequest, frame))
            return True
        return False

    async def handle(self, frame: AnyClientFrame, data: dict[str, Any]) -> None:
        """Act on a frame :meth:`read` returned (errors go to the client as error frames)."""
        try:
            await self._dispatch(frame, data)
        except PeercallError as error:
            self.fail(error, frame.type)
        except HubUnavailable as outage:
            log.warning("hub unavailable: closing the socket, the member stays", extra={"error": str(outage)})
            lost = PeercallError("hub_unavailable", "the server lost its backplane for a moment; resume")
            self.fail(lost, frame.type)

    async def _dispatch(self, frame: AnyClientFrame, data: dict[str, Any]) -> None:
        # Relayed frames are nearly all the traffic: tested first (one set lookup, not a
        # dozen isinstance checks before the last branch).
        if type(frame) in RELAYED and self.state is SessionState.JOINED:
            assert self.room_id is not None and self.member is not None
            to = cast(RelayFrame, frame).to
            await self._rooms.relay(self.room_id, self.member.peer_id, to, relay_payload(data))
        elif isinstance(frame, Ping):
            self._deliver({"type": "pong", "ts": frame.ts})
            if frame.ack is not None:
                await self._acknowledge(frame.ack)
        elif isinstance(frame, TimeRequest):
            self._tell_time(frame)
        elif isinstance(frame, Join | Resume):
            if self.state is SessionState.JOINED:
                raise PeercallError("already_joined", "this connection has already joined a room")
            if frame.v != PROTOCOL_VERSION:
                raise PeercallError("unsupported_version", f"protocol version {frame.v} is not supported (use 1)")
            await (self._join(frame) if isinstance(frame, Join) else self._resume(frame))
        elif self.state is not SessionState.JOINED or self.room_id is None or self.member is None:
            raise PeercallError("not_joined", "send 'join' first")
        elif isinstance(frame, Leave):
            await self.close(frame.reason)
        else:
            await self._in_call_frames().handle(frame)

    def _in_call_frames(self) -> InCall:
        """The member's handler of rare in-call frames, made at the first of them."""
        assert self.room_id is not None and self.member is not None
        if self._in_call is None:
            self._in_call = InCall(
                self._rooms, self.room_id, self.member, self._room_settings, self._snapshots, self._stats
            )
        return self._in_call

    def _session_frame(self, kind: str, member: Member, room_id: str, others: list[Member]) -> Frame:
        """`joined` / `resumed`: who we are, who is there, how to reach them."""
        return {
            "type": kind,
            "v": PROTOCOL_VERSION,
            "peer_id": member.peer_id,
            "room_id": room_id,
            "call_id": self._rooms.call_id(room_id),
            "identity": member.identity,
            "name": member.name,
            "role": member.role,
            "peers": [other.public() for other in others],
            **self._ice_fields(member.identity),
            "collab": collab_settings(self._room_settings).to_frame(),
            "resume_token": f"{room_id}.{member.peer_id}.{self._resume_secret}",
            "resume_grace_s": self._keeper.grace_s,
        }

    def _ice_fields(self, identity: str) -> Frame:
        """ICE servers of the room's TURN region; ``relay`` policy when the room is relay-only."""
        servers, policy = self._ice.for_room(identity, self._room_settings)
        return {"ice_servers": servers, "ice_transport_policy": policy}

    async def _join(self, frame: Join) -> None:
        claims = self._tokens.verify(frame.token)
        room = await self._rooms.admit(claims)
        self._room_settings = room.settings
        member = Member(
            peer_id=f"p_{secrets.token_urlsafe(9)}",
            identity=claims.identity,
            name=claims.name,
            role=claims.role,
            joined_at=time.time(),
            token_id=claims.token_id,
            token_expires_at=claims.expires_at,
        )
        # Frames routed to us before `joined` is sent (others act while the store is
        # written) are held back, so `joined` is always the first frame of the session.
        self._held = []
        outcome, _, self._epoch = await self._rooms.join(
            claims.room_id, member, self._deliver_to_member, resume_secret=self._resume_secret, room=room
        )
        if outcome.replaced is not None:
            self._keeper.tombstone(claims.room_id, outcome.replaced.peer_id, "replaced")
        self.room_id, self.member = claims.room_id, member
        self._set_state(SessionState.JOINED)
        self._deliver(self._session_frame("joined", member, claims.room_id, outcome.others))
        held, self._held = self._held, None
        for early in held or ():
            self._deliver(early)
        await self._rooms.hub.broadcast(
            claims.room_id, {"type": "peer-joined", "peer": member.public()}, exclude=member.peer_id
        )
        log.info("peer joined", extra={"room_id": claims.room_id, "peer_id": member.peer_id})

    def _deliver_to_member(self, frame: Frame) -> None:
        """The hub's way to our member (a method, not a closure per join: one per socket)."""
        if self._held is None:
            self._deliver(frame)
        else:
            self._held.append(frame)

    async def _resume(self, frame: Resume) -> None:
        room_id, _, rest = frame.resume_token.partition(".")
        peer_id, _, secret = rest.partition(".")
        if not (room_id and peer_id and secret):
            raise PeercallError("resume_failed", "malformed resume token; join again")
        room = await self._rooms.resuming(room_id, peer_id)  # a deleted room is the keeper's to refuse
        self._room_settings = room.settings if room else {}
        self._resume_secret = secret

        def preamble(member: Member, others: list[Member], gap: bool) -> Frame:
            return {**self._session_frame("resumed", member, room_id, others), "replay_gap": gap}

        outcome = await self._keeper.resume(
            room_id, peer_id, secret, self._deliver, frame.last_seq, preamble, attempt=frame.attempt or 0
        )
        self.room_id, self.member, self._epoch = room_id, outcome.member, outcome.epoch
        self._set_state(SessionState.JOINED)
        log.info("peer resumed", extra={"room_id": room_id, "peer_id": peer_id, "replayed": outcome.replayed})

    def _tell_time(self, frame: TimeRequest) -> None:
        """The server's clock (ms), for NTP-style offset estimates (recording alignment)."""
        self._deliver({"type": "time", "ts": frame.ts, "server_ts": time.time() * 1000})

    def _ack_due(self, seq: int | None) -> bool:
        """Whether a ping's ``seq`` should trim the replay ring now: at most every
        ACK_INTERVAL_S (a Redis call): without it the ring always holds the last 512 frames."""
        if seq is None or seq <= self._acked or self.state is not SessionState.JOINED:
            return False
        return time.monotonic() - self._acked_at >= ACK_INTERVAL_S

    async def _acknowledge(self, seq: int) -> None:
        """Trim our replay ring to what the client has not processed yet (when due)."""
        if not self._ack_due(seq) or self.room_id is None or self.member is None:
            return
        self._acked, self._acked_at = seq, time.monotonic()
        await self._rooms.hub.acknowledge(self.room_id, self.member.peer_id, seq)

    async def close(self, reason: str = "disconnected") -> None:
        """Leave the room for good (if joined) and stop accepting frames. Idempotent."""
        room_id, member = self.room_id, self.member
        self.room_id = self.member = None
        self._set_state(SessionState.CLOSED)
        if room_id and member:
            self._keeper.forget(room_id, member.peer_id)
            leave = functools.partial(self._rooms.leave, room_id, member.peer_id, reason, epoch=self._epoch)
            try:
                await leave()
            except HubUnavailable as exc:  # the member is leaving all the same: done once the hub answers
                log.warning(
                    "hub unavailable: leave retried",
                    extra={"room_id": room_id, "peer_id": member.peer_id, "error": str(exc)},
                )
                self._keeper.retry_later("leave", leave, room_id, member.peer_id)

    async def socket_closed(self) -> None:
        """The socket is gone. Unless we ended on purpose or on a fatal error, keep the
        member's place for the grace period so the client can resume."""
        room_id, member = self.room_id, self.member
        if self.state is SessionState.JOINED and room_id and member:
            self.room_id = self.member = None
            self._set_state(SessionState.CLOSED)
            # False when the slot is gone or another socket already took it over.
            await self._keeper.suspend(room_id, member.peer_id, member.identity, self._epoch, self._loss_cause)
            return
        await self.close("error" if self._failed else "disconnected")
