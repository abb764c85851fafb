"""The line a node's Redis script calls wait in: first come, first served.

Why: a node relaying more than it can (the 10,000 frames/s of bench/reconnect_storm.py's
one-node run) had thousands of calls waiting for the connection pool. redis-py's
``BlockingConnectionPool`` waits on an ``asyncio.Condition``: a woken caller that loses the
race for the freed connection waits again *at the back*, so some callers waited past the
pool's 10 s limit while newer ones were served, and each such timeout closed a socket as
lost (4017, ``hub_unavailable``): overload turned into a reconnect storm. Here at most
``slots`` calls hold a connection at once (fewer than the pool has: the heartbeat, the
sweep and REST reads keep theirs); the others wait in an ``asyncio.Semaphore``, which is
first in, first out. An overloaded node now only gets slower (its sockets stop being read:
TCP backpressure) and loses nothing.

A wait still fails, with the error an unreachable Redis raises, when no call was answered
for ``patience_s`` (Redis hung or gone): busy is not down.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque

import redis.asyncio as aioredis


class CallLine:
    """A fair semaphore that gives up only when Redis stopped answering.

    Written here, not ``asyncio.Semaphore`` plus a timeout: a waiter that times out and
    waits again goes to the back of the semaphore's line, which is the unfairness this
    replaces. Here a waiter keeps its place while it checks, every ``patience_s``, that
    calls are still being answered.
    """

    __slots__ = ("_answered", "_free", "_patience_s", "_waiting")

    def __init__(self, slots: int, patience_s: float) -> None:
        self._free = slots
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._patience_s = patience_s
        self._answered = time.monotonic()  # when Redis last answered a call

    async def enter(self) -> None:
        """Wait for a turn: at once when a slot is free and nobody is waiting."""
        if self._free > 0 and not self._waiting:
            self._free -= 1
            return
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(turn)
        try:
            while not turn.done():
                await asyncio.wait((turn,), timeout=self._patience_s)
                if not turn.done() and time.monotonic() - self._answered > self._patience_s:
                    turn.cancel()  # leave() skips it
                    raise aioredis.ConnectionError(f"no answer from Redis for {self._patience_s:.0f} s")
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self.leave(False)  # the turn came with the cancellation: pass it on
            turn.cancel()
            raise

    def leave(self, answered: bool) -> None:
        """The call is over (``answered``: Redis replied): the next in line goes."""
        if answered:
            self._answered = time.monotonic()
        waiting = self._waiting
        while waiting:
            turn = waiting.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        self._free += 1
