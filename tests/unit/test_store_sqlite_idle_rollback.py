"""SQLite reads skip the rollback SQLAlchemy ends every ``connect()`` block with (an
aiosqlite thread hop each; a join makes three such reads), and a block that did write
without committing is still rolled back: nothing uncommitted survives."""

from __future__ import annotations

from pathlib import Path

import aiosqlite
import pytest
import sqlalchemy as sa

from peercall.store.engine import make_engine


async def test_store_sqlite_reads_skip_the_rollback_writes_keep_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    rollbacks = 0
    real = aiosqlite.Connection.rollback

    async def counted(self: aiosqlite.Connection) -> None:
        nonlocal rollbacks
        rollbacks += 1
        await real(self)

    monkeypatch.setattr(aiosqlite.Connection, "rollback", counted)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text("CREATE TABLE t (x INTEGER)"))
            await conn.execute(sa.text("INSERT INTO t VALUES (1)"))
        for _ in range(5):
            async with engine.connect() as conn:
                assert (await conn.execute(sa.text("SELECT x FROM t"))).scalar_one() == 1
        assert rollbacks == 0
        async with engine.connect() as conn:  # a write left uncommitted
            await conn.execute(sa.text("INSERT INTO t VALUES (2)"))
        assert rollbacks == 1
        async with engine.connect() as conn:
            assert (await conn.execute(sa.text("SELECT count(*) FROM t"))).scalar_one() == 1
    finally:
        await engine.dispose()
