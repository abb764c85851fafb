"""Recordings over REST: start/stop (join token), chunk uploads (upload key), status,
list, delete and downloads (API key, or a signed expiring link)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.convertors import Convertor, register_url_convertor

from peercall.api.deps import ApiKey, Credentials, JoinToken, ServicesDep, require_api_key
from peercall.api.schemas import ErrorOut
from peercall.api.services import Services
from peercall.api.urls import base_url
from peercall.errors import PeercallError
from peercall.recording.service import NewTrack, RecordingService
from peercall.recording.store import RecordingRow
from peercall.security.audit import audited
from peercall.security.signed_urls import SIGNED_LINK_OPENAPI

CHUNK_PATH_PREFIX = "/api/recordings/upload/"


class _IdConvertor(Convertor[str]):
    """Match ids by shape in the route itself, so ``/active`` or ``/finalize`` never fall into
    an id route (a wrong method then gets 405, not a 422 about the id)."""

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


class _RecordingIdConvertor(_IdConvertor):
    regex = r"rec_[A-Za-z0-9_-]{12,40}"


class _TrackIdConvertor(_IdConvertor):
    regex = r"trk_[A-Za-z0-9_-]{12,40}"


register_url_convertor("recording_id", _RecordingIdConvertor())
register_url_convertor("track_id", _TrackIdConvertor())
RecordingId = Annotated[str, Path(pattern=r"^rec_[A-Za-z0-9_-]{12,40}$")]
TrackId = Annotated[str, Path(pattern=r"^trk_[A-Za-z0-9_-]{12,40}$")]

# Every route may refuse with the common error body; documenting them keeps the OpenAPI honest.
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (400, 401, 403, 404, 409, 413, 415, 429)
}
router = APIRouter(prefix="/api/recordings", tags=["recordings"], responses=_ERRORS)


class RecordingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: Literal["composite", "local", "double-ender"] = "composite"
    name: str | None = Field(None, min_length=1, max_length=80, pattern=r"^[\w .,:()#+-]+$")


class TrackOut(BaseModel):
    id: str
    identity: str
    complete: bool
    chunks: int
    bytes: int
    next_seq: int
    sha256: str | None


class UploadOut(BaseModel):
    recording_id: str
    track: TrackOut
    upload_key: str = Field(description="Authorization: Bearer <upload_key> for this track's chunk uploads")
    upload_url: str = Field(description="PUT {upload_url}/{seq} with header X-Chunk-Sha256")
    max_chunk_bytes: int


class ChunkOut(BaseModel):
    seq: int
    stored: bool
    next_seq: int
    bytes: int


class Finalize(BaseModel):
    model_config = ConfigDict(extra="forbid")
    chunks: int = Field(..., ge=1, le=1_000_000, description="How many chunks the client sent (0..chunks-1)")
    started_at: float | None = Field(None, description="Recording start, in server time (client clock + offset)")
    clock_offset_ms: float | None = Field(None, ge=-86_400_000, le=86_400_000)
    rtt_ms: float | None = Field(None, ge=0, le=60_000)


class RecordingOut(BaseModel):
    id: str
    room_id: str
    call_id: str | None
    mode: str
    name: str
    started_by: str
    state: str = Field(description="recording | processing | ready | failed")
    created_at: float
    stopped_at: float | None
    duration_s: float | None
    size: int | None
    source_size: int | None
    error: str | None
    job: dict[str, Any] | None = Field(None, description="status, stage, progress (0..1), attempts")
    tracks: list[TrackOut] = Field(default_factory=list)


class RecordingList(BaseModel):
    recordings: list[RecordingOut]


class LinkOut(BaseModel):
    url: str
    thumbnail_url: str
    expires_at: int


def _svc(svc: Services) -> RecordingService:
    if svc.recordings is None:
        raise PeercallError("not_found", "recording needs the SQL store")
    return svc.recordings


def _track_out(track: Any) -> TrackOut:
    return TrackOut(
        id=track.id,
        identity=track.identity,
        complete=track.complete,
        chunks=track.chunks,
        bytes=track.bytes,
        next_seq=track.chunks,
        sha256=track.sha256,
    )


def _upload_out(request: Request, svc: Services, new: NewTrack) -> UploadOut:
    base = base_url(request, svc.settings.public_url)
    return UploadOut(
        recording_id=new.recording.id,
        track=_track_out(new.track),
        upload_key=new.upload_key,
        upload_url=f"{base}{CHUNK_PATH_PREFIX}{new.track.id}",
        max_chunk_bytes=svc.settings.recording_max_chunk_bytes,
    )


async def _recording_out(recordings: RecordingService, row: RecordingRow) -> RecordingOut:
    job = await recordings.store.latest_job(row.id)
    job_out = None
    if job is not None:
        live = recordings.jobs.live.get(row.id)
        job_out = {
            "status": job.status,
            "stage": live.stage if live else job.stage,
            "progress": round(live.fraction if live else job.progress, 3),
            "attempts": job.attempts,
            "error": job.error,
        }
    fields = {k: v for k, v in row.__dict__.items() if k in RecordingOut.model_fields and k not in ("job", "tracks")}
    return RecordingOut(**fields, job=job_out, tracks=[_track_out(t) for t in row.tracks])


# ---- participants (join token) -------------------------------------------------
@router.post("", status_code=201, response_model=UploadOut, summary="Start recording the call (join token)")
async def start(body: RecordingCreate, claims: JoinToken, request: Request, svc: ServicesDep) -> UploadOut:
    new = await _svc(svc).start_recording(claims, body.mode, body.name)
    return _upload_out(request, svc, new)


class ActiveOut(BaseModel):
    recordings: list[dict[str, Any]] = Field(description="id, state, mode, started_by of running recordings")


@router.get("/active", response_model=ActiveOut, summary="Recordings running in my room (join token)")
async def active(claims: JoinToken, svc: ServicesDep) -> ActiveOut:
    """For late joiners: the indicator must show a recording that started before they came."""
    rows = await _svc(svc).store.active_in_room(claims.room_id)
    state = lambda r: "stopping" if r.stop_requested else "recording"  # noqa: E731
    return ActiveOut(
        recordings=[{"id": r.id, "state": state(r), "mode": r.mode, "started_by": r.started_by} for r in rows]
    )


@router.post(
    "/{recording_id:recording_id}/tracks",
    status_code=201,
    response_model=UploadOut,
    summary="Add my track (double-ender)",
)
async def add_track(recording_id: RecordingId, claims: JoinToken, request: Request, svc: ServicesDep) -> UploadOut:
    return _upload_out(request, svc, await _svc(svc).add_track(claims, recording_id))


@router.post("/{recording_id:recording_id}/stop", response_model=RecordingOut, summary="Stop a recording (join token)")
async def stop(recording_id: RecordingId, claims: JoinToken, svc: ServicesDep) -> RecordingOut:
    recordings = _svc(svc)
    return await _recording_out(recordings, await recordings.request_stop(claims, recording_id))


# ---- uploads (upload key) --------------------------------------------------------
def _upload_key(credentials: Credentials) -> str | None:
    return credentials.credentials if credentials else None


@router.put("/upload/{track_id:track_id}/{seq:int}", response_model=ChunkOut, summary="Upload one chunk (idempotent)")
async def put_chunk(
    track_id: TrackId,
    seq: Annotated[int, Path(ge=0, le=10_000_000)],
    request: Request,
    svc: ServicesDep,
    credentials: Credentials,
    sha256: Annotated[str, Header(alias="X-Chunk-Sha256", min_length=64, max_length=64)],
) -> ChunkOut:
    recordings = _svc(svc)
    track = await recordings.upload_track(track_id, _upload_key(credentials))
    ack = await recordings.uploads.put(track, seq, await request.body(), sha256.lower())
    return ChunkOut(seq=ack.seq, stored=ack.stored, next_seq=ack.next_seq, bytes=ack.bytes)


@router.get("/upload/{track_id:track_id}", response_model=TrackOut, summary="Upload state, to resume (next_seq)")
async def track_state(track_id: TrackId, svc: ServicesDep, credentials: Credentials) -> TrackOut:
    return _track_out(await _svc(svc).upload_track(track_id, _upload_key(credentials)))


@router.post(
    "/upload/{track_id:track_id}/finalize", response_model=RecordingOut, summary="Assemble and verify the track"
)
async def finalize(track_id: TrackId, body: Finalize, svc: ServicesDep, credentials: Credentials) -> RecordingOut:
    recordings = _svc(svc)
    track = await recordings.upload_track(track_id, _upload_key(credentials))
    clock = body.model_dump(exclude={"chunks"}, exclude_none=True)
    return await _recording_out(recordings, await recordings.finalize(track, body.chunks, clock))


# ---- dashboard (API key) ----------------------------------------------------------
@router.get("", response_model=RecordingList, dependencies=[ApiKey], summary="List recordings")
async def list_recordings(
    svc: ServicesDep, room_id: Annotated[str | None, Query(max_length=64)] = None
) -> RecordingList:
    recordings = _svc(svc)
    rows = await recordings.store.list_recordings(room_id)
    return RecordingList(recordings=[await _recording_out(recordings, row) for row in rows])


@router.get(
    "/{recording_id:recording_id}", response_model=RecordingOut, dependencies=[ApiKey], summary="Status and progress"
)
async def get_recording(recording_id: RecordingId, svc: ServicesDep) -> RecordingOut:
    recordings = _svc(svc)
    return await _recording_out(recordings, await recordings.get(recording_id))


@router.delete(
    "/{recording_id:recording_id}", status_code=204, dependencies=[ApiKey], summary="Delete a recording and its files"
)
async def delete_recording(recording_id: RecordingId, svc: ServicesDep) -> Response:
    await _svc(svc).delete(recording_id)
    return Response(status_code=204)


@router.post(
    "/{recording_id:recording_id}/links", response_model=LinkOut, dependencies=[ApiKey], summary="Signed download link"
)
async def make_link(recording_id: RecordingId, request: Request, svc: ServicesDep) -> LinkOut:
    recordings = _svc(svc)
    row = await recordings.get(recording_id)
    expires = recordings.links.expiry(svc.settings.recording_url_ttl)
    base, path = base_url(request, svc.settings.public_url), f"/api/recordings/{row.id}"
    return LinkOut(
        url=base + recordings.links.sign(f"{path}/download", expires=expires),
        thumbnail_url=base + recordings.links.sign(f"{path}/thumbnail", expires=expires),
        expires_at=expires,
    )


async def _authorized_file(
    request: Request, svc: Services, recording_id: str, credentials: Any, name: str
) -> tuple[RecordingRow, Any]:
    """A signed link opens exactly its own path; otherwise the API key is required (and the
    download is audited, see ``audited`` on the routes)."""
    recordings = _svc(svc)
    if recordings.links.carries_signature(request):
        recordings.links.verify_request(request)
    else:
        require_api_key(request, svc, credentials)
    row = await recordings.get(recording_id)
    return row, recordings.ready_file(row, name)


@router.get(
    "/{recording_id:recording_id}/download",
    summary="The MP4 (API key or signed link)",
    response_class=FileResponse,
    openapi_extra=SIGNED_LINK_OPENAPI,
)
@audited
async def download(
    recording_id: RecordingId, request: Request, svc: ServicesDep, credentials: Credentials
) -> FileResponse:
    row, path = await _authorized_file(request, svc, recording_id, credentials, "recording.mp4")
    return FileResponse(path, media_type="video/mp4", filename=f"{row.id}.mp4")


@router.get(
    "/{recording_id:recording_id}/thumbnail",
    summary="JPEG thumbnail (API key or signed link)",
    response_class=FileResponse,
    openapi_extra=SIGNED_LINK_OPENAPI,
)
@audited
async def thumbnail(
    recording_id: RecordingId, request: Request, svc: ServicesDep, credentials: Credentials
) -> FileResponse:
    _, path = await _authorized_file(request, svc, recording_id, credentials, "thumbnail.jpg")
    return FileResponse(path, media_type="image/jpeg")
