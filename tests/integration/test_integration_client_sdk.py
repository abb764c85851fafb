"""The Python server SDK (peercall.client) against a live `peercall serve`.

Every operation of the server's OpenAPI has a client method and vice versa; the sync and
async clients together drive every one of them with real effects (a recording uploaded
and downloaded, a snapshot stored and fetched, a member muted), recorded per request by
an httpx hook and compared with the OpenAPI operations at the end.
"""

from __future__ import annotations

import hashlib
import io
import re
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from peercall.client import AsyncPeercallClient, PeercallAPIError, PeercallClient
from peercall.client._call import OPERATIONS
from peercall.testing import ServerProcess
from peercall.testing.recording import SignalingMember, browser_like_webm

TEMPLATES = {
    (method, re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$")): (method, template)
    for method, template in OPERATIONS.values()
}


class Coverage:
    """Which (METHOD, path template) the clients really sent."""

    def __init__(self) -> None:
        self.seen: set[tuple[str, str]] = set()

    def __call__(self, request: httpx.Request) -> None:
        for (method, pattern), operation in TEMPLATES.items():
            if method == request.method and pattern.match(request.url.path):
                self.seen.add(operation)


def jpeg() -> bytes:
    pixels = np.random.default_rng(7).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=90)
    return out.getvalue()


def test_integration_client_covers_the_openapi_exactly(shared_server: ServerProcess):
    spec = httpx.get(f"{shared_server.base_url}/openapi.json", timeout=10).json()
    served = {(m.upper(), path) for path, ops in spec["paths"].items() for m in ops}
    assert set(OPERATIONS.values()) == served, {
        "no client method": served - set(OPERATIONS.values()),
        "not on the server": set(OPERATIONS.values()) - served,
    }


async def test_integration_client_drives_every_endpoint_sync_and_async(server: ServerProcess, tmp_path: Path):
    coverage = Coverage()
    base = server.base_url
    http = httpx.Client(base_url=base, timeout=30, event_hooks={"request": [coverage]})
    async_http = httpx.AsyncClient(base_url=base, timeout=30, event_hooks={"request": [_async(coverage)]})
    with PeercallClient(base, server.api_key, http_client=http) as client:
        assert client.health() == {"status": "ok"} and client.ready()["status"] == "ready"
        assert "peercall" in client.metrics()
        room = client.create_room(name="SDK", max_participants=3, settings={"recording": "any", "chat_archive": True})
        assert room.id in {r.id for r in client.list_rooms().rooms} and client.get_room(room.id).name == "SDK"
        alice = client.create_token(room.id, "alice", role="host", name="Alice")
        bob = client.create_token(room.id, "bob", name="Bob")
        assert alice.role == "host" and alice.join_url.endswith(alice.token)
        members = [SignalingMember(server.ws_url, t.token) for t in (alice, bob)]
        try:
            assert isinstance(client.ice_servers(alice.token).ice_servers, list)
            assert client.moderate(room.id, "bob", "mute_audio").action == "mute_audio"
            assert members[1].next("moderation")["action"] == "mute_audio"  # the member really was told

            image = jpeg()
            bob_peer = members[1].joined["peer_id"]
            snap = client.upload_snapshot(alice.token, image, subject=bob_peer, method="grabFrame")
            assert snap.sha256 == hashlib.sha256(image).hexdigest() and snap.subject == "bob"
            assert [s.id for s in client.list_snapshots(room.id).snapshots] == [snap.id]
            assert client.get_snapshot(snap.id).width == 320
            assert client.snapshot_image(snap.id) == image
            assert httpx.get(client.snapshot_link(snap.id).url, timeout=10).content == image
            assert client.snapshot_audit(room.id).intact

            recording = _record(client, alice.token, tmp_path)
            assert recording in {r.id for r in client.list_recordings(room_id=room.id).recordings}
            assert client.get_recording(recording).state == "ready"
            mp4 = client.download_recording(recording)
            assert mp4[4:8] == b"ftyp" and client.recording_thumbnail(recording)[:2] == b"\xff\xd8"
            assert httpx.get(client.recording_links(recording).url, timeout=10).content == mp4
            client.delete_recording(recording)
            two = client.start_recording(alice.token, mode="double-ender")
            assert client.add_recording_track(bob.token, two.recording_id).recording_id == two.recording_id
            assert client.stop_recording(alice.token, two.recording_id).id == two.recording_id
            client.delete_recording(two.recording_id)
            assert client.chat_transcript(room.id, limit=10).messages == []
        finally:
            for member in members:
                member.close(leave=True)
        [call] = client.list_calls(room.id).calls
        assert {p.identity for p in call.participants} == {"alice", "bob"}
        assert client.list_reconnects(room.id, call.id).reconnects == []
        assert client.call_stats(call.id).call_id == call.id
        assert client.revoke_token(bob.token).identity == "bob"
        assert any(e.action for e in client.audit_log(limit=50).entries)

    async with AsyncPeercallClient(base, server.api_key, http_client=async_http) as aclient:
        hook = await aclient.create_webhook("https://93.184.216.34/hooks", ["call.ended", "recording.ready"])
        assert len(hook.secret) == 64 and [w.id for w in (await aclient.list_webhooks()).webhooks] == [hook.id]
        assert (await aclient.webhook_deliveries(limit=5)).deliveries == []
        await aclient.delete_webhook(hook.id)
        assert (await aclient.get_room(room.id)).participants == []
        with pytest.raises(PeercallAPIError) as missing:
            await aclient.get_room("room_doesnotexist")
        assert (missing.value.status, missing.value.code) == (404, "room_not_found")
        await aclient.delete_room(room.id)
    with pytest.raises(PeercallAPIError) as forbidden, PeercallClient(base, "wrong-key-" * 4) as stranger:
        stranger.list_rooms()
    assert forbidden.value.status == 401

    missing_ops = set(OPERATIONS.values()) - coverage.seen
    assert not missing_ops, f"operations the clients never sent: {sorted(missing_ops)}"


def _async(hook: Coverage):
    async def record(request: httpx.Request) -> None:
        hook(request)

    return record


def _record(client: PeercallClient, token: str, tmp_path: Path) -> str:
    """A 2 s local recording uploaded in two chunks (one sent twice), finalized, processed."""
    upload = client.start_recording(token, mode="local", name="sdk test")
    assert client.active_recordings(token).recordings[0]["id"] == upload.recording_id
    data = browser_like_webm(tmp_path / "sdk.webm", 2).read_bytes()
    half = len(data) // 2
    track = upload.track.id
    for seq, piece in enumerate((data[:half], data[half:])):
        assert client.upload_chunk(upload.upload_key, track, seq, piece, hashlib.sha256(piece).hexdigest()).stored
    again = client.upload_chunk(upload.upload_key, track, 1, data[half:], hashlib.sha256(data[half:]).hexdigest())
    assert again.stored is False and client.upload_state(upload.upload_key, track).next_seq == 2
    client.finalize_track(upload.upload_key, track, chunks=2)
    deadline = time.monotonic() + 60
    while (state := client.get_recording(upload.recording_id).state) not in ("ready", "failed"):
        assert time.monotonic() < deadline, state
        time.sleep(0.2)
    assert state == "ready"
    return upload.recording_id
