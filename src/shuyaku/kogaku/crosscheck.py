"""The two sources of hit months, compared (kogaku.md, "Which source counts").

For a 診療月 that `kogaku run` has calculated and a municipality whose KGGT covers it:

- W302: our calculation finds a household-level hit that the municipality's KGGT lacks;
- W303: the KGGT has a hit (該当区分 1) that our calculation does not find.

The KGGT decides what counts either way; the warnings tell the municipality where the two
disagree, in the KKKK of the KGGT that revealed it, or in the 突合結果 (KGCK) a run sends.
"""

from __future__ import annotations

import polars as pl
from sqlalchemy import Connection, select

from shuyaku.db.query import rows_to_frame
from shuyaku.db.schema import hit_month, hit_report, household_key, kogaku_run
from shuyaku.exchange import codes

W302, W303 = "W302", "W303"
MESSAGES = {code: codes.MESSAGES[code] for code in (W302, W303)}
SCHEMA = {
    "municipality_code": pl.String,
    "setai_no": pl.String,
    "household": pl.String,
    "month": pl.String,
    "code": pl.String,
    "file_id": pl.Int64,  # W303: the KGGT line's file and line
    "line_no": pl.Int64,
}


def calculated_months(conn: Connection, months: list[str]) -> list[str]:
    """Those of ``months`` that `kogaku run` has calculated."""
    r = kogaku_run.c
    return sorted(set(conn.execute(select(r.month).where(r.month.in_(months)).distinct()).scalars()))


def disagreements(conn: Connection, months: list[str], municipality_code: str | None = None) -> pl.DataFrame:
    """W302 and W303 rows for ``months`` (calculated months), of one municipality or all."""
    if not months:
        return pl.DataFrame(schema=SCHEMA)
    h, k, r = hit_month.c, household_key.c, hit_report.c
    ours = select(h.pref_household_id, h.month, k.municipality_code, k.setai_no).join(
        household_key, k.pref_household_id == h.pref_household_id
    )
    ours = ours.where(h.source == "federation", h.kind == "1", h.superseded_at.is_(None), h.month.in_(months))
    theirs = select(r.pref_household_id, r.month, r.municipality_code, r.setai_no, r.file_id, r.line_no).where(
        r.kind == "1", r.superseded_at.is_(None), r.month.in_(months)
    )
    cover = select(r.municipality_code, r.month).where(r.month.in_(months)).distinct()
    if municipality_code is not None:
        ours = ours.where(k.municipality_code == municipality_code)
        theirs = theirs.where(r.municipality_code == municipality_code)
        cover = cover.where(r.municipality_code == municipality_code)
    text = {"household": pl.String, "month": pl.String, "municipality_code": pl.String, "setai_no": pl.String}
    calculated = rows_to_frame(conn.execute(ours).all(), list(text), text)
    reported = rows_to_frame(
        conn.execute(theirs).all(),
        [*text, "file_id", "line_no"],
        text | {"file_id": pl.Int64, "line_no": pl.Int64},
    )
    covered = rows_to_frame(
        conn.execute(cover).all(),
        ["municipality_code", "month"],
        {"municipality_code": pl.String, "month": pl.String},
    )
    missing_in_kggt = (
        calculated.join(covered, on=["municipality_code", "month"], how="semi")
        .join(reported, on=["household", "month"], how="anti")
        .with_columns(
            pl.lit(W302).alias("code"), pl.lit(None, pl.Int64).alias("file_id"), pl.lit(None, pl.Int64).alias("line_no")
        )
    )
    not_calculated = reported.join(calculated, on=["household", "month"], how="anti").with_columns(
        pl.lit(W303).alias("code")
    )
    return (
        pl.concat([missing_in_kggt.select(list(SCHEMA)), not_calculated.select(list(SCHEMA))])
        .cast(SCHEMA)  # type: ignore[arg-type]
        .sort("municipality_code", "month", "setai_no", "code")
    )


def message() -> pl.Expr:
    """The KKKK message of a W302/W303 row (columns code, household, month). It names the
    household by its 県世帯ID: a 世帯番号 outside its key item would be a 12-digit run the
    outbox guard refuses when it happens to pass the individual-number check digit."""
    return (
        pl.col("code")
        + pl.lit(": 県世帯ID ")
        + pl.col("household")
        + pl.lit(" の ")
        + pl.col("month")
        + pl.lit(": ")
        + pl.col("code").replace_strict(MESSAGES, return_dtype=pl.String)
        + pl.lit("。`shuyaku tasuukai explain` で内訳を確認してください")
    )
