"""Ingest with several worker processes (PostgreSQL): one sender's files stay in one worker.

Each sender's files are applied in 連番 order by one worker, as in a single process. Workers
draw prefecture IDs from disjoint residues, so they cannot number two people alike; what
can still collide (the same new individual number arriving for two municipalities at the
same moment, a deadlock) fails that file's transaction, which is simply run again.

This process is one of the ``jobs``: it starts ``jobs - 1`` workers and, while they start
(a new interpreter imports the whole program, ~0.6 s), works through the senders from the
end of the queue itself, until it meets one a worker has taken.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from functools import partial
from itertools import groupby
from pathlib import Path
from typing import Any

import polars as pl

from shuyaku import ids, polars_pool
from shuyaku.access.actor import Actor
from shuyaku.config import Settings
from shuyaku.context import Context, open_context
from shuyaku.ingest.inbound import IngestOutcome, ingest_from_inbox
from shuyaku.ingest.order import sender_of
from shuyaku.polars_pool import run_in_pool

_worker: dict[str, Any] = {}
Submitted = tuple[Future[list[tuple[Path, IngestOutcome]]], list[Path]]


def ingest_in_workers(
    ctx: Context,
    actor: Actor,
    files: list[Path],
    jobs: int,
    *,
    remove_source: bool,
    progress: Callable[[Path, IngestOutcome], None] | None,
) -> list[IngestOutcome]:
    """``files`` in ingest order (see ``order.expand``); outcomes in the same order."""
    groups = [list(group) for _, group in groupby(files, key=sender_of)]
    counter = multiprocessing.get_context("spawn").Value("i", 0)
    outcomes: dict[Path, IngestOutcome] = {}

    def report(done: list[tuple[Path, IngestOutcome]]) -> None:
        for path, outcome in done:
            outcomes[path] = outcome
            if progress:
                progress(path, outcome)

    with (
        _polars_threads(max(1, _cores() // jobs)),
        ProcessPoolExecutor(
            max_workers=jobs - 1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start,
            initargs=(ctx.settings, counter, jobs),
        ) as pool,
    ):
        submitted = [(pool.submit(_ingest_group, actor, group, remove_source), group) for group in groups]
        unreported = list(submitted)
        # The last slot of the ID partition is this process's; the workers count up from 0.
        with ids.id_partition(jobs - 1, jobs):
            for future, group in reversed(submitted):
                if not future.cancel():
                    break  # a worker has it, and every sender before it
                unreported.remove((future, group))
                report(_ingest_group(actor, group, remove_source, ctx))
                unreported = _report_finished(unreported, report)
        for future, _ in unreported:
            report(future.result())
    return [outcomes[path] for path in files if path in outcomes]


def _report_finished(
    pending: list[Submitted], report: Callable[[list[tuple[Path, IngestOutcome]]], None]
) -> list[Submitted]:
    """Report the workers' senders finished so far (so progress moves while this process
    works too); return the rest."""
    still = []
    for future, group in pending:
        if future.done() and not future.cancelled():
            report(future.result())
        else:
            still.append((future, group))
    return still


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@contextmanager
def _polars_threads(threads: int) -> Iterator[None]:
    """Workers started meanwhile use ``threads`` Polars threads each (their share of the
    cores; Polars would give each all of them) unless the operator set POLARS_MAX_THREADS.
    A spawned worker takes this process's environment. This process keeps its own pool
    (made now if it was not yet): its share of the senders runs on a pool thread
    (``polars_pool``), which wants a second thread free for anything else in the process."""
    pl.thread_pool_size()  # Polars makes its pool at its first use
    if "POLARS_MAX_THREADS" in os.environ:
        yield
        return
    os.environ["POLARS_MAX_THREADS"] = str(threads)
    try:
        yield
    finally:
        os.environ.pop("POLARS_MAX_THREADS", None)


def _start(settings: Settings, counter: Any, slots: int) -> None:
    with counter.get_lock():
        slot = counter.value
        counter.value += 1
    ids.set_id_partition(slot, slots)
    polars_pool.alone()  # this worker's one thread is its only user of Polars
    _worker["ctx"] = open_context(settings)


def _ingest_group(
    actor: Actor, group: list[Path], remove_source: bool, ctx: Context | None = None
) -> list[tuple[Path, IngestOutcome]]:
    """A sender's files in order, in a worker or (``ctx``) in this process; a file another
    run of the same inbox took meanwhile has no outcome here."""
    ctx = ctx or _worker["ctx"]
    outcomes = []
    for path in group:
        outcome = run_in_pool(partial(ingest_from_inbox, ctx, actor, path, remove_source=remove_source))
        if outcome is not None:
            outcomes.append((path, outcome))
    return outcomes
