"""Two `peercall serve` nodes on Redis (hub) and PostgreSQL (store), as deployed at scale:
peers on different nodes complete a call and its record is in the shared database."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from peercall.peer import Peer
from peercall.store import migrate
from peercall.store.sql import SqlStore
from peercall.testing import ServerProcess
from peercall.testing.postgres_server import PostgresServer
from peercall.testing.redis_server import start_redis
from peercall.testing.server import start_server, stop_server


@pytest.fixture
def pg_nodes(tmp_path: Path, postgres: PostgresServer) -> Iterator[tuple[ServerProcess, ServerProcess, str]]:
    redis = start_redis(tmp_path / "redis")
    url = postgres.create_database(f"t_{uuid.uuid4().hex[:12]}")
    env = {"PEERCALL_REDIS_URL": redis.url, "PEERCALL_DATABASE_URL": url, "PEERCALL_TOKEN_SECRET": "s" * 32}
    started: list[ServerProcess] = []
    try:
        for name in ("node1", "node2"):  # both migrate at start: the advisory lock lets one do it
            (tmp_path / name).mkdir()
            started.append(start_server(tmp_path / name, extra_env=env))
        yield started[0], started[1], url
    finally:
        for server in started:
            stop_server(server)
        redis.stop()


async def test_scale_postgres_call_across_two_nodes(pg_nodes: tuple[ServerProcess, ServerProcess, str]) -> None:
    one, two, url = pg_nodes
    room = one.create_room()
    alice = await Peer.join(one.base_url, one.token(room, "alice", "host")["token"])
    bob = await Peer.join(two.base_url, two.token(room, "bob")["token"])
    try:
        await alice.wait_connected(timeout=15, peer_id=bob.peer_id)
        await bob.wait_connected(timeout=15, peer_id=alice.peer_id)
        stats = await bob.wait_frames(video=20, audio=20, timeout=20, peer_id=alice.peer_id)
        assert (stats.width, stats.height) == (640, 480)
    finally:
        await bob.leave()
        await alice.leave()
    with two.api() as api:  # the other node reads the call that both nodes wrote
        for _ in range(50):
            calls = api.get(f"/api/rooms/{room}/calls").json()["calls"]
            if calls and calls[0]["end_reason"]:
                break
            await asyncio.sleep(0.1)
    [call] = calls
    assert call["end_reason"] == "completed" and sorted(p["identity"] for p in call["participants"]) == ["alice", "bob"]
    store = SqlStore(url, migrate=False)  # the schema the nodes made is at head
    await store.open()
    try:
        assert await migrate.current(store.engine) == migrate.head()
    finally:
        await store.close()
