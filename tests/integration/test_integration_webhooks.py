"""Webhooks against a real `peercall serve` and a real receiver.

A call with two members, a snapshot and a recording produces every event type; the
receiver fails its first two requests, so retries are exercised. Asserted: each event
arrives once per occurrence with a valid signature, a failed delivery is retried with the
same event id, nothing is sent again after a 2xx, and the delivery log over REST agrees.
"""

from __future__ import annotations

import io
import json
import time
from collections import Counter
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

from peercall.testing import ServerProcess, start_server, stop_server
from peercall.testing.recording import SignalingMember, browser_like_webm, sha256, wait_recording
from peercall.testing.webhook_receiver import WebhookReceiver
from peercall.webhooks.signing import verify

ALL_EVENTS = [
    "room.started",
    "participant.joined",
    "participant.left",
    "call.ended",
    "recording.ready",
    "snapshot.created",
]
EXPECTED = Counter(
    {
        "room.started": 1,
        "participant.joined": 2,
        "snapshot.created": 1,
        "recording.ready": 1,
        "participant.left": 2,
        "call.ended": 1,
    }
)


def jpeg() -> bytes:
    pixels = np.random.default_rng(5).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=90)
    return out.getvalue()


def record_two_seconds(server: ServerProcess, token: str, tmp_path: Path) -> str:
    """A local recording uploaded in one chunk and finalized; returns its id once ready."""
    auth = {"Authorization": f"Bearer {token}"}
    upload = httpx.post(f"{server.base_url}/api/recordings", json={"mode": "local"}, headers=auth, timeout=10).json()
    data = browser_like_webm(tmp_path / "rec.webm", 2).read_bytes()
    key = {"Authorization": f"Bearer {upload['upload_key']}"}
    with httpx.Client(timeout=10) as client:
        assert client.put(f"{upload['upload_url']}/0", content=data, headers={**key, "X-Chunk-Sha256": sha256(data)})
        assert client.post(f"{upload['upload_url']}/finalize", json={"chunks": 1}, headers=key).status_code == 200
    with server.api() as api:
        assert wait_recording(api, upload["recording_id"], {"ready", "failed"}, 60)["state"] == "ready"
    return str(upload["recording_id"])


def test_integration_webhooks_every_event_once_signed_and_retried(tmp_path: Path):
    # SQLite (the default); the outbox's SQL on PostgreSQL too: test_integration_webhooks_store.py.
    env = {
        "PEERCALL_WEBHOOK_ALLOW_PRIVATE": "true",  # the receiver is on loopback
        "PEERCALL_WEBHOOK_ALLOW_HTTP": "true",
        "PEERCALL_WEBHOOK_BACKOFF_BASE_S": "0.2",
    }
    server = start_server(tmp_path, extra_env=env)
    try:
        with WebhookReceiver(fail_first=2) as receiver:
            with server.api() as api:
                created = api.post("/api/webhooks", json={"url": receiver.url, "events": ALL_EVENTS})
                assert created.status_code == 201, created.text
                hook = created.json()
                assert len(hook["secret"]) >= 32 and "secret" not in api.get("/api/webhooks").json()["webhooks"][0]

            room = server.create_room(settings={"recording": "any"})
            alice = SignalingMember(server.ws_url, server.token(room, "alice", "host")["token"])
            bob = SignalingMember(server.ws_url, server.token(room, "bob")["token"])
            alice_token = server.token(room, "alice", "host")["token"]
            snap = httpx.post(
                f"{server.base_url}/api/snapshots",
                content=jpeg(),
                headers={"content-type": "image/jpeg", "Authorization": f"Bearer {alice_token}"},
                params={"subject": bob.joined["peer_id"], "method": "grabFrame"},
                timeout=10,
            )
            assert snap.status_code == 201, snap.text
            recording_id = record_two_seconds(server, alice_token, tmp_path)
            time.sleep(0.5)  # the call lasts a moment
            bob.close(leave=True)
            alice.close(leave=True)

            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                delivered = [r for r in receiver.snapshot() if r.status == 200]
                if Counter(r.headers["peercall-event"] for r in delivered) == EXPECTED:
                    break
                time.sleep(0.1)
            time.sleep(1.5)  # anything sent again after a success would arrive now
            requests = receiver.snapshot()
    finally:
        stop_server(server)

    delivered = [r for r in requests if r.status == 200]
    assert Counter(r.headers["peercall-event"] for r in delivered) == EXPECTED, [r.headers for r in requests]
    events = []
    for r in requests:
        verify(r.body, r.headers["peercall-signature"], hook["secret"])  # every attempt is signed
        event = json.loads(r.body)
        assert event["id"] == r.headers["peercall-event-id"] and event["type"] == r.headers["peercall-event"]
        events.append(event)
    # Once per occurrence: every successful delivery is a distinct event; the two failed
    # attempts were retried with the same event id, and nothing after a success.
    ok_ids = [r.headers["peercall-event-id"] for r in delivered]
    assert len(ok_ids) == len(set(ok_ids)) == 8
    failed_ids = [r.headers["peercall-event-id"] for r in requests if r.status == 500]
    assert len(failed_ids) == 2 and set(failed_ids) <= set(ok_ids)
    assert len(requests) == 10

    by_type = {e["type"]: e["data"] for e in events}
    ended = by_type["call.ended"]
    assert ended["room_id"] == room and ended["end_reason"] == "completed"
    assert ended["participants"] == ["alice", "bob"] and ended["duration_s"] > 0.5
    assert isinstance(ended["quality"], list)
    assert by_type["recording.ready"]["recording_id"] == recording_id
    assert by_type["snapshot.created"]["sha256"] == snap.json()["sha256"]
    left = [e["data"] for e in events if e["type"] == "participant.left"]
    assert {d["identity"] for d in left} == {"alice", "bob"} and {d["reason"] for d in left} == {"navigate"}

    # The delivery log over REST tells the same story.
    server = start_server(tmp_path, extra_env=env)  # a restart: the log is in the database
    try:
        with server.api() as api:
            log = api.get("/api/webhooks/deliveries").json()["deliveries"]
            assert api.delete(f"/api/webhooks/{hook['id']}").status_code == 204
            assert api.delete(f"/api/webhooks/{hook['id']}").status_code == 404
            assert api.get("/api/webhooks").json() == {"webhooks": []}
    finally:
        stop_server(server)
    assert len(log) == 8 and {d["status"] for d in log} == {"delivered"}
    assert sorted(d["attempts"] for d in log) == [1] * 6 + [2] * 2
    assert {d["response_status"] for d in log} == {200} and {d["url"] for d in log} == {receiver.url}


def test_integration_webhooks_refuse_private_urls_by_default(shared_server: ServerProcess):
    with shared_server.api() as api:
        refused = api.post("/api/webhooks", json={"url": "https://127.0.0.1/hook", "events": ["call.ended"]})
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "webhook_url_forbidden"
        bad = api.post("/api/webhooks", json={"url": "https://example.com/h", "events": ["room.exploded"]})
        assert bad.status_code == 422
        plain = api.post("/api/webhooks", json={"url": "http://93.184.216.34/h", "events": ["call.ended"]})
        assert plain.json()["error"]["code"] == "webhook_url_forbidden"
        malformed = api.post("/api/webhooks", json={"url": "https://user:pw@example.com/", "events": ["call.ended"]})
        assert malformed.status_code == 422
