"""The hub contract, run against every backend: the in-memory hub and the Redis hub
(a real redis-server on loopback). Plus what only a shared hub can do: members on two
nodes talk, and a member whose node vanished resumes on another node with nothing lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from peercall.hub.base import Frame, Hub, Member, ResumeRefused, ResumeSuperseded, RoomFullError
from peercall.hub.memory import MemoryHub
from peercall.hub.redis_hub import RedisHub
from peercall.testing.redis_server import RedisServer, start_redis

EVICT = {"type": "error", "code": "session_replaced"}


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = start_redis(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


class Inbox:
    """A member's connection: collects delivered frames."""

    def __init__(self) -> None:
        self.frames: list[Frame] = []

    def __call__(self, frame: Frame) -> None:
        self.frames.append(frame)

    async def wait(self, count: int, timeout: float = 3.0) -> list[Frame]:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.frames) < count:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{len(self.frames)}/{count} frames: {self.frames}")
            await asyncio.sleep(0.01)
        return self.frames

    def types(self) -> list[str]:
        return [str(f.get("type")) for f in self.frames]


def member(peer: str, identity: str | None = None) -> Member:
    return Member(peer, identity or peer, peer.upper(), "participant", 1.0)


@pytest.fixture(params=["memory", "redis"])
async def hubs(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[list[Any]]:
    """Two handles on one shared hub (two nodes for Redis; the same object for memory)."""
    if request.param == "memory":
        hub = MemoryHub()
        yield [hub, hub]
        return
    server: RedisServer = request.getfixturevalue("redis_server")
    async with two_nodes(server) as (one, two):
        yield [one, two]


@contextlib.asynccontextmanager
async def two_nodes(server: RedisServer, **connect: Any) -> AsyncIterator[tuple[RedisHub, RedisHub]]:
    """Two Redis hub nodes of one cluster, under a key prefix of their own."""
    prefix = f"t{secrets.token_hex(4)}"
    one = await RedisHub.connect(server.url, prefix=prefix, **connect)
    two = await RedisHub.connect(server.url, prefix=prefix, **connect)
    try:
        yield one, two
    finally:
        await one.close()
        await two.close()


async def join(hub: Hub, room: str, who: Member, inbox: Inbox, capacity: int = 2) -> int:
    _, epoch = await hub.join(room, who, inbox, capacity=capacity, evict_frame=EVICT, resume_secret=f"s-{who.peer_id}")
    return epoch


async def test_scale_hub_join_send_broadcast_in_order(hubs: list[Any]) -> None:
    one, two = hubs
    alice, bob = Inbox(), Inbox()
    await join(one, "r1", member("a"), alice)
    outcome, _ = await two.join("r1", member("b"), bob, capacity=2, evict_frame=EVICT, resume_secret="s-b")
    assert [m.peer_id for m in outcome.others] == ["a"] and outcome.replaced is None
    with pytest.raises(RoomFullError):
        await join(one, "r1", member("c"), Inbox())
    for n in range(20):  # text beyond ASCII travels unescaped (orjson) and arrives intact
        assert await one.send("r1", "b", {"type": "offer", "n": n, "sdp": f"é☃ {n}"})
    assert not await one.send("r1", "nobody", {"type": "offer"})
    await two.broadcast("r1", {"type": "peer-media", "peer_id": "b"}, exclude="b")
    frames = await bob.wait(20)
    assert [f["n"] for f in frames] == list(range(20)) and [f["seq"] for f in frames] == list(range(1, 21))
    assert [f["sdp"] for f in frames] == [f"é☃ {n}" for n in range(20)]
    assert (await alice.wait(1))[0] == {"type": "peer-media", "peer_id": "b", "seq": 1}
    assert [m.peer_id for m in await two.members("r1")] == ["a", "b"]
    assert "r1" in await one.room_ids()
    updated = await two.set_media("r1", "a", {"audio": "muted", "video": "on", "screen": False})
    assert updated is not None and updated.media["audio"] == "muted"
    assert (await one.members("r1"))[0].media == {"audio": "muted", "video": "on", "screen": False}


async def test_scale_hub_same_identity_replaces_and_evicts(hubs: list[Any]) -> None:
    one, two = hubs
    first, second = Inbox(), Inbox()
    await join(one, "r2", member("a1", "alice"), first)
    outcome, _ = await two.join("r2", member("a2", "alice"), second, capacity=1, evict_frame=EVICT, resume_secret="x")
    assert outcome.replaced is not None and outcome.replaced.peer_id == "a1" and outcome.others == []
    assert (await first.wait(1))[0] == EVICT
    assert [m.peer_id for m in await one.members("r2")] == ["a2"]


async def test_scale_hub_suspend_buffers_and_resume_replays(hubs: list[Any]) -> None:
    one, two = hubs
    alice, bob = Inbox(), Inbox()
    await join(one, "r3", member("a"), alice)
    epoch = await join(two, "r3", member("b"), bob)
    await one.send("r3", "b", {"type": "offer", "n": 0})
    await bob.wait(1)
    assert await two.suspend("r3", "b", epoch) and await one.is_suspended("r3", "b")
    assert not await two.suspend("r3", "b", epoch)  # already suspended
    for n in range(1, 4):
        await one.send("r3", "b", {"type": "offer", "n": n})
    await asyncio.sleep(0.1)
    assert len(bob.frames) == 1  # nothing reaches a suspended socket
    with pytest.raises(ResumeRefused):
        await one.resume("r3", "b", "wrong", Inbox(), last_seq=1, evict_frame=EVICT, preamble=lambda *a: {})
    again = Inbox()
    preamble = lambda m, o, gap: {"type": "resumed", "gap": gap}  # noqa: E731
    outcome = await one.resume("r3", "b", "s-b", again, last_seq=1, evict_frame=EVICT, preamble=preamble)  # other node
    assert outcome.replayed == 3 and not outcome.gap and outcome.epoch != epoch
    assert [m.peer_id for m in outcome.others] == ["a"]
    await two.send("r3", "b", {"type": "offer", "n": 4})  # live, after the replay
    frames = await again.wait(5)
    assert frames[0] == {"type": "resumed", "gap": False}
    assert [f["n"] for f in frames[1:]] == [1, 2, 3, 4] and [f["seq"] for f in frames[1:]] == [2, 3, 4, 5]
    assert not await one.is_suspended("r3", "b")
    # The superseded attachment can no longer remove the member.
    assert await two.leave("r3", "b", epoch=epoch) is None
    left = await two.leave("r3", "b", epoch=outcome.epoch)
    assert left is not None and left.peer_id == "b"
    assert [m.peer_id for m in await one.members("r3")] == ["a"]


async def test_scale_hub_resume_reports_a_gap_when_the_ring_overflowed(hubs: list[Any]) -> None:
    one, _ = hubs
    bob = Inbox()
    epoch = await join(one, "r4", member("b"), bob)
    await one.suspend("r4", "b", epoch)
    for n in range(600):  # more than the replay ring holds
        await one.send("r4", "b", {"type": "ice-candidate", "n": n})
    again = Inbox()
    outcome = await one.resume(
        "r4", "b", "s-b", again, last_seq=0, evict_frame=EVICT, preamble=lambda m, o, gap: {"type": "resumed"}
    )
    assert outcome.gap and outcome.replayed == 512
    assert again.frames[1]["n"] == 600 - 512


async def test_scale_hub_acknowledged_frames_leave_the_replay_ring(hubs: list[Any]) -> None:
    """Acked frames are not kept (the ring would otherwise always hold the last 512); a
    resume after the ack replays exactly what came after it, with no gap."""
    one, two = hubs
    bob = Inbox()
    epoch = await join(one, "r6", member("b"), bob)
    for n in range(10):
        await one.send("r6", "b", {"type": "ice-candidate", "n": n})
    await bob.wait(10)
    await two.acknowledge("r6", "b", 7)  # from any node
    await two.acknowledge("r6", "b", 3)  # an older ack changes nothing
    await one.suspend("r6", "b", epoch)
    await one.send("r6", "b", {"type": "ice-candidate", "n": 10})
    again = Inbox()
    preamble = lambda m, o, gap: {"type": "resumed", "gap": gap}  # noqa: E731
    outcome = await two.resume("r6", "b", "s-b", again, last_seq=8, evict_frame=EVICT, preamble=preamble)
    assert not outcome.gap and [f["seq"] for f in again.frames[1:]] == [9, 10, 11]
    # Everything acknowledged: the ring is empty, and resuming at the end is not a gap.
    await one.acknowledge("r6", "b", 11)
    assert outcome.epoch and await one.suspend("r6", "b", outcome.epoch)
    last = Inbox()
    outcome = await one.resume("r6", "b", "s-b", last, last_seq=11, evict_frame=EVICT, preamble=preamble)
    assert (outcome.replayed, outcome.gap) == (0, False)
    # A client that acked past what it later claims to have seen has lost frames: a gap.
    gap = await two.resume("r6", "b", "s-b", Inbox(), last_seq=5, evict_frame=EVICT, preamble=preamble)
    assert gap.gap and gap.replayed == 0


async def test_scale_hub_a_stale_resume_attempt_does_not_evict_the_newer_socket(hubs: list[Any]) -> None:
    """Attempt 2 resumed; attempt 1 (abandoned by the client, read late by an overloaded
    node) is refused and the socket of attempt 2 keeps the session."""
    one, two = hubs
    bob = Inbox()
    epoch = await join(one, "r7", member("b"), bob)
    await one.suspend("r7", "b", epoch)
    newer = Inbox()
    preamble = lambda m, o, gap: {"type": "resumed"}  # noqa: E731
    await two.resume("r7", "b", "s-b", newer, last_seq=0, evict_frame=EVICT, preamble=preamble, attempt=2)
    with pytest.raises(ResumeSuperseded):
        await one.resume("r7", "b", "s-b", Inbox(), last_seq=0, evict_frame=EVICT, preamble=preamble, attempt=1)
    with pytest.raises(ResumeSuperseded):  # the same attempt twice is stale too
        await one.resume("r7", "b", "s-b", Inbox(), last_seq=0, evict_frame=EVICT, preamble=preamble, attempt=2)
    await one.send("r7", "b", {"type": "offer"})
    frames = await newer.wait(2)
    assert [f["type"] for f in frames] == ["resumed", "offer"]  # not evicted
    # A later attempt still takes over (and evicts) as before.
    latest = Inbox()
    await one.resume("r7", "b", "s-b", latest, last_seq=1, evict_frame=EVICT, preamble=preamble, attempt=3)
    assert (await newer.wait(3))[-1] == EVICT


async def test_scale_hub_close_room_tells_everyone(hubs: list[Any]) -> None:
    one, two = hubs
    alice, bob = Inbox(), Inbox()
    await join(one, "r5", member("a"), alice)
    await join(two, "r5", member("b"), bob)
    gone = await one.close_room("r5", {"type": "room-ended"})
    assert sorted(m.peer_id for m in gone) == ["a", "b"]
    assert (await bob.wait(1))[-1]["type"] == "room-ended" and (await alice.wait(1))[-1]["type"] == "room-ended"
    assert await two.members("r5") == [] and "r5" not in await two.room_ids()


async def test_scale_redis_hub_member_of_a_dead_node_resumes_elsewhere(redis_server: RedisServer) -> None:
    """Node one dies without a word (no suspend, no leave): its member resumes on node two
    and gets every frame sent meanwhile, in order."""
    one = await RedisHub.connect(redis_server.url, prefix="dead")
    two = await RedisHub.connect(redis_server.url, prefix="dead")
    try:
        alice, bob = Inbox(), Inbox()
        await join(two, "r6", member("a"), alice)
        await join(one, "r6", member("b"), bob)
        await one.close()  # the node is gone; Redis still says b is attached to it
        for n in range(5):
            await two.send("r6", "b", {"type": "offer", "n": n})
        again = Inbox()
        outcome = await two.resume(
            "r6", "b", "s-b", again, last_seq=0, evict_frame=EVICT, preamble=lambda m, o, gap: {"type": "resumed"}
        )
        assert outcome.replayed == 5 and not outcome.gap
        assert [f["n"] for f in again.frames[1:]] == [0, 1, 2, 3, 4]
    finally:
        await two.close()


async def test_scale_redis_hub_sweep_finds_members_of_dead_nodes(redis_server: RedisServer) -> None:
    """A node that stops heart-beating (killed) leaves its members attached to nothing: any
    other node's sweep marks them suspended ("orphaned"), then "expired" after the grace."""
    one = await RedisHub.connect(redis_server.url, prefix="sweep", heartbeat_s=0.2)
    two = await RedisHub.connect(redis_server.url, prefix="sweep", heartbeat_s=0.2)
    try:
        await join(two, "r7", member("a"), Inbox())
        b_epoch = await join(one, "r7", member("b"), Inbox())
        assert await two.sweep("r7", grace_s=0.5) == []  # everyone's node is alive
        for task in one._tasks:  # the node freezes: no more heartbeats (its alive key expires)
            task.cancel()
        await asyncio.sleep(0.8)
        assert await two.sweep("r7", grace_s=0.5) == [("b", "orphaned", b_epoch)]
        assert await two.is_suspended("r7", "b") and not await two.is_suspended("r7", "a")
        assert await two.sweep("r7", grace_s=0.5) == []  # reported once; the grace runs
        await asyncio.sleep(0.6)
        assert await two.sweep("r7", grace_s=0.5) == [("b", "expired", b_epoch)]
        # A resume within the grace would have cleared it: resume now, and nothing is stale.
        await two.resume("r7", "b", "s-b", Inbox(), last_seq=0, evict_frame=EVICT, preamble=lambda m, o, g: {})
        assert await two.sweep("r7", grace_s=0.5) == []
    finally:
        await one.close()
        await two.close()


async def test_scale_redis_hub_recovers_after_redis_restart(tmp_path: Path) -> None:
    """Redis is killed and comes back (same port, empty): both nodes reconnect by themselves
    (commands and the pub/sub subscription) and serve new calls across nodes again."""
    server = start_redis(tmp_path / "r")
    one = await RedisHub.connect(server.url, prefix="restart")
    two = await RedisHub.connect(server.url, prefix="restart")
    try:
        await join(one, "before", member("a"), Inbox())
        server.kill()
        with pytest.raises(Exception):  # noqa: B017 - any connection error: Redis is down
            await join(one, "during", member("x"), Inbox())
        server = start_redis(tmp_path / "r", port=server.port)
        alice, bob = Inbox(), Inbox()
        deadline = asyncio.get_running_loop().time() + 10
        while True:  # the first commands after the restart may still hit the dead connection
            try:
                await join(one, "after", member("a"), alice)
                await join(two, "after", member("b"), bob)
                break
            except Exception:
                if asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(0.2)
        deadline = asyncio.get_running_loop().time() + 10
        while not bob.frames:  # node two's subscription is back once a frame gets through
            await one.send("after", "b", {"type": "offer", "n": 1})
            await asyncio.sleep(0.3)
            assert asyncio.get_running_loop().time() < deadline, "node two never heard from node one again"
        assert bob.frames[0]["type"] == "offer"
    finally:
        await one.close()
        await two.close()
        server.stop()
