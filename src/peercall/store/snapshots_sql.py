"""Snapshot metadata and the snapshot audit trail, in the same database as the rooms.

The tables hang off the shared :data:`peercall.store.sql.metadata` (foreign keys to
rooms) and are created by :meth:`SnapshotStore.open` on the store's engine, so
``sql.py`` needs no change. The audit table is append-only: this class has no update or
delete, entries are hash-chained per room (see :mod:`peercall.snapshots.audit`), a unique
``(room_id, prev_hash)`` refuses a fork by a concurrent writer, and on SQLite triggers
abort any UPDATE or DELETE issued behind the application's back.
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
from peercall.store.sql import metadata

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

_SQLITE_APPEND_ONLY = [
    f"CREATE TRIGGER IF NOT EXISTS snapshot_audit_no_{op.lower()} BEFORE {op} ON snapshot_audit "
    "BEGIN SELECT RAISE(ABORT, 'snapshot_audit is append-only'); END"
    for op in ("UPDATE", "DELETE")
]


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
        async with self._engine.begin() as conn:
            await conn.run_sync(lambda sync: metadata.create_all(sync, tables=[snapshots, snapshot_audit]))
            if self._engine.dialect.name == "sqlite":
                for statement in _SQLITE_APPEND_ONLY:
                    await conn.execute(sa.text(statement))

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
