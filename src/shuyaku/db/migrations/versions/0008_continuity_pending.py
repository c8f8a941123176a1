"""persons queued for the 世帯の継続性 judgement at the end of a run

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "continuity_pending",
        sa.Column("pending_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("pref_person_id", sa.BigInteger(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("pending_id", name=op.f("pk_continuity_pending")),
    )


def downgrade() -> None:
    op.drop_table("continuity_pending")
