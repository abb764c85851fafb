"""Join and idle timeouts for every socket of a node, checked by one sweeper task.

Why not ``asyncio.timeout()`` around each ``receive()``: that arms and cancels a timer
per frame, on the path every relayed frame takes (at 10,000 clients, ~10,000 timers a
second). Here a read records its deadline (one clock read) and a single task looks at all
waiting readers a few times a second, cancelling the ones past their deadline. A timeout
fires up to one sweep period late (at most 1 s, ``period`` below), which a 10 s join or a
20 s idle timeout does not notice.

The same cancellation ends a read early when the socket's outbox ended (slow consumer,
fatal error): :meth:`IdleWatch.interrupt`.

The sweeper looks at anything :class:`Watched`: an :class:`IdleWatch` (a reader task of
the ASGI path) or a socket that has no reader task at all (``ws_protocol.py``), which
expires itself without a cancellation.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Protocol


class Watched(Protocol):
    """A socket waiting for a frame until ``deadline`` (checked only while ``waiting``)."""

    deadline: float
    waiting: bool

    def expire(self) -> None:
        """The deadline passed while waiting."""


class IdleWatch:
    """One reader: its deadline while waiting for a frame, and why it was cancelled."""

    __slots__ = ("_task", "deadline", "expired", "interrupted", "waiting")

    def __init__(self, task: asyncio.Task[object]) -> None:
        self._task = task
        self.deadline = 0.0
        self.waiting = False
        self.expired = False  # cancelled by the sweeper: the deadline passed
        self.interrupted = False  # cancelled because the outbox ended

    def expire(self) -> None:
        self._cancel("expired")

    def interrupt(self) -> None:
        """Stop waiting for the client now (its outbox ended)."""
        self._cancel("interrupted")

    def _cancel(self, why: str) -> None:
        if self.waiting and not (self.expired or self.interrupted):
            setattr(self, why, True)
            self._task.cancel()

    def ours(self) -> bool:
        """After a CancelledError: True when this watch cancelled the read (not a shutdown)."""
        return (self.expired or self.interrupted) and self._task.uncancel() == 0


class IdleSweeper:
    """Checks every registered reader ``period`` s apart; runs only while there are any."""

    def __init__(self, period: float) -> None:
        self._period = period
        self._watches: set[Watched] = set()
        self._task: asyncio.Task[None] | None = None

    def watch(self, task: asyncio.Task[object]) -> IdleWatch:
        """Watch a reader task: the sweeper cancels its read when the deadline passes."""
        watch = IdleWatch(task)
        self.add(watch)
        return watch

    def add(self, watch: Watched) -> None:
        self._watches.add(watch)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._sweep(), name="signaling-idle-sweeper")

    def forget(self, watch: Watched) -> None:
        self._watches.discard(watch)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _sweep(self) -> None:
        loop = asyncio.get_running_loop()
        while self._watches:
            await asyncio.sleep(self._period)
            now = loop.time()
            for watch in list(self._watches):
                if watch.waiting and now >= watch.deadline:
                    watch.expire()
