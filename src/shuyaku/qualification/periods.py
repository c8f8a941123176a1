"""Qualification periods as other features read them: the one home of "the record in force".

A person's 履歴 rows per (市町村, 宛名番号) are current while ``superseded_at`` is NULL. The
record in force for a span of days is the current row with the highest 履歴番号 among those
whose 異動日 falls before the span ends, provided it covers the span (適用開始 before its end,
適用終了 and 資格喪失 not before its start). 世帯の継続性 and 高額療養費 read them here, never
the table.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import polars as pl
from sqlalchemy import Connection, func, or_, select

from shuyaku.db.query import Lookup, read_frame
from shuyaku.db.schema import qualification_period

# The items of a current record that continuity judges a household change on.
CURRENT_SCHEMA = {
    "pref_person_id": pl.String,
    "municipality_code": pl.String,
    "atena_no": pl.String,
    "history_no": pl.Int64,
    "change_date": pl.Date,
    "pref_household_id": pl.String,
    "is_head": pl.Boolean,
    "applied_from": pl.Date,
    "applied_to": pl.Date,
    "qualified_until": pl.Date,
    "qualified_until_reason": pl.String,
}
# The items of the record in force that the 高額療養費 month reads.
IN_FORCE_SCHEMA = {
    "municipality_code": pl.String,
    "atena_no": pl.String,
    "history_no": pl.Int64,
    "pref_person_id": pl.String,
    "pref_household_id": pl.String,
    "setai_no": pl.String,
    "birth_date": pl.Date,
    "applied_from": pl.Date,
    "applied_to": pl.Date,
    "qualified_until": pl.Date,
}
_CURRENT_RECORDS = Lookup.of(
    qualification_period, CURRENT_SCHEMA, "pref_person_id", qualification_period.c.superseded_at.is_(None)
)
_MEMBERS_OF = Lookup(
    [qualification_period.c.pref_household_id, qualification_period.c.pref_person_id],
    qualification_period.c.pref_household_id,
    qualification_period.c.superseded_at.is_(None),
)


def current_records(conn: Connection, persons: Iterable[str]) -> pl.DataFrame:
    """Every current 履歴 row of the persons (``CURRENT_SCHEMA``), in every municipality."""
    return _CURRENT_RECORDS(conn, list(persons))


def members_of(conn: Connection, households: Iterable[str]) -> pl.DataFrame:
    """(pref_household_id, pref_person_id): the persons that any current row places in each
    of the households."""
    return _MEMBERS_OF(conn, list(households)).unique()


def in_force(conn: Connection, first: date, end: date) -> pl.DataFrame:
    """The record in force over [first, end) of every (市町村, 宛名番号) covered by it
    (``IN_FORCE_SCHEMA``). The choice is made in SQL (a window over each 宛名番号's current
    rows), so only the records in force leave the database."""
    q = qualification_period.c
    latest = func.row_number().over(partition_by=[q.municipality_code, q.atena_no], order_by=q.history_no.desc())
    ranked = (
        select(*(q[name] for name in IN_FORCE_SCHEMA), latest.label("nth"))
        .where(q.superseded_at.is_(None), q.change_date < end)
        .subquery()
    )
    r = ranked.c
    chosen = select(*(r[name] for name in IN_FORCE_SCHEMA)).where(
        r.nth == 1,
        r.applied_from < end,
        or_(r.applied_to.is_(None), r.applied_to >= first),
        or_(r.qualified_until.is_(None), r.qualified_until > first),
    )
    return read_frame(conn, chosen, IN_FORCE_SCHEMA)
