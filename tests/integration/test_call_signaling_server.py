"""Bad input and REST behaviour against a real `peercall serve` process."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from peercall.testing import ServerProcess


async def connect(server: ServerProcess, **kwargs):
    return await websockets.connect(server.ws_url, max_size=2**22, **kwargs)


async def join(server: ServerProcess, token: str):
    ws = await connect(server)
    await ws.send(json.dumps({"type": "join", "v": 1, "token": token}))
    return ws, json.loads(await asyncio.wait_for(ws.recv(), 5))


async def expect_error(ws, code: str, *, fatal: bool) -> dict:
    frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert frame["type"] == "error" and frame["code"] == code, frame
    assert frame["fatal"] is fatal and frame["message"]
    return frame


async def expect_closed(ws, close_code: int) -> None:
    with pytest.raises(ConnectionClosed) as info:
        await asyncio.wait_for(ws.recv(), 5)
    assert info.value.rcvd is not None and info.value.rcvd.code == close_code


def test_call_rest_requires_api_key_and_validates(shared_server: ServerProcess):
    base = shared_server.base_url
    assert httpx.get(f"{base}/api/rooms").status_code == 401
    assert (
        httpx.get(f"{base}/api/rooms", headers={"Authorization": "Bearer wrong"}).json()["error"]["code"]
        == "unauthorized"
    )
    with shared_server.api() as api:
        assert api.post("/api/rooms", json={"max_participants": 9}).json()["error"]["code"] == "bad_request"
        assert api.post("/api/rooms", json={"unknown": 1}).status_code == 422
        assert (
            api.post("/api/rooms", content=b"x" * 100_000, headers={"content-type": "application/json"}).status_code
            == 413
        )
        room = api.post("/api/rooms", json={"name": "Maths", "settings": {"chat_archive": False}}).json()
        assert room["name"] == "Maths" and room["max_participants"] == 2
        bad = api.post(f"/api/rooms/{room['id']}/tokens", json={"identity": "../../etc/passwd"})
        assert bad.status_code == 422
        assert api.post("/api/rooms/room_nope/tokens", json={"identity": "a"}).status_code == 404
        token = api.post(f"/api/rooms/{room['id']}/tokens", json={"identity": "a", "role": "host", "ttl": 120}).json()
        assert token["join_url"].startswith(f"{base}/call#token=") and token["expires_at"] <= time.time() + 121
        assert api.get(f"/api/rooms/{room['id']}").json()["participants"] == []
        assert any(r["id"] == room["id"] for r in api.get("/api/rooms").json()["rooms"])
    ice = httpx.get(f"{base}/api/ice-servers", headers={"Authorization": f"Bearer {token['token']}"})
    assert ice.status_code == 200 and "ice_servers" in ice.json()
    assert (
        httpx.get(f"{base}/api/ice-servers", headers={"Authorization": "Bearer forged"}).json()["error"]["code"]
        == "token_invalid"
    )


def test_call_health_docs_and_client_are_served(shared_server: ServerProcess):
    base = shared_server.base_url
    assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{base}/readyz").json()["status"] == "ready"
    spec = httpx.get(f"{base}/openapi.json").json()
    assert {"/api/rooms", "/api/rooms/{room_id}", "/api/rooms/{room_id}/tokens", "/api/ice-servers"} <= set(
        spec["paths"]
    )
    docs = httpx.get(f"{base}/docs").text
    assert "/vendor/swagger-ui/swagger-ui-bundle.js" in docs and "cdn" not in docs.lower()
    assert httpx.get(f"{base}/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200
    assert httpx.get(f"{base}/demo").status_code == 404, "demo is off unless --demo"
    page = httpx.get(f"{base}/call")
    assert page.status_code == 200 and "<script" in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert page.headers["x-content-type-options"] == "nosniff"
    assert httpx.get(f"{base}/sdk/peercall.js").headers["content-type"].startswith("text/javascript")


async def test_call_bad_frames_get_clear_errors_and_other_calls_continue(shared_server: ServerProcess):
    room = shared_server.create_room()
    alice, joined_a = await join(shared_server, shared_server.token(room, "alice", "host")["token"])
    bob, joined_b = await join(shared_server, shared_server.token(room, "bob")["token"])
    assert joined_a["type"] == joined_b["type"] == "joined"
    assert json.loads(await alice.recv())["type"] == "peer-joined"

    attacker_room = shared_server.create_room()
    eve, _ = await join(shared_server, shared_server.token(attacker_room, "eve")["token"])
    await eve.send("{not json")
    await expect_error(eve, "bad_json", fatal=False)
    await eve.send(json.dumps({"type": "launch-missiles"}))
    await expect_error(eve, "unknown_type", fatal=False)
    await eve.send(json.dumps({"type": "offer", "to": joined_a["peer_id"], "sdp": "v=0"}))
    await expect_error(eve, "peer_not_found", fatal=False)  # alice is in another room
    await eve.send(b"\x00\x01")
    await expect_error(eve, "bad_message", fatal=False)
    await eve.send(json.dumps({"type": "offer", "to": "p_x", "sdp": "a" * (70 * 1024)}))
    await expect_error(eve, "message_too_large", fatal=True)
    await expect_closed(eve, 4009)

    # The unrelated call was not disturbed: alice and bob still relay.
    await bob.send(json.dumps({"type": "offer", "to": joined_a["peer_id"], "sdp": "v=0 ok"}))
    assert json.loads(await asyncio.wait_for(alice.recv(), 5)) == {
        "type": "offer",
        "sdp": "v=0 ok",
        "from": joined_b["peer_id"],
        "seq": 2,  # alice's second hub frame (after peer-joined)
    }
    await alice.close()
    await bob.close()


async def test_call_flood_is_rate_limited_then_closed(shared_server: ServerProcess):
    room = shared_server.create_room()
    ws, _ = await join(shared_server, shared_server.token(room, "flooder")["token"])
    errors: list[str] = []
    close_code = None
    try:
        for _ in range(2000):  # bounded flood
            await ws.send('{"type":"ping"}')
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
            if frame["type"] == "error":
                errors.append(frame["code"])
    except ConnectionClosed as closed:
        close_code = closed.rcvd.code if closed.rcvd else None
    assert "rate_limited" in errors and errors[-1] == "rate_limit_abuse"
    assert close_code == 4029
    assert httpx.get(f"{shared_server.base_url}/healthz").status_code == 200


async def test_call_token_failures(shared_server: ServerProcess):
    room = shared_server.create_room()
    for token, code in [("", "token_missing"), ("x.y.z", "token_invalid")]:
        ws = await connect(shared_server)
        await ws.send(json.dumps({"type": "join", "v": 1, "token": token}))
        await expect_error(ws, code, fatal=True)
        await expect_closed(ws, 4001)
    # A token for a deleted room.
    token = shared_server.token(room, "late")["token"]
    with shared_server.api() as api:
        assert api.delete(f"/api/rooms/{room}").status_code == 204
        assert api.get(f"/api/rooms/{room}").status_code == 404
    ws = await connect(shared_server)
    await ws.send(json.dumps({"type": "join", "v": 1, "token": token}))
    await expect_error(ws, "room_not_found", fatal=True)
    await expect_closed(ws, 4004)


async def test_call_full_room_foreign_origin_and_replacement(shared_server: ServerProcess):
    room = shared_server.create_room()
    a1, _ = await join(shared_server, shared_server.token(room, "a")["token"])
    b, joined_b = await join(shared_server, shared_server.token(room, "b")["token"])
    c = await connect(shared_server)
    await c.send(json.dumps({"type": "join", "v": 1, "token": shared_server.token(room, "c")["token"]}))
    await expect_error(c, "room_full", fatal=True)
    await expect_closed(c, 4003)

    evil = await connect(shared_server, origin="https://evil.example")
    await expect_error(evil, "origin_forbidden", fatal=True)
    await expect_closed(evil, 4403)
    same_origin = await connect(shared_server, origin=shared_server.base_url)
    await same_origin.send('{"type":"ping","ts":1}')
    assert json.loads(await same_origin.recv()) == {"type": "pong", "ts": 1}
    await same_origin.close()

    a2, joined_a2 = await join(shared_server, shared_server.token(room, "a")["token"])
    assert joined_a2["type"] == "joined"
    assert json.loads(await a1.recv())["type"] == "peer-joined"  # b's arrival, sent earlier
    await expect_error(a1, "session_replaced", fatal=True)
    await expect_closed(a1, 4010)
    frames = [json.loads(await b.recv()) for _ in range(2)]
    assert [f["type"] for f in frames] == ["peer-left", "peer-joined"] and frames[0]["reason"] == "replaced"
    with shared_server.api() as api:
        live = api.get(f"/api/rooms/{room}").json()["participants"]
    assert sorted(p["peer_id"] for p in live) == sorted([joined_b["peer_id"], joined_a2["peer_id"]])
    await a2.close()
    await b.close()


async def test_call_join_timeout(tmp_path):
    from peercall.testing import start_server, stop_server

    server = start_server(tmp_path, extra_env={"PEERCALL_JOIN_TIMEOUT_S": "0.5"})
    try:
        ws = await connect(server)
        await expect_error(ws, "join_timeout", fatal=True)
        await expect_closed(ws, 4008)
    finally:
        # uvicorn re-raises SIGTERM after its graceful shutdown: -15 with a clean log.
        assert stop_server(server) in (0, -15)
        assert "peercall stopped" in server.log() and "Traceback" not in server.log()


async def test_call_tls_auto_serves_https_and_wss(tmp_path):
    import ssl

    from cryptography import x509

    from peercall.testing import start_server, stop_server

    server = start_server(tmp_path, args=["--tls", "auto"])
    try:
        assert server.base_url.startswith("https://")
        cert_path = server.data_dir / "tls" / "cert.pem"
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert "localhost" in names.get_values_for_type(x509.DNSName)
        context = ssl.create_default_context(cafile=str(cert_path))
        assert httpx.get(f"{server.base_url}/healthz", verify=context).status_code == 200
        async with websockets.connect(server.ws_url, ssl=context) as ws:
            await ws.send('{"type":"ping","ts":7}')
            assert json.loads(await ws.recv()) == {"type": "pong", "ts": 7}
    finally:
        stop_server(server)


def test_call_config_from_toml_file(tmp_path):
    from peercall.testing import start_server, stop_server

    config = tmp_path / "peercall.toml"
    config.write_text('max_participants_cap = 3\nstun_urls = ["stun:stun.example.invalid:3478"]\n')
    server = start_server(tmp_path, extra_env={"PEERCALL_CONFIG": str(config)})
    try:
        room = server.create_room(max_participants=3)
        token = server.token(room, "a")["token"]
        ice = httpx.get(f"{server.base_url}/api/ice-servers", headers={"Authorization": f"Bearer {token}"}).json()
        assert ice["ice_servers"] == [{"urls": ["stun:stun.example.invalid:3478"]}]
    finally:
        stop_server(server)


def test_call_demo_page_creates_a_room_with_two_links(tmp_path):
    import re

    import jwt

    from peercall.testing import start_server, stop_server

    server = start_server(tmp_path, args=["--demo"])
    try:
        page = httpx.get(f"{server.base_url}/demo").text
        links = re.findall(r'href="([^"]+/call#token=[^"]+)"', page)
        assert len(links) == 2
        claims = [jwt.decode(link.split("#token=")[1], options={"verify_signature": False}) for link in links]
        assert claims[0]["room"] == claims[1]["room"]
        assert {c["role"] for c in claims} == {"host", "participant"}
        with server.api() as api:
            assert api.get(f"/api/rooms/{claims[0]['room']}").status_code == 200
        assert httpx.get(server.base_url + "/", follow_redirects=False).headers["location"] == "/demo"
    finally:
        stop_server(server)
