"""The bulk paths to and from the store give the same values on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from sqlalchemy import Boolean, Column, Date, DateTime, Engine, Integer, MetaData, String, Table, inspect, select

from shuyaku.db.engine import RUN_WAL_PAGES, bulk_insert, make_engine, write_run
from shuyaku.db.query import read_alongside, read_bulk, read_frame

SCHEMA: dict[str, Any] = {
    "name": pl.String,
    "amount": pl.Int64,
    "day": pl.Date,
    "flag": pl.Boolean,
    "at": pl.Datetime("us"),
}


def test_read_frame_returns_what_bulk_insert_wrote(database_url: str) -> None:
    engine = make_engine(database_url)
    meta = MetaData()
    table = Table(
        "bulk_probe",
        meta,
        Column("row_id", Integer, primary_key=True),
        Column("name", String),
        Column("amount", Integer),
        Column("day", Date),
        Column("flag", Boolean),
        Column("at", DateTime),
    )
    meta.create_all(engine)
    rows = pl.DataFrame(
        {
            "name": ['comma, "quote"', "", None, "改行\nあり"],
            "amount": [1, None, 3, -4],
            "day": [date(2026, 1, 2), None, date(2026, 12, 31), date(2026, 2, 1)],
            "flag": [True, False, None, True],
            "at": [datetime(2026, 1, 2, 3, 4, 5, 600000), None, datetime(2026, 5, 1), datetime(2026, 6, 1)],
        },
        schema=SCHEMA,
    )
    with engine.begin() as conn:
        bulk_insert(conn, table, rows)
    t = table.c
    for read in (read_frame, read_bulk):  # over the connection itself, and on PostgreSQL over ADBC
        with engine.connect() as conn:
            everything = read(conn, select(t.name, t.amount, t.day, t.flag, t.at).order_by(t.row_id), SCHEMA)
            some = read(
                conn,
                select(t.name, t.amount, t.day, t.flag, t.at).where(t.amount.in_([3, -4]), t.day >= date(2026, 2, 1)),
                SCHEMA,
            )
            none = read(conn, select(t.name, t.amount, t.day, t.flag, t.at).where(t.amount == 99), SCHEMA)
        assert everything.equals(rows), read.__name__
        assert sorted(some["amount"].to_list()) == [-4, 3]
        assert none.height == 0 and none.schema == pl.Schema(SCHEMA)
    engine.dispose()


def _notes(database_url: str, notes: list[str | None]) -> tuple[Engine, Table]:
    """A table of (row_id, note) holding ``notes``."""
    engine = make_engine(database_url)
    meta = MetaData()
    table = Table("note_probe", meta, Column("row_id", Integer, primary_key=True), Column("note", String))
    meta.create_all(engine)
    with engine.begin() as conn:
        conn.execute(table.insert(), [{"note": note} for note in notes])
    return engine, table


def test_read_frame_keeps_an_empty_text_apart_from_null(database_url: str) -> None:
    engine, table = _notes(database_url, ["", None, "x"])
    with engine.connect() as conn:
        notes = read_frame(conn, select(table.c.note).order_by(table.c.row_id), {"note": pl.String})
        bulk = read_bulk(conn, select(table.c.note).order_by(table.c.row_id), {"note": pl.String})
    engine.dispose()
    assert notes["note"].to_list() == bulk["note"].to_list() == ["", None, "x"]


def test_a_bulk_read_gives_ids_as_13_digits_and_sees_the_snapshot_of_its_transaction(ctx) -> None:  # type: ignore[no-untyped-def]
    """``read_bulk`` (ADBC on PostgreSQL) writes a prefecture ID as its 13 digits, a leading
    zero kept and NULL kept, and reads what the caller's transaction sees: not a row another
    connection commits meanwhile."""
    from shuyaku.db.query import one_snapshot
    from shuyaku.db.schema import id_assignment

    small, large = "0110000000016", "4720000000012"  # prefecture 01 (a leading zero) and 47
    a = id_assignment.c
    row = {"municipality_code": "112038", "assign_kind": "1", "assigned_on": date(2026, 11, 29), "file_id": 1}
    with ctx.engine.begin() as conn:
        for atena, household in (("1", small), ("2", None)):
            conn.execute(
                id_assignment.insert().values(atena_no=atena, pref_person_id=large, pref_household_id=household, **row)
            )
    stmt = select(a.atena_no, a.pref_person_id, a.pref_household_id).order_by(a.atena_no)
    schema = {"atena_no": pl.String, "pref_person_id": pl.String, "pref_household_id": pl.String}
    with one_snapshot(ctx.engine) as reader:
        reader.execute(select(a.atena_no)).all()  # the snapshot is taken (SQLite: at a read of the store)
        with ctx.engine.begin() as conn:
            conn.execute(
                id_assignment.insert().values(atena_no="3", pref_person_id=small, pref_household_id=large, **row)
            )
        found = read_bulk(reader, stmt, schema)
    assert found.rows() == [("1", large, small), ("2", large, None)]
    numbers = schema | {"pref_person_id": pl.Int64, "pref_household_id": pl.Int64}
    with ctx.engine.connect() as conn:
        assert read_bulk(conn, stmt, schema)["atena_no"].to_list() == ["1", "2", "3"]
        for read in (read_frame, read_bulk):  # or as their numbers, where the schema asks for them
            assert read(conn, stmt, numbers).rows() == [
                ("1", int(large), int(small)),
                ("2", int(large), None),
                ("3", int(small), int(large)),
            ], read.__name__


def test_keys_survive_the_migration_to_numbers_and_raw_bytes_and_back(ctx) -> None:  # type: ignore[no-untyped-def]
    """0007 turns the stored hex into 32 raw bytes and the prefecture IDs into numbers (and
    its downgrade back), so a store made before it still recognises its persons and the
    numbers it has seen."""
    from alembic import command

    from shuyaku.db.migrate import alembic_config
    from shuyaku.exchange.containment import known_to_vault, remember_unenrolled
    from tests.builders import MUNI_A, exchange_file, number, skks
    from tests.integration.helpers import ingest, person_id

    ingest(ctx, exchange_file("SKKS", [skks("1000000001", individual_number=number(1))]))
    with ctx.engine.begin() as conn:
        remember_unenrolled(conn, ctx.vault, [number(2)], 1, datetime(2026, 11, 29))
    person = person_id(ctx, MUNI_A, "1000000001")
    with ctx.engine.connect() as conn:
        indexes = ctx.vault.blind_indexes(conn, [number(1), number(2)])

    command.downgrade(alembic_config(ctx.engine), "0006")
    with ctx.engine.connect() as conn:  # read as the old column is: text
        assert conn.exec_driver_sql("SELECT pref_person_id, blind_index FROM vault_entry").all() == [
            (person, indexes[0].hex())
        ]
        assert conn.exec_driver_sql("SELECT blind_index FROM seen_number").scalars().all() == [indexes[1].hex()]
        assert conn.exec_driver_sql("SELECT pref_person_id FROM person_key").scalars().all() == [person]

    command.upgrade(alembic_config(ctx.engine), "head")
    with ctx.engine.connect() as conn:
        found = ctx.vault.persons_by_blind_index(conn, indexes)
        assert found.rows() == [(indexes[0], person)]
        assert known_to_vault(conn, ctx.vault, [number(1), number(2), number(3)]) == {number(1), number(2)}
        assert conn.exec_driver_sql("SELECT pref_person_id FROM person_key").scalars().all() == [int(person)]
    assert person_id(ctx, MUNI_A, "1000000001") == person  # the 13 digits, as before


def test_a_read_alongside_sees_the_snapshot_of_the_transaction_that_started_it(database_url: str) -> None:
    engine, table = _notes(database_url, ["before"])
    stmt = select(table.c.note).order_by(table.c.row_id)
    postgres = engine.dialect.name == "postgresql"
    with engine.connect() as other:
        if postgres:  # another writer holds the table while it adds a row: the read waits for it
            other.begin()
            other.exec_driver_sql("LOCK TABLE note_probe IN ACCESS EXCLUSIVE MODE")
            other.execute(table.insert(), [{"note": "after"}])
        with engine.begin() as conn:
            conn.exec_driver_sql("SELECT 1")  # the transaction is under way
            pending = read_alongside(conn, stmt, {"note": pl.String})
            if postgres:
                other.commit()  # the waiting read goes on now, and still sees the snapshot
            assert pending()["note"].to_list() == ["before"]
            assert conn.execute(stmt).scalars().all() == (["before", "after"] if postgres else ["before"])
    engine.dispose()


def test_new_ids_skip_what_the_table_holds_and_draw_again(ctx, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The insert itself is the clash check: an ID some row holds already is neither
    overwritten nor returned, and a fresh one is drawn in its place."""
    from shuyaku import ids
    from shuyaku.db.query import insert_new_ids
    from shuyaku.db.schema import person

    now, earlier = datetime(2026, 11, 29, 1, 2, 3), datetime(2026, 1, 1)
    with ctx.engine.begin() as conn:
        held = insert_new_ids(conn, person, "11", ids.PERSON_KIND, 2, created_at=earlier, created_file_id=7)
    assert len(set(held)) == 2 and all(ids.is_valid_pref_id(i, ids.PERSON_KIND) for i in held)
    real = ids.new_pref_id_batch
    drawn: list[list[str]] = []

    def first_the_taken_ones(prefecture: str, kind: str, count: int, taken: Any = ()) -> list[str]:
        batch = held + real(prefecture, kind, count - 2, taken) if not drawn else real(prefecture, kind, count, taken)
        drawn.append(batch)
        return batch

    monkeypatch.setattr(ids, "new_pref_id_batch", first_the_taken_ones)
    with ctx.engine.begin() as conn:
        fresh = insert_new_ids(conn, person, "11", ids.PERSON_KIND, 5, created_at=now, created_file_id=8)
    assert len(drawn) == 2 and len(drawn[1]) == 2  # the two that clashed, drawn again
    assert len(set(fresh)) == 5 and not set(fresh) & set(held)
    with ctx.engine.connect() as conn:
        stored = dict(conn.execute(select(person.c.pref_person_id, person.c.created_file_id)).all())
    assert stored == {**dict.fromkeys(held, 7), **dict.fromkeys(fresh, 8)}


