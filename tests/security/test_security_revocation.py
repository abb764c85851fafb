"""A removed participant's join link and resume token are refused (real server, real sockets)."""

from __future__ import annotations

import asyncio
import json

import httpx
import websockets
from websockets.exceptions import ConnectionClosed

from peercall.testing import ServerProcess


async def _join(server: ServerProcess, token: str) -> tuple[websockets.ClientConnection, dict]:
    ws = await websockets.connect(server.ws_url)
    await ws.send(json.dumps({"type": "join", "v": 1, "token": token}))
    return ws, json.loads(await asyncio.wait_for(ws.recv(), 5))


async def _refused(server: ServerProcess, first_frame: dict) -> tuple[str, int | None]:
    """Send one opening frame on a fresh socket; the error code and close code it earns."""
    async with websockets.connect(server.ws_url) as ws:
        await ws.send(json.dumps(first_frame))
        frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
        try:
            await asyncio.wait_for(ws.recv(), 5)
        except ConnectionClosed as closed:
            return frame.get("code", frame["type"]), closed.rcvd.code if closed.rcvd else None
    return frame.get("code", frame["type"]), None


async def _drain_until(ws: websockets.ClientConnection, code: str) -> dict:
    for _ in range(10):
        frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
        if frame.get("code") == code:
            return frame
    raise AssertionError(f"no {code} frame")


async def test_security_removed_participant_cannot_rejoin_or_resume(shared_server: ServerProcess):
    server = shared_server
    room = server.create_room()
    host, _ = await _join(server, server.token(room, "teacher", "host")["token"])
    link = server.token(room, "mallory")["token"]
    mallory, joined = await _join(server, link)
    assert joined["type"] == "joined"
    resume = {"type": "resume", "v": 1, "resume_token": joined["resume_token"], "last_seq": 0}

    # The host removes mallory over signaling.
    await host.send(json.dumps({"type": "moderate", "to": joined["peer_id"], "action": "remove"}))
    assert (await _drain_until(mallory, "removed"))["fatal"] is True
    # Same link: refused. Resume token from the removed session: refused. Both close with 4014.
    assert await _refused(server, {"type": "join", "v": 1, "token": link}) == ("removed", 4014)
    assert await _refused(server, resume) == ("removed", 4014)
    # The link also no longer opens token-authenticated REST routes.
    ice = httpx.get(f"{server.base_url}/api/ice-servers", headers={"Authorization": f"Bearer {link}"})
    assert ice.status_code == 403 and ice.json()["error"]["code"] == "removed"
    # The host's own session is untouched.
    await host.send('{"type":"ping","ts":5}')
    for _ in range(5):
        frame = json.loads(await asyncio.wait_for(host.recv(), 5))
        if frame["type"] == "pong":
            break
    assert frame == {"type": "pong", "ts": 5}
    await host.close()


async def test_security_dashboard_removal_and_link_revocation(shared_server: ServerProcess):
    server = shared_server
    room = server.create_room()
    issued = server.token(room, "visitor")
    ws, joined = await _join(server, issued["token"])
    with server.api() as api:
        assert api.post(f"/api/rooms/{room}/participants/visitor/remove").status_code == 200
    await _drain_until(ws, "removed")
    resume = {"type": "resume", "v": 1, "resume_token": joined["resume_token"], "last_seq": 0}
    assert await _refused(server, resume) == ("removed", 4014)
    assert await _refused(server, {"type": "join", "v": 1, "token": issued["token"]}) == ("removed", 4014)

    # A leaked link revoked by the dashboard (no removal, no ban): refused with token_revoked.
    leaked = server.token(room, "guest")["token"]
    with server.api() as api:
        revoked = api.post("/api/tokens/revoke", json={"token": leaked})
        assert revoked.status_code == 200, revoked.text
    assert await _refused(server, {"type": "join", "v": 1, "token": leaked}) == ("token_revoked", 4001)
    fresh = server.token(room, "guest")["token"]  # the same person with a new link gets in
    ok, joined = await _join(server, fresh)
    assert joined["type"] == "joined"
    await ok.close()
