"""初期移行モード (``shuyaku ingest --initial``): a prefecture's first full load without
four look-up indexes, rebuilt once at the end.

Four indexes are keyed by a random prefecture ID — person_key and qualification_period by
県個人ID, household_key and qualification_period by 県世帯ID — so every new person and
household writes them at random pages. Into an empty prefecture that is most of what the
server does besides storing the rows; building each once after the load is sorting, not
random writes. The look-ups that use them during a load (movers, continuity) still work
without them, by reading the table: slower for those few statements, correct all the same.
The unique indexes (prefecture IDs, blind indexes) stay: they keep the data sound.

Crash-safe: the indexes are dropped and the marker row written in one transaction, and
rebuilt and the marker removed in one transaction. A load killed in between leaves the
marker; the next ``ingest --initial`` goes on with the load (the files already applied are
re-sends), and the next plain ``ingest`` rebuilds the indexes before it reads anything.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select

from shuyaku.access.actor import Actor
from shuyaku.audit.guard import guarded
from shuyaku.context import Context
from shuyaku.crash import crash_point
from shuyaku.db.deferred import DEFERRED, MARKER, deferred_indexes, loading_since
from shuyaku.db.engine import refresh_statistics
from shuyaku.db.locks import write_lock
from shuyaku.db.schema import person, setting
from shuyaku.errors import InvalidRequest
from shuyaku.ingest.inbound import retrying

LOCK = "initial-load"


def begin(ctx: Context, actor: Actor, now: datetime) -> bool:
    """Set the store up for an initial load: drop the deferred indexes and leave the marker.

    Only into a prefecture with no insured person yet, or to go on with an initial load that
    did not finish. Returns True when it began one, False when it goes on with one."""
    with guarded(ctx, actor, "ingest", target="初期移行モード") as access, ctx.engine.begin() as conn:
        write_lock(conn, LOCK)
        if loading_since(conn) is not None:
            access.log(conn, action="ingest.initial", detail="中断していた初期移行の続き")
            return False
        if conn.execute(select(person.c.pref_person_id).limit(1)).first() is not None:
            raise InvalidRequest(
                "--initial(初期移行モード)は、被保険者がまだ一人も登録されていない県でだけ使えます。"
                "登録済みの県への取込は --initial を付けずに行ってください"
            )
        for index in deferred_indexes():
            index.drop(conn, checkfirst=True)
        conn.execute(insert(setting).values(key=MARKER, value=now.isoformat()))
        access.log(conn, action="ingest.initial", detail=f"索引 {len(DEFERRED)} 件を外して開始")
    return True


def finish(ctx: Context, actor: Actor) -> bool:
    """Rebuild the deferred indexes and remove the marker, in one transaction; then refresh
    the planner's statistics (PostgreSQL). False when no initial load was unfinished.

    Building an index waits for the file transactions writing its table; one of those may
    wait for a table this transaction has locked already. PostgreSQL then ends one of the
    two as a deadlock; whichever it is, it rolled back whole and is run again."""
    with ctx.engine.connect() as conn:
        if loading_since(conn) is None:  # the common case: one look-up, no lock
            return False
    if not retrying(lambda: _rebuild(ctx, actor), "初期移行モードの索引の作り直し"):
        return False
    if ctx.engine.dialect.name == "postgresql":
        refresh_statistics(ctx.engine, sorted({column.table.name for column in DEFERRED}))
    return True


def _rebuild(ctx: Context, actor: Actor) -> bool:
    with guarded(ctx, actor, "ingest", target="初期移行モード") as access, ctx.engine.begin() as conn:
        write_lock(conn, LOCK)
        if loading_since(conn) is None:  # another process finished it meanwhile
            access.done(action="ingest.initial", detail="他の処理が終了済み")
            return False
        for index in deferred_indexes():
            index.create(conn, checkfirst=True)
        crash_point("initial.before_commit")
        conn.execute(delete(setting).where(setting.c.key == MARKER))
        access.log(conn, action="ingest.initial", detail=f"索引 {len(DEFERRED)} 件を作り直して終了")
    return True
