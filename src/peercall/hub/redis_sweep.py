"""Which rooms the Redis hub's orphan sweep must look at, kept in Redis beside the rooms.

Why: a sweep finds members whose node died and suspensions past the grace period. Looking
at every room of the cluster on every node each second is O(rooms) script calls per node
(500 k rooms at 1 M users). The scripts (:mod:`peercall.hub.redis_scripts`) keep an index
as members join, leave, suspend and resume; a pass reads it: the live nodes, the rooms of
the dead ones, the rooms with a suspension older than the grace.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis

RoomSweep = Callable[[str, float], Awaitable[list[tuple[str, str, int]]]]


class SweepIndex:
    """The index's keys under ``prefix`` (``nodes``, ``node-rooms:<node>``, ``suspended``)."""

    def __init__(self, client: aioredis.Redis, prefix: str, node_id: str, alive_prefix: str) -> None:
        self._redis = client
        self._prefix = prefix
        self._node_id = node_id
        self._alive_prefix = alive_prefix

    async def register(self, local_rooms: set[str]) -> None:
        """At each heartbeat: this node is one to watch. A sweep that took it for dead
        (too slow to beat in time) dropped its rooms from the index: put them back."""
        if await self._redis.sadd(f"{self._prefix}nodes", self._node_id) and local_rooms:
            await self._redis.sadd(f"{self._prefix}node-rooms:{self._node_id}", *local_rooms)

    async def due(self, grace_s: float, sweep_room: RoomSweep) -> list[tuple[str, str, str, int]]:
        """``sweep_room`` each room that may need it; ``(room_id, peer_id, state, epoch)``."""
        redis, prefix = self._redis, self._prefix
        others = sorted(str(node) for node in await redis.smembers(f"{prefix}nodes") if str(node) != self._node_id)
        alive = await redis.exists(*(self._alive_prefix + node for node in others)) if others else 0
        dead = []
        if alive < len(others):  # rare: find which (one EXISTS each)
            dead = [node for node in others if not await redis.exists(self._alive_prefix + node)]
        due_ms = int((time.time() - grace_s) * 1000)
        rooms = {str(room) for room in await redis.zrangebyscore(f"{prefix}suspended", "-inf", due_ms)}
        for node in dead:
            rooms.update(str(room) for room in await redis.smembers(f"{prefix}node-rooms:{node}"))
        found = [(room_id, *entry) for room_id in sorted(rooms) for entry in await sweep_room(room_id, grace_s)]
        for node in dead:  # swept: its members are suspended now, under `suspended`
            await redis.delete(f"{prefix}node-rooms:{node}")
            await redis.srem(f"{prefix}nodes", node)
        return found
