"""A joined client that stops reading is disconnected (``slow_consumer``) instead of the
server buffering its frames without bound. Its peer sees it as reconnecting (it may resume)."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from pathlib import Path

import websockets
from websockets.client import ClientProtocol
from websockets.frames import Close, Frame, Opcode
from websockets.uri import parse_uri

from peercall.testing import start_server, stop_server


def stalled_client(url: str, token: str) -> tuple[tuple[socket.socket, ClientProtocol], str]:
    host, port = url.split("//")[1].split("/")[0].split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(5)
    sock.connect((host, int(port)))
    proto = ClientProtocol(parse_uri(url), max_size=2**22)
    proto.send_request(proto.connect())
    sock.sendall(b"".join(proto.data_to_send()))
    while proto.handshake_exc is None and not proto.events_received():
        proto.receive_data(sock.recv(65536))
    proto.send_text(json.dumps({"type": "join", "v": 1, "token": token}).encode())
    sock.sendall(b"".join(proto.data_to_send()))
    while True:
        proto.receive_data(sock.recv(65536))
        for event in proto.events_received():
            if isinstance(event, Frame) and event.opcode is Opcode.TEXT:
                return (sock, proto), json.loads(event.data)["peer_id"]


def drain_until_closed(client: tuple[socket.socket, ClientProtocol]) -> int | None:
    """Read everything the server had buffered for the stalled client, up to its close frame."""
    sock, proto = client
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            data = sock.recv(1 << 20)
        except TimeoutError:
            return None
        proto.receive_data(data)
        for event in proto.events_received():
            if isinstance(event, Frame) and event.opcode is Opcode.CLOSE:
                return Close.parse(event.data).code
        if not data:
            return proto.close_rcvd.code if proto.close_rcvd else None
    return None


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


async def test_security_stalled_reader_is_cut_off_and_memory_stays_bounded(tmp_path: Path):
    server = start_server(tmp_path, extra_env={"PEERCALL_SEND_QUEUE_MAX": "64"})
    try:
        room = server.create_room()
        alice = await websockets.connect(server.ws_url, max_size=2**22)
        await alice.send(json.dumps({"type": "join", "v": 1, "token": server.token(room, "alice")["token"]}))
        await asyncio.wait_for(alice.recv(), 5)
        # Bob speaks WebSocket over a raw socket with a tiny receive buffer, joins, then never
        # reads again: TCP backs up to the server. (A client library would keep reading into memory.)
        bob, bob_id = stalled_client(server.ws_url, server.token(room, "bob")["token"])
        await asyncio.wait_for(alice.recv(), 5)  # peer-joined
        rss_before = rss_mib(server.process.pid)
        sdp = "v=0 " + "a" * 55_000
        sent, cut_off, deadline = 0, None, time.monotonic() + 20
        while time.monotonic() < deadline and sent < 1500:
            await alice.send(json.dumps({"type": "offer", "to": bob_id, "sdp": sdp}))
            sent += 1
            await asyncio.sleep(0.022)  # under alice's rate limit (50/s): only bob is at fault
            if sent % 20 == 0:
                try:
                    while True:  # alice reads what the server tells her
                        frame = json.loads(await asyncio.wait_for(alice.recv(), 0.01))
                        if frame.get("type") == "peer-reconnecting":
                            cut_off = sent
                except TimeoutError:
                    pass
                if cut_off:
                    break
        grown = rss_mib(server.process.pid) - rss_before
        close_code = await asyncio.to_thread(drain_until_closed, bob)
        print(f"\nsecurity slow reader: cut off after {cut_off} × 55 KB frames; server RSS +{grown:.1f} MiB")
        assert cut_off is not None, f"bob was never disconnected after {sent} frames (+{grown:.1f} MiB)"
        # The close frame cannot get through a pipe the client does not empty: after 5 s the
        # server drops the socket (bob reads what was in flight, then sees 1011 or EOF).
        assert close_code in (4013, 1011, None), close_code
        assert "slow consumer" in server.log()
        # Bounded: the send queue (64 frames here) plus the hub's replay buffer for a resume
        # (512 frames per member) — about 30 MiB at 55 KB a frame.
        assert grown < 60, grown
        await alice.close()
    finally:
        stop_server(server)
