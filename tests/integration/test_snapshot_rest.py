"""Snapshot uploads, listing and audit over REST against a real `peercall serve` process."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import time

import httpx
import numpy as np
import websockets
from PIL import Image

from peercall.testing import ServerProcess


def jpeg(width: int, height: int) -> bytes:
    pixels = np.random.default_rng(3).integers(0, 255, (height, width, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=92)
    return out.getvalue()


async def join(server: ServerProcess, token: str):
    ws = await websockets.connect(server.ws_url)
    await ws.send(json.dumps({"type": "join", "v": 1, "token": token}))
    joined = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert joined["type"] == "joined", joined
    return ws, joined


async def next_of(ws, kind: str) -> dict:
    while True:
        frame = json.loads(await ws.recv())
        if frame["type"] == kind:
            return frame


def snapshot_files(server: ServerProcess) -> list[str]:
    root = server.data_dir / "snapshots"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


async def test_snapshot_rest_upload_list_fetch_and_bad_uploads_store_nothing(server: ServerProcess):
    room = server.create_room()
    agent_token = server.token(room, "agent-7", "host")["token"]
    customer_token = server.token(room, "customer-1")["token"]
    agent_ws, _ = await join(server, agent_token)
    customer_ws, customer = await join(server, customer_token)
    base = server.base_url
    upload = f"{base}/api/snapshots"

    def post(body: bytes, token: str | None, content_type: str = "image/jpeg", **params: str) -> httpx.Response:
        headers = {"content-type": content_type, **({"Authorization": f"Bearer {token}"} if token else {})}
        return httpx.post(upload, content=body, headers=headers, params=params, timeout=10)

    async with asyncio.timeout(30):
        # Bad uploads: each refused with a clear code, nothing stored, nothing announced.
        image = jpeg(640, 480)
        assert post(image, None).json()["error"]["code"] == "token_missing"
        assert post(image, "not-a-token").json()["error"]["code"] == "token_invalid"
        other_room = server.create_room()
        stranger = server.token(other_room, "agent-7", "host")["token"]  # valid token, not in that call
        assert post(image, stranger).json()["error"]["code"] == "forbidden"
        refused = post(b"MZ\x90\x00 this is not an image" * 10, agent_token, "application/octet-stream")
        assert refused.status_code == 415 and refused.json()["error"]["code"] == "invalid_image"
        assert post(image[:5000], agent_token).json()["error"]["code"] == "invalid_image"  # truncated
        assert post(image, agent_token, "image/png").json()["error"]["code"] == "invalid_image"
        too_large = post(b"\xff\xd8\xff" + b"\x00" * (8 * 1024 * 1024), agent_token)
        assert too_large.status_code == 413 and too_large.json()["error"]["code"] == "payload_too_large"

        def chunked():  # no Content-Length: the stream itself is cut at the cap
            yield b"\xff\xd8\xff"
            for _ in range(9):
                yield b"\x00" * (1024 * 1024)

        streamed = httpx.post(upload, content=chunked(), headers={"Authorization": f"Bearer {agent_token}"}, timeout=10)
        assert streamed.status_code == 413 and streamed.json()["error"]["code"] == "payload_too_large"
        assert post(image, agent_token, subject="../../etc").status_code == 422
        assert post(image, agent_token, method="scanner").status_code == 422
        assert post(image, agent_token, request_id="req-does-not-exist").json()["error"]["code"] == "not_found"
        assert snapshot_files(server) == []
        with server.api() as api:
            assert api.get(f"/api/rooms/{room}/snapshots").json() == {"snapshots": []}
            assert api.get(f"/api/rooms/{room}/audit").json()["entries"] == []

        # A host captures the customer's video.
        stored = post(image, agent_token, subject=customer["peer_id"], method="grabFrame")
        assert stored.status_code == 201, stored.text
        meta = stored.json()
        sha = hashlib.sha256(image).hexdigest()
        assert (meta["width"], meta["height"], meta["sha256"], meta["size"]) == (640, 480, sha, len(image))
        assert (meta["taken_by"], meta["captured_by"], meta["subject"], meta["source"]) == (
            "agent-7",
            "agent-7",
            "customer-1",
            "remote",
        )
        assert snapshot_files(server) == [f"{sha[:2]}/{sha}.jpg"]
        for ws in (agent_ws, customer_ws):  # announced in the call (and the refused uploads were not)
            frame = await next_of(ws, "snapshot-taken")
            assert frame["type"] == "snapshot-taken" and frame["snapshot_id"] == meta["id"] and frame["sha256"] == sha

    with server.api() as api:
        listed = api.get(f"/api/rooms/{room}/snapshots").json()["snapshots"]
        assert [s["id"] for s in listed] == [meta["id"]]
        assert api.get(f"/api/snapshots/{meta['id']}").json() == meta
        fetched = api.get(meta["image_url"])
        assert fetched.headers["content-type"] == "image/jpeg" and fetched.content == image
        trail = api.get(f"/api/rooms/{room}/audit").json()
        assert trail["intact"] and [e["action"] for e in trail["entries"]] == ["captured"]
        assert trail["head"] == trail["entries"][-1]["hash"] and trail["entries"][0]["prev_hash"] == "0" * 64
        assert trail["entries"][0]["sha256"] == sha and trail["entries"][0]["actor"] == "agent-7"
        assert api.get("/api/snapshots/snap_nope").status_code == 404
        assert api.get("/api/rooms/room_nope/snapshots").status_code == 404
        # The dashboard's reading of the image is in the audit log; so is asking for a signed link.
        link = api.post(f"/api/snapshots/{meta['id']}/links").json()
        actions = [(e["action"], e["target"]) for e in api.get("/api/audit").json()["entries"]]
        assert ("get_image", meta["image_url"]) in actions, actions
        assert ("make_link", f"/api/snapshots/{meta['id']}/links") in actions, actions
        assert api.post("/api/snapshots/snap_nope/links").status_code == 404
    # A signed link opens that one image, without any key, until it expires.
    assert httpx.get(link["url"]).content == image
    assert link["expires_at"] > time.time() + 60
    tampered = link["url"].replace("sig=", "sig=A")
    assert httpx.get(tampered).status_code == 401
    # Reading needs the API key or a host token of the same room.
    assert httpx.get(f"{base}/api/rooms/{room}/snapshots").status_code == 401
    assert httpx.get(f"{base}{meta['image_url']}").status_code == 401
    as_customer = httpx.get(f"{base}{meta['image_url']}", headers={"Authorization": f"Bearer {customer_token}"})
    assert as_customer.status_code == 403
    as_stranger = httpx.get(f"{base}{meta['image_url']}", headers={"Authorization": f"Bearer {stranger}"})
    assert as_stranger.status_code == 403
    as_host = httpx.get(f"{base}{meta['image_url']}", headers={"Authorization": f"Bearer {agent_token}"})
    assert as_host.content == image
    await agent_ws.close()
    await customer_ws.close()