def test_a_lookup_gives_ids_as_13_digits_and_a_missing_one_as_null(ctx) -> None:  # type: ignore[no-untyped-def]
    """The database writes the IDs' text (db.query._id_text): a leading zero kept, NULL kept."""
    from shuyaku.db.query import Lookup
    from shuyaku.db.schema import id_assignment

    small, large = "0110000000016", "4720000000012"  # prefecture 01 (a leading zero) and 47
    a = id_assignment.c
    with ctx.engine.begin() as conn:
        for atena, household in (("1", small), ("2", None), ("3", large)):
            conn.execute(
                id_assignment.insert().values(
                    municipality_code="112038",
                    atena_no=atena,
                    pref_person_id=large,
                    pref_household_id=household,
                    assign_kind="1",
                    assigned_on=date(2026, 11, 29),
                    file_id=1,
                )
            )
        found = Lookup([a.atena_no, a.pref_person_id, a.pref_household_id], a.atena_no)(conn, ["1", "2", "3"])
    assert sorted(found.rows()) == [("1", large, small), ("2", large, None), ("3", large, large)]


def test_an_ingest_run_on_sqlite_checkpoints_at_its_end_and_leaves_the_defaults(ctx) -> None:  # type: ignore[no-untyped-def]
    """During a run every connection flushes each commit (synchronous=FULL) and lets the WAL
    grow to RUN_WAL_PAGES; after it the WAL is empty, what the run wrote is there, and a new
    connection has the defaults again. On PostgreSQL the run changes nothing."""
    from tests.builders import MUNI_A, exchange_file, number, skks
    from tests.integration.helpers import ingest, person_id

    sqlite = ctx.engine.dialect.name == "sqlite"

    def settings() -> tuple[Any, ...]:
        with ctx.engine.connect() as conn:
            if sqlite:
                pragmas = ("synchronous", "wal_autocheckpoint")
                return tuple(conn.exec_driver_sql(f"PRAGMA {name}").scalar_one() for name in pragmas)
            return (conn.exec_driver_sql("SHOW synchronous_commit").scalar_one(),)

    before = settings()
    with write_run(ctx.engine):
        during = settings()
        ingest(ctx, exchange_file("SKKS", [skks("1000000001", individual_number=number(1))]))
    after = settings()
    assert person_id(ctx, MUNI_A, "1000000001")
    if sqlite:
        assert before == after == (1, 1000)
        assert during == (2, RUN_WAL_PAGES)
        wal = Path(f"{ctx.engine.url.database}-wal")
        assert not wal.exists() or wal.stat().st_size == 0
    else:
        assert before == during == after == ("on",)


