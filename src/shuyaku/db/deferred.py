"""Indexes a prefecture's first load builds at its end (``ingest.initial``), and the marker
that says they are away."""

from __future__ import annotations

from sqlalchemy import Column, Connection, Index, select

from shuyaku.db.schema import household_key, person_key, qualification_period, setting

MARKER = "initial_load_since"  # setting row present while the indexes are away
DEFERRED: tuple[Column[object], ...] = (
    person_key.c.pref_person_id,
    household_key.c.pref_household_id,
    qualification_period.c.pref_person_id,
    qualification_period.c.pref_household_id,
)


def deferred_indexes() -> list[Index]:
    """The indexes a first load builds at its end (one single-column index per DEFERRED)."""
    found = [
        index
        for column in DEFERRED
        for index in column.table.indexes
        if [c.name for c in index.columns] == [column.name]
    ]
    assert len(found) == len(DEFERRED), "schema.py lost one of the deferred indexes"
    return found


def loading_since(conn: Connection) -> str | None:
    """When the unfinished initial load began (ISO, UTC), or None."""
    return conn.execute(select(setting.c.value).where(setting.c.key == MARKER)).scalar()
