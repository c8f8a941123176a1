"""Orphan checks: the references that the schema does not enforce with foreign keys."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Connection, func, select

from shuyaku.db.schema import (
    continuity_candidate,
    hit_report,
    household,
    household_key,
    household_record,
    id_assignment,
    inbound_file,
    ingest_result,
    person,
    person_key,
    qualification_period,
    tasuukai_count,
    vault_entry,
)

REFERENCES: list[tuple[str, ColumnElement[str], ColumnElement[str]]] = [
    ("vault_entry.pref_person_id", vault_entry.c.pref_person_id, person.c.pref_person_id),
    ("person_key.pref_person_id", person_key.c.pref_person_id, person.c.pref_person_id),
    ("household_key.pref_household_id", household_key.c.pref_household_id, household.c.pref_household_id),
    ("qualification_period.pref_person_id", qualification_period.c.pref_person_id, person.c.pref_person_id),
    ("qualification_period.pref_household_id", qualification_period.c.pref_household_id, household.c.pref_household_id),
    ("qualification_period.file_id", qualification_period.c.file_id, inbound_file.c.file_id),
    ("household_record.pref_household_id", household_record.c.pref_household_id, household.c.pref_household_id),
    ("household_record.file_id", household_record.c.file_id, inbound_file.c.file_id),
    ("id_assignment.pref_person_id", id_assignment.c.pref_person_id, person.c.pref_person_id),
    ("id_assignment.file_id", id_assignment.c.file_id, inbound_file.c.file_id),
    ("ingest_result.file_id", ingest_result.c.file_id, inbound_file.c.file_id),
    ("hit_report.pref_household_id", hit_report.c.pref_household_id, household.c.pref_household_id),
    ("hit_report.file_id", hit_report.c.file_id, inbound_file.c.file_id),
    ("continuity_candidate.from_household", continuity_candidate.c.from_household, household.c.pref_household_id),
    ("continuity_candidate.to_household", continuity_candidate.c.to_household, household.c.pref_household_id),
    ("continuity_candidate.file_id", continuity_candidate.c.file_id, inbound_file.c.file_id),
    ("tasuukai_count.pref_household_id", tasuukai_count.c.pref_household_id, household.c.pref_household_id),
]


def orphans(conn: Connection) -> dict[str, int]:
    """Reference → number of rows whose target does not exist (all zero when sound)."""
    found = {}
    for name, child, parent in REFERENCES:
        missing = (
            select(func.count())
            .select_from(child.table)
            .where(child.is_not(None), ~select(parent).where(parent == child).exists())
        )
        found[name] = int(conn.execute(missing).scalar_one())
    return found
