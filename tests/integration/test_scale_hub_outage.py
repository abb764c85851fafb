"""Redis stops, then comes back: the hub says so (HubUnavailable), the REST API answers a
retryable 503 ``hub_unavailable`` instead of a 500, and the hub's background tasks (the
node channel's listener, the heartbeat) outlive the outage and work again afterwards."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from peercall.hub.base import Frame, HubUnavailable, Member
from peercall.hub.redis_hub import RedisHub
from peercall.testing import ServerProcess
from peercall.testing.redis_server import RedisServer, start_redis
from peercall.testing.server import start_server, stop_server

EVICT = {"type": "error", "code": "session_replaced"}


def member(peer: str) -> Member:
    return Member(peer, peer, peer.upper(), "participant", 1.0)


async def eventually(check: object, timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            assert callable(check)
            result = check()
            if asyncio.iscoroutine(result):
                result = await result
            if result:
                return
        except HubUnavailable:
            pass
        assert asyncio.get_running_loop().time() < deadline, "not recovered in time"
        await asyncio.sleep(0.1)


async def test_scale_redis_hub_recovers_after_redis_restarts(tmp_path: Path) -> None:
    redis = start_redis(tmp_path / "redis")
    hub = await RedisHub.connect(redis.url, prefix="outage", heartbeat_s=0.2)
    try:
        inbox: list[Frame] = []
        await hub.join("r1", member("a"), inbox.append, capacity=2, evict_frame=EVICT, resume_secret="s-a")
        redis.kill()
        for call in (hub.members("r1"), hub.room_ids(), hub.is_suspended("r1", "a")):
            with pytest.raises(HubUnavailable):
                await call
        await asyncio.sleep(1.0)  # the listener and the heartbeat fail a few times meanwhile
        assert not any(task.done() for task in hub._tasks)
        redis = start_redis(tmp_path / "redis", port=redis.port)  # empty: no persistence
        alive = f"outage:alive:{hub.node_id}"
        await eventually(lambda: hub._redis.exists(alive))  # the heartbeat is back
        channel = f"outage:node:{hub.node_id}"

        async def subscribed() -> bool:
            return bool(await hub._redis.pubsub_numsub(channel) == [(channel, 1)])

        await eventually(subscribed)  # the listener subscribed again (what it missed meanwhile is lost)
        # A frame published for a member of this node reaches it through the node channel.
        await hub.join("r2", member("b"), inbox.append, capacity=2, evict_frame=EVICT, resume_secret="s-b")
        await hub.join("r2", member("c"), lambda _: None, capacity=2, evict_frame=EVICT, resume_secret="s-c")
        assert await hub.send("r2", "b", {"type": "hello", "from": "c"})
        await eventually(lambda: any(f.get("type") == "hello" for f in inbox))
        assert [m.peer_id for m in await hub.members("r2")] == ["b", "c"]
    finally:
        await hub.close()
        redis.stop()


@pytest.fixture
def node(tmp_path: Path) -> Iterator[tuple[ServerProcess, RedisServer]]:
    redis = start_redis(tmp_path / "redis")
    server = None
    (tmp_path / "node").mkdir()
    try:
        server = start_server(tmp_path / "node", extra_env={"PEERCALL_REDIS_URL": redis.url})
        yield server, redis
    finally:
        if server is not None:
            stop_server(server)
        redis.stop()


def test_scale_rest_and_readyz_answer_503_while_redis_is_down(
    node: tuple[ServerProcess, RedisServer], tmp_path: Path
) -> None:
    server, redis = node
    room = server.create_room()
    with server.api() as api:
        assert api.get(f"/api/rooms/{room}").status_code == 200
        assert api.get("/readyz").json() == {"status": "ready", "problems": []}
        redis.kill()
        not_ready = api.get("/readyz")  # the balancer sends new clients elsewhere
        assert not_ready.status_code == 503 and not_ready.json()["problems"] == ["hub: unavailable"]
        for response in (
            api.get(f"/api/rooms/{room}"),  # lists the room's members
            api.get("/api/rooms"),
            api.post(f"/api/rooms/{room}/participants/alice/remove"),  # a kick looks the member up
        ):
            assert response.status_code == 503, response.text
            assert response.json()["error"]["code"] == "hub_unavailable"
            assert response.headers["retry-after"] == "1"
        assert api.get("/metrics").status_code == 200  # the scrape skips the hub's gauges
        restarted = start_redis(tmp_path / "redis", port=redis.port)
        try:
            response = httpx.Response(503)
            for _ in range(100):
                response = api.get(f"/api/rooms/{room}")
                if response.status_code == 200:
                    break
            assert response.status_code == 200 and response.json()["participants"] == []
            assert api.get("/readyz").status_code == 200
        finally:
            restarted.stop()
    assert "Traceback" not in server.log()
