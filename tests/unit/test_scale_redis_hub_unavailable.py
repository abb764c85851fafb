"""A Redis that does not answer surfaces as HubUnavailable (a lost socket for the
session, see test_scale_ws_protocol), not as a bug with a traceback and a lost member.

Every round trip of the hub is covered (scripts, plain commands, the heartbeat), and
the code running in the background outlives an outage: the orphan sweeper backs off,
a dropped socket's suspension and a leave are retried once the hub answers again.
(With a real Redis stopped and restarted: tests/integration/test_scale_hub_outage.py.)
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from types import SimpleNamespace
from typing import Any

import pytest
import redis.asyncio as aioredis

from peercall.hub.base import HubUnavailable
from peercall.hub.redis_hub import RedisHub
from peercall.rooms import resume as resume_module
from peercall.rooms import sweeper as sweeper_module
from peercall.rooms.resume import ResumeKeeper
from peercall.rooms.sweeper import OrphanSweeper
from peercall.testing.server import free_port

# Coroutine methods of RedisHub that need no wrapper of their own: `_run` is called only by
# wrapped methods, `close` ignores every failure, the two loops handle theirs (tests below).
NOT_WRAPPED = {"_run", "close", "_read", "_heartbeat"}


@pytest.fixture
async def unreachable() -> AsyncIterator[RedisHub]:
    client = aioredis.Redis.from_url(f"redis://127.0.0.1:{free_port()}", socket_connect_timeout=0.5)
    try:
        yield RedisHub(client, node_id="unreachable")
    finally:
        await client.aclose()


async def test_scale_redis_hub_unreachable_is_hub_unavailable(unreachable: RedisHub) -> None:
    with pytest.raises(HubUnavailable, match="redis"):
        await unreachable.send("room_x", "p_1", {"type": "offer", "sdp": "v=0"})


def test_scale_every_redis_round_trip_of_the_hub_is_translated() -> None:
    """A method added later without the wrapper would leak redis errors again."""
    coroutines = {name for name, fn in vars(RedisHub).items() if inspect.iscoroutinefunction(fn)}
    assert "members" in coroutines and "sweep" in coroutines  # the enumeration sees the methods
    unwrapped = {name for name in coroutines - NOT_WRAPPED if not getattr(vars(RedisHub)[name], "hub_call", False)}
    assert not unwrapped, f"RedisHub methods without @hub_call: {sorted(unwrapped)}"


# The plain commands (not Lua scripts) that leaked redis-py's ConnectionError before.
LEAKED: dict[str, Callable[[RedisHub], Awaitable[Any]]] = {
    "members": lambda hub: hub.members("room_x"),
    "room_ids": lambda hub: hub.room_ids(),
    "is_suspended": lambda hub: hub.is_suspended("room_x", "p_1"),
    "heartbeat": lambda hub: hub._beat(),
    "start": lambda hub: hub.start(),
}


@pytest.mark.parametrize("call", LEAKED.values(), ids=LEAKED.keys())
async def test_scale_redis_hub_plain_commands_raise_hub_unavailable(
    unreachable: RedisHub, call: Callable[[RedisHub], Awaitable[Any]]
) -> None:
    with pytest.raises(HubUnavailable, match="redis"):
        await call(unreachable)


async def test_scale_redis_hub_background_loops_survive_an_unreachable_redis(unreachable: RedisHub) -> None:
    """The node channel's reader and the heartbeat keep running (they retry) instead of ending."""
    unreachable._heartbeat_s = 0.05
    unreachable._tasks = [asyncio.create_task(unreachable._read()), asyncio.create_task(unreachable._heartbeat())]
    await asyncio.sleep(0.5)
    assert not any(task.done() for task in unreachable._tasks)
    for task in unreachable._tasks:
        task.cancel()
    await asyncio.gather(*unreachable._tasks, return_exceptions=True)


