"""The store contract on SQLite and PostgreSQL: the migrated schema is exactly the table
definitions, and every table group behaves the same on both (upserts, the append-only
snapshot audit chain, two writers on one database)."""

from __future__ import annotations

import asyncio
import time

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from peercall.errors import PeercallError
from peercall.recording.store import RecordingRow, RecordingStore, TrackRow
from peercall.snapshots.audit import AuditEntry, verify_chain
from peercall.snapshots.records import SnapshotRecord
from peercall.store import ChatRecord, ParticipantRecord, ReconnectRecord, RoomRecord, migrate, open_store
from peercall.store.base import AuditRecord
from peercall.store.snapshots_sql import SnapshotStore
from peercall.store.sql import SqlStore
from peercall.store.stats import StatsRow, StatsTimeline
from peercall.store.tables import metadata


async def _diffs(store: SqlStore) -> list[object]:
    async with store.engine.connect() as conn:
        return await conn.run_sync(lambda sync: compare_metadata(MigrationContext.configure(sync), metadata))


async def test_scale_store_migrated_schema_equals_the_table_definitions(database_url: str) -> None:
    store = await open_store(database_url)
    assert isinstance(store, SqlStore)
    try:
        assert await migrate.current(store.engine) == migrate.head()
        assert await _diffs(store) == []
        await migrate.upgrade(store.engine)  # idempotent
        await migrate.downgrade(store.engine, "base")  # and reversible
        async with store.engine.connect() as conn:
            tables = await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names())
        assert set(tables) <= {"alembic_version"}
        await migrate.upgrade(store.engine)
        assert await _diffs(store) == []
    finally:
        await store.close()


async def test_scale_store_adopts_a_database_made_before_migrations(database_url: str) -> None:
    """A database built by the old ``create_all`` (no alembic_version) is adopted, data kept."""
    bare = SqlStore(database_url, migrate=False)
    with pytest.raises(migrate.SchemaBehind):
        await bare.open()  # auto-migration off: a node refuses a schema that is behind
    async with bare.engine.begin() as conn:
        await conn.run_sync(lambda sync: metadata.create_all(sync, tables=[metadata.tables["rooms"]]))
        await conn.execute(sa.text("INSERT INTO rooms VALUES ('old', 'kept', 2, '{}', 1.0, NULL)"))
    await bare.close()
    store = await open_store(database_url)
    assert isinstance(store, SqlStore)
    try:
        assert await _diffs(store) == []
        room = await store.get_room("old")
        assert room is not None and room.name == "kept"
    finally:
        await store.close()


@pytest.fixture
async def store(database_url: str):  # type: ignore[no-untyped-def]
    opened = await open_store(database_url)
    yield opened
    await opened.close()


