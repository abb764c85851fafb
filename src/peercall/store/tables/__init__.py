"""Every table group, one module each, all on :data:`peercall.store.metadata.metadata`.

Importing this package registers every table, so Alembic (``migrations/env.py``) and the
schema test see the whole schema. A new group: add a module here, import it below, and
add a migration (see docs/architecture.md, "Database schema and migrations").
"""

from peercall.store.metadata import metadata
from peercall.store.tables import core, recordings, snapshots, stats, webhooks

__all__ = ["core", "metadata", "recordings", "snapshots", "stats", "webhooks"]
