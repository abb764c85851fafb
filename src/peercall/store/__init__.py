"""Persistent records (rooms, call sessions) behind one storage interface."""

from peercall.store.base import CallRecord, ChatRecord, ParticipantRecord, ReconnectRecord, RoomRecord, Store
from peercall.store.sql import SqlStore

__all__ = [
    "CallRecord",
    "ChatRecord",
    "ParticipantRecord",
    "ReconnectRecord",
    "RoomRecord",
    "SqlStore",
    "Store",
    "open_store",
]


async def open_store(database_url: str, *, migrate: bool = True) -> Store:
    """Open the store named by a SQLAlchemy URL: SQLite (default) or PostgreSQL (asyncpg).

    ``migrate``: bring the schema to head first (else refuse a database that is behind).
    """
    store = SqlStore(database_url, migrate=migrate)
    await store.open()
    return store
