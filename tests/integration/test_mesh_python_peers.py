"""Full mesh: four Python peers fill a 4-person room, each decoding every other; a fifth is refused."""

from __future__ import annotations

import asyncio

import pytest

from peercall.peer import JoinRejected, Peer, read_frame_counter
from peercall.peer.media import SyntheticVideoTrack
from peercall.peer.reconnect import BackoffPolicy
from peercall.testing import ServerProcess


def connections(group: list[Peer]) -> dict[tuple[str, str], int]:
    """Which RTCPeerConnection object each member uses for each other member."""
    return {(me.peer_id, o.peer_id): id(me._remotes[o.peer_id].pc) for me in group for o in group if o is not me}


async def test_mesh_four_python_peers_each_receive_every_other(server: ServerProcess) -> None:
    room = server.create_room(max_participants=4)
    names = ["tutor", "ann", "ben", "cat"]
    peers: list[Peer] = []
    try:
        for index, name in enumerate(names):
            # Small, slow video: 12 encoders and 12 decoders share two cores in this test.
            video = SyntheticVideoTrack(160, 120, fps=10)
            role = "host" if index == 0 else "participant"
            token = server.token(room, name, role)["token"]
            brief = BackoffPolicy(delays=(0.5, 0.5, 1.0), jitter=0.0)
            peers.append(await Peer.join(server.base_url, token, video=video, reconnect=brief))
        ids = {peer.peer_id for peer in peers}
        assert len(ids) == 4
        for _ in range(100):  # `peer-joined` of the last ones may still be on its way
            if all(set(peer.peers) == ids - {peer.peer_id} for peer in peers):
                break
            await asyncio.sleep(0.1)
        for peer in peers:
            assert set(peer.peers) == ids - {peer.peer_id}  # the roster has everybody else
        checks = [
            me.wait_frames(video=10, audio=10, timeout=40, peer_id=other.peer_id)
            for me in peers
            for other in peers
            if other is not me
        ]
        for stats in await asyncio.gather(*checks):
            assert (stats.width, stats.height) == (160, 120)
            assert read_frame_counter(stats.last_video_frame) is not None  # a synthetic frame, decoded
        with pytest.raises(JoinRejected) as refused:
            await Peer.join(server.base_url, server.token(room, "dan")["token"], video=False, audio=False)
        assert refused.value.code == "room_full"
        # One leaves: the other three keep the very same connections to each other (none replaced).
        before = connections(peers[:3])
        await peers.pop().leave()
        await asyncio.sleep(1.0)
        assert connections(peers) == before
        assert all(me.connection_state(o.peer_id) == "connected" for me in peers for o in peers if o is not me)
        # One member's network drops its signaling: it resumes; no connection of anyone changes.
        dropped, old_socket = peers[2], peers[2].signaling
        frames = peers[0].remote(dropped.peer_id).stats.video_frames
        old_socket.abort()
        for _ in range(100):
            if dropped.signaling is not old_socket and dropped.signaling_state == "connected":
                break
            await asyncio.sleep(0.1)
        assert dropped.signaling is not old_socket and dropped.signaling_state == "connected"
        await peers[0].wait_frames(video=frames + 10, timeout=10, peer_id=dropped.peer_id)  # media kept flowing
        assert connections(peers) == before
        assert all(me.remote(o.peer_id).generation == 1 for me in peers for o in peers if o is not me)
    finally:
        for peer in peers:
            await peer.leave()
    with server.api() as api:
        [call] = api.get(f"/api/rooms/{room}/calls").json()["calls"]
    assert len(call["participants"]) == 4


async def test_mesh_room_size_is_capped_by_the_server(server: ServerProcess) -> None:
    with server.api() as api:
        refused = api.post("/api/rooms", json={"max_participants": 5})
        assert refused.status_code == 422 and "between 2 and 4" in refused.text
        assert api.post("/api/rooms", json={"max_participants": 4}).status_code == 201
