"""Recording tables (recordings, tracks, chunks, jobs) on the node's SQL engine.

The tables live in :mod:`peercall.store.tables.recordings` (built by the store's
migrations); the same SQLAlchemy Core style as the call store, one transaction per write.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from peercall.store.tables.recordings import chunks, jobs, recordings, tracks


@dataclass(frozen=True)
class TrackRow:
    id: str
    recording_id: str
    identity: str
    peer_id: str | None
    upload_key_hash: str
    complete: bool
    chunks: int
    bytes: int
    sha256: str | None
    clock: dict[str, Any]


@dataclass(frozen=True)
class RecordingRow:
    id: str
    room_id: str
    call_id: str | None
    mode: str
    name: str
    started_by: str
    state: str
    stop_requested: bool
    watermark: str | None
    created_at: float
    stopped_at: float | None
    duration_s: float | None
    size: int | None
    source_size: int | None
    error: str | None
    tracks: list[TrackRow] = field(default_factory=list)


@dataclass(frozen=True)
class JobRow:
    id: int
    recording_id: str
    status: str
    stage: str
    progress: float
    attempts: int
    error: str | None


class RecordingStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def open(self) -> None:
        """Nothing to create: the store's migrations built the tables (kept for callers)."""

    # ---- recordings -------------------------------------------------------
    async def create(self, row: RecordingRow) -> None:
        values = {k: v for k, v in row.__dict__.items() if k != "tracks"}
        async with self.engine.begin() as conn:
            await conn.execute(recordings.insert().values(**values))

    async def get(self, recording_id: str) -> RecordingRow | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(recordings.select().where(recordings.c.id == recording_id))).first()
            if row is None:
                return None
            found = (await conn.execute(tracks.select().where(tracks.c.recording_id == recording_id))).all()
        return _recording(row, [_track(t) for t in found])

    async def list_recordings(self, room_id: str | None = None, *, limit: int = 100) -> list[RecordingRow]:
        query = recordings.select().where(recordings.c.state != "deleted")
        if room_id:
            query = query.where(recordings.c.room_id == room_id)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query.order_by(recordings.c.created_at.desc()).limit(limit))).all()
        return [_recording(row, []) for row in rows]

    async def update(self, recording_id: str, **values: Any) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(recordings.update().where(recordings.c.id == recording_id).values(**values))

    async def expired(self, before: float) -> list[str]:
        query = sa.select(recordings.c.id).where(recordings.c.created_at < before, recordings.c.state != "deleted")
        async with self.engine.connect() as conn:
            return [row.id for row in await conn.execute(query)]

    async def active_in_room(self, room_id: str) -> list[RecordingRow]:
        query = recordings.select().where(recordings.c.room_id == room_id, recordings.c.state == "recording")
        async with self.engine.connect() as conn:
            return [_recording(row, []) for row in await conn.execute(query)]

    async def active_anywhere(self) -> list[RecordingRow]:
        """Every recording still running, in any room (one query, however many rooms exist)."""
        query = recordings.select().where(recordings.c.state == "recording")
        async with self.engine.connect() as conn:
            return [_recording(row, []) for row in await conn.execute(query)]

    # ---- tracks and chunks ------------------------------------------------
    async def add_track(self, row: TrackRow) -> None:
        values = {**row.__dict__, "clock": json.dumps(row.clock)}
        async with self.engine.begin() as conn:
            await conn.execute(tracks.insert().values(**values))

    async def get_track(self, track_id: str) -> TrackRow | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(tracks.select().where(tracks.c.id == track_id))).first()
        return _track(row) if row else None

    async def chunk(self, track_id: str, seq: int) -> tuple[int, str] | None:
        query = sa.select(chunks.c.size, chunks.c.sha256).where(chunks.c.track_id == track_id, chunks.c.seq == seq)
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return (row.size, row.sha256) if row else None

    async def add_chunk(self, track_id: str, seq: int, size: int, sha256: str) -> None:
        """Acknowledge a chunk whose file is already durable (fsync + rename done)."""
        async with self.engine.begin() as conn:
            await conn.execute(chunks.insert().values(track_id=track_id, seq=seq, size=size, sha256=sha256))
            await conn.execute(
                tracks.update()
                .where(tracks.c.id == track_id)
                .values(chunks=tracks.c.chunks + 1, bytes=tracks.c.bytes + size)
            )

    async def chunk_list(self, track_id: str) -> list[tuple[int, int, str]]:
        query = sa.select(chunks.c.seq, chunks.c.size, chunks.c.sha256).where(chunks.c.track_id == track_id)
        async with self.engine.connect() as conn:
            return [(r.seq, r.size, r.sha256) for r in await conn.execute(query.order_by(chunks.c.seq))]

    async def complete_track(
        self, track_id: str, sha256: str, clock: dict[str, Any], *, size: int | None = None
    ) -> None:
        """Mark a track complete; ``size`` for files written by the server itself (no chunks)."""
        extra = {} if size is None else {"bytes": size}
        async with self.engine.begin() as conn:
            await conn.execute(
                tracks.update()
                .where(tracks.c.id == track_id)
                .values(complete=True, sha256=sha256, clock=json.dumps(clock), **extra)
            )

    async def drop_tracks(self, track_ids: list[str]) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(chunks.delete().where(chunks.c.track_id.in_(track_ids)))
            await conn.execute(tracks.delete().where(tracks.c.id.in_(track_ids)))

    # ---- jobs -------------------------------------------------------------
    async def enqueue(self, recording_id: str) -> None:
        now = time.time()
        async with self.engine.begin() as conn:
            await conn.execute(
                jobs.insert().values(recording_id=recording_id, status="queued", created_at=now, updated_at=now)
            )

    async def requeue_interrupted(self) -> int:
        """After a restart: jobs that were running when the process died run again."""
        async with self.engine.begin() as conn:
            result = await conn.execute(
                jobs.update().where(jobs.c.status == "running").values(status="queued", updated_at=time.time())
            )
        return int(result.rowcount or 0)

    async def next_job(self) -> JobRow | None:
        query = jobs.select().where(jobs.c.status == "queued").order_by(jobs.c.id).limit(1)
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return _job(row) if row else None

    async def latest_job(self, recording_id: str) -> JobRow | None:
        query = jobs.select().where(jobs.c.recording_id == recording_id).order_by(jobs.c.id.desc()).limit(1)
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return _job(row) if row else None

    async def update_job(self, job_id: int, **values: Any) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(jobs.update().where(jobs.c.id == job_id).values(updated_at=time.time(), **values))


def _track(row: Any) -> TrackRow:
    return TrackRow(
        id=row.id,
        recording_id=row.recording_id,
        identity=row.identity,
        peer_id=row.peer_id,
        upload_key_hash=row.upload_key_hash,
        complete=bool(row.complete),
        chunks=row.chunks,
        bytes=row.bytes,
        sha256=row.sha256,
        clock=json.loads(row.clock or "{}"),
    )


def _recording(row: Any, track_rows: list[TrackRow]) -> RecordingRow:
    return RecordingRow(
        id=row.id,
        room_id=row.room_id,
        call_id=row.call_id,
        mode=row.mode,
        name=row.name,
        started_by=row.started_by,
        state=row.state,
        stop_requested=bool(row.stop_requested),
        watermark=row.watermark,
        created_at=row.created_at,
        stopped_at=row.stopped_at,
        duration_s=row.duration_s,
        size=row.size,
        source_size=row.source_size,
        error=row.error,
        tracks=track_rows,
    )


def _job(row: Any) -> JobRow:
    return JobRow(
        id=row.id,
        recording_id=row.recording_id,
        status=row.status,
        stage=row.stage,
        progress=row.progress,
        attempts=row.attempts,
        error=row.error,
    )
