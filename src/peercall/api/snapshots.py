"""Snapshot REST routes: upload (join token), listing, metadata, image, audit trail.

Uploads are the raw image bytes (``Content-Type: image/jpeg|png|webp``) so no multipart
parser sits in front of the validation; the join token's room and identity decide where
the snapshot belongs and who took it. Reading is for the dashboard (API key) and for a
host of the same room (their join token), who sees the thumbnails in the call.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, Field

from peercall.api.deps import Credentials, JoinToken, ServicesDep, require_api_key
from peercall.api.schemas import ErrorOut
from peercall.api.urls import base_url
from peercall.config import Settings
from peercall.errors import PeercallError
from peercall.security.audit import audited
from peercall.security.signed_urls import SIGNED_LINK_OPENAPI
from peercall.snapshots import Upload
from peercall.snapshots.audit import verify_chain
from peercall.snapshots.records import CaptureMethod, FocusMode, SnapshotRecord

router = APIRouter(tags=["snapshots"], responses={401: {"model": ErrorOut}})

UPLOAD_PATH = "/api/snapshots"
_ID = r"^[A-Za-z0-9_-]{1,64}$"


def body_limits(settings: Settings) -> dict[str, int]:
    """The upload route's own request-body cap for the BodySizeLimit middleware."""
    return {UPLOAD_PATH: settings.snapshot_max_bytes}


class SnapshotOut(BaseModel):
    id: str
    room_id: str
    call_id: str | None
    created_at: float
    taken_by: str = Field(description="Identity who took it: the host who asked, or the uploader")
    captured_by: str = Field(description="Identity whose device produced the image")
    subject: str = Field(description="Identity shown in the image")
    source: str = Field(description="local (own camera) | remote (a received track) | request (host's request)")
    request_id: str | None
    method: str = Field(description="takePhoto | grabFrame | canvas")
    mime: str
    width: int
    height: int
    size: int
    sha256: str
    image_url: str


class SnapshotList(BaseModel):
    snapshots: list[SnapshotOut]


class AuditOut(BaseModel):
    seq: int
    at: float
    action: str
    actor: str
    device: str | None
    subject: str | None
    call_id: str | None
    request_id: str | None
    snapshot_id: str | None
    sha256: str | None
    details: dict[str, Any]
    prev_hash: str
    hash: str


class AuditTrail(BaseModel):
    room_id: str
    intact: bool = Field(description="The hash chain verifies from the first entry to the last")
    broken_at: int | None = Field(description="seq of the first entry that does not verify")
    head: str | None = Field(
        description="Hash of the last entry: keep it outside peercall to also detect entries removed from the end"
    )
    entries: list[AuditOut]


def _out(record: SnapshotRecord) -> SnapshotOut:
    data = asdict(record)
    data.pop("ext")
    return SnapshotOut(**data, image_url=f"/api/snapshots/{record.id}/image")


async def _reader(request: Request, svc: ServicesDep, credentials: Credentials, snapshot_id: str) -> SnapshotRecord:
    """The snapshot, if the caller holds an API key (read scope) or is a host of its room."""
    record = await svc.snapshots.get(snapshot_id)
    try:
        require_api_key(request, svc, credentials)
        return record
    except PeercallError:
        token = credentials.credentials if credentials else None
        if not token or token.count(".") != 2:  # not a JWT either: the API-key refusal stands
            raise
    claims = svc.tokens.verify(token)
    if claims.role != "host" or claims.room_id != record.room_id:
        raise PeercallError("forbidden", "only the dashboard or a host of this room can see this snapshot")
    return record


Readable = Annotated[SnapshotRecord, Depends(_reader)]


async def _image_reader(
    request: Request, svc: ServicesDep, credentials: Credentials, snapshot_id: str
) -> SnapshotRecord:
    """The image also opens with a signed link (``POST .../links``), for a browser or a
    download tool that should not hold the API key."""
    if svc.links.carries_signature(request):
        svc.links.verify_request(request)
        return await svc.snapshots.get(snapshot_id)
    return await _reader(request, svc, credentials, snapshot_id)


class SnapshotLinkOut(BaseModel):
    url: str
    expires_at: int


_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorOut}, 403: {"model": ErrorOut}}


