"""The one :class:`~sqlalchemy.MetaData` every table hangs off.

One catalogue means one schema for Alembic to migrate and to compare against; the naming
convention gives every constraint a stable name, so a later migration can drop or alter it
by name on PostgreSQL as on SQLite (batch mode).
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)
