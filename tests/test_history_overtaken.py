"""The earliest 異動日 above each record (``db.history.earliest_after``), against a count
by hand over random histories: any dates from year 1 to 9999, ties, keys of one row."""

from __future__ import annotations

import random
from datetime import date, timedelta

import polars as pl

from shuyaku.db.history import earliest_after


def test_each_row_gets_the_earliest_day_of_its_keys_later_rows() -> None:
    rng = random.Random(7)
    first, span = date(1, 1, 1), (date(9999, 12, 31) - date(1, 1, 1)).days
    for _ in range(200):
        days: dict[tuple[str, int], date] = {}
        for _ in range(rng.randint(1, 60)):
            key, history = f"{rng.randint(0, 9):02d}", rng.randint(1, 40)
            pick = rng.choice([rng.randint(0, span), rng.randint(700_000, 740_000), 719_162])  # 1970-01-01 too
            days[(key, history)] = first + timedelta(days=pick)
        rows = pl.DataFrame(
            {"k": [k for k, _ in days], "h": [h for _, h in days], "d": list(days.values())},
            schema={"k": pl.String, "h": pl.Int64, "d": pl.Date},
        ).sort("k", "h", descending=[False, True])
        found = rows.with_columns(earliest_after("k", "d").alias("o"))
        for key, history, _, overtaken in found.iter_rows():
            later = [d for (k, h), d in days.items() if k == key and h > history]
            assert overtaken == (min(later) if later else None), (key, history)
