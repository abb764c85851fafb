"""Client frames on `/ws` are cut at their boundaries by us (ws_frames.py) and only the
unusual ones reach the `websockets` parser: the stream must mean exactly what it means to
the library however the bytes arrive (split anywhere, several frames per read, control
frames and fragments in between), and every malformed frame still gets the library's
close code."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path

import pytest
from websockets.frames import Frame, Opcode

from peercall.signaling.ws_frames import INCOMPLETE, REFUSED, frame_bounds
from peercall.signaling.ws_protocol import SignalingProtocol
from tests.unit.test_scale_ws_protocol import closed_with, join, joined_pair, recv, serving


def masked(opcode: Opcode, payload: bytes, fin: bool = True) -> bytes:
    return Frame(opcode, payload, fin=fin).serialize(mask=True)


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65_535, 65_536, 70_000])
def test_scale_ws_frames_bounds_match_the_library_framing(size: int) -> None:
    payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
    wire = b"junk" + masked(Opcode.TEXT, payload) + b"\x81"
    start, end = frame_bounds(wire, 4, None)
    assert end == len(wire) - 1 and end - start == size
    mask = wire[start - 4 : start]
    assert bytes(b ^ mask[n % 4] for n, b in enumerate(wire[start:end])) == payload
    for cut in range(4, end, max(1, (end - 4) // 40)):  # any prefix: wait for more
        assert frame_bounds(wire[:cut], 4, None)[1] == INCOMPLETE
    assert frame_bounds(wire, end, None)[1] == INCOMPLETE  # a lone first byte
    assert frame_bounds(wire, 4, size - 1 if size else None)[1] == (REFUSED if size else end)


def test_scale_ws_frames_refuses_what_only_the_library_may_judge() -> None:
    unmasked = Frame(Opcode.TEXT, b"hi").serialize(mask=False)
    assert frame_bounds(unmasked, 0, None)[1] == REFUSED
    rsv1 = bytearray(masked(Opcode.TEXT, b"hi"))
    rsv1[0] |= 0x40
    assert frame_bounds(rsv1, 0, None)[1] == REFUSED
    huge = b"\x81\xff" + (1 << 63).to_bytes(8, "big") + b"mask"  # a 64-bit length with its top bit set
    assert frame_bounds(huge, 0, None)[1] == REFUSED
    # A declared size over the limit is refused at once, before its payload arrives.
    assert frame_bounds(masked(Opcode.TEXT, b"x" * 300)[:6], 0, 200)[1] == REFUSED


async def test_scale_ws_frames_any_cut_of_the_stream_relays_the_same(tmp_path: Path) -> None:
    async with serving(tmp_path, rate_limit_burst=500) as node:
        a, _, b, joined_b = await joined_pair(node)
        to_b = joined_b["peer_id"]
        transport = a.transport

        def offer(n: int, pad: int = 0) -> bytes:
            return json.dumps({"type": "offer", "to": to_b, "sdp": f"v=0 {n}" + " " * pad}).encode()

        sent = 0
        # Several frames in one write, with a protocol ping between them.
        transport.write(masked(Opcode.TEXT, offer(0)) + masked(Opcode.PING, b"p") + masked(Opcode.TEXT, offer(1)))
        sent += 2
        # One frame byte by byte; a 16-bit length frame in three pieces.
        for byte in masked(Opcode.TEXT, offer(2)):
            transport.write(bytes((byte,)))
            await asyncio.sleep(0)
        big = masked(Opcode.TEXT, offer(3, pad=1000))
        for piece in (big[:1], big[1:3], big[3:]):
            transport.write(piece)
            await asyncio.sleep(0.01)
        sent += 2
        # A fragmented message (the library's path), then a plain frame again.
        first, rest = offer(4)[:10], offer(4)[10:]
        fragmented = masked(Opcode.TEXT, first, fin=False) + masked(Opcode.CONT, rest)
        transport.write(fragmented + masked(Opcode.TEXT, offer(5)))
        sent += 2
        got = [(await recv(b))["sdp"].rstrip() for _ in range(sent)]
        assert got == [f"v=0 {n}" for n in range(sent)]
        await a.send(json.dumps({"type": "ping", "ts": 1}))  # the socket is still in step
        assert await recv(a) == {"type": "pong", "ts": 1}
        await a.close()
        await b.close()


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (masked(Opcode.TEXT, b"\xff\xfe"), 1007),  # not UTF-8
        (Frame(Opcode.TEXT, b"{}").serialize(mask=False), 1002),  # clients must mask
        (masked(Opcode.TEXT, b"x" * 10_000)[:20], 1009),  # declared over the limit: refused before it arrives
        (masked(Opcode.CONT, b"{}"), 1002),  # a continuation of nothing
        (masked(Opcode.TEXT, b"{", fin=False) + masked(Opcode.TEXT, b"{}"), 1002),  # a message inside a message
    ],
    ids=["utf8", "unmasked", "too_big", "stray_continuation", "interleaved"],
)
async def test_scale_ws_frames_malformed_frames_get_the_library_close_code(
    tmp_path: Path, frame: bytes, code: int
) -> None:
    async with serving(tmp_path, max_message_bytes=1024) as node:  # the wire limit is 4x
        (token,) = await node.tokens("a")
        a, joined = await join(node, token)
        assert joined["type"] == "joined"
        a.transport.write(frame)
        await closed_with(a, code)


async def test_scale_ws_frames_sent_before_the_clients_close_are_all_relayed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client that writes frames and then closes (an SDK moving off a draining node) meant
    every one of them: frames still queued behind a slow relay (a Redis round trip) when its
    close frame arrives are relayed, not dropped with the socket."""
    async with serving(tmp_path, rate_limit_burst=500) as node:
        a, _, b, joined_b = await joined_pair(node)
        hub = node.app.state.services.hub
        real_send = hub.send

        async def slow_send(*args: object, **kwargs: object) -> bool:
            await asyncio.sleep(0.02)  # like a Redis hub under load
            return bool(await real_send(*args, **kwargs))

        monkeypatch.setattr(hub, "send", slow_send)
        monkeypatch.setattr(hub, "send_now", lambda *args: None)  # as a Redis hub: every relay waits
        frames = [
            masked(Opcode.TEXT, json.dumps({"type": "offer", "to": joined_b["peer_id"], "sdp": f"v=0 {n}"}).encode())
            for n in range(5)
        ]
        a.transport.write(b"".join(frames) + masked(Opcode.CLOSE, (1000).to_bytes(2, "big")))
        got = []
        with contextlib.suppress(TimeoutError):
            for _ in range(5):
                got.append((await recv(b)).get("sdp"))
        assert got == [f"v=0 {n}" for n in range(5)]
        frame = await recv(b)  # then A is away (suspended: it may resume), not gone first
        assert frame["type"] == "peer-reconnecting", frame
        await b.close()


async def test_scale_ws_frames_the_library_is_made_only_when_needed(tmp_path: Path) -> None:
    """A socket that carries only whole data frames holds no ``websockets`` protocol (~1.5 KiB
    each); a ping gets its pong and the close its handshake from one made on the spot."""
    async with serving(tmp_path) as node:
        a, _, b, joined_b = await joined_pair(node)
        for n in range(3):
            await a.send(json.dumps({"type": "offer", "to": joined_b["peer_id"], "sdp": f"v=0 {n}"}))
            assert (await recv(b))["sdp"] == f"v=0 {n}"
        protocols = [c for c in node.server.server_state.connections if isinstance(c, SignalingProtocol)]
        assert len(protocols) == 2 and all(p._conn is None for p in protocols)
        pong = await a.ping(b"are you there")
        await asyncio.wait_for(pong, 5)
        assert sum(p._conn is not None for p in protocols) == 1
        await b.close()
        assert b.close_code == 1000
        assert all(p._conn is not None for p in protocols)
        await a.close()
