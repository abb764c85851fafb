"""The thin WebSocket adapter: Origin check, size cap, timeouts, read loop.

All protocol decisions live in :class:`~peercall.signaling.session.SignalingSession`.
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
    """ASGI WebSocket handler for ``/ws``."""

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
        self._config = config
        self.sessions: set[SignalingSession] = set()
        self.admission = Admission(config.admission)
        self.draining = False
        self._idle = IdleSweeper(min(1.0, max(0.05, min(config.join_timeout_s, config.idle_timeout_s) / 10)))

    def joined(self) -> int:
        """Sockets with a joined session (refused newcomers close by themselves)."""
        return sum(1 for session in self.sessions if session.state is SessionState.JOINED)

    async def close(self) -> None:
        """Stop the timeout sweeper (the app is shutting down)."""
        await self._idle.close()

    def drain(self, window_s: float) -> None:
        """Stop taking sessions and tell every client to reconnect (elsewhere) within ``window_s``."""
        self.draining = True
        for session in list(self.sessions):
            session.drain(int(window_s * 1000))

    async def __call__(self, websocket: WebSocket) -> None:
        ip = websocket.client.host if websocket.client else "unknown"
        if self.admission.penalized(ip):  # a known flooder: refuse the handshake itself (HTTP 403), cheaply
            await websocket.close(ERRORS["too_many_connections"].close_code or 4029)
            return
        await websocket.accept()
        outbox = Outbox(websocket, self._config.send_queue_max)
        outbox.start()
        deliver = self.observer.counting(outbox.deliver) if self.observer else outbox.deliver
        session = SignalingSession(
            self._rooms,
            self._tokens,
            self._ice,
            self._keeper,
            deliver,
            self._config.limits,
            self._snapshots,
            self._stats,
        )
        self.sessions.add(session)
        admitted = False
        try:
            self.admission.admit(ip)
            admitted = True
            if self.draining:  # a clear, retryable refusal: the client connects again, elsewhere
                session.fail(PeercallError("draining", "this node is shutting down; connect again"))
            elif not origin_allowed(
                websocket.headers.get("origin"), websocket.headers.get("host"), self._config.allowed_origins
            ):
                session.fail(PeercallError("origin_forbidden", "this origin may not open a call connection"))
            else:
                await self._read_loop(websocket, session, outbox)
        except PeercallError as refused:  # not admitted: a clear refusal, then close
            session.fail(refused)
        except Exception:
            log.exception("signaling connection failed")
            session.fail(PeercallError("internal", "internal server error"))
        finally:
            if admitted:
                self.admission.release(ip)
                if outbox.close_code == ERRORS["rate_limit_abuse"].close_code:
                    self.admission.penalize(ip)
            self.sessions.discard(session)
            try:
                await session.socket_closed()
            except Exception:
                log.exception("leaving the room failed")
            outbox.finish()
            await outbox.wait_closed()

    async def _read_loop(self, websocket: WebSocket, session: SignalingSession, outbox: Outbox) -> None:
        config = self._config
        loop = asyncio.get_running_loop()
        join_deadline = loop.time() + config.join_timeout_s
        reader = asyncio.current_task()
        assert reader is not None
        # Timeouts are checked by one sweeper for all sockets (see idle.py); when the outbox
        # ends (slow consumer, fatal error) while we wait for the client, the wait is
        # cancelled at once. (Racing a receive task against an "ended" task with
        # asyncio.wait cost ~20 % of a node's CPU under relay load.)
        watch = self._idle.watch(reader)
        outbox.on_end = watch.interrupt
        try:
            while session.state is not SessionState.CLOSED and outbox.close_code is None:
                if session.state is SessionState.AWAITING_JOIN:
                    watch.deadline, code = join_deadline, "join_timeout"
                else:
                    watch.deadline, code = loop.time() + config.idle_timeout_s, "idle_timeout"
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
                        limit = config.join_timeout_s if code == "join_timeout" else config.idle_timeout_s
                        session.fail(PeercallError(code, f"no frame within {limit:.0f} s"))
                    return  # interrupted: the outbox ended; stop now, not at the idle timeout
                except WebSocketDisconnect:
                    return
                if not await self._handle(message, session):
                    return
        finally:
            self._idle.forget(watch)

    async def _handle(self, message: Message, session: SignalingSession) -> bool:
        """One ASGI message from the client; False when the connection is over."""
        config = self._config
        if message["type"] == "websocket.disconnect":
            return False
        text = message.get("text")
        if text is None:
            session.fail(PeercallError("bad_message", "binary frames are not part of the protocol"))
            return True
        if len(text.encode()) > config.max_message_bytes:
            session.fail(PeercallError("message_too_large", f"frame exceeds {config.max_message_bytes} bytes"))
            return False
        if self.observer is not None:
            self.observer.frame_in()
        await session.receive(text)
        return True