_PERSON, _HOUSEHOLD = "1120000000018", "1120000000026"


def _period(municipality: str, atena: str, history: int, setai: str, change: date, **more: Any) -> dict[str, Any]:
    """A qualification_period row as an ingest writes it (less ``overtaken_on``)."""
    return {
        "municipality_code": municipality,
        "atena_no": atena,
        "history_no": history,
        "pref_person_id": _PERSON,
        "pref_household_id": _HOUSEHOLD,
        "setai_no": setai,
        "change_date": change,
        "reason_code": "01",
        "is_head": True,
        "card_number": "1",
        "card_branch": "01",
        "name": "試験 太郎",
        "name_kana": "シケン タロウ",
        "birth_date": date(1960, 4, 1),
        "sex": "1",
        "qualified_from": date(2020, 1, 1),
        "qualified_from_reason": "01",
        "qualified_until": None,
        "applied_from": change,
        "applied_to": None,
        "source_updated": "20260101000000",
        "file_id": 1,
        "line_no": history,
        "recorded_at": datetime(2026, 1, 1),
        "superseded_at": None,
    } | more


def test_the_record_in_force_is_the_newest_current_row_before_the_month_ends(ctx) -> None:  # type: ignore[no-untyped-def]
    """``periods.in_force``: of each 宛名番号's current rows whose 異動日 is before the month's
    end, the newest 履歴番号 — and only when its span covers the month (an older row that does
    is not taken instead). Rows written here carry the ``overtaken_on`` the ingest keeps."""
    from shuyaku.db.schema import qualification_period
    from shuyaku.qualification import periods

    rows = [
        _period("112038", "1", 1, "S1", date(2026, 1, 1), overtaken_on=date(2026, 8, 15)),
        _period("112038", "1", 2, "S2", date(2026, 8, 15), overtaken_on=date(2026, 10, 5)),  # the one in force
        _period("112038", "1", 3, "S3", date(2026, 10, 5)),  # after the month
        _period("112038", "2", 1, "T1", date(2026, 1, 1)),  # in force: the newer row was superseded
        _period("112038", "2", 2, "T2", date(2026, 9, 2), superseded_at=datetime(2026, 9, 3)),
        _period("112038", "3", 1, "U1", date(2026, 1, 1), overtaken_on=date(2026, 8, 1)),
        _period("112038", "3", 2, "U2", date(2026, 8, 1), qualified_until=date(2026, 9, 1)),  # lost before the month
        _period("112038", "4", 1, "V1", date(2026, 9, 20), applied_from=date(2026, 10, 1)),  # applies from the next
        _period("112046", "1", 1, "W1", date(2025, 4, 1), applied_to=date(2026, 9, 30)),  # same 宛名番号, elsewhere
        # A later 履歴番号 dated earlier: from its 異動日 it is in force, not the rows before it.
        _period("112046", "2", 1, "X1", date(2026, 1, 1), overtaken_on=date(2026, 7, 1)),
        _period("112046", "2", 2, "X2", date(2026, 8, 1), overtaken_on=date(2026, 7, 1)),
        _period("112046", "2", 3, "X3", date(2026, 7, 1)),
    ]
    rows = [{"overtaken_on": None} | r for r in rows]
    with ctx.engine.begin() as conn:
        conn.execute(qualification_period.insert(), rows)
        assert periods.overtaken_mismatches(conn) == 0
    with ctx.engine.connect() as conn:  # a bulk read sees what is committed (on PostgreSQL, another connection)
        found = periods.in_force(conn, date(2026, 9, 1), date(2026, 10, 1))
    assert found.schema == pl.Schema(periods.IN_FORCE_SCHEMA)
    chosen = sorted(found.select("municipality_code", "atena_no", "setai_no").rows())
    assert chosen == [("112038", "1", "S2"), ("112038", "2", "T1"), ("112046", "1", "W1"), ("112046", "2", "X3")]
    assert set(found["pref_person_id"]) == {int(_PERSON)}  # the batch's IDs are their numbers
    assert set(found["birth_date"]) == {date(1960, 4, 1)}


