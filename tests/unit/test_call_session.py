"""The signaling state machine, driven without sockets (MemoryHub + SQLite in tmp)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from peercall.auth.tokens import TokenIssuer
from peercall.hub.memory import MemoryHub
from peercall.rooms.resume import ResumeKeeper
from peercall.rooms.service import RoomService
from peercall.signaling.session import SessionLimits, SessionState, SignalingSession
from peercall.store import open_store
from peercall.turn.ice_servers import IceServerProvider


def plain(frame: dict) -> dict:
    """A hub frame without its sequence number."""
    return {key: value for key, value in frame.items() if key != "seq"}


SECRET = "unit-test-secret-0123456789abcdefghij"


class Harness:
    def __init__(self, rooms: RoomService) -> None:
        self.rooms = rooms
        self.tokens = TokenIssuer(SECRET)
        self.ice = IceServerProvider(["stun:stun.invalid:3478"], ["turn:turn.invalid:3478"], "turn-secret", 600)
        self.keeper = ResumeKeeper(rooms, grace_s=0.3)

    def client(self, limits: SessionLimits | None = None) -> tuple[SignalingSession, list[dict]]:
        outbox: list[dict] = []
        return SignalingSession(
            self.rooms, self.tokens, self.ice, self.keeper, outbox.append, limits or SessionLimits()
        ), outbox

    def join_frame(self, room_id: str, identity: str, role: str = "participant") -> str:
        token, _ = self.tokens.issue(room_id, identity, identity.title(), role, 60)  # type: ignore[arg-type]
        return json.dumps({"type": "join", "v": 1, "token": token})


@pytest.fixture
async def harness(tmp_path: Path):
    store = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    yield Harness(RoomService(store, MemoryHub()))
    await store.close()


async def test_join_relay_leave_records_the_call(harness: Harness):
    room = await harness.rooms.create_room("r", 2, {})
    alice, alice_out = harness.client()
    bob, bob_out = harness.client()
    await alice.receive(harness.join_frame(room.id, "alice", "host"))
    joined = alice_out[-1]
    assert joined["type"] == "joined" and joined["peers"] == [] and joined["role"] == "host"
    assert joined["ice_servers"][1]["username"].endswith(":alice")
    await bob.receive(harness.join_frame(room.id, "bob"))
    assert [p["identity"] for p in bob_out[-1]["peers"]] == ["alice"]
    assert plain(alice_out[-1]) == {
        "type": "peer-joined",
        "peer": bob_out[-1]["peers"][0]
        | {"peer_id": bob.member.peer_id, "identity": "bob", "name": "Bob", "role": "participant"},
    }

    await bob.receive(json.dumps({"type": "offer", "to": alice.member.peer_id, "sdp": "v=0"}))
    assert alice_out[-1]["seq"] == 2
    assert plain(alice_out[-1]) == {"type": "offer", "sdp": "v=0", "from": bob.member.peer_id}

    await bob.receive('{"type":"leave"}')
    assert bob.state is SessionState.CLOSED
    assert alice_out[-1]["type"] == "peer-left" and alice_out[-1]["reason"] == "hangup"
    await alice.close()
    [call] = await harness.rooms.store.list_calls(room.id)
    assert call.ended_at is not None and call.end_reason == "completed"
    assert {p.identity: p.left_reason for p in call.participants} == {"alice": "disconnected", "bob": "hangup"}


async def test_relay_before_join_and_to_unknown_peer(harness: Harness):
    room = await harness.rooms.create_room("r", 2, {})
    alice, out = harness.client()
    await alice.receive('{"type":"offer","to":"p_x","sdp":"v=0"}')
    assert out[-1]["code"] == "not_joined" and not out[-1]["fatal"]
    await alice.receive(harness.join_frame(room.id, "alice"))
    await alice.receive('{"type":"offer","to":"p_x","sdp":"v=0"}')
    assert out[-1]["code"] == "peer_not_found"
    await alice.receive(json.dumps({"type": "offer", "to": alice.member.peer_id, "sdp": "v=0"}))
    assert out[-1]["code"] == "peer_not_found", "a peer cannot signal itself"
    await alice.receive(harness.join_frame(room.id, "alice"))
    assert out[-1]["code"] == "already_joined"
    assert alice.state is SessionState.JOINED


async def test_room_full_and_same_identity_replaces(harness: Harness):
    room = await harness.rooms.create_room("r", 2, {})
    a1, a1_out = harness.client()
    b, b_out = harness.client()
    c, c_out = harness.client()
    await a1.receive(harness.join_frame(room.id, "alice"))
    await b.receive(harness.join_frame(room.id, "bob"))
    await c.receive(harness.join_frame(room.id, "carol"))
    assert c_out[-1]["code"] == "room_full" and c_out[-1]["fatal"] and c.state is SessionState.CLOSED

    a2, a2_out = harness.client()
    await a2.receive(harness.join_frame(room.id, "alice"))
    assert a2_out[-1]["type"] == "joined" and [p["identity"] for p in a2_out[-1]["peers"]] == ["bob"]
    assert a1_out[-1]["code"] == "session_replaced" and a1_out[-1]["fatal"]
    left, joined = b_out[-2], b_out[-1]
    assert plain(left) == {"type": "peer-left", "peer_id": a1.member.peer_id, "reason": "replaced"}
    assert joined["type"] == "peer-joined" and joined["peer"]["peer_id"] == a2.member.peer_id
    await a1.close()  # the old socket closing must not remove the new session
    assert [m.peer_id for m in await harness.rooms.hub.members(room.id)] == [b.member.peer_id, a2.member.peer_id]


async def test_wrong_version_and_bad_tokens_are_fatal(harness: Harness):
    room = await harness.rooms.create_room("r", 2, {})
    for frame, code in [
        ('{"type":"join","v":2,"token":"x"}', "unsupported_version"),
        ('{"type":"join","v":1,"token":""}', "token_missing"),
        ('{"type":"join","v":1,"token":"abc.def.ghi"}', "token_invalid"),
        (harness.join_frame("room_missing", "alice"), "room_not_found"),
    ]:
        session, out = harness.client()
        await session.receive(frame)
        assert out[-1]["code"] == code and out[-1]["fatal"], frame
        assert session.state is SessionState.CLOSED
    assert await harness.rooms.hub.members(room.id) == []


async def test_rate_limit_drops_then_closes(harness: Harness):
    session, out = harness.client(SessionLimits(rate_per_s=1, burst=5, abuse_threshold=20))
    for _ in range(5):
        await session.receive('{"type":"ping"}')
    assert [f["type"] for f in out] == ["pong"] * 5
    await session.receive('{"type":"ping"}')
    assert out[-1]["code"] == "rate_limited" and not out[-1]["fatal"]
    for _ in range(30):
        await session.receive('{"type":"ping"}')
    assert out[-1]["code"] == "rate_limit_abuse" and out[-1]["fatal"]
    assert session.state is SessionState.CLOSED


async def test_deleting_a_room_ends_the_call_for_everyone(harness: Harness):
    room = await harness.rooms.create_room("r", 2, {})
    a, a_out = harness.client()
    await a.receive(harness.join_frame(room.id, "alice"))
    await harness.rooms.end_room(room.id)
    assert plain(a_out[-1]) == {"type": "room-ended", "reason": "room_deleted"}
    [call] = await harness.rooms.store.list_calls(room.id)
    assert call.end_reason == "room_deleted"
    b, b_out = harness.client()
    await b.receive(harness.join_frame(room.id, "bob"))
    assert b_out[-1]["code"] == "room_not_found"


async def test_drain_tells_joined_clients_to_move_and_refuses_the_rest(harness: Harness):
    """SIGTERM's drain: a joined member gets `drain` (and keeps its place: the socket going
    away suspends it, so it can resume elsewhere); a socket that has not joined is refused."""
    room = await harness.rooms.create_room("r", 2, {})
    alice, alice_out = harness.client()
    waiting, waiting_out = harness.client()
    await alice.receive(harness.join_frame(room.id, "alice"))
    alice.drain(2500)
    waiting.drain(2500)
    assert alice_out[-1] == {"type": "drain", "reconnect_within_ms": 2500}
    assert alice.state is SessionState.JOINED
    assert waiting_out[-1]["code"] == "draining" and waiting_out[-1]["fatal"] is True
    assert waiting.state is SessionState.CLOSED
    await alice.socket_closed()  # the client left the draining node's socket
    assert await harness.rooms.hub.is_suspended(room.id, alice_out[0]["peer_id"])
    await harness.keeper.close()
