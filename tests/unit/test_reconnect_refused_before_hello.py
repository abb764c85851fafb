"""A node that refuses a socket at once (``draining``) must give the Python peer a retryable
error, not a stray ``ConnectionClosed`` that ends the call.

Seen in CI: a peer told to move resumed through a balancer that had not yet noticed the
draining node; the refusal (error frame + close 4015) arrived before the peer sent its
``resume``, ``send`` raised ``ConnectionClosed``, and the peer's session ended. The server
here writes the handshake answer, the error frame and the close frame in one TCP write, so
the client sees the close before it can send: the race, made deterministic.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import struct

import pytest

from peercall.peer.reconnect import BackoffPolicy, Dialer, ResilientSignaling, SessionChange
from peercall.peer.signaling_client import JoinRejected, SignalingClient

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def _frame(opcode: int, payload: bytes) -> bytes:
    assert len(payload) < 126
    return bytes([0x80 | opcode, len(payload)]) + payload


async def _refusing_server(refusals: list[int]) -> asyncio.Server:
    """Answers every WebSocket handshake with 101 + ``draining`` error + close 4015, at once."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.readuntil(b"\r\n\r\n")
        key = next(
            line.split(b":", 1)[1].strip()
            for line in request.split(b"\r\n")
            if line.lower().startswith(b"sec-websocket-key:")
        )
        accept = base64.b64encode(hashlib.sha1(key + _GUID).digest())
        error = json.dumps({"type": "error", "code": "draining", "message": "moving", "fatal": True}).encode()
        writer.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n" + _frame(0x1, error) + _frame(0x8, struct.pack("!H", 4015))
        )
        await writer.drain()
        refusals.append(1)
        await asyncio.sleep(0.2)
        writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


async def test_reconnect_refusal_before_hello_is_a_retryable_join_rejection() -> None:
    refusals: list[int] = []
    server = await _refusing_server(refusals)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        with pytest.raises(JoinRejected) as rejected:
            await SignalingClient.resume(url, "rt", 3, timeout=5)
        assert rejected.value.code == "draining"
    finally:
        server.close()
    assert refusals == [1]


class _Closed:
    """A client whose socket is already gone (the session was dropped)."""

    def __init__(self) -> None:
        self.joined = {"peer_id": "p_x", "resume_token": "rt"}
        self.close_code = 1000
        self.close_reason = ""

    def __aiter__(self) -> _Closed:
        return self

    async def __anext__(self) -> dict[str, object]:
        raise StopAsyncIteration

    async def close(self) -> None:
        return None


async def test_reconnect_keeps_trying_while_every_node_refuses() -> None:
    """The session goes on retrying through refusals (it does not end, and raises nothing)."""
    refusals: list[int] = []
    server = await _refusing_server(refusals)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    link = ResilientSignaling(_Closed(), Dialer(url, "token"), BackoffPolicy(delays=(0.0, 0.05), jitter=0.0))  # type: ignore[arg-type]
    try:
        lost = await anext(link)
        assert isinstance(lost, SessionChange) and lost.kind == "lost"
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(1.0):
                await anext(link)
        assert len(refusals) >= 3 and link.state == "reconnecting"
    finally:
        await link.close()
        server.close()
