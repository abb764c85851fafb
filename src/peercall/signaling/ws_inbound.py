"""The inbound half of ``/ws``'s wire: a client's byte stream cut into messages.

Whole, final data frames are unmasked here (the common case: ws_frames.py says why);
everything else (the handshake, control frames, fragments, anything malformed) goes to the
``websockets`` Sans-I/O ``ServerProtocol`` whole, which stays the authority on protocol
errors and the close. A mixin of :class:`~peercall.signaling.ws_protocol.SignalingProtocol`
(no object of its own per socket), which provides the hooks below.
"""

from __future__ import annotations

import asyncio
from typing import cast

from websockets.frames import Frame as WireFrame
from websockets.frames import Opcode
from websockets.http11 import Request
from websockets.server import ServerProtocol

from peercall.signaling.connection import NORMAL_CLOSE
from peercall.signaling.ws_frames import INCOMPLETE, REFUSED, apply_mask, frame_bounds, is_final_data


class InboundFrames:
    """Frame cutting, unmasking and reassembly for a protocol that provides the hooks."""

    __slots__ = ("_parts", "_raw", "_rx")

    # The protocol's state this side reads (slots of the protocol class).
    _conn: ServerProtocol | None
    _max_size: int | None  # a client message's limit (the library's ``max_size``)
    _transport: asyncio.Transport | None
    _close_code: int | None

    def __init__(self) -> None:
        self._parts: list[bytes] | None = None  # a fragmented message being received
        self._rx: bytearray | None = None  # the start of a client frame whose end is still to come
        self._raw = False  # every byte goes to the library from now on (see ws_frames.py)

    # -- hooks ---------------------------------------------------------------------------

    def _message(self, is_text: bool, data: bytes | bytearray | memoryview) -> None:
        """A whole message from the client."""
        raise NotImplementedError

    def _handshake(self, conn: ServerProtocol, request: Request) -> None:
        """The upgrade request, parsed."""
        raise NotImplementedError

    def _end(self, code: int) -> None:
        """Stop sending (the library or the client closed)."""
        raise NotImplementedError

    def _wire(self) -> ServerProtocol:
        """The library's protocol for the open socket's frames."""
        raise NotImplementedError

    # -- the stream ----------------------------------------------------------------------

    def _split(self, data: bytes) -> None:
        """Cut the stream at frame boundaries: whole final data frames are unmasked here,
        any other frame goes to the library whole (ws_frames.py says why)."""
        buffered = self._rx
        if buffered is not None:
            self._rx = None
            buffered += data  # a bytearray: a frame arriving in many small pieces is not copied over and over
            data = cast(bytes, buffered)
        pos, size, max_size = 0, len(data), self._max_size
        while pos < size:
            start, end = frame_bounds(data, pos, max_size)
            if end == INCOMPLETE:
                self._rx = bytearray(data[pos:])
                return
            if end == REFUSED:  # the library fails the connection with the right code
                self._raw = True
                self._library(self._wire(), data[pos:])
                return
            head = data[pos]
            if is_final_data(head) and self._parts is None and self._close_code is None:
                self._message(head == 0x81, apply_mask(data[start:end], data[start - 4 : start]))
            else:
                self._library(self._wire(), bytes(data[pos:end]))
            pos = end

    def _library(self, conn: ServerProtocol, data: bytes | bytearray) -> None:
        """Let ``websockets`` parse ``data``: the handshake, control frames, fragments."""
        conn.receive_data(bytes(data))
        for event in conn.events_received():
            if type(event) is WireFrame:
                self._frame(event)
            elif isinstance(event, Request):
                self._handshake(conn, event)
        current = self._conn  # None after the handshake (then flushed already)
        if current is None:
            return
        self._flush(current)
        if current.parser_exc is not None or current.close_rcvd is not None:  # closed by the library or the client
            self._end(NORMAL_CLOSE)

    def _frame(self, frame: WireFrame) -> None:
        """One frame from the client (control frames are the library's)."""
        opcode = frame.opcode
        data: bytes | bytearray | memoryview
        if opcode is not Opcode.TEXT and opcode is not Opcode.BINARY and opcode is not Opcode.CONT:
            return
        if opcode is Opcode.CONT or not frame.fin:  # a fragmented message: rare, kept simple
            if opcode is not Opcode.CONT:
                self._parts = [b"t" if opcode is Opcode.TEXT else b"b"]
            parts = self._parts
            if parts is None:
                return
            parts.append(bytes(frame.data))
            if not frame.fin:
                return
            self._parts = None
            is_text, data = parts[0] == b"t", b"".join(parts[1:])
        else:  # one frame, one message (the common case is _split's, without a Frame)
            is_text, data = opcode is Opcode.TEXT, frame.data
        self._message(is_text, data)

    def _flush(self, conn: ServerProtocol) -> None:
        """Write what the library has for the wire; its end-of-stream marker closes the TCP."""
        out = conn.data_to_send()
        if not out or self._transport is None:
            return
        eof = out[-1] == b""
        self._transport.write(out[0] if len(out) == 1 else b"".join(out))
        if eof:
            self._transport.close()

    def _fail(self, code: int, reason: str) -> None:
        """A protocol violation: close frame and end of stream at once."""
        conn = self._wire()
        conn.fail(code, reason)
        self._flush(conn)
        self._end(code)
