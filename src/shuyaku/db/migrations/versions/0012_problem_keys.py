"""an index of the keys in the problems reported, for the outbox guard

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30

A KKKK line names the 宛名番号 or 世帯番号 of a record with a problem. Where that key is twelve
digits that pass the individual-number check digit, the outbox guard lets it out only if the
municipality itself sent it — for a quarantined record, only its problem row says so, and
without an index that question read every problem ever reported, once per such key.
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_ingest_result_record_key", "ingest_result", ["record_key"])


def downgrade() -> None:
    op.drop_index("ix_ingest_result_record_key", table_name="ingest_result")
