"""Alembic environment: the engine comes from the caller (``shuyaku init`` or the tests)."""

from __future__ import annotations

import os

from alembic import context

from shuyaku.db.engine import make_engine
from shuyaku.db.schema import metadata

config = context.config
engine = config.attributes.get("engine")
if engine is None:  # `alembic` run by hand: the same settings as the CLI
    from shuyaku.config import load_settings

    engine = make_engine(os.environ.get("SHUYAKU_DATABASE_URL") or load_settings().database_url)

with engine.connect() as connection:
    if connection.dialect.name == "sqlite":
        # SQLite's driver opens no transaction for DDL, so each statement of an upgrade would
        # commit by itself and one stopped half-way (a kill, an error) would leave the store
        # between two revisions, unable to run the rest. One BEGIN makes the whole upgrade
        # one transaction, as it is on PostgreSQL: it commits below, or rolls back whole.
        connection.exec_driver_sql("BEGIN")
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
