"""Ingest with several worker processes (PostgreSQL): one sender's files stay in one worker.

Each sender's files are applied in 連番 order by one worker, as in a single process. Workers
draw prefecture IDs from disjoint residues, so they cannot number two people alike; what
can still collide (the same new individual number arriving for two municipalities at the
same moment, a deadlock) fails that file's transaction, which is simply run again.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from itertools import groupby
from pathlib import Path
from typing import Any

from shuyaku import ids
from shuyaku.access.actor import Actor
from shuyaku.config import Settings
from shuyaku.context import open_context
from shuyaku.ingest.inbound import IngestOutcome, ingest_from_inbox
from shuyaku.ingest.order import sender_of

_worker: dict[str, Any] = {}


def ingest_in_workers(
    settings: Settings,
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
    with ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start,
        initargs=(settings, counter, jobs),
    ) as pool:
        futures = {pool.submit(_ingest_group, actor, group, remove_source): group for group in groups}
        for future in as_completed(futures):
            for path, outcome in zip(futures[future], future.result(), strict=True):
                outcomes[path] = outcome
                if progress:
                    progress(path, outcome)
    return [outcomes[path] for path in files]


def _start(settings: Settings, counter: Any, slots: int) -> None:
    with counter.get_lock():
        slot = counter.value
        counter.value += 1
    ids.set_id_partition(slot, slots)
    _worker["ctx"] = open_context(settings)


def _ingest_group(actor: Actor, group: list[Path], remove_source: bool) -> list[IngestOutcome]:
    ctx = _worker["ctx"]
    outcomes = []
    for path in group:
        outcome = ingest_from_inbox(ctx, actor, path, remove_source=remove_source)
        if outcome is not None:
            outcomes.append(outcome)
    return outcomes
