"""keys that index cheaply: prefecture IDs as bigint, blind indexes as 32 raw bytes; no index
of household_record by 県世帯ID (nothing reads by it, and every load paid for it)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# Every column that holds a 県被保険者ID or 県世帯ID (13 digits, stored as a number from now on).
PREF_IDS = {
    "person": ["pref_person_id"],
    "vault_entry": ["pref_person_id"],
    "person_key": ["pref_person_id"],
    "household": ["pref_household_id"],
    "household_key": ["pref_household_id"],
    "qualification_period": ["pref_person_id", "pref_household_id"],
    "household_record": ["pref_household_id"],
    "hit_month": ["pref_household_id"],
    "hit_report": ["pref_household_id"],
    "continuity_candidate": ["from_household", "to_household"],
    "tasuukai_count": ["pref_household_id"],
    "id_assignment": ["pref_person_id", "pref_household_id"],
    "number_erasure": ["pref_person_id"],
}
NULLABLE = {("id_assignment", "pref_household_id")}
BLIND_INDEXES = {"vault_entry": "pref_person_id", "seen_number": "blind_index"}  # table → a key to update it by


def upgrade() -> None:
    bind = op.get_bind()
    op.drop_index("ix_household_record_pref_household_id", table_name="household_record")
    if bind.dialect.name == "postgresql":
        for table, columns in PREF_IDS.items():  # one rewrite of each table
            changes = ", ".join(f"ALTER COLUMN {c} TYPE bigint USING {c}::bigint" for c in columns)
            op.execute(f"ALTER TABLE {table} {changes}")
        for table in BLIND_INDEXES:
            op.execute(f"ALTER TABLE {table} ALTER COLUMN blind_index TYPE bytea USING decode(blind_index, 'hex')")
        # A column whose type changed has lost its statistics: the planner would guess.
        for table in dict.fromkeys([*PREF_IDS, *BLIND_INDEXES]):
            op.execute(f"ANALYZE {table}")
        return
    # SQLite keeps a value's own type whatever the column says: the values are converted
    # first, then each table is rebuilt with the new column types.
    for table, key in BLIND_INDEXES.items():
        rows = bind.exec_driver_sql(f"SELECT {key}, blind_index FROM {table} WHERE typeof(blind_index) = 'text'").all()
        if rows:
            bind.exec_driver_sql(
                f"UPDATE {table} SET blind_index = ? WHERE {key} = ?",
                [(bytes.fromhex(index), by) for by, index in rows],
            )
        _retype(table, "blind_index", sa.String(length=64), sa.LargeBinary(length=32))
    for table, columns in PREF_IDS.items():
        for column in columns:
            op.execute(f"UPDATE {table} SET {column} = CAST({column} AS INTEGER) WHERE typeof({column}) = 'text'")
            _retype(table, column, sa.String(length=13), sa.BigInteger())


def downgrade() -> None:
    bind = op.get_bind()
    op.create_index("ix_household_record_pref_household_id", "household_record", ["pref_household_id"])
    if bind.dialect.name == "postgresql":
        for table, columns in PREF_IDS.items():
            changes = ", ".join(f"ALTER COLUMN {c} TYPE varchar(13) USING lpad({c}::text, 13, '0')" for c in columns)
            op.execute(f"ALTER TABLE {table} {changes}")
        for table in BLIND_INDEXES:
            op.execute(
                f"ALTER TABLE {table} ALTER COLUMN blind_index TYPE varchar(64) USING encode(blind_index, 'hex')"
            )
        return
    for table, columns in PREF_IDS.items():
        for column in columns:
            op.execute(f"UPDATE {table} SET {column} = printf('%013d', {column}) WHERE typeof({column}) = 'integer'")
            _retype(table, column, sa.BigInteger(), sa.String(length=13))
    for table, key in BLIND_INDEXES.items():
        rows = bind.exec_driver_sql(f"SELECT {key}, blind_index FROM {table} WHERE typeof(blind_index) = 'blob'").all()
        if rows:
            bind.exec_driver_sql(
                f"UPDATE {table} SET blind_index = ? WHERE {key} = ?", [(bytes(index).hex(), by) for by, index in rows]
            )
        _retype(table, "blind_index", sa.LargeBinary(length=32), sa.String(length=64))


def _retype(table: str, column: str, old: sa.types.TypeEngine[Any], new: sa.types.TypeEngine[Any]) -> None:
    with op.batch_alter_table(table) as batch:
        batch.alter_column(column, type_=new, existing_type=old, existing_nullable=(table, column) in NULLABLE)