def test_an_upgrade_stopped_half_way_leaves_the_store_as_it_was_and_the_next_finishes(database_url: str) -> None:
    """An upgrade is one transaction on both engines: stopped between two statements (a kill,
    an error), it leaves nothing of itself — SQLite's driver would otherwise have committed
    each CREATE INDEX by itself, and the next `init` stopped at "index already exists"."""
    from alembic import command
    from alembic.operations import Operations

    from shuyaku.db.engine import make_engine
    from shuyaku.db.migrate import alembic_config, upgrade
    from shuyaku.db.schema import REVISION

    engine = make_engine(database_url)
    command.upgrade(alembic_config(engine), "0008")
    create_index = Operations.create_index
    made: list[str] = []

    def stops_at_the_second(self: Operations, name: str, *args: object, **kwargs: object) -> object:
        if made:
            raise KeyboardInterrupt  # the process stopped here
        made.append(name)
        return create_index(self, name, *args, **kwargs)  # type: ignore[arg-type]

    Operations.create_index = stops_at_the_second  # type: ignore[method-assign]
    try:
        with pytest.raises(KeyboardInterrupt):
            upgrade(engine)
    finally:
        Operations.create_index = create_index  # type: ignore[method-assign]
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar_one() == "0008"
        assert made == ["ix_ingest_result_open_review"]
        assert "ix_ingest_result_open_review" not in {i["name"] for i in inspect(conn).get_indexes("ingest_result")}
    upgrade(engine)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar_one() == REVISION
        names = {index["name"] for index in inspect(conn).get_indexes("ingest_result")}
    assert {
        "ix_ingest_result_open_review",
        "ix_ingest_result_unreported_withdrawal",
        "ix_ingest_result_unreviewed",
    } <= names
    engine.dispose()


