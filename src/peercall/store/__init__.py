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


async def open_store(database_url: str) -> Store:
    """Open the store named by a SQLAlchemy URL (SQLite by default; PostgreSQL later)."""
    store = SqlStore(database_url)
    await store.open()
    return store
