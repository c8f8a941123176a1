"""The tables (SQLAlchemy Core metadata). Alembic migrations are generated from this.

Names follow ``shared/reference/glossary.md``. No table has an individual-number column:
the number exists only as a blind index and a sealed (encrypted) copy in ``vault_entry``.

There are no foreign keys. On PostgreSQL a foreign-key check per row halved the speed of a
full load (1.4 million persons write about ten million rows), and every one of these rows
is written by one service path that takes its IDs from the identity tables in the same
transaction. ``shuyaku.db.integrity`` finds any orphan reference; the tests run it after a
full synthetic run.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    bindparam,
    false,
    text,
)

from shuyaku.problems import ERROR

# The Alembic revision these tables are (the newest under migrations/versions): the CLI
# refuses a database at another one until `shuyaku init` has migrated it.
REVISION = "0013"

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Timestamp = DateTime(timezone=True)


class PrefId(TypeDecorator[str]):
    """A 県被保険者ID or 県世帯ID: the 13-digit text everywhere a person or a program sees
    it, a ``bigint`` in the store — half the width of the text in every index that holds
    it, compared as a number. A value that is not 13 ASCII digits (a mistyped ID) binds as
    -1, which no row holds: a look-up finds nothing instead of failing."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> int | None:
        return None if value is None else as_number(value)

    def process_literal_param(self, value: Any, dialect: Any) -> str:
        return "NULL" if value is None else str(as_number(value))

    def process_result_value(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else f"{int(value):013d}"

    @property
    def python_type(self) -> type:
        return str


def as_number(value: Any) -> int:
    """A prefecture ID's number in the store (-1 for anything that is not one)."""
    text = str(value)
    return int(text) if len(text) == PREF_ID_DIGITS and text.isascii() and text.isdigit() else -1


PREF_ID_DIGITS = 13


def _history_columns() -> list[Column[object]]:
    """Where a history row came from (file, line) and when the system knew it (bitemporal)."""
    return [
        Column("file_id", Integer, nullable=False),
        Column("line_no", Integer, nullable=False),
        Column("recorded_at", Timestamp, nullable=False),
        Column("superseded_at", Timestamp),  # NULL: the current row of its key
        Column("superseded_by_file_id", Integer),
    ]


setting = Table(
    "setting",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

municipality = Table(
    "municipality",
    metadata,
    Column("municipality_code", String(6), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("insurer_number", String(8), nullable=False),
    Column("encoding", String(16), nullable=False),
    Column("registered_at", Timestamp, nullable=False),
    Column("registered_by", String(64), nullable=False),
)

_HELD = text("status = 'held'")  # ledger.FileStatus.HELD

# 受信ファイル台帳: every inbound file ever offered, whatever became of it.
inbound_file = Table(
    "inbound_file",
    metadata,
    Column("file_id", Integer, primary_key=True, autoincrement=True),
    Column("municipality_code", String(6)),  # from the header; may be unregistered (E003)
    Column("kind", String(4)),
    Column("data_kind", String(1)),  # 1 full (初期セットアップ), 2 delta (日次差分)
    Column("as_of", String(8)),
    Column("created", String(14)),
    Column("seq", Integer),
    Column("spec_version", String(8)),
    Column("filename", String(255), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size_bytes", Integer, nullable=False),
    Column("status", String(16), nullable=False),  # applied | duplicate | rejected | held
    Column("error_code", String(4)),
    Column("message", Text),
    Column("record_count", Integer, nullable=False, default=0),
    Column("applied_count", Integer, nullable=False, default=0),
    Column("warning_count", Integer, nullable=False, default=0),
    Column("error_count", Integer, nullable=False, default=0),
    Column("received_at", Timestamp, nullable=False),
    Column("decided_at", Timestamp),
    Column("actor", String(64), nullable=False),
    Column("archive_name", String(255)),  # encrypted raw copy under archive/
    Column("archive_key_version", Integer),
    Column("retain_until", Date),
    Column("archive_purged_at", Timestamp),
    Index(None, "municipality_code", "kind", "seq"),
    Index(None, "sha256"),
    Index(None, "received_at"),  # today's files (status.feed), among those of every year
    # Files held for a 連番 gap: a few among every file ever received (ledger.ready_to_release).
    Index(
        "ix_inbound_file_held",
        "municipality_code",
        "kind",
        "seq",
        postgresql_where=_HELD,
        sqlite_where=_HELD,
    ),
)

# 取込結果: one row per record with a problem (warning or error). Errors are the quarantine:
# they carry the record as received, with the individual number removed.
ingest_result = Table(
    "ingest_result",
    metadata,
    Column("result_id", Integer, primary_key=True, autoincrement=True),
    Column("file_id", Integer, nullable=False, index=True),
    Column("line_no", Integer, nullable=False),
    # 宛名番号 or 世帯番号; indexed for the outbox guard, which asks whether a KKKK's key is one
    # the municipality sent (a quarantined record's key is in no other table)
    Column("record_key", String(15), index=True),
    Column("history_no", String(4)),
    Column("result", String(1), nullable=False),  # 1 warning, 9 error (not applied)
    Column("code", String(4), nullable=False),
    Column("field", String(32)),
    Column("message", Text, nullable=False),
    Column("record", Text),  # JSON of the record without 個人番号; errors only
    # The municipality's review of a quarantined record (errors of an applied file).
    Column("reviewed_at", Timestamp),
    Column("reviewed_by", String(32)),
    Column("review_outcome", String(16)),  # resent | no_action
    Column("review_note", Text),
    # A review item (E101/E102/E103) whose cause went away, and the KKKK that said so.
    Column("withdrawn_at", Timestamp),
    Column("withdrawal_reported", Integer),  # outbound_file.outbound_id
)
# Every SKKS file with a mover reads the open review items, every KKKK the withdrawals not yet
# reported, and the quarantine screen the errors not yet reviewed; each is a handful among
# every problem ever reported (millions after a few years), so each has a partial index of
# its own rather than a scan of the table. The review codes go into the query as literals
# (``open_review_codes``): SQLite matches a bound parameter of ``=`` to an index's condition,
# but not the bound list of an ``IN``.
REVIEW_CODES = ("E101", "E102", "E103")
_open_review = ingest_result.c.withdrawn_at.is_(None) & ingest_result.c.code.in_(REVIEW_CODES)
UNREPORTED_WITHDRAWAL = ingest_result.c.withdrawn_at.is_not(None) & ingest_result.c.withdrawal_reported.is_(None)
_unreviewed = (ingest_result.c.result == ERROR) & ingest_result.c.reviewed_at.is_(None)
Index("ix_ingest_result_open_review", ingest_result.c.code, postgresql_where=_open_review, sqlite_where=_open_review)
Index(
    "ix_ingest_result_unreported_withdrawal",
    ingest_result.c.result_id,
    postgresql_where=UNREPORTED_WITHDRAWAL,
    sqlite_where=UNREPORTED_WITHDRAWAL,
)
Index(
    "ix_ingest_result_unreviewed",
    ingest_result.c.result_id,
    postgresql_where=_unreviewed,
    sqlite_where=_unreviewed,
)


def open_review_codes() -> Any:
    """``code IN ('E101', 'E102', 'E103')`` as the partial index says it."""
    return ingest_result.c.code.in_(bindparam("review_codes", REVIEW_CODES, expanding=True, literal_execute=True))


person = Table(
    "person",
    metadata,
    Column("pref_person_id", PrefId(), primary_key=True),
    Column("created_at", Timestamp, nullable=False),
    Column("created_file_id", Integer),
)

# The only place that knows an individual number, and never in the clear.
vault_entry = Table(
    "vault_entry",
    metadata,
    Column("pref_person_id", PrefId(), primary_key=True),
    Column("blind_index", LargeBinary(32), nullable=False, unique=True),
    Column("index_key_version", Integer, nullable=False),
    Column("sealed", LargeBinary, nullable=False),
    Column("seal_key_version", Integer, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
)

# Individual numbers that arrived but were never enrolled (a quarantined record, a held or
# refused file): only their blind index, under the index key of its version, so the outbox
# guard also knows them. Never the number, not even sealed.
seen_number = Table(
    "seen_number",
    metadata,
    Column("blind_index", LargeBinary(32), primary_key=True),
    Column("index_key_version", Integer, nullable=False),
    Column("file_id", Integer, nullable=False),
    Column("seen_at", Timestamp, nullable=False),
)

# One row per named lock. On SQLite a write to a row here takes the database's write lock
# before anything is read (see ``db.locks``); PostgreSQL uses advisory locks instead.
app_lock = Table(
    "app_lock",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("taken", BigInteger, nullable=False),
)

# (市町村コード, 宛名番号) → person: the municipal key.
person_key = Table(
    "person_key",
    metadata,
    Column("municipality_code", String(6), primary_key=True),
    Column("atena_no", String(15), primary_key=True),
    Column("pref_person_id", PrefId(), nullable=False, index=True),
    Column("bind_kind", String(1), nullable=False),  # 付番区分 1 new, 2 carried over, 3 merged
    Column("prev_municipality_code", String(6)),
    Column("bound_at", Timestamp, nullable=False),
    Column("file_id", Integer),
)

household = Table(
    "household",
    metadata,
    Column("pref_household_id", PrefId(), primary_key=True),
    Column("created_at", Timestamp, nullable=False),
    Column("created_file_id", Integer),
)

# (市町村コード, 世帯番号) → household.
household_key = Table(
    "household_key",
    metadata,
    Column("municipality_code", String(6), primary_key=True),
    Column("setai_no", String(15), primary_key=True),
    Column("pref_household_id", PrefId(), nullable=False, index=True),
    Column("bound_at", Timestamp, nullable=False),
    Column("file_id", Integer),
)

# 資格情報(個人), bitemporal. Valid time: change_date and the qualification / 適用 dates.
# Transaction time: recorded_at … superseded_at (NULL = current). Rows are never updated
# except to set superseded_at; a correction inserts a new row.
qualification_period = Table(
    "qualification_period",
    metadata,
    Column("row_id", Integer, primary_key=True, autoincrement=True),
    Column("municipality_code", String(6), nullable=False),
    Column("atena_no", String(15), nullable=False),
    Column("history_no", Integer, nullable=False),
    Column("pref_person_id", PrefId(), nullable=False, index=True),
    Column("pref_household_id", PrefId(), nullable=False, index=True),
    Column("setai_no", String(15), nullable=False),
    Column("change_date", Date, nullable=False),
    Column("reason_code", String(2), nullable=False),
    Column("is_head", Boolean, nullable=False),
    Column("relation", String(20)),
    Column("card_symbol", String(20)),
    Column("card_number", String(20), nullable=False),
    Column("card_branch", String(2), nullable=False),
    Column("name", String(50), nullable=False),
    Column("name_kana", String(50), nullable=False),
    Column("birth_date", Date, nullable=False),
    Column("sex", String(1), nullable=False),
    Column("qualified_from", Date, nullable=False),
    Column("qualified_from_reason", String(2), nullable=False),
    Column("qualified_until", Date),
    Column("qualified_until_reason", String(2)),
    Column("applied_from", Date, nullable=False),
    Column("applied_to", Date),
    Column("elderly_copay_ratio", String(2)),
    Column("source_updated", String(14), nullable=False),
    *_history_columns(),
    # Of a current row: the earliest 異動日 of the key's current rows of a higher 履歴番号 —
    # from that day a newer record is in force (NULL: none). Kept by every file that changes
    # the key's current rows (``db.history``), so the record in force of a month is chosen
    # row by row (``periods.in_force``), not by reading every record a person ever had.
    Column("overtaken_on", Date),
    Index(None, "municipality_code", "atena_no", "history_no"),
    # Every 異動 rewrites the record before it (overtaken_on) and a correction supersedes
    # one: with a tenth of each page left free PostgreSQL updates in place, leaving the four
    # indexes alone (migration 0013).
    postgresql_with={"fillfactor": 90},
)

# 資格情報(世帯), bitemporal like qualification_period.
household_record = Table(
    "household_record",
    metadata,
    Column("row_id", Integer, primary_key=True, autoincrement=True),
    Column("municipality_code", String(6), nullable=False),
    Column("setai_no", String(15), nullable=False),
    Column("history_no", Integer, nullable=False),
    Column("pref_household_id", PrefId(), nullable=False),  # no index: nothing reads by it (0007)
    Column("change_date", Date, nullable=False),
    Column("reason_code", String(2), nullable=False),
    Column("head_atena_no", String(15), nullable=False),
    Column("nominal_head", String(1), nullable=False),
    Column("postal_code", String(7)),
    Column("address", String(100), nullable=False),
    Column("applied_from", Date, nullable=False),
    Column("applied_to", Date),
    Column("source_updated", String(14), nullable=False),
    *_history_columns(),
    Index(None, "municipality_code", "setai_no", "history_no"),
)

# RECE: claim units of a treatment month (for the 高額療養費 calculation), bitemporal.
claim_unit = Table(
    "claim_unit",
    metadata,
    Column("row_id", Integer, primary_key=True, autoincrement=True),
    Column("municipality_code", String(6), nullable=False),
    Column("atena_no", String(15), nullable=False),
    Column("month", String(6), nullable=False),  # 診療年月 YYYYMM
    Column("institution", String(10), nullable=False),  # a pharmacy claim: the prescribing institution
    Column("setting_code", String(1), nullable=False),  # 1 inpatient, 2 outpatient, 3 dental
    Column("detail_no", String(4), nullable=False),
    Column("total_cost", BigInteger, nullable=False),
    Column("copay", BigInteger, nullable=False),
    Column("specified_disease", String(1), nullable=False),
    *_history_columns(),
    Index(None, "municipality_code", "atena_no", "month"),  # a RECE file's keys: only their months
    Index(None, "month"),
)

# SKBN: a household's income class (所得区分) over a span of months, bitemporal.
income_class = Table(
    "income_class",
    metadata,
    Column("row_id", Integer, primary_key=True, autoincrement=True),
    Column("municipality_code", String(6), nullable=False),
    Column("setai_no", String(15), nullable=False),
    Column("applied_from_month", String(6), nullable=False),
    Column("applied_to_month", String(6)),
    Column("class_under70", String(2)),
    Column("class_over70", String(2)),
    Column("fiscal_year", String(4), nullable=False),
    Column("source_updated", String(14), nullable=False),
    *_history_columns(),
    Index(None, "municipality_code", "setai_no"),
)

# When income classes reaching which months were recorded or superseded: one row per SKBN
# file and span of months it touched (no household). A month run before such a change must
# be run again (`kogaku.service.stale_months`); asked of every class ever kept, the question
# read the whole table once per month run.
income_class_change = Table(
    "income_class_change",
    metadata,
    Column("change_id", Integer, primary_key=True, autoincrement=True),
    Column("changed_at", Timestamp, nullable=False),
    Column("applied_from_month", String(6), nullable=False),
    Column("applied_to_month", String(6)),  # NULL: open-ended
)

# 高額該当月: a household's hit months, as computed by the federation (source "federation",
# from `kogaku run`) or reported by a municipality (KGGT, with the 多数回 count).
hit_month = Table(
    "hit_month",
    metadata,
    Column("row_id", Integer, primary_key=True, autoincrement=True),
    Column("pref_household_id", PrefId(), nullable=False),
    Column("month", String(6), nullable=False),  # 診療年月 YYYYMM
    Column("kind", String(1), nullable=False),  # 1 household-level hit, 2 外来特例 only (never counts)
    Column("source", String(16), nullable=False),  # "federation" or the reporting 市町村コード
    Column("payment", BigInteger),
    Column("recorded_at", Timestamp, nullable=False),
    Column("superseded_at", Timestamp),
    Index(None, "pref_household_id", "month"),
    Index(None, "month", "source"),
)

# KGGT: the hit months a municipality reports (key 市町村コード + 世帯番号 + 診療年月), bitemporal:
# a correction supersedes, a deletion only ends the current row.
hit_report = Table(
    "hit_report",
    metadata,
    Column("row_id", Integer, primary_key=True, autoincrement=True),
    Column("municipality_code", String(6), nullable=False),
    Column("setai_no", String(15), nullable=False),
    Column("month", String(6), nullable=False),  # 診療年月 YYYYMM
    Column("pref_household_id", PrefId(), nullable=False),
    Column("kind", String(1), nullable=False),  # 該当区分: 1 household-level hit, 2 外来特例 only (never counts)
    Column("income_code", String(2), nullable=False),
    Column("municipal_tasuukai", String(1), nullable=False),  # the municipality's own 多数回 judgement (W301 check)
    Column("move_month", String(1), nullable=False),  # 県内転居月特例
    Column("payment", BigInteger, nullable=False),
    Column("source_updated", String(14), nullable=False),
    *_history_columns(),
    Index(None, "municipality_code", "setai_no", "month"),  # a KGGT file's keys: only their months
    Index(None, "pref_household_id"),
    Index(None, "month"),
    Index(None, "municipality_code", "month"),  # does a KGGT cover this month (tasuukai.covered)
)

# 世帯継続性候補: one judgement of household continuity (continuity.md K1–K8). A confirmed
# candidate that says "continuous" between two households is a lineage edge; a confirmed
# "not continuous" of a household with itself starts its count again (the part of a split
# that lost the head, the household of a merge whose head came from elsewhere).
continuity_candidate = Table(
    "continuity_candidate",
    metadata,
    Column("candidate_id", Integer, primary_key=True, autoincrement=True),
    Column("from_household", PrefId(), nullable=False),
    Column("from_municipality_code", String(6), nullable=False),
    Column("from_setai_no", String(15), nullable=False),
    Column("to_household", PrefId(), nullable=False),
    Column("to_municipality_code", String(6), nullable=False),
    Column("to_setai_no", String(15), nullable=False),
    Column("change_date", Date, nullable=False),
    Column("rule", String(2), nullable=False),  # K1 … K8
    Column("continuous", Boolean, nullable=False),
    Column("status", String(10), nullable=False),  # proposed | confirmed | rejected | withdrawn
    Column("reason", Text, nullable=False),
    Column("persons", Text, nullable=False),  # JSON: the 県被保険者ID looked at, with their part
    Column("households", Text, nullable=False),  # JSON: the 県世帯ID looked at
    Column("proposed_at", Timestamp, nullable=False),
    Column("file_id", Integer, nullable=False),
    Column("decided_by", String(64)),
    Column("decided_at", Timestamp),
    Column("decision_note", Text),
    Column("reported_status", String(10)),  # the status last sent in a KZKH
    Column("origin_reported_status", String(10)),  # the status last sent to the 転出元 (KZKH)
    Index(None, "from_household", "change_date"),
    Index(None, "to_household"),
    Index(None, "to_municipality_code", "status"),
)

# Persons whose household may have changed, queued by the file that changed them (in that
# file's transaction) and judged for 世帯の継続性 together at the end of the run: one pass
# over every municipality's records instead of one a file. Judging takes the rows it judged
# out in its own transaction, so a run killed before it leaves them for the next run.
continuity_pending = Table(
    "continuity_pending",
    metadata,
    Column("pending_id", Integer, primary_key=True, autoincrement=True),
    Column("pref_person_id", PrefId(), nullable=False),
    Column("file_id", Integer, nullable=False),
    Column("queued_at", Timestamp, nullable=False),
)

# 多数回該当回数 as computed by `tasuukai run` (and recomputed when lineage or hit months
# change): a row per household and month with a count; a changed count supersedes.
tasuukai_count = Table(
    "tasuukai_count",
    metadata,
    Column("row_id", Integer, primary_key=True, autoincrement=True),
    Column("pref_household_id", PrefId(), nullable=False),
    Column("municipality_code", String(6), nullable=False),
    Column("setai_no", String(15), nullable=False),
    Column("month", String(6), nullable=False),
    Column("hit_count", Integer, nullable=False),
    Column("months", Text, nullable=False),  # YYYYMM;YYYYMM;…
    Column("predecessors", Text, nullable=False),  # 県世帯ID;…
    # 暫定: a counted month rests on `kogaku run` alone (no KGGT of that month yet).
    Column("provisional", Boolean, nullable=False, server_default=false()),
    Column("computed_at", Timestamp, nullable=False),
    Column("superseded_at", Timestamp),
    Column("exported_file_id", Integer),
    Index(None, "month", "pref_household_id"),
    Index(None, "municipality_code", "exported_file_id"),
)

# What IDTB reports: a municipal key bound to (or released from) prefecture IDs.
id_assignment = Table(
    "id_assignment",
    metadata,
    Column("assignment_id", Integer, primary_key=True, autoincrement=True),
    Column("municipality_code", String(6), nullable=False),
    Column("atena_no", String(15), nullable=False),
    Column("pref_person_id", PrefId(), nullable=False),
    Column("setai_no", String(15)),
    Column("pref_household_id", PrefId()),
    Column("assign_kind", String(1), nullable=False),  # 付番区分 1/2/3/4
    Column("prev_municipality_code", String(6)),
    Column("assigned_on", Date, nullable=False),
    Column("file_id", Integer, nullable=False),
    Column("exported_file_id", Integer),
    Index(None, "municipality_code", "exported_file_id"),
    Index(None, "municipality_code", "atena_no"),
)

outbound_file = Table(
    "outbound_file",
    metadata,
    Column("outbound_id", Integer, primary_key=True, autoincrement=True),
    Column("municipality_code", String(6), nullable=False),
    Column("kind", String(4), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("filename", String(255), nullable=False),
    Column("sha256", String(64)),
    Column("row_count", Integer, nullable=False),
    Column("status", String(16), nullable=False),  # released | blocked
    Column("reason", Text),
    Column("created_at", Timestamp, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("inbound_file_id", Integer),
    Column("purged_at", Timestamp),  # deleted from the outbox `outbox_retention_days` after delivery
    Index(None, "municipality_code", "kind", "seq"),
    Index(None, "inbound_file_id"),  # has this inbound file's KKKK gone out (ingest.returns)
)


# 利用者: one account per staff member (no shared accounts). The password is an Argon2id
# hash; the TOTP secret is sealed (AES-256-GCM, ``secret`` key) with the login ID as
# associated data.
app_user = Table(
    "app_user",
    metadata,
    Column("login_id", String(32), primary_key=True),
    Column("name", String(50), nullable=False),
    Column("organisation", String(100), nullable=False),
    Column("role", String(32), nullable=False),
    Column("municipalities", Text, nullable=False),  # comma-separated 市町村コード; "" = the whole prefecture
    Column("password_hash", Text, nullable=False),
    Column("password_changed_at", Timestamp, nullable=False),
    Column("must_change_password", Boolean, nullable=False),
    Column("totp_sealed", LargeBinary),
    Column("totp_key_version", Integer),
    Column("status", String(16), nullable=False),  # active | suspended
    Column("valid_until", Date),  # the account expires after this day (異動, 任期)
    Column("failed_logins", Integer, nullable=False),
    Column("locked_until", Timestamp),
    Column("totp_last_step", BigInteger),  # the last TOTP time step accepted: a code is used once
    Column("last_login_at", Timestamp),
    Column("created_at", Timestamp, nullable=False),
    Column("created_by", String(32), nullable=False),
    Column("org_unit", String(16)),  # department_staff: the organisation unit whose register entries they read
)

# 権限変更: every change of an account, for the 利用者権限変更一覧 report.
permission_change = Table(
    "permission_change",
    metadata,
    Column("change_id", Integer, primary_key=True, autoincrement=True),
    Column("at", Timestamp, nullable=False),
    Column(
        "kind", String(16), nullable=False
    ),  # 新規登録 権限追加 権限削除 役割変更 利用停止 利用再開 パスワード初期化 …
    Column("login_id", String(32), nullable=False),
    Column("name", String(50), nullable=False),
    Column("organisation", String(100), nullable=False),
    Column("role_before", String(32)),
    Column("role_after", String(32)),
    Column("scope_before", Text),
    Column("scope_after", Text),
    Column("changed_by", String(32), nullable=False),
    Column("approved_by", String(32)),
    Column("reason", Text),
    Index(None, "at"),
)

# Web/CLI sessions after a successful login (password + TOTP): only the SHA-256 of the
# token is stored.
user_session = Table(
    "user_session",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("login_id", String(32), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("expires_at", Timestamp, nullable=False),
    Column("ended_at", Timestamp),
    Column("last_seen_at", Timestamp),  # the screens end a session idle for longer than web_idle_minutes
)

# API tokens of municipal systems: only the SHA-256 of the token is stored (a token is 256
# random bits, so a fast hash is enough); each is scoped to its account's one municipality,
# expires, and is revoked rather than deleted.
api_token = Table(
    "api_token",
    metadata,
    Column("token_id", Integer, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("login_id", String(32), nullable=False),
    Column("municipality_code", String(6), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("created_by", String(32), nullable=False),
    Column("expires_at", Timestamp, nullable=False),
    Column("revoked_at", Timestamp),
    Column("revoked_by", String(32)),
)

# What a municipality fetched of its return files over the API (受取記録).
outbound_fetch = Table(
    "outbound_fetch",
    metadata,
    Column("fetch_id", Integer, primary_key=True, autoincrement=True),
    Column("outbound_id", Integer, nullable=False),
    Column("fetched_at", Timestamp, nullable=False),
    Column("actor", String(32), nullable=False),
    Index(None, "outbound_id"),
)

# アクセス記録: hash-chained, append-only. ``hash`` = SHA-256(prev_hash, the event's
# canonical text); the time is kept as the exact UTC text that was hashed. The application
# never updates or deletes a row (PostgreSQL: the application role may only INSERT and
# SELECT; both databases: triggers refuse UPDATE and DELETE).
audit_event = Table(
    "audit_event",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at_utc", String(27), nullable=False),  # 2026-11-27T06:35:16.123456Z
    Column("actor", String(32), nullable=False),
    Column("role", String(32), nullable=False),
    Column("scope", Text, nullable=False),
    Column("action", String(48), nullable=False),
    Column("target", Text, nullable=False),
    Column("purpose", Text, nullable=False),
    Column("row_count", BigInteger, nullable=False),
    Column("outcome", String(8), nullable=False),  # ok | denied | failed
    Column("detail", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index(None, "at_utc"),
    Index(None, "actor", "at_utc"),
)

# A signed Merkle root (RFC 6962) over the first ``tree_size`` events.
audit_checkpoint = Table(
    "audit_checkpoint",
    metadata,
    Column("checkpoint_id", Integer, primary_key=True, autoincrement=False),
    Column("tree_size", BigInteger, nullable=False),
    Column("root_hash", String(64), nullable=False),
    Column("at_utc", String(27), nullable=False),
    Column("key_id", String(16), nullable=False),  # the first 16 hex of SHA-256(public key)
    Column("signature", String(128), nullable=False),  # Ed25519 over the checkpoint's text
    # The tree's right frontier at tree_size (the roots of its perfect subtrees, left to
    # right, hex, comma-separated): the next root costs O(log n) hashes over the new events.
    Column("frontier", Text),
)


# 高額療養費の月次計算: one row per `kogaku run` (a month may be run again; the newest row is
# the one in force), with its figures per municipality as JSON, for the run summary screen.
kogaku_run = Table(
    "kogaku_run",
    metadata,
    Column("run_id", Integer, primary_key=True, autoincrement=True),
    Column("month", String(6), nullable=False, index=True),  # 診療年月 YYYYMM
    Column("cap_table", String(32), nullable=False),
    Column("run_at", Timestamp, nullable=False),
    Column("actor", String(32), nullable=False),
    Column("households", Integer, nullable=False),
    Column("paid_households", Integer, nullable=False),
    Column("payment_total", BigInteger, nullable=False),
    Column("household_hits", Integer, nullable=False),
    Column("unmatched_claims", Integer, nullable=False),
    Column("unregistered", Integer, nullable=False),  # 区分未登録 households
    Column("by_municipality", Text, nullable=False),  # JSON: code → the same figures
)

# 消去記録: every individual number erased from the vault once its retention ended
# (`number_retention_years` after the person's NHI in the prefecture ended). Never the number.
number_erasure = Table(
    "number_erasure",
    metadata,
    Column("erasure_id", Integer, primary_key=True, autoincrement=True),
    Column("pref_person_id", PrefId(), nullable=False, index=True),
    Column("erased_at", Timestamp, nullable=False),
    Column("actor", String(32), nullable=False),
    Column("qualified_until", Date, nullable=False),  # the last day of NHI in the prefecture
    Column("municipalities", Text, nullable=False),  # 市町村コード;… where the person was insured
)


# 組織(課・室): the units that hold registrations of personal-information work. A unit
# abolished or merged names its successor, which takes over its registrations.
org_unit = Table(
    "org_unit",
    metadata,
    Column("unit_code", String(16), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("established_on", Date, nullable=False),
    Column("abolished_on", Date),
    Column("successor", String(16)),  # the unit that took over (set with abolished_on)
    Column("recorded_at", Timestamp, nullable=False),
    Column("recorded_by", String(32), nullable=False),
)

# 個人情報取扱業務登録: every 追加 / 修正 / 廃止 (and 移管 by a reorganisation) is a new version;
# nothing is overwritten. ``content`` is the whole registration as it reads after the change
# (JSON); ``effective_on`` is the day it applies from, so "as registered on D" is the last
# version of each 登録番号 with effective_on <= D.
registration_version = Table(
    "registration_version",
    metadata,
    Column("version_id", Integer, primary_key=True, autoincrement=True),
    Column("reg_no", String(16), nullable=False),
    Column("version_no", Integer, nullable=False),
    Column("kind", String(8), nullable=False),  # 追加 | 修正 | 廃止 | 移管
    Column("unit_code", String(16), nullable=False),
    Column("effective_on", Date, nullable=False),
    Column("reason", Text, nullable=False),
    Column("content", Text, nullable=False),
    Column("recorded_at", Timestamp, nullable=False),
    Column("recorded_by", String(32), nullable=False),
    UniqueConstraint("reg_no", "version_no"),
    Index(None, "unit_code"),
)
