"""What `shuyaku status` shows: the register, the inbox and the store at a glance."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select, text

from shuyaku.access.actor import Actor
from shuyaku.audit.guard import guarded
from shuyaku.context import Context
from shuyaku.db.deferred import loading_since
from shuyaku.db.schema import (
    audit_event,
    household_key,
    inbound_file,
    ingest_result,
    municipality,
    outbound_file,
    person,
    person_key,
    qualification_period,
)
from shuyaku.exchange.ledger import FileStatus
from shuyaku.exchange.outbox import OutboundStatus
from shuyaku.household import continuity
from shuyaku.problems import ERROR
from shuyaku.timeutil import JST, jst_date


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
    audit_events: int = 0
    audit_bytes: int = 0
    audit_warn_bytes: int = 0
    warnings: list[str] = field(default_factory=list)


def _by_municipality(conn: Any, column: Any, *where: Any) -> dict[str, int]:
    return dict(conn.execute(select(column, func.count()).where(*where).group_by(column)).all())


def status(ctx: Context, actor: Actor) -> Status:
    """Counts only (no personal data); every role may see them."""
    with guarded(ctx, actor, "status"), ctx.engine.connect() as conn:
        persons = conn.execute(select(func.count()).select_from(person)).scalar_one()
        keys = _by_municipality(conn, person_key.c.municipality_code)
        households = _by_municipality(conn, household_key.c.municipality_code)
        current = _by_municipality(
            conn, qualification_period.c.municipality_code, qualification_period.c.superseded_at.is_(None)
        )
        f = inbound_file.c
        last_seq = {
            (m, k): s
            for m, k, s in conn.execute(
                select(f.municipality_code, f.kind, func.max(f.seq))
                .where(f.status == FileStatus.APPLIED)
                .group_by(f.municipality_code, f.kind)
            ).all()
        }
        held = _by_municipality(conn, f.municipality_code, f.status == FileStatus.HELD)
        result = Status(
            prefecture=ctx.prefecture,
            database=ctx.engine.url.render_as_string(hide_password=True),
            key_versions=dict(ctx.keyring.current),
            persons=persons,
            files_by_status=dict(conn.execute(select(f.status, func.count()).group_by(f.status)).all()),
            quarantined=conn.execute(
                select(func.count()).select_from(ingest_result).where(ingest_result.c.result == ERROR)
            ).scalar_one(),
            outbound_blocked=conn.execute(
                select(func.count()).select_from(outbound_file).where(outbound_file.c.status == OutboundStatus.BLOCKED)
            ).scalar_one(),
        )
        for m in conn.execute(select(municipality).order_by(municipality.c.municipality_code)).all():
            code = m.municipality_code
            result.municipalities.append(
                {
                    "code": code,
                    "name": m.name,
                    "encoding": m.encoding,
                    "persons": keys.get(code, 0),
                    "households": households.get(code, 0),
                    "records": current.get(code, 0),
                    "SKSE": last_seq.get((code, "SKSE"), 0),
                    "SKKS": last_seq.get((code, "SKKS"), 0),
                    "held": held.get(code, 0),
                }
            )
        result.audit_events, result.audit_bytes = _audit_size(conn)
    result.warnings += [w for w in (unjudged_households(ctx), unfinished_initial_load(ctx)) if w is not None]
    result.audit_warn_bytes = int(ctx.setting("audit_warn_bytes"))
    if result.audit_bytes > result.audit_warn_bytes:
        result.warnings.append(
            f"アクセス記録の容量が {result.audit_bytes / 2**30:.1f} GiB で、警告値 {result.audit_warn_bytes / 2**30:.1f} GiB を"
            "超えました。記録は削除できないため、保管領域を増やすか、古い期間を検証済みの媒体へ移す計画を立ててください"
        )
    return result


def unjudged_households(ctx: Context) -> str | None:
    """The warning while persons wait for the 世帯の継続性 judgement of a run's end (a run
    still going, or one killed before its end), for `shuyaku status` and the federation's
    dashboard. A count, no personal data."""
    with ctx.reading() as conn:
        pending = continuity.pending_count(conn)
    if not pending:
        return None
    return (
        f"世帯の継続性の判定を待っている被保険者が {pending:,} 人います。取込の終わりにまとめて判定します。"
        "実行中の取込がないのに残っているときは、取込が途中で止まっています: `shuyaku ingest` を"
        "(受信フォルダが空でも)実行すると判定します"
    )


def unfinished_initial_load(ctx: Context) -> str | None:
    """The warning while a first load in 初期移行モード is unfinished, for the federation's
    dashboard (`shuyaku status` gives it too). A setting's timestamp, no personal data."""
    with ctx.reading() as conn:
        since = loading_since(conn)
    if since is None:
        return None
    return (
        f"初期移行モードの取込が終わっていません({since[:19]}Z 開始)。県個人ID・県世帯IDの索引がないため照会が"
        "遅くなります。`shuyaku ingest --initial` を同じファイルで再実行してください(反映済みのファイルは重複として飛ばし、"
        "最後に索引を作り直します)"
    )


