"""Run a piece of Python work on one of Polars' own threads.

Every Polars operation called from an ordinary thread is handed to Polars' thread pool and
waited for: a wake-up of a pool thread and one of the caller. On a small frame — a daily
file of 150 records — that hand-off costs more than the operation: on the development
machine about 70 µs of CPU for a select that computes in 25 µs, and an ingest makes some
130 operations a file. Called from a thread of that pool, the same operation runs on the
spot. ``run_in_pool`` runs ``work`` there: it is the body of a one-row expression that
Polars evaluates on a pool thread, while the calling thread waits.

A work holds its pool thread until it is done, so: one work at a time in a process (a
second caller meanwhile runs its work on its own thread, as before); and only where a second
pool thread stays free for the process's other threads — or where the process has no other
thread that uses Polars (``alone``). Otherwise a work that waits on a lock held by a thread
that waits for the pool would wait for ever.

The calling thread takes signals only once the work is done: Ctrl-C during an ingest stops
it after the file in hand, whose transaction has committed or rolled back by then.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

import polars as pl

T = TypeVar("T")
_busy = threading.Lock()
_alone = False


def alone() -> None:
    """Declare that this process's only user of Polars is the thread that calls
    ``run_in_pool`` (an ingest worker process): a work may then hold a pool of one thread."""
    global _alone
    _alone = True


def run_in_pool(work: Callable[[], T]) -> T:
    """``work()``, on a Polars pool thread where that is safe (see the module), else on this
    one; its result, or its exception raised here."""
    if not _busy.acquire(blocking=False):
        return work()
    try:
        if not _alone and pl.thread_pool_size() < 2:
            return work()
        outcome: list[T] = []
        failure: list[BaseException] = []

        def body(series: pl.Series) -> pl.Series:
            if not outcome and not failure:  # once, whatever Polars does with the expression
                try:
                    outcome.append(work())
                except BaseException as exc:  # noqa: BLE001 — raised again in the caller's thread
                    failure.append(exc)
            return series

        # Two expressions, which Polars evaluates side by side on its pool.
        pl.DataFrame({"x": [0]}).select(pl.col("x").map_batches(body, return_dtype=pl.Int64), pl.col("x").alias("y"))
        if failure:
            raise failure[0]
        if not outcome:
            raise RuntimeError("Polars did not evaluate the work's expression")
        return outcome[0]
    finally:
        _busy.release()
