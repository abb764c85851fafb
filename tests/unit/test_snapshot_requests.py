"""Snapshot requests over signaling and uploads, driven without sockets (MemoryHub + SQLite)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from peercall.auth.tokens import JoinClaims
from peercall.errors import PeercallError
from peercall.hub.memory import MemoryHub
from peercall.rooms.service import RoomService
from peercall.signaling.session import SessionLimits, SignalingSession
from peercall.snapshots import SnapshotPolicy, SnapshotRequests, SnapshotService, Upload
from peercall.snapshots.audit import verify_chain
from peercall.snapshots.storage import BlobStore
from peercall.store import open_store
from peercall.store.snapshots_sql import SnapshotStore
from tests.unit.test_call_session import Harness, plain


class SnapshotHarness(Harness):
    def __init__(self, rooms: RoomService, service: SnapshotService) -> None:
        super().__init__(rooms)
        self.service = service

    def client(self, limits: SessionLimits | None = None) -> tuple[SignalingSession, list[dict]]:
        outbox: list[dict] = []
        requests = SnapshotRequests(self.rooms, self.service.store)
        session = SignalingSession(self.rooms, self.tokens, self.ice, self.keeper, outbox.append, None, requests)
        return session, outbox


@pytest.fixture
async def harness(tmp_path: Path):
    store = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    rooms = RoomService(store, MemoryHub())
    snapshot_store = SnapshotStore(store.engine)  # type: ignore[attr-defined]
    await snapshot_store.open()
    service = SnapshotService(rooms, snapshot_store, BlobStore(tmp_path / "snapshots"), SnapshotPolicy())
    yield SnapshotHarness(rooms, service)
    await store.close()


def jpeg(width: int = 320, height: int = 240) -> bytes:
    pixels = np.random.default_rng(1).integers(0, 255, (height, width, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=90)
    return out.getvalue()


def claims(room_id: str, identity: str, role: str = "participant") -> JoinClaims:
    return JoinClaims(room_id, identity, identity.title(), role, 2**31, "jti")  # type: ignore[arg-type]


def request(to: str, request_id: str = "req-000001") -> str:
    return json.dumps({"type": "snapshot-request", "to": to, "request_id": request_id})


async def kyc_room(harness: SnapshotHarness):
    room = await harness.rooms.create_room("kyc", 2, {})
    agent, agent_out = harness.client()
    customer, customer_out = harness.client()
    await agent.receive(harness.join_frame(room.id, "agent", "host"))
    await customer.receive(harness.join_frame(room.id, "customer"))
    return room, (agent, agent_out), (customer, customer_out)


async def test_snapshot_request_is_audited_forwarded_answered_and_announced(harness: SnapshotHarness):
    room, (agent, agent_out), (customer, customer_out) = await kyc_room(harness)
    await agent.receive(request(customer.member.peer_id))
    forwarded = plain(customer_out[-1])
    assert plain(agent_out[-1]) == {
        "type": "snapshot-requested",
        "request_id": "req-000001",
        "to": customer.member.peer_id,
    }
    assert forwarded["type"] == "snapshot-request" and forwarded["request_id"] == "req-000001"
    assert forwarded["from"] == agent.member.peer_id and forwarded["by"]["identity"] == "agent"
    [requested] = await harness.service.store.audit_trail(room.id)
    assert (requested.action, requested.actor, requested.device) == ("requested", "agent", "customer")

    data = jpeg()
    record = await harness.service.upload(
        claims(room.id, "customer"), Upload(data, "image/jpeg", None, "req-000001", "grabFrame")
    )
    assert (record.taken_by, record.captured_by, record.subject, record.source) == (
        "agent",
        "customer",
        "customer",
        "request",
    )
    assert (record.width, record.height, record.method) == (320, 240, "grabFrame")
    for out in (agent_out, customer_out):  # both sides see it
        taken = plain(out[-1])
        assert taken["type"] == "snapshot-taken" and taken["snapshot_id"] == record.id
        assert taken["request_id"] == "req-000001" and taken["subject"] == customer.member.peer_id
        assert taken["sha256"] == record.sha256 and (taken["width"], taken["height"]) == (320, 240)
    trail = await harness.service.store.audit_trail(room.id)
    assert [e.action for e in trail] == ["requested", "captured"] and verify_chain(trail) is None
    assert trail[1].sha256 == record.sha256 and trail[1].snapshot_id == record.id and trail[1].device == "customer"

    with pytest.raises(PeercallError) as again:  # a request is answered once
        await harness.service.upload(
            claims(room.id, "customer"), Upload(data, "image/jpeg", None, "req-000001", "grabFrame")
        )
    assert again.value.code == "forbidden"


async def test_snapshot_request_roles_and_targets_are_enforced(harness: SnapshotHarness):
    room, (agent, agent_out), (customer, customer_out) = await kyc_room(harness)
    await customer.receive(request(agent.member.peer_id))
    assert customer_out[-1]["code"] == "forbidden" and customer_out[-1]["ref"] == "snapshot-request"
    assert all(f["type"] != "snapshot-request" for f in agent_out)
    await agent.receive(request(agent.member.peer_id))
    assert agent_out[-1]["code"] == "forbidden"
    await agent.receive(request("p_nobody"))
    assert agent_out[-1]["code"] == "participant_not_found"
    await agent.receive(request(customer.member.peer_id, "bad id!"))
    assert agent_out[-1]["code"] == "bad_message"
    assert await harness.service.store.audit_trail(room.id) == []

    await agent.receive(request(customer.member.peer_id, "req-000002"))
    await agent.receive(request(customer.member.peer_id, "req-000002"))
    assert agent_out[-1]["code"] == "bad_request"  # ids are single-use
    # Only the asked device may answer, and a failure is audited and reported to the host.
    with pytest.raises(PeercallError) as other:
        await harness.service.upload(
            claims(room.id, "agent", "host"), Upload(jpeg(), "image/jpeg", None, "req-000002", "grabFrame")
        )
    assert other.value.code == "forbidden"
    await customer.receive(json.dumps({"type": "snapshot-failed", "request_id": "req-000002", "reason": "no camera"}))
    failed = plain(agent_out[-1])
    assert failed == {
        "type": "snapshot-failed",
        "from": customer.member.peer_id,
        "request_id": "req-000002",
        "reason": "no camera",
    }
    trail = await harness.service.store.audit_trail(room.id)
    assert [e.action for e in trail] == ["requested", "failed"] and trail[1].details == {"reason": "no camera"}


async def test_snapshot_uploads_who_and_of_whom_come_from_the_server(harness: SnapshotHarness):
    room, (agent, _), (customer, _) = await kyc_room(harness)
    own = await harness.service.upload(claims(room.id, "customer"), Upload(jpeg(), "image/jpeg", None, None, "canvas"))
    assert (own.taken_by, own.subject, own.source) == ("customer", "customer", "local")
    remote = await harness.service.upload(
        claims(room.id, "agent", "host"),
        Upload(jpeg(640, 480), "image/jpeg", customer.member.peer_id, None, "grabFrame"),
    )
    assert (remote.taken_by, remote.captured_by, remote.subject, remote.source) == (
        "agent",
        "agent",
        "customer",
        "remote",
    )
    assert remote.call_id == harness.rooms.call_id(room.id) and (remote.width, remote.height) == (640, 480)
    with pytest.raises(PeercallError) as not_host:  # a participant cannot capture the agent
        await harness.service.upload(
            claims(room.id, "customer"), Upload(jpeg(), "image/jpeg", agent.member.peer_id, None, "canvas")
        )
    assert not_host.value.code == "forbidden"
    with pytest.raises(PeercallError) as outsider:  # a valid token, but not in the call
        await harness.service.upload(
            claims(room.id, "stranger", "host"), Upload(jpeg(), "image/jpeg", None, None, "canvas")
        )
    assert outsider.value.code == "forbidden"
    with pytest.raises(PeercallError) as unknown:
        await harness.service.upload(
            claims(room.id, "customer"), Upload(jpeg(), "image/jpeg", None, "req-unknown", "canvas")
        )
    assert unknown.value.code == "not_found"
    assert len(await harness.service.store.list_room(room.id)) == 2
    assert [e.action for e in await harness.service.store.audit_trail(room.id)] == ["captured", "captured"]


async def test_snapshot_requests_are_rate_limited_per_room(harness: SnapshotHarness):
    room, (agent, agent_out), (customer, _) = await kyc_room(harness)
    for n in range(30):
        await agent.receive(request(customer.member.peer_id, f"req-{n:06d}"))
    assert agent_out[-1]["type"] == "snapshot-requested"
    await agent.receive(request(customer.member.peer_id, "req-one-too-many"))
    assert agent_out[-1]["code"] == "rate_limited" and not agent_out[-1]["fatal"]
    assert len(await harness.service.store.audit_trail(room.id)) == 30
