"""the month in the key indexes of claim units and hit months

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30

A RECE or KGGT file's records are looked up among the current rows of their keys, which
include the 診療年月. Indexed by 市町村コード + 宛名番号 (世帯番号) alone, the look-up read
every month the store holds of each person (household) named — a month's claims cost more
with every month in service. With the month as the last column the index answers the whole
condition, and the old index's every use (a prefix) is still served.
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_claim_unit_municipality_code_atena_no_month", "claim_unit", ["municipality_code", "atena_no", "month"]
    )
    op.drop_index("ix_claim_unit_municipality_code_atena_no", table_name="claim_unit")
    op.create_index(
        "ix_hit_report_municipality_code_setai_no_month", "hit_report", ["municipality_code", "setai_no", "month"]
    )
    op.drop_index("ix_hit_report_municipality_code_setai_no", table_name="hit_report")


def downgrade() -> None:
    op.create_index("ix_hit_report_municipality_code_setai_no", "hit_report", ["municipality_code", "setai_no"])
    op.drop_index("ix_hit_report_municipality_code_setai_no_month", table_name="hit_report")
    op.create_index("ix_claim_unit_municipality_code_atena_no", "claim_unit", ["municipality_code", "atena_no"])
    op.drop_index("ix_claim_unit_municipality_code_atena_no_month", table_name="claim_unit")
