"""The per-call stats timeline: the quality summaries the SDKs report every ~2 s.

Its table (:mod:`peercall.store.tables.stats`, built by the migrations) shares the
SqlStore's engine. Rows per call are capped: past the cap new reports are not
stored (the live forwarding between peers and the metrics go on).

Reports are group-committed (:class:`~peercall.store.batch.WriteBatcher`): the reports
that arrive while a transaction is in flight share the next one (one multi-row insert)
instead of one transaction each, which at a million users (~500 k reports/s) no single
PostgreSQL primary takes (docs/scaling.md). Each append still returns only once its row
is committed.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from peercall.store.batch import WriteBatcher
from peercall.store.tables.stats import stats_rows


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

    def __init__(self, engine: AsyncEngine, max_rows_per_call: int) -> None:
        self._engine = engine
        self.max_rows_per_call = max_rows_per_call
        self._counts: dict[str, int] = {}
        self._writes = WriteBatcher(engine)
        self._count_lock = asyncio.Lock()

    async def open(self) -> None:
        """Nothing to create: the store's migrations built the table (kept for callers)."""

    async def close(self) -> None:
        """Let the transaction in flight commit (the node is stopping)."""
        await self._writes.drain()

    async def count(self, call_id: str) -> int:
        query = sa.select(sa.func.count()).select_from(stats_rows).where(stats_rows.c.call_id == call_id)
        async with self._engine.connect() as conn:
            return int((await conn.execute(query)).scalar_one())

    async def append(self, row: StatsRow) -> bool:
        """Store one row (committed on return); False when the call already has
        ``max_rows_per_call`` rows."""
        if row.call_id not in self._counts:
            # Locked: concurrent first reports of a call would each read 0 and overrun the cap.
            async with self._count_lock:
                if row.call_id not in self._counts:
                    if len(self._counts) > 10_000:  # calls long over: forget the oldest counters
                        self._counts.pop(next(iter(self._counts)))
                    self._counts[row.call_id] = await self.count(row.call_id)
        if self._counts[row.call_id] >= self.max_rows_per_call:
            return False
        self._counts[row.call_id] += 1
        params = {
            "call_id": row.call_id,
            "peer_id": row.peer_id,
            "identity": row.identity,
            "t": row.t,
            "level": row.level,
            "mos": row.mos,
            "reported_level": row.reported_level,
            "summary": json.dumps(row.summary, separators=(",", ":")),
        }
        try:
            await self._writes.execute(stats_rows.insert(), params)
        except Exception:
            self._counts[row.call_id] -= 1
            raise
        return True

    async def rows(self, call_id: str) -> list[StatsRow]:
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
