"""Signaling resume, driven without sockets: suspend, buffer, replay, grace expiry."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from peercall.hub.memory import MemoryHub
from peercall.rooms.service import RoomService
from peercall.signaling.session import SessionState
from peercall.store import open_store
from tests.unit.test_call_session import Harness


@pytest.fixture
async def harness(tmp_path: Path):
    store = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    yield Harness(RoomService(store, MemoryHub()))
    await store.close()


def resume_frame(joined: dict, last_seq: int) -> str:
    return json.dumps({"type": "resume", "v": 1, "resume_token": joined["resume_token"], "last_seq": last_seq})


async def call_of_two(harness: Harness):
    room = await harness.rooms.create_room("r", 2, {})
    alice, alice_out = harness.client()
    bob, bob_out = harness.client()
    await alice.receive(harness.join_frame(room.id, "alice", "host"))
    await bob.receive(harness.join_frame(room.id, "bob"))
    return room, (alice, alice_out), (bob, bob_out)


async def test_reconnect_resume_replays_what_was_missed(harness: Harness):
    room, (alice, alice_out), (bob, bob_out) = await call_of_two(harness)
    bob_joined = bob_out[0]
    assert bob_joined["resume_grace_s"] == 0.3 and bob_joined["resume_token"].startswith(room.id + ".")
    bob_peer = bob.member.peer_id
    await alice.receive(json.dumps({"type": "offer", "to": bob_peer, "sdp": "v=0 one"}))
    seen = bob_out[-1]["seq"]

    await bob.socket_closed()  # network drop
    assert plain_types(alice_out)[-1] == "peer-reconnecting"
    assert [m.peer_id for m in await harness.rooms.hub.members(room.id)] == [alice.member.peer_id, bob_peer]
    await alice.receive(json.dumps({"type": "offer", "to": bob_peer, "sdp": "v=0 two"}))  # buffered

    bob2, bob2_out = harness.client()
    await bob2.receive(resume_frame(bob_joined, seen))
    resumed, replayed = bob2_out[0], bob2_out[1]
    assert resumed["type"] == "resumed" and resumed["peer_id"] == bob_peer and resumed["replay_gap"] is False
    assert [p["identity"] for p in resumed["peers"]] == ["alice"]
    assert replayed["sdp"] == "v=0 two" and replayed["seq"] == seen + 1
    assert alice_out[-1]["type"] == "peer-resumed" and alice_out[-1]["peer_id"] == bob_peer
    assert bob2.state is SessionState.JOINED

    [record] = await harness.rooms.store.list_reconnects(harness.rooms.call_id(room.id))
    assert (record.kind, record.outcome, record.identity) == ("signaling", "resumed", "bob")


async def test_reconnect_grace_expiry_removes_the_member(harness: Harness):
    room, (_alice, alice_out), (bob, bob_out) = await call_of_two(harness)
    call_id = harness.rooms.call_id(room.id)
    await bob.socket_closed()
    await asyncio.sleep(0.6)  # grace is 0.3 s in the harness
    assert alice_out[-1]["type"] == "peer-left" and alice_out[-1]["reason"] == "timeout"
    late, late_out = harness.client()
    await late.receive(resume_frame(bob_out[0], 0))
    assert late_out[-1]["code"] == "session_expired" and late_out[-1]["fatal"]
    records = await harness.rooms.store.list_reconnects(call_id)
    assert [(r.identity, r.outcome) for r in records] == [("bob", "timeout")]


async def test_reconnect_resume_refuses_forged_tokens(harness: Harness):
    _, _, (_bob, bob_out) = await call_of_two(harness)
    room_id, peer_id, _secret = bob_out[0]["resume_token"].split(".")
    for token in (f"{room_id}.{peer_id}.forged-secret-000000", "nonsense-token-123", f"{room_id}.p_nobody.x" * 2):
        session, out = harness.client()
        await session.receive(json.dumps({"type": "resume", "v": 1, "resume_token": token, "last_seq": 0}))
        assert out[-1]["code"] == "resume_failed", token


async def test_reconnect_resume_takes_over_a_socket_that_has_not_noticed(harness: Harness):
    _room, (alice, alice_out), (bob, bob_out) = await call_of_two(harness)
    bob2, bob2_out = harness.client()
    await bob2.receive(resume_frame(bob_out[0], bob_out[-1].get("seq", 0)))
    assert bob_out[-1]["code"] == "session_replaced"  # the stale socket is told to close
    await bob.socket_closed()  # ... and closing it must not suspend the resumed session
    assert "peer-reconnecting" not in plain_types(alice_out)
    await alice.receive(json.dumps({"type": "offer", "to": bob2.member.peer_id, "sdp": "v=0 live"}))
    assert bob2_out[-1]["sdp"] == "v=0 live"


async def test_reconnect_deliberate_leave_is_not_suspended(harness: Harness):
    _room, (_alice, alice_out), (bob, bob_out) = await call_of_two(harness)
    await bob.receive('{"type":"leave"}')
    await bob.socket_closed()
    assert alice_out[-1]["type"] == "peer-left" and alice_out[-1]["reason"] == "hangup"
    session, out = harness.client()
    await session.receive(resume_frame(bob_out[0], 0))
    assert out[-1]["code"] == "resume_failed"


def plain_types(frames: list[dict]) -> list[str]:
    return [frame["type"] for frame in frames]


async def test_reconnect_media_recovery_reports_are_stored(harness: Harness):
    room, (alice, alice_out), (bob, _) = await call_of_two(harness)
    report = {
        "type": "recovery-report",
        "peer_id": bob.member.peer_id,
        "cause": "ice_failed",
        "duration_ms": 1800,
        "outcome": "recovered",
        "steps": [{"step": "ice_restart", "ok": False, "ms": 1000}, {"step": "ice_restart", "ok": True, "ms": 800}],
    }
    await alice.receive(json.dumps(report))
    await alice.receive(json.dumps({**report, "steps": [{"step": "teleport", "ok": True, "ms": 1}]}))
    assert alice_out[-1]["code"] == "bad_message"
    [record] = await harness.rooms.store.list_reconnects(harness.rooms.call_id(room.id))
    assert (record.kind, record.cause, record.outcome, record.duration_ms) == ("media", "ice_failed", "recovered", 1800)
    assert [s["ok"] for s in record.steps] == [False, True] and record.steps[0]["towards"] == bob.member.peer_id


async def test_reconnect_idle_timeout_suspends_instead_of_removing(harness: Harness):
    from peercall.errors import PeercallError

    room, (_alice, alice_out), (bob, bob_out) = await call_of_two(harness)
    bob.fail(PeercallError("idle_timeout", "no frame within 30 s"))  # a silently dead network
    await bob.socket_closed()
    assert alice_out[-1]["type"] == "peer-reconnecting"
    bob2, bob2_out = harness.client()
    await bob2.receive(resume_frame(bob_out[0], 0))
    assert bob2_out[0]["type"] == "resumed"
    # The timeline says why the socket went away: silence, not a close.
    [record] = await harness.rooms.store.list_reconnects(harness.rooms.call_id(room.id))
    assert (record.kind, record.cause, record.outcome) == ("signaling", "idle_timeout", "resumed")


async def test_reconnect_resume_of_a_replaced_session_is_terminal(harness: Harness):
    room, _, (_bob, bob_out) = await call_of_two(harness)
    newer, newer_out = harness.client()
    await newer.receive(harness.join_frame(room.id, "bob"))
    assert newer_out[-1]["type"] == "joined"
    old, old_out = harness.client()
    await old.receive(resume_frame(bob_out[0], 0))  # the old device never saw session_replaced
    assert old_out[-1]["code"] == "session_replaced" and old_out[-1]["fatal"]


async def test_reconnect_rejoin_report_is_stored_once(harness: Harness):
    """After a server restart the SDK rejoins and reports the outage; the server keeps it in the timeline."""
    room, (alice, alice_out), _ = await call_of_two(harness)
    report = {"type": "rejoin-report", "cause": "connection_lost", "duration_ms": 3200, "attempts": 4}
    await alice.receive(json.dumps(report))
    [record] = await harness.rooms.store.list_reconnects(harness.rooms.call_id(room.id))
    assert (record.kind, record.cause, record.outcome, record.duration_ms) == (
        "signaling",
        "connection_lost",
        "rejoined",
        3200,
    )
    assert record.steps == [{"step": "rejoin", "ok": True, "attempts": 4, "ms": 3200}]
    # A second report on the same connection is refused (non-fatal) and stores nothing.
    await alice.receive(json.dumps(report))
    assert alice_out[-1]["type"] == "error" and alice_out[-1]["code"] == "bad_message"
    assert alice.state is SessionState.JOINED
    bad = {**report, "cause": "../etc", "duration_ms": -1}
    await alice.receive(json.dumps(bad))
    assert alice_out[-1]["code"] == "bad_message"
    assert len(await harness.rooms.store.list_reconnects(harness.rooms.call_id(room.id))) == 1


async def test_reconnect_ping_ack_trims_what_a_resume_replays(harness: Harness):
    """A `ping` with `ack` drops the acknowledged frames from the ring: a resume that claims
    less than it acknowledged has a gap; one from the ack on replays only what followed."""
    _room, (alice, _), (bob, bob_out) = await call_of_two(harness)
    bob_joined, bob_peer = bob_out[0], bob.member.peer_id
    for n in range(3):
        await alice.receive(json.dumps({"type": "offer", "to": bob_peer, "sdp": f"v=0 {n}"}))
    seen = bob_out[-1]["seq"]
    await bob.receive(json.dumps({"type": "ping", "ts": 1, "ack": seen}))
    assert bob_out[-1] == {"type": "pong", "ts": 1}
    await bob.socket_closed()
    await alice.receive(json.dumps({"type": "offer", "to": bob_peer, "sdp": "v=0 late"}))

    claims_less, out = harness.client()
    await claims_less.receive(resume_frame(bob_joined, seen - 1))
    assert out[0]["type"] == "resumed" and out[0]["replay_gap"] is True  # seq `seen` was dropped
    await claims_less.socket_closed()
    honest, out = harness.client()
    await honest.receive(resume_frame(bob_joined, seen))
    assert out[0]["replay_gap"] is False and [f.get("sdp") for f in out[1:]] == ["v=0 late"]


async def test_reconnect_an_abandoned_resume_attempt_read_late_is_refused(harness: Harness):
    _room, _alice, (bob, bob_out) = await call_of_two(harness)
    bob_joined = bob_out[0]
    await bob.socket_closed()
    attempt = lambda n: json.dumps({**json.loads(resume_frame(bob_joined, 0)), "attempt": n})  # noqa: E731
    newer, newer_out = harness.client()
    await newer.receive(attempt(2))
    assert newer_out[0]["type"] == "resumed"
    stale, stale_out = harness.client()
    await stale.receive(attempt(1))
    assert stale_out[0]["type"] == "error" and stale_out[0]["code"] == "resume_superseded"
    assert newer.state is SessionState.JOINED and not [f for f in newer_out if f.get("type") == "error"]
