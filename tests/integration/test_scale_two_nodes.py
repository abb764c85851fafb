"""Two `peercall serve` nodes sharing Redis (hub) and one database: peers on different
nodes call each other through the Redis backplane."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from peercall.peer import Peer
from peercall.testing import ServerProcess
from peercall.testing.redis_server import RedisServer, start_redis
from peercall.testing.server import start_server, stop_server


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[tuple[ServerProcess, ServerProcess, RedisServer]]:
    redis = start_redis(tmp_path / "redis")
    env = {"PEERCALL_REDIS_URL": redis.url, "PEERCALL_DATA_DIR": str(tmp_path / "shared")}
    started: list[ServerProcess] = []
    try:
        for name in ("node1", "node2"):
            (tmp_path / name).mkdir()
            started.append(start_server(tmp_path / name, extra_env=env))
        yield started[0], started[1], redis
    finally:
        for server in started:
            stop_server(server)
        redis.stop()


async def test_scale_call_across_two_nodes(nodes: tuple[ServerProcess, ServerProcess, RedisServer]) -> None:
    one, two, _ = nodes
    room = one.create_room()
    alice = await Peer.join(one.base_url, one.token(room, "alice", "host")["token"])
    bob = await Peer.join(two.base_url, two.token(room, "bob")["token"])  # the other node
    try:
        assert bob.peers and next(iter(bob.peers)) == alice.peer_id  # node two sees node one's member
        await alice.wait_connected(timeout=15, peer_id=bob.peer_id)
        await bob.wait_connected(timeout=15, peer_id=alice.peer_id)
        for me, other in ((alice, bob), (bob, alice)):
            stats = await me.wait_frames(video=20, audio=20, timeout=20, peer_id=other.peer_id)
            assert (stats.width, stats.height) == (640, 480)
        # Either node answers for the room: both list both participants.
        for node in (one, two):
            with node.api() as api:
                identities = sorted(p["identity"] for p in api.get(f"/api/rooms/{room}").json()["participants"])
            assert identities == ["alice", "bob"], node.base_url
    finally:
        await bob.leave()
        await alice.leave()
    with one.api() as api:
        [call] = api.get(f"/api/rooms/{room}/calls").json()["calls"]
    assert call["end_reason"] == "completed" and len(call["participants"]) == 2


async def test_scale_json_logs_carry_ids(tmp_path: Path) -> None:
    """`log_format=json`: every line the node writes is one JSON object; call events carry their ids."""
    server = start_server(tmp_path, extra_env={"PEERCALL_LOG_FORMAT": "json"})
    try:
        room = server.create_room()
        alice = await Peer.join(server.base_url, server.token(room, "alice")["token"], video=False, audio=False)
        await alice.leave()
    finally:
        stop_server(server)
    lines = [line for line in server.log_path.read_text().splitlines() if line.startswith("{")]
    records = [json.loads(line) for line in lines]
    assert records and all({"ts", "level", "logger", "msg", "node"} <= set(r) for r in records)
    assert any(r.get("room_id") == room for r in records), lines[-20:]
    # Nothing else was written in another format (uvicorn's own lines too go through the formatter).
    other = [line for line in server.log_path.read_text().splitlines() if line.strip() and not line.startswith("{")]
    assert not [line for line in other if "INFO" in line or "WARNING" in line], other[:10]
