"""hardening: numbers seen but never enrolled, a lock table, TOTP replay, checkpoint frontier

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "seen_number",
        sa.Column("blind_index", sa.String(length=64), nullable=False),
        sa.Column("index_key_version", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("blind_index", name=op.f("pk_seen_number")),
    )
    op.create_table(
        "app_lock",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("taken", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_app_lock")),
    )
    with op.batch_alter_table("app_user") as batch:
        batch.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))
    # audit_checkpoint is append-only (triggers refuse UPDATE): a new nullable column needs
    # no rewrite of its rows, so it is added in place on both databases.
    op.add_column("audit_checkpoint", sa.Column("frontier", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("audit_checkpoint", "frontier")
    with op.batch_alter_table("app_user") as batch:
        batch.drop_column("totp_last_step")
    op.drop_table("app_lock")
    op.drop_table("seen_number")
