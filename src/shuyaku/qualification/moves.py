"""In-prefecture moves: the 適用 periods of one person in two municipalities must touch.

The prefecture-level qualification continues across a move, so the old municipality's
適用終了日 + 1 day must be the new one's 適用開始日: an overlap is E101, a gap E102. Both
are applied and raised for review (結果区分 1). The check runs on every file that changes a
person known in more than one municipality, so the order in which the 転出 and the 転入
arrive does not matter: it speaks up when the second of the two arrives.
"""

from __future__ import annotations

import polars as pl
from sqlalchemy import Connection

from shuyaku.db.query import fetch_in
from shuyaku.db.schema import person_key, qualification_period
from shuyaku.problems import PROBLEM_SCHEMA, WARNING

PERIOD_SCHEMA = {
    "municipality_code": pl.String,
    "atena_no": pl.String,
    "history_no": pl.Int64,
    "pref_person_id": pl.String,
    "applied_from": pl.Date,
    "applied_to": pl.Date,
    "qualified_until": pl.Date,
    "file_id": pl.Int64,
    "line_no": pl.Int64,
}


def persons_of(conn: Connection, municipality_code: str, atenas: list[str]) -> list[str]:
    k = person_key.c
    found = fetch_in(conn, [k.pref_person_id], k.atena_no, atenas, k.municipality_code == municipality_code)
    return found["pref_person_id"].to_list()


def movers_among(conn: Connection, persons: list[str]) -> list[str]:
    """The persons known in more than one municipality."""
    k = person_key.c
    keys = fetch_in(conn, [k.pref_person_id, k.municipality_code], k.pref_person_id, persons)
    counted = keys.group_by("pref_person_id").agg(pl.col("municipality_code").n_unique().alias("n"))
    return counted.filter(pl.col("n") > 1)["pref_person_id"].to_list()


def period_problems(conn: Connection, movers: list[str], file_id: int) -> pl.DataFrame:
    """E101 / E102 for the records of this file that meet another municipality's period."""
    q = qualification_period.c
    if not movers:
        return pl.DataFrame(schema=PROBLEM_SCHEMA)
    periods = fetch_in(
        conn,
        [
            q.municipality_code,
            q.atena_no,
            q.history_no,
            q.pref_person_id,
            q.applied_from,
            q.applied_to,
            q.qualified_until,
            q.file_id,
            q.line_no,
        ],
        q.pref_person_id,
        movers,
        q.superseded_at.is_(None),
        schema=PERIOD_SCHEMA,
    )
    # A municipality's period is its latest record (highest 履歴番号) for the person.
    latest = periods.sort("history_no").group_by("pref_person_id", "municipality_code").last()
    pairs = (
        latest.sort("pref_person_id", "applied_from")
        .with_columns(
            pl.col(c).shift(-1).over("pref_person_id").alias("next_" + c)
            for c in ("municipality_code", "applied_from", "file_id", "line_no")
        )
        .filter(
            pl.col("next_applied_from").is_not_null()
            & pl.col("applied_to").is_not_null()
            & pl.col("qualified_until").is_null()
            & ((pl.col("file_id") == file_id) | (pl.col("next_file_id") == file_id))
        )
    )
    day_after = pl.col("applied_to") + pl.duration(days=1)
    overlap = pl.col("next_applied_from") < day_after
    gap = pl.col("next_applied_from") > day_after
    found = pairs.filter(overlap | gap).with_columns(
        pl.when(pl.col("file_id") == file_id)
        .then(pl.col("line_no"))
        .otherwise(pl.col("next_line_no"))
        .alias("line_no"),
        pl.when(overlap).then(pl.lit("E101")).otherwise(pl.lit("E102")).alias("code"),
        pl.lit(WARNING).alias("result"),
        pl.when(pl.col("file_id") == file_id)
        .then(pl.lit("適用終了年月日"))
        .otherwise(pl.lit("適用開始年月日"))
        .alias("field"),
        (
            pl.when(overlap)
            .then(pl.lit("県内の適用期間が重複しています: "))
            .otherwise(pl.lit("県内転居で適用期間に空白があります: "))
            + pl.lit("市町村 ")
            + pl.col("municipality_code")
            + pl.lit(" の適用終了 ")
            + pl.col("applied_to").dt.strftime("%Y%m%d")
            + pl.lit("、市町村 ")
            + pl.col("next_municipality_code")
            + pl.lit(" の適用開始 ")
            + pl.col("next_applied_from").dt.strftime("%Y%m%d")
            + pl.lit("(適用終了日の翌日が転入先の適用開始日になるよう確認してください)")
        ).alias("message"),
    )
    return found.select(list(PROBLEM_SCHEMA)).cast(PROBLEM_SCHEMA)  # type: ignore[arg-type]
