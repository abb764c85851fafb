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
    _skip_idle_rollbacks(plain.sync_engine.dialect)
    engine = _OneWriterEngine(plain.sync_engine)
    engine._write_lock = asyncio.Lock()
    return engine


def _skip_idle_rollbacks(dialect: sa.engine.Dialect) -> None:
    """No rollback when SQLite has no transaction open.

    Why: SQLAlchemy ends every ``connect()`` block with a rollback, and with aiosqlite each
    is a round trip to the connection's thread. sqlite3 opens a transaction only before a
    write, and writes here always go through ``begin()`` (commit or rollback of their own),
    so after the reads that are most of a join (token revocation, room, ban) there is
    nothing to roll back: one thread hop fewer per read.
    """
    rollback = dialect.do_rollback

    def do_rollback(dbapi_connection: Any) -> None:
        raw = getattr(getattr(dbapi_connection, "_connection", None), "_conn", None)  # aiosqlite's sqlite3
        if raw is not None and not raw.in_transaction:
            return
        rollback(dbapi_connection)

    dialect.do_rollback = do_rollback  # type: ignore[method-assign]


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL: readers never block the writer; a crash mid-write leaves the last commit intact.
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
