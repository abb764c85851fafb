"""The Redis hub's call line: first come, first served, however long the wait while Redis
answers; a wait fails only when Redis stopped answering."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from peercall.hub.redis_line import CallLine


async def test_scale_call_line_serves_in_arrival_order_past_its_patience() -> None:
    """100 calls of 20 ms through 2 slots: a 1 s queue, five times the patience. All are
    served, in the order they came (an asyncio.Condition or a timed-out semaphore wait
    sends a caller to the back of the line)."""
    line = CallLine(2, patience_s=0.2)
    served: list[int] = []

    async def call(n: int) -> None:
        await line.enter()
        try:
            served.append(n)
            await asyncio.sleep(0.02)  # Redis answering
        finally:
            line.leave(True)

    calls = []
    for n in range(100):
        calls.append(asyncio.create_task(call(n)))
        await asyncio.sleep(0)  # arrivals in order
    await asyncio.wait_for(asyncio.gather(*calls), 10)
    assert served == list(range(100))


async def test_scale_call_line_gives_up_when_redis_stops_answering() -> None:
    line = CallLine(1, patience_s=0.2)
    await line.enter()  # a call that never comes back (Redis hung)
    started = asyncio.get_running_loop().time()
    with pytest.raises(aioredis.ConnectionError, match="no answer"):
        await line.enter()
    assert 0.2 <= asyncio.get_running_loop().time() - started < 1.0
    line.leave(False)  # the hung call fails at last: the line is usable again
    await asyncio.wait_for(line.enter(), 1)


async def test_scale_call_line_cancelled_waiters_keep_no_slot() -> None:
    line = CallLine(1, patience_s=5)
    await line.enter()
    waiters = [asyncio.create_task(line.enter()) for _ in range(3)]
    await asyncio.sleep(0.01)
    waiters[0].cancel()
    waiters[1].cancel()
    line.leave(True)  # goes to the one waiter left
    await asyncio.wait_for(waiters[2], 1)
    line.leave(True)
    await asyncio.wait_for(line.enter(), 1)  # and the slot is free again
    line.leave(True)
    assert line._free == 1 and not line._waiting
