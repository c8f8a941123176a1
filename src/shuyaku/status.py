"""What `shuyaku status` shows: the register, the inbox and the store at a glance."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from shuyaku.access.actor import Actor
from shuyaku.context import Context
from shuyaku.db.schema import (
    household_key,
    inbound_file,
    ingest_result,
    municipality,
    outbound_file,
    person,
    person_key,
    qualification_period,
)


@dataclass
class Status:
    prefecture: str
    database: str
    key_versions: dict[str, int]
    persons: int
    municipalities: list[dict[str, Any]] = field(default_factory=list)
    files_by_status: dict[str, int] = field(default_factory=dict)
    quarantined: int = 0
    outbound_blocked: int = 0


def _by_municipality(conn: Any, column: Any, *where: Any) -> dict[str, int]:
    return dict(conn.execute(select(column, func.count()).where(*where).group_by(column)).all())


def status(ctx: Context, actor: Actor) -> Status:
    """Counts only (no personal data); every role may see them."""
    with ctx.engine.connect() as conn:
        persons = conn.execute(select(func.count()).select_from(person)).scalar_one()
        keys = _by_municipality(conn, person_key.c.municipality_code)
        households = _by_municipality(conn, household_key.c.municipality_code)
        current = _by_municipality(conn, qualification_period.c.municipality_code, qualification_period.c.superseded_at.is_(None))
        f = inbound_file.c
        last_seq = {(m, k): s for m, k, s in conn.execute(
            select(f.municipality_code, f.kind, func.max(f.seq)).where(f.status == "applied").group_by(f.municipality_code, f.kind)).all()}
        held = _by_municipality(conn, f.municipality_code, f.status == "held")
        result = Status(
            prefecture=ctx.prefecture,
            database=ctx.engine.url.render_as_string(hide_password=True),
            key_versions=dict(ctx.keyring.current),
            persons=persons,
            files_by_status=dict(conn.execute(select(f.status, func.count()).group_by(f.status)).all()),
            quarantined=conn.execute(select(func.count()).select_from(ingest_result).where(ingest_result.c.result == "9")).scalar_one(),
            outbound_blocked=conn.execute(select(func.count()).select_from(outbound_file).where(outbound_file.c.status == "blocked")).scalar_one(),
        )
        for m in conn.execute(select(municipality).order_by(municipality.c.municipality_code)).all():
            code = m.municipality_code
            result.municipalities.append({
                "code": code, "name": m.name, "encoding": m.encoding, "persons": keys.get(code, 0),
                "households": households.get(code, 0), "records": current.get(code, 0),
                "SKSE": last_seq.get((code, "SKSE"), 0), "SKKS": last_seq.get((code, "SKKS"), 0), "held": held.get(code, 0),
            })
    return result
