"""`shuyaku ingest`: files and folders in, each sender's files in 連番 order.

The entry point the CLI and the web call; one file's path is ``inbound``, spreading senders
over worker processes is ``parallel``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from shuyaku.access.actor import Actor
from shuyaku.audit import trail
from shuyaku.audit.guard import guarded, require
from shuyaku.context import Context
from shuyaku.db.engine import write_run
from shuyaku.errors import InvalidRequest, NotFoundError
from shuyaku.exchange import ledger
from shuyaku.exchange.containment import safe_filename
from shuyaku.exchange.ledger import FileStatus, list_files
from shuyaku.ingest import initial as initial_load
from shuyaku.ingest.inbound import IngestOutcome, ingest_bytes, ingest_from_inbox, release_ready
from shuyaku.ingest.judge import judge_households
from shuyaku.ingest.order import expand
from shuyaku.ingest.parallel import ingest_in_workers
from shuyaku.polars_pool import run_in_pool


def ingest_paths(
    ctx: Context,
    actor: Actor,
    paths: Iterable[Path],
    *,
    remove_source: bool = False,
    progress: Callable[[Path, IngestOutcome], None] | None = None,
    jobs: int = 1,
    initial: bool = False,
) -> list[IngestOutcome]:
    """Ingest files and folders (``*.csv`` inside), each sender's files in 連番 order.

    ``jobs`` > 1 spreads senders over worker processes (PostgreSQL only; SQLite has one
    writer, so it always runs in this process). Held files whose gap is already filled (a
    run that was killed between a file and the release of its successor) are released
    first. A file that cannot be read is that file's refusal, never the run's end.

    ``initial``: the prefecture's first load in 初期移行モード (``ingest.initial``): the
    random-ID look-up indexes are built once at the end instead of row by row. Without it,
    an initial load left unfinished by a crash gets its indexes back before anything else.

    At the end, 世帯の継続性 is judged for every person the run's files queued, and any an
    earlier run left queued (``ingest.judge``)."""
    require(ctx, actor, "ingest", target="受信フォルダ")  # before releasing anything on the caller's behalf
    with write_run(ctx.engine):
        if initial:
            initial_load.begin(ctx, actor, ctx.clock())
        else:
            initial_load.finish(ctx, actor)
        release_ready(ctx)
        files = expand(paths)
        outcomes = _ingest_files(ctx, actor, files, remove_source, progress, jobs)
        if initial:
            initial_load.finish(ctx, actor)
        run_in_pool(partial(judge_households, ctx, actor))  # after the indexes are back: it reads persons by ID
    return outcomes


def _ingest_files(
    ctx: Context,
    actor: Actor,
    files: list[Path],
    remove_source: bool,
    progress: Callable[[Path, IngestOutcome], None] | None,
    jobs: int,
) -> list[IngestOutcome]:
    if jobs > 1 and ctx.engine.dialect.name == "postgresql":
        return ingest_in_workers(ctx, actor, files, jobs, remove_source=remove_source, progress=progress)
    outcomes = []
    for path in files:
        outcome = run_in_pool(partial(ingest_from_inbox, ctx, actor, path, remove_source=remove_source))
        if outcome is None:
            continue  # another run of the same inbox took it
        outcomes.append(outcome)
        if progress:
            progress(path, outcome)
    return outcomes


def inbox(
    ctx: Context,
    actor: Actor,
    *,
    status: str | None = None,
    municipality_code: str | None = None,
    limit: int = 50,
    before: int | None = None,
) -> list[Any]:
    """受信ファイル台帳, newest first: the municipality's files, or every file the actor may see."""
    if status is not None and status not in {s.value for s in FileStatus}:
        raise InvalidRequest(f"--status は {' / '.join(FileStatus)} のいずれかです(指定: {status})")
    with guarded(ctx, actor, "inbox.read", municipality_code) as access, ctx.reading() as conn:
        files = list_files(conn, status=status, scope=access.scope, limit=limit, before=before)
        access.done(rows=len(files), target=f"{municipality_code or trail.scope_of(actor)} status={status or 'all'}")
    return files


def receive(ctx: Context, actor: Actor, raw: bytes, filename: str) -> IngestOutcome:
    """One file sent over the API: exactly the inbox path (``ingest_bytes``), then the
    judgement of the persons it queued, as at a run's end. The same bytes sent again answer
    with the file they already are (no second ledger row), so a municipal system may retry
    an upload whose answer it never saw."""
    with ctx.engine.connect() as conn:
        earlier = ledger.earlier_copy(conn, hashlib.sha256(raw).hexdigest())
    if earlier is not None and earlier.municipality_code and actor.sees(earlier.municipality_code):
        with guarded(ctx, actor, "ingest", earlier.municipality_code) as access:
            access.done(action="ingest.resend", target=f"受付番号 {earlier.file_id} {safe_filename(filename)}")
        return IngestOutcome.of_row(earlier)
    outcome = run_in_pool(partial(ingest_bytes, ctx, actor, raw, filename))
    scope = outcome.municipality_code if actor.municipalities is not None else None
    run_in_pool(partial(judge_households, ctx, actor, scope))
    return outcome


@dataclass(frozen=True)
class FileDetail:
    file: Any  # the ledger row
    results: list[Any]  # its KKKK rows (``ledger.results_of``)


def file_detail(ctx: Context, actor: Actor, file_id: int) -> FileDetail:
    """A received file's status with its problems. Another municipality's file, or one whose
    sender could not be read, does not exist for a municipality's user (the attempt is logged)."""
    missing = f"受付番号 {file_id} のファイルはありません"
    with ctx.reading() as conn:
        row = ledger.file_row(conn, file_id)
    if row is None or (row.municipality_code is None and actor.municipalities is not None):
        raise NotFoundError(missing)
    with (
        guarded(
            ctx, actor, "inbox.read", row.municipality_code, target=f"受付番号 {file_id}", conceal=missing
        ) as access,
        ctx.reading() as conn,
    ):
        results = ledger.results_of(conn, file_id)
        access.done(rows=len(results))
    return FileDetail(row, results)
