from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select

from shuyaku.context import Context
from shuyaku.db.schema import (
    household,
    household_record,
    id_assignment,
    inbound_file,
    ingest_result,
    person,
    person_key,
    qualification_period,
    vault_entry,
)
from shuyaku.ingest.inbound import IngestOutcome, ingest_bytes
from shuyaku.ingest.judge import judge_households
from tests.conftest import OPERATOR

STATE_TABLES = (person, vault_entry, person_key, household, household_record, qualification_period, id_assignment)


def ingest(ctx: Context, raw: bytes, name: str = "test.csv") -> IngestOutcome:
    """One file, then 世帯の継続性 judged for what it queued: as one run of one file."""
    outcome = ingest_bytes(ctx, OPERATOR, raw, name)
    judge_households(ctx, OPERATOR)
    return outcome


def counts(ctx: Context) -> dict[str, int]:
    with ctx.engine.connect() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in STATE_TABLES}


def rows(ctx: Context, table: Any, *where: Any) -> list[Any]:
    with ctx.engine.connect() as conn:
        return list(conn.execute(select(table).where(*where)).all())


def results(ctx: Context, file_id: int) -> list[tuple[int, str, str]]:
    return [(r.line_no, r.code, r.result) for r in rows(ctx, ingest_result, ingest_result.c.file_id == file_id)]


def file_row(ctx: Context, file_id: int) -> Any:
    return rows(ctx, inbound_file, inbound_file.c.file_id == file_id)[0]


def person_id(ctx: Context, muni: str, atena: str) -> str:
    found = rows(ctx, person_key, person_key.c.municipality_code == muni, person_key.c.atena_no == atena)
    return str(found[0].pref_person_id)


class AtOnce:
    """Actions started in threads of their own, for a test of two at once; what any of them
    raised is kept in ``failures`` for the test to assert on (an exception in a thread would
    otherwise only be printed)."""

    def __init__(self) -> None:
        self.failures: list[BaseException] = []
        self._threads: list[threading.Thread] = []

    def start(self, action: Callable[[], object], name: str | None = None) -> None:
        def run() -> None:
            try:
                action()
            except BaseException as exc:  # noqa: BLE001 — reported by the test's assertion
                self.failures.append(exc)

        thread = threading.Thread(target=run, name=name)
        thread.start()
        self._threads.append(thread)

    def join(self, timeout: float = 90) -> None:
        for thread in self._threads:
            thread.join(timeout)


def recount_changes(ctx: Context) -> int:
    """How many stored 多数回 counts a recount of every household of every stored month would
    change (0: what was recounted after each change is exactly what a whole recount gives).
    Rolled back: nothing is kept."""
    from datetime import UTC, datetime

    from shuyaku.db.schema import tasuukai_count
    from shuyaku.kogaku import tasuukai

    with ctx.engine.connect() as conn:
        transaction = conn.begin()
        months = conn.execute(select(tasuukai_count.c.month).distinct()).scalars().all()
        changed = sum(tasuukai.store(conn, month, datetime.now(UTC)).changed for month in months)
        transaction.rollback()
    return changed
