"""Webhook endpoints (one API key's subscriptions) and the durable delivery queue."""

from __future__ import annotations

import sqlalchemy as sa

from peercall.store.metadata import metadata

webhook_endpoints = sa.Table(
    "webhook_endpoints",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("owner", sa.String(64), nullable=False, index=True),  # the API key's name
    sa.Column("url", sa.String(2048), nullable=False),
    sa.Column("events", sa.Text, nullable=False),  # JSON list of event types
    sa.Column("secret", sa.String(128), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("deleted_at", sa.Float, nullable=True),
)

# One row per (event, endpoint): written before any attempt, so a receiver's failure or a
# restart of the server loses nothing. `lease_until` lets one node of several claim a row.
webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("endpoint_id", sa.String(64), sa.ForeignKey("webhook_endpoints.id"), nullable=False, index=True),
    sa.Column("event", sa.String(32), nullable=False),
    sa.Column("event_id", sa.String(64), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # pending | delivered | failed
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("response_status", sa.Integer, nullable=True),
    sa.Column("error", sa.String(300), nullable=True),
    sa.Column("created_at", sa.Float, nullable=False, index=True),
    sa.Column("last_attempt_at", sa.Float, nullable=True),
    sa.Column("next_attempt_at", sa.Float, nullable=False, index=True),
    sa.Column("lease_until", sa.Float, nullable=False),
    sa.UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_deliveries_event"),  # once per occurrence
)
