"""``/ws`` served by our own asyncio protocol: no ASGI between a socket and its session.

Why: a signaling socket lives as long as the call, and under uvicorn's ASGI WebSocket
each one kept a queue, an event, a task running the app and a Starlette ``WebSocket``
(about a dozen coroutine frames), plus our writer task and read loop, all to move one
small frame a second. Here the ``websockets`` Sans-I/O ``ServerProtocol`` does the
handshake, control frames (pings, the close) and every protocol error, while whole data
frames, the bulk of the traffic, are framed and unframed by us (ws_frames.py says why and
how the two stay in step; ws_inbound.py cuts the stream); the socket talks to its
:class:`~peercall.signaling.session.SignalingSession` directly:

* outbound frames are written at once with ``transport.write``; while the transport is
  paused (the client reads slower than we write) at most ``send_queue_max`` frames more
  are taken, then the client is a slow consumer (close 4013), as with :class:`Outbox`;
* inbound text frames are handled in order: at once when nothing needs waiting for (a
  relay on the in-process hub, a ping: ``SignalingSession.handle_now``), else by a task
  that exists only while there are frames to handle (the hub, the store may be waited on);
* join and idle timeouts come from the node's one :class:`IdleSweeper`.

Everything else about a socket (admission, refusals, frame checks, the end) is
:class:`SignalingEndpoint`'s, shared with the ASGI path. uvicorn hands us every WebSocket
upgrade (``uvicorn.Config(ws=...)``); any other path, or ``/ws`` before the services are
up, is passed on to uvicorn's own Sans-I/O ASGI protocol.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, ClassVar, cast

from uvicorn.config import Config
from uvicorn.protocols.utils import get_remote_addr
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.server import ServerState
from websockets.http11 import Request
from websockets.protocol import OPEN
from websockets.server import ServerProtocol

from peercall.errors import ERRORS, PeercallError
from peercall.hub.base import EncodedFrame, Frame, encode_frame
from peercall.signaling.connection import NORMAL_CLOSE, close_code_for
from peercall.signaling.messages import AnyClientFrame
from peercall.signaling.session import SessionState, SignalingSession
from peercall.signaling.websocket import SignalingEndpoint
from peercall.signaling.ws_frames import text_frame
from peercall.signaling.ws_inbound import InboundFrames

log = logging.getLogger(__name__)
# websockets logs "connection open/closed" at INFO for every socket: not worth a line each.
_WIRE_LOG = logging.getLogger("peercall.signaling.wire")
_WIRE_LOG.setLevel(logging.WARNING)

CLOSE_TIMEOUT_S = 5.0  # a client that does not answer our close frame is cut off after this
PENDING_MAX = 8  # client frames held while one is handled; beyond, reading pauses
SERVICE_RESTART = 1012
_SLOW_CONSUMER = ERRORS["slow_consumer"].close_code or 4013
_FLOODER = ERRORS["too_many_connections"].close_code or 4029


class SignalingProtocol(InboundFrames, asyncio.Protocol):
    """One upgraded connection. Bind to an app with :meth:`serving` (``endpoint_of``)."""

    path: ClassVar[bytes] = b"/ws"

    __slots__ = (
        "_admitted",
        "_close_code",
        "_conn",
        "_endpoint",
        "_handoff",
        "_ip",
        "_loop",
        "_max_size",
        "_pending",
        "_read_paused",
        "_server_state",
        "_session",
        "_timer",
        "_transport",
        "_unsent",
        "_worker",
        "deadline",
        "waiting",
    )

    @staticmethod
    def endpoint_of() -> SignalingEndpoint | None:
        """The node's signaling endpoint, or None while the app's services are not up."""
        return None

    @classmethod
    def serving(cls, endpoint_of: Callable[[], SignalingEndpoint | None], path: str) -> type[SignalingProtocol]:
        """The protocol class to give uvicorn (``ws=``) for one app."""
        attrs = {"endpoint_of": staticmethod(endpoint_of), "path": path.encode(), "__slots__": ()}
        return cast(type[SignalingProtocol], type(cls.__name__, (cls,), attrs))

    def __init__(self, config: Config, server_state: ServerState, app_state: dict[str, Any]) -> None:
        super().__init__()
        # Kept: asyncio.get_running_loop() costs a getpid() system call (CPython 3.11), twice a frame.
        self._loop = asyncio.get_running_loop()
        self._server_state = server_state
        # What uvicorn's own protocol needs should we pass the connection on; dropped after.
        self._handoff: tuple[Config, dict[str, Any]] | None = (config, app_state)
        self._transport: asyncio.Transport | None = None
        # The library's protocol: the handshake's, then the frames' (made when needed: _wire).
        self._conn: ServerProtocol | None = None
        self._max_size: int | None = config.ws_max_size
        self._endpoint: SignalingEndpoint | None = None
        self._session: SignalingSession | None = None
        self._ip = "unknown"
        self._admitted = False
        self._close_code: int | None = None  # set once we stop sending (ours, or the end)
        self._unsent: int | None = None  # frames written while the transport is paused
        self._worker: asyncio.Task[None] | None = None  # runs while frames are handled
        self._pending: list[str] | None = None  # frames waiting for the worker, in order
        self._read_paused = False
        self._timer: asyncio.TimerHandle | None = None
        self.deadline = 0.0
        self.waiting = False

    # -- asyncio.Protocol -----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        # uvicorn's HTTP protocol, which read the upgrade request, holds its httptools parser
        # and the parser holds the protocol's callbacks: a reference cycle per connection
        # (~14 objects) that only the cyclic GC frees. A 10,000-client ramp made a 5-18 ms
        # young collection every second of it. The request is parsed: cut the cycle, as
        # uvicorn's own connection_lost does (it never runs for an upgraded connection).
        http = transport.get_protocol()
        if http is not self and getattr(http, "parser", None) is not None:
            http.parser = None  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        if self._session is not None and not self._raw:
            self._split(data)
            return
        conn = self._conn  # the handshake's, or (a stream we gave up on) the frames'
        if conn is None:
            conn = self._take(data) if self._session is None else self._wire()
            if conn is None:
                return
        self._library(conn, data)

    def eof_received(self) -> bool | None:
        return None  # the transport closes itself; connection_lost follows

    def pause_writing(self) -> None:
        self._unsent = 0

    def resume_writing(self) -> None:
        self._unsent = None

    def connection_lost(self, exc: Exception | None) -> None:
        self._server_state.connections.discard(self)
        self._transport = None  # nothing more to write
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._end(NORMAL_CLOSE)

    def shutdown(self) -> None:
        """uvicorn is stopping: close with 1012 (service restart), as its own protocols do."""
        self._end(SERVICE_RESTART)
        if self._transport is not None:
            self._transport.close()

    # -- sessions -------------------------------------------------------------------------

    def deliver(self, frame: Frame) -> None:
        """The session's and the hub's ``Deliver``: write now, never wait."""
        endpoint = self._endpoint
        if endpoint is not None and endpoint.observer is not None:
            endpoint.observer.frame_out(frame)
        conn = self._conn
        if self._close_code is not None or self._session is None or (conn is not None and conn.state is not OPEN):
            return
        unsent = self._unsent
        if unsent is not None:  # the client does not keep up: the transport buffers
            assert endpoint is not None
            if unsent >= endpoint.config.send_queue_max:
                log.warning("slow consumer: closing connection")
                self._end(_SLOW_CONSUMER)
                return
            self._unsent = unsent + 1
        # The hub's frames come encoded already (EncodedFrame); the rest are ours.
        text = frame.text if type(frame) is EncodedFrame else encode_frame(frame)
        if self._transport is not None:
            self._transport.write(text_frame(text.encode()))
        close_code = close_code_for(frame)
        if close_code is not None:
            self._end(close_code)

    def expire(self) -> None:
        """No frame before the deadline (:class:`IdleSweeper`): the timeout error, then close."""
        if self._close_code is None and self._session is not None and self._endpoint is not None:
            self._endpoint.time_out(self._session)
            self._end(NORMAL_CLOSE)

    def _wire(self) -> ServerProtocol:
        """The library's side of an open socket, made when first needed: most sockets only
        ever carry whole data frames (ours to cut, ws_inbound.py), and a ``ServerProtocol``
        with its parser is ~1.5 KiB of the ~9 KiB a socket costs."""
        conn = self._conn
        if conn is None:
            conn = self._conn = ServerProtocol(state=OPEN, max_size=self._max_size, logger=_WIRE_LOG)
        return conn

    def _take(self, data: bytes) -> ServerProtocol | None:
        """The upgrade request (uvicorn passes it whole): ours, or uvicorn's ASGI protocol's."""
        assert self._transport is not None and self._handoff is not None
        config, app_state = self._handoff
        self._handoff = None
        request_line = data.split(b" ", 2)  # GET <target> HTTP/1.1...
        target = request_line[1] if len(request_line) == 3 else b""
        endpoint = self.endpoint_of()
        if endpoint is None or target.partition(b"?")[0] != self.path:
            asgi = WebSocketsSansIOProtocol(config=config, server_state=self._server_state, app_state=app_state)
            asgi.connection_made(self._transport)
            self._transport.set_protocol(asgi)
            self._transport = None
            asgi.data_received(data)
            return None
        self._endpoint = endpoint
        self._conn = ServerProtocol(max_size=self._max_size, logger=_WIRE_LOG)
        self._server_state.connections.add(self)  # type: ignore[arg-type]
        return self._conn

    def _handshake(self, conn: ServerProtocol, request: Request) -> None:
        endpoint, transport = self._endpoint, self._transport
        assert endpoint is not None and transport is not None
        peer = get_remote_addr(transport)
        self._ip = ip = peer[0] if peer else "unknown"
        if endpoint.refuses_handshake(ip):
            conn.send_response(conn.reject(403, ""))
            self._close_code = _FLOODER
            return
        response = conn.accept(request)  # no extensions offered: never permessage-deflate
        conn.send_response(response)
        if response.status_code != 101:  # not a valid WebSocket upgrade
            self._close_code = NORMAL_CLOSE
            return
        self._flush(conn)  # the 101 before any frame of the session
        # The handshake's parser keeps the request (headers and all: ~20 objects) alive as
        # long as the socket: dropped. Frames get a parser of their own when the library is
        # needed (a control frame, a fragment, the close: see _wire).
        self._conn = None
        self.deadline = self._loop.time() + endpoint.config.join_timeout_s
        self._session = session = endpoint.open_session(self.deliver)
        origin, host = (request.headers.get_all(name) for name in ("Origin", "Host"))  # one Origin: accept() checked
        self._admitted = endpoint.admit(session, ip, origin[0] if origin else None, host[0] if len(host) == 1 else None)
        if self._close_code is None:  # else refused: its error frame ended the socket
            self.waiting = True
            endpoint.idle.add(self)

    def _message(self, is_text: bool, data: bytes | bytearray | memoryview) -> None:
        """A whole message from the client: to the session, if it passes the frame checks."""
        session, endpoint = self._session, self._endpoint
        if session is None or endpoint is None or self._close_code is not None:
            return
        text: str | None = None
        if is_text:
            try:
                text = bytes(data).decode()
            except UnicodeDecodeError:
                self._fail(1007, "invalid UTF-8")
                return
        if endpoint.accept_frame(session, text, len(data)) and text is not None:
            self._receive(text)

    def _receive(self, text: str) -> None:
        """Hand a text frame to the session, after the ones before it: at once when it needs
        no waiting (a relayed frame on the in-process hub), else in a task that exists only
        while there are frames to handle."""
        if self._worker is None:
            session = self._session
            assert session is not None
            parsed = self._read(session, text)
            if parsed is None:
                self._handled(session)
                return
            self.waiting = False
            self._worker = self._loop.create_task(self._work(parsed))
            return
        pending = self._pending
        if pending is None:
            pending = self._pending = []
        pending.append(text)
        if len(pending) >= PENDING_MAX and not self._read_paused and self._transport is not None:
            self._read_paused = True
            self._transport.pause_reading()

    def _read(self, session: SignalingSession, text: str) -> tuple[AnyClientFrame, dict[str, Any]] | None:
        """Read a frame and relay it if that needs no waiting: what is left to handle, if any."""
        try:
            parsed = session.read(text)
            return None if parsed is None or session.handle_now(*parsed) else parsed
        except Exception:
            self._internal_error(session)
            return None

    @staticmethod
    def _internal_error(session: SignalingSession) -> None:
        log.exception("signaling connection failed")
        session.fail(PeercallError("internal", "internal server error"))

    def _handled(self, session: SignalingSession) -> None:
        """A frame was handled: the socket ends with its session, or waits for the next frame."""
        if session.state is SessionState.CLOSED:  # left, or failed
            self._end(NORMAL_CLOSE)
        elif session.state is not SessionState.AWAITING_JOIN:  # before the join, its deadline stays
            self.deadline = self._loop.time() + self._endpoint.config.idle_timeout_s  # type: ignore[union-attr]

    async def _work(self, first: tuple[AnyClientFrame, dict[str, Any]]) -> None:
        """Handle frames until none is left; the task ends with them (or with the socket)."""
        session = self._session
        assert session is not None
        parsed: tuple[AnyClientFrame, dict[str, Any]] | None = first
        while True:
            if parsed is not None:
                try:
                    await session.handle(*parsed)
                except Exception:
                    self._internal_error(session)
            pending = self._pending
            # Frames read before the client's close (or the TCP's end) were meant: an SDK
            # leaving a draining node writes its last candidates, then closes. Only a
            # session that ended (left, failed) drops what it has not handled.
            if session.state is SessionState.CLOSED or not pending:
                break
            parsed = self._read(session, pending.pop(0))
        self._pending = None
        self._handled(session)
        if self._close_code is not None:
            await self._ended()
            return
        self.waiting = True
        self._worker = None
        if self._read_paused and self._transport is not None:
            self._read_paused = False
            self._transport.resume_reading()

    # -- the end --------------------------------------------------------------------------

    def _end(self, code: int) -> None:
        """Stop sending: a close frame with ``code`` (if the socket is still open), then the
        session's end once no frame is being handled. Idempotent."""
        if self._close_code is not None:
            return
        self._close_code = code
        transport = self._transport
        conn = self._wire() if self._conn is None and self._session is not None else self._conn
        if conn is not None and transport is not None and conn.state is OPEN:
            conn.send_close(code)
            self._flush(conn)
            # A client that stopped reading would never answer: do not wait for it forever.
            self._timer = self._loop.call_later(CLOSE_TIMEOUT_S, transport.abort)
        if self._session is not None and self._worker is None:
            self._schedule_end()

    def _schedule_end(self) -> None:
        """End the session in a task of its own; uvicorn's shutdown waits for it."""
        task = self._worker = self._loop.create_task(self._ended())
        tasks = self._server_state.tasks
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def _ended(self) -> None:
        session, endpoint = self._session, self._endpoint
        assert session is not None and endpoint is not None
        self.waiting = False
        endpoint.idle.forget(self)
        self._pending = None
        await endpoint.end_session(session, self._ip, self._admitted, self._close_code)
        self._session = None  # the session and the hub let go of us; no cycle left behind
