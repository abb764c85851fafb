"""Client operations: snapshots, recordings and webhooks."""

from __future__ import annotations

from typing import Literal

from peercall.api.recordings import ActiveOut, ChunkOut, LinkOut, RecordingList, RecordingOut, TrackOut, UploadOut
from peercall.api.snapshots import AuditTrail, SnapshotLinkOut, SnapshotList, SnapshotOut
from peercall.api.webhooks import DeliveryList, WebhookCreated, WebhookList
from peercall.client._call import Call, as_bytes, as_none, model, op, query, seg

RecordingMode = Literal["composite", "local", "double-ender"]
EventType = Literal[
    "room.started", "participant.joined", "participant.left", "call.ended", "recording.ready", "snapshot.created"
]


# ---- snapshots ---------------------------------------------------------------
@op("POST", "/api/snapshots")
def upload_snapshot(
    join_token: str,
    image: bytes,
    content_type: str = "image/jpeg",
    subject: str | None = None,
    method: str | None = None,
    request_id: str | None = None,
) -> Call[SnapshotOut]:
    """Store a still image taken in a call (as the member of ``join_token``)."""
    params = query(subject=subject, method=method, request_id=request_id)
    headers = {"Content-Type": content_type}
    return Call(
        "POST", "/api/snapshots", model(SnapshotOut), params=params, content=image, headers=headers, token=join_token
    )


@op("GET", "/api/rooms/{room_id}/snapshots")
def list_snapshots(room_id: str) -> Call[SnapshotList]:
    """Snapshots of a room, oldest first."""
    return Call("GET", f"/api/rooms/{seg(room_id)}/snapshots", model(SnapshotList))


@op("GET", "/api/snapshots/{snapshot_id}")
def get_snapshot(snapshot_id: str) -> Call[SnapshotOut]:
    """A snapshot's metadata (who, whom, when, resolution, sha256)."""
    return Call("GET", f"/api/snapshots/{seg(snapshot_id)}", model(SnapshotOut))


@op("GET", "/api/snapshots/{snapshot_id}/image")
def snapshot_image(snapshot_id: str) -> Call[bytes]:
    """The image bytes (check them against the metadata's sha256)."""
    return Call("GET", f"/api/snapshots/{seg(snapshot_id)}/image", as_bytes)


@op("POST", "/api/snapshots/{snapshot_id}/links")
def snapshot_link(snapshot_id: str) -> Call[SnapshotLinkOut]:
    """A signed, expiring URL to the image (no API key needed to open it)."""
    return Call("POST", f"/api/snapshots/{seg(snapshot_id)}/links", model(SnapshotLinkOut))


@op("GET", "/api/rooms/{room_id}/audit")
def snapshot_audit(room_id: str) -> Call[AuditTrail]:
    """The room's hash-chained capture audit trail, and whether it is intact."""
    return Call("GET", f"/api/rooms/{seg(room_id)}/audit", model(AuditTrail))


# ---- recordings --------------------------------------------------------------
@op("POST", "/api/recordings")
def start_recording(join_token: str, mode: RecordingMode = "composite", name: str | None = None) -> Call[UploadOut]:
    """Start recording the call of ``join_token``'s member; returns where to upload chunks."""
    return Call("POST", "/api/recordings", model(UploadOut), json=query(mode=mode, name=name), token=join_token)


@op("POST", "/api/recordings/{recording_id}/tracks")
def add_recording_track(join_token: str, recording_id: str) -> Call[UploadOut]:
    """Add this member's own track to a two-ended recording."""
    return Call("POST", f"/api/recordings/{seg(recording_id)}/tracks", model(UploadOut), token=join_token)


@op("POST", "/api/recordings/{recording_id}/stop")
def stop_recording(join_token: str, recording_id: str) -> Call[RecordingOut]:
    """Ask every uploader of the recording to stop and finalize."""
    return Call("POST", f"/api/recordings/{seg(recording_id)}/stop", model(RecordingOut), token=join_token)


@op("GET", "/api/recordings/active")
def active_recordings(join_token: str) -> Call[ActiveOut]:
    """Recordings running in the member's room (for a late joiner's indicator)."""
    return Call("GET", "/api/recordings/active", model(ActiveOut), token=join_token)


