"""Continuity candidates as stored: read them, record a decision on them.

The caller (``review.continuity``) asks the policy, holds the transaction and recounts the
多数回 counts a decision reaches; these functions only read and write the candidates.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, select, update

from shuyaku.db.query import SQLITE_CHUNK
from shuyaku.db.schema import continuity_candidate
from shuyaku.errors import InvalidRequest

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


def candidates(conn: Connection, scope: frozenset[str] | None, status: str | None = None) -> list[Candidate]:
    """Candidates whose destination is in ``scope`` (None: every municipality), by number."""
    c = continuity_candidate.c
    stmt = select(continuity_candidate).order_by(c.candidate_id)
    if scope is not None:
        stmt = stmt.where(c.to_municipality_code.in_(sorted(scope)))
    if status is not None:
        if status not in STATUS_LABEL:
            raise DecisionError(f"--status は {' / '.join(STATUS_LABEL)} のいずれかです(指定: {status})")
        stmt = stmt.where(c.status == status)
    return [Candidate.of(r) for r in conn.execute(stmt).all()]


def load(conn: Connection, candidate_id: int) -> Candidate:
    row = conn.execute(select(continuity_candidate).where(continuity_candidate.c.candidate_id == candidate_id)).first()
    if row is None:
        raise DecisionError(f"候補番号 {candidate_id} はありません")
    return Candidate.of(row)


def decide(
    conn: Connection, chosen: list[Candidate], status: str, by: str, note: str | None, now: datetime
) -> str | None:
    """Record the decision on every candidate given; returns the earliest month (YYYYMM)
    whose 多数回 count the decision can change (None when nothing was decided)."""
    c = continuity_candidate.c
    ids = [x.candidate_id for x in chosen]
    for start in range(0, len(ids), SQLITE_CHUNK):
        conn.execute(
            update(continuity_candidate)
            .where(c.candidate_id.in_(ids[start : start + SQLITE_CHUNK]))
            .values(status=status, decided_by=by, decided_at=now, decision_note=note)
        )
    return min(x.change_date for x in chosen).strftime("%Y%m") if chosen else None
