"""Stalled clients at the connection cap: new legitimate clients get a clear refusal,
get in once the stalled sockets are reaped, and the server's memory stays bounded."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

import websockets
from websockets.exceptions import ConnectionClosed

from peercall.testing import ServerProcess, start_server, stop_server

CAP, PER_IP = 60, 20


def rss_kib(server: ServerProcess) -> int:
    for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


async def first_event(ws: websockets.ClientConnection, timeout: float) -> tuple[str | None, int | None]:
    """(error code, close code) of what the server does next, or (None, None) if nothing."""
    code = None
    try:
        frame = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        code = frame.get("code")
        await asyncio.wait_for(ws.recv(), 5)
    except TimeoutError:
        return code, None
    except ConnectionClosed as closed:
        return code, closed.rcvd.code if closed.rcvd else None
    return code, None


def half_open_http(host: str, port: int, source: str) -> socket.socket:
    """Classic slow loris: an HTTP upgrade request whose headers never end."""
    sock = socket.create_connection((host, port), timeout=5, source_address=(source, 0))
    sock.sendall(b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nX-Slow: ")
    return sock


async def test_security_stalled_clients_at_the_cap(tmp_path: Path):
    env = {
        "PEERCALL_MAX_CONNECTIONS": str(CAP),
        "PEERCALL_MAX_CONNECTIONS_PER_IP": str(PER_IP),
        "PEERCALL_JOIN_TIMEOUT_S": "3",
    }
    server = start_server(tmp_path, extra_env=env)
    raw: list[socket.socket] = []
    stalled: list[websockets.ClientConnection] = []
    try:
        port = int(server.base_url.rsplit(":", 1)[1])
        room = server.create_room()
        tokens = [server.token(room, name)["token"] for name in ("ann", "ben")]
        rss_before = rss_kib(server)
        raw = [half_open_http("127.0.0.1", port, "127.0.0.9") for _ in range(100)]
        # WebSockets that never send a frame, from three addresses; one address asks for 5 too many.
        for source, count in (("127.0.0.2", PER_IP + 5), ("127.0.0.3", PER_IP), ("127.0.0.4", PER_IP)):
            for _ in range(count):
                stalled.append(await websockets.connect(server.ws_url, local_addr=(source, 0), open_timeout=5))
        over_ip = [await first_event(ws, 1.0) for ws in stalled[PER_IP : PER_IP + 5]]
        assert over_ip == [("too_many_connections", 4029)] * 5, over_ip

        # At the node cap a legitimate client is refused clearly, not left hanging.
        legit = await websockets.connect(server.ws_url)
        assert await first_event(legit, 2.0) == ("server_busy", 4503)

        # The stalled sockets are reaped by the join timeout (3 s), then the client gets in.
        reaped = await asyncio.gather(*(first_event(ws, 6.0) for ws in stalled[:PER_IP]))
        assert set(reaped) == {("join_timeout", 4008)}, set(reaped)
        await asyncio.gather(*(first_event(ws, 6.0) for ws in stalled[PER_IP + 5 :]))
        ann = await websockets.connect(server.ws_url)
        await ann.send(json.dumps({"type": "join", "v": 1, "token": tokens[0]}))
        joined = json.loads(await asyncio.wait_for(ann.recv(), 5))
        ben = await websockets.connect(server.ws_url)
        await ben.send(json.dumps({"type": "join", "v": 1, "token": tokens[1]}))
        assert json.loads(await asyncio.wait_for(ben.recv(), 5))["type"] == "joined"
        await ben.send(json.dumps({"type": "offer", "to": joined["peer_id"], "sdp": "v=0 after the siege"}))
        frames = [json.loads(await asyncio.wait_for(ann.recv(), 5)) for _ in range(2)]
        assert frames[1]["sdp"] == "v=0 after the siege"

        grown_mib = (rss_kib(server) - rss_before) / 1024
        print(
            f"\nsecurity slow-loris: {len(stalled)} stalled WebSockets + {len(raw)} half-open HTTP requests; "
            f"5 refused per-IP, legit refused at cap then admitted after reaping; RSS +{grown_mib:.1f} MiB"
        )
        assert grown_mib < 40, grown_mib
        await ann.close()
        await ben.close()
    finally:
        for sock in raw:
            sock.close()
        for ws in stalled:
            await ws.close()
        stop_server(server)
