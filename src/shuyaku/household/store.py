"""Household keys: (市町村コード, 世帯番号) → 県世帯ID, created on first sight."""

from __future__ import annotations

from datetime import datetime

import polars as pl
from sqlalchemy import Connection

from shuyaku import ids
from shuyaku.db.engine import bulk_insert
from shuyaku.db.query import fetch_in, unused_pref_ids
from shuyaku.db.schema import household, household_key


def ensure_households(
    conn: Connection, prefecture: str, municipality_code: str, setai_nos: list[str], file_id: int, now: datetime
) -> pl.DataFrame:
    """setai_no → pref_household_id for every 世帯番号 given, numbering the new ones."""
    wanted = list(dict.fromkeys(setai_nos))
    known = fetch_in(
        conn,
        [household_key.c.setai_no, household_key.c.pref_household_id],
        household_key.c.setai_no,
        wanted,
        household_key.c.municipality_code == municipality_code,
    )
    missing = sorted(set(wanted) - set(known["setai_no"].to_list()))
    if not missing:
        return known
    fresh = pl.DataFrame(
        {
            "setai_no": missing,
            "pref_household_id": unused_pref_ids(
                conn, household.c.pref_household_id, prefecture, ids.HOUSEHOLD_KIND, len(missing)
            ),
        }
    )
    bulk_insert(
        conn,
        household,
        fresh.select("pref_household_id", pl.lit(now).alias("created_at"), pl.lit(file_id).alias("created_file_id")),
    )
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
