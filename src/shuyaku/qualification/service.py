"""Look up a person's qualification history, as known now or as known at a past moment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select

from shuyaku.access.actor import Actor
from shuyaku.audit.guard import guarded
from shuyaku.context import Context
from shuyaku.db.schema import person_key, qualification_period
from shuyaku.errors import NotFoundError


class NotFound(NotFoundError, LookupError):
    pass


@dataclass(frozen=True)
class PersonView:
    pref_person_id: str
    municipality_code: str
    atena_no: str
    records: list[dict[str, Any]]  # qualification history rows, by 履歴番号


def lookup_person(
    ctx: Context, actor: Actor, municipality_code: str, atena_no: str, as_known_at: datetime | None = None
) -> PersonView:
    """The person's records as the system knew them at ``as_known_at`` (default: now)."""
    q = qualification_period.c
    with (
        guarded(
            ctx, actor, "person.read", municipality_code, target=f"{municipality_code} 宛名番号 {atena_no}"
        ) as access,
        ctx.engine.connect() as conn,
    ):
        pid = conn.execute(
            select(person_key.c.pref_person_id).where(
                person_key.c.municipality_code == municipality_code, person_key.c.atena_no == atena_no
            )
        ).scalar()
        if pid is None:
            raise NotFound(f"市町村 {municipality_code} の宛名番号 {atena_no} は登録されていません")
        known = (
            q.superseded_at.is_(None)
            if as_known_at is None
            else and_(q.recorded_at <= as_known_at, or_(q.superseded_at.is_(None), q.superseded_at > as_known_at))
        )
        rows = (
            conn.execute(
                select(qualification_period)
                .where(q.municipality_code == municipality_code, q.atena_no == atena_no, known)
                .order_by(q.history_no)
            )
            .mappings()
            .all()
        )
        access.done(
            rows=len(rows),
            target=f"{pid} ({municipality_code} 宛名番号 {atena_no})",
            detail=f"as_known_at={as_known_at.isoformat() if as_known_at else 'now'}",
        )
    return PersonView(pid, municipality_code, atena_no, [dict(r) for r in rows])
