"""SKKS (資格情報(個人)) records into persons, municipal keys and qualification history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import polars as pl
from sqlalchemy import Connection, bindparam

from shuyaku import ids
from shuyaku.db.engine import bulk_insert
from shuyaku.db.history import Batch, HistoryTable, apply_in_rounds
from shuyaku.db.query import Lookup, insert_new_ids
from shuyaku.db.schema import id_assignment, person, person_key, qualification_period
from shuyaku.qualification import identity, moves
from shuyaku.qualification.households import with_household_ids
from shuyaku.timeutil import jst_date
from shuyaku.vault.service import Vault

QUALIFICATION_HISTORY = HistoryTable(
    qualification_period, "atena_no", "宛名番号・履歴番号", overtaken=("change_date", "overtaken_on")
)
CANCELLED = "4"


@dataclass(frozen=True)
class PersonsApplied:
    applied: pl.DataFrame  # the records applied
    problems: pl.DataFrame
    household_changes: list[str]  # 県個人ID whose household may have changed: for continuity to judge


def apply_person_records(conn: Connection, vault: Vault, batch: Batch) -> PersonsApplied:
    """Apply typed SKKS records: identity, keys, periods, IDTB rows, E101/E102/E103 review
    (and the withdrawal of earlier review items whose cause is gone)."""
    records, municipality_code, file_id, now = batch.records, batch.municipality_code, batch.file_id, batch.now
    resolution = identity.resolve(conn, vault, municipality_code, records)
    resolved, problems = resolution.resolved, resolution.problems
    usable = records.join(resolved.select("atena_no"), on="atena_no", how="semi")
    usable = usable.join(problems.select("line_no"), on="line_no", how="anti").drop("individual_number")
    bound: set[str] = set(resolved.filter(pl.col("status") == identity.KNOWN)["atena_no"].to_list())
    numbered: list[pl.DataFrame] = [pl.DataFrame(schema={"atena_no": pl.String, "pref_person_id": pl.String})]
    households = with_household_ids(conn, batch)

    def with_ids(rows: pl.DataFrame) -> pl.DataFrame:
        to_bind = resolved.filter(
            pl.col("atena_no").is_in(rows["atena_no"].unique().to_list()) & ~pl.col("atena_no").is_in(list(bound))
        )
        numbered.append(_bind_persons(conn, vault, to_bind, batch.prefecture, municipality_code, file_id, now))
        bound.update(to_bind["atena_no"].to_list())
        persons = resolved.select("atena_no", "pref_person_id").update(pl.concat(numbered), on="atena_no", how="left")
        return households(rows.join(persons, on="atena_no", how="left"))

    applied, round_problems = apply_in_rounds(conn, QUALIFICATION_HISTORY, batch.replace(usable), with_ids)
    touched = applied["atena_no"].unique().to_list()
    current = _current_rows(conn, municipality_code, touched)
    newly_bound = pl.concat(numbered).join(
        resolved.select("atena_no", "status", "prev_municipality_code"), on="atena_no"
    )
    bindings = pl.concat(
        [
            resolution.bound_here.select("atena_no", "pref_person_id", "bind_kind", "prev_municipality_code"),
            newly_bound.select(
                "atena_no", "pref_person_id", pl.col("status").alias("bind_kind"), "prev_municipality_code"
            ),
        ]
    ).filter(pl.col("atena_no").is_in(touched))
    _record_id_changes(conn, municipality_code, touched, current, bindings.drop("pref_person_id"), file_id, now)
    persons = bindings["pref_person_id"].unique().to_list()
    movers = resolution.movers(persons)
    review = moves.review(conn, movers, file_id, now)
    # Only a person known in another municipality, or whose records here differ in household
    # or head flag or were interrupted by a loss of NHI, can be part of a household change.
    changes = sorted(set(movers) | set(_changed_households(current)))
    return PersonsApplied(applied, pl.concat([problems, round_problems, review], how="vertical"), changes)


CURRENT_ROW_SCHEMA = {
    "atena_no": pl.String,
    "pref_person_id": pl.String,
    "history_no": pl.Int64,
    "setai_no": pl.String,
    "pref_household_id": pl.String,
    "is_head": pl.Boolean,
    "qualified_until": pl.Date,
}


def _current_rows(conn: Connection, municipality_code: str, atenas: list[str]) -> pl.DataFrame:
    """The current 履歴 rows of the 宛名番号 after the file: what IDTB and the household
    check both read."""
    return _CURRENT_ROWS(conn, atenas, municipality=municipality_code)


_CURRENT_ROWS = Lookup.of(
    qualification_period,
    CURRENT_ROW_SCHEMA,
    "atena_no",
    qualification_period.c.municipality_code == bindparam("municipality"),
    qualification_period.c.superseded_at.is_(None),
)


def _changed_households(current: pl.DataFrame) -> list[str]:
    ended_before_last = pl.col("qualified_until").sort_by("history_no").head(pl.len() - 1).is_not_null().any()
    changed = current.group_by("pref_person_id").agg(
        (pl.col("setai_no").n_unique() > 1) | (pl.col("is_head").n_unique() > 1) | ended_before_last
    )
    return changed.filter(pl.col(changed.columns[1]))["pref_person_id"].to_list()


def _bind_persons(
    conn: Connection,
    vault: Vault,
    to_bind: pl.DataFrame,
    prefecture: str,
    municipality_code: str,
    file_id: int,
    now: datetime,
) -> pl.DataFrame:
    """Create persons (NEW) and municipal keys (NEW, CARRIED_OVER); return atena_no → pref_person_id."""
    if to_bind.height == 0:
        return to_bind.select("atena_no", "pref_person_id")
    new = to_bind.filter(pl.col("status") == identity.NEW)
    numbered = insert_new_ids(
        conn, person, prefecture, ids.PERSON_KIND, new.height, created_at=now, created_file_id=file_id
    )
    new = new.with_columns(pl.Series("pref_person_id", numbered, dtype=pl.String))
    vault.enrol(conn, new.select("pref_person_id", "blind_index"), new["individual_number"].to_list(), now)
    carried = to_bind.filter(pl.col("status") == identity.CARRIED_OVER)
    keys = pl.concat([new.drop("individual_number"), carried.drop("individual_number")], how="vertical_relaxed")
    bulk_insert(
        conn,
        person_key,
        keys.select(
            pl.lit(municipality_code).alias("municipality_code"),
            "atena_no",
            "pref_person_id",
            pl.col("status").alias("bind_kind"),
            "prev_municipality_code",
            pl.lit(now).alias("bound_at"),
            pl.lit(file_id).alias("file_id"),
        ),
    )
    return keys.select("atena_no", "pref_person_id")


def _record_id_changes(
    conn: Connection,
    municipality_code: str,
    atenas: list[str],
    rows: pl.DataFrame,
    binding: pl.DataFrame,
    file_id: int,
    now: datetime,
) -> None:
    """Append an IDTB row for every 宛名番号 whose (person, household) binding changed.

    The binding of a 宛名番号 is its current record (``rows``) with the highest 履歴番号. A
    宛名番号 left with no current record is reported as cancelled (付番区分 4). ``binding``
    is each 宛名番号's 付番区分 and former municipality (its person key).
    """
    if not atenas:
        return
    current = (
        rows.select("atena_no", "history_no", "pref_person_id", "setai_no", "pref_household_id")
        .sort("history_no")
        .group_by("atena_no")
        .last()
        .drop("history_no")
    )
    last = (
        _ASSIGNMENTS(conn, atenas, municipality=municipality_code)
        .sort("assignment_id")
        .group_by("atena_no")
        .last()
        .drop("assignment_id")
    )
    merged = (
        pl.DataFrame({"atena_no": list(dict.fromkeys(atenas))})
        .join(current, on="atena_no", how="left")
        .join(last.rename({c: "last_" + c for c in last.columns if c != "atena_no"}), on="atena_no", how="left")
        .join(binding, on="atena_no", how="left")
    )
    has_current = pl.col("pref_person_id").is_not_null()
    was_reported = pl.col("last_assign_kind").is_not_null() & (pl.col("last_assign_kind") != CANCELLED)
    changed = has_current & (
        ~was_reported
        | (pl.col("setai_no") != pl.col("last_setai_no"))
        | (pl.col("pref_household_id") != pl.col("last_pref_household_id"))
    )
    cancelled = ~has_current & was_reported
    rows = pl.concat(
        [
            merged.filter(changed).select(
                "atena_no",
                "pref_person_id",
                "setai_no",
                "pref_household_id",
                pl.col("bind_kind").alias("assign_kind"),
                "prev_municipality_code",
            ),
            merged.filter(cancelled).select(
                "atena_no",
                pl.col("last_pref_person_id").alias("pref_person_id"),
                pl.col("last_setai_no").alias("setai_no"),
                pl.col("last_pref_household_id").alias("pref_household_id"),
                pl.lit(CANCELLED).alias("assign_kind"),
                pl.lit(None, pl.String).alias("prev_municipality_code"),
            ),
        ]
    )
    bulk_insert(
        conn,
        id_assignment,
        rows.with_columns(
            pl.lit(municipality_code).alias("municipality_code"),
            pl.lit(jst_date(now)).alias("assigned_on"),
            pl.lit(file_id).alias("file_id"),
        ),
    )


_ASSIGNMENT_SCHEMA = {
    "assignment_id": pl.Int64,
    "atena_no": pl.String,
    "pref_person_id": pl.String,
    "setai_no": pl.String,
    "pref_household_id": pl.String,
    "assign_kind": pl.String,
}
_ASSIGNMENTS = Lookup.of(
    id_assignment, _ASSIGNMENT_SCHEMA, "atena_no", id_assignment.c.municipality_code == bindparam("municipality")
)
