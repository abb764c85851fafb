"""The two shortcuts `/ws` takes past the ``websockets`` library: data frames, both ways.

Why: a signaling socket's traffic is nearly all single, small, complete text frames, and
the library handles each one with a chain of generators (header, length, mask, payload
reads), a ``Frame`` object and an event list; that chain was ~20 % of a relayed frame's
CPU in the node. RFC 6455's framing of a final data frame is a few bytes of header, so:

* :func:`text_frame` writes a server's (unmasked, final) text frame;
* :func:`frame_bounds` finds where the next client frame's payload starts and ends in a
  byte stream, so the connection can unmask a complete, final data frame itself and hand
  everything else (control frames, fragments, anything malformed or oversized) to the
  library *whole*, which then never sees a frame cut in two and stays the authority on
  every protocol error and on the close handshake.
"""

from __future__ import annotations

from typing import Final

from websockets.frames import apply_mask  # the library's C unmasking (pure Python fallback)

INCOMPLETE: Final = -1  # the frame's end is not in the buffer yet
REFUSED: Final = -2  # not a client frame we may buffer: unmasked, reserved bits, too big

_FIN_TEXT: Final = 0x81
_FIN_BINARY: Final = 0x82

__all__ = ["INCOMPLETE", "REFUSED", "apply_mask", "frame_bounds", "is_final_data", "text_frame"]


def text_frame(payload: bytes) -> bytes:
    """A final, unmasked text frame (server to client), header by RFC 6455 section 5.2.

    Written here, not with ``ServerProtocol.send_text``: the library's serializer (frame
    object, extension pass, checks, a BytesIO) was ~10 % of the CPU of a relayed frame, and
    a server's data frame is just this. Control frames and the close stay the library's;
    its output is always flushed at once, so the order on the wire is kept.
    """
    size = len(payload)
    if size < 126:
        return bytes((0x81, size)) + payload
    if size < 1 << 16:
        return b"\x81\x7e" + size.to_bytes(2, "big") + payload
    return b"\x81\x7f" + size.to_bytes(8, "big") + payload


def frame_bounds(data: bytes | bytearray, pos: int, max_size: int | None) -> tuple[int, int]:
    """``(payload_start, end)`` of the client frame starting at ``data[pos]``.

    ``end`` is :data:`INCOMPLETE` when more bytes are needed, :data:`REFUSED` when the
    frame must go to the library now (it fails the connection with the right close code:
    1002 for a missing mask or reserved bits, 1009 for a size over ``max_size``). The mask
    is the 4 bytes before ``payload_start``.
    """
    available = len(data) - pos
    if available < 2:
        return 0, INCOMPLETE
    head, size = data[pos], data[pos + 1]
    if not size & 0x80 or head & 0x70:  # unmasked, or RSV bits (no extension is negotiated)
        return 0, REFUSED
    size &= 0x7F
    start = pos + 2
    if size == 126:
        if available < 4:
            return 0, INCOMPLETE
        size = int.from_bytes(data[start : start + 2], "big")
        start += 2
    elif size == 127:
        if available < 10:
            return 0, INCOMPLETE
        size = int.from_bytes(data[start : start + 8], "big")
        start += 8
    if (max_size is not None and size > max_size) or size >> 63:  # RFC 6455: the top bit is 0
        return 0, REFUSED
    start += 4  # the mask
    end = start + size
    return start, (end if end <= len(data) else INCOMPLETE)


def is_final_data(head: int) -> bool:
    """A whole text or binary message in one frame (FIN set, no reserved bits)."""
    return head in (_FIN_TEXT, _FIN_BINARY)
