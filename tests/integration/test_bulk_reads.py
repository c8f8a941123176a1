"""The bulk paths to and from the store give the same values on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
from sqlalchemy import Boolean, Column, Date, DateTime, Integer, MetaData, String, Table, create_engine, select

from shuyaku.db.engine import bulk_insert, make_engine
from shuyaku.db.query import read_frame

SCHEMA = {"name": pl.String, "amount": pl.Int64, "day": pl.Date, "flag": pl.Boolean, "at": pl.Datetime("us")}


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
    with engine.connect() as conn:
        everything = read_frame(conn, select(t.name, t.amount, t.day, t.flag, t.at).order_by(t.row_id), SCHEMA)
        some = read_frame(
            conn,
            select(t.name, t.amount, t.day, t.flag, t.at).where(t.amount.in_([3, -4]), t.day >= date(2026, 2, 1)),
            SCHEMA,
        )
        none = read_frame(conn, select(t.name, t.amount, t.day, t.flag, t.at).where(t.amount == 99), SCHEMA)
    engine.dispose()
    assert everything.equals(rows)
    assert sorted(some["amount"].to_list()) == [-4, 3]
    assert none.height == 0 and none.schema == pl.Schema(SCHEMA)


def test_read_frame_keeps_an_empty_text_apart_from_null(database_url: str) -> None:
    engine = create_engine(database_url)
    meta = MetaData()
    table = Table("empty_probe", meta, Column("row_id", Integer, primary_key=True), Column("note", String))
    meta.create_all(engine)
    with engine.begin() as conn:
        conn.execute(table.insert(), [{"note": ""}, {"note": None}, {"note": "x"}])
    with engine.connect() as conn:
        notes = read_frame(conn, select(table.c.note).order_by(table.c.row_id), {"note": pl.String})
    engine.dispose()
    assert notes["note"].to_list() == ["", None, "x"]
