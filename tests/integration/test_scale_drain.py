"""SIGTERM drains a node: its clients move to the other node (Redis hub) without losing the call."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from pathlib import Path

import httpx

from peercall.peer import BackoffPolicy, Peer, PeerEvent
from peercall.testing import ServerProcess
from peercall.testing.balancer import TcpBalancer
from peercall.testing.cluster import start_nodes
from peercall.testing.redis_server import start_redis
from peercall.testing.server import stop_server

DRAIN_TIMEOUT_S = 10.0
DRAIN_WINDOW_S = 1.5


async def test_scale_sigterm_drains_clients_to_the_other_node(tmp_path: Path) -> None:
    """Alice and Bob are both on node one (behind a balancer that health-checks /readyz).
    SIGTERM node one: it reports not-ready at once, tells both to move, and both *resume*
    (same peer ids, no frame lost) on node two, at different moments within the window,
    while a renegotiation started during the drain completes and media keeps flowing.
    Node one exits 0 well within its drain timeout."""
    redis = start_redis(tmp_path / "redis")
    env = {
        "PEERCALL_NODE_HEARTBEAT_S": "1",
        "PEERCALL_RESUME_GRACE_S": "20",
        "PEERCALL_DRAIN_TIMEOUT_S": str(DRAIN_TIMEOUT_S),
        "PEERCALL_DRAIN_WINDOW_S": str(DRAIN_WINDOW_S),
    }
    nodes: list[ServerProcess] = []
    balancer = None
    try:
        nodes = start_nodes(tmp_path, redis.url, extra_env=env)
        one, two = nodes
        ports = [int(node.base_url.rsplit(":", 1)[1]) for node in (one, two)]
        balancer = await TcpBalancer([("127.0.0.1", port) for port in ports], health_path="/readyz").start()
        room = one.create_room()
        policy = BackoffPolicy(delays=(0.0, 0.2, 0.3, 0.5), jitter=0.0)
        alice = await Peer.join(balancer.base_url, one.token(room, "alice", "host")["token"], reconnect=policy)
        bob = await Peer.join(balancer.base_url, one.token(room, "bob")["token"], reconnect=policy)
        ids = (alice.peer_id, bob.peer_id)
        moved: dict[str, tuple[bool, float]] = {}
        for peer, name in ((alice, "alice"), (bob, "bob")):
            peer.on(PeerEvent.RECONNECTED, lambda resumed, n=name: moved.setdefault(n, (resumed, time.monotonic())))
        try:
            await alice.wait_connected(timeout=15, peer_id=bob.peer_id)
            await bob.wait_frames(video=10, timeout=15, peer_id=alice.peer_id)
            with one.api() as api:  # both on node one: it holds their sockets
                assert len(api.get(f"/api/rooms/{room}").json()["participants"]) == 2
            heard: dict[str, list[str]] = {"alice": [], "bob": []}
            for peer, name in ((alice, "alice"), (bob, "bob")):
                peer.on(PeerEvent.PEER_RECONNECTED, lambda peer_id, _old, n=name: heard[n].append(peer_id))
            before = bob.stats(alice.peer_id).video_frames
            sent = time.monotonic()
            one.process.send_signal(signal.SIGTERM)
            ready = httpx.get(f"{one.base_url}/readyz", timeout=2)
            assert ready.status_code == 503 and "draining" in ready.json()["problems"], ready.text
            deadline = time.monotonic() + 15
            while (len(moved) < 2 or not all(heard.values())) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            print(f"\nscale drain: moved after {sorted(round(t - sent, 2) for _, t in moved.values())} s")
            assert {name: resumed for name, (resumed, _) in moved.items()} == {"alice": True, "bob": True}, moved
            assert (alice.peer_id, bob.peer_id) == ids
            # No frame lost: nothing missing from the replays, and each heard the other come back
            # (a lost `peer-resumed` would leave the other marked "reconnecting").
            for peer, other in ((alice, bob), (bob, alice)):
                assert peer.signaling_state == "connected" and peer.signaling.joined["replay_gap"] is False
                assert not peer.remote(other.peer_id).reconnecting
            assert heard == {"alice": [bob.peer_id], "bob": [alice.peer_id]}, heard
            assert bob.stats(alice.peer_id).video_frames > before  # media went on, peer to peer
            code = one.process.wait(timeout=DRAIN_TIMEOUT_S)
            exited = time.monotonic() - sent
            assert code == 0 and exited < DRAIN_TIMEOUT_S, (code, exited)
            # Signaling now goes through node two: a full renegotiation works.
            generation = alice.remote(bob.peer_id).generation
            alice.restart(bob.peer_id)
            deadline = time.monotonic() + 15
            while alice.remote(bob.peer_id).generation == generation and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            await alice.wait_connected(timeout=15, peer_id=bob.peer_id)
            await bob.wait_frames(video=10, timeout=15, peer_id=alice.peer_id)
            with two.api() as api:
                identities = sorted(p["identity"] for p in api.get(f"/api/rooms/{room}").json()["participants"])
            assert identities == ["alice", "bob"]
            assert "drained in" in one.log()
        finally:
            await bob.leave()
            await alice.leave()
    finally:
        if balancer is not None:
            await balancer.close()
        for server in nodes:
            if server.process.poll() is None:
                stop_server(server)
            else:
                try:
                    server.process.wait(timeout=1)
                except subprocess.TimeoutExpired:
                    server.process.kill()
        redis.stop()
