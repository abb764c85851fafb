"""Frames pub/sub never delivered to a node (its subscription dropped, a message lost)
still reach the member's socket, once and in order, from its replay ring: a real
redis-server on loopback, two hub nodes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from peercall.hub.redis_hub import RedisHub
from peercall.testing.redis_server import RedisServer
from tests.integration.test_scale_hub_contract import Inbox, join, member, redis_server, two_nodes

__all__ = ["redis_server"]  # the module-scoped fixture, shared


@pytest.fixture
async def nodes(redis_server: RedisServer) -> AsyncIterator[tuple[RedisHub, RedisHub]]:
    async with two_nodes(redis_server) as pair:
        yield pair


async def test_scale_frames_published_while_a_subscription_was_down_arrive(nodes: tuple[RedisHub, RedisHub]) -> None:
    one, two = nodes
    bob = Inbox()
    await join(one, "r1", member("a"), Inbox())
    await join(two, "r1", member("b"), bob)
    await one.send("r1", "b", {"type": "offer", "n": 0})
    await bob.wait(1)
    killed = await one._redis.client_kill_filter(_type="pubsub")  # every node's subscription drops
    assert killed >= 1
    for n in range(1, 21):  # published while node two is not listening: pub/sub drops them
        await one.send("r1", "b", {"type": "offer", "n": n})
    frames = await bob.wait(21, timeout=5)
    await asyncio.sleep(0.3)  # nothing more arrives: no duplicates
    assert [f["n"] for f in bob.frames] == list(range(21))
    assert [f["seq"] for f in frames] == list(range(1, 22))


async def test_scale_a_lost_message_is_filled_in_before_the_next(
    nodes: tuple[RedisHub, RedisHub], monkeypatch: pytest.MonkeyPatch
) -> None:
    one, two = nodes
    bob = Inbox()
    await join(one, "r2", member("a"), Inbox())
    await join(two, "r2", member("b"), bob)
    real = two._sockets.dispatch

    def lossy(data: str) -> None:
        if '"n":1' not in data:  # pub/sub "loses" this one
            real(data)

    monkeypatch.setattr(two._sockets, "dispatch", lossy)
    for n in range(3):
        await one.send("r2", "b", {"type": "offer", "n": n})
    await bob.wait(3)
    await asyncio.sleep(0.2)
    assert [f["n"] for f in bob.frames] == [0, 1, 2]  # 1 from the ring, before 2


async def test_scale_frames_lost_beyond_the_ring_close_the_socket_to_resume(
    nodes: tuple[RedisHub, RedisHub], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A gap the ring no longer covers (more frames published meanwhile than it keeps) is
    not papered over: the socket gets the lost-socket error (its client resumes and hears
    of the gap) and nothing after the hole."""
    one, two = nodes
    bob = Inbox()
    await join(one, "r3", member("a"), Inbox())
    await join(two, "r3", member("b"), bob)
    real_dispatch, real_read = two._sockets.dispatch, two._sockets._read_ring

    def lossy(data: str) -> None:
        if '"n":1' not in data:
            real_dispatch(data)

    async def trimmed(room_id: str, peer_id: str) -> list[str]:  # as if the ring had been cut past seq 2
        return [text for text in await real_read(room_id, peer_id) if '"seq":2' not in text]

    monkeypatch.setattr(two._sockets, "dispatch", lossy)
    monkeypatch.setattr(two._sockets, "_read_ring", trimmed)
    for n in range(4):
        await one.send("r3", "b", {"type": "offer", "n": n})
    frames = await bob.wait(2)
    await asyncio.sleep(0.3)
    assert [f.get("n") for f in frames] == [0, None], frames
    assert frames[1]["type"] == "error" and frames[1]["code"] == "hub_unavailable" and frames[1]["fatal"]
    await one.send("r3", "b", {"type": "offer", "n": 4})  # the socket is no longer fed
    await asyncio.sleep(0.2)
    assert len(bob.frames) == 2
