"""Alembic environment: migrations always run on a connection peercall passes in.

:mod:`peercall.store.migrate` opens the (async) engine, takes the migration lock and
hands a sync connection over ``config.attributes["connection"]``; running ``alembic``
directly is not supported (use ``peercall db upgrade``).
"""

from __future__ import annotations

from alembic import context

from peercall.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `peercall db upgrade` (it passes the database connection)")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
