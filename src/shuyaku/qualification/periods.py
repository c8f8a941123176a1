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
from sqlalchemy.dialects.postgresql import distinct_on

from shuyaku.db.engine import is_postgres
from shuyaku.db.query import Lookup, read_bulk
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
# The items of the record in force that the 高額療養費 month reads. Its span chooses it in
# SQL and is not sent: a month reads a row for every insured person of the prefecture. The
# prefecture IDs come as their numbers: the month joins and groups on them (text costs twice).
IN_FORCE_SCHEMA = {
    "municipality_code": pl.String,
    "atena_no": pl.String,
    "pref_person_id": pl.Int64,
    "pref_household_id": pl.Int64,
    "setai_no": pl.String,
    "birth_date": pl.Date,
}
_SPAN = ("applied_from", "applied_to", "qualified_until")
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
    (``IN_FORCE_SCHEMA``). The choice is made in SQL, so only the records in force leave
    the database: the newest current row of each 宛名番号 whose 異動日 is before ``end``,
    kept when its span covers the month. A bulk read (``read_bulk``): it sees what
    ``conn``'s transaction sees, not what it has written and not yet committed."""
    q = qualification_period.c
    columns = [*(q[name] for name in IN_FORCE_SCHEMA), *(q[name] for name in _SPAN)]
    known_by_then = (q.superseded_at.is_(None), q.change_date < end)
    if is_postgres(conn):
        # DISTINCT ON over the key's index read backwards: no sort at all (a row_number()
        # window sorted each 宛名番号's rows by 履歴番号 again: 1.8 s against 1.1 s at 1.4 M).
        newest = (
            select(*columns)
            .where(*known_by_then)
            .ext(distinct_on(q.municipality_code, q.atena_no))
            .order_by(q.municipality_code.desc(), q.atena_no.desc(), q.history_no.desc())
        )
    else:
        latest = func.row_number().over(partition_by=[q.municipality_code, q.atena_no], order_by=q.history_no.desc())
        ranked = select(*columns, latest.label("nth")).where(*known_by_then).subquery()
        newest = select(*(ranked.c[c.name] for c in columns)).where(ranked.c.nth == 1)
    r = newest.subquery().c
    chosen = select(*(r[name] for name in IN_FORCE_SCHEMA)).where(
        r.applied_from < end,
        or_(r.applied_to.is_(None), r.applied_to >= first),
        or_(r.qualified_until.is_(None), r.qualified_until > first),
    )
    return read_bulk(conn, chosen, IN_FORCE_SCHEMA)
