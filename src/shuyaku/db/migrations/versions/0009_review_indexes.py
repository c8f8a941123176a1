"""indexes for what each file and the staff screens read of the tables of every year

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

OPEN_REVIEW = sa.text("withdrawn_at IS NULL AND code IN ('E101', 'E102', 'E103')")
UNREPORTED = sa.text("withdrawn_at IS NOT NULL AND withdrawal_reported IS NULL")
UNREVIEWED = sa.text("result = '9' AND reviewed_at IS NULL")
HELD = sa.text("status = 'held'")


def upgrade() -> None:
    op.create_index(
        "ix_ingest_result_open_review",
        "ingest_result",
        ["code"],
        postgresql_where=OPEN_REVIEW,
        sqlite_where=OPEN_REVIEW,
    )
    op.create_index(
        "ix_ingest_result_unreported_withdrawal",
        "ingest_result",
        ["result_id"],
        postgresql_where=UNREPORTED,
        sqlite_where=UNREPORTED,
    )
    op.create_index(
        "ix_ingest_result_unreviewed",
        "ingest_result",
        ["result_id"],
        postgresql_where=UNREVIEWED,
        sqlite_where=UNREVIEWED,
    )
    op.create_index("ix_outbound_file_inbound_file_id", "outbound_file", ["inbound_file_id"])
    op.create_index("ix_inbound_file_received_at", "inbound_file", ["received_at"])
    op.create_index(
        "ix_inbound_file_held",
        "inbound_file",
        ["municipality_code", "kind", "seq"],
        postgresql_where=HELD,
        sqlite_where=HELD,
    )


def downgrade() -> None:
    op.drop_index("ix_inbound_file_held", table_name="inbound_file")
    op.drop_index("ix_inbound_file_received_at", table_name="inbound_file")
    op.drop_index("ix_outbound_file_inbound_file_id", table_name="outbound_file")
    op.drop_index("ix_ingest_result_unreviewed", table_name="ingest_result")
    op.drop_index("ix_ingest_result_unreported_withdrawal", table_name="ingest_result")
    op.drop_index("ix_ingest_result_open_review", table_name="ingest_result")
