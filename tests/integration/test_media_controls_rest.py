"""Dashboard moderation over REST against a real server."""

from __future__ import annotations

import asyncio
import json

import httpx
import websockets

from peercall.testing import ServerProcess


async def test_media_controls_rest_moderation(shared_server: ServerProcess):
    room = shared_server.create_room()
    ws = await websockets.connect(shared_server.ws_url)
    await ws.send(json.dumps({"type": "join", "v": 1, "token": shared_server.token(room, "student")["token"]}))
    assert json.loads(await ws.recv())["type"] == "joined"
    path = f"/api/rooms/{room}/participants/student"
    assert httpx.post(f"{shared_server.base_url}{path}/mute_audio").status_code == 401
    with shared_server.api() as api:
        assert api.post(f"/api/rooms/{room}/participants/nobody/mute_audio").json()["error"]["code"] == (
            "participant_not_found"
        )
        assert api.post("/api/rooms/room_missing/participants/student/mute_audio").status_code == 404
        assert api.post(f"{path}/launch").status_code == 422
        assert api.post(f"{path}/unmute_audio").status_code == 403  # allow_host_unmute is off
        done = api.post(f"{path}/mute_audio")
        assert done.status_code == 200 and done.json()["participant"]["identity"] == "student"
        command = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert command["type"] == "moderation" and command["action"] == "mute_audio"
        assert command["by"]["identity"] == "dashboard"
        assert api.post(f"{path}/remove").status_code == 200
        removed = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert removed["code"] == "removed" and removed["fatal"]
        assert api.get(f"/api/rooms/{room}").json()["participants"] == []