def test_the_upgrade_notes_the_changes_of_the_classes_already_kept(database_url: str) -> None:
    """Migration 0011 fills `income_class_change` from the classes a store holds, so the
    months to run again are the same before and after the upgrade: here July (run before a
    class reaching it was superseded) and not May (run after every change reaching it)."""
    from datetime import UTC

    from alembic import command

    from shuyaku.db.migrate import alembic_config, upgrade
    from shuyaku.db.schema import income_class, income_class_change, kogaku_run
    from shuyaku.kogaku.service import stale_months

    engine = make_engine(database_url)
    command.upgrade(alembic_config(engine), "0010")

    def at(day: int) -> datetime:
        return datetime(2026, 8, day, tzinfo=UTC)

    def kept(to: str | None, recorded: int, superseded: int | None) -> dict[str, Any]:
        return {
            "municipality_code": "112038",
            "setai_no": "2000000001",
            "applied_from_month": "202604",
            "applied_to_month": to,
            "class_under70": "03",
            "class_over70": None,
            "fiscal_year": "2026",
            "source_updated": "20260801000000",
            "file_id": recorded,
            "line_no": 2,
            "recorded_at": at(recorded),
            "superseded_at": None if superseded is None else at(superseded),
            "superseded_by_file_id": superseded,
        }

    def run(month: str, day: int) -> dict[str, Any]:
        return {
            "month": month,
            "cap_table": "2018-08",
            "run_at": at(day),
            "actor": "operator",
            "households": 1,
            "paid_households": 0,
            "payment_total": 0,
            "household_hits": 0,
            "unmatched_claims": 0,
            "unregistered": 0,
            "by_municipality": "{}",
        }

    with engine.begin() as conn:  # tables 0010 already has, as this version declares them
        conn.execute(income_class.insert(), [kept(None, 1, 5), kept("202606", 5, None)])
        conn.execute(kogaku_run.insert(), [run("202607", 3), run("202605", 3), run("202605", 9)])
    upgrade(engine)
    with engine.connect() as conn:
        noted = sorted(
            (r.changed_at.day, r.applied_from_month, r.applied_to_month or "")
            for r in conn.execute(select(income_class_change)).all()
        )
        assert noted == [(1, "202604", ""), (5, "202604", ""), (5, "202604", "202606")]
        assert stale_months(conn) == ["202607"]
    engine.dispose()


