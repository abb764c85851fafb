"""Group commit: concurrent small writes share one transaction.

A join records a call start and a participant; a burst of joins (a class starting, a
node's clients reconnecting at once) made hundreds of tiny transactions, each paying a
connection checkout, BEGIN, COMMIT and a reset — several thread hops through aiosqlite,
each waiting for the GIL behind a busy event loop. Here writers queue their statement;
one flusher runs everything queued so far in a single transaction, consecutive uses of
the same statement as one ``executemany``, and only then wakes the writers: each caller
still returns after its row is committed (nothing is acknowledged before it is durable),
and order is kept (a call row before its participants). If the batch fails, each write
is retried alone, so one bad row fails only its own caller.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

_MAX_BATCH = 500


class WriteBatcher:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._pending: list[tuple[Any, dict[str, Any], asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def execute(self, statement: Any, params: dict[str, Any]) -> None:
        """Run ``statement`` with ``params`` in the next batch; returns once it is committed."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((statement, params, done))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        await asyncio.shield(done)  # a cancelled caller does not cancel the others' commit

    async def drain(self) -> None:
        while self._flusher is not None and not self._flusher.done():
            await asyncio.shield(self._flusher)

    async def _flush(self) -> None:
        await asyncio.sleep(0)  # let the writers woken in this loop turn queue theirs too
        while self._pending:
            batch, self._pending = self._pending[:_MAX_BATCH], self._pending[_MAX_BATCH:]
            try:
                async with self._engine.begin() as conn:
                    for _, group in itertools.groupby(batch, key=lambda item: id(item[0])):
                        items = list(group)
                        rows = [params for _, params, _ in items]
                        await conn.execute(items[0][0], rows if len(rows) > 1 else rows[0])
            except Exception:
                await self._one_by_one(batch)
                continue
            for _, _, done in batch:
                if not done.done():
                    done.set_result(None)

    async def _one_by_one(self, batch: list[tuple[Any, dict[str, Any], asyncio.Future[None]]]) -> None:
        for statement, params, done in batch:
            try:
                async with self._engine.begin() as conn:
                    await conn.execute(statement, params)
            except Exception as exc:
                if not done.done():
                    done.set_exception(exc)
            else:
                if not done.done():
                    done.set_result(None)
