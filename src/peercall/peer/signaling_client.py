"""Async client for the peercall signaling protocol v1 (docs/protocol.md).

It owns one WebSocket: it joins, keeps the session alive with ``ping`` every 10 s
(the server drops clients silent for 30 s), and hands inbound frames to whoever
iterates it. It knows nothing about WebRTC, so bots and tests can drive it alone.

Exceptions raised by the peer package::

    PeerError
    ├── SignalingError        the socket failed, closed, or a frame cannot be sent
    │   └── JoinRejected      the server answered ``join`` with an ``error`` frame
    └── PeerClosed            (peer.py) the Peer ended while a wait was pending
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl as ssl_module
import time
from dataclasses import dataclass
from typing import Any, Final, Literal, cast
from urllib.parse import urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

__all__ = [
    "Frame",
    "JoinRejected",
    "PeerError",
    "PeerInfo",
    "Role",
    "SignalingClient",
    "SignalingError",
    "signaling_url",
]

logger = logging.getLogger(__name__)

Frame = dict[str, Any]
"""One protocol frame: a JSON object with a ``type`` field."""

PROTOCOL_VERSION: Final = 1
MAX_FRAME_BYTES: Final = 64 * 1024
"""The server rejects larger frames fatally (``message_too_large``), so refuse early."""
_MAX_INBOUND_BYTES: Final = 4 * MAX_FRAME_BYTES
"""Lenient on receipt: relayed frames gain a ``from`` field the sender did not count."""
_INBOX_LIMIT: Final = 256


Role = Literal["host", "participant"]


@dataclass(frozen=True)
class PeerInfo:
    """A member of a room as the server describes it (``joined.peers``, ``peer-joined``)."""

    peer_id: str
    identity: str = ""
    name: str = ""
    role: Role = "participant"

    @classmethod
    def from_frame(cls, data: dict[str, Any]) -> PeerInfo:
        role = cast(Role, data.get("role")) if data.get("role") in ("host", "participant") else "participant"
        return cls(str(data["peer_id"]), str(data.get("identity", "")), str(data.get("name", "")), role)


class PeerError(Exception):
    """Root of every error raised by :mod:`peercall.peer`."""


class SignalingError(PeerError):
    """The signaling socket failed or closed; ``close_code`` is the WebSocket code if known."""

    def __init__(self, message: str, *, close_code: int | None = None) -> None:
        super().__init__(message)
        self.close_code = close_code


class JoinRejected(SignalingError):
    """The server refused ``join``; ``code`` is the stable error code (e.g. ``room_full``)."""

    def __init__(self, code: str, message: str, *, close_code: int | None = None) -> None:
        super().__init__(f"{code}: {message}", close_code=close_code)
        self.code = code
        self.message = message


def signaling_url(base: str) -> str:
    """Derive ``ws(s)://host[/prefix]/ws`` from an http(s) base URL (or pass a ws URL through)."""
    parts = urlsplit(base)
    scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(parts.scheme)
    if scheme is None or not parts.netloc:
        raise ValueError(f"not an http(s) or ws(s) URL: {base!r}")
    path = parts.path.rstrip("/")
    if not path.endswith("/ws"):
        path += "/ws"
    return urlunsplit((scheme, parts.netloc, path, "", ""))


