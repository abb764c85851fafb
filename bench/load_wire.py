"""The load generators' socket: the ``websockets`` Sans-I/O client over a bare asyncio
transport (bench/load_clients.py)."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from websockets.client import ClientProtocol
from websockets.frames import Opcode
from websockets.http11 import Response
from websockets.protocol import OPEN
from websockets.uri import parse_uri


class Wire(asyncio.Protocol):
    """One load-generator socket: the ``websockets`` Sans-I/O client over a bare asyncio
    transport. Why not ``websockets.connect``: its asyncio connection (a reader task, a
    frame queue, futures per ``recv``) cost the generators ~1 core at 10,000 frames/s
    each way, CPU the server under test then lacked on this 2-core machine; both servers
    (ours and PeerJS) were measured short of CPU rather than by their own cost."""

    def __init__(self, url: str) -> None:
        self._conn = ClientProtocol(parse_uri(url), max_size=2**20)
        self._transport: asyncio.Transport | None = None
        self._inbox: asyncio.Queue[str | None] | None = asyncio.Queue()  # until `on_text` is set
        self._opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.on_text: Any = None  # called with each text message once set
        self.close_code: int | None = None  # the server's close code (None: still open)

    @classmethod
    async def open(cls, url: str, timeout: float = 30) -> Wire:
        uri = parse_uri(url)
        loop = asyncio.get_running_loop()
        _, wire = await asyncio.wait_for(loop.create_connection(lambda: cls(url), uri.host, uri.port), timeout)
        await asyncio.wait_for(wire._opened, timeout)
        return wire

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)
        self._conn.send_request(self._conn.connect())
        self._flush()

    def data_received(self, data: bytes) -> None:
        conn = self._conn
        conn.receive_data(data)
        for event in conn.events_received():
            if isinstance(event, Response):
                if conn.handshake_exc is not None:
                    self._opened.set_exception(conn.handshake_exc)
                else:
                    self._opened.set_result(None)
            elif event.opcode is Opcode.TEXT:
                text = event.data.decode()
                if self.on_text is not None:
                    self.on_text(text)
                elif self._inbox is not None:
                    self._inbox.put_nowait(text)
        self._flush()
        if conn.close_rcvd is not None and self.close_code is None:
            self.close_code = conn.close_rcvd.code

    def connection_lost(self, exc: Exception | None) -> None:
        if self.close_code is None:
            self.close_code = 1006
        self._transport = None
        if not self._opened.done():
            self._opened.set_exception(ConnectionError("closed during the handshake"))
        if self._inbox is not None:
            self._inbox.put_nowait(None)

    async def recv(self, timeout: float = 30) -> str:
        """The next message (only before ``on_text`` is set)."""
        assert self._inbox is not None
        text = await asyncio.wait_for(self._inbox.get(), timeout)
        if text is None:
            raise ConnectionError(f"closed ({self.close_code})")
        return text

    def send(self, text: str | bytes) -> bool:
        """Write a text message (``bytes``: UTF-8 already) now; False if the socket is gone."""
        if self._transport is None or self.close_code is not None:
            return False
        self._conn.send_text(text if isinstance(text, bytes) else text.encode())
        self._flush()
        return True

    def close(self) -> None:
        if self._transport is not None and self._conn.state is OPEN:
            self._conn.send_close(1000)
            self._flush()
            self._transport.close()

    def _flush(self) -> None:
        out = self._conn.data_to_send()
        if out and self._transport is not None:
            self._transport.write(b"".join(out))
