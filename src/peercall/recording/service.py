"""Recording service: who may record, the recording's life cycle, jobs, files, links.

Life cycle (``state``): ``recording`` (tracks uploading) → ``processing`` (all tracks
finalized, job queued or running) → ``ready`` | ``failed``; ``deleted`` by REST or
retention. Both participants see ``recording-state`` frames when it starts and stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from peercall.auth.tokens import JoinClaims
from peercall.config import Settings
from peercall.errors import PeercallError
from peercall.hub.base import Hub, HubUnavailable
from peercall.recording import pipeline
from peercall.recording.chunks import RecordingFiles, UploadSessions
from peercall.recording.ffmpeg import TranscodeOptions
from peercall.recording.jobs import JobRunner, Report
from peercall.recording.policy import SERVER_MODE, recording_policy
from peercall.recording.store import RecordingRow, RecordingStore, TrackRow
from peercall.rooms.service import RoomService
from peercall.security.signed_urls import UrlSigner
from peercall.webhooks.events import publish_safely

log = logging.getLogger(__name__)

Mode = Literal["composite", "local", "double-ender"]
Policy = Literal["off", "host", "any", "server"]


def transcode_options(settings: Settings, *, watermark: str | None = None) -> TranscodeOptions:
    """The server's encoder settings; ``watermark`` (text, ``{time}`` = running time) wins over the config."""
    return TranscodeOptions(
        crf=settings.recording_crf,
        preset=settings.recording_preset,
        tune=settings.recording_tune,
        audio_bitrate_k=settings.recording_audio_kbps,
        threads=settings.recording_threads,
        watermark_text=watermark,
        watermark_image=settings.recording_watermark_image,
    )


@dataclass(frozen=True)
class NewTrack:
    recording: RecordingRow
    track: TrackRow
    upload_key: str