class FlakyHub:
    """A hub whose calls fail with HubUnavailable ``outage`` times, then answer."""

    def __init__(self, outage: int) -> None:
        self.outage = outage
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def _call(self, name: str, *args: Any) -> None:
        self.calls.append((name, args))
        if self.outage > 0:
            self.outage -= 1
            raise HubUnavailable("redis: connection refused")

    async def room_ids(self) -> list[str]:
        self._call("room_ids")
        return ["room_x"]

    async def sweep_due(self, grace_s: float) -> list[tuple[str, str, str, int]]:
        self._call("sweep_due")
        return []

    async def suspend(self, room_id: str, peer_id: str, epoch: int) -> bool:
        self._call("suspend", room_id, peer_id, epoch)
        return True

    async def broadcast(self, room_id: str, frame: dict[str, Any], *, exclude: str | None = None) -> None:
        self._call("broadcast", room_id, frame["type"])

    async def is_suspended(self, room_id: str, peer_id: str) -> bool:
        self._call("is_suspended", room_id, peer_id)
        return False


async def wait_for(condition: Callable[[], bool], timeout: float = 3.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_scale_orphan_sweeper_backs_off_and_sweeps_again_after_an_outage(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sweeper_module, "BACKOFF_MAX_S", 0.08)
    hub = FlakyHub(outage=4)
    rooms: Any = SimpleNamespace(hub=hub)
    sweeper = OrphanSweeper(rooms, ResumeKeeper(rooms, grace_s=30), hub, interval_s=0.01)
    sweeper.start()
    try:
        await wait_for(lambda: len(hub.calls) > 4)  # swept again once the hub answered
        assert sweeper._task is not None and not sweeper._task.done()
        assert [name for name, _ in hub.calls[:5]] == ["sweep_due"] * 5  # the four failed rounds, then one
    finally:
        await sweeper.stop()


async def test_scale_suspension_is_retried_when_the_hub_was_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    """Else the slot would stay attached to a dead socket on a live node: no sweep finds it."""
    monkeypatch.setattr(resume_module, "RETRY_FIRST_S", 0.01)
    hub = FlakyHub(outage=3)
    keeper = ResumeKeeper(SimpleNamespace(hub=hub), grace_s=30)  # type: ignore[arg-type]
    try:
        assert await keeper.suspend("room_x", "p_1", "alice", 7, "socket_closed") is False
        await wait_for(lambda: keeper.is_tracking("room_x", "p_1"))
        assert [c for c in hub.calls if c[0] == "suspend"] == [("suspend", ("room_x", "p_1", 7))] * 4
        assert ("broadcast", ("room_x", "peer-reconnecting")) in hub.calls
    finally:
        await keeper.close()


async def test_scale_expiry_is_put_off_while_the_hub_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resume_module, "RETRY_FIRST_S", 0.01)
    hub = FlakyHub(outage=0)
    keeper = ResumeKeeper(SimpleNamespace(hub=hub), grace_s=0.01)  # type: ignore[arg-type]
    try:
        assert await keeper.suspend("room_x", "p_1", "alice", 7, "socket_closed")
        hub.outage = 2  # the grace period ends during an outage
        await wait_for(lambda: sum(1 for c in hub.calls if c[0] == "is_suspended") == 3)
        await wait_for(lambda: not keeper.is_tracking("room_x", "p_1"))  # the third check answered: done
    finally:
        await keeper.close()


async def test_scale_background_retry_gives_up_after_its_window(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resume_module, "RETRY_FIRST_S", 0.01)
    monkeypatch.setattr(resume_module, "RETRY_FOR_S", 0.1)
    keeper = ResumeKeeper(SimpleNamespace(hub=FlakyHub(outage=0)), grace_s=30)  # type: ignore[arg-type]
    attempts = 0

    async def never() -> None:
        nonlocal attempts
        attempts += 1
        raise HubUnavailable("redis: down")

    keeper.retry_later("leave", never, "room_x", "p_1")
    await wait_for(lambda: not keeper._tasks)
    assert 2 <= attempts < 10
