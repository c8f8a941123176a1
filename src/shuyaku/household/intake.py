"""SKSE (資格情報(世帯)) records into the household history."""

from __future__ import annotations

from datetime import datetime

import polars as pl
from sqlalchemy import Connection

from shuyaku.db.schema import household_record
from shuyaku.exchange.history import HistoryTable, apply_in_rounds
from shuyaku.household.store import ensure_households

HOUSEHOLD_HISTORY = HistoryTable(household_record, "setai_no", "世帯番号・履歴番号")


def apply_household_records(
    conn: Connection,
    records: pl.DataFrame,
    *,
    prefecture: str,
    municipality_code: str,
    full_load: bool,
    file_id: int,
    now: datetime,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    def before_insert(batch: pl.DataFrame) -> pl.DataFrame:
        keys = ensure_households(conn, prefecture, municipality_code, batch["setai_no"].to_list(), file_id, now)
        return batch.join(keys, on="setai_no", how="left").with_columns(
            pl.lit(file_id).alias("file_id"), pl.lit(now).alias("recorded_at")
        )

    return apply_in_rounds(
        conn,
        HOUSEHOLD_HISTORY,
        records,
        municipality_code=municipality_code,
        full_load=full_load,
        file_id=file_id,
        now=now,
        before_insert=before_insert,
    )
