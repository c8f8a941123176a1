"""初期移行モード's rebuild against a file transaction still writing (ingest.initial)."""

from __future__ import annotations

import threading
import time

from sqlalchemy import inspect
from sqlalchemy.exc import OperationalError

from shuyaku.db.deferred import deferred_indexes, loading_since
from shuyaku.db.locks import write_lock
from shuyaku.ingest import initial
from tests.conftest import OPERATOR


def test_the_rebuild_outlasts_a_deadlock_with_a_file_still_writing(ctx) -> None:  # type: ignore[no-untyped-def]
    """The rebuild locks person_key, then waits for a file transaction holding
    qualification_period; that file then wants person_key. PostgreSQL ends one of the two
    as a deadlock: the rebuild, if it is the one, runs again and finishes. (SQLite has one
    writer: the rebuild waits for the file's commit.)"""
    assert initial.begin(ctx, OPERATOR, ctx.clock()) is True
    postgres = ctx.engine.dialect.name == "postgresql"
    finished: list[object] = []
    with ctx.engine.connect() as file_tx:
        file_tx.begin()
        if postgres:
            file_tx.exec_driver_sql("LOCK TABLE qualification_period IN ROW EXCLUSIVE MODE")
        else:
            write_lock(file_tx, "a file")
        rebuild = threading.Thread(target=lambda: finished.append(_finish(ctx)))
        rebuild.start()
        time.sleep(0.5)  # the rebuild has person_key and household_key, and waits (before its 1 s deadlock check)
        try:
            if postgres:
                file_tx.exec_driver_sql("LOCK TABLE person_key IN ROW EXCLUSIVE MODE")
            file_tx.commit()
        except OperationalError:  # this side was the one ended: the file is run again later
            file_tx.rollback()
        rebuild.join(timeout=60)
    assert finished == [True]
    with ctx.engine.connect() as conn:
        assert loading_since(conn) is None
    found = inspect(ctx.engine)
    names = {
        ix["name"]
        for table in ("person_key", "household_key", "qualification_period")
        for ix in found.get_indexes(table)
    }
    assert {index.name for index in deferred_indexes()} <= names


def _finish(ctx) -> object:  # type: ignore[no-untyped-def]
    try:
        return initial.finish(ctx, OPERATOR)
    except Exception as exc:  # noqa: BLE001 — the test reports what the thread raised
        return exc
