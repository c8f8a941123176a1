"""Problem rows: what is wrong with which record, as KKKK and the ledger report it.

One row per problem — ``line_no``, ``code`` (files.md), ``result`` (9 error / 1 warning),
``field`` and a Japanese ``message``. Every layer that judges records (validation, identity,
history, the features' intakes) speaks in these rows, so they sit below all of them.
"""

from __future__ import annotations

import polars as pl

ERROR = "9"
WARNING = "1"

PROBLEM_SCHEMA = {
    "line_no": pl.Int64,
    "code": pl.String,
    "result": pl.String,
    "field": pl.String,
    "message": pl.String,
}


def problems_for(frame: pl.DataFrame, code: str, field: str, message: str | pl.Expr) -> pl.DataFrame:
    if frame.height == 0:  # the usual case, and no operation to run for it
        return pl.DataFrame(schema=PROBLEM_SCHEMA)
    msg = pl.lit(message) if isinstance(message, str) else message
    return frame.select(
        pl.col("line_no").cast(pl.Int64),
        pl.lit(code, pl.String).alias("code"),
        pl.lit(ERROR, pl.String).alias("result"),
        pl.lit(field, pl.String).alias("field"),
        msg.cast(pl.String).alias("message"),
    )


def summarise(problems: pl.DataFrame) -> pl.DataFrame:
    """One row per record: an error outranks a warning; the first problem names the code."""
    if problems.height == 0:
        return pl.DataFrame(schema=PROBLEM_SCHEMA)
    ranked = problems.with_row_index("_seq").sort(
        [pl.col("line_no"), pl.col("result").replace_strict({ERROR: 0, WARNING: 1}, return_dtype=pl.Int8), "_seq"]
    )
    return (
        ranked.group_by("line_no", maintain_order=True)
        .agg(
            pl.col("code").first(),
            pl.col("result").first(),
            pl.col("field").first(),
            pl.col("message").unique(maintain_order=True).str.join("／"),
        )
        .select(list(PROBLEM_SCHEMA))
        .cast(PROBLEM_SCHEMA)  # type: ignore[arg-type]
    )
