"""Initial schema: every table as `create_all` built it before migrations existed.

Run on such a database, it creates only the missing tables and triggers (adoption).

Revision ID: 0001
Revises:
Create Date: 2026-12-03 23:28:00.404599
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The snapshot audit trail is append-only in the database itself, not only in the code:
# an UPDATE, DELETE (or, on PostgreSQL, TRUNCATE) aborts.
_APPEND_ONLY = {
    "sqlite": [
        f"CREATE TRIGGER IF NOT EXISTS snapshot_audit_no_{op_.lower()} BEFORE {op_} ON snapshot_audit "
        "BEGIN SELECT RAISE(ABORT, 'snapshot_audit is append-only'); END"
        for op_ in ("UPDATE", "DELETE")
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION snapshot_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'snapshot_audit is append-only' USING ERRCODE = 'integrity_constraint_violation'; "
        "END $$",
        "CREATE TRIGGER snapshot_audit_no_change BEFORE UPDATE OR DELETE ON snapshot_audit "
        "FOR EACH ROW EXECUTE FUNCTION snapshot_audit_append_only()",
        "CREATE TRIGGER snapshot_audit_no_truncate BEFORE TRUNCATE ON snapshot_audit "
        "FOR EACH STATEMENT EXECUTE FUNCTION snapshot_audit_append_only()",
    ],
}
_DROP_APPEND_ONLY = {
    "sqlite": ["DROP TRIGGER IF EXISTS snapshot_audit_no_update", "DROP TRIGGER IF EXISTS snapshot_audit_no_delete"],
    "postgresql": [
        "DROP TRIGGER IF EXISTS snapshot_audit_no_change ON snapshot_audit",
        "DROP TRIGGER IF EXISTS snapshot_audit_no_truncate ON snapshot_audit",
        "DROP FUNCTION IF EXISTS snapshot_audit_append_only()",
    ],
}


def upgrade() -> None:
    bind = op.get_bind()
    existing = set(sa.inspect(bind).get_table_names())

    def create(name: str, *elements: Any, index: Sequence[str] = ()) -> None:
        # A database made by `create_all` before migrations existed: keep its tables (adopt them).
        if name in existing:
            return
        op.create_table(name, *elements)
        for column in index:
            op.create_index(op.f(f"ix_{name}_{column}"), name, [column])

    create(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
        index=["at"],
    )

    create(
        "call_stats",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=False),
        sa.Column("peer_id", sa.String(length=64), nullable=False),
        sa.Column("identity", sa.String(length=64), nullable=False),
        sa.Column("t", sa.Float(), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("mos", sa.Float(), nullable=True),
        sa.Column("reported_level", sa.String(length=16), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_stats")),
        index=["call_id"],
    )

    create(
        "recordings",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("room_id", sa.String(length=64), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=True),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("started_by", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("stop_requested", sa.Boolean(), nullable=False),
        sa.Column("watermark", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("stopped_at", sa.Float(), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column("source_size", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recordings")),
        index=["room_id"],
    )

    create(
        "revocations",
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_revocations")),
        index=["expires_at"],
    )

    create(
        "rooms",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("max_participants", sa.Integer(), nullable=False),
        sa.Column("settings", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("deleted_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rooms")),
    )
    create(
        "call_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("room_id", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.Float(), nullable=False),
        sa.Column("ended_at", sa.Float(), nullable=True),
        sa.Column("end_reason", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"], name=op.f("fk_call_sessions_room_id_rooms")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_sessions")),
        index=["room_id"],
    )

    create(
        "chat_messages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("room_id", sa.String(length=64), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=True),
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("identity", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("sent_at", sa.Float(), nullable=False),
        sa.Column("received_at", sa.Float(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"], name=op.f("fk_chat_messages_room_id_rooms")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_messages")),
        sa.UniqueConstraint("room_id", "message_id", name="uq_chat_message"),
        index=["room_id"],
    )

    create(
        "recording_jobs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("recording_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["recording_id"], ["recordings.id"], name=op.f("fk_recording_jobs_recording_id_recordings")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recording_jobs")),
        index=["recording_id"],
    )

    create(
        "recording_tracks",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("recording_id", sa.String(length=64), nullable=False),
        sa.Column("identity", sa.String(length=64), nullable=False),
        sa.Column("peer_id", sa.String(length=64), nullable=True),
        sa.Column("upload_key_hash", sa.String(length=64), nullable=False),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("chunks", sa.Integer(), nullable=False),
        sa.Column("bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("clock", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["recording_id"], ["recordings.id"], name=op.f("fk_recording_tracks_recording_id_recordings")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recording_tracks")),
        index=["recording_id"],
    )

    create(
        "room_bans",
        sa.Column("room_id", sa.String(length=64), nullable=False),
        sa.Column("identity", sa.String(length=64), nullable=False),
        sa.Column("banned_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"], name=op.f("fk_room_bans_room_id_rooms")),
        sa.PrimaryKeyConstraint("room_id", "identity", name=op.f("pk_room_bans")),
    )
    create(
        "snapshot_audit",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("room_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=True),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("device", sa.String(length=64), nullable=True),
        sa.Column("subject", sa.String(length=64), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("snapshot_id", sa.String(length=64), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"], name=op.f("fk_snapshot_audit_room_id_rooms")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_snapshot_audit")),
        sa.UniqueConstraint("room_id", "prev_hash", name="uq_snapshot_audit_chain"),
        sa.UniqueConstraint("room_id", "seq", name="uq_snapshot_audit_seq"),
        index=["room_id"],
    )

    create(
        "snapshots",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("room_id", sa.String(length=64), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("taken_by", sa.String(length=64), nullable=False),
        sa.Column("captured_by", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("mime", sa.String(length=32), nullable=False),
        sa.Column("ext", sa.String(length=8), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"], name=op.f("fk_snapshots_room_id_rooms")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_snapshots")),
        sa.UniqueConstraint("room_id", "request_id", name="uq_snapshots_request"),
        index=["room_id"],
    )

    create(
        "call_participants",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=False),
        sa.Column("peer_id", sa.String(length=64), nullable=False),
        sa.Column("identity", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("joined_at", sa.Float(), nullable=False),
        sa.Column("left_at", sa.Float(), nullable=True),
        sa.Column("left_reason", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["call_id"], ["call_sessions.id"], name=op.f("fk_call_participants_call_id_call_sessions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_participants")),
        index=["call_id"],
    )

    create(
        "call_reconnects",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=False),
        sa.Column("peer_id", sa.String(length=64), nullable=False),
        sa.Column("identity", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("cause", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.Float(), nullable=False),
        sa.Column("ended_at", sa.Float(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("steps", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"], ["call_sessions.id"], name=op.f("fk_call_reconnects_call_id_call_sessions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_reconnects")),
        index=["call_id"],
    )

    create(
        "recording_chunks",
        sa.Column("track_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["track_id"], ["recording_tracks.id"], name=op.f("fk_recording_chunks_track_id_recording_tracks")
        ),
        sa.PrimaryKeyConstraint("track_id", "seq", name=op.f("pk_recording_chunks")),
    )

    for statement in _APPEND_ONLY.get(bind.dialect.name, []):
        op.execute(statement)


def downgrade() -> None:
    for statement in _DROP_APPEND_ONLY.get(op.get_bind().dialect.name, []):
        op.execute(statement)
    op.drop_table("recording_chunks")
    op.drop_table("call_reconnects")
    op.drop_table("call_participants")
    op.drop_table("snapshots")
    op.drop_table("snapshot_audit")
    op.drop_table("room_bans")
    op.drop_table("recording_tracks")
    op.drop_table("recording_jobs")
    op.drop_table("chat_messages")
    op.drop_table("call_sessions")
    op.drop_table("rooms")
    op.drop_table("revocations")
    op.drop_table("recordings")
    op.drop_table("call_stats")
    op.drop_table("audit_log")