async def test_scale_store_rooms_calls_chat_bans(store: SqlStore) -> None:
    await store.create_room(RoomRecord("r1", "Maths", 2, {"chat": True}, 10.0))
    await store.create_room(RoomRecord("r2", "Physics", 4, {}, 20.0))
    assert (await store.get_room("r1")) == RoomRecord("r1", "Maths", 2, {"chat": True}, 10.0)
    assert [r.id for r in await store.list_rooms()] == ["r2", "r1"]
    await store.start_call("c1", "r1", 11.0)
    for peer, identity in (("p1", "alice"), ("p2", "bob")):
        await store.add_participant("c1", ParticipantRecord(peer, identity, identity.title(), "guest", 11.5))
    active = await store.active_call("r1")
    assert active is not None and [p.identity for p in active.participants] == ["alice", "bob"]
    await store.participant_left("c1", "p2", 12.0, "left")
    await store.add_reconnect(ReconnectRecord("c1", "p1", "alice", "resume", "socket", 12.0, 12.5, "ok", ["a", "b"]))
    await store.end_call("c1", 13.0, "completed")
    assert await store.active_call("r1") is None
    [call] = await store.list_calls("r1")
    assert call.end_reason == "completed" and [p.left_reason for p in call.participants] == ["completed", "left"]
    [reconnect] = await store.list_reconnects("c1")
    assert reconnect.steps == ["a", "b"] and reconnect.outcome == "ok"

    await store.ban("r1", "mallory", 14.0)
    await store.ban("r1", "mallory", 15.0)  # twice: no error, one row
    assert await store.is_banned("r1", "mallory") and not await store.is_banned("r2", "mallory")
    # A join's three questions in one read: the room, a ban, the token's revocation.
    await store.revoke("jti:t1", "removed", 100.0)
    facts = await store.join_facts("r1", "mallory", "jti:t1", 50.0)
    assert facts.room is not None and facts.room.id == "r1" and facts.banned and facts.revoked == "removed"
    facts = await store.join_facts("r1", "alice", "jti:t2", 50.0)
    assert facts.room is not None and not facts.banned and facts.revoked is None
    assert (await store.join_facts("r1", "alice", "jti:t1", 150.0)).revoked is None  # expired
    facts = await store.join_facts("no-such-room", "mallory", "jti:t1", 50.0)
    assert facts.room is None and not facts.banned and facts.revoked == "removed"
    facts = await store.join_facts("r1", None, "jti:t1", 50.0)  # a resume: no identity to ask about
    assert facts.room is not None and not facts.banned and facts.revoked == "removed"

    message = ChatRecord("r1", "c1", "m1", "alice", "Alice", 12.0, 12.1, "hello")
    assert await store.add_chat_message(message) is True
    assert await store.add_chat_message(message) is False  # a resend is stored once
    assert [m.text for m in await store.list_chat_messages("r1")] == ["hello"]

    assert await store.mark_room_deleted("r1", 16.0) and not await store.mark_room_deleted("r1", 17.0)
    assert [r.id for r in await store.list_rooms()] == ["r2"]


async def test_scale_store_revocations_and_audit_log(store: SqlStore) -> None:
    now = time.time()
    key = "jti:" + "x" * 150  # the column's full width (160)
    await store.revoke(key, "logout", now + 60)
    assert await store.revocation(key, now) == "logout"
    await store.revoke(key, "kicked", now + 120)  # revoked again: the newer reason wins
    assert await store.revocation(key, now) == "kicked"
    assert await store.revocation(key, now + 200) is None  # past its expiry
    await store.revoke("session:s1", "banned", now - 1)  # already expired
    assert await store.revocation("session:s1", now) is None
    await store.add_audit(AuditRecord(now, "admin", "room.delete", "r1", {"why": "test"}))
    [entry] = await store.list_audit()
    assert entry.action == "room.delete" and entry.detail == {"why": "test"}


def _entry(room_id: str, n: int) -> AuditEntry:
    return AuditEntry(room_id, None, 1000.0 + n, "requested", "agent", "customer", "customer", f"req-{n:04d}")


async def test_scale_store_snapshot_audit_chain_and_append_only(store: SqlStore, database_url: str) -> None:
    await store.create_room(RoomRecord("room", "", 2, {}, 0.0))
    other = await open_store(database_url)  # a second engine: another node on the same database
    assert isinstance(other, SqlStore)
    try:
        writers = [SnapshotStore(store.engine), SnapshotStore(other.engine)]
        await asyncio.gather(*(writers[n % 2].append_audit(_entry("room", n)) for n in range(20)))
    finally:
        await other.close()
    snapshots = writers[0]
    trail = await snapshots.audit_trail("room")
    assert [e.seq for e in trail] == list(range(1, 21)) and verify_chain(trail) is None

    record = SnapshotRecord(
        "s1", "room", None, 5.0, "agent", "customer", "customer", "request", "req-0001", "grabFrame",
        "image/jpeg", "jpg", 640, 480, 1234, "a" * 64,
    )  # fmt: skip
    captured = AuditEntry("room", None, 5.0, "captured", "agent", "customer", "customer", "req-0001", "s1", "a" * 64)
    assert (await snapshots.add(record, captured)).seq == 21
    with pytest.raises(PeercallError, match="already answered"):
        await snapshots.add(record.__class__(**{**record.__dict__, "id": "s2"}), captured)
    assert [s.id for s in await snapshots.list_room("room")] == ["s1"]
    requested = next(e for e in trail if e.request_id == "req-0001")
    assert await snapshots.find_request("room", "req-0001") == (requested, True)

    statements = ["UPDATE snapshot_audit SET actor='someone' WHERE seq=3", "DELETE FROM snapshot_audit WHERE seq=3"]
    if store.engine.dialect.name == "postgresql":
        statements.append("TRUNCATE snapshot_audit")
    for statement in statements:
        async with store.engine.begin() as conn:
            with pytest.raises(sa.exc.DBAPIError, match="append-only"):
                await conn.execute(sa.text(statement))
    assert verify_chain(await snapshots.audit_trail("room")) is None


