"""The thin WebSocket adapter: Origin check, size cap, timeouts, read loop.

All protocol decisions live in :class:`~peercall.signaling.session.SignalingSession`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from starlette.websockets import WebSocket, WebSocketDisconnect

from peercall.auth.tokens import TokenIssuer
from peercall.errors import ERRORS, PeercallError
from peercall.observability.server_metrics import ServerMetrics
from peercall.quality.service import StatsService
from peercall.rooms.resume import ResumeKeeper
from peercall.rooms.service import RoomService
from peercall.signaling.admission import Admission, AdmissionLimits
from peercall.signaling.connection import Outbox
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

    def joined(self) -> int:
        """Sockets with a joined session (refused newcomers close by themselves)."""
        return sum(1 for session in self.sessions if session.state is SessionState.JOINED)

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
        join_deadline = time.monotonic() + config.join_timeout_s
        # When the outbox ends (slow consumer, fatal error) while we wait for the client,
        # stop waiting at once: the wait is cancelled. Cheaper per frame than racing a
        # receive task against an "ended" task with asyncio.wait (profiled: ~20 % of a
        # node's CPU under relay load went to asyncio.wait's bookkeeping).
        reader = asyncio.current_task()
        waiting = interrupted = False

        def interrupt() -> None:
            nonlocal interrupted
            if waiting and reader is not None and not interrupted:
                interrupted = True
                reader.cancel()

        outbox.on_end = interrupt
        while session.state is not SessionState.CLOSED and outbox.close_code is None:
            if session.state is SessionState.AWAITING_JOIN:
                timeout, code = join_deadline - time.monotonic(), "join_timeout"
            else:
                timeout, code = config.idle_timeout_s, "idle_timeout"
            waiting = True
            try:
                try:
                    async with asyncio.timeout(max(timeout, 0.0)):
                        message = await websocket.receive()
                finally:
                    waiting = False  # before any handler below can end the outbox
            except TimeoutError:
                session.fail(PeercallError(code, f"no frame within {max(timeout, 0):.0f} s"))
                return
            except asyncio.CancelledError:
                if interrupted and reader is not None and reader.uncancel() == 0:
                    return  # ours: the outbox ended (e.g. slow consumer); stop now, not at the idle timeout
                raise
            except WebSocketDisconnect:
                return
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:
                session.fail(PeercallError("bad_message", "binary frames are not part of the protocol"))
                continue
            if len(text.encode()) > config.max_message_bytes:
                session.fail(PeercallError("message_too_large", f"frame exceeds {config.max_message_bytes} bytes"))
                return
            if self.observer is not None:
                self.observer.frame_in()
            await session.receive(text)
