"""Async client for the peercall signaling protocol v1 (docs/protocol.md).

It owns one WebSocket: it joins (or resumes a dropped session), keeps the session alive
with ``ping`` every 5 s (the server drops clients silent for 30 s), drops the socket itself
when the server stays silent for 12 s (a dead network often closes nothing; the browser
SDK does the same), and hands inbound frames to whoever iterates it. It knows nothing
about WebRTC, so bots and tests can drive it alone. Reconnection (a new client per
socket) lives in :mod:`.reconnect`; the frame and error types in :mod:`.wire`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import ssl as ssl_module
import time
from typing import Final
from urllib.parse import urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from .wire import PROTOCOL_VERSION, Frame, JoinRejected, PeerError, PeerInfo, Role, SignalingError

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

MAX_FRAME_BYTES: Final = 64 * 1024
"""The server rejects larger frames fatally (``message_too_large``), so refuse early."""
_MAX_INBOUND_BYTES: Final = 4 * MAX_FRAME_BYTES
"""Lenient on receipt: relayed frames gain a ``from`` field the sender did not count."""
_INBOX_LIMIT: Final = 256
PING_INTERVAL: Final = 5.0
SERVER_SILENCE: Final = 12.0
"""Seconds without any frame from the server (pongs included) after which the socket is dropped."""


_RESUME_ATTEMPTS: Final = itertools.count(1)


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

    def __init__(
        self, ws: ClientConnection, joined: Frame, *, ping_interval: float, early: list[Frame] | None = None
    ) -> None:
        self.joined: Frame = joined
        """The server's ``joined`` (or ``resumed``) frame: own peer id, peers there, ICE servers."""
        self.rtt: float | None = None
        """Round-trip time of the last ping, in seconds."""
        self._ws = ws
        self._ping_interval = ping_interval
        self._last_frame_at = time.monotonic()
        # Bounded on purpose: if nobody reads, the socket stops being read and the
        # server sees a slow consumer instead of this process growing without limit.
        # (Bounded by hand so that the end marker always fits.)
        self._inbox: asyncio.Queue[Frame | None] = asyncio.Queue()
        for frame in early or []:  # frames the server sent before the session frame, in order
            self._inbox.put_nowait(frame)
        self._space = asyncio.Event()
        self._eof = False
        self._closing = False
        self._highest_seq = 0
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
        ping_interval: float = PING_INTERVAL,
    ) -> SignalingClient:
        """Open the socket, send ``join`` and return once ``joined`` arrives.

        ``ssl`` is the context for wss (e.g. one trusting a self-signed certificate);
        by default the system trust store is used.

        Raises :class:`JoinRejected` when the server answers with an ``error`` frame and
        :class:`SignalingError` when the socket cannot be opened or closes first.
        """
        hello = {"type": "join", "v": PROTOCOL_VERSION, "token": token}
        return await cls._open(url, hello, "joined", ssl=ssl, timeout=timeout, ping_interval=ping_interval)

    @classmethod
    async def resume(
        cls,
        url: str,
        resume_token: str,
        last_seq: int,
        *,
        ssl: ssl_module.SSLContext | None = None,
        timeout: float = 5.0,
        ping_interval: float = PING_INTERVAL,
    ) -> SignalingClient:
        """Take a dropped session over on a new socket; returns once ``resumed`` arrives.

        The frames after ``last_seq`` follow as ordinary frames. Raises :class:`JoinRejected`
        with ``resume_failed`` (unknown session: join again) or ``session_expired`` (the
        grace period is over: the call ended), or :class:`SignalingError`.
        """
        # `attempt` orders this process's attempts: an abandoned one the server reads late is
        # refused (resume_superseded) instead of evicting the socket of the one that replaced it.
        hello = {
            "type": "resume",
            "v": PROTOCOL_VERSION,
            "resume_token": resume_token,
            "last_seq": last_seq,
            "attempt": next(_RESUME_ATTEMPTS),
        }
        return await cls._open(url, hello, "resumed", ssl=ssl, timeout=timeout, ping_interval=ping_interval)

    @classmethod
    async def _open(
        cls,
        url: str,
        hello: Frame,
        expect: str,
        *,
        ssl: ssl_module.SSLContext | None,
        timeout: float,
        ping_interval: float,
    ) -> SignalingClient:
        uri = signaling_url(url)
        tls: ssl_module.SSLContext | bool | None = (ssl or True) if uri.startswith("wss:") else None
        try:
            async with asyncio.timeout(timeout):
                # proxy=None: never route signaling through an environment HTTP proxy.
                ws = await ws_connect(
                    uri, ssl=tls, proxy=None, max_size=_MAX_INBOUND_BYTES, open_timeout=None, close_timeout=3
                )
                try:
                    # A node that refuses at once (e.g. `draining`) may have closed before we
                    # send: its error frame is still buffered and read below as the refusal.
                    with contextlib.suppress(ConnectionClosed):
                        await ws.send(json.dumps(hello))
                    joined, early = await cls._await_session(ws, expect)
                except BaseException:
                    with contextlib.suppress(ConnectionClosed):
                        await ws.close()
                    raise
        except TimeoutError:
            raise SignalingError(f"no {expect} from {uri} within {timeout} s") from None
        except (OSError, InvalidHandshake, InvalidURI, ConnectionClosed) as exc:
            raise SignalingError(f"cannot open {uri}: {exc}") from exc
        logger.info("%s room %s as %s", expect, joined.get("room_id"), joined.get("peer_id"))
        return cls(ws, joined, ping_interval=ping_interval, early=early)

    @staticmethod
    async def _await_session(ws: ClientConnection, expect: str) -> tuple[Frame, list[Frame]]:
        """Read until ``expect`` (``joined``/``resumed``); an ``error`` frame or a close
        becomes an exception. Numbered frames that came first are kept, not lost."""
        early: list[Frame] = []
        while True:
            try:
                raw = await ws.recv()
            except ConnectionClosed as exc:
                code = exc.rcvd.code if exc.rcvd else None
                reason = exc.rcvd.reason if exc.rcvd else ""
                raise SignalingError(f"closed before {expect} ({code} {reason})", close_code=code) from None
            frame = _decode(raw)
            kind = frame.get("type") if frame else None
            if frame is None:
                continue
            if kind == expect:
                return frame, early
            if kind == "error":
                code = None
                if frame.get("fatal"):
                    with contextlib.suppress(TimeoutError):  # wait for the 4000+n close code
                        await asyncio.wait_for(ws.wait_closed(), 2.0)
                    code = ws.close_code
                raise JoinRejected(str(frame.get("code")), str(frame.get("message", "")), close_code=code)
            if "seq" in frame and len(early) < _INBOX_LIMIT:
                early.append(frame)  # e.g. a peer-left broadcast between our admission and `joined`
            else:
                logger.warning("ignoring %r frame before %s", kind, expect)

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
        seq = frame.get("seq")
        if isinstance(seq, int) and seq > self._highest_seq:
            self._highest_seq = seq  # handed to the consumer: acknowledged with the next ping
        return frame

    def abort(self) -> None:
        """Drop the connection at once, without a closing handshake, as a network failure
        would (the server keeps the session for its grace period; tests use this)."""
        self._ws.transport.abort()

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
                self._last_frame_at = time.monotonic()
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
            silent = time.monotonic() - self._last_frame_at
            if silent > SERVER_SILENCE and self._inbox.qsize() < _INBOX_LIMIT:  # not just us reading slowly
                logger.warning("server silent for %.0f s: dropping the signaling socket", silent)
                self.abort()
                return
            try:
                ping: Frame = {"type": "ping", "ts": time.time() * 1000}
                if self._highest_seq:
                    ping["ack"] = self._highest_seq  # the server may drop those from our replay ring
                await asyncio.wait_for(self.send(ping), self._ping_interval)
            except TimeoutError:
                continue  # the network is stuck; the silence check decides
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
