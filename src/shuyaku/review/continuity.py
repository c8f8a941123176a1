"""Continuity candidates: list, confirm, reject. Every decision records who and when, and
recomputes every stored 多数回 count it can change in the same transaction. A decision
holds the judgement's lock (``continuity.LOCK``) from before it reads the candidate's
status, so a judgement that withdraws the candidate, or another decision on it, comes wholly
before or wholly after — a withdrawn or rejected candidate is never confirmed over."""

from __future__ import annotations

import logging

from sqlalchemy import Connection

from shuyaku.access.actor import Actor
from shuyaku.audit import trail
from shuyaku.audit.guard import Access, guarded
from shuyaku.context import Context
from shuyaku.db.locks import write_lock
from shuyaku.errors import NotFoundError
from shuyaku.household import candidates as store
from shuyaku.household.candidates import STATUS_LABEL, Candidate, DecisionError
from shuyaku.household.continuity import CONFIRMED, LOCK, PROPOSED, REJECTED
from shuyaku.kogaku import tasuukai
from shuyaku.text import typed_text

__all__ = [
    "STATUS_LABEL",
    "Candidate",
    "DecisionError",
    "confirm",
    "confirm_all_proposed",
    "get_candidate",
    "list_candidates",
    "reject",
]
log = logging.getLogger("shuyaku.continuity")


def list_candidates(
    ctx: Context, actor: Actor, *, municipality_code: str | None = None, status: str | None = None
) -> list[Candidate]:
    """Candidates for a destination municipality (all the actor may see when none is given)."""
    with guarded(ctx, actor, "continuity.read", municipality_code) as access, ctx.reading() as conn:
        found = store.candidates(conn, access.scope, status)
        access.done(rows=len(found), target=f"{municipality_code or trail.scope_of(actor)} status={status or 'all'}")
    return found


def get_candidate(ctx: Context, actor: Actor, candidate_id: int) -> Candidate:
    """One candidate. Another municipality's candidate does not exist for a municipality's
    user (the attempt is logged); the origin sees it too (both ends of a move)."""
    missing = f"候補番号 {candidate_id} はありません"
    with ctx.reading() as conn:
        try:
            found = store.load(conn, candidate_id)
        except DecisionError:
            raise NotFoundError(missing) from None
    side = found.to_municipality_code if actor.sees(found.to_municipality_code) else found.from_municipality_code
    with guarded(ctx, actor, "continuity.read", side, target=f"候補 {candidate_id}", conceal=missing) as access:
        access.done(rows=1)
    return found


def confirm(ctx: Context, actor: Actor, candidate_id: int, note: str | None = None) -> list[int]:
    with ctx.engine.begin() as conn:
        row, access = _load(ctx, conn, actor, candidate_id)
        if row.status != PROPOSED:
            raise DecisionError(
                f"候補番号 {candidate_id} は{STATUS_LABEL[row.status]}のため確定できません(確定できるのは提案中の候補です)"
            )
        return _decide(conn, access, [row], CONFIRMED, note)


def confirm_all_proposed(ctx: Context, actor: Actor, municipality_code: str, note: str | None = None) -> list[int]:
    access = guarded(ctx, actor, "continuity.decide", municipality_code, target=municipality_code)
    with ctx.engine.begin() as conn:
        write_lock(conn, LOCK)
        proposed = store.candidates(conn, frozenset({municipality_code}), PROPOSED)
        return _decide(conn, access, proposed, CONFIRMED, note)


def reject(ctx: Context, actor: Actor, candidate_id: int, reason: str) -> list[int]:
    if not reason.strip():
        raise DecisionError("却下の理由(--reason)を入力してください")
    with ctx.engine.begin() as conn:
        row, access = _load(ctx, conn, actor, candidate_id)
        if row.status not in (PROPOSED, CONFIRMED):
            raise DecisionError(f"候補番号 {candidate_id} は{STATUS_LABEL[row.status]}のため却下できません")
        return _decide(conn, access, [row], REJECTED, reason.strip())


def _load(ctx: Context, conn: Connection, actor: Actor, candidate_id: int) -> tuple[Candidate, Access]:
    """The candidate as it is once the lock is held — after the access check, because a
    refusal is logged in a transaction of its own, which SQLite's single writer could not
    begin while this one held the lock."""
    # The destination decides.
    access = guarded(
        ctx,
        actor,
        "continuity.decide",
        store.load(conn, candidate_id).to_municipality_code,
        target=f"候補 {candidate_id}",
    )
    write_lock(conn, LOCK)
    return store.load(conn, candidate_id), access


def _decide(conn: Connection, access: Access, chosen: list[Candidate], status: str, note: str | None) -> list[int]:
    # Typed by staff: sent in KZKH and logged.
    note = typed_text(note) if note else note
    now = access.ctx.clock()
    ids = [x.candidate_id for x in chosen]
    since = store.decide(conn, chosen, status, access.actor.login_id, note, now)
    if since is not None:
        tasuukai.recount(conn, since, now)
        access.log(
            conn,
            action="continuity." + status,
            target="候補 " + ",".join(map(str, ids)),
            rows=len(ids),
            detail=note or "",
        )
    log.info("continuity %s by=%s candidates=%s", status, access.actor.login_id, ",".join(map(str, ids)))
    return ids
