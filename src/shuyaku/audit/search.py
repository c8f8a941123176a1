"""Searching the access log (auditors): by period, user, action and outcome, newest first."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from shuyaku.access.actor import Actor
from shuyaku.audit import trail
from shuyaku.audit.guard import guarded
from shuyaku.context import Context
from shuyaku.db.schema import audit_event
from shuyaku.errors import InvalidRequest
from shuyaku.timeutil import JST

MAX_ROWS = 1000


def search(
    ctx: Context,
    actor: Actor,
    start: date,
    end: date,
    *,
    user: str | None = None,
    action: str | None = None,
    outcome: str | None = None,
    limit: int = 200,
) -> list[Any]:
    """Events from ``start`` to ``end`` (JST days, both included), at most ``limit`` (≤ 1000)."""
    if end < start:
        raise InvalidRequest("期間の終わりが始めより前です")
    if not 1 <= limit <= MAX_ROWS:
        raise InvalidRequest(f"件数は 1〜{MAX_ROWS} です")
    lo = datetime.combine(start, time(0), JST)
    hi = datetime.combine(end + timedelta(days=1), time(0), JST)
    e = audit_event.c
    stmt = (
        select(audit_event)
        .where(e.at_utc >= trail.utc_text(lo), e.at_utc < trail.utc_text(hi))
        .order_by(e.seq.desc())
        .limit(limit)
    )
    if user:
        stmt = stmt.where(e.actor == user)
    if action:
        stmt = stmt.where(e.action.startswith(action, autoescape=True))
    if outcome:
        stmt = stmt.where(e.outcome == outcome)
    target = f"{start.isoformat()}〜{end.isoformat()} user={user or ''} action={action or ''} outcome={outcome or ''}"
    with guarded(ctx, actor, "audit.read", target=target) as access, ctx.engine.connect() as conn:
        found = list(conn.execute(stmt).all())
        access.done(action="audit.search", rows=len(found))
    return found
