"""The async engine for a database URL, tuned per dialect.

SQLite allows one writer at a time. Left to itself, a second pool connection that wants
to write waits in SQLite's busy handler, which *sleeps* (1, 2, 5 … 100 ms steps) in its
thread: under a burst of joins each write paid tens of milliseconds and joins timed out.
Here the engine's ``begin()`` (every write transaction in the stores) first takes an
asyncio lock, so writers of one process queue on the event loop and the database never
sees two of them; readers (``connect()``) are not held (WAL lets them read during a
write). Another process on the same file (two nodes on one disk) still meets the busy
handler, with a 30 s timeout.

PostgreSQL takes concurrent writers itself: a plain pool, connections checked before use.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine


class _OneWriterEngine(AsyncEngine):
    """An AsyncEngine whose write transactions (``begin()``) run one at a time."""

    _write_lock: asyncio.Lock

    @contextlib.asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        async with self._write_lock, super().begin() as conn:
            yield conn


def make_engine(url: str) -> AsyncEngine:
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)
    if parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    plain = create_async_engine(url, connect_args={"timeout": 30})
    sa.event.listen(plain.sync_engine, "connect", _sqlite_pragmas)
    engine = _OneWriterEngine(plain.sync_engine)
    engine._write_lock = asyncio.Lock()
    return engine


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL: readers never block the writer; a crash mid-write leaves the last commit intact.
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