def test_the_upgrade_dates_when_each_record_kept_was_overtaken(database_url: str) -> None:
    """Migration 0013 fills ``overtaken_on`` of the records a store holds: the earliest 異動日
    of the key's current rows of a higher 履歴番号, a superseded row counting for nothing.
    Most rows here get a date, so the table's indexes are dropped and built again around the
    UPDATE (an empty store, as every other test's, keeps them)."""
    from alembic import command

    from shuyaku.db.migrate import alembic_config, upgrade
    from shuyaku.db.schema import qualification_period
    from shuyaku.qualification import periods

    engine = make_engine(database_url)
    command.upgrade(alembic_config(engine), "0012")
    with engine.begin() as conn:  # the table as 0012 has it: no overtaken_on
        conn.execute(
            qualification_period.insert(),
            [
                _period("112038", "1", 1, "S1", date(2026, 1, 1)),
                _period("112038", "1", 2, "S2", date(2026, 8, 15)),
                _period("112038", "1", 3, "S3", date(2026, 7, 1)),
                _period("112038", "1", 4, "S4", date(2026, 6, 1), superseded_at=datetime(2026, 9, 3)),
                _period("112046", "1", 1, "W1", date(2025, 4, 1)),
            ],
        )
    upgrade(engine)
    q = qualification_period.c
    with engine.connect() as conn:
        kept = conn.execute(select(q.setai_no, q.overtaken_on).order_by(q.municipality_code, q.history_no)).all()
        assert periods.overtaken_mismatches(conn) == 0
        indexes = {index["name"]: index["column_names"] for index in inspect(conn).get_indexes("qualification_period")}
        assert indexes == {
            "ix_qualification_period_municipality_code_atena_no_history_no": [
                "municipality_code",
                "atena_no",
                "history_no",
            ],
            "ix_qualification_period_pref_household_id": ["pref_household_id"],
            "ix_qualification_period_pref_person_id": ["pref_person_id"],
        }
        if engine.dialect.name == "postgresql":  # each 異動's rewrite of the record before it stays on its page
            options = conn.exec_driver_sql("SELECT reloptions FROM pg_class WHERE relname = 'qualification_period'")
            assert options.scalar_one() == ["fillfactor=90"]
    assert [tuple(r) for r in kept] == [
        ("S1", date(2026, 7, 1)),
        ("S2", date(2026, 7, 1)),
        ("S3", None),
        ("S4", None),
        ("W1", None),
    ]
    engine.dispose()
