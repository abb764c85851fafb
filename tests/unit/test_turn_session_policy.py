"""`joined` carries the room's TURN region and, for relay-only rooms, `ice_transport_policy: relay`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from peercall.auth.tokens import TokenIssuer
from peercall.hub.memory import MemoryHub
from peercall.rooms.resume import ResumeKeeper
from peercall.rooms.service import RoomService
from peercall.signaling.session import SignalingSession
from peercall.store import open_store
from peercall.turn.ice_servers import IceServerProvider, TurnRegion, region_urls


class Harness:
    def __init__(self, rooms: RoomService) -> None:
        self.rooms = rooms
        self.tokens = TokenIssuer("turn-unit-test-secret-0123456789abcdef")
        regions = [
            TurnRegion(name, tuple(region_urls(f"{name}.turn.invalid")), f"{name}-secret") for name in ("eu", "us")
        ]
        self.ice = IceServerProvider([], [], None, 600, regions=regions)
        self.keeper = ResumeKeeper(rooms, grace_s=0.3)

    def client(self) -> tuple[SignalingSession, list[dict]]:
        outbox: list[dict] = []
        return SignalingSession(self.rooms, self.tokens, self.ice, self.keeper, outbox.append), outbox

    def join_frame(self, room_id: str, identity: str) -> str:
        token, _ = self.tokens.issue(room_id, identity, identity.title(), "participant", 60)
        return json.dumps({"type": "join", "v": 1, "token": token})


@pytest.fixture
async def harness(tmp_path: Path):
    store = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    yield Harness(RoomService(store, MemoryHub()))
    await store.close()


async def test_turn_relay_only_room_tells_the_client(harness: Harness):
    relay_room = await harness.rooms.create_room("r", 2, {"relay_only": True, "turn_region": "us"})
    session, outbox = harness.client()
    await session.receive(harness.join_frame(relay_room.id, "alice"))
    joined = outbox[-1]
    assert joined["type"] == "joined" and joined["ice_transport_policy"] == "relay"
    stun, turn = joined["ice_servers"]
    assert stun == {"urls": ["stun:us.turn.invalid:3478"]}
    assert turn["urls"][-1] == "turns:us.turn.invalid:443?transport=tcp" and turn["username"].endswith(":alice")


async def test_turn_ordinary_room_allows_all_candidates_and_default_region(harness: Harness):
    room = await harness.rooms.create_room("r", 2, {})
    session, outbox = harness.client()
    await session.receive(harness.join_frame(room.id, "bob"))
    assert outbox[-1]["ice_transport_policy"] == "all"
    assert outbox[-1]["ice_servers"][0] == {"urls": ["stun:eu.turn.invalid:3478"]}