class RecordingService:
    def __init__(
        self, settings: Settings, store: RecordingStore, rooms: RoomService, hub: Hub, links: UrlSigner
    ) -> None:
        self.settings = settings
        self.store = store
        self.rooms = rooms
        self.hub = hub
        self.files = RecordingFiles(settings.resolved_recording_dir())
        self.uploads = UploadSessions(
            store,
            self.files,
            max_chunk=settings.recording_max_chunk_bytes,
            max_bytes=settings.recording_max_bytes,
            max_chunks=settings.recording_max_chunks,
        )
        self.jobs = JobRunner(store, self._process, self._mark_failed)
        self.links = links  # signs download links (one signer per node, shared with snapshots)
        self._sweeper: asyncio.Task[None] | None = None
        # Set by the RecorderService (recording/recorder.py): ask a room's recorder peer to stop.
        self.stop_server_recorder: Callable[[str], None] = lambda _room_id: None

    async def start(self) -> None:
        await self.store.open()
        await self.jobs.start()
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="recording-retention")

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        await self.jobs.stop()

    # ---- starting and stopping ------------------------------------------
    async def start_recording(self, claims: JoinClaims, mode: Mode, name: str | None) -> NewTrack:
        room = await self.rooms.get_live_room(claims.room_id)
        policy = recording_policy(room.settings)
        if policy == SERVER_MODE:
            raise PeercallError("forbidden", "this room is recorded by the server; browsers do not record it")
        if policy not in ("host", "any") or (policy == "host" and claims.role != "host"):
            raise PeercallError("forbidden", f"this room's recording setting ({policy!r}) does not let you record")
        member = await self._member(claims)
        await self.salvage_abandoned(claims.room_id)
        if await self.store.active_in_room(claims.room_id):
            raise PeercallError("recording_closed", "a recording is already running in this room")
        row = self._new_row(room, mode, name, claims.identity)
        await self.store.create(row)
        new = await self._new_track(row, claims.identity, member)
        await self._announce(row, "recording")
        return new

    def _new_row(self, room: Any, mode: str, name: str | None, started_by: str) -> RecordingRow:
        template = room.settings.get("recording_watermark") or self.settings.recording_watermark
        watermark = str(template).replace("{room}", room.name or room.id)[:200] if template else None
        return RecordingRow(
            id=f"rec_{secrets.token_urlsafe(12)}",
            room_id=room.id,
            call_id=self.rooms.call_id(room.id),
            mode=mode,
            name=name or f"{room.name or room.id} {time.strftime('%Y-%m-%d %H:%M')}",
            started_by=started_by,
            state="recording",
            stop_requested=False,
            watermark=watermark,
            created_at=time.time(),
            stopped_at=None,
            duration_s=None,
            size=None,
            source_size=None,
            error=None,
        )

    async def add_track(self, claims: JoinClaims, recording_id: str) -> NewTrack:
        """Double-ender: the other participant records its own side into the same recording."""
        row = await self.get(recording_id)
        if row.room_id != claims.room_id or row.mode != "double-ender":
            raise PeercallError("forbidden", "this recording takes no track from you")
        if row.state != "recording" or row.stop_requested:
            raise PeercallError("recording_closed", "this recording has stopped")
        if any(t.identity == claims.identity for t in row.tracks):
            raise PeercallError("recording_closed", "you already have a track in this recording")
        return await self._new_track(row, claims.identity, await self._member(claims))

    async def request_stop(self, claims: JoinClaims, recording_id: str) -> RecordingRow:
        row = await self.get(recording_id)
        if row.room_id != claims.room_id:
            raise PeercallError("forbidden", "not a recording of your room")
        if row.state == "recording" and not row.stop_requested:
            await self.store.update(row.id, stop_requested=True, stopped_at=time.time())
            await self._announce(row, "stopping")
            if row.mode == SERVER_MODE:  # the recorder closes its files, then the job starts
                self.stop_server_recorder(row.room_id)
        return await self._maybe_finish(row.id)

    async def _new_track(self, row: RecordingRow, identity: str, peer_id: str | None) -> NewTrack:
        key = secrets.token_urlsafe(24)
        track = TrackRow(
            id=f"trk_{secrets.token_urlsafe(12)}",
            recording_id=row.id,
            identity=identity,
            peer_id=peer_id,
            upload_key_hash=hashlib.sha256(key.encode()).hexdigest(),
            complete=False,
            chunks=0,
            bytes=0,
            sha256=None,
            clock={},
        )
        await self.store.add_track(track)
        return NewTrack(row, track, key)

    async def _member(self, claims: JoinClaims) -> str:
        members = await self.hub.members(claims.room_id)
        for member in members:
            if member.identity == claims.identity:
                return member.peer_id
        raise PeercallError("forbidden", "join the call before recording it")

    async def _announce(self, row: RecordingRow, state: str) -> None:
        frame = {
            "type": "recording-state",
            "recording": {"id": row.id, "state": state, "mode": row.mode, "started_by": row.started_by},
        }
        await self.hub.broadcast(row.room_id, frame)

    # ---- server-side recording (the recorder peer, recording/recorder.py) ----
    async def open_server_recording(self, room_id: str) -> RecordingRow:
        """A recording of the whole call by the server's recorder; everyone sees the indicator."""
        room = await self.rooms.get_live_room(room_id)
        row = self._new_row(room, SERVER_MODE, None, SERVER_MODE)
        await self.store.create(row)
        await self._announce(row, "recording")
        return row

    async def add_server_track(self, row: RecordingRow, identity: str, peer_id: str) -> TrackRow:
        """One file per member; no upload key works for it (the hash of a random key)."""
        return (await self._new_track(row, identity, peer_id)).track

    async def complete_server_track(self, track: TrackRow, clock: dict[str, Any]) -> None:
        path = self.files.track_file(track.recording_id, track.id)
        size, digest = await asyncio.to_thread(_file_digest, path)
        await self.store.complete_track(track.id, digest, clock, size=size)

    async def end_server_recording(self, recording_id: str) -> RecordingRow:
        """The recorder closed its files: process what it wrote (empty tracks dropped)."""
        row = await self.get(recording_id)
        if row.state != "recording":
            return row
        if not row.stop_requested:
            await self.store.update(row.id, stop_requested=True, stopped_at=time.time())
        if not any(t.complete and t.bytes for t in row.tracks):
            await self.store.update(row.id, state="failed", error="the recorder received no media")
            await self._announce(row, "stopped")
            return await self.get(recording_id)
        empty = [t.id for t in row.tracks if not (t.complete and t.bytes)]
        if empty:
            await self.store.drop_tracks(empty)
        return await self._maybe_finish(row.id)

    # ---- uploads ----------------------------------------------------------
    async def upload_track(self, track_id: str, upload_key: str | None) -> TrackRow:
        track = await self.store.get_track(track_id) if track_id.startswith("trk_") else None
        expected = track.upload_key_hash if track else "0" * 64
        given = hashlib.sha256((upload_key or "").encode()).hexdigest()
        if track is None or not hmac.compare_digest(expected, given):
            raise PeercallError("not_found", "no such track (or a wrong upload key)")
        return track

    async def finalize(self, track: TrackRow, chunks: int, clock: dict[str, Any]) -> RecordingRow:
        if not track.complete:
            _, digest = await self.uploads.finalize(track, chunks)
            await self.store.complete_track(track.id, digest, clock)
        row = await self.get(track.recording_id)
        if row.mode != "double-ender" and not row.stop_requested:
            await self.store.update(row.id, stop_requested=True, stopped_at=time.time())
        return await self._maybe_finish(row.id)

    async def _maybe_finish(self, recording_id: str) -> RecordingRow:
        row = await self.get(recording_id)
        if row.state == "recording" and row.stop_requested and row.tracks and all(t.complete for t in row.tracks):
            size = sum(t.bytes for t in row.tracks)
            await self.store.update(row.id, state="processing", source_size=size)
            await self.jobs.enqueue(row.id)
            await self._announce(row, "stopped")
            row = await self.get(recording_id)
        return row

    async def salvage_abandoned(self, room_id: str | None = None) -> int:
        """Recordings whose uploaders all left the room without stopping (tab closed,
        crashed): what they uploaded is kept, finalized as it is and processed."""
        # From the running recordings to their rooms, not from every room of the cluster to
        # its recordings: a query per room each minute was O(rooms) work on every node.
        running = await (self.store.active_in_room(room_id) if room_id else self.store.active_anywhere())
        by_room: dict[str, list[RecordingRow]] = {}
        for row in running:
            by_room.setdefault(row.room_id, []).append(row)
        salvaged = 0
        for rid, actives in by_room.items():
            present = {m.identity for m in await self.hub.members(rid)}
            for active in actives:
                if active.mode == SERVER_MODE:
                    continue  # the recorder finishes it (or RecorderService._salvage after a crash)
                row = await self.get(active.id)
                if any(t.identity in present for t in row.tracks if not t.complete):
                    continue
                for track in row.tracks:
                    if not track.complete and track.chunks:
                        _, digest = await self.uploads.finalize(track, track.chunks)
                        await self.store.complete_track(track.id, digest, {**track.clock, "salvaged": True})
                row = await self.get(active.id)
                if not any(t.complete for t in row.tracks):
                    await self.store.update(row.id, state="failed", error="abandoned before any chunk was uploaded")
                    await self._announce(row, "stopped")
                    continue
                await self.store.update(row.id, stop_requested=True, stopped_at=time.time())
                await self._finish_complete_tracks(row.id)
                salvaged += 1
        if salvaged:
            log.info("recording: salvaged %d abandoned recording(s)", salvaged)
        return salvaged

    async def _finish_complete_tracks(self, recording_id: str) -> None:
        """Process what is complete; tracks that never got a chunk are dropped."""
        row = await self.get(recording_id)
        empty = [t for t in row.tracks if not t.complete]
        if empty:
            await self.store.drop_tracks([t.id for t in empty])
        await self._maybe_finish(recording_id)

    # ---- processing -------------------------------------------------------
    async def _process(self, recording_id: str, report: Report) -> None:
        row = await self.get(recording_id)
        if row.state == "deleted":
            return
        options = transcode_options(self.settings, watermark=row.watermark)
        limits = pipeline.Limits(
            base_s=self.settings.recording_job_timeout_base_s,
            per_media_s=self.settings.recording_job_timeout_per_media_s,
        )
        sources = [self.files.track_file(row.id, t.id) for t in row.tracks]
        mp4 = self.files.output(row.id, "recording.mp4")
        thumb = self.files.output(row.id, "thumbnail.jpg")
        if len(sources) == 1:
            result = await pipeline.process(
                sources[0], mp4, options, thumbnail=thumb, limits=limits, on_progress=report
            )
        else:
            from peercall.recording.compose import compose_tracks

            result = await compose_tracks(
                row, sources, mp4, options, thumbnail=thumb, limits=limits, on_progress=report
            )
        if await self._deleted_meanwhile(row.id):
            return
        await self.store.update(row.id, state="ready", duration_s=result.duration_s, size=result.size, error=None)
        ready: dict[str, Any] = {"recording_id": row.id, "room_id": row.room_id, "call_id": row.call_id}
        ready.update(mode=row.mode, name=row.name, duration_s=result.duration_s, size=result.size)
        await publish_safely(self.rooms.events, "recording.ready", ready)

    async def _mark_failed(self, recording_id: str, error: str) -> None:
        if not await self._deleted_meanwhile(recording_id):
            await self.store.update(recording_id, state="failed", error=error)

    async def _deleted_meanwhile(self, recording_id: str) -> bool:
        """A recording deleted while its job ran: drop whatever the job wrote."""
        current = await self.store.get(recording_id)
        if current is None or current.state == "deleted":
            await asyncio.to_thread(self.files.remove, recording_id)
            return True
        return False

    # ---- dashboard ----------------------------------------------------------
    async def get(self, recording_id: str) -> RecordingRow:
        row = await self.store.get(recording_id) if recording_id.startswith("rec_") else None
        if row is None or row.state == "deleted":
            raise PeercallError("not_found", f"no recording {recording_id[:80]!r}")
        return row

    async def delete(self, recording_id: str) -> None:
        row = await self.get(recording_id)
        await self.store.update(row.id, state="deleted")
        await asyncio.to_thread(self.files.remove, row.id)

    def ready_file(self, row: RecordingRow, name: str) -> Path:
        if row.state != "ready":
            raise PeercallError("recording_not_ready", f"recording is {row.state}")
        path = self.files.output(row.id, name)
        if not path.is_file():
            raise PeercallError("not_found", f"{name} is missing")
        return path

    async def sweep(self) -> int:
        """Delete recordings older than the retention period (files and row state)."""
        before = time.time() - self.settings.recording_retention_days * 86400
        expired = await self.store.expired(before)
        for recording_id in expired:
            await self.store.update(recording_id, state="deleted")
            await asyncio.to_thread(self.files.remove, recording_id)
        if expired:
            log.info("recording retention: deleted %d recording(s)", len(expired))
        return len(expired)

    async def _sweep_forever(self) -> None:
        interval = min(self.settings.recording_sweep_s, max(1.0, self.settings.recording_retention_days * 86400 / 10))
        while True:
            try:
                await self.salvage_abandoned()
                await self.sweep()
            except HubUnavailable as exc:  # Redis away: the next round tries again
                log.warning("recording sweep: hub unavailable", extra={"error": str(exc)})
            except Exception:
                log.exception("recording sweep failed")
            await asyncio.sleep(interval)


def _file_digest(path: Path) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    if path.is_file():
        with path.open("rb") as source:
            while block := source.read(1 << 20):
                digest.update(block)
                size += len(block)
    return size, digest.hexdigest()
