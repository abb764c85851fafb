"""The per-call stats timeline."""

from __future__ import annotations

import sqlalchemy as sa

from peercall.store.metadata import metadata

stats_rows = sa.Table(
    "call_stats",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("call_id", sa.String(64), nullable=False, index=True),
    sa.Column("peer_id", sa.String(64), nullable=False),
    sa.Column("identity", sa.String(64), nullable=False),
    sa.Column("t", sa.Float, nullable=False),
    sa.Column("level", sa.String(16), nullable=False),  # recomputed by the server's model
    sa.Column("mos", sa.Float, nullable=True),
    sa.Column("reported_level", sa.String(16), nullable=False),  # what the client said
    sa.Column("summary", sa.Text, nullable=False),  # the validated frame (JSON)
)