@router.post(
    UPLOAD_PATH,
    status_code=201,
    response_model=SnapshotOut,
    summary="Upload a snapshot (join token; body: the image bytes)",
    responses={403: {"model": ErrorOut}, 404: {"model": ErrorOut}, 413: {"model": ErrorOut}, 415: {"model": ErrorOut}},
)
async def upload(
    request: Request,
    svc: ServicesDep,
    claims: JoinToken,
    subject: Annotated[str | None, Query(pattern=_ID, description="Peer id shown; default: yourself")] = None,
    request_id: Annotated[str | None, Query(min_length=8, max_length=64, pattern=_ID)] = None,
    method: Annotated[CaptureMethod, Query(description="How the image was captured")] = "canvas",
    torch: Annotated[bool, Query(description="The torch was lit for the shot (kept in the audit entry)")] = False,
    focus: Annotated[FocusMode | None, Query(description="Focus mode used (kept in the audit entry)")] = None,
) -> SnapshotOut:
    content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower() or None
    declared = request.headers.get("content-length")
    limit = svc.settings.snapshot_max_bytes
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PeercallError("payload_too_large", f"a snapshot may be at most {limit} bytes")
    data = await request.body()
    record = await svc.snapshots.upload(claims, Upload(data, content_type, subject, request_id, method, torch, focus))
    return _out(record)


@router.get(
    "/api/rooms/{room_id}/snapshots",
    response_model=SnapshotList,
    summary="Snapshots of a room, oldest first",
    dependencies=[Depends(require_api_key)],
    responses=_NOT_FOUND,
)
async def list_snapshots(room_id: str, svc: ServicesDep) -> SnapshotList:
    if await svc.store.get_room(room_id) is None:
        raise PeercallError("room_not_found", f"room {room_id!r} does not exist")
    return SnapshotList(snapshots=[_out(r) for r in await svc.snapshots.store.list_room(room_id)])


@router.get(
    "/api/snapshots/{snapshot_id}", response_model=SnapshotOut, summary="A snapshot's metadata", responses=_NOT_FOUND
)
async def get_snapshot(record: Readable) -> SnapshotOut:
    return _out(record)


@router.get(
    "/api/snapshots/{snapshot_id}/image",
    summary="The snapshot image, byte for byte as uploaded (its SHA-256 is in the metadata)",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}}, **_NOT_FOUND},
    openapi_extra=SIGNED_LINK_OPENAPI,
)
@audited
async def get_image(record: Annotated[SnapshotRecord, Depends(_image_reader)], svc: ServicesDep) -> Response:
    _, data = await svc.snapshots.image(record.id)
    headers = {"Cache-Control": "private, no-store", "ETag": f'"{record.sha256}"', "X-Content-SHA256": record.sha256}
    return Response(data, media_type=record.mime, headers=headers)


@router.post(
    "/api/snapshots/{snapshot_id}/links",
    response_model=SnapshotLinkOut,
    summary="A short-lived signed link to the image (who asked is in the audit log)",
    dependencies=[Depends(require_api_key)],
    responses=_NOT_FOUND,
)
async def make_link(
    snapshot_id: Annotated[str, Path(pattern=_ID)], request: Request, svc: ServicesDep
) -> SnapshotLinkOut:
    record = await svc.snapshots.get(snapshot_id)
    expires = svc.links.expiry(svc.settings.recording_url_ttl)
    path = f"/api/snapshots/{record.id}/image"
    return SnapshotLinkOut(
        url=base_url(request, svc.settings.public_url) + svc.links.sign(path, expires=expires), expires_at=expires
    )


@router.get(
    "/api/rooms/{room_id}/audit",
    response_model=AuditTrail,
    summary="The room's snapshot audit trail (hash-chained) and whether it verifies",
    dependencies=[Depends(require_api_key)],
    responses=_NOT_FOUND,
)
async def audit_trail(room_id: str, svc: ServicesDep) -> AuditTrail:
    if await svc.store.get_room(room_id) is None:
        raise PeercallError("room_not_found", f"room {room_id!r} does not exist")
    entries = await svc.snapshots.store.audit_trail(room_id)
    broken = verify_chain(entries)
    return AuditTrail(
        room_id=room_id,
        intact=broken is None,
        broken_at=broken,
        head=entries[-1].hash if entries else None,
        entries=[AuditOut(**{k: v for k, v in asdict(e).items() if k != "room_id"}) for e in entries],
    )
