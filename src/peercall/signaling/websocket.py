"""The thin WebSocket adapter: Origin check, size cap, timeouts, read loop.

All protocol decisions live in :class:`~peercall.signaling.session.SignalingSession`.
What a socket needs around its session (admission, refusals, frame checks, timeouts, the
end) is here once, for both ways a socket reaches us: the ASGI WebSocket of an app mounted
by an embedder (:meth:`SignalingEndpoint.__call__`) and ``peercall serve``'s own protocol
(:mod:`peercall.signaling.ws_protocol`).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from starlette.types import Message
from starlette.websockets import WebSocket, WebSocketDisconnect

from peercall.auth.tokens import TokenIssuer
from peercall.errors import ERRORS, PeercallError
from peercall.hub.base import Deliver
from peercall.observability.server_metrics import ServerMetrics
from peercall.quality.service import StatsService
from peercall.rooms.resume import ResumeKeeper
from peercall.rooms.service import RoomService
from peercall.signaling.admission import Admission, AdmissionLimits
from peercall.signaling.connection import Outbox
from peercall.signaling.idle import IdleSweeper
from peercall.signaling.session import SessionLimits, SessionState, SignalingSession
from peercall.snapshots.requests import SnapshotRequests
from peercall.turn.ice_servers import IceServerProvider

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SignalingConfig:
    allowed_origins: tuple[str, ...]
    max_message_bytes: int
    join_timeout_s: float
    idle_timeout_s: float
    send_queue_max: int
    limits: SessionLimits
    admission: AdmissionLimits = field(default_factory=AdmissionLimits)


def origin_allowed(origin: str | None, host: str | None, allowed: tuple[str, ...]) -> bool:
    """Browsers always send Origin: allow the configured origins, else same-origin only.

    Clients without an Origin header are not browsers (no cross-site hijacking risk);
    they still need a valid join token.
    """
    if origin is None:
        return True
    if origin in allowed or "*" in allowed:
        return True
    return host is not None and urlsplit(origin).netloc.lower() == host.lower()


class SignalingEndpoint:
    """The signaling sockets of a node; ASGI WebSocket handler for ``/ws``."""

    def __init__(
        self,
        rooms: RoomService,
        tokens: TokenIssuer,
        ice: IceServerProvider,
        keeper: ResumeKeeper,
        config: SignalingConfig,
        snapshots: SnapshotRequests | None = None,
        stats: StatsService | None = None,
        observer: ServerMetrics | None = None,
    ) -> None:
        self._stats = stats
        self.observer = observer
        self._rooms = rooms
        self._snapshots = snapshots
        self._keeper = keeper
        self._tokens = tokens
        self._ice = ice
        self.config = config
        self.sessions: set[SignalingSession] = set()
        self.admission = Admission(config.admission)
        self.draining = False
        self.idle = IdleSweeper(min(1.0, max(0.05, min(config.join_timeout_s, config.idle_timeout_s) / 10)))

    def joined(self) -> int:
        """Sockets with a joined session (refused newcomers close by themselves)."""
        return sum(1 for session in self.sessions if session.state is SessionState.JOINED)

    async def close(self) -> None:
        """Stop the timeout sweeper (the app is shutting down)."""
        await self.idle.close()

    def drain(self, window_s: float) -> None:
        """Stop taking sessions and tell every client to reconnect (elsewhere) within ``window_s``."""
        self.draining = True
        for session in list(self.sessions):
            session.drain(int(window_s * 1000))

    # -- one socket's life, whatever carries it -------------------------------------------

    def refuses_handshake(self, ip: str) -> bool:
        """A known flooder: refuse the handshake itself (HTTP 403), cheaply."""
        return self.admission.penalized(ip)

    def open_session(self, deliver: Deliver) -> SignalingSession:
        """The session of a socket just accepted; ``deliver`` writes (or queues) its frames."""
        session = SignalingSession(
            self._rooms,
            self._tokens,
            self._ice,
            self._keeper,
            deliver,
            self.config.limits,
            self._snapshots,
            self._stats,
        )
        self.sessions.add(session)
        return session

    def admit(self, session: SignalingSession, ip: str, origin: str | None, host: str | None) -> bool:
        """Count the socket in (True: :meth:`end_session` must release it). A refused one
        (limits, draining, Origin) gets its fatal error frame: the session is closed."""
        try:
            self.admission.admit(ip)
        except PeercallError as refused:  # not admitted: a clear refusal, then close
            session.fail(refused)
            return False
        if self.draining:  # a clear, retryable refusal: the client connects again, elsewhere
            session.fail(PeercallError("draining", "this node is shutting down; connect again"))
        elif not origin_allowed(origin, host, self.config.allowed_origins):
            session.fail(PeercallError("origin_forbidden", "this origin may not open a call connection"))
        return True

    def accept_frame(self, session: SignalingSession, text: str | None, size: int) -> bool:
        """Check one client frame (``text`` None: binary; ``size`` in bytes); True when the
        session should read it, else the client got its error frame."""
        if text is None:
            session.fail(PeercallError("bad_message", "binary frames are not part of the protocol"))
            return False
        max_bytes = self.config.max_message_bytes
        if size > max_bytes:
            session.fail(PeercallError("message_too_large", f"frame exceeds {max_bytes} bytes"))
            return False
        if self.observer is not None:
            self.observer.frame_in()
        return True

    def time_out(self, session: SignalingSession) -> None:
        """No frame in time: the join timeout before joining, the idle timeout after."""
        config = self.config
        if session.state is SessionState.AWAITING_JOIN:
            code, limit = "join_timeout", config.join_timeout_s
        else:
            code, limit = "idle_timeout", config.idle_timeout_s
        session.fail(PeercallError(code, f"no frame within {limit:.0f} s"))

    async def end_session(self, session: SignalingSession, ip: str, admitted: bool, close_code: int | None) -> None:
        """The socket is closed or closing (``close_code``: ours, if we closed it)."""
        if admitted:
            self.admission.release(ip)
            if close_code == ERRORS["rate_limit_abuse"].close_code:
                self.admission.penalize(ip)
        self.sessions.discard(session)
        try:
            await session.socket_closed()
        except Exception:
            log.exception("leaving the room failed")

    # -- the ASGI WebSocket ---------------------------------------------------------------

    async def __call__(self, websocket: WebSocket) -> None:
        ip = websocket.client.host if websocket.client else "unknown"
        if self.refuses_handshake(ip):
            await websocket.close(ERRORS["too_many_connections"].close_code or 4029)
            return
        await websocket.accept()
        outbox = Outbox(websocket, self.config.send_queue_max)
        outbox.start()
        session = self.open_session(self.observer.counting(outbox.deliver) if self.observer else outbox.deliver)
        admitted = False
        try:
            admitted = self.admit(session, ip, websocket.headers.get("origin"), websocket.headers.get("host"))
            if session.state is not SessionState.CLOSED:
                await self._read_loop(websocket, session, outbox)
        except Exception:
            log.exception("signaling connection failed")
            session.fail(PeercallError("internal", "internal server error"))
        finally:
            await self.end_session(session, ip, admitted, outbox.close_code)
            outbox.finish()
            await outbox.wait_closed()

    async def _read_loop(self, websocket: WebSocket, session: SignalingSession, outbox: Outbox) -> None:
        config = self.config
        loop = asyncio.get_running_loop()
        join_deadline = loop.time() + config.join_timeout_s
        reader = asyncio.current_task()
        assert reader is not None
        # Timeouts are checked by one sweeper for all sockets (see idle.py); when the outbox
        # ends (slow consumer, fatal error) while we wait for the client, the wait is
        # cancelled at once. (Racing a receive task against an "ended" task with
        # asyncio.wait cost ~20 % of a node's CPU under relay load.)
        watch = self.idle.watch(reader)
        outbox.on_end = watch.interrupt
        try:
            while session.state is not SessionState.CLOSED and outbox.close_code is None:
                if session.state is SessionState.AWAITING_JOIN:
                    watch.deadline = join_deadline
                else:
                    watch.deadline = loop.time() + config.idle_timeout_s
                watch.waiting = True
                try:
                    try:
                        message = await websocket.receive()
                    finally:
                        watch.waiting = False  # before any handler below can end the outbox
                except asyncio.CancelledError:
                    if not watch.ours():
                        raise
                    if watch.expired:
                        self.time_out(session)
                    return  # interrupted: the outbox ended; stop now, not at the idle timeout
                except WebSocketDisconnect:
                    return
                if not await self._handle(message, session):
                    return
        finally:
            self.idle.forget(watch)

    async def _handle(self, message: Message, session: SignalingSession) -> bool:
        """One ASGI message from the client; False when the connection is over."""
        if message["type"] == "websocket.disconnect":
            return False
        text = message.get("text")
        if self.accept_frame(session, text, len(text.encode()) if text is not None else 0):
            assert text is not None
            await session.receive(text)
        return session.state is not SessionState.CLOSED
