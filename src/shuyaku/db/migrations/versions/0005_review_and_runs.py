"""review of quarantined records; the record of each kogaku run; 暫定 counts; 消去記録; outbox retention

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ingest_result") as batch:
        batch.add_column(sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("reviewed_by", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("review_outcome", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("review_note", sa.Text(), nullable=True))
        batch.add_column(sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("withdrawal_reported", sa.Integer(), nullable=True))
    op.create_table(
        "kogaku_run",
        sa.Column("run_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("month", sa.String(length=6), nullable=False),
        sa.Column("cap_table", sa.String(length=32), nullable=False),
        sa.Column("run_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=32), nullable=False),
        sa.Column("households", sa.Integer(), nullable=False),
        sa.Column("paid_households", sa.Integer(), nullable=False),
        sa.Column("payment_total", sa.BigInteger(), nullable=False),
        sa.Column("household_hits", sa.Integer(), nullable=False),
        sa.Column("unmatched_claims", sa.Integer(), nullable=False),
        sa.Column("unregistered", sa.Integer(), nullable=False),
        sa.Column("by_municipality", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_kogaku_run")),
    )
    op.create_index(op.f("ix_kogaku_run_month"), "kogaku_run", ["month"])
    with op.batch_alter_table("tasuukai_count") as batch:
        batch.add_column(sa.Column("provisional", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_index(op.f("ix_hit_report_municipality_code_month"), "hit_report", ["municipality_code", "month"])
    with op.batch_alter_table("continuity_candidate") as batch:
        batch.add_column(sa.Column("origin_reported_status", sa.String(length=10), nullable=True))
    op.create_table(
        "number_erasure",
        sa.Column("erasure_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("pref_person_id", sa.String(length=13), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=32), nullable=False),
        sa.Column("qualified_until", sa.Date(), nullable=False),
        sa.Column("municipalities", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("erasure_id", name=op.f("pk_number_erasure")),
    )
    op.create_index(op.f("ix_number_erasure_pref_person_id"), "number_erasure", ["pref_person_id"])
    with op.batch_alter_table("outbound_file") as batch:
        batch.add_column(sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbound_file") as batch:
        batch.drop_column("purged_at")
    op.drop_index(op.f("ix_number_erasure_pref_person_id"), table_name="number_erasure")
    op.drop_table("number_erasure")
    with op.batch_alter_table("continuity_candidate") as batch:
        batch.drop_column("origin_reported_status")
    op.drop_index(op.f("ix_hit_report_municipality_code_month"), table_name="hit_report")
    with op.batch_alter_table("tasuukai_count") as batch:
        batch.drop_column("provisional")
    op.drop_index(op.f("ix_kogaku_run_month"), table_name="kogaku_run")
    op.drop_table("kogaku_run")
    with op.batch_alter_table("ingest_result") as batch:
        for column in (
            "withdrawal_reported",
            "withdrawn_at",
            "review_note",
            "review_outcome",
            "reviewed_by",
            "reviewed_at",
        ):
            batch.drop_column(column)
