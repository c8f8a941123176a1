"""世帯の継続性, judged once at the end of a run over every person its files queued.

A file's transaction queues the persons whose household it may have changed
(``continuity.queue``). At the end of ``shuyaku ingest`` (after every worker), and after a
file sent over the API, one transaction takes the whole queue, judges it, keeps the
candidates and recounts 多数回 from the earliest month a K1 candidate confirmed
automatically reaches. The judgement reads every municipality's records at once, so it is
the same whatever order the run's files came in — and the same as judging after each file,
without the candidates a file's partial view proposed and the next file withdrew.

Crash-safe: the queue rows commit with their file, and leave the queue only in the
judgement's transaction. A run killed before its end leaves them; the next run (or the next
API file) judges them, and ``shuyaku status`` and the federation's dashboard say how many
wait.
"""

from __future__ import annotations

from shuyaku.access.actor import Actor
from shuyaku.audit.guard import guarded
from shuyaku.context import Context
from shuyaku.crash import crash_point
from shuyaku.household import continuity
from shuyaku.ingest.inbound import retrying
from shuyaku.kogaku import tasuukai


def judge_households(ctx: Context, actor: Actor, municipality_code: str | None = None) -> continuity.Judged:
    """Judge every queued person (none queued: one count, nothing logged).

    ``municipality_code``: the sender an actor of some municipalities sent a file for (the
    API); the judgement is logged under it. Such an actor with no sender to name (a file
    whose header could not be read) leaves the queue to the next run."""
    if actor.municipalities is not None and municipality_code not in actor.municipalities:
        return continuity.NOTHING_JUDGED
    with ctx.engine.connect() as conn:
        if not continuity.pending_count(conn):
            return continuity.NOTHING_JUDGED
    return retrying(lambda: _judge(ctx, actor, municipality_code), "世帯の継続性の判定")


def _judge(ctx: Context, actor: Actor, municipality_code: str | None) -> continuity.Judged:
    now = ctx.clock()
    auto_confirm_k1 = ctx.setting("continuity_auto_confirm_k1") == "1"
    with guarded(ctx, actor, "ingest", municipality_code, target="世帯の継続性") as access, ctx.engine.begin() as conn:
        judged = continuity.judge_pending(conn, now=now, auto_confirm_k1=auto_confirm_k1)
        if judged.confirmed_since is not None:
            tasuukai.recount(conn, judged.confirmed_since, now)
        crash_point("continuity.judged")
        access.log(
            conn,
            action="ingest.continuity",
            rows=judged.proposed,
            detail=f"persons={judged.persons} candidates={judged.proposed}",
        )
    return judged
