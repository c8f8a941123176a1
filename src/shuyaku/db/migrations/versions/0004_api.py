"""api: tokens of municipal systems, the record of fetched return files, idle sessions

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_token",
        sa.Column("token_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("login_id", sa.String(length=32), nullable=False),
        sa.Column("municipality_code", sa.String(length=6), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("token_id", name=op.f("pk_api_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_token_token_hash")),
    )
    op.create_table(
        "outbound_fetch",
        sa.Column("fetch_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("outbound_id", sa.Integer(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("fetch_id", name=op.f("pk_outbound_fetch")),
    )
    op.create_index(op.f("ix_outbound_fetch_outbound_id"), "outbound_fetch", ["outbound_id"])
    with op.batch_alter_table("user_session") as batch:
        batch.add_column(sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("user_session") as batch:
        batch.drop_column("last_seen_at")
    op.drop_index(op.f("ix_outbound_fetch_outbound_id"), table_name="outbound_fetch")
    op.drop_table("outbound_fetch")
    op.drop_table("api_token")
