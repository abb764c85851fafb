"""Snapshot metadata and the hash-chained snapshot audit trail (append-only, see the migrations)."""

from __future__ import annotations

import sqlalchemy as sa

from peercall.store.metadata import metadata

snapshots = sa.Table(
    "snapshots",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("room_id", sa.String(64), sa.ForeignKey("rooms.id"), nullable=False, index=True),
    sa.Column("call_id", sa.String(64), nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("taken_by", sa.String(64), nullable=False),
    sa.Column("captured_by", sa.String(64), nullable=False),
    sa.Column("subject", sa.String(64), nullable=False),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("request_id", sa.String(64), nullable=True),
    sa.Column("method", sa.String(16), nullable=False),
    sa.Column("mime", sa.String(32), nullable=False),
    sa.Column("ext", sa.String(8), nullable=False),
    sa.Column("width", sa.Integer, nullable=False),
    sa.Column("height", sa.Integer, nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.UniqueConstraint("room_id", "request_id", name="uq_snapshots_request"),  # a request is answered once
)

snapshot_audit = sa.Table(
    "snapshot_audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("room_id", sa.String(64), sa.ForeignKey("rooms.id"), nullable=False, index=True),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("call_id", sa.String(64), nullable=True),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("device", sa.String(64), nullable=True),
    sa.Column("subject", sa.String(64), nullable=True),
    sa.Column("request_id", sa.String(64), nullable=True),
    sa.Column("snapshot_id", sa.String(64), nullable=True),
    sa.Column("sha256", sa.String(64), nullable=True),
    sa.Column("details", sa.Text, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.UniqueConstraint("room_id", "seq", name="uq_snapshot_audit_seq"),
    sa.UniqueConstraint("room_id", "prev_hash", name="uq_snapshot_audit_chain"),
)
