"""SQLAlchemy Core implementation of :class:`~peercall.store.base.Store`.

Core (not the ORM) keeps queries explicit; the same code runs on SQLite (aiosqlite,
the embedded default) and, with a ``postgresql+asyncpg://`` URL, on PostgreSQL.
Every write is one transaction, so a failure never leaves half a record. The tables live
in :mod:`peercall.store.tables`; :meth:`SqlStore.open` migrates the schema to head
(or, with ``migrate=False``, refuses a database that is behind).
"""

from __future__ import annotations

import json
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from peercall.store import migrate
from peercall.store.base import (
    AuditRecord,
    CallRecord,
    ChatRecord,
    JoinFacts,
    ParticipantRecord,
    ReconnectRecord,
    RoomRecord,
)
from peercall.store.batch import WriteBatcher
from peercall.store.engine import make_engine
from peercall.store.tables.core import (
    audit_log,
    bans,
    calls,
    chat_messages,
    participants,
    reconnects,
    revocations,
    rooms,
)
from peercall.store.upsert import insert_ignore, upsert

# The writes on the join/leave path, group-committed (store/batch.py): fixed statements
# with bound parameters, so a batch runs as one executemany per statement.
_START_CALL = calls.insert()
_ADD_PARTICIPANT = participants.insert()
_PARTICIPANT_LEFT = (
    participants.update()
    .where(
        participants.c.call_id == sa.bindparam("w_call"),
        participants.c.peer_id == sa.bindparam("w_peer"),
        participants.c.left_at.is_(None),
    )
    .values(left_at=sa.bindparam("w_at"), left_reason=sa.bindparam("w_reason"))
)


