"""Households as qualification knows them: keys and the SKSE history.

A 世帯番号 of a municipality gets its 県世帯ID on first sight (``ensure_households``), from
an SKKS, SKSE or KGGT record alike; SKSE (資格情報(世帯)) records go into the household
history. 世帯の継続性 across moves is ``household``'s, one floor up.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import polars as pl
from sqlalchemy import Connection, bindparam

from shuyaku import ids
from shuyaku.db.engine import bulk_insert
from shuyaku.db.history import Batch, HistoryTable, apply_in_rounds
from shuyaku.db.query import Lookup, insert_new_ids
from shuyaku.db.schema import household, household_key, household_record


def ensure_households(
    conn: Connection, prefecture: str, municipality_code: str, setai_nos: list[str], file_id: int, now: datetime
) -> pl.DataFrame:
    """setai_no → pref_household_id for every 世帯番号 given, numbering the new ones."""
    wanted = list(dict.fromkeys(setai_nos))
    known = _BY_SETAI_NO(conn, wanted, municipality=municipality_code)
    missing = sorted(set(wanted) - set(known["setai_no"].to_list()))
    if not missing:
        return known
    numbered = insert_new_ids(
        conn, household, prefecture, ids.HOUSEHOLD_KIND, len(missing), created_at=now, created_file_id=file_id
    )
    fresh = pl.DataFrame({"setai_no": missing, "pref_household_id": numbered}, schema=known.schema)
    bulk_insert(
        conn,
        household_key,
        fresh.select(
            pl.lit(municipality_code).alias("municipality_code"),
            "setai_no",
            "pref_household_id",
            pl.lit(now).alias("bound_at"),
            pl.lit(file_id).alias("file_id"),
        ),
    )
    return pl.concat([known, fresh])


HOUSEHOLD_HISTORY = HistoryTable(household_record, "setai_no", "世帯番号・履歴番号")


def apply_household_records(conn: Connection, batch: Batch) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Apply typed SKSE records. Returns (applied records, problems)."""

    return apply_in_rounds(conn, HOUSEHOLD_HISTORY, batch, with_household_ids(conn, batch))


def with_household_ids(conn: Connection, batch: Batch) -> Callable[[pl.DataFrame], pl.DataFrame]:
    """A ``before_insert`` that joins each row's 県世帯ID (numbering a 世帯番号 seen first)."""

    def join(rows: pl.DataFrame) -> pl.DataFrame:
        keys = ensure_households(
            conn, batch.prefecture, batch.municipality_code, rows["setai_no"].to_list(), batch.file_id, batch.now
        )
        return rows.join(keys, on="setai_no", how="left")

    return join


def household_ids(conn: Connection, municipality_code: str, setai_nos: list[str]) -> pl.DataFrame:
    """setai_no → pref_household_id of the 世帯番号 already known (none is numbered)."""
    return _BY_SETAI_NO(conn, setai_nos, municipality=municipality_code)


def keys_of(conn: Connection, households: list[str]) -> pl.DataFrame:
    """pref_household_id → municipality_code, setai_no of the households given (those known)."""
    return _KEYS_OF(conn, households)


_BY_SETAI_NO = Lookup(
    [household_key.c.setai_no, household_key.c.pref_household_id],
    household_key.c.setai_no,
    household_key.c.municipality_code == bindparam("municipality"),
)
_KEYS_OF = Lookup(
    [household_key.c.pref_household_id, household_key.c.municipality_code, household_key.c.setai_no],
    household_key.c.pref_household_id,
)
