"""A Python peer (aiortc) answers a host's snapshot request with a frame of its own video."""

from __future__ import annotations

import asyncio
import io
import json

import numpy as np
import websockets
from PIL import Image

from peercall.peer import Peer
from peercall.testing import ServerProcess


async def next_of(ws, *kinds: str) -> dict:
    while True:
        frame = json.loads(await ws.recv())
        if frame["type"] in kinds:
            return frame


async def test_snapshot_python_peer_answers_requests_and_reports_failures(server: ServerProcess):
    room = server.create_room()
    host = await websockets.connect(server.ws_url)
    await host.send(json.dumps({"type": "join", "v": 1, "token": server.token(room, "agent", "host")["token"]}))
    assert json.loads(await host.recv())["type"] == "joined"
    bot = await Peer.join(server.base_url, server.token(room, "kiosk")["token"], audio=False)
    silent = None
    try:
        async with asyncio.timeout(30):
            await host.send(json.dumps({"type": "snapshot-request", "to": bot.peer_id, "request_id": "req-python-1"}))
            taken = await next_of(host, "snapshot-taken")
            assert taken["request_id"] == "req-python-1" and taken["subject"] == bot.peer_id
            assert (taken["width"], taken["height"], taken["method"]) == (640, 480, "grabFrame")
            with server.api() as api:
                data = api.get(f"/api/snapshots/{taken['snapshot_id']}/image").content
            pixels = np.asarray(Image.open(io.BytesIO(data)).convert("L"), dtype=np.float64)
            assert pixels.shape == (480, 640) and pixels.var() > 20

            # A peer without video cannot answer: the host hears why at once.
            await bot.leave()
            silent = await Peer.join(server.base_url, server.token(room, "kiosk")["token"], video=False)
            await host.send(
                json.dumps({"type": "snapshot-request", "to": silent.peer_id, "request_id": "req-python-2"})
            )
            failed = await next_of(host, "snapshot-failed", "snapshot-taken")
            assert failed["type"] == "snapshot-failed" and "no video" in failed["reason"]
    finally:
        await bot.leave()
        if silent is not None:
            await silent.leave()
        await host.close()
    with server.api() as api:
        trail = api.get(f"/api/rooms/{room}/audit").json()
    assert trail["intact"]
    assert [e["action"] for e in trail["entries"]] == ["requested", "captured", "requested", "failed"]
