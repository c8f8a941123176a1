"""Look up a person's qualification history (as known now or at a past moment); check a
number against a person (yes or no, never the number back)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, and_, or_, select

from shuyaku import ids
from shuyaku.access.actor import Actor
from shuyaku.audit.guard import guarded
from shuyaku.context import Context
from shuyaku.db.schema import person_key, qualification_period
from shuyaku.errors import InvalidRequest, NotFoundError
from shuyaku.text import typed_text


class NotFound(NotFoundError, LookupError):
    pass


@dataclass(frozen=True)
class PersonView:
    pref_person_id: str
    municipality_code: str
    atena_no: str
    records: list[dict[str, Any]]  # qualification history rows, by 履歴番号


def _person_of(conn: Connection, municipality_code: str, atena_no: str) -> str:
    """The 県被保険者ID of a municipal key (NotFound when the key was never received)."""
    pid = conn.execute(
        select(person_key.c.pref_person_id).where(
            person_key.c.municipality_code == municipality_code, person_key.c.atena_no == atena_no
        )
    ).scalar()
    if pid is None:
        raise NotFound(f"市町村 {municipality_code} の宛名番号 {atena_no} は登録されていません")
    return str(pid)


# What the store keeps for its own reads, not part of a record as staff and systems see it.
_KEPT_FOR_READS = {"overtaken_on"}


def lookup_person(
    ctx: Context, actor: Actor, municipality_code: str, atena_no: str, as_known_at: datetime | None = None
) -> PersonView:
    """The person's records as the system knew them at ``as_known_at`` (default: now; a
    naive time is UTC)."""
    if as_known_at is not None and as_known_at.tzinfo is not None:
        as_known_at = as_known_at.astimezone(UTC)  # stored times are UTC (SQLite keeps them naive)
    q = qualification_period.c
    with (
        guarded(
            ctx, actor, "person.read", municipality_code, target=f"{municipality_code} 宛名番号 {atena_no}"
        ) as access,
        ctx.reading() as conn,
    ):
        pid = _person_of(conn, municipality_code, atena_no)
        known = (
            q.superseded_at.is_(None)
            if as_known_at is None
            else and_(q.recorded_at <= as_known_at, or_(q.superseded_at.is_(None), q.superseded_at > as_known_at))
        )
        rows = (
            conn.execute(
                select(*(c for c in qualification_period.c if c.key not in _KEPT_FOR_READS))
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


def person_keys(ctx: Context, actor: Actor, pref_person_id: str) -> list[tuple[str, str]]:
    """(市町村コード, 宛名番号) of a 県被保険者ID that the actor may see. None of them: the person
    does not exist for the actor (and the attempt is logged)."""
    missing = f"県被保険者ID {pref_person_id} はありません"
    k = person_key.c
    with ctx.engine.connect() as conn:
        keys = [
            (str(m), str(a))
            for m, a in conn.execute(
                select(k.municipality_code, k.atena_no).where(k.pref_person_id == pref_person_id).order_by(k.bound_at)
            ).all()
        ]
    if not keys:
        raise NotFound(missing)
    visible = [key for key in keys if actor.sees(key[0])]
    with guarded(
        ctx, actor, "person.read", (visible or keys)[0][0], target=f"{pref_person_id}", conceal=missing
    ) as access:
        access.done(action="person.keys", rows=len(visible))
    return visible


def check_number(
    ctx: Context, actor: Actor, municipality_code: str, atena_no: str, individual_number: str, purpose: str
) -> bool:
    """Whether ``individual_number`` is the number the system holds for the person of this
    municipal key: yes or no, logged with its purpose. The number is never stored, logged
    or echoed; a malformed one is refused without repeating it."""
    if not purpose.strip():
        raise InvalidRequest("照合の目的(purpose)を入力してください")
    number = ids.ascii_digits(individual_number.strip())
    if not ids.is_valid_individual_number(number):
        raise InvalidRequest("個人番号: 半角数字12桁で、検査数字が正しい番号を指定してください")
    target = f"{municipality_code} 宛名番号 {atena_no}"
    with (
        guarded(ctx, actor, "person.check_number", municipality_code, target=target) as access,
        ctx.engine.connect() as conn,
    ):
        pid = _person_of(conn, municipality_code, atena_no)
        found = ctx.vault.persons_by_blind_index(conn, ctx.vault.blind_indexes(conn, [number]))
        same = pid in found["pref_person_id"].to_list()
        access.done(
            rows=1,
            target=f"{pid} ({target})",
            detail=f"目的: {typed_text(purpose)[:200]} 結果: {'一致' if same else '不一致'}",
        )
    return same
