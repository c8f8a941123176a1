"""In-prefecture moves: the 適用 periods of one person in two municipalities must touch.

The prefecture-level qualification continues across a move, so the old municipality's
適用終了日 + 1 day must be the new one's 適用開始日: an overlap is E101, a gap E102; and the
new municipality's 資格取得日 must be the one already known (E103). All are applied and
raised for review (結果区分 1). The check runs on every file that changes a person known in
more than one municipality, so the order in which the 転出 and the 転入 arrive does not
matter: it speaks up when the second of the two arrives.

A review item is judged again whenever the person's periods change: one whose cause is gone
(the missing middle period of a person who moved A → C → B arrived after B's) is withdrawn,
and the municipality it was raised to reads so in its next KKKK.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy import Connection, select, update

from shuyaku.db.query import SQLITE_CHUNK, Lookup
from shuyaku.db.schema import inbound_file, ingest_result, open_review_codes, person_key, qualification_period
from shuyaku.problems import PROBLEM_SCHEMA, WARNING

PERIOD_SCHEMA = {
    "municipality_code": pl.String,
    "atena_no": pl.String,
    "history_no": pl.Int64,
    "pref_person_id": pl.String,
    "applied_from": pl.Date,
    "applied_to": pl.Date,
    "qualified_from": pl.Date,
    "qualified_until": pl.Date,
    "file_id": pl.Int64,
    "line_no": pl.Int64,
}
_PERIODS = Lookup.of(
    qualification_period, PERIOD_SCHEMA, "pref_person_id", qualification_period.c.superseded_at.is_(None)
)


def _pairs(conn: Connection, movers: list[str]) -> pl.DataFrame:
    """Each person's consecutive municipalities (by 適用開始日) where the first one's period
    ended by a move (適用終了 set, 資格 not lost): the pairs a move must join."""
    periods = _PERIODS(conn, movers)
    # A municipality's period is its latest record (highest 履歴番号) for the person.
    latest = periods.sort("history_no").group_by("pref_person_id", "municipality_code").last()
    return (
        latest.sort("pref_person_id", "applied_from")
        .with_columns(
            pl.col(c).shift(-1).over("pref_person_id").alias("next_" + c)
            for c in ("municipality_code", "applied_from", "qualified_from", "file_id", "line_no")
        )
        .filter(
            pl.col("next_applied_from").is_not_null()
            & pl.col("applied_to").is_not_null()
            & pl.col("qualified_until").is_null()
        )
    )


def _judged(pairs: pl.DataFrame) -> pl.DataFrame:
    """Every problem of the pairs, with its code (E101/E102/E103) and message."""
    if pairs.is_empty():  # most files' movers: no move between two of their periods
        return pairs.with_columns(code=pl.lit(None, pl.String), message=pl.lit(None, pl.String))
    day_after = pl.col("applied_to") + pl.duration(days=1)
    overlap = pl.col("next_applied_from") < day_after
    gap = pl.col("next_applied_from") > day_after
    periods = pairs.filter(overlap | gap).with_columns(
        pl.when(overlap).then(pl.lit("E101")).otherwise(pl.lit("E102")).alias("code"),
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
    acquired = pairs.filter(pl.col("next_qualified_from") != pl.col("qualified_from")).with_columns(
        pl.lit("E103").alias("code"),
        (
            pl.lit("県内転居で資格取得年月日が異なります: 市町村 ")
            + pl.col("municipality_code")
            + pl.lit(" では ")
            + pl.col("qualified_from").dt.strftime("%Y%m%d")
            + pl.lit("、市町村 ")
            + pl.col("next_municipality_code")
            + pl.lit(" では ")
            + pl.col("next_qualified_from").dt.strftime("%Y%m%d")
            + pl.lit("(資格は県内の転居で継続します。転入前の資格取得日を送ってください)")
        ).alias("message"),
    )
    return pl.concat([periods, acquired])


def review(conn: Connection, movers: list[str], file_id: int, now: datetime) -> pl.DataFrame:
    """The review of this file's moves: earlier open items of these persons judged again
    (withdrawn when their cause is gone), then E101 / E102 / E103 for the records of this
    file that meet another municipality's period. One read of the persons' periods."""
    if not movers:
        return pl.DataFrame(schema=PROBLEM_SCHEMA)
    judged = _judged(_pairs(conn, movers))
    _withdraw_resolved(conn, set(movers), judged, now)
    if judged.is_empty():
        return pl.DataFrame(schema=PROBLEM_SCHEMA)
    ours = pl.col("file_id") == file_id
    found = judged.filter(ours | (pl.col("next_file_id") == file_id)).with_columns(
        pl.when(ours).then(pl.col("line_no")).otherwise(pl.col("next_line_no")).alias("line_no"),
        pl.when(pl.col("code") == "E103")
        .then(pl.lit("資格取得年月日"))
        .when(ours)
        .then(pl.lit("適用終了年月日"))
        .otherwise(pl.lit("適用開始年月日"))
        .alias("field"),
        pl.lit(WARNING).alias("result"),
    )
    return found.select(list(PROBLEM_SCHEMA)).cast(PROBLEM_SCHEMA)  # type: ignore[arg-type]


def open_review_items() -> Any:
    """The open review items' result IDs (their partial index)."""
    r = ingest_result.c
    return select(r.result_id).where(open_review_codes(), r.withdrawn_at.is_(None), r.result == WARNING)


def _with_persons(result_ids: list[int]) -> Any:
    """Those review items with their municipality and person."""
    r, f, k = ingest_result.c, inbound_file.c, person_key.c
    return (
        select(r.result_id, r.code, f.municipality_code, k.pref_person_id)
        .join(inbound_file, f.file_id == r.file_id)
        .join(person_key, (k.municipality_code == f.municipality_code) & (k.atena_no == r.record_key))
        .where(r.result_id.in_(result_ids), r.withdrawn_at.is_(None))  # still open: another file may have withdrawn it
    )


def _withdraw_resolved(conn: Connection, movers: set[str], judged: pl.DataFrame, now: datetime) -> None:
    """Withdraw the open review items of these persons with no problem of the same code left
    between the item's municipality and another. Open items are few (they wait for a
    person), so they are read whole through their partial index and matched here, never by
    a list of persons in SQL. Most of the time there is none: then that one look-up is all
    (joined in the same statement, PostgreSQL guessed thousands and started parallel workers
    to find none — 10 ms a file)."""
    r = ingest_result.c
    open_ids = list(conn.execute(open_review_items()).scalars())
    open_items = [
        item
        for start in range(0, len(open_ids), SQLITE_CHUNK)
        for item in conn.execute(_with_persons(open_ids[start : start + SQLITE_CHUNK])).all()
        if item.pref_person_id in movers
    ]
    standing = set(judged.select("pref_person_id", "code", "municipality_code").iter_rows()) | set(
        judged.select("pref_person_id", "code", "next_municipality_code").iter_rows()
    )
    gone = [i.result_id for i in open_items if (i.pref_person_id, i.code, i.municipality_code) not in standing]
    for start in range(0, len(gone), SQLITE_CHUNK):
        conn.execute(
            update(ingest_result)
            .where(r.result_id.in_(gone[start : start + SQLITE_CHUNK]), r.withdrawn_at.is_(None))
            .values(withdrawn_at=now)
        )