def _audit_size(conn: Any) -> tuple[int, int]:
    """(events, bytes on disk: PostgreSQL's relation size with indexes; SQLite: an estimate)."""
    e = audit_event.c
    count = conn.execute(select(func.count()).select_from(audit_event)).scalar_one()
    if conn.dialect.name == "postgresql":
        return count, conn.execute(text("SELECT pg_total_relation_size('audit_event')")).scalar_one()
    size = conn.execute(
        select(
            func.coalesce(
                func.sum(
                    func.length(e.actor)
                    + func.length(e.scope)
                    + func.length(e.action)
                    + func.length(e.target)
                    + func.length(e.purpose)
                    + func.length(e.detail)
                    + 200
                ),
                0,
            )
        )
    ).scalar_one()
    return count, int(size)


@dataclass(frozen=True)
class Feed:
    """One municipality's feed on the dashboard: what came, what waits, what did not come."""

    code: str
    name: str
    last_received: dict[str, datetime]  # kind → the last file's arrival (any outcome)
    today: int  # files received today (JST)
    held: int  # files held (E004, E005, too many failing records)
    rejected_today: int
    quarantined: int  # records not applied (result 9) of applied files, not yet reviewed
    overdue_since: date | None  # the business day since which no SKKS arrived; None: not overdue


def business_day_before(day: date, days: int) -> date:
    """The business day (Mon–Fri; public holidays are not known here) ``days`` before ``day``."""
    while days > 0:
        day -= timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    return day


def feed(ctx: Context, actor: Actor) -> list[Feed]:
    """Every municipality the actor may see: its last file per kind, today's files, held
    and quarantined counts, and whether its daily SKKS is overdue (none since the start of
    the business day ``daily_file_overdue_days`` back). Counts and file names only."""
    now = ctx.clock()
    today = jst_date(now)
    start_of_today = datetime.combine(today, time(0), JST)
    due = business_day_before(today, int(ctx.setting("daily_file_overdue_days")))
    f, r = inbound_file.c, ingest_result.c
    with guarded(ctx, actor, "status", target="受信状況") as access, ctx.engine.connect() as conn:
        last: dict[str, dict[str, datetime]] = {}
        for code, kind, at in conn.execute(
            select(f.municipality_code, f.kind, func.max(f.received_at))
            .where(f.municipality_code.is_not(None), f.kind.is_not(None))
            .group_by(f.municipality_code, f.kind)
        ).all():
            last.setdefault(code, {})[kind] = at if at.tzinfo else at.replace(tzinfo=UTC)
        today_counts = _by_municipality(conn, f.municipality_code, f.received_at >= start_of_today)
        rejected = _by_municipality(
            conn, f.municipality_code, f.received_at >= start_of_today, f.status == FileStatus.REJECTED
        )
        held = _by_municipality(conn, f.municipality_code, f.status == FileStatus.HELD)
        quarantined: dict[str, int] = dict(
            conn.execute(
                select(f.municipality_code, func.count())
                .select_from(ingest_result.join(inbound_file, r.file_id == f.file_id))
                .where(r.result == ERROR, r.reviewed_at.is_(None), f.status == FileStatus.APPLIED)
                .group_by(f.municipality_code)
            ).all()
        )
        found = []
        for m in conn.execute(select(municipality).order_by(municipality.c.municipality_code)).all():
            if not actor.sees(m.municipality_code):
                continue
            kinds = last.get(m.municipality_code, {})
            skks = kinds.get("SKKS")
            overdue = None if skks is not None and jst_date(skks) >= due else due
            found.append(
                Feed(
                    m.municipality_code,
                    m.name,
                    kinds,
                    today_counts.get(m.municipality_code, 0),
                    held.get(m.municipality_code, 0),
                    rejected.get(m.municipality_code, 0),
                    quarantined.get(m.municipality_code, 0),
                    overdue,
                )
            )
        access.done(rows=len(found))
    return found
