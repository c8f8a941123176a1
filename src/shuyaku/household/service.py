"""Continuity candidates: list, confirm, reject. Every decision records who and when, and
recomputes every stored 多数回 count it can change in the same transaction."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, select, update

from shuyaku.access.actor import Actor
from shuyaku.audit import trail
from shuyaku.context import Context
from shuyaku.db.query import SQLITE_CHUNK
from shuyaku.db.schema import continuity_candidate
from shuyaku.errors import InvalidRequest
from shuyaku.household.continuity import CONFIRMED, PROPOSED, REJECTED
from shuyaku.kogaku import tasuukai
from shuyaku.text import typed_text

log = logging.getLogger("shuyaku.continuity")
STATUS_LABEL = {"proposed": "提案", "confirmed": "確定", "rejected": "却下", "withdrawn": "取下げ"}


class DecisionError(InvalidRequest, ValueError):
    pass


@dataclass(frozen=True)
class Candidate:
    candidate_id: int
    to_municipality_code: str
    to_setai_no: str
    to_household: str
    from_municipality_code: str
    from_setai_no: str
    from_household: str
    change_date: date
    rule: str
    continuous: bool
    status: str
    reason: str
    persons: dict[str, str]
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None

    @classmethod
    def of(cls, row: Any) -> Candidate:
        return cls(
            row.candidate_id,
            row.to_municipality_code,
            row.to_setai_no,
            row.to_household,
            row.from_municipality_code,
            row.from_setai_no,
            row.from_household,
            row.change_date,
            row.rule,
            row.continuous,
            row.status,
            row.reason,
            json.loads(row.persons),
            row.decided_by,
            row.decided_at,
            row.decision_note,
        )


def list_candidates(
    ctx: Context, actor: Actor, *, municipality_code: str | None = None, status: str | None = None
) -> list[Candidate]:
    """Candidates for a destination municipality (all the actor may see when none is given)."""
    trail.require(ctx, actor, "continuity.read", municipality_code)
    c = continuity_candidate.c
    stmt = select(continuity_candidate).order_by(c.candidate_id)
    if municipality_code is not None:
        stmt = stmt.where(c.to_municipality_code == municipality_code)
    elif actor.municipalities is not None:
        stmt = stmt.where(c.to_municipality_code.in_(sorted(actor.municipalities)))
    if status is not None:
        if status not in STATUS_LABEL:
            raise DecisionError(f"--status は {' / '.join(STATUS_LABEL)} のいずれかです(指定: {status})")
        stmt = stmt.where(c.status == status)
    with ctx.engine.connect() as conn:
        found = [Candidate.of(r) for r in conn.execute(stmt).all()]
    trail.record(
        ctx,
        actor,
        trail.Event(
            "continuity.read",
            target=f"{municipality_code or trail.scope_of(actor)} status={status or 'all'}",
            purpose=trail.purpose_of("continuity.read"),
            row_count=len(found),
        ),
    )
    return found


def _load(ctx: Context, conn: Connection, actor: Actor, candidate_id: int) -> Any:
    row = conn.execute(select(continuity_candidate).where(continuity_candidate.c.candidate_id == candidate_id)).first()
    if row is None:
        raise DecisionError(f"候補番号 {candidate_id} はありません")
    trail.require(
        ctx, actor, "continuity.decide", row.to_municipality_code, target=f"候補 {candidate_id}"
    )  # the destination decides
    return row


def _decide(conn: Connection, actor: Actor, rows: list[Any], status: str, note: str | None, now: datetime) -> list[int]:
    c = continuity_candidate.c
    note = typed_text(note) if note else note  # typed by staff: sent in KZKH and logged
    ids = [r.candidate_id for r in rows]
    for start in range(0, len(ids), SQLITE_CHUNK):
        conn.execute(
            update(continuity_candidate)
            .where(c.candidate_id.in_(ids[start : start + SQLITE_CHUNK]))
            .values(status=status, decided_by=actor.login_id, decided_at=now, decision_note=note)
        )
    if rows:
        tasuukai.recount(conn, min(r.change_date for r in rows).strftime("%Y%m"), now)
        trail.append(
            conn,
            actor,
            [
                trail.Event(
                    "continuity." + status,
                    target="候補 " + ",".join(map(str, ids)),
                    purpose=trail.purpose_of("continuity.decide"),
                    row_count=len(ids),
                    detail=note or "",
                )
            ],
            now,
        )
    log.info("continuity %s by=%s candidates=%s", status, actor.login_id, ",".join(map(str, ids)))
    return ids


def confirm(ctx: Context, actor: Actor, candidate_id: int, note: str | None = None) -> list[int]:
    with ctx.engine.begin() as conn:
        row = _load(ctx, conn, actor, candidate_id)
        if row.status != PROPOSED:
            raise DecisionError(
                f"候補番号 {candidate_id} は{STATUS_LABEL[row.status]}のため確定できません(確定できるのは提案中の候補です)"
            )
        return _decide(conn, actor, [row], CONFIRMED, note, ctx.clock())


def confirm_all_proposed(ctx: Context, actor: Actor, municipality_code: str, note: str | None = None) -> list[int]:
    trail.require(ctx, actor, "continuity.decide", municipality_code)
    c = continuity_candidate.c
    with ctx.engine.begin() as conn:
        rows = conn.execute(
            select(continuity_candidate)
            .where(c.to_municipality_code == municipality_code, c.status == PROPOSED)
            .order_by(c.candidate_id)
        ).all()
        return _decide(conn, actor, list(rows), CONFIRMED, note, ctx.clock())


def reject(ctx: Context, actor: Actor, candidate_id: int, reason: str) -> list[int]:
    if not reason.strip():
        raise DecisionError("却下の理由(--reason)を入力してください")
    with ctx.engine.begin() as conn:
        row = _load(ctx, conn, actor, candidate_id)
        if row.status not in (PROPOSED, CONFIRMED):
            raise DecisionError(f"候補番号 {candidate_id} は{STATUS_LABEL[row.status]}のため却下できません")
        return _decide(conn, actor, [row], REJECTED, reason.strip(), ctx.clock())
