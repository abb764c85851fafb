"""Recordings, their tracks, uploaded chunks and post-processing jobs."""

from __future__ import annotations

import sqlalchemy as sa

from peercall.store.metadata import metadata

recordings = sa.Table(
    "recordings",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("room_id", sa.String(64), nullable=False, index=True),
    sa.Column("call_id", sa.String(64), nullable=True),
    sa.Column("mode", sa.String(16), nullable=False),
    sa.Column("name", sa.String(80), nullable=False),
    sa.Column("started_by", sa.String(64), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # RecordingState
    sa.Column("stop_requested", sa.Boolean, nullable=False, default=False),
    sa.Column("watermark", sa.String(200), nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("stopped_at", sa.Float, nullable=True),
    sa.Column("duration_s", sa.Float, nullable=True),
    sa.Column("size", sa.Integer, nullable=True),
    sa.Column("source_size", sa.Integer, nullable=True),
    sa.Column("error", sa.String(500), nullable=True),
)

tracks = sa.Table(
    "recording_tracks",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("recording_id", sa.String(64), sa.ForeignKey("recordings.id"), nullable=False, index=True),
    sa.Column("identity", sa.String(64), nullable=False),
    sa.Column("peer_id", sa.String(64), nullable=True),
    sa.Column("upload_key_hash", sa.String(64), nullable=False),
    sa.Column("complete", sa.Boolean, nullable=False, default=False),
    sa.Column("chunks", sa.Integer, nullable=False, default=0),
    sa.Column("bytes", sa.Integer, nullable=False, default=0),
    sa.Column("sha256", sa.String(64), nullable=True),
    sa.Column("clock", sa.Text, nullable=False, default="{}"),  # start time in server clock, offset, rtt
)

chunks = sa.Table(
    "recording_chunks",
    metadata,
    sa.Column("track_id", sa.String(64), sa.ForeignKey("recording_tracks.id"), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
)

jobs = sa.Table(
    "recording_jobs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("recording_id", sa.String(64), sa.ForeignKey("recordings.id"), nullable=False, index=True),
    sa.Column("status", sa.String(16), nullable=False),  # queued | running | done | failed
    sa.Column("stage", sa.String(16), nullable=False, default=""),
    sa.Column("progress", sa.Float, nullable=False, default=0.0),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("error", sa.String(500), nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)
