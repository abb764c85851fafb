"""Two Python peers call each other through a real `peercall serve` process."""

from __future__ import annotations

import time

import pytest

from peercall.peer import JoinRejected, Peer, read_frame_counter
from peercall.testing import ServerProcess


async def test_call_two_python_peers_exchange_audio_and_video(server: ServerProcess):
    room = server.create_room()
    alice = await Peer.join(server.base_url, server.token(room, "alice", "host")["token"])
    started = time.monotonic()
    bob = await Peer.join(server.base_url, server.token(room, "bob")["token"])
    try:
        assert bob.peers and next(iter(bob.peers)) == alice.peer_id
        await alice.wait_connected(timeout=15, peer_id=bob.peer_id)
        await bob.wait_connected(timeout=15, peer_id=alice.peer_id)
        connect_s = time.monotonic() - started
        for me, other in ((alice, bob), (bob, alice)):
            stats = await me.wait_frames(video=30, audio=25, timeout=20, peer_id=other.peer_id)
            assert (stats.width, stats.height) == (640, 480)
            assert stats.sample_rate == 48000
            assert read_frame_counter(stats.last_video_frame) is not None  # our stamped synthetic frames
            assert me.connection_state(other.peer_id) == "connected"
        assert connect_s < 10
    finally:
        await bob.leave()
        await alice.leave()
    with server.api() as api:
        [call] = api.get(f"/api/rooms/{room}/calls").json()["calls"]
    assert call["end_reason"] == "completed" and len(call["participants"]) == 2


async def test_call_python_peer_gets_join_errors(server: ServerProcess):
    room = server.create_room()
    with pytest.raises(JoinRejected) as info:
        await Peer.join(server.base_url, "not-a-token")
    assert info.value.code == "token_invalid"
    a = await Peer.join(server.base_url, server.token(room, "a")["token"], video=False, audio=False)
    b = await Peer.join(server.base_url, server.token(room, "b")["token"], video=False, audio=False)
    try:
        with pytest.raises(JoinRejected) as info:
            await Peer.join(server.base_url, server.token(room, "c")["token"])
        assert info.value.code == "room_full"
    finally:
        await a.leave()
        await b.leave()
