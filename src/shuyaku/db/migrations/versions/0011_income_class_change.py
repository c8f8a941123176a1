"""when income classes reaching which months changed, for the months to run again

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30

`kogaku stale` (and the runs screen) asked, for every month run, whether any income class
reaching it was recorded or superseded after its run: a pass over every class ever kept per
month (7 s on a 400,000-person store in its fifth year with 48 months run). Each SKBN file
now leaves the spans of months it changed, and the question reads those. The table is
filled here from the classes already kept: every row's recording and superseding, by
moment and span (the rows of one file share their moment).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "income_class_change",
        sa.Column("change_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("applied_from_month", sa.String(length=6), nullable=False),
        sa.Column("applied_to_month", sa.String(length=6), nullable=True),
        sa.PrimaryKeyConstraint("change_id", name=op.f("pk_income_class_change")),
    )
    op.execute(
        "INSERT INTO income_class_change (changed_at, applied_from_month, applied_to_month) "
        "SELECT recorded_at, applied_from_month, applied_to_month FROM income_class "
        "UNION "
        "SELECT superseded_at, applied_from_month, applied_to_month FROM income_class WHERE superseded_at IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_table("income_class_change")
