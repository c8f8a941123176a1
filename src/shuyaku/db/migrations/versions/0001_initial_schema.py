"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-27 07:07:53.733417
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "app_user",
        sa.Column("login_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("organisation", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("municipalities", sa.Text(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("must_change_password", sa.Boolean(), nullable=False),
        sa.Column("totp_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("totp_key_version", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("login_id", name=op.f("pk_app_user")),
    )
    op.create_table(
        "audit_checkpoint",
        sa.Column("checkpoint_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.String(length=64), nullable=False),
        sa.Column("at_utc", sa.String(length=27), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("signature", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("checkpoint_id", name=op.f("pk_audit_checkpoint")),
    )
    op.create_table(
        "audit_event",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at_utc", sa.String(length=27), nullable=False),
        sa.Column("actor", sa.String(length=32), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("action", sa.String(length=48), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("row_count", sa.BigInteger(), nullable=False),
        sa.Column("outcome", sa.String(length=8), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_event")),
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_event_actor_at_utc"), ["actor", "at_utc"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_event_at_utc"), ["at_utc"], unique=False)

    op.create_table(
        "claim_unit",
        sa.Column("row_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("municipality_code", sa.String(length=6), nullable=False),
        sa.Column("atena_no", sa.String(length=15), nullable=False),
        sa.Column("month", sa.String(length=6), nullable=False),
        sa.Column("institution", sa.String(length=10), nullable=False),
        sa.Column("setting_code", sa.String(length=1), nullable=False),
        sa.Column("detail_no", sa.String(length=4), nullable=False),
        sa.Column("total_cost", sa.BigInteger(), nullable=False),
        sa.Column("copay", sa.BigInteger(), nullable=False),
        sa.Column("specified_disease", sa.String(length=1), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("superseded_by_file_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("row_id", name=op.f("pk_claim_unit")),
    )
    with op.batch_alter_table("claim_unit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_claim_unit_month"), ["month"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_claim_unit_municipality_code_atena_no"), ["municipality_code", "atena_no"], unique=False
        )

    op.create_table(
        "continuity_candidate",
        sa.Column("candidate_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("from_household", sa.String(length=13), nullable=False),
        sa.Column("from_municipality_code", sa.String(length=6), nullable=False),
        sa.Column("from_setai_no", sa.String(length=15), nullable=False),
        sa.Column("to_household", sa.String(length=13), nullable=False),
        sa.Column("to_municipality_code", sa.String(length=6), nullable=False),
        sa.Column("to_setai_no", sa.String(length=15), nullable=False),
        sa.Column("change_date", sa.Date(), nullable=False),
        sa.Column("rule", sa.String(length=2), nullable=False),
        sa.Column("continuous", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("persons", sa.Text(), nullable=False),
        sa.Column("households", sa.Text(), nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("reported_status", sa.String(length=10), nullable=True),
        sa.PrimaryKeyConstraint("candidate_id", name=op.f("pk_continuity_candidate")),
    )
    with op.batch_alter_table("continuity_candidate", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_continuity_candidate_from_household_change_date"),
            ["from_household", "change_date"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_continuity_candidate_to_household"), ["to_household"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_continuity_candidate_to_municipality_code_status"),
            ["to_municipality_code", "status"],
            unique=False,
        )

    op.create_table(
        "hit_month",
        sa.Column("row_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("pref_household_id", sa.String(length=13), nullable=False),
        sa.Column("month", sa.String(length=6), nullable=False),
        sa.Column("kind", sa.String(length=1), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("payment", sa.BigInteger(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("row_id", name=op.f("pk_hit_month")),
    )
    with op.batch_alter_table("hit_month", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hit_month_month_source"), ["month", "source"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_hit_month_pref_household_id_month"), ["pref_household_id", "month"], unique=False
        )

    op.create_table(
        "hit_report",
        sa.Column("row_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("municipality_code", sa.String(length=6), nullable=False),
        sa.Column("setai_no", sa.String(length=15), nullable=False),
        sa.Column("month", sa.String(length=6), nullable=False),
        sa.Column("pref_household_id", sa.String(length=13), nullable=False),
        sa.Column("kind", sa.String(length=1), nullable=False),
        sa.Column("income_code", sa.String(length=2), nullable=False),
        sa.Column("municipal_tasuukai", sa.String(length=1), nullable=False),
        sa.Column("move_month", sa.String(length=1), nullable=False),
        sa.Column("payment", sa.BigInteger(), nullable=False),
        sa.Column("source_updated", sa.String(length=14), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("superseded_by_file_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("row_id", name=op.f("pk_hit_report")),
    )
    with op.batch_alter_table("hit_report", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hit_report_month"), ["month"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_hit_report_municipality_code_setai_no"), ["municipality_code", "setai_no"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_hit_report_pref_household_id"), ["pref_household_id"], unique=False)

    op.create_table(
        "household",
        sa.Column("pref_household_id", sa.String(length=13), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_file_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("pref_household_id", name=op.f("pk_household")),
    )
    op.create_table(
        "household_key",
        sa.Column("municipality_code", sa.String(length=6), nullable=False),
        sa.Column("setai_no", sa.String(length=15), nullable=False),
        sa.Column("pref_household_id", sa.String(length=13), nullable=False),
        sa.Column("bound_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("municipality_code", "setai_no", name=op.f("pk_household_key")),
    )
    with op.batch_alter_table("household_key", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_household_key_pref_household_id"), ["pref_household_id"], unique=False)

    op.create_table(
        "household_record",
        sa.Column("row_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("municipality_code", sa.String(length=6), nullable=False),
        sa.Column("setai_no", sa.String(length=15), nullable=False),
        sa.Column("history_no", sa.Integer(), nullable=False),
        sa.Column("pref_household_id", sa.String(length=13), nullable=False),
        sa.Column("change_date", sa.Date(), nullable=False),
        sa.Column("reason_code", sa.String(length=2), nullable=False),
        sa.Column("head_atena_no", sa.String(length=15), nullable=False),
        sa.Column("nominal_head", sa.String(length=1), nullable=False),
        sa.Column("postal_code", sa.String(length=7), nullable=True),
        sa.Column("address", sa.String(length=100), nullable=False),
        sa.Column("applied_from", sa.Date(), nullable=False),
        sa.Column("applied_to", sa.Date(), nullable=True),
        sa.Column("source_updated", sa.String(length=14), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("superseded_by_file_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("row_id", name=op.f("pk_household_record")),
    )
    with op.batch_alter_table("household_record", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_household_record_municipality_code_setai_no_history_no"),
            ["municipality_code", "setai_no", "history_no"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_household_record_pref_household_id"), ["pref_household_id"], unique=False)

    op.create_table(
        "id_assignment",
        sa.Column("assignment_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("municipality_code", sa.String(length=6), nullable=False),
        sa.Column("atena_no", sa.String(length=15), nullable=False),
        sa.Column("pref_person_id", sa.String(length=13), nullable=False),
        sa.Column("setai_no", sa.String(length=15), nullable=True),
        sa.Column("pref_household_id", sa.String(length=13), nullable=True),
        sa.Column("assign_kind", sa.String(length=1), nullable=False),
        sa.Column("prev_municipality_code", sa.String(length=6), nullable=True),
        sa.Column("assigned_on", sa.Date(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("exported_file_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("assignment_id", name=op.f("pk_id_assignment")),
    )
    with op.batch_alter_table("id_assignment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_id_assignment_municipality_code_atena_no"), ["municipality_code", "atena_no"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_id_assignment_municipality_code_exported_file_id"),
            ["municipality_code", "exported_file_id"],
            unique=False,
        )

    op.create_table(
        "inbound_file",
        sa.Column("file_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("municipality_code", sa.String(length=6), nullable=True),
        sa.Column("kind", sa.String(length=4), nullable=True),
        sa.Column("data_kind", sa.String(length=1), nullable=True),
        sa.Column("as_of", sa.String(length=8), nullable=True),
        sa.Column("created", sa.String(length=14), nullable=True),
        sa.Column("seq", sa.Integer(), nullable=True),
        sa.Column("spec_version", sa.String(length=8), nullable=True),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error_code", sa.String(length=4), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("record_count", sa.Integer(), nullable=False),
        sa.Column("applied_count", sa.Integer(), nullable=False),
        sa.Column("warning_count", sa.Integer(), nullable=False),
        sa.Column("error_count", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("archive_name", sa.String(length=255), nullable=True),
        sa.Column("archive_key_version", sa.Integer(), nullable=True),
        sa.Column("retain_until", sa.Date(), nullable=True),
        sa.Column("archive_purged_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("file_id", name=op.f("pk_inbound_file")),
    )
    with op.batch_alter_table("inbound_file", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inbound_file_municipality_code_kind_seq"), ["municipality_code", "kind", "seq"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_inbound_file_sha256"), ["sha256"], unique=False)

    op.create_table(
        "income_class",
        sa.Column("row_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("municipality_code", sa.String(length=6), nullable=False),
        sa.Column("setai_no", sa.String(length=15), nullable=False),
        sa.Column("applied_from_month", sa.String(length=6), nullable=False),
        sa.Column("applied_to_month", sa.String(length=6), nullable=True),
        sa.Column("class_under70", sa.String(length=2), nullable=True),
        sa.Column("class_over70", sa.String(length=2), nullable=True),
        sa.Column("fiscal_year", sa.String(length=4), nullable=False),
        sa.Column("source_updated", sa.String(length=14), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("superseded_by_file_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("row_id", name=op.f("pk_income_class")),
    )
    with op.batch_alter_table("income_class", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_income_class_municipality_code_setai_no"), ["municipality_code", "setai_no"], unique=False
        )

    op.create_table(
        "ingest_result",
        sa.Column("result_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("record_key", sa.String(length=15), nullable=True),
        sa.Column("history_no", sa.String(length=4), nullable=True),
        sa.Column("result", sa.String(length=1), nullable=False),
        sa.Column("code", sa.String(length=4), nullable=False),
        sa.Column("field", sa.String(length=32), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("record", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("result_id", name=op.f("pk_ingest_result")),
    )
    with op.batch_alter_table("ingest_result", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ingest_result_file_id"), ["file_id"], unique=False)

    op.create_table(
        "municipality",
        sa.Column("municipality_code", sa.String(length=6), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("insurer_number", sa.String(length=8), nullable=False),
        sa.Column("encoding", sa.String(length=16), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("registered_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("municipality_code", name=op.f("pk_municipality")),
    )
    op.create_table(
        "outbound_file",
        sa.Column("outbound_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("municipality_code", sa.String(length=6), nullable=False),
        sa.Column("kind", sa.String(length=4), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("inbound_file_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("outbound_id", name=op.f("pk_outbound_file")),
    )
    with op.batch_alter_table("outbound_file", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_outbound_file_municipality_code_kind_seq"),
            ["municipality_code", "kind", "seq"],
            unique=False,
        )

    op.create_table(
        "permission_change",
        sa.Column("change_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("login_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("organisation", sa.String(length=100), nullable=False),
        sa.Column("role_before", sa.String(length=32), nullable=True),
        sa.Column("role_after", sa.String(length=32), nullable=True),
        sa.Column("scope_before", sa.Text(), nullable=True),
        sa.Column("scope_after", sa.Text(), nullable=True),
        sa.Column("changed_by", sa.String(length=32), nullable=False),
        sa.Column("approved_by", sa.String(length=32), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("change_id", name=op.f("pk_permission_change")),
    )
    with op.batch_alter_table("permission_change", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_permission_change_at"), ["at"], unique=False)

    op.create_table(
        "person",
        sa.Column("pref_person_id", sa.String(length=13), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_file_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("pref_person_id", name=op.f("pk_person")),
    )
    op.create_table(
        "person_key",
        sa.Column("municipality_code", sa.String(length=6), nullable=False),
        sa.Column("atena_no", sa.String(length=15), nullable=False),
        sa.Column("pref_person_id", sa.String(length=13), nullable=False),
        sa.Column("bind_kind", sa.String(length=1), nullable=False),
        sa.Column("prev_municipality_code", sa.String(length=6), nullable=True),
        sa.Column("bound_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("municipality_code", "atena_no", name=op.f("pk_person_key")),
    )
    with op.batch_alter_table("person_key", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_person_key_pref_person_id"), ["pref_person_id"], unique=False)

    op.create_table(
        "qualification_period",
        sa.Column("row_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("municipality_code", sa.String(length=6), nullable=False),
        sa.Column("atena_no", sa.String(length=15), nullable=False),
        sa.Column("history_no", sa.Integer(), nullable=False),
        sa.Column("pref_person_id", sa.String(length=13), nullable=False),
        sa.Column("pref_household_id", sa.String(length=13), nullable=False),
        sa.Column("setai_no", sa.String(length=15), nullable=False),
        sa.Column("change_date", sa.Date(), nullable=False),
        sa.Column("reason_code", sa.String(length=2), nullable=False),
        sa.Column("is_head", sa.Boolean(), nullable=False),
        sa.Column("relation", sa.String(length=20), nullable=True),
        sa.Column("card_symbol", sa.String(length=20), nullable=True),
        sa.Column("card_number", sa.String(length=20), nullable=False),
        sa.Column("card_branch", sa.String(length=2), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("name_kana", sa.String(length=50), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("sex", sa.String(length=1), nullable=False),
        sa.Column("qualified_from", sa.Date(), nullable=False),
        sa.Column("qualified_from_reason", sa.String(length=2), nullable=False),
        sa.Column("qualified_until", sa.Date(), nullable=True),
        sa.Column("qualified_until_reason", sa.String(length=2), nullable=True),
        sa.Column("applied_from", sa.Date(), nullable=False),
        sa.Column("applied_to", sa.Date(), nullable=True),
        sa.Column("elderly_copay_ratio", sa.String(length=2), nullable=True),
        sa.Column("source_updated", sa.String(length=14), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("superseded_by_file_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("row_id", name=op.f("pk_qualification_period")),
    )
    with op.batch_alter_table("qualification_period", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_qualification_period_municipality_code_atena_no_history_no"),
            ["municipality_code", "atena_no", "history_no"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_qualification_period_pref_household_id"), ["pref_household_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_qualification_period_pref_person_id"), ["pref_person_id"], unique=False)

    op.create_table(
        "setting",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_setting")),
    )
    op.create_table(
        "tasuukai_count",
        sa.Column("row_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("pref_household_id", sa.String(length=13), nullable=False),
        sa.Column("municipality_code", sa.String(length=6), nullable=False),
        sa.Column("setai_no", sa.String(length=15), nullable=False),
        sa.Column("month", sa.String(length=6), nullable=False),
        sa.Column("hit_count", sa.Integer(), nullable=False),
        sa.Column("months", sa.Text(), nullable=False),
        sa.Column("predecessors", sa.Text(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("exported_file_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("row_id", name=op.f("pk_tasuukai_count")),
    )
    with op.batch_alter_table("tasuukai_count", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_tasuukai_count_month_pref_household_id"), ["month", "pref_household_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_tasuukai_count_municipality_code_exported_file_id"),
            ["municipality_code", "exported_file_id"],
            unique=False,
        )

    op.create_table(
        "user_session",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("login_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_user_session")),
    )
    op.create_table(
        "vault_entry",
        sa.Column("pref_person_id", sa.String(length=13), nullable=False),
        sa.Column("blind_index", sa.String(length=64), nullable=False),
        sa.Column("index_key_version", sa.Integer(), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("seal_key_version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("pref_person_id", name=op.f("pk_vault_entry")),
        sa.UniqueConstraint("blind_index", name=op.f("uq_vault_entry_blind_index")),
    )


def downgrade() -> None:
    op.drop_table("vault_entry")
    op.drop_table("user_session")
    with op.batch_alter_table("tasuukai_count", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tasuukai_count_municipality_code_exported_file_id"))
        batch_op.drop_index(batch_op.f("ix_tasuukai_count_month_pref_household_id"))

    op.drop_table("tasuukai_count")
    op.drop_table("setting")
    with op.batch_alter_table("qualification_period", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_qualification_period_pref_person_id"))
        batch_op.drop_index(batch_op.f("ix_qualification_period_pref_household_id"))
        batch_op.drop_index(batch_op.f("ix_qualification_period_municipality_code_atena_no_history_no"))

    op.drop_table("qualification_period")
    with op.batch_alter_table("person_key", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_person_key_pref_person_id"))

    op.drop_table("person_key")
    op.drop_table("person")
    with op.batch_alter_table("permission_change", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_permission_change_at"))

    op.drop_table("permission_change")
    with op.batch_alter_table("outbound_file", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbound_file_municipality_code_kind_seq"))

    op.drop_table("outbound_file")
    op.drop_table("municipality")
    with op.batch_alter_table("ingest_result", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ingest_result_file_id"))

    op.drop_table("ingest_result")
    with op.batch_alter_table("income_class", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_income_class_municipality_code_setai_no"))

    op.drop_table("income_class")
    with op.batch_alter_table("inbound_file", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbound_file_sha256"))
        batch_op.drop_index(batch_op.f("ix_inbound_file_municipality_code_kind_seq"))

    op.drop_table("inbound_file")
    with op.batch_alter_table("id_assignment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_id_assignment_municipality_code_exported_file_id"))
        batch_op.drop_index(batch_op.f("ix_id_assignment_municipality_code_atena_no"))

    op.drop_table("id_assignment")
    with op.batch_alter_table("household_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_household_record_pref_household_id"))
        batch_op.drop_index(batch_op.f("ix_household_record_municipality_code_setai_no_history_no"))

    op.drop_table("household_record")
    with op.batch_alter_table("household_key", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_household_key_pref_household_id"))

    op.drop_table("household_key")
    op.drop_table("household")
    with op.batch_alter_table("hit_report", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hit_report_pref_household_id"))
        batch_op.drop_index(batch_op.f("ix_hit_report_municipality_code_setai_no"))
        batch_op.drop_index(batch_op.f("ix_hit_report_month"))

    op.drop_table("hit_report")
    with op.batch_alter_table("hit_month", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hit_month_pref_household_id_month"))
        batch_op.drop_index(batch_op.f("ix_hit_month_month_source"))

    op.drop_table("hit_month")
    with op.batch_alter_table("continuity_candidate", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_continuity_candidate_to_municipality_code_status"))
        batch_op.drop_index(batch_op.f("ix_continuity_candidate_to_household"))
        batch_op.drop_index(batch_op.f("ix_continuity_candidate_from_household_change_date"))

    op.drop_table("continuity_candidate")
    with op.batch_alter_table("claim_unit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_claim_unit_municipality_code_atena_no"))
        batch_op.drop_index(batch_op.f("ix_claim_unit_month"))

    op.drop_table("claim_unit")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_event_at_utc"))
        batch_op.drop_index(batch_op.f("ix_audit_event_actor_at_utc"))

    op.drop_table("audit_event")
    op.drop_table("audit_checkpoint")
    op.drop_table("app_user")
