"""Webhook endpoints and deliveries in the store's database (SQLite or PostgreSQL).

Deliveries are a durable queue: a row per (event, endpoint) is inserted before any attempt;
a sender *claims* due rows by setting a lease in a conditional UPDATE (only one node's
UPDATE matches a given ``lease_until``), so several nodes sharing PostgreSQL never send the
same row twice at once, and a node that died mid-attempt leaves a lease that expires.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from peercall.errors import PeercallError
from peercall.store.tables.webhooks import webhook_deliveries, webhook_endpoints


@dataclass(frozen=True)
class Endpoint:
    id: str
    owner: str
    url: str
    events: list[str]
    secret: str
    created_at: float


@dataclass(frozen=True)
class Delivery:
    id: str
    endpoint_id: str
    event: str
    event_id: str
    payload: str
    status: str
    attempts: int
    response_status: int | None
    error: str | None
    created_at: float
    last_attempt_at: float | None
    url: str = ""
    lease: float = 0.0  # this node's claim (lease_until it set); 0: not claimed


def _endpoint(row: Any) -> Endpoint:
    return Endpoint(row.id, row.owner, row.url, json.loads(row.events), row.secret, row.created_at)


def _new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(12)}"


# How long this node trusts its copy of the endpoint list. Every join published
# `participant.joined` and read the list first (a database read on the join path, behind a
# busy event loop several thread hops long); endpoints change rarely. Changes made on this
# node are seen at once; another node's within this many seconds.
SUBSCRIBERS_TTL_S = 2.0


class WebhookStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._subscribers: tuple[float, list[Endpoint]] | None = None  # (read at, live endpoints)

    async def subscribers(self) -> list[Endpoint]:
        """Every live endpoint (all owners), from a copy at most SUBSCRIBERS_TTL_S old."""
        now = time.monotonic()
        if self._subscribers is None or now - self._subscribers[0] > SUBSCRIBERS_TTL_S:
            self._subscribers = (now, await self.endpoints())
        return self._subscribers[1]

    # ---- endpoints ---------------------------------------------------------
    async def add_endpoint(self, owner: str, url: str, events: list[str], max_per_owner: int) -> Endpoint:
        self._subscribers = None
        endpoint = Endpoint(_new_id("whk"), owner, url, sorted(set(events)), secrets.token_hex(32), time.time())
        async with self._engine.begin() as conn:
            count = await conn.scalar(
                sa.select(sa.func.count())
                .select_from(webhook_endpoints)
                .where(webhook_endpoints.c.owner == owner, webhook_endpoints.c.deleted_at.is_(None))
            )
            if (count or 0) >= max_per_owner:
                raise PeercallError("too_many_webhooks", f"at most {max_per_owner} webhook endpoints per API key")
            await conn.execute(
                webhook_endpoints.insert().values(
                    id=endpoint.id,
                    owner=owner,
                    url=url,
                    events=json.dumps(endpoint.events),
                    secret=endpoint.secret,
                    created_at=endpoint.created_at,
                )
            )
        self._subscribers = None  # again: a read during the insert may have cached the old list
        return endpoint

    async def endpoints(self, owner: str | None = None) -> list[Endpoint]:
        query = sa.select(webhook_endpoints).where(webhook_endpoints.c.deleted_at.is_(None))
        if owner is not None:
            query = query.where(webhook_endpoints.c.owner == owner)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query.order_by(webhook_endpoints.c.created_at))).all()
        return [_endpoint(r) for r in rows]

    async def endpoint(self, endpoint_id: str) -> Endpoint | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(sa.select(webhook_endpoints).where(webhook_endpoints.c.id == endpoint_id))
            ).first()
        return _endpoint(row) if row is not None and row.deleted_at is None else None

    async def delete_endpoint(self, owner: str, endpoint_id: str) -> bool:
        """Soft delete (its delivery log stays readable); pending deliveries are dropped."""
        self._subscribers = None
        now = time.time()
        async with self._engine.begin() as conn:
            done = await conn.execute(
                webhook_endpoints.update()
                .where(
                    webhook_endpoints.c.id == endpoint_id,
                    webhook_endpoints.c.owner == owner,
                    webhook_endpoints.c.deleted_at.is_(None),
                )
                .values(deleted_at=now)
            )
            if not done.rowcount:
                return False
            await conn.execute(
                webhook_deliveries.update()
                .where(webhook_deliveries.c.endpoint_id == endpoint_id, webhook_deliveries.c.status == "pending")
                .values(status="failed", error="endpoint deleted")
            )
        self._subscribers = None  # again: a read during the update may have cached the old list
        return True

    # ---- deliveries --------------------------------------------------------
    async def enqueue(self, event: str, event_id: str, payload: str) -> int:
        """One pending delivery per endpoint subscribed to ``event``; returns how many."""
        now = time.time()
        targets = [e for e in await self.subscribers() if event in e.events]
        if not targets:
            return 0
        rows = [
            {
                "id": _new_id("dlv"),
                "endpoint_id": e.id,
                "event": event,
                "event_id": event_id,
                "payload": payload,
                "status": "pending",
                "attempts": 0,
                "created_at": now,
                "next_attempt_at": now,
                "lease_until": 0.0,
            }
            for e in targets
        ]
        async with self._engine.begin() as conn:
            await conn.execute(webhook_deliveries.insert(), rows)
        return len(rows)

    async def claim_due(self, limit: int, lease_s: float) -> list[tuple[Delivery, Endpoint]]:
        """Take up to ``limit`` due deliveries for ``lease_s`` seconds (this node only)."""
        now = time.time()
        d = webhook_deliveries.c
        async with self._engine.connect() as conn:
            due = (
                await conn.execute(
                    sa.select(d.id, d.lease_until)
                    .where(d.status == "pending", d.next_attempt_at <= now, d.lease_until <= now)
                    .order_by(d.next_attempt_at)
                    .limit(limit)
                )
            ).all()
        claimed: list[tuple[Delivery, Endpoint]] = []
        mine = now + lease_s
        for row_id, lease in due:
            async with self._engine.begin() as conn:
                won = await conn.execute(
                    webhook_deliveries.update()
                    .where(d.id == row_id, d.status == "pending", d.lease_until == lease)
                    .values(lease_until=mine)
                )
                if not won.rowcount:
                    continue  # another node took it
                row = (await conn.execute(sa.select(webhook_deliveries).where(d.id == row_id))).one()
                target = (
                    await conn.execute(sa.select(webhook_endpoints).where(webhook_endpoints.c.id == row.endpoint_id))
                ).one()
            claimed.append((replace(_delivery(row, target.url), lease=mine), _endpoint(target)))
        return claimed

    async def record_attempt(
        self,
        delivery: Delivery,
        *,
        status: str,
        attempts: int,
        response_status: int | None,
        error: str | None,
        next_attempt_at: float,
    ) -> bool:
        """Store an attempt's outcome, only while our claim holds: a node whose lease lapsed
        (it hung, another node took the row) must not overwrite the new owner's result."""
        now = time.time()
        d = webhook_deliveries.c
        async with self._engine.begin() as conn:
            done = await conn.execute(
                webhook_deliveries.update()
                .where(d.id == delivery.id, d.lease_until == delivery.lease)
                .values(
                    status=status,
                    attempts=attempts,
                    response_status=response_status,
                    error=(error or None) and error[:300],
                    last_attempt_at=now,
                    next_attempt_at=next_attempt_at,
                    lease_until=0.0,
                )
            )
        return bool(done.rowcount)

    async def deliveries(self, owner: str, limit: int = 100, endpoint_id: str | None = None) -> list[Delivery]:
        """The delivery log of one API key's endpoints, newest first."""
        d, e = webhook_deliveries.c, webhook_endpoints.c
        query = (
            sa.select(webhook_deliveries, e.url)
            .join(webhook_endpoints, e.id == d.endpoint_id)
            .where(e.owner == owner)
            .order_by(d.created_at.desc(), d.id)
            .limit(limit)
        )
        if endpoint_id is not None:
            query = query.where(d.endpoint_id == endpoint_id)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_delivery(r, r.url) for r in rows]


def _delivery(row: Any, url: str) -> Delivery:
    return Delivery(
        row.id,
        row.endpoint_id,
        row.event,
        row.event_id,
        row.payload,
        row.status,
        row.attempts,
        row.response_status,
        row.error,
        row.created_at,
        row.last_attempt_at,
        url,
    )
