"""Snapshot metadata and the snapshot audit trail, in the same database as the rooms.

The tables (:mod:`peercall.store.tables.snapshots`) are built by the migrations, on the
store's engine. The audit table is append-only: this class has no update or delete,
entries are hash-chained per room (see :mod:`peercall.snapshots.audit`), a unique
``(room_id, prev_hash)`` refuses a fork by a concurrent writer, and triggers (SQLite and
PostgreSQL, created by the initial migration) abort any UPDATE or DELETE issued behind
the application's back.
"""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from peercall.errors import PeercallError
from peercall.snapshots.audit import GENESIS, AuditEntry, entry_hash
from peercall.snapshots.records import SnapshotRecord
from peercall.store.tables.snapshots import snapshot_audit, snapshots

# Another process may append to the same room between our read of the chain head and our
# insert: the unique (room_id, prev_hash) refuses the fork and we chain again.
_CHAIN_RETRIES = 10


async def _backoff(attempt: int) -> None:
    await asyncio.sleep(random.uniform(0, 0.01 * (attempt + 1)))


class SnapshotStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._append_lock = asyncio.Lock()

    async def open(self) -> None:
        """Nothing to create: the store's migrations built the tables (kept for callers)."""

    # ---- snapshots ---------------------------------------------------------
    async def add(self, record: SnapshotRecord, audit: AuditEntry) -> AuditEntry:
        """Store the metadata and its ``captured`` audit entry in one transaction."""
        for attempt in range(_CHAIN_RETRIES):
            try:
                async with self._append_lock, self._engine.begin() as conn:
                    await conn.execute(snapshots.insert().values(**record.__dict__))
                    return await self._append(conn, audit)
            except sa.exc.IntegrityError:
                if record.request_id is not None and await self._answered(record.room_id, record.request_id):
                    raise PeercallError("forbidden", "this snapshot request was already answered") from None
                if attempt == _CHAIN_RETRIES - 1:
                    raise
                await _backoff(attempt)
        raise AssertionError("unreachable")

    async def _answered(self, room_id: str, request_id: str) -> bool:
        query = sa.select(snapshots.c.id).where(snapshots.c.room_id == room_id, snapshots.c.request_id == request_id)
        async with self._engine.connect() as conn:
            return (await conn.execute(query)).first() is not None

    async def get(self, snapshot_id: str) -> SnapshotRecord | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(snapshots.select().where(snapshots.c.id == snapshot_id))).first()
        return SnapshotRecord(**row._mapping) if row else None

    async def list_room(self, room_id: str, *, limit: int = 200) -> list[SnapshotRecord]:
        query = snapshots.select().where(snapshots.c.room_id == room_id).order_by(snapshots.c.created_at).limit(limit)
        async with self._engine.connect() as conn:
            return [SnapshotRecord(**row._mapping) for row in await conn.execute(query)]

    async def count(self, room_id: str, *, captured_by: str | None = None, since: float = 0.0) -> int:
        query = (
            sa.select(sa.func.count())
            .select_from(snapshots)
            .where(snapshots.c.room_id == room_id, snapshots.c.created_at >= since)
        )
        if captured_by is not None:
            query = query.where(snapshots.c.captured_by == captured_by)
        async with self._engine.connect() as conn:
            return int((await conn.execute(query)).scalar_one())

    # ---- audit -------------------------------------------------------------
    async def append_audit(self, entry: AuditEntry) -> AuditEntry:
        for attempt in range(_CHAIN_RETRIES):
            try:
                async with self._append_lock, self._engine.begin() as conn:
                    return await self._append(conn, entry)
            except sa.exc.IntegrityError:
                if attempt == _CHAIN_RETRIES - 1:
                    raise
                await _backoff(attempt)
        raise AssertionError("unreachable")

    async def _append(self, conn: Any, entry: AuditEntry) -> AuditEntry:
        last = (
            await conn.execute(
                sa.select(snapshot_audit.c.seq, snapshot_audit.c.hash)
                .where(snapshot_audit.c.room_id == entry.room_id)
                .order_by(snapshot_audit.c.seq.desc())
                .limit(1)
            )
        ).first()
        chained = replace(entry, prev_hash=last.hash if last else GENESIS, seq=(last.seq + 1) if last else 1)
        chained = replace(chained, hash=entry_hash(chained))
        values = {**chained.__dict__, "details": json.dumps(chained.details, sort_keys=True)}
        await conn.execute(snapshot_audit.insert().values(**values))
        return chained

    async def audit_trail(self, room_id: str) -> list[AuditEntry]:
        query = snapshot_audit.select().where(snapshot_audit.c.room_id == room_id).order_by(snapshot_audit.c.seq)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_entry(row) for row in rows]

    async def count_audit(self, room_id: str, action: str, *, since: float) -> int:
        query = (
            sa.select(sa.func.count())
            .select_from(snapshot_audit)
            .where(snapshot_audit.c.room_id == room_id, snapshot_audit.c.action == action, snapshot_audit.c.at >= since)
        )
        async with self._engine.connect() as conn:
            return int((await conn.execute(query)).scalar_one())

    async def find_request(self, room_id: str, request_id: str) -> tuple[AuditEntry | None, bool]:
        """The ``requested`` entry for a request id, and whether it was already answered."""
        query = snapshot_audit.select().where(
            snapshot_audit.c.room_id == room_id, snapshot_audit.c.request_id == request_id
        )
        async with self._engine.connect() as conn:
            entries = [_entry(row) for row in await conn.execute(query)]
        requested = next((e for e in entries if e.action == "requested"), None)
        return requested, any(e.action != "requested" for e in entries)


def _entry(row: Any) -> AuditEntry:
    data = dict(row._mapping)
    data.pop("id")
    data["details"] = json.loads(data["details"])
    return AuditEntry(**data)
