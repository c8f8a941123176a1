"""the day a newer record overtakes each qualification record, so a month's records in force are a filter

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30

The record in force of a month was chosen by reading, for each (市町村, 宛名番号), every
current record whose 異動日 fell before the month's end, newest 履歴番号 first — every record a
person ever had, read in index order all over the table. A store in its fifth year with five
records a person took 7 s for what a fresh one took in 0.3 s. Each current row now keeps the
earliest 異動日 of the key's current rows of a higher 履歴番号 (``overtaken_on``); it is filled
here from the rows already kept.

Every 異動 now rewrites the record before it (its ``overtaken_on``), as a correction already
rewrote the record it superseded. On PostgreSQL the table leaves a tenth of each new page
free, so that such an update stays on its page and writes none of the table's four indexes
(HOT): the day's updates of the 400,000-person benchmark store 0.30 → 0.18 s. Pages
written before keep their fill until the table is rewritten (``VACUUM FULL``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


# The table's secondary indexes (an unfinished initial load may have two of them away).
INDEXES = {
    "ix_qualification_period_municipality_code_atena_no_history_no": ["municipality_code", "atena_no", "history_no"],
    "ix_qualification_period_pref_household_id": ["pref_household_id"],
    "ix_qualification_period_pref_person_id": ["pref_person_id"],
}


def upgrade() -> None:
    bind = op.get_bind()
    op.add_column("qualification_period", sa.Column("overtaken_on", sa.Date(), nullable=True))
    if bind.dialect.name == "postgresql":
        op.execute("ALTER TABLE qualification_period SET (fillfactor = 90)")
    # Every current row but each key's newest gets a date. Where that is more than a quarter
    # of them (a store some years old), the UPDATE writes them without the secondary indexes,
    # which are built once after it: 84 → 40 s for 1.6 M of 2.0 M rows on PostgreSQL, where
    # an index costs about 36 µs an updated row kept up and 7 µs a row built afresh.
    current, keys = bind.execute(
        sa.text(
            "SELECT count(*), count(DISTINCT municipality_code || '/' || atena_no) "
            "FROM qualification_period WHERE superseded_at IS NULL"
        )
    ).one()
    present = {index["name"] for index in sa.inspect(bind).get_indexes("qualification_period")}
    rebuilt = [name for name in INDEXES if name in present] if 4 * (current - keys) > current else []
    for name in rebuilt:
        op.drop_index(name, table_name="qualification_period")
    # Both engines take UPDATE … FROM (SQLite since 3.33) and the window.
    op.execute(
        "UPDATE qualification_period AS q SET overtaken_on = later.overtaken_on "
        "FROM (SELECT row_id, min(change_date) OVER ("
        "PARTITION BY municipality_code, atena_no ORDER BY history_no DESC "
        "ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS overtaken_on "
        "FROM qualification_period WHERE superseded_at IS NULL) AS later "
        "WHERE q.row_id = later.row_id AND later.overtaken_on IS NOT NULL"
    )
    for name in rebuilt:
        op.create_index(name, "qualification_period", INDEXES[name])


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE qualification_period RESET (fillfactor)")
    with op.batch_alter_table("qualification_period") as batch_op:
        batch_op.drop_column("overtaken_on")
