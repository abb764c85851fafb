"""Core tables: rooms, call sessions and their participants, chat archive, security records."""

from __future__ import annotations

import sqlalchemy as sa

from peercall.store.metadata import metadata

rooms = sa.Table(
    "rooms",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("max_participants", sa.Integer, nullable=False),
    sa.Column("settings", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("deleted_at", sa.Float, nullable=True),
)

calls = sa.Table(
    "call_sessions",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("room_id", sa.String(64), sa.ForeignKey("rooms.id"), nullable=False, index=True),
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("ended_at", sa.Float, nullable=True),
    sa.Column("end_reason", sa.String(32), nullable=True),
)

participants = sa.Table(
    "call_participants",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("call_id", sa.String(64), sa.ForeignKey("call_sessions.id"), nullable=False, index=True),
    sa.Column("peer_id", sa.String(64), nullable=False),
    sa.Column("identity", sa.String(64), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("joined_at", sa.Float, nullable=False),
    sa.Column("left_at", sa.Float, nullable=True),
    sa.Column("left_reason", sa.String(32), nullable=True),
)

reconnects = sa.Table(
    "call_reconnects",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("call_id", sa.String(64), sa.ForeignKey("call_sessions.id"), nullable=False, index=True),
    sa.Column("peer_id", sa.String(64), nullable=False),
    sa.Column("identity", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("cause", sa.String(64), nullable=False),
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("ended_at", sa.Float, nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("steps", sa.Text, nullable=False),
)

bans = sa.Table(
    "room_bans",
    metadata,
    sa.Column("room_id", sa.String(64), sa.ForeignKey("rooms.id"), primary_key=True),
    sa.Column("identity", sa.String(64), primary_key=True),
    sa.Column("banned_at", sa.Float, nullable=False),
)

chat_messages = sa.Table(
    "chat_messages",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("room_id", sa.String(64), sa.ForeignKey("rooms.id"), nullable=False, index=True),
    sa.Column("call_id", sa.String(64), nullable=True),
    sa.Column("message_id", sa.String(64), nullable=False),
    sa.Column("identity", sa.String(64), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("sent_at", sa.Float, nullable=False),
    sa.Column("received_at", sa.Float, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.UniqueConstraint("room_id", "message_id", name="uq_chat_message"),
)

# Revoked credentials (join token ids, resume sessions), kept until they would expire anyway.
revocations = sa.Table(
    "revocations",
    metadata,
    sa.Column("key", sa.String(160), primary_key=True),
    sa.Column("reason", sa.String(32), nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False, index=True),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.Float, nullable=False, index=True),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("target", sa.String(200), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
)
