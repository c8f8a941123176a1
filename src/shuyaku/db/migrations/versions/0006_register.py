"""the register of personal-information work: organisation units, registration versions; a department's staff

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("app_user") as batch:
        batch.add_column(sa.Column("org_unit", sa.String(length=16), nullable=True))
    op.create_table(
        "org_unit",
        sa.Column("unit_code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("established_on", sa.Date(), nullable=False),
        sa.Column("abolished_on", sa.Date(), nullable=True),
        sa.Column("successor", sa.String(length=16), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("unit_code", name=op.f("pk_org_unit")),
    )
    op.create_table(
        "registration_version",
        sa.Column("version_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("reg_no", sa.String(length=16), nullable=False),
        sa.Column("version_no", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("unit_code", sa.String(length=16), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("version_id", name=op.f("pk_registration_version")),
        sa.UniqueConstraint("reg_no", "version_no", name=op.f("uq_registration_version_reg_no_version_no")),
    )
    op.create_index(op.f("ix_registration_version_unit_code"), "registration_version", ["unit_code"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_registration_version_unit_code"), table_name="registration_version")
    op.drop_table("registration_version")
    op.drop_table("org_unit")
    with op.batch_alter_table("app_user") as batch:
        batch.drop_column("org_unit")
