"""The end of an individual number's life here (番号法: kept only while it is needed).

A person whose NHI in the prefecture ended ``number_retention_years`` (default 5) ago or
more, with no later period in any municipality, has the number erased: the sealed copy and
the blind index go (``vault_entry``), and so do the person's municipal keys (``person_key``),
so that nothing can bind a new record to the old person any more. The pseudonymous history —
the 県被保険者ID, the periods, hit months, counts and the access log — stays for the counts
and the audits. A person who comes back after the erasure is a new person with a new ID.

Every erasure is an event in the access log and a row of ``number_erasure`` (the 消去記録
帳票); the number itself is in neither.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, delete, func, insert, select

from shuyaku.access.actor import Actor
from shuyaku.audit.guard import guarded
from shuyaku.context import Context
from shuyaku.db.locks import write_lock
from shuyaku.db.query import SQLITE_CHUNK
from shuyaku.db.schema import number_erasure, person_key, qualification_period, vault_entry
from shuyaku.errors import InvalidRequest
from shuyaku.vault.service import IDENTITY_LOCK

log = logging.getLogger("shuyaku.erasure")


@dataclass(frozen=True)
class Due:
    pref_person_id: str
    qualified_until: date  # the last day of NHI in the prefecture
    municipalities: str  # 市町村コード;…


def cutoff_of(today: date, years: int) -> date:
    """The last 資格喪失 day whose retention has ended by ``today`` (29 February → 28th)."""
    try:
        return today.replace(year=today.year - years)
    except ValueError:
        return today.replace(year=today.year - years, day=28)


def due(conn: Connection, cutoff: date) -> list[Due]:
    """Persons with a number in the vault whose every current period has ended, the last of
    them on or before ``cutoff``."""
    q, v = qualification_period.c, vault_entry.c
    ended = (
        select(
            q.pref_person_id,
            func.max(q.qualified_until).label("until"),
            func.count().label("periods"),
            func.count(q.qualified_until).label("closed"),
        )
        .where(q.superseded_at.is_(None))
        .group_by(q.pref_person_id)
        .subquery()
    )
    rows = conn.execute(
        select(ended.c.pref_person_id, ended.c.until)
        .join(vault_entry, v.pref_person_id == ended.c.pref_person_id)
        .where(ended.c.periods == ended.c.closed, ended.c.until <= cutoff)
        .order_by(ended.c.pref_person_id)
    ).all()
    persons = [r.pref_person_id for r in rows]
    where: dict[str, set[str]] = {}
    for start in range(0, len(persons), SQLITE_CHUNK):
        chunk = persons[start : start + SQLITE_CHUNK]
        for pid, code in conn.execute(
            select(q.pref_person_id, q.municipality_code).where(q.pref_person_id.in_(chunk)).distinct()
        ).all():
            where.setdefault(pid, set()).add(code)
    return [Due(r.pref_person_id, r.until, ";".join(sorted(where.get(r.pref_person_id, ())))) for r in rows]


def purge_numbers(ctx: Context, actor: Actor, today: date, *, dry_run: bool = False) -> list[Due]:
    """Erase the numbers whose retention has ended (``dry_run``: only say whose)."""
    years = int(ctx.setting("number_retention_years"))
    if years < 1:
        raise InvalidRequest(f"number_retention_years は 1 以上です(設定値 {years})")
    cutoff = cutoff_of(today, years)
    access = guarded(ctx, actor, "vault.purge", target=f"資格喪失日 {cutoff.isoformat()} 以前")
    with ctx.engine.begin() as conn:
        if not dry_run:  # no file may be binding a person this finds due
            write_lock(conn, IDENTITY_LOCK)
        found = due(conn, cutoff)
        if dry_run:
            access.log(conn, rows=len(found), detail="dry-run")
            return found
        persons = [d.pref_person_id for d in found]
        for start in range(0, len(persons), SQLITE_CHUNK):
            chunk = persons[start : start + SQLITE_CHUNK]
            conn.execute(delete(vault_entry).where(vault_entry.c.pref_person_id.in_(chunk)))
            conn.execute(delete(person_key).where(person_key.c.pref_person_id.in_(chunk)))
        now = ctx.clock()
        if found:
            conn.execute(
                insert(number_erasure),
                [
                    {
                        "pref_person_id": d.pref_person_id,
                        "erased_at": now,
                        "actor": actor.login_id,
                        "qualified_until": d.qualified_until,
                        "municipalities": d.municipalities,
                    }
                    for d in found
                ],
            )
            access.log_each(conn, persons, detail=f"retention={years}y cutoff={cutoff.isoformat()}")
        else:
            access.log(conn, rows=0)
    log.info("vault purge by=%s cutoff=%s erased=%s", actor.login_id, cutoff.isoformat(), len(found))
    return found