class SignalingClient:
    """One joined signaling session; iterate it for inbound frames (``pong`` is consumed)."""

    def __init__(self, ws: ClientConnection, joined: Frame, *, ping_interval: float) -> None:
        self.joined: Frame = joined
        """The server's ``joined`` frame: own peer id, peers already there, ICE servers."""
        self.rtt: float | None = None
        """Round-trip time of the last ping, in seconds."""
        self._ws = ws
        self._ping_interval = ping_interval
        # Bounded on purpose: if nobody reads, the socket stops being read and the
        # server sees a slow consumer instead of this process growing without limit.
        # (Bounded by hand so that the end marker always fits.)
        self._inbox: asyncio.Queue[Frame | None] = asyncio.Queue()
        self._space = asyncio.Event()
        self._eof = False
        self._closing = False
        self._reader = asyncio.create_task(self._read_loop(), name="signaling-reader")
        self._pinger = asyncio.create_task(self._ping_loop(), name="signaling-pinger")

    @classmethod
    async def connect(
        cls,
        url: str,
        token: str,
        *,
        ssl: ssl_module.SSLContext | None = None,
        timeout: float = 10.0,
        ping_interval: float = 10.0,
    ) -> SignalingClient:
        """Open the socket, send ``join`` and return once ``joined`` arrives.

        ``ssl`` is the context for wss (e.g. one trusting a self-signed certificate);
        by default the system trust store is used.

        Raises :class:`JoinRejected` when the server answers with an ``error`` frame and
        :class:`SignalingError` when the socket cannot be opened or closes first.
        """
        uri = signaling_url(url)
        tls: ssl_module.SSLContext | bool | None = (ssl or True) if uri.startswith("wss:") else None
        try:
            async with asyncio.timeout(timeout):
                # proxy=None: never route signaling through an environment HTTP proxy.
                ws = await ws_connect(
                    uri, ssl=tls, proxy=None, max_size=_MAX_INBOUND_BYTES, open_timeout=None, close_timeout=3
                )
                try:
                    await ws.send(json.dumps({"type": "join", "v": PROTOCOL_VERSION, "token": token}))
                    joined = await cls._await_joined(ws)
                except BaseException:
                    await ws.close()
                    raise
        except TimeoutError:
            raise SignalingError(f"no joined from {uri} within {timeout} s") from None
        except (OSError, InvalidHandshake, InvalidURI) as exc:
            raise SignalingError(f"cannot open {uri}: {exc}") from exc
        logger.info("joined room %s as %s", joined.get("room_id"), joined.get("peer_id"))
        return cls(ws, joined, ping_interval=ping_interval)

    @staticmethod
    async def _await_joined(ws: ClientConnection) -> Frame:
        """Read until ``joined``; an ``error`` frame or a close becomes an exception."""
        while True:
            try:
                raw = await ws.recv()
            except ConnectionClosed as exc:
                code = exc.rcvd.code if exc.rcvd else None
                reason = exc.rcvd.reason if exc.rcvd else ""
                raise SignalingError(f"closed during join ({code} {reason})", close_code=code) from None
            frame = _decode(raw)
            kind = frame.get("type") if frame else None
            if kind == "joined":
                assert frame is not None
                return frame
            if kind == "error":
                assert frame is not None
                code = None
                if frame.get("fatal"):
                    with contextlib.suppress(TimeoutError):  # wait for the 4000+n close code
                        await asyncio.wait_for(ws.wait_closed(), 2.0)
                    code = ws.close_code
                raise JoinRejected(str(frame.get("code")), str(frame.get("message", "")), close_code=code)
            logger.warning("ignoring %r frame before joined", kind)

    @property
    def closed(self) -> bool:
        """True once the socket is closed (by either side)."""
        return self._eof

    @property
    def close_code(self) -> int | None:
        """The WebSocket close code once closed (``4000 + n`` for fatal server errors)."""
        return self._ws.close_code

    @property
    def close_reason(self) -> str | None:
        return self._ws.close_reason

    async def send(self, frame: Frame) -> None:
        """Send one frame; raises :class:`SignalingError` when closed or too large."""
        data = json.dumps(frame, separators=(",", ":"))
        if len(data.encode()) > MAX_FRAME_BYTES:
            raise SignalingError(f"{frame.get('type')} frame exceeds {MAX_FRAME_BYTES} bytes")
        try:
            await self._ws.send(data)
        except ConnectionClosed as exc:
            raise SignalingError("signaling socket closed", close_code=self._ws.close_code) from exc

    def __aiter__(self) -> SignalingClient:
        return self

    async def __anext__(self) -> Frame:
        if self._closing:  # after close() nobody wants the frames still queued
            raise StopAsyncIteration
        frame = await self._inbox.get()
        self._space.set()
        if frame is None:
            self._inbox.put_nowait(None)  # keep later iterations terminating too
            raise StopAsyncIteration
        return frame

    async def close(self) -> None:
        """Close the socket (idempotent); iterations end, frames not yet read are dropped."""
        self._closing = True
        self._pinger.cancel()
        await self._ws.close()
        self._reader.cancel()  # it may be parked waiting for the consumer
        await asyncio.gather(self._reader, return_exceptions=True)

    async def _read_loop(self) -> None:
        try:
            async for raw in self._ws:
                frame = _decode(raw)
                if frame is None:
                    continue
                if frame.get("type") == "pong":
                    self._on_pong(frame)
                    continue
                while self._inbox.qsize() >= _INBOX_LIMIT:
                    self._space.clear()
                    await self._space.wait()
                self._inbox.put_nowait(frame)
        except ConnectionClosed:
            pass
        finally:
            self._eof = True
            self._pinger.cancel()
            logger.info("signaling closed (%s %s)", self._ws.close_code, self._ws.close_reason or "")
            self._inbox.put_nowait(None)

    async def _ping_loop(self) -> None:
        while True:
            await asyncio.sleep(self._ping_interval)
            try:
                await self.send({"type": "ping", "ts": time.time() * 1000})
            except SignalingError:
                return

    def _on_pong(self, frame: Frame) -> None:
        ts = frame.get("ts")
        if isinstance(ts, (int, float)):
            self.rtt = max(0.0, time.time() - ts / 1000)


def _decode(raw: str | bytes) -> Frame | None:
    """Parse one inbound frame; anything but a JSON object with a type is logged and dropped."""
    try:
        frame = json.loads(raw)
    except ValueError:
        logger.warning("dropping non-JSON frame")
        return None
    if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
        logger.warning("dropping frame without a type")
        return None
    return frame
