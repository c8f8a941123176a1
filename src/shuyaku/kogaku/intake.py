"""RECE (claim units), SKBN (household income classes) and KGGT (hit months) into their history tables."""

from __future__ import annotations

import polars as pl
from sqlalchemy import BindParameter, Connection, bindparam, or_

from shuyaku.db.engine import bulk_insert
from shuyaku.db.history import Batch, HistoryTable, apply_in_rounds
from shuyaku.db.query import Lookup
from shuyaku.db.schema import claim_unit, hit_report, income_class, income_class_change
from shuyaku.kogaku import crosscheck, tasuukai
from shuyaku.problems import PROBLEM_SCHEMA, WARNING
from shuyaku.qualification.households import household_ids, with_household_ids

CLAIMS = HistoryTable(
    claim_unit,
    "atena_no",
    "宛名番号・診療年月・医療機関・入外区分・明細番号",
    extra_keys=("month", "institution", "setting_code", "detail_no"),
    last_key_label="明細番号",
    month_key="month",
)
INCOME_CLASSES = HistoryTable(
    income_class,
    "setai_no",
    "世帯番号・適用開始年月",
    extra_keys=("applied_from_month",),
    last_key_label="適用開始年月",
)


def apply_claims(conn: Connection, batch: Batch) -> tuple[pl.DataFrame, pl.DataFrame]:
    return apply_in_rounds(conn, CLAIMS, batch)


def apply_income_classes(conn: Connection, batch: Batch) -> tuple[pl.DataFrame, pl.DataFrame]:
    """SKBN; then the spans of months the file changed (its own rows and those it
    superseded) are noted, for the months that must be run again (``stale_months``)."""
    applied, problems = apply_in_rounds(conn, INCOME_CLASSES, batch)
    if applied.height:
        households = applied["setai_no"].unique().to_list()
        spans = _CHANGED_SPANS(conn, households, municipality=batch.municipality_code, file_id=batch.file_id)
        if spans.height:
            bulk_insert(conn, income_class_change, spans.unique().with_columns(pl.lit(batch.now).alias("changed_at")))
    return applied, problems


_FILE: BindParameter[int] = bindparam("file_id")
_CHANGED_SPANS = Lookup(
    [income_class.c.applied_from_month, income_class.c.applied_to_month],
    income_class.c.setai_no,
    income_class.c.municipality_code == bindparam("municipality"),
    or_(income_class.c.file_id == _FILE, income_class.c.superseded_by_file_id == _FILE),
)


HIT_REPORTS = HistoryTable(
    hit_report, "setai_no", "世帯番号・診療年月", extra_keys=("month",), last_key_label="診療年月", month_key="month"
)


def apply_hit_reports(conn: Connection, batch: Batch) -> tuple[pl.DataFrame, pl.DataFrame]:
    """KGGT: hit months into ``hit_report``; then every stored 多数回 count they reach is
    recomputed, and the municipality's own 多数回 flag is compared with the federation's
    count (W301, applied and reported)."""

    applied, problems = apply_in_rounds(conn, HIT_REPORTS, batch, with_household_ids(conn, batch))
    if applied.height == 0:
        return applied, problems
    months = applied["month"].unique().to_list()
    named = household_ids(conn, batch.municipality_code, applied["setai_no"].unique().to_list())
    touched = tasuukai.touched_by_kggt(conn, batch.municipality_code, named["pref_household_id"].to_list(), months)
    tasuukai.recount(conn, min(months), batch.now, touched)
    return applied, pl.concat(
        [problems, _flag_mismatches(conn, applied, named), _crosscheck(conn, applied, batch)],
        how="vertical",
    )


def _crosscheck(conn: Connection, applied: pl.DataFrame, batch: Batch) -> pl.DataFrame:
    """W302/W303 for the months of this KGGT that `kogaku run` has calculated: a W303 on the
    line of this file that has it; a W302 (a hit the file lacks) on line 0, naming the
    household (県世帯ID) and the month."""
    months = crosscheck.calculated_months(conn, [str(m) for m in applied["month"].unique().to_list()])
    found = crosscheck.disagreements(conn, months, batch.municipality_code)
    found = found.filter((pl.col("code") == crosscheck.W302) | (pl.col("file_id") == batch.file_id))
    return found.select(
        pl.col("line_no").fill_null(0),
        "code",
        pl.lit(WARNING).alias("result"),
        pl.lit("該当区分").alias("field"),
        crosscheck.message().alias("message"),
    ).cast(PROBLEM_SCHEMA)  # type: ignore[arg-type]


def _flag_mismatches(conn: Connection, applied: pl.DataFrame, keys: pl.DataFrame) -> pl.DataFrame:
    """W301 where the municipality's 多数回 flag differs from the count (``keys``: the file's
    世帯番号 → 県世帯ID)."""
    current = applied.filter(pl.col("op") != "3")
    if current.height == 0:
        return pl.DataFrame(schema=PROBLEM_SCHEMA)
    current = current.join(keys, on="setai_no", how="left")
    parts = []
    for (month,), part in current.group_by("month"):
        found = tasuukai.counts(conn, str(month), part["pref_household_id"].to_list())
        parts.append(
            part.join(
                found.select(pl.col("household").alias("pref_household_id"), "hit_count", "months"),
                on="pref_household_id",
                how="left",
            )
        )
    checked = pl.concat(parts).with_columns(pl.col("hit_count").fill_null(0), pl.col("months").fill_null(""))
    ours = pl.col("hit_count") >= tasuukai.THRESHOLD
    mismatched = checked.filter(ours != (pl.col("municipal_tasuukai") == "1"))
    return mismatched.select(
        "line_no",
        pl.lit("W301").alias("code"),
        pl.lit(WARNING).alias("result"),
        pl.lit("多数回該当").alias("field"),
        (
            pl.lit("多数回該当: 市町村の判定 ")
            + pl.col("municipal_tasuukai")
            + pl.lit("、連合会の判定 ")
            + pl.when(ours).then(pl.lit("1")).otherwise(pl.lit("0"))
            + pl.lit("(直近12か月の該当 ")
            + pl.col("hit_count").cast(pl.String)
            + pl.lit(" か月")
            + pl.when(pl.col("months") != "").then(pl.lit(": ") + pl.col("months")).otherwise(pl.lit(""))
            + pl.lit(")。`shuyaku tasuukai explain` で内訳を確認してください")
        ).alias("message"),
    ).cast(PROBLEM_SCHEMA)  # type: ignore[arg-type]
