"""A file's valid records into the features, and what they set off.

SKKS → qualification (persons, keys, periods, IDTB, E101/E102) → the persons whose
household may have changed, queued for 世帯の継続性 (judged at the end of the run:
``ingest.judge``). SKSE → qualification's household history. RECE, SKBN, KGGT → kogaku (a
KGGT recounts what its months reach and compares the municipality's 多数回 flag). All in
the file's transaction.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl
from sqlalchemy import Connection

from shuyaku.context import Context
from shuyaku.db.history import Batch
from shuyaku.household import continuity
from shuyaku.kogaku.intake import apply_claims, apply_hit_reports, apply_income_classes
from shuyaku.qualification.households import apply_household_records
from shuyaku.qualification.intake import apply_person_records

Intake = Callable[[Connection, Batch], tuple[pl.DataFrame, pl.DataFrame]]
INTAKES: dict[str, Intake] = {
    "SKSE": apply_household_records,
    "RECE": apply_claims,
    "SKBN": apply_income_classes,
    "KGGT": apply_hit_reports,
}


def apply_records(ctx: Context, conn: Connection, kind: str, batch: Batch) -> pl.DataFrame:
    """Apply one file's valid records of ``kind``; returns the problems found on the way."""
    if kind != "SKKS":
        return INTAKES[kind](conn, batch)[1]
    persons = apply_person_records(conn, ctx.vault, batch)
    continuity.queue(conn, persons.household_changes, batch.file_id, batch.now)
    return persons.problems
