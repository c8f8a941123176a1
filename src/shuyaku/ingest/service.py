"""`shuyaku ingest`: files and folders in, each sender's files in 連番 order.

The entry point the CLI and the web call; one file's path is ``inbound``, spreading senders
over worker processes is ``parallel``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from shuyaku.access.actor import Actor
from shuyaku.audit import trail
from shuyaku.audit.guard import guarded, require
from shuyaku.context import Context
from shuyaku.errors import InvalidRequest
from shuyaku.exchange.ledger import FileStatus, list_files
from shuyaku.ingest.inbound import IngestOutcome, ingest_with_retries, release_ready
from shuyaku.ingest.order import expand
from shuyaku.ingest.parallel import ingest_in_workers


def ingest_paths(
    ctx: Context,
    actor: Actor,
    paths: Iterable[Path],
    *,
    remove_source: bool = False,
    progress: Callable[[Path, IngestOutcome], None] | None = None,
    jobs: int = 1,
) -> list[IngestOutcome]:
    """Ingest files and folders (``*.csv`` inside), each sender's files in 連番 order.

    ``jobs`` > 1 spreads senders over worker processes (PostgreSQL only; SQLite has one
    writer, so it always runs in this process). Held files whose gap is already filled (a
    run that was killed between a file and the release of its successor) are released
    first. A file that cannot be read is that file's refusal, never the run's end."""
    require(ctx, actor, "ingest", target="受信フォルダ")  # before releasing anything on the caller's behalf
    release_ready(ctx)
    files = expand(paths)
    if jobs > 1 and ctx.engine.dialect.name == "postgresql":
        return ingest_in_workers(ctx.settings, actor, files, jobs, remove_source=remove_source, progress=progress)
    outcomes = []
    for path in files:
        outcome = ingest_with_retries(ctx, actor, path)
        if remove_source and outcome.ok:
            path.unlink()  # the encrypted archive copy is the one that stays
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
) -> list[Any]:
    """受信ファイル台帳, newest first: the municipality's files, or every file the actor may see."""
    if status is not None and status not in {s.value for s in FileStatus}:
        raise InvalidRequest(f"--status は {' / '.join(FileStatus)} のいずれかです(指定: {status})")
    with guarded(ctx, actor, "inbox.read", municipality_code) as access, ctx.engine.connect() as conn:
        files = list_files(conn, status=status, scope=access.scope, limit=limit)
        access.done(rows=len(files), target=f"{municipality_code or trail.scope_of(actor)} status={status or 'all'}")
    return files
