"""Property-based fuzzing of the signaling protocol core (hypothesis).

A real RoomService (MemoryHub + SQLite) hosts a victim call (alice and bob, room A).
For every generated case a fresh attacker session in room B receives a sequence of
random, mutated, out-of-order, huge or deeply nested frames. Properties checked after
each case:

- ``receive`` never raises (a crash would kill the connection task in the server);
- nothing the attacker receives names room A, its members, resume token or SDP
  (unless the attacker itself sent that string: error messages echo a bad id);
- the victims receive nothing from the attacker, and their call still relays.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from peercall.auth.tokens import TokenIssuer
from peercall.hub.memory import MemoryHub
from peercall.rooms.resume import ResumeKeeper
from peercall.rooms.service import RoomService
from peercall.signaling.session import SessionLimits, SessionState, SignalingSession
from peercall.store import open_store
from peercall.turn.ice_servers import IceServerProvider

SECRET = "fuzz-secret-0123456789abcdefghijklmnop"
VICTIM_SDP = "v=0 victim-secret-sdp"
CASES = 600

json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(["join", "offer", "answer", "ice-candidate", "moderate", "resume", "leave", "\ud800", "p_x"]),
)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)


class World:
    """The victim call and the means to attack it."""

    def __init__(self, loop: asyncio.AbstractEventLoop, rooms: RoomService) -> None:
        self.loop = loop
        self.rooms = rooms
        self.tokens = TokenIssuer(SECRET)
        self.ice = IceServerProvider(["stun:stun.invalid:3478"], [], None, 600)
        self.keeper = ResumeKeeper(rooms, grace_s=0.05)
        self.cases = 0
        self.frames = 0

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def session(self, limits: SessionLimits | None = None) -> tuple[SignalingSession, list[dict]]:
        out: list[dict] = []
        return SignalingSession(self.rooms, self.tokens, self.ice, self.keeper, out.append, limits), out

    def join(self, room_id: str, identity: str, role: str = "participant") -> str:
        token, _ = self.tokens.issue(room_id, identity, identity, role, 600)  # type: ignore[arg-type]
        return json.dumps({"type": "join", "v": 1, "token": token})

    async def setup(self) -> None:
        self.room_a = (await self.rooms.create_room("victims", 2, {})).id
        self.room_b = (await self.rooms.create_room("attacker", 2, {})).id
        self.alice, self.alice_out = self.session()
        self.bob, self.bob_out = self.session()
        await self.alice.receive(self.join(self.room_a, "alice", "host"))
        await self.bob.receive(self.join(self.room_a, "bob"))
        assert self.alice.member and self.bob.member
        self.secrets = [
            self.room_a,
            self.alice.member.peer_id,
            self.bob.member.peer_id,
            self.alice_out[0]["resume_token"],
            VICTIM_SDP,
        ]

    def templates(self) -> list[dict[str, Any]]:
        """Valid-looking frames of every type, aimed at the victims where a target is named."""
        alice = self.alice.member.peer_id if self.alice.member else "p_gone"
        return [
            json.loads(self.join(self.room_b, "eve", "host")),
            json.loads(self.join("room_missing", "eve")),
            {"type": "offer", "to": alice, "sdp": "v=0 attack"},
            {"type": "answer", "to": alice, "sdp": "v=0"},
            {
                "type": "ice-candidate",
                "to": alice,
                "candidate": {"candidate": "candidate:1 1 udp 1 1.2.3.4 9 typ host"},
            },
            {"type": "moderate", "to": alice, "action": "remove"},
            {"type": "media-state", "audio": "muted", "video": "on", "screen": False},
            {"type": "resume", "v": 1, "resume_token": f"{self.room_a}.{alice}.guess", "last_seq": 0},
            {"type": "leave", "reason": "hangup"},
            {"type": "ping", "ts": 1},
            {"type": "recovery-report", "peer_id": alice, "cause": "manual", "outcome": "recovered", "duration_ms": 1},
            {"type": "rejoin-report", "cause": "manual", "attempts": 1, "duration_ms": 1},
        ]


@st.composite
def mutated(draw: st.DrawFn, templates: list[dict[str, Any]]) -> str:
    frame = dict(draw(st.sampled_from(templates)))
    for _ in range(draw(st.integers(0, 3))):
        op = draw(st.sampled_from(["drop", "set", "add", "retype"]))
        keys = sorted(frame)
        if op == "drop" and keys:
            frame.pop(draw(st.sampled_from(keys)))
        elif op == "set" and keys:
            frame[draw(st.sampled_from(keys))] = draw(json_value)
        elif op == "add":
            frame[draw(st.text(max_size=10))] = draw(json_value)
        else:
            frame["type"] = draw(st.sampled_from([t["type"] for t in templates]))
    return json.dumps(frame, allow_nan=True)


def deep(kind: str, depth: int) -> str:
    opener, closer = ("[", "]") if kind == "list" else ('{"a":', "}")
    return opener * depth + "1" + closer * depth


def raw_frames(templates: list[dict[str, Any]]) -> st.SearchStrategy[str]:
    return st.one_of(
        mutated(templates),
        st.text(max_size=200),
        json_value.map(lambda value: json.dumps(value, allow_nan=True)),
        st.builds(deep, st.sampled_from(["list", "dict"]), st.integers(10, 50_000)),
        st.builds(lambda n: json.dumps({"type": "offer", "to": "p_x", "sdp": "a" * n}), st.integers(0, 70_000)),
        st.just('{"type":"join","v":1,"token":"\\ud800\\udfff"}'),
        st.just('{"type": "offer", "type": "join"}'),
        st.just("\x00" * 64),
    )


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    loop = asyncio.new_event_loop()
    store = loop.run_until_complete(open_store(f"sqlite+aiosqlite:///{tmp_path / 'fuzz.db'}"))
    world = World(loop, RoomService(store, MemoryHub()))
    world.run(world.setup())
    yield world
    world.run(world.keeper.close())
    world.run(store.close())
    loop.close()


def test_security_fuzz_signaling_protocol(world: World) -> None:
    templates = world.templates()

    @settings(
        max_examples=CASES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(frames=st.lists(raw_frames(templates), min_size=1, max_size=8), join_first=st.booleans())
    def case(frames: list[str], join_first: bool) -> None:
        world.cases += 1
        alice_before, bob_before = len(world.alice_out), len(world.bob_out)
        eve, eve_out = world.session(SessionLimits(rate_per_s=1000, burst=1000, abuse_threshold=1000))
        if join_first:
            world.run(eve.receive(world.join(world.room_b, "eve", "host")))
        for text in frames:
            world.frames += 1
            world.run(eve.receive(text))  # must never raise
        world.run(eve.socket_closed())
        # The attacker may hear back what it sent itself (an echoed id), never anything else of room A.
        sent, received = "".join(frames), json.dumps(eve_out, ensure_ascii=False)
        assert not [s for s in world.secrets if s in received and s not in sent], "attacker saw room A data"
        assert len(world.alice_out) == alice_before and len(world.bob_out) == bob_before
        assert world.alice.state is SessionState.JOINED and world.bob.state is SessionState.JOINED
        # Every error the attacker got is a documented, well-formed frame.
        for frame in eve_out:
            assert isinstance(frame.get("type"), str)
            if frame["type"] == "error":
                assert frame["code"] and isinstance(frame["message"], str) and isinstance(frame["fatal"], bool)

    case()
    # The victim call still relays after every attack.
    assert world.alice.member is not None
    world.run(world.bob.receive(json.dumps({"type": "offer", "to": world.alice.member.peer_id, "sdp": VICTIM_SDP})))
    assert world.alice_out[-1]["sdp"] == VICTIM_SDP
    print(f"\nsecurity fuzz: {world.cases} cases, {world.frames} frames, server core never raised")
    assert world.cases >= CASES
