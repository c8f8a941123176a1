"""RECE (claim units) and SKBN (household income classes) into their history tables."""

from __future__ import annotations

from datetime import datetime

import polars as pl
from sqlalchemy import Connection

from shuyaku.db.schema import claim_unit, income_class
from shuyaku.exchange.history import HistoryTable, apply_in_rounds

CLAIMS = HistoryTable(claim_unit, "atena_no", "宛名番号・診療年月・医療機関・入外区分・明細番号",
                      extra_keys=("month", "institution", "setting_code", "detail_no"), last_key_label="明細番号")
INCOME_CLASSES = HistoryTable(income_class, "setai_no", "世帯番号・適用開始年月",
                              extra_keys=("applied_from_month",), last_key_label="適用開始年月")


def _apply(history: HistoryTable, conn: Connection, records: pl.DataFrame, municipality_code: str, full_load: bool,
           file_id: int, now: datetime) -> tuple[pl.DataFrame, pl.DataFrame]:
    def before_insert(batch: pl.DataFrame) -> pl.DataFrame:
        return batch.with_columns(pl.lit(file_id).alias("file_id"), pl.lit(now).alias("recorded_at"))

    return apply_in_rounds(conn, history, records, municipality_code=municipality_code, full_load=full_load,
                           file_id=file_id, now=now, before_insert=before_insert)


def apply_claims(conn: Connection, records: pl.DataFrame, *, municipality_code: str, full_load: bool, file_id: int,
                 now: datetime) -> tuple[pl.DataFrame, pl.DataFrame]:
    return _apply(CLAIMS, conn, records, municipality_code, full_load, file_id, now)


def apply_income_classes(conn: Connection, records: pl.DataFrame, *, municipality_code: str, full_load: bool, file_id: int,
                         now: datetime) -> tuple[pl.DataFrame, pl.DataFrame]:
    return _apply(INCOME_CLASSES, conn, records, municipality_code, full_load, file_id, now)
