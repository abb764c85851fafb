"""Chat archive (room setting ``chat_archive``) and collaboration settings, against a real server."""

from __future__ import annotations

import asyncio
import json
import time

import websockets

from peercall.peer import Peer
from peercall.testing import ServerProcess


async def join_ws(server: ServerProcess, token: str):
    ws = await websockets.connect(server.ws_url)
    await ws.send(json.dumps({"type": "join", "v": 1, "token": token}))
    return ws, json.loads(await asyncio.wait_for(ws.recv(), 5))


async def next_error(ws) -> dict:
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
        if frame["type"] == "error":
            return dict(frame)


def test_collab_settings_validated_and_announced(shared_server: ServerProcess):
    with shared_server.api() as api:
        for bad in ({"chat_archive": "yes"}, {"max_file_bytes": -1}, {"max_file_bytes": "big"}):
            response = api.post("/api/rooms", json={"settings": bad})
            assert response.status_code == 422, (bad, response.text)
        room = api.post("/api/rooms", json={"settings": {"max_file_bytes": 1_000_000}}).json()
    token = shared_server.token(room["id"], "alice")["token"]

    async def scenario() -> dict:
        ws, joined = await join_ws(shared_server, token)
        await ws.close()
        return joined

    joined = asyncio.run(scenario())
    assert joined["collab"] == {"chat_archive": False, "max_file_bytes": 1_000_000}


def test_collab_chat_archive_off_by_default_refuses_copies(shared_server: ServerProcess):
    room = shared_server.create_room()
    token = shared_server.token(room, "alice")["token"]

    async def scenario() -> dict:
        ws, _ = await join_ws(shared_server, token)
        await ws.send(json.dumps({"type": "chat-archive", "id": "m1", "ts": 1, "text": "secret"}))
        error = await next_error(ws)
        await ws.close()
        return error

    error = asyncio.run(scenario())
    assert error["code"] == "forbidden" and error["fatal"] is False and error["ref"] == "chat-archive"
    with shared_server.api() as api:
        transcript = api.get(f"/api/rooms/{room}/chat").json()
    assert transcript == {"room_id": room, "chat_archive": False, "messages": []}


def test_collab_chat_archive_stores_each_message_once_and_rejects_bad_frames(shared_server: ServerProcess):
    room = shared_server.create_room(settings={"chat_archive": True})
    alice = shared_server.token(room, "alice", name="Alice")["token"]
    bot = shared_server.token(room, "bot", name="Bot")["token"]

    async def scenario() -> list[dict]:
        ws, _ = await join_ws(shared_server, alice)
        errors = []
        for bad in (
            {"type": "chat-archive", "id": "m1", "ts": 1, "text": "x" * 4001},  # oversized
            {"type": "chat-archive", "id": "../etc", "ts": 1, "text": "hi"},  # bad id
            {"type": "chat-archive", "id": "m1", "ts": 1, "text": ""},  # empty
        ):
            await ws.send(json.dumps(bad))
            errors.append(await next_error(ws))
        await ws.send("{not json")
        errors.append(await next_error(ws))
        now = int(time.time() * 1000)
        copy = {"type": "chat-archive", "id": "msg-1", "ts": now, "text": "first"}
        await ws.send(json.dumps(copy))
        await ws.send(json.dumps(copy))  # the same copy again after a reconnect: stored once
        # The Python peer archives what it sends too.
        peer = await Peer.join(shared_server.base_url, bot, video=False, audio=False)
        try:
            peer.chat.send("from the bot")
            await asyncio.sleep(1.0)
        finally:
            await peer.leave()
        await ws.close()
        return errors

    errors = asyncio.run(scenario())
    assert [e["code"] for e in errors] == ["bad_message", "bad_message", "bad_message", "bad_json"]
    assert all(e["fatal"] is False for e in errors)
    with shared_server.api() as api:
        transcript = api.get(f"/api/rooms/{room}/chat").json()
        assert api.get("/api/rooms/room_nope/chat").status_code == 404
    assert transcript["chat_archive"] is True
    assert [(m["id"], m["identity"], m["name"], m["text"]) for m in transcript["messages"]] == [
        ("msg-1", "alice", "Alice", "first"),
        (transcript["messages"][1]["id"], "bot", "Bot", "from the bot"),
    ]
    assert transcript["messages"][0]["received_at"] >= transcript["messages"][0]["sent_at"] - 5