class SqlStore:
    """Rooms and call sessions in a SQL database."""

    def __init__(self, url: str, *, migrate: bool = True) -> None:
        self._url = url
        self._migrate = migrate
        self._engine: AsyncEngine | None = None
        self._batch: WriteBatcher | None = None

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise RuntimeError("store is not open")
        return self._engine

    async def open(self) -> None:
        self._engine = make_engine(self._url)
        self._batch = WriteBatcher(self._engine)
        if self._migrate:
            await migrate.upgrade(self.engine)
        else:
            await migrate.require_head(self.engine)

    async def close(self) -> None:
        if self._batch is not None:
            await self._batch.drain()
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    async def ping(self) -> bool:
        async with self.engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))
        return True

    # ---- rooms ------------------------------------------------------------
    async def create_room(self, room: RoomRecord) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                rooms.insert().values(
                    id=room.id,
                    name=room.name,
                    max_participants=room.max_participants,
                    settings=json.dumps(room.settings),
                    created_at=room.created_at,
                    deleted_at=room.deleted_at,
                )
            )

    async def get_room(self, room_id: str) -> RoomRecord | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(rooms.select().where(rooms.c.id == room_id))).first()
        return _room(row) if row else None

    async def list_rooms(self, *, limit: int = 100) -> list[RoomRecord]:
        query = rooms.select().where(rooms.c.deleted_at.is_(None)).order_by(rooms.c.created_at.desc()).limit(limit)
        async with self.engine.connect() as conn:
            return [_room(row) for row in await conn.execute(query)]

    async def mark_room_deleted(self, room_id: str, at: float) -> bool:
        async with self.engine.begin() as conn:
            result = await conn.execute(
                rooms.update().where(rooms.c.id == room_id, rooms.c.deleted_at.is_(None)).values(deleted_at=at)
            )
        return bool(result.rowcount)

    # ---- call sessions ----------------------------------------------------
    @property
    def _writes(self) -> WriteBatcher:
        if self._batch is None:
            raise RuntimeError("store is not open")
        return self._batch

    async def start_call(self, call_id: str, room_id: str, at: float) -> None:
        await self._writes.execute(_START_CALL, {"id": call_id, "room_id": room_id, "started_at": at})

    async def end_call(self, call_id: str, at: float, reason: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                calls.update()
                .where(calls.c.id == call_id, calls.c.ended_at.is_(None))
                .values(ended_at=at, end_reason=reason)
            )
            await conn.execute(
                participants.update()
                .where(participants.c.call_id == call_id, participants.c.left_at.is_(None))
                .values(left_at=at, left_reason=reason)
            )

    async def active_call(self, room_id: str) -> CallRecord | None:
        query = (
            calls.select()
            .where(calls.c.room_id == room_id, calls.c.ended_at.is_(None))
            .order_by(calls.c.started_at.desc())
            .limit(1)
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
            return await _call_with_participants(conn, row) if row else None

    async def get_call(self, call_id: str) -> CallRecord | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(calls.select().where(calls.c.id == call_id))).first()
            return await _call_with_participants(conn, row) if row else None

    async def list_calls(self, room_id: str, *, limit: int = 100) -> list[CallRecord]:
        query = calls.select().where(calls.c.room_id == room_id).order_by(calls.c.started_at.desc()).limit(limit)
        async with self.engine.connect() as conn:
            return [await _call_with_participants(conn, row) for row in (await conn.execute(query)).all()]

    async def add_participant(self, call_id: str, participant: ParticipantRecord) -> None:
        row = {
            "call_id": call_id,
            "peer_id": participant.peer_id,
            "identity": participant.identity,
            "name": participant.name,
            "role": participant.role,
            "joined_at": participant.joined_at,
        }
        await self._writes.execute(_ADD_PARTICIPANT, row)

    async def participant_left(self, call_id: str, peer_id: str, at: float, reason: str) -> None:
        params = {"w_call": call_id, "w_peer": peer_id, "w_at": at, "w_reason": reason}
        await self._writes.execute(_PARTICIPANT_LEFT, params)

    async def add_reconnect(self, record: ReconnectRecord) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                reconnects.insert().values(
                    call_id=record.call_id,
                    peer_id=record.peer_id,
                    identity=record.identity,
                    kind=record.kind,
                    cause=record.cause,
                    started_at=record.started_at,
                    ended_at=record.ended_at,
                    outcome=record.outcome,
                    steps=json.dumps(record.steps),
                )
            )

    async def ban(self, room_id: str, identity: str, at: float) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(insert_ignore(conn, bans, {"room_id": room_id, "identity": identity, "banned_at": at}))

    async def is_banned(self, room_id: str, identity: str) -> bool:
        query = bans.select().where(bans.c.room_id == room_id, bans.c.identity == identity)
        async with self.engine.connect() as conn:
            return (await conn.execute(query)).first() is not None

    async def join_facts(self, room_id: str, identity: str | None, revocation_key: str, now: float) -> JoinFacts:
        banned = sa.exists().where(bans.c.room_id == room_id, bans.c.identity == identity) if identity else sa.false()
        revoked = (
            sa.select(revocations.c.reason)
            .where(revocations.c.key == revocation_key, revocations.c.expires_at >= now)
            .scalar_subquery()
        )
        one = sa.select(sa.literal(1).label("one")).subquery()  # a row even when the room does not exist
        query = sa.select(rooms, banned.label("banned"), revoked.label("revoked")).select_from(
            one.outerjoin(rooms, rooms.c.id == room_id)
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).one()
        room = _room(row) if row.id is not None else None
        return JoinFacts(room, bool(row.banned), str(row.revoked) if row.revoked is not None else None)

    async def list_reconnects(self, call_id: str) -> list[ReconnectRecord]:
        query = reconnects.select().where(reconnects.c.call_id == call_id).order_by(reconnects.c.started_at)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            ReconnectRecord(
                call_id=row.call_id,
                peer_id=row.peer_id,
                identity=row.identity,
                kind=row.kind,
                cause=row.cause,
                started_at=row.started_at,
                ended_at=row.ended_at,
                outcome=row.outcome,
                steps=json.loads(row.steps),
            )
            for row in rows
        ]

    # ---- chat archive -----------------------------------------------------
    async def add_chat_message(self, record: ChatRecord) -> bool:
        """Store once per (room, message id); a copy sent again is ignored (returns False)."""
        async with self.engine.begin() as conn:
            result = await conn.execute(insert_ignore(conn, chat_messages, record.__dict__))
        return bool(result.rowcount)

    async def list_chat_messages(self, room_id: str, *, limit: int = 1000) -> list[ChatRecord]:
        query = (
            chat_messages.select()
            .where(chat_messages.c.room_id == room_id)
            .order_by(chat_messages.c.received_at, chat_messages.c.id)
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        fields = ("room_id", "call_id", "message_id", "identity", "name", "sent_at", "received_at", "text")
        return [ChatRecord(**{f: getattr(row, f) for f in fields}) for row in rows]

    # ---- security: revocations and audit log -------------------------------
    async def revoke(self, key: str, reason: str, expires_at: float) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(revocations.delete().where(revocations.c.expires_at < time.time()))
            values = {"key": key, "reason": reason, "expires_at": expires_at}
            await conn.execute(upsert(conn, revocations, values, ["key"]))

    async def revocation(self, key: str, now: float) -> str | None:
        query = revocations.select().where(revocations.c.key == key, revocations.c.expires_at >= now)
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return str(row.reason) if row else None

    async def add_audit(self, entry: AuditRecord) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                audit_log.insert().values(
                    at=entry.at,
                    actor=entry.actor,
                    action=entry.action,
                    target=entry.target,
                    detail=json.dumps(entry.detail),
                )
            )

    async def list_audit(self, *, limit: int = 100) -> list[AuditRecord]:
        query = audit_log.select().order_by(audit_log.c.id.desc()).limit(limit)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [AuditRecord(r.at, r.actor, r.action, r.target, json.loads(r.detail)) for r in rows]


def _room(row: Any) -> RoomRecord:
    return RoomRecord(
        id=row.id,
        name=row.name,
        max_participants=row.max_participants,
        settings=json.loads(row.settings),
        created_at=row.created_at,
        deleted_at=row.deleted_at,
    )


async def _call_with_participants(conn: Any, row: Any) -> CallRecord:
    query = participants.select().where(participants.c.call_id == row.id).order_by(participants.c.id)
    members = [
        ParticipantRecord(
            peer_id=p.peer_id,
            identity=p.identity,
            name=p.name,
            role=p.role,
            joined_at=p.joined_at,
            left_at=p.left_at,
            left_reason=p.left_reason,
        )
        for p in await conn.execute(query)
    ]
    return CallRecord(
        id=row.id,
        room_id=row.room_id,
        started_at=row.started_at,
        ended_at=row.ended_at,
        end_reason=row.end_reason,
        participants=members,
    )