async def test_scale_store_stats_timeline_and_recordings(store: SqlStore) -> None:
    timeline = StatsTimeline(store.engine, max_rows_per_call=3)
    rows = [StatsRow("c1", "p1", "alice", float(t), "good", 4.2, "good", {"rtt": t}) for t in range(4)]
    assert [await timeline.append(row) for row in rows] == [True, True, True, False]  # capped
    assert [r.summary for r in await timeline.rows("c1")] == [{"rtt": 0}, {"rtt": 1}, {"rtt": 2}]

    # Concurrent reports (many sessions on one node) are group-committed: all stored, the
    # per-call cap still exact, every append committed when it returns.
    busy = StatsTimeline(store.engine, max_rows_per_call=8)
    reports = [StatsRow(f"b{n % 30}", "p1", "alice", float(n), "good", None, "good", {"n": n}) for n in range(300)]
    stored = await asyncio.gather(*(busy.append(row) for row in reports))
    assert sum(stored) == 30 * 8
    other_node = StatsTimeline(store.engine, max_rows_per_call=8)
    assert [await other_node.count(f"b{c}") for c in range(30)] == [8] * 30
    await busy.close()

    recordings = RecordingStore(store.engine)
    await recordings.create(
        RecordingRow("rec1", "r1", None, "local", "lesson", "alice", "recording", False, None, 1.0, *[None] * 5)
    )
    await recordings.add_track(TrackRow("t1", "rec1", "alice", "p1", "h" * 64, False, 0, 0, None, {}))
    await recordings.add_chunk("t1", 0, 100, "c" * 64)
    await recordings.add_chunk("t1", 1, 50, "d" * 64)
    with pytest.raises(sa.exc.IntegrityError):
        await recordings.add_chunk("t1", 1, 50, "d" * 64)  # a chunk is acknowledged once
    await recordings.complete_track("t1", "e" * 64, {"offset": 0.5})
    found = await recordings.get("rec1")
    assert found is not None and found.tracks[0].complete
    assert (found.tracks[0].chunks, found.tracks[0].bytes) == (2, 150)
    assert await recordings.chunk_list("t1") == [(0, 100, "c" * 64), (1, 50, "d" * 64)]
    await recordings.enqueue("rec1")
    job = await recordings.next_job()
    assert job is not None and job.status == "queued"
    await recordings.update_job(job.id, status="running")
    assert await recordings.requeue_interrupted() == 1


def test_scale_store_db_cli_upgrades_and_reports(database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`peercall db upgrade` (what an operator runs per release with auto-migration off)."""
    from peercall.cli import main

    assert main(["db", "--database-url", database_url, "current"]) == 0
    assert f"database: none  code: {migrate.head()}" in capsys.readouterr().out
    assert main(["db", "--database-url", database_url, "upgrade"]) == 0
    assert main(["db", "--database-url", database_url, "current"]) == 0
    assert f"database: {migrate.head()}  code: {migrate.head()}" in capsys.readouterr().out
