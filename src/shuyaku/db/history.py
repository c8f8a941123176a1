"""Bitemporal history tables: apply add / correct / delete records without losing history.

A history row is current while ``superseded_at`` is NULL. A correction (処理区分 2) sets
``superseded_at`` on the current row of the key and inserts the after-image; a deletion
(処理区分 3) only sets ``superseded_at``. Nothing is ever updated otherwise or deleted, so
"as known at time T" is ``recorded_at <= T < coalesce(superseded_at, ∞)``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property

import polars as pl
from sqlalchemy import ColumnElement, Connection, Table, bindparam

from shuyaku.db.engine import bulk_insert
from shuyaku.db.query import Lookup, update_pairs, update_rows
from shuyaku.problems import PROBLEM_SCHEMA, problems_for

MONTHS_NARROWED = 120  # a file naming more months reads every month of its keys


@dataclass(frozen=True)
class HistoryTable:
    """A bitemporal table and its record key (besides 市町村コード)."""

    table: Table
    key_column: str  # the column a file's records are looked up by: atena_no, setai_no
    key_label: str  # the whole key as staff say it, for messages: 宛名番号・履歴番号
    extra_keys: tuple[str, ...] = ("history_no",)
    last_key_label: str = "履歴番号"  # the item an add of a received key is reported on
    # A key item that is a month (診療年月): the table keeps every month, a file names a
    # few, so only those are read (the key's index ends with it).
    month_key: str | None = None
    # (異動日 column, the column that keeps the earliest 異動日 of the key's current rows of
    # a higher 履歴番号): kept by ``apply_in_rounds`` whenever a key's current rows change.
    overtaken: tuple[str, str] | None = None

    @property
    def keys(self) -> list[str]:
        return [self.key_column, *self.extra_keys]

    def current_keys(self, conn: Connection, municipality_code: str, records: pl.DataFrame) -> pl.DataFrame:
        """The current rows (row_id and key) of the keys of ``records`` (one file's)."""
        keys = records[self.key_column].unique().to_list()
        if self.month_key is not None:
            months = records[self.month_key].unique().to_list()
            # A file naming more months than a statement should bind (a valid 診療年月 is any
            # YYYYMM) is looked up as before the narrowing: every month of its keys.
            if len(months) <= MONTHS_NARROWED:
                return self._current_keys_of_months(conn, keys, municipality=municipality_code, months=months)
        return self._current_keys(conn, keys, municipality=municipality_code)

    @cached_property
    def _current_keys(self) -> Lookup:
        return self._lookup()

    @cached_property
    def _current_keys_of_months(self) -> Lookup:
        return self._lookup(self.table.c[str(self.month_key)].in_(bindparam("months", expanding=True)))

    def _lookup(self, *narrower: ColumnElement[bool]) -> Lookup:
        t = self.table
        kinds = {int: pl.Int64, date: pl.Date}
        columns = ["row_id", *self.keys, *(self.overtaken or ())]
        schema = {name: kinds.get(t.c[name].type.python_type, pl.String) for name in columns}
        return Lookup(
            [t.c[name] for name in columns],
            t.c[self.key_column],
            t.c.municipality_code == bindparam("municipality"),
            t.c.superseded_at.is_(None),
            *narrower,
            schema=schema,
        )

    def supersede(self, conn: Connection, row_ids: list[int], now: datetime, file_id: int) -> None:
        update_rows(conn, self.table.c.row_id, row_ids, superseded_at=now, superseded_by_file_id=file_id)

    def overtake(self, conn: Connection, current: pl.DataFrame, gone: list[int], inserts: pl.DataFrame) -> pl.DataFrame:
        """A round's change of its keys' current rows (``current`` less ``gone``, plus
        ``inserts``): each row's earliest 異動日 among the key's rows of a higher 履歴番号 —
        set on the rows kept where it changed, and returned as a column of ``inserts``."""
        assert self.overtaken is not None
        day, later = self.overtaken
        key, order = self.key_column, self.extra_keys[-1]
        kept = current.filter(~pl.col("row_id").is_in(gone)) if gone else current
        rows = pl.concat(
            [
                kept.select(key, order, day, "row_id", pl.col(later).alias("_was")),
                inserts.select(
                    key, order, day, pl.lit(None, pl.Int64).alias("row_id"), pl.lit(None, pl.Date).alias("_was")
                ),
            ],
            how="vertical_relaxed",
        ).sort(key, order, descending=[False, True])
        rows = rows.with_columns(earliest_after(key, day).alias(later))
        changed = rows.filter(pl.col("row_id").is_not_null() & pl.col(later).ne_missing(pl.col("_was")))
        update_pairs(conn, self.table.c.row_id, self.table.c[later], list(changed.select("row_id", later).iter_rows()))
        return inserts.join(
            rows.filter(pl.col("row_id").is_null()).select(key, order, later), on=[key, order], how="left"
        )


def earliest_after(key: str, day: str) -> pl.Expr:
    """Over rows sorted by ``key`` and, within a key, newest first: the earliest ``day`` of the
    key's rows above each row (null for the first row of a key). One running minimum over
    all rows, not a window per key (which cost ten times this on a file's rows): each key's
    days are lifted above every later key's, so the minimum never carries a day from one
    key into the next. Days are dates (any from year 1 to 9999: 3.7 M days apart at most)."""
    lift = (pl.len() - pl.col(key).rle_id()).cast(pl.Int64) * 10_000_000
    lifted = lift + pl.col(day).cast(pl.Int32).cast(pl.Int64)
    return (
        pl.when(pl.col(key).is_first_distinct())
        .then(None)
        .otherwise(lifted.cum_min().shift(1) - lift)
        .cast(pl.Int32)
        .cast(pl.Date)
    )


@dataclass(frozen=True)
class Batch:
    """One inbound file's valid records, typed, and where they come from: what every
    feature's intake receives (``ingest`` builds it once per file)."""

    records: pl.DataFrame
    prefecture: str
    municipality_code: str
    full_load: bool  # データ区分 1: an add of a key already received is its after-image
    file_id: int
    now: datetime

    def replace(self, records: pl.DataFrame) -> Batch:
        """The same file's batch with other records (those left after a check)."""
        return dataclasses.replace(self, records=records)

    def stamp(self, frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
        """Rows about to be inserted (``columns`` of ``frame``), marked with the file and
        moment that brought them."""
        kept = [name for name in columns if name not in ("file_id", "recorded_at")]
        return frame.select(*kept, pl.lit(self.file_id).alias("file_id"), pl.lit(self.now).alias("recorded_at"))


def apply_in_rounds(
    conn: Connection,
    history: HistoryTable,
    batch: Batch,
    before_insert: Callable[[pl.DataFrame], pl.DataFrame] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Apply typed records (``op``, key, ``history_no``, ``line_no``, data) in file order.

    A key that occurs several times in one file is applied occurrence by occurrence
    ("rounds"), so an add followed by a correction of the same key works as written.
    Returns (applied records, problems). In a full file an add of a key already received is
    taken as its after-image (a correction). ``before_insert`` adds what the rows need
    besides the record (prefecture IDs); every row is stamped with the file and moment.
    """
    records, municipality_code, file_id, now = batch.records, batch.municipality_code, batch.file_id, batch.now
    ordered = records.sort("line_no").with_columns(pl.int_range(pl.len()).over(history.keys).alias("_round"))
    applied_parts: list[pl.DataFrame] = []
    problems: list[pl.DataFrame] = [pl.DataFrame(schema=PROBLEM_SCHEMA)]
    rounds = int(ordered["_round"].max()) + 1 if ordered.height else 0  # type: ignore[arg-type]
    for round_no in range(rounds):
        part = ordered.filter(pl.col("_round") == round_no).drop("_round")
        current = history.current_keys(conn, municipality_code, part)
        joined = part.join(current.select("row_id", *history.keys), on=history.keys, how="left")
        exists = pl.col("row_id").is_not_null()
        if batch.full_load:
            joined = joined.with_columns(
                pl.when((pl.col("op") == "1") & exists).then(pl.lit("2")).otherwise(pl.col("op")).alias("op")
            )
        duplicate_add = joined.filter((pl.col("op") == "1") & exists)
        unknown_key = joined.filter(pl.col("op").is_in(["2", "3"]) & ~exists)
        problems.append(
            problems_for(
                duplicate_add,
                "E011",
                history.last_key_label,
                f"{history.last_key_label}: この{history.key_label}は受信済みです。訂正は処理区分 2、新しいレコードは新しい{history.last_key_label}で送ってください",
            )
        )
        problems.append(
            problems_for(
                unknown_key,
                "E030",
                "処理区分",
                f"処理区分: 未受信の{history.key_label}に対する訂正・削除です。先に処理区分 1(追加)で送ってください",
            )
        )
        ok = joined.filter(~(((pl.col("op") == "1") & exists) | (pl.col("op").is_in(["2", "3"]) & ~exists)))
        gone = ok.filter(pl.col("op").is_in(["2", "3"]))["row_id"].to_list()
        history.supersede(conn, gone, now, file_id)
        inserts = ok.filter(pl.col("op").is_in(["1", "2"])).drop("row_id")
        if history.overtaken is not None and (gone or inserts.height):
            inserts = history.overtake(conn, current, gone, inserts)
        if inserts.height:
            ready = before_insert(inserts) if before_insert else inserts
            columns = [c.name for c in history.table.columns if c.name in ready.columns and c.name != "row_id"]
            bulk_insert(conn, history.table, batch.stamp(ready, columns))
        applied_parts.append(ok.drop("row_id"))
    applied = pl.concat(applied_parts, how="diagonal_relaxed") if applied_parts else records.clear()
    return applied, pl.concat(problems, how="vertical")
