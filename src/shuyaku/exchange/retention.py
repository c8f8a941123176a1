"""Retention of the encrypted copies of inbound files (`raw_retention_days`, from arrival)."""

from __future__ import annotations

import logging
from datetime import date

from sqlalchemy import func, select, update

from shuyaku.access.actor import Actor
from shuyaku.audit.guard import guarded
from shuyaku.context import Context
from shuyaku.db.schema import inbound_file
from shuyaku.exchange import archive

log = logging.getLogger("shuyaku.retention")


def purge_expired(ctx: Context, actor: Actor, today: date) -> int:
    """Delete every encrypted copy whose retention has ended for every ledger row using it."""
    f = inbound_file.c
    with guarded(ctx, actor, "archive.purge") as access, ctx.engine.begin() as conn:
        kept_until = (
            select(f.archive_name, func.max(f.retain_until).label("until"))
            .where(f.archive_name.is_not(None), f.archive_purged_at.is_(None))
            .group_by(f.archive_name)
            .subquery()
        )
        expired = [row.archive_name for row in conn.execute(select(kept_until).where(kept_until.c.until < today)).all()]
        for name in expired:
            archive.purge(ctx.settings.archive_dir, name)
        if expired:
            conn.execute(update(inbound_file).where(f.archive_name.in_(expired)).values(archive_purged_at=ctx.clock()))
        access.log(conn, target=f"retain_until < {today.isoformat()}", rows=len(expired))
    log.info("archive purge by=%s today=%s purged=%s", actor.login_id, today.isoformat(), len(expired))
    return len(expired)
