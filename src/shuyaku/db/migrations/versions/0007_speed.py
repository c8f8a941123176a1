"""blind indexes as 32 raw bytes (were 64 hex characters)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TABLES = {"vault_entry": "pref_person_id", "seen_number": "blind_index"}  # table → a key to update it by


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"ALTER TABLE {table} ALTER COLUMN blind_index TYPE bytea USING decode(blind_index, 'hex')")
        return
    # SQLite: each hex value becomes its bytes first (SQLite keeps a value's own type
    # whatever the column says), then the tables are rebuilt with the new column type.
    for table, key in TABLES.items():
        rows = bind.exec_driver_sql(f"SELECT {key}, blind_index FROM {table} WHERE typeof(blind_index) = 'text'").all()
        if rows:
            bind.exec_driver_sql(
                f"UPDATE {table} SET blind_index = ? WHERE {key} = ?",
                [(bytes.fromhex(index), by) for by, index in rows],
            )
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                "blind_index",
                type_=sa.LargeBinary(length=32),
                existing_type=sa.String(length=64),
                existing_nullable=False,
            )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for table in TABLES:
            op.execute(
                f"ALTER TABLE {table} ALTER COLUMN blind_index TYPE varchar(64) USING encode(blind_index, 'hex')"
            )
        return
    for table, key in TABLES.items():
        rows = bind.exec_driver_sql(f"SELECT {key}, blind_index FROM {table} WHERE typeof(blind_index) = 'blob'").all()
        if rows:
            bind.exec_driver_sql(
                f"UPDATE {table} SET blind_index = ? WHERE {key} = ?", [(bytes(index).hex(), by) for by, index in rows]
            )
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                "blind_index",
                type_=sa.String(length=64),
                existing_type=sa.LargeBinary(length=32),
                existing_nullable=False,
            )
