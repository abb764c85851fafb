"""The per-call stats timeline: the quality summaries the SDKs report every ~2 s.

Its table (:mod:`peercall.store.tables.stats`, built by the migrations) shares the
SqlStore's engine. Rows per call are capped: past the cap new reports are not
stored (the live forwarding between peers and the metrics go on).

Rows are written behind, in batches: one multi-row insert per :data:`FLUSH_INTERVAL_S`
(or per :data:`BATCH_MAX` rows) instead of one transaction per report, which at a
million users (~500 k reports/s) no single PostgreSQL primary takes (docs/scaling.md).
Reads on this node flush first, so they see every row appended before them; a crash
loses at most the last interval's reports (telemetry, never the call's state).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from peercall.store.tables.stats import stats_rows

log = logging.getLogger(__name__)

FLUSH_INTERVAL_S = 0.25
BATCH_MAX = 500


@dataclass(frozen=True)
class StatsRow:
    call_id: str
    peer_id: str
    identity: str
    t: float
    level: str
    mos: float | None
    reported_level: str
    summary: dict[str, Any]


class StatsTimeline:
    """Append and read a call's stats rows (SQLite or PostgreSQL through SQLAlchemy Core)."""

    def __init__(
        self, engine: AsyncEngine, max_rows_per_call: int, *, flush_interval_s: float = FLUSH_INTERVAL_S
    ) -> None:
        self._engine = engine
        self.max_rows_per_call = max_rows_per_call
        self._counts: dict[str, int] = {}
        self._pending: list[dict[str, Any]] = []
        self._flush_interval_s = flush_interval_s
        self._flusher: asyncio.TimerHandle | None = None
        self._write_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self.batches_written = 0
        self.rows_dropped = 0  # rows of batches the database refused (logged)

    async def open(self) -> None:
        """Nothing to create: the store's migrations built the table (kept for callers)."""

    async def close(self) -> None:
        """Write what is still pending (the node is stopping)."""
        if self._flusher is not None:
            self._flusher.cancel()
            self._flusher = None
        await self.flush()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def count(self, call_id: str) -> int:
        await self.flush()
        query = sa.select(sa.func.count()).select_from(stats_rows).where(stats_rows.c.call_id == call_id)
        async with self._engine.connect() as conn:
            return int((await conn.execute(query)).scalar_one())

    async def append(self, row: StatsRow) -> bool:
        """Queue one row (written within ``flush_interval_s``); False when the call already
        has ``max_rows_per_call`` rows."""
        if row.call_id not in self._counts:
            if len(self._counts) > 10_000:  # calls long over: forget the oldest counters
                self._counts.pop(next(iter(self._counts)))
            self._counts[row.call_id] = await self.count(row.call_id)
        if self._counts[row.call_id] >= self.max_rows_per_call:
            return False
        self._counts[row.call_id] += 1
        self._pending.append(
            {
                "call_id": row.call_id,
                "peer_id": row.peer_id,
                "identity": row.identity,
                "t": row.t,
                "level": row.level,
                "mos": row.mos,
                "reported_level": row.reported_level,
                "summary": json.dumps(row.summary, separators=(",", ":")),
            }
        )
        if len(self._pending) >= BATCH_MAX:
            await self.flush()
        elif self._flusher is None:
            self._flusher = asyncio.get_running_loop().call_later(self._flush_interval_s, self._flush_later)
        return True

    def _flush_later(self) -> None:
        self._flusher = None
        task = asyncio.create_task(self.flush())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def flush(self) -> None:
        """Write the queued rows in one transaction (one multi-row insert)."""
        async with self._write_lock:  # batches stay in order, and a read waits for the one in flight
            batch, self._pending = self._pending, []
            if not batch:
                return
            try:
                async with self._engine.begin() as conn:
                    await conn.execute(stats_rows.insert(), batch)
                self.batches_written += 1
            except Exception:
                self.rows_dropped += len(batch)
                log.exception("stats timeline: a batch of %d rows was not stored", len(batch))

    async def rows(self, call_id: str) -> list[StatsRow]:
        await self.flush()
        query = stats_rows.select().where(stats_rows.c.call_id == call_id).order_by(stats_rows.c.t, stats_rows.c.id)
        async with self._engine.connect() as conn:
            result = (await conn.execute(query)).all()
        return [
            StatsRow(
                call_id=r.call_id,
                peer_id=r.peer_id,
                identity=r.identity,
                t=r._mapping["t"],  # Row.t is SQLAlchemy's tuple view, not the column
                level=r.level,
                mos=r.mos,
                reported_level=r.reported_level,
                summary=json.loads(r.summary),
            )
            for r in result
        ]