@op("PUT", "/api/recordings/upload/{track_id}/{seq}")
def upload_chunk(upload_key: str, track_id: str, seq: int, data: bytes, sha256: str) -> Call[ChunkOut]:
    """Store chunk ``seq`` of a track (idempotent: the same chunk again is acknowledged)."""
    path = f"/api/recordings/upload/{seg(track_id)}/{int(seq)}"
    headers = {"X-Chunk-Sha256": sha256, "Content-Type": "application/octet-stream"}
    return Call("PUT", path, model(ChunkOut), content=data, headers=headers, token=upload_key)


@op("GET", "/api/recordings/upload/{track_id}")
def upload_state(upload_key: str, track_id: str) -> Call[TrackOut]:
    """Where an interrupted upload goes on (``next_seq``)."""
    return Call("GET", f"/api/recordings/upload/{seg(track_id)}", model(TrackOut), token=upload_key)


@op("POST", "/api/recordings/upload/{track_id}/finalize")
def finalize_track(upload_key: str, track_id: str, chunks: int) -> Call[RecordingOut]:
    """The track is complete: assemble, verify and queue the post-processing."""
    path = f"/api/recordings/upload/{seg(track_id)}/finalize"
    return Call("POST", path, model(RecordingOut), json={"chunks": chunks}, token=upload_key)


@op("GET", "/api/recordings")
def list_recordings(room_id: str | None = None) -> Call[RecordingList]:
    """Recordings (of one room), newest first."""
    return Call("GET", "/api/recordings", model(RecordingList), params=query(room_id=room_id))


@op("GET", "/api/recordings/{recording_id}")
def get_recording(recording_id: str) -> Call[RecordingOut]:
    """A recording's state, job progress, duration and size."""
    return Call("GET", f"/api/recordings/{seg(recording_id)}", model(RecordingOut))


@op("DELETE", "/api/recordings/{recording_id}")
def delete_recording(recording_id: str) -> Call[None]:
    """Delete a recording and its files."""
    return Call("DELETE", f"/api/recordings/{seg(recording_id)}", as_none)


@op("POST", "/api/recordings/{recording_id}/links")
def recording_links(recording_id: str) -> Call[LinkOut]:
    """Signed, expiring download and thumbnail URLs."""
    return Call("POST", f"/api/recordings/{seg(recording_id)}/links", model(LinkOut))


@op("GET", "/api/recordings/{recording_id}/download")
def download_recording(recording_id: str) -> Call[bytes]:
    """The MP4 (held in memory: for large files use a signed link and stream it)."""
    return Call("GET", f"/api/recordings/{seg(recording_id)}/download", as_bytes)


@op("GET", "/api/recordings/{recording_id}/thumbnail")
def recording_thumbnail(recording_id: str) -> Call[bytes]:
    """The JPEG thumbnail."""
    return Call("GET", f"/api/recordings/{seg(recording_id)}/thumbnail", as_bytes)


# ---- webhooks ------------------------------------------------------------------
@op("POST", "/api/webhooks")
def create_webhook(url: str, events: list[EventType]) -> Call[WebhookCreated]:
    """Subscribe a URL; keep the returned ``secret`` to verify deliveries."""
    return Call("POST", "/api/webhooks", model(WebhookCreated), json={"url": url, "events": list(events)})


@op("GET", "/api/webhooks")
def list_webhooks() -> Call[WebhookList]:
    """This API key's webhook endpoints."""
    return Call("GET", "/api/webhooks", model(WebhookList))


@op("DELETE", "/api/webhooks/{webhook_id}")
def delete_webhook(webhook_id: str) -> Call[None]:
    """Unsubscribe (pending deliveries are dropped)."""
    return Call("DELETE", f"/api/webhooks/{seg(webhook_id)}", as_none)


@op("GET", "/api/webhooks/deliveries")
def webhook_deliveries(limit: int | None = None, endpoint_id: str | None = None) -> Call[DeliveryList]:
    """The delivery log of this key's webhooks, newest first."""
    params = query(limit=limit, endpoint_id=endpoint_id)
    return Call("GET", "/api/webhooks/deliveries", model(DeliveryList), params=params)
