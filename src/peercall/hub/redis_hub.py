"""Hub on Redis: rooms shared by every node, so two peers on different nodes can call.

The state (members, attachment epochs, numbered frames, replay rings) lives in Redis and
changes only through the Lua scripts of :mod:`peercall.hub.redis_scripts` (atomic, like
the in-memory hub's lock). Each node subscribes to its own channel; a frame for a member
is published to the node its socket is attached to, so a node only hears about its own
members. A member whose node died keeps its slot and ring: it resumes on another node.

Why not a home-made protocol: Redis gives atomic scripts, pub/sub and expiry; LiveKit's
``RedisRouter`` is the model (a local router plus Redis for what crosses nodes).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from dataclasses import asdict
from typing import Any

import orjson
import redis.asyncio as aioredis

from peercall.hub import redis_scripts as lua
from peercall.hub.base import (
    REPLAY_FRAMES,
    Deliver,
    Frame,
    JoinOutcome,
    Member,
    Preamble,
    ResumeOutcome,
    ResumeRefused,
    ResumeSuperseded,
    RoomFullError,
)
from peercall.hub.redis_codec import (
    REDIS_DOWN,
    dumps,
    frame_json,
    hub_call,
    member_from,
    ordered_members,
)
from peercall.hub.redis_line import CallLine
from peercall.hub.redis_local import CATCH_UP_DELAY_S, LocalSockets
from peercall.hub.redis_sweep import SweepIndex

log = logging.getLogger(__name__)

HEARTBEAT_S = 5.0
CLOSE_LINGER_S = 5.0  # how long a closed room's sockets stay reachable for the closing frame
# The node channel's reader after a failed read: first wait, doubled per failure, up to the
# cap. A short cap: frames published before it subscribes again miss the live path (they
# stay in the replay rings, for a resume).
READ_RETRY_S = 0.1
READ_RETRY_MAX_S = 1.0

POOL_SIZE = 64
POOL_WAIT_S = 10.0
# Connections the script calls leave to the rest (heartbeat, sweep, pub/sub, REST reads).
POOL_RESERVED = 8


class RedisHub:
    """The :class:`~peercall.hub.base.Hub` for several nodes; open with :meth:`connect`."""

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        node_id: str | None = None,
        prefix: str = "pc",
        heartbeat_s: float = HEARTBEAT_S,
    ) -> None:
        self._redis = client
        self.node_id = node_id or secrets.token_hex(6)
        self._prefix = prefix
        self._channel_prefix = f"{prefix}:node:"
        self._sockets = LocalSockets(self._read_ring)
        self._scripts = {name: client.register_script(getattr(lua, name)) for name in lua.__all__}
        self._pubsub = client.pubsub(ignore_subscribe_messages=True)
        self._tasks: list[asyncio.Task[None]] = []
        self._heartbeat_s = heartbeat_s
        self._alive_prefix = f"{prefix}:alive:"
        self._index = f"{prefix}:"  # the sweep index's keys (redis_scripts.py)
        self._sweeps = SweepIndex(client, self._index, self.node_id, self._alive_prefix)
        self._line = CallLine(max(1, POOL_SIZE - POOL_RESERVED), POOL_WAIT_S)

    @classmethod
    async def connect(
        cls, url: str, *, node_id: str | None = None, prefix: str = "pc", heartbeat_s: float = HEARTBEAT_S
    ) -> RedisHub:
        # A bounded pool that *waits* for a free connection: the default one raises
        # MaxConnectionsError past 100 commands in flight, which a reconnect storm (every
        # client of a dead node resuming at once) turned into `internal` errors and lost sessions.
        pool = aioredis.BlockingConnectionPool.from_url(
            url, decode_responses=True, max_connections=POOL_SIZE, timeout=POOL_WAIT_S
        )
        client = aioredis.Redis.from_pool(pool)
        hub = cls(client, node_id=node_id, prefix=prefix, heartbeat_s=heartbeat_s)
        await hub.start()
        return hub

    @hub_call
    async def start(self) -> None:
        await self._redis.ping()  # fail at start-up, not at the first call
        await self._beat()
        await self._pubsub.subscribe(self._channel_prefix + self.node_id)
        self._tasks = [asyncio.create_task(self._read()), asyncio.create_task(self._heartbeat())]
        log.info("redis hub started", extra={"node_id": self.node_id})

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self._sockets.close()
        with contextlib.suppress(Exception):
            await self._pubsub.aclose()
        with contextlib.suppress(Exception):
            await self._redis.delete(self._alive_prefix + self.node_id)
        await self._redis.aclose()

    # ---- keys -----------------------------------------------------------
    def _base(self, room_id: str) -> str:
        return f"{self._prefix}:{{{room_id}}}"

    @property
    def _rooms_key(self) -> str:
        return f"{self._prefix}:rooms"

    async def _run(self, name: str, keys: list[str], args: list[Any]) -> Any:
        # Not a hub_call itself: only hub_call methods call it (one wrapper per relayed frame, not two).
        await self._line.enter()  # first come, first served (redis_line.py says why)
        answered = False
        try:
            result = await self._scripts[name](keys=keys, args=args)
            answered = True
            return result
        finally:
            self._line.leave(answered)

    # ---- local delivery -------------------------------------------------
    async def _read(self) -> None:
        """The node channel's listener: it outlives Redis outages (redis-py reconnects and
        subscribes again on the next read), waiting longer after each failed read."""
        delay = 0.0  # > 0 while Redis is away
        while True:
            try:
                message = await self._pubsub.get_message(timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if delay == 0.0:
                    if isinstance(exc, REDIS_DOWN):
                        log.warning("redis hub: node channel unreachable; retrying", extra={"error": str(exc)})
                    else:
                        log.exception("redis hub: reading the node channel failed; retrying")
                delay = min(READ_RETRY_MAX_S, delay * 2) if delay else READ_RETRY_S
                await asyncio.sleep(delay)
                continue
            if delay:
                log.info("redis hub: node channel back; catching up from the replay rings")
                delay = 0.0
                self._sockets.catch_up(delay=CATCH_UP_DELAY_S)  # what was published meanwhile
            if message and message.get("type") == "message":
                try:
                    self._sockets.dispatch(message["data"])
                except Exception:  # one bad frame (or a deliver callback's bug) must not stop the listener
                    log.exception("redis hub: dispatching a frame failed")

    @hub_call
    async def _read_ring(self, room_id: str, peer_id: str) -> list[str]:
        """A member's replay ring, oldest first (wire texts): what pub/sub may have lost."""
        return [str(text) for text in await self._redis.lrange(f"{self._base(room_id)}:ring:{peer_id}", 0, -1)]

    @hub_call
    async def _beat(self) -> None:
        ttl_ms = max(1, int(self._heartbeat_s * 3 * 1000))
        await self._redis.set(self._alive_prefix + self.node_id, "1", px=ttl_ms)
        await self._sweeps.register(self._sockets.rooms())

    async def _heartbeat(self) -> None:
        """Say this node is alive: when it stops (killed), :meth:`sweep` on any node finds its members."""
        failing = False
        while True:
            await asyncio.sleep(self._heartbeat_s)
            try:
                await self._beat()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis away: the next beat tries again; the loop never ends on it
                if not failing:
                    log.warning("redis hub: heartbeat failed; retrying", extra={"error": str(exc)})
                failing = True
                continue
            if failing:
                log.info("redis hub: heartbeat back")
                failing = False

    @hub_call
    async def sweep(self, room_id: str, grace_s: float) -> list[tuple[str, str, int]]:
        """Members of the room whose node died (now suspended: ``orphaned``) and suspensions
        older than ``grace_s`` (``expired``): ``(peer_id, state, epoch)``. Any node may call it."""
        now_ms = int(time.time() * 1000)
        args = [now_ms, int(grace_s * 1000), self._alive_prefix, room_id, self._index]
        flat = await self._run("SWEEP", [self._base(room_id)], args)
        return [(flat[i], flat[i + 1], int(flat[i + 2])) for i in range(0, len(flat), 3)]

    @hub_call
    async def sweep_due(self, grace_s: float) -> list[tuple[str, str, str, int]]:
        """:meth:`sweep` of the rooms that may need it (:class:`SweepIndex`):
        ``(room_id, peer_id, state, epoch)``."""
        return await self._sweeps.due(grace_s, self.sweep)

    # ---- the Hub protocol -----------------------------------------------
    @hub_call
    async def join(
        self,
        room_id: str,
        member: Member,
        deliver: Deliver,
        *,
        capacity: int,
        evict_frame: Frame,
        resume_secret: str,
    ) -> tuple[JoinOutcome, int]:
        keys = [self._base(room_id), self._rooms_key, f"{self._prefix}:epochs"]
        args = [
            room_id,
            member.peer_id,
            member.identity,
            dumps(asdict(member)),
            capacity,
            dumps(evict_frame),
            resume_secret,
            self.node_id,
            self._channel_prefix,
            self._index,
        ]
        reply = await self._run("JOIN", keys, args)
        if reply[0] == "full":
            raise RoomFullError(room_id)
        epoch, replaced_raw, present = int(reply[1]), reply[2], reply[3]
        self._sockets.attach(room_id, member.peer_id, epoch, deliver, 0)
        replaced = member_from(replaced_raw) if replaced_raw else None
        return JoinOutcome(others=ordered_members(present), replaced=replaced), epoch

    @hub_call
    async def leave(self, room_id: str, peer_id: str, *, epoch: int | None = None) -> Member | None:
        raw = await self._run(
            "LEAVE",
            [self._base(room_id), self._rooms_key],
            [room_id, peer_id, "" if epoch is None else epoch, self._index],
        )
        if not raw:
            return None
        self._sockets.detach(room_id, peer_id)
        return member_from(raw)

    @hub_call
    async def suspend(self, room_id: str, peer_id: str, epoch: int) -> bool:
        now_ms = int(time.time() * 1000)
        args = [peer_id, epoch, now_ms, room_id, self._index]
        done = bool(await self._run("SUSPEND", [self._base(room_id)], args))
        if done:
            self._sockets.detach(room_id, peer_id, epoch)
        return done

    @hub_call
    async def resume(
        self,
        room_id: str,
        peer_id: str,
        secret: str,
        deliver: Deliver,
        *,
        last_seq: int,
        evict_frame: Frame,
        preamble: Preamble,
        attempt: int = 0,
    ) -> ResumeOutcome:
        keys = [self._base(room_id), f"{self._prefix}:epochs"]
        args = [
            room_id,
            peer_id,
            secret,
            last_seq,
            self.node_id,
            dumps(evict_frame),
            self._channel_prefix,
            attempt,
            self._index,
        ]
        reply = await self._run("RESUME", keys, args)
        if reply[0] == "superseded":
            raise ResumeSuperseded(peer_id)
        if reply[0] != "ok":
            raise ResumeRefused(peer_id)
        member, epoch, gap, others = member_from(reply[1]), int(reply[2]), bool(reply[3]), ordered_members(reply[4])
        replay: list[Frame] = [orjson.loads(raw) for raw in reply[5]]
        deliver(preamble(member, others, gap))
        for frame in replay:
            deliver(frame)
        self._sockets.attach(room_id, peer_id, epoch, deliver, replay[-1]["seq"] if replay else last_seq)
        return ResumeOutcome(member, others, len(replay), gap, epoch)

    @hub_call
    async def acknowledge(self, room_id: str, peer_id: str, seq: int) -> None:
        await self._run("ACK", [self._base(room_id)], [peer_id, seq])

    @hub_call
    async def is_suspended(self, room_id: str, peer_id: str) -> bool:
        node = await self._redis.hget(f"{self._base(room_id)}:node", peer_id)
        return node == ""

    @hub_call
    async def send(self, room_id: str, peer_id: str, frame: Frame) -> bool:
        args = [room_id, peer_id, frame_json(frame), self._channel_prefix, REPLAY_FRAMES]
        return bool(await self._run("SEND", [self._base(room_id)], args))

    def send_now(self, room_id: str, peer_id: str, frame: Frame) -> None:
        """Never: every frame is numbered and ringed in Redis (a resume may happen elsewhere)."""
        return None

    @hub_call
    async def broadcast(self, room_id: str, frame: Frame, *, exclude: str | None = None) -> None:
        args = [room_id, frame_json(frame), exclude or "", self._channel_prefix, REPLAY_FRAMES]
        await self._run("BROADCAST", [self._base(room_id)], args)

    @hub_call
    async def members(self, room_id: str) -> list[Member]:
        raws = await self._redis.hvals(f"{self._base(room_id)}:members")
        return ordered_members([str(raw) for raw in raws])  # decode_responses: already str

    @hub_call
    async def set_media(self, room_id: str, peer_id: str, media: dict[str, Any]) -> Member | None:
        raw = await self._run("SET_MEDIA", [self._base(room_id)], [peer_id, dumps(media)])
        return member_from(raw) if raw else None

    @hub_call
    async def close_room(self, room_id: str, frame: Frame) -> list[Member]:
        args = [room_id, frame_json(frame), self._channel_prefix, REPLAY_FRAMES, self._index]
        raws = await self._run("CLOSE_ROOM", [self._base(room_id), self._rooms_key], args)
        # Forget this node's sockets of the room once the closing frame (still on its way
        # through pub/sub) has reached them.
        attached = self._sockets.epochs_in(room_id)
        loop = asyncio.get_running_loop()
        for (room, peer), epoch in attached:
            loop.call_later(CLOSE_LINGER_S, self._sockets.detach, room, peer, epoch)
        return ordered_members(raws)

    @hub_call
    async def ping(self) -> None:
        await self._redis.ping()

    @hub_call
    async def room_ids(self) -> list[str]:
        return sorted(str(room) for room in await self._redis.smembers(self._rooms_key))
