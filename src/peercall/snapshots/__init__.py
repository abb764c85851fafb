"""Snapshots from live video for video-KYC: validated, content-addressed, audited.

Layout: ``images`` (what counts as an image), ``storage`` (content-addressed files),
``audit`` (hash chain), ``records`` (metadata), ``service`` (uploads, queries),
``requests`` (a host's remote high-resolution request over signaling). Tables live in
:mod:`peercall.store.snapshots_sql`.
"""

from __future__ import annotations

from peercall.config import Settings
from peercall.rooms.service import RoomService
from peercall.snapshots.images import ImageLimits
from peercall.snapshots.requests import SnapshotRequests
from peercall.snapshots.service import SnapshotPolicy, SnapshotService, Upload
from peercall.snapshots.storage import BlobStore
from peercall.store import Store
from peercall.store.snapshots_sql import SnapshotStore
from peercall.store.sql import SqlStore

__all__ = ["SnapshotPolicy", "SnapshotRequests", "SnapshotService", "Upload", "open_snapshots"]


async def open_snapshots(store: Store, rooms: RoomService, settings: Settings) -> SnapshotService:
    """Snapshot service on the node's database engine and ``<data_dir>/snapshots``."""
    if not isinstance(store, SqlStore):
        raise TypeError("snapshots need the SQL store")
    snapshot_store = SnapshotStore(store.engine)
    await snapshot_store.open()
    policy = SnapshotPolicy(
        limits=ImageLimits(max_bytes=settings.snapshot_max_bytes, max_pixels=settings.snapshot_max_pixels),
        max_per_room=settings.snapshot_max_per_room,
        max_per_minute=settings.snapshot_max_per_minute,
    )
    return SnapshotService(rooms, snapshot_store, BlobStore(settings.data_dir / "snapshots"), policy)
