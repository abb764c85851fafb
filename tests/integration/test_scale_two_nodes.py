"""Two `peercall serve` nodes sharing Redis (hub) and one database: peers on different
nodes call each other through the Redis backplane."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from peercall.peer import BackoffPolicy, Peer, PeerEvent
from peercall.testing import ServerProcess
from peercall.testing.balancer import TcpBalancer
from peercall.testing.cluster import start_nodes
from peercall.testing.redis_server import RedisServer, start_redis
from peercall.testing.server import start_server, stop_server


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[tuple[ServerProcess, ServerProcess, RedisServer]]:
    redis = start_redis(tmp_path / "redis")
    started: list[ServerProcess] = []
    try:
        started = start_nodes(tmp_path, redis.url)
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


async def test_scale_node_killed_peer_resumes_on_the_surviving_node(tmp_path: Path) -> None:
    """Bob reaches the nodes through a balancer and sits on node two; node two is SIGKILLed
    mid-call. Media goes on (peer to peer); Bob's SDK reconnects through the balancer, lands
    on node one and *resumes* (same peer id, via Redis); a renegotiation through node one works."""
    redis = start_redis(tmp_path / "redis")
    env = {
        "PEERCALL_NODE_HEARTBEAT_S": "1",
        "PEERCALL_RESUME_GRACE_S": "20",
    }
    nodes: list[ServerProcess] = []
    balancer = None
    try:
        nodes = start_nodes(tmp_path, redis.url, extra_env=env)
        one, two = nodes
        ports = [int(node.base_url.rsplit(":", 1)[1]) for node in (two, one)]
        balancer = await TcpBalancer([("127.0.0.1", port) for port in ports]).start()  # node two first
        room = one.create_room()
        alice = await Peer.join(one.base_url, one.token(room, "alice", "host")["token"])
        policy = BackoffPolicy(delays=(0.2, 0.3, 0.5, 1.0), jitter=0.0)
        bob = await Peer.join(balancer.base_url, one.token(room, "bob")["token"], reconnect=policy)
        bob_id = bob.peer_id
        changes: list[bool] = []
        bob.on(PeerEvent.RECONNECTED, lambda resumed: changes.append(resumed))
        try:
            await alice.wait_connected(timeout=15, peer_id=bob_id)
            before = bob.stats(alice.peer_id).video_frames
            two.process.kill()  # SIGKILL: no goodbye to anyone
            deadline = time.monotonic() + 20
            while not changes and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            assert changes == [True], changes  # resumed, not rejoined
            assert bob.peer_id == bob_id and bob.signaling_state == "connected"
            assert bob.stats(alice.peer_id).video_frames > before  # media went on
            generation = alice.remote(bob_id).generation
            alice.restart(bob_id)  # a full renegotiation, relayed by node one now
            deadline = time.monotonic() + 20
            while alice.remote(bob_id).generation == generation and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            await alice.wait_connected(timeout=15, peer_id=bob_id)
            await bob.wait_frames(video=10, timeout=15, peer_id=alice.peer_id)
        finally:
            await bob.leave()
            await alice.leave()
    finally:
        if balancer is not None:
            await balancer.close()
        for server in nodes:
            stop_server(server)
        redis.stop()


async def test_scale_members_of_a_dead_node_are_suspended_then_expire(tmp_path: Path) -> None:
    """Node two dies with Bob's socket and Bob never comes back: node one's sweep notices the
    silent node (heartbeats), tells Alice "reconnecting", and ends Bob with `timeout` after
    the grace period — as a single node would for a dropped socket."""
    redis = start_redis(tmp_path / "redis")
    env = {
        "PEERCALL_NODE_HEARTBEAT_S": "1",
        "PEERCALL_RESUME_GRACE_S": "3",
    }
    nodes: list[ServerProcess] = []
    try:
        nodes = start_nodes(tmp_path, redis.url, extra_env=env)
        one, two = nodes
        room = one.create_room()
        alice = await Peer.join(one.base_url, one.token(room, "alice", "host")["token"], video=False, audio=False)
        bob = await Peer.join(two.base_url, two.token(room, "bob")["token"], video=False, audio=False)
        bob_id = bob.peer_id
        # Bob's `joined` comes before node two announces him to the room: kill node two only
        # once Alice knows him (a member nobody heard of has nobody to be "reconnecting" for).
        deadline = time.monotonic() + 10
        while bob_id not in alice.peers and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert bob_id in alice.peers
        events: list[tuple[str, float]] = []
        alice.on(PeerEvent.PEER_RECONNECTING, lambda *_: events.append(("reconnecting", time.monotonic())))
        alice.on(PeerEvent.PEER_LEFT, lambda *args: events.append((f"left:{args[1:]}", time.monotonic())))
        try:
            killed = time.monotonic()
            two.process.kill()
            deadline = time.monotonic() + 20
            while len(events) < 2 and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            print(f"\nscale dead node: {[(name, round(t - killed, 1)) for name, t in events]}")
            assert [name for name, _ in events][:1] == ["reconnecting"], events
            assert len(events) == 2 and "timeout" in events[1][0], events
            assert events[0][1] - killed < 8 and events[1][1] - events[0][1] >= 2.5, events
            with one.api() as api:
                identities = [p["identity"] for p in api.get(f"/api/rooms/{room}").json()["participants"]]
            assert identities == ["alice"] and bob_id not in str(identities)
        finally:
            await alice.leave()
    finally:
        for server in nodes:
            stop_server(server)
        redis.stop()
