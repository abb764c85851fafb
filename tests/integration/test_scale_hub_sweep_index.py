"""The Redis hub's sweep follows what happened, not how many rooms exist: a pass over a
cluster where nobody is suspended and every node is alive runs no per-room script at all;
a dead node's rooms, and rooms with a suspension past the grace, are swept; and the index
empties again as members leave or resume (a real redis-server on loopback)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from peercall.hub.redis_hub import RedisHub
from peercall.testing.redis_server import RedisServer
from tests.integration.test_scale_hub_contract import EVICT, Inbox, join, member, redis_server, two_nodes

__all__ = ["redis_server"]  # the module-scoped fixture, shared


def script_calls(info: dict[str, dict[str, int]]) -> int:
    return sum(stats["calls"] for name, stats in info.items() if name.startswith(("cmdstat_evalsha", "cmdstat_eval")))


@pytest.fixture
async def nodes(redis_server: RedisServer) -> AsyncIterator[tuple[RedisHub, RedisHub]]:
    async with two_nodes(redis_server, heartbeat_s=0.2) as pair:
        yield pair


async def test_scale_sweep_of_a_healthy_cluster_runs_no_room_script(nodes: tuple[RedisHub, RedisHub]) -> None:
    one, two = nodes
    for n in range(200):
        await join(one if n % 2 else two, f"room{n}", member(f"p{n}"), Inbox())
    redis = one._redis
    before = script_calls(await redis.info("commandstats"))
    assert await two.sweep_due(grace_s=0.5) == []
    assert await one.sweep_due(grace_s=0.5) == []
    assert script_calls(await redis.info("commandstats")) == before  # no SWEEP of any of the 200 rooms
    assert await redis.scard(f"{one._index}node-rooms:{one.node_id}") == 100


async def test_scale_sweep_finds_a_dead_nodes_rooms_then_the_expired(nodes: tuple[RedisHub, RedisHub]) -> None:
    one, two = nodes
    b_epoch = await join(one, "r1", member("b"), Inbox())
    await join(two, "r1", member("a"), Inbox())
    await join(two, "r2", member("c"), Inbox())  # a room of the live node only
    for task in one._tasks:  # node one freezes: no more heartbeats
        task.cancel()
    await asyncio.sleep(0.8)
    assert await two.sweep_due(grace_s=0.5) == [("r1", "b", "orphaned", b_epoch)]
    redis = two._redis
    assert one.node_id not in await redis.smembers(f"{two._index}nodes")  # swept: forgotten
    assert not await redis.exists(f"{two._index}node-rooms:{one.node_id}")
    assert await two.sweep_due(grace_s=0.5) == []  # reported once; the grace runs
    await asyncio.sleep(0.6)
    assert await two.sweep_due(grace_s=0.5) == [("r1", "b", "expired", b_epoch)]
    assert await two.sweep_due(grace_s=0.5) == [("r1", "b", "expired", b_epoch)]  # until someone acts
    await two.leave("r1", "b", epoch=b_epoch)
    assert await two.sweep_due(grace_s=0.5) == []
    assert await redis.zcard(f"{two._index}suspended") == 0


async def test_scale_sweep_index_follows_suspend_resume_and_leave(nodes: tuple[RedisHub, RedisHub]) -> None:
    one, two = nodes
    redis, index = one._redis, one._index
    epoch = await join(one, "r1", member("a"), Inbox())
    await join(one, "r1", member("b"), Inbox())
    assert await one.suspend("r1", "a", epoch)
    assert await redis.zscore(f"{index}suspended", "r1") is not None
    assert await redis.sismember(f"{index}node-rooms:{one.node_id}", "r1")  # b is still attached here
    await two.resume("r1", "a", "s-a", Inbox(), last_seq=0, evict_frame=EVICT, preamble=lambda m, o, g: {})
    assert await redis.sismember(f"{index}node-rooms:{two.node_id}", "r1")
    assert await one.sweep_due(grace_s=0.0) == []  # a resumed member: nothing due, and the room leaves the index
    assert await redis.zcard(f"{index}suspended") == 0
    await one.leave("r1", "b")
    assert not await redis.sismember(f"{index}node-rooms:{one.node_id}", "r1")  # nobody attached on one
    await two.leave("r1", "a")
    assert not await redis.sismember(f"{index}node-rooms:{two.node_id}", "r1")


async def test_scale_a_node_taken_for_dead_indexes_its_rooms_again(nodes: tuple[RedisHub, RedisHub]) -> None:
    """Too slow to beat in time: a sweep forgot it; its next beat puts its rooms back."""
    one, _ = nodes
    await join(one, "r1", member("a"), Inbox())
    redis, index = one._redis, one._index
    await redis.srem(f"{index}nodes", one.node_id)
    await redis.delete(f"{index}node-rooms:{one.node_id}")
    await one._beat()
    assert one.node_id in await redis.smembers(f"{index}nodes")
    assert await redis.sismember(f"{index}node-rooms:{one.node_id}", "r1")
