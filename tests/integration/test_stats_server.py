"""Stats exchange against a real `peercall serve`: `stats` frames are validated, rate-limited,
forwarded as `peer-stats`, stored in the call timeline (REST) and counted in /metrics."""

from __future__ import annotations

import asyncio
import json
import re
import time

import httpx
import websockets

from peercall.testing import ServerProcess


def stats_frame(level: str = "excellent", **sample: object) -> str:
    figures = {"rtt_ms": 12.0, "jitter_ms": 3.0, "loss_in": 0.0, "packets_in": 120, "kbps_in": 500.0, **sample}
    return json.dumps(
        {
            "type": "stats",
            "level": level,
            "mos": 4.4,
            "causes": [],
            "recv_level": level,
            "send_level": level,
            "access": "ok",
            "sample": figures,
        }
    )


async def joined(server: ServerProcess, room: str, identity: str):
    ws = await websockets.connect(server.ws_url)
    await ws.send(json.dumps({"type": "join", "v": 1, "token": server.token(room, identity)["token"]}))
    first = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert first["type"] == "joined", first
    return ws, first


async def next_frame(ws, kind: str, timeout_s: float = 5) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), max(deadline - time.monotonic(), 0.01)))
        if frame["type"] == kind:
            return frame


def metric(text: str, name: str) -> float:
    found = re.search(rf"^{re.escape(name)} ([0-9.e+-]+)$", text, re.M)
    assert found, f"{name} not in /metrics"
    return float(found.group(1))


async def test_stats_frames_forwarded_stored_and_summarised(server: ServerProcess) -> None:
    room = server.create_room()
    alice, alice_joined = await joined(server, room, "alice")
    bob, _ = await joined(server, room, "bob")
    call_id = alice_joined["call_id"]

    await alice.send(stats_frame(rtt_ms=40.0, pair={"local": "relay", "protocol": "udp", "relay_protocol": "tcp"}))
    forwarded = await next_frame(bob, "peer-stats")
    assert forwarded["from"] == alice_joined["peer_id"]
    assert forwarded["summary"]["level"] == "excellent" and forwarded["summary"]["sample"]["rtt_ms"] == 40.0
    assert forwarded["summary"]["sample"]["pair"]["relay_protocol"] == "tcp"

    # A client that claims "excellent" with 30 % loss is re-rated by the server's model.
    await asyncio.sleep(1.1)
    await alice.send(stats_frame(loss_in=0.3, rtt_ms=60.0))
    await next_frame(bob, "peer-stats")
    await asyncio.sleep(1.1)
    await bob.send(stats_frame("good", rtt_ms=80.0, loss_in=0.01))
    await next_frame(alice, "peer-stats")

    # Invalid frames are refused with a precise, non-fatal error; nothing is stored.
    await alice.send(stats_frame(loss_in=7))
    error = await next_frame(alice, "error")
    assert error["code"] == "bad_message" and "loss_in" in error["message"] and error["fatal"] is False
    await alice.send(json.dumps({**json.loads(stats_frame()), "extra": "x" * 100}))
    assert (await next_frame(alice, "error"))["code"] == "bad_message"

    with server.api() as api:
        body = api.get(f"/api/calls/{call_id}/stats").json()
        assert api.get("/api/calls/call_nope/stats").status_code == 404
    assert httpx.get(f"{server.base_url}/api/calls/{call_id}/stats").status_code == 401
    assert [(p["identity"], p["level"], p["reported_level"]) for p in body["timeline"]] == [
        ("alice", "excellent", "excellent"),
        ("alice", "poor", "excellent"),
        ("bob", "excellent", "good"),
    ]
    by_identity = {s["identity"]: s for s in body["summary"]}
    assert by_identity["alice"]["worst_level"] == "poor" and by_identity["alice"]["reports"] == 2
    assert by_identity["alice"]["rtt_ms"] == {"avg": 50.0, "min": 40.0, "p95": 60.0, "max": 60.0}
    assert by_identity["alice"]["loss_in"]["max"] == 0.3
    assert by_identity["alice"]["seconds_in_level"]["poor"] == 2.0
    assert 1.0 <= by_identity["alice"]["seconds_in_level"]["excellent"] <= 3.0
    assert by_identity["bob"]["connection"] is None and body["truncated"] is False

    with server.api() as api:
        text = api.get("/metrics").text
    assert metric(text, "peercall_signaling_connections") == 2
    assert metric(text, "peercall_rooms_active") == 1
    assert metric(text, "peercall_calls_active") == 1
    assert metric(text, "peercall_room_members") == 2
    assert metric(text, 'peercall_signaling_messages_total{direction="in"}') >= 7
    assert metric(text, 'peercall_signaling_errors_total{code="bad_message"}') == 2
    assert metric(text, 'peercall_call_quality_reports_total{level="poor"}') == 1
    assert metric(text, "peercall_call_rtt_seconds_count") == 3
    assert metric(text, 'peercall_call_rtt_seconds_bucket{le="0.05"}') == 1
    assert metric(text, 'peercall_call_packet_loss_ratio_bucket{le="0.2"}') == 2
    assert metric(text, "peercall_call_mos_count") == 3
    await alice.close()
    await bob.close()


async def test_stats_frames_are_rate_limited_without_closing(server: ServerProcess) -> None:
    room = server.create_room()
    alice, alice_joined = await joined(server, room, "alice")
    bob, _ = await joined(server, room, "bob")
    for _ in range(6):
        await alice.send(stats_frame())
    errors = [await next_frame(alice, "error") for _ in range(3)]
    assert {e["code"] for e in errors} == {"stats_rate_limited"} and not any(e["fatal"] for e in errors)
    forwarded = [await next_frame(bob, "peer-stats") for _ in range(3)]  # the burst of 3 went through
    assert len(forwarded) == 3
    await alice.send(json.dumps({"type": "ping", "ts": 1}))
    assert (await next_frame(alice, "pong"))["ts"] == 1  # the connection lives on
    await asyncio.sleep(1.1)
    await alice.send(stats_frame())
    await next_frame(bob, "peer-stats")
    with server.api() as api:
        body = api.get(f"/api/calls/{alice_joined['call_id']}/stats").json()
        text = api.get("/metrics").text
    assert len(body["timeline"]) == 4
    assert metric(text, 'peercall_call_stats_refused_total{reason="rate"}') == 3
    await alice.close()
    await bob.close()


async def test_stats_timeline_rows_are_capped(tmp_path) -> None:
    from peercall.testing import start_server, stop_server

    server = start_server(tmp_path, extra_env={"PEERCALL_STATS_MAX_ROWS_PER_CALL": "10", "PEERCALL_STATS_BURST": "50"})
    try:
        room = server.create_room()
        alice, alice_joined = await joined(server, room, "alice")
        bob, _ = await joined(server, room, "bob")
        for _ in range(14):
            await alice.send(stats_frame())
        for _ in range(14):  # forwarding goes on past the cap
            await next_frame(bob, "peer-stats")
        with server.api() as api:
            body = api.get(f"/api/calls/{alice_joined['call_id']}/stats").json()
            text = api.get("/metrics").text
        assert len(body["timeline"]) == 10 and body["truncated"] is True
        assert metric(text, 'peercall_call_stats_refused_total{reason="timeline_full"}') == 4
        await alice.close()
        await bob.close()
    finally:
        stop_server(server)
