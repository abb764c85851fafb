"""Accept, store and announce snapshots taken in a call (video-KYC evidence).

Who took a snapshot, in which room and call, is decided by the verified join token and
the live room membership — never by fields the client sends. A client only says *of
whom* (a peer id that must be in the room, checked here), *which request* it answers
(checked against the audit trail) and *how* it captured (a closed list). Every stored
snapshot has a ``captured`` audit entry written in the same transaction as its metadata.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from dataclasses import dataclass, field

from peercall.auth.tokens import JoinClaims
from peercall.errors import PeercallError
from peercall.hub.base import Member
from peercall.rooms.service import RoomService
from peercall.snapshots.audit import AuditEntry
from peercall.snapshots.images import ImageLimits, check_image
from peercall.snapshots.records import CaptureMethod, FocusMode, SnapshotRecord, Source
from peercall.snapshots.storage import BlobStore
from peercall.store.snapshots_sql import SnapshotStore
from peercall.webhooks.events import publish_safely

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SnapshotPolicy:
    limits: ImageLimits = field(default_factory=ImageLimits)
    max_per_room: int = 500
    max_per_minute: int = 30  # per capturing identity
    request_ttl_s: float = 120.0  # a host's request can be answered for this long


@dataclass(frozen=True)
class Upload:
    """What the client may say about its upload (all of it validated by the caller's schema)."""

    data: bytes
    content_type: str | None
    subject_peer: str | None  # None: the uploader itself
    request_id: str | None
    method: CaptureMethod
    torch: bool = False  # the device's torch was lit for the shot
    focus: FocusMode | None = None  # the focus mode used for the shot


class SnapshotService:
    def __init__(self, rooms: RoomService, store: SnapshotStore, blobs: BlobStore, policy: SnapshotPolicy) -> None:
        self.rooms = rooms
        self.store = store
        self.blobs = blobs
        self.policy = policy

    async def upload(self, claims: JoinClaims, upload: Upload) -> SnapshotRecord:
        room_id = claims.room_id
        await self.rooms.get_live_room(room_id)
        members = await self.rooms.hub.members(room_id)
        uploader = _by_identity(members, claims.identity)
        if uploader is None:
            raise PeercallError("forbidden", "join the call before uploading a snapshot")
        taken_by, subject, source = await self._who(room_id, claims, uploader, members, upload)
        now = time.time()
        if await self.store.count(room_id) >= self.policy.max_per_room:
            raise PeercallError("rate_limited", f"this room already has {self.policy.max_per_room} snapshots")
        if await self.store.count(room_id, captured_by=claims.identity, since=now - 60) >= self.policy.max_per_minute:
            raise PeercallError("rate_limited", "too many snapshots in the last minute")
        checked = await asyncio.to_thread(check_image, upload.data, upload.content_type, self.policy.limits)
        sha256, _ = await asyncio.to_thread(self.blobs.put, upload.data, checked.format.ext)
        call_id = self.rooms.call_id(room_id)
        record = SnapshotRecord(
            id=f"snap_{secrets.token_urlsafe(12)}",
            room_id=room_id,
            call_id=call_id,
            created_at=now,
            taken_by=taken_by,
            captured_by=claims.identity,
            subject=subject.identity,
            source=source,
            request_id=upload.request_id,
            method=upload.method,
            mime=checked.format.mime,
            ext=checked.format.ext,
            width=checked.width,
            height=checked.height,
            size=len(upload.data),
            sha256=sha256,
        )
        audit = AuditEntry(
            room_id=room_id,
            call_id=call_id,
            at=now,
            action="captured",
            actor=taken_by,
            device=claims.identity,
            subject=subject.identity,
            request_id=upload.request_id,
            snapshot_id=record.id,
            sha256=sha256,
            details={
                "method": upload.method,
                "source": source,
                "width": checked.width,
                "height": checked.height,
                "torch": upload.torch,
                "focus": upload.focus,
            },
        )
        await self.store.add(record, audit)
        log.info("snapshot stored", extra={"room_id": room_id, "snapshot_id": record.id, "sha256": sha256})
        await self.rooms.hub.broadcast(room_id, taken_frame(record, uploader, subject))
        await publish_safely(self.rooms.events, "snapshot.created", _event_data(record))
        return record

    async def _who(
        self, room_id: str, claims: JoinClaims, uploader: Member, members: list[Member], upload: Upload
    ) -> tuple[str, Member, Source]:
        """(taken_by, subject member, source) for this upload, or a refusal."""
        if upload.request_id is not None:
            requested, answered = await self.store.find_request(room_id, upload.request_id)
            if requested is None:
                raise PeercallError("not_found", "no such snapshot request in this room")
            if requested.device != claims.identity:
                raise PeercallError("forbidden", "this snapshot request was sent to someone else")
            if answered:
                raise PeercallError("forbidden", "this snapshot request was already answered")
            if time.time() - requested.at > self.policy.request_ttl_s:
                raise PeercallError("forbidden", "this snapshot request has expired")
            if upload.subject_peer not in (None, uploader.peer_id):
                raise PeercallError("bad_request", "a requested snapshot shows the device's own camera")
            return requested.actor, uploader, "request"
        if upload.subject_peer in (None, uploader.peer_id):
            return claims.identity, uploader, "local"
        if claims.role != "host":
            raise PeercallError("forbidden", "only a host can take a snapshot of another participant")
        subject = next((m for m in members if m.peer_id == upload.subject_peer), None)
        if subject is None:
            raise PeercallError("participant_not_found", f"peer {upload.subject_peer!r} is not in this room")
        return claims.identity, subject, "remote"

    async def get(self, snapshot_id: str) -> SnapshotRecord:
        record = await self.store.get(snapshot_id)
        if record is None:
            raise PeercallError("not_found", f"snapshot {snapshot_id!r} does not exist")
        return record

    async def image(self, snapshot_id: str) -> tuple[SnapshotRecord, bytes]:
        record = await self.get(snapshot_id)
        return record, await asyncio.to_thread(self.blobs.read, record.sha256, record.ext)


def taken_frame(record: SnapshotRecord, captured_by: Member, subject: Member) -> dict[str, object]:
    """The `snapshot-taken` frame everyone in the room receives."""
    return {
        "type": "snapshot-taken",
        "snapshot_id": record.id,
        "request_id": record.request_id,
        "taken_by": record.taken_by,
        "captured_by": captured_by.peer_id,
        "subject": subject.peer_id,
        "subject_identity": subject.identity,
        "source": record.source,
        "method": record.method,
        "width": record.width,
        "height": record.height,
        "sha256": record.sha256,
        "at": record.created_at,
    }


def _by_identity(members: list[Member], identity: str) -> Member | None:
    return next((m for m in members if m.identity == identity), None)


def _event_data(record: SnapshotRecord) -> dict[str, object]:
    """`snapshot.created`: the metadata, no image (fetch it over REST with the API key)."""
    keys = ("room_id", "call_id", "created_at", "taken_by", "captured_by", "subject", "source", "method")
    data: dict[str, object] = {"snapshot_id": record.id, **{k: getattr(record, k) for k in keys}}
    data.update(mime=record.mime, width=record.width, height=record.height, size=record.size, sha256=record.sha256)
    return data
