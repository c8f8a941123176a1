"""Quarantined records: a municipality reads what it sent that could not be applied, and
records what it did about it (corrected and re-sent, or nothing to do, with a reason).

The copy of a record never holds the 個人番号 item, and every other item was masked by the
file's containment when it was stored; reading it is a personal-data access, logged.
A record is reviewed once: two clerks at once get one review and one "already reviewed".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shuyaku.access.actor import Actor
from shuyaku.audit.guard import guarded
from shuyaku.context import Context
from shuyaku.errors import Conflict, InvalidRequest, NotFoundError
from shuyaku.exchange import ledger
from shuyaku.exchange.ledger import REVIEW_OUTCOMES
from shuyaku.text import typed_text

__all__ = ["NOTE_MAX", "REVIEW_OUTCOMES", "Quarantined", "quarantined", "review"]
NOTE_MAX = 200


@dataclass(frozen=True)
class Quarantined:
    result_id: int
    file_id: int
    municipality_code: str
    filename: str
    kind: str | None
    received_at: datetime
    line_no: int
    record_key: str | None
    history_no: str | None
    code: str
    field: str | None
    message: str
    record: dict[str, str]  # item label → value as received (masked; no 個人番号)
    reviewed_at: datetime | None
    reviewed_by: str | None
    review_outcome: str | None
    review_note: str | None

    @property
    def outcome_label(self) -> str:
        return REVIEW_OUTCOMES.get(self.review_outcome or "", "")


def _shown(row: Any) -> Quarantined:
    values = row._asdict()
    values["record"] = json.loads(values["record"]) if values["record"] else {}
    return Quarantined(**values)


def quarantined(
    ctx: Context,
    actor: Actor,
    municipality_code: str | None = None,
    *,
    open_only: bool = True,
    limit: int = 50,
    before: int | None = None,
) -> list[Quarantined]:
    """The quarantined records of a municipality (all the actor may see when none is given)."""
    if not 1 <= limit <= 200:
        raise InvalidRequest("件数(limit)は 1〜200 で指定してください")
    target = f"{municipality_code or 'all'} {'open' if open_only else 'all'}"
    with guarded(ctx, actor, "quarantine.read", municipality_code, target=target) as access:
        with ctx.engine.connect() as conn:
            found = [
                _shown(r)
                for r in ledger.quarantined(conn, access.scope, open_only=open_only, limit=limit, before=before)
            ]
        access.done(rows=len(found))
    return found


def review(ctx: Context, actor: Actor, result_id: int, outcome: str, note: str = "") -> str:
    """Record what the municipality did about one quarantined record; returns its
    municipality. Another municipality's record does not exist for a municipality's user
    (the attempt is logged)."""
    if outcome not in REVIEW_OUTCOMES:
        raise InvalidRequest(f"対応(outcome)は {' / '.join(REVIEW_OUTCOMES)} のどれかです")
    note = typed_text(note)
    if len(note) > NOTE_MAX:
        raise InvalidRequest(f"メモは {NOTE_MAX} 文字までです({len(note)} 文字)")
    if outcome == "no_action" and not note:
        raise InvalidRequest("対応不要とする理由をメモに書いてください")
    missing = f"隔離レコード {result_id} はありません"
    with ctx.engine.connect() as conn:
        row = ledger.quarantined_one(conn, result_id)
    if row is None:
        raise NotFoundError(missing)
    access = guarded(
        ctx,
        actor,
        "quarantine.review",
        row.municipality_code,
        target=f"受付番号 {row.file_id} 隔離 {result_id}",
        conceal=missing,
    )
    with ctx.engine.begin() as conn:
        if not ledger.mark_reviewed(conn, result_id, at=ctx.clock(), by=actor.login_id, outcome=outcome, note=note):
            raise Conflict(f"隔離レコード {result_id} はすでに確認済みです(ほかの人が先に登録しました)")
        access.log(conn, rows=1, detail=f"outcome={outcome}")
    return str(row.municipality_code)
