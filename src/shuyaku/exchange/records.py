"""From validated string columns to typed record frames."""

from __future__ import annotations

import polars as pl

from shuyaku.exchange.layouts import Layout
from shuyaku.exchange.validate import as_date


def typed(layout: Layout, records: pl.DataFrame) -> pl.DataFrame:
    """Dates become dates, 履歴番号 an integer, flags booleans; empty optional items NULL."""
    exprs = []
    for f in layout.fields:
        col = pl.col(f.column)
        if f.kind == "date":
            exprs.append(as_date(f.column).alias(f.column))
        elif f.column == "history_no" or f.kind == "yen":
            exprs.append(col.cast(pl.Int64).alias(f.column))
        elif f.column == "is_head":
            exprs.append((col == "1").alias(f.column))
        elif not f.required:
            exprs.append(pl.when(col == "").then(None).otherwise(col).alias(f.column))
    return records.with_columns(exprs)
