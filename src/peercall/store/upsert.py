"""Insert-or-ignore and insert-or-update, in each dialect's own words.

A select-then-insert races between two nodes (both see nothing, both insert, one fails);
``ON CONFLICT`` decides in the database. SQLite and PostgreSQL spell it the same way but
through different SQLAlchemy constructs, so the choice is made here, once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection


def _insert(conn: AsyncConnection, table: sa.Table, values: Mapping[str, Any]) -> Any:
    dialect = conn.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table).values(**values)
    if dialect == "sqlite":
        return sqlite.insert(table).values(**values)
    raise NotImplementedError(f"no upsert for dialect {dialect}")


def insert_ignore(conn: AsyncConnection, table: sa.Table, values: Mapping[str, Any]) -> Any:
    """INSERT … ON CONFLICT DO NOTHING: rowcount 1 if stored, 0 if a row with that key was there."""
    return _insert(conn, table, values).on_conflict_do_nothing()


def upsert(conn: AsyncConnection, table: sa.Table, values: Mapping[str, Any], keys: Sequence[str]) -> Any:
    """INSERT … ON CONFLICT (keys) DO UPDATE: the new values replace the old row's."""
    statement = _insert(conn, table, values)
    updates = {name: statement.excluded[name] for name in values if name not in keys}
    return statement.on_conflict_do_update(index_elements=list(keys), set_=updates)
