"""Schema migrations (Alembic) run from code: at server start and by ``peercall db``.

The embedded default (SQLite) upgrades itself when the store opens; a PostgreSQL fleet can
do the same (every node takes a lock, the first one migrates, the others find the schema
at head) or set ``PEERCALL_DATABASE_AUTO_MIGRATE=false`` and run ``peercall db upgrade``
once per release, in which case a node whose schema is behind refuses to start.

Concurrent upgrades are serialised: PostgreSQL by a transaction-scoped advisory lock,
SQLite (one machine by nature) by an ``flock`` on a file beside the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).with_name("migrations")
_PG_LOCK_KEY = 0x7065_6572_6361_6C6C  # "peercall": any constant shared by every node


class SchemaBehind(RuntimeError):
    """The database is not at the code's revision and auto-migration is off."""


def alembic_config(connection: sa.Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head() -> str:
    revision = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if revision is None:
        raise RuntimeError("no migration found")
    return revision


async def current(engine: AsyncEngine) -> str | None:
    """The database's revision (None: never migrated)."""
    async with engine.connect() as conn:
        return await conn.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema to ``revision``; safe to call from several processes at once."""
    async with _sqlite_lock(engine), engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        await conn.run_sync(_run, command.upgrade, revision)


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    async with _sqlite_lock(engine), engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        await conn.run_sync(_run, command.downgrade, revision)


async def require_head(engine: AsyncEngine) -> None:
    found, wanted = await current(engine), head()
    if found != wanted:
        raise SchemaBehind(
            f"database schema is at {found or 'nothing'}, this version needs {wanted}: run `peercall db upgrade`"
        )


def _run(connection: sa.Connection, action: Any, revision: str) -> None:
    action(alembic_config(connection), revision)


@contextlib.asynccontextmanager
async def _sqlite_lock(engine: AsyncEngine) -> AsyncIterator[None]:
    database = engine.url.database
    if engine.dialect.name != "sqlite" or database in (None, "", ":memory:"):
        yield
        return
    fd = os.open(f"{database}.migrate-lock", os.O_CREAT | os.O_RDWR, 0o600)
    try:
        for _ in range(600):  # another process migrates: wait up to ~60 s without blocking the loop
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                await asyncio.sleep(0.1)
        else:
            raise TimeoutError(f"another process holds {database}.migrate-lock")
        yield
    finally:
        os.close(fd)  # closing releases the lock
