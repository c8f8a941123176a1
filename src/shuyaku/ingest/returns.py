"""Build KKKK (取込結果), IDTB (県ID対応表), KZKH (世帯継続性候補) and TSKG (多数回該当回数) for a
municipality and release them through the outbox guard."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Connection, func, insert, select, update

from shuyaku.access.actor import Actor
from shuyaku.audit.guard import guarded
from shuyaku.context import Context
from shuyaku.db.query import SQLITE_CHUNK, read_frame, update_rows
from shuyaku.db.schema import (
    UNREPORTED_WITHDRAWAL,
    continuity_candidate,
    id_assignment,
    inbound_file,
    ingest_result,
    municipality,
    outbound_fetch,
    outbound_file,
    tasuukai_count,
)
from shuyaku.errors import InvalidRequest, NotFoundError
from shuyaku.exchange import ledger, outbox
from shuyaku.files import private_dir
from shuyaku.household.continuity import CandidateStatus
from shuyaku.kogaku.rules import TASUUKAI_FROM
from shuyaku.timeutil import JST, jst_stamp

KINDS = ("KKKK", "IDTB", "KZKH", "TSKG")
IDTB_READ = {
    "assignment_id": pl.Int64,
    "municipality_code": pl.String,
    "atena_no": pl.String,
    "pref_person_id": pl.String,
    "setai_no": pl.String,
    "pref_household_id": pl.String,
    "assign_kind": pl.String,
    "prev_municipality_code": pl.String,
    "assigned_on": pl.Date,
}


class ExportError(InvalidRequest, ValueError):
    pass


def registered(ctx: Context) -> list[str]:
    """Every registered municipality, for an export to all of them."""
    with ctx.engine.connect() as conn:
        return list(
            conn.execute(select(municipality.c.municipality_code).order_by(municipality.c.municipality_code)).scalars()
        )


def export(ctx: Context, actor: Actor, municipality_code: str, kind: str, out_dir: Path) -> list[Path]:
    """Release every pending file of ``kind`` for one municipality. Each file is its own
    transaction: one the guard refuses is recorded and skipped, the others still go, and
    ``OutboxBlocked`` (with ``written``) is raised at the end."""
    access = guarded(ctx, actor, "export", municipality_code, target=kind)
    if kind not in KINDS:
        raise ExportError(f"--kind は {' / '.join(KINDS)} のいずれかです(指定: {kind})")
    with ctx.engine.connect() as conn:
        muni = ledger.municipality_row(conn, municipality_code)
    if muni is None:
        raise ExportError(f"市町村コード {municipality_code} は登録されていません")
    done = outbox.release_each(
        ctx.engine, out_dir, (partial(build, actor=actor, out_dir=out_dir) for build in BUILDERS[kind](ctx, muni))
    )
    written, blocked = done.written, done.blocked
    access.record(
        target=f"{municipality_code} {kind} " + " ".join(p.name for p in written),
        rows=len(written),
        outcome="failed" if blocked else "ok",
        detail="; ".join(str(b) for b in blocked),
    )
    return done.raise_if_blocked()


@dataclass(frozen=True)
class Exported:
    written: list[Path]
    blocked: list[str]  # one message per municipality whose file the guard refused


def export_all(ctx: Context, actor: Actor, kind: str, out_dir: Path, municipality_code: str | None = None) -> Exported:
    """``export`` for one municipality, or for every registered one the actor may see. One
    municipality's refused file stops no other's."""
    codes = [municipality_code] if municipality_code else [c for c in registered(ctx) if actor.sees(c)]
    written: list[Path] = []
    blocked: list[str] = []
    for code in codes:
        try:
            written += export(ctx, actor, code, kind.upper(), out_dir)
        except outbox.OutboxBlocked as exc:
            written += exc.written
            blocked.append(str(exc))
    return Exported(written, blocked)


def server_outbox(ctx: Context, municipality_code: str) -> Path:
    """Where the return files a municipality fetches over the API are kept (0700)."""
    return ctx.settings.outbox_dir / municipality_code


def prepare(ctx: Context, actor: Actor, municipality_code: str, kind: str) -> Exported:
    """``export`` into the federation's outbox, for the municipality to fetch over the API."""
    return export_all(ctx, actor, kind, private_dir(server_outbox(ctx, municipality_code)), municipality_code)


def available(ctx: Context, actor: Actor, municipality_code: str, kind: str | None = None) -> list[Any]:
    """The municipality's released return files, newest first, with how often each was fetched."""
    o, f = outbound_file.c, outbound_fetch.c
    fetched = (
        select(f.outbound_id, func.count().label("fetches"), func.max(f.fetched_at).label("last_fetched_at"))
        .group_by(f.outbound_id)
        .subquery()
    )
    stmt = (
        select(
            o.outbound_id,
            o.kind,
            o.seq,
            o.filename,
            o.row_count,
            o.created_at,
            fetched.c.fetches,
            fetched.c.last_fetched_at,
        )
        .outerjoin(fetched, fetched.c.outbound_id == o.outbound_id)
        .where(o.municipality_code == municipality_code, o.status == outbox.OutboundStatus.RELEASED)
        .order_by(o.outbound_id.desc())
    )
    if kind is not None:
        stmt = stmt.where(o.kind == kind)
    with (
        guarded(ctx, actor, "export", municipality_code, target="返却ファイル一覧") as access,
        ctx.reading() as conn,
    ):
        rows = list(conn.execute(stmt).all())
        access.done(action="returns.list", rows=len(rows))
    return rows


def kogaku_lists(ctx: Context, actor: Actor, month: str) -> dict[tuple[str, str], Any]:
    """The lists of ``month`` (YYYYMM) released to the municipalities the actor may see — 支給一覧
    (KGSK), 区分未登録一覧 (KBMT) and 突合結果 (KGCK): (municipality, kind) → the newest one."""
    o = outbound_file.c
    stmt = (
        select(o.outbound_id, o.municipality_code, o.kind, o.filename, o.row_count, o.created_at)
        .where(
            o.kind.in_(("KGSK", "KBMT", "KGCK")),
            o.status == outbox.OutboundStatus.RELEASED,
            o.filename.like(f"%\\_{month}.csv", escape="\\"),
        )
        .order_by(o.outbound_id)
    )
    with guarded(ctx, actor, "export", target=f"支給一覧 {month}") as access, ctx.reading() as conn:
        if access.scope is not None:
            stmt = stmt.where(o.municipality_code.in_(sorted(access.scope)))
        found = {(row.municipality_code, row.kind): row for row in conn.execute(stmt).all()}
        access.done(action="returns.list", rows=len(found))
    return found


def purge_delivered(ctx: Context, actor: Actor, today: date) -> int:
    """Delete from the federation's outbox every return file delivered ``outbox_retention_days``
    or more days before ``today`` (delivered: first fetched over the API, or — never fetched —
    released into a folder something else picks up). The ledger row stays, marked purged."""
    days = int(ctx.setting("outbox_retention_days"))
    if days < 1:
        raise InvalidRequest(f"outbox_retention_days は 1 以上です(設定値 {days})")
    limit = datetime.combine(today - timedelta(days=days), time(0), JST)
    o, f = outbound_file.c, outbound_fetch.c
    first = select(f.outbound_id, func.min(f.fetched_at).label("delivered")).group_by(f.outbound_id).subquery()
    delivered = func.coalesce(first.c.delivered, o.created_at)
    with (
        guarded(ctx, actor, "outbox.purge", target=f"受け渡し {limit.date().isoformat()} より前") as access,
        ctx.engine.begin() as conn,
    ):
        due = (
            conn.execute(
                select(o.outbound_id)
                .outerjoin(first, first.c.outbound_id == o.outbound_id)
                .where(o.status == outbox.OutboundStatus.RELEASED, o.purged_at.is_(None), delivered < limit)
            )
            .scalars()
            .all()
        )
        for start in range(0, len(due), SQLITE_CHUNK):
            conn.execute(
                update(outbound_file)
                .where(o.outbound_id.in_(due[start : start + SQLITE_CHUNK]))
                .values(purged_at=ctx.clock())
            )
        access.log(conn, rows=len(due))
    # The files go once the ledger says so; every purged row's file is removed again, so a
    # run cut short between the commit and the deletion is finished by the next one.
    with ctx.engine.connect() as conn:
        purged = conn.execute(select(o.municipality_code, o.filename).where(o.purged_at.is_not(None))).all()
    for code, name in purged:
        for folder in (server_outbox(ctx, code), ctx.settings.outbox_dir / "kogaku"):
            (folder / name).unlink(missing_ok=True)
    return len(due)


def fetch(ctx: Context, actor: Actor, outbound_id: int) -> tuple[str, bytes]:
    """A released return file's bytes, recorded in the fetch ledger and the access log. Another
    municipality's file does not exist for the caller (the attempt is logged)."""
    missing = f"返却ファイル {outbound_id} はありません"
    o = outbound_file.c
    with ctx.engine.connect() as conn:
        row = conn.execute(select(outbound_file).where(o.outbound_id == outbound_id)).first()
    if row is None or row.status != outbox.OutboundStatus.RELEASED:
        raise NotFoundError(missing)
    if row.purged_at is not None:
        raise NotFoundError(
            f"返却ファイル {row.filename} は受け渡し後の保存期間を過ぎたため削除しました(outbox_retention_days)"
        )
    access = guarded(ctx, actor, "export", row.municipality_code, target=f"返却ファイル {outbound_id}", conceal=missing)
    places = [server_outbox(ctx, row.municipality_code), ctx.settings.outbox_dir / "kogaku"]
    found = next((d / row.filename for d in places if (d / row.filename).is_file()), None)
    if found is None:
        raise NotFoundError(
            f"返却ファイル {row.filename} は連合会の送信フォルダにありません(CLI で別のフォルダへ出力された写しです)"
        )
    payload = found.read_bytes()
    with ctx.engine.begin() as conn:
        conn.execute(
            insert(outbound_fetch).values(outbound_id=outbound_id, fetched_at=ctx.clock(), actor=actor.login_id)
        )
        access.log(
            conn,
            action="returns.fetch",
            target=f"{row.municipality_code} {row.kind} {row.filename}",
            rows=row.row_count,
        )
    return row.filename, payload


Build = Callable[..., "outbox.Staged | None"]  # (conn, *, actor, out_dir)


def _kkkk(ctx: Context, muni: Any) -> Iterator[Build]:
    """One KKKK per inbound file not yet reported: a row per record with a problem, then the summary."""
    with ctx.engine.connect() as conn:
        file_ids = list(conn.execute(unreported_files(muni.municipality_code)).scalars())
    for file_id in file_ids:
        yield partial(_kkkk_one, ctx, muni, file_id)


def unreported_files(municipality_code: str) -> Any:
    """The municipality's inbound files whose KKKK has not gone out, oldest first."""
    f = inbound_file.c
    return select(f.file_id).where(f.municipality_code == municipality_code, ~_reported()).order_by(f.file_id)


def _reported() -> Any:
    """An inbound file's KKKK has gone out. Asked of one file, a look-up in the index of
    ``inbound_file_id``; of a municipality's files, matched against that municipality's KKKK
    alone. (``NOT IN`` every KKKK ever released read all of them for each question: with
    200,000 of them, 55 ms a file.)"""
    o, f = outbound_file.c, inbound_file.c
    return (
        select(o.outbound_id)
        .where(
            o.inbound_file_id == f.file_id,
            o.municipality_code == f.municipality_code,
            o.kind == "KKKK",
            o.status == outbox.OutboundStatus.RELEASED,
        )
        .exists()
    )


def unreported_withdrawals(municipality_code: str) -> Any:
    """The municipality's withdrawn review items that no KKKK has said yet (their partial index)."""
    f, r = inbound_file.c, ingest_result.c
    return (
        select(f.filename, f.seq, r.result_id, r.line_no, r.record_key, r.history_no, r.code)
        .join(inbound_file, f.file_id == r.file_id)
        .where(f.municipality_code == municipality_code, UNREPORTED_WITHDRAWAL)
        .order_by(r.result_id)
    )


def _kkkk_one(
    ctx: Context, muni: Any, file_id: int, conn: Connection, actor: Actor, out_dir: Path
) -> outbox.Staged | None:
    f, r = inbound_file.c, ingest_result.c
    outbox.hold(conn, muni.municipality_code, outbox.KKKK.kind)
    file = conn.execute(select(inbound_file).where(f.file_id == file_id, ~_reported())).first()
    if file is None:
        return None  # another export reported it meanwhile
    when = jst_stamp(file.decided_at or file.received_at)
    seq = "" if file.seq is None else str(file.seq)
    problems = conn.execute(
        select(r.line_no, r.record_key, r.history_no, r.result, r.code, r.message)
        .where(r.file_id == file.file_id)
        .order_by(r.line_no)
    ).all()
    rows = [
        [
            file.municipality_code,
            file.filename,
            seq,
            str(p.line_no),
            p.record_key or "",
            p.history_no or "",
            p.result,
            p.code,
            p.message,
            when,
        ]
        for p in problems
    ]
    # Review items of this municipality's earlier files whose cause has gone since (a file of
    # another municipality brought the missing period): withdrawn, said once.
    withdrawn = conn.execute(unreported_withdrawals(file.municipality_code)).all()
    rows += [
        [
            file.municipality_code,
            w.filename,
            "" if w.seq is None else str(w.seq),
            str(w.line_no),
            w.record_key or "",
            w.history_no or "",
            "0",
            w.code,
            f"取下げ: {w.code} の原因がなくなりました(ほかの市町村の異動が届き、適用期間がつながりました)",
            when,
        ]
        for w in withdrawn
    ]
    rows.append(
        [
            file.municipality_code,
            file.filename,
            seq,
            "",
            "",
            "",
            _summary_result(file),
            file.error_code or "",
            _summary_message(file),
            when,
        ]
    )
    staged = _release(ctx, conn, actor, muni, outbox.KKKK, rows, out_dir, inbound_file_id=file.file_id)
    if withdrawn and staged is not None:
        conn.execute(
            update(ingest_result)
            .where(r.result_id.in_([w.result_id for w in withdrawn]))
            .values(withdrawal_reported=_outbound_id(staged))
        )
    return staged


def _release(
    ctx: Context,
    conn: Connection,
    actor: Actor,
    muni: Any,
    layout: outbox.OutboundLayout,
    rows: outbox.Rows,
    out_dir: Path,
    inbound_file_id: int | None = None,
) -> outbox.Staged:
    """One return file of the municipality through the outbox guard, in ``conn``'s transaction."""
    return outbox.release(
        conn,
        ctx.vault,
        layout=layout,
        municipality_code=muni.municipality_code,
        insurer_number=muni.insurer_number,
        encoding=muni.encoding,
        rows=rows,
        out_dir=out_dir,
        now=ctx.clock(),
        actor=actor.login_id,
        inbound_file_id=inbound_file_id,
    )


def _summary_result(file: Any) -> str:
    status = file.status
    if status in (ledger.APPLIED, ledger.DUPLICATE):
        return "1" if file.warning_count or file.error_count else "0"
    return "9"


def _summary_message(file: Any) -> str:
    status = file.status
    counts = (
        f"件数 {file.record_count}、反映 {file.applied_count}、警告 {file.warning_count}、エラー {file.error_count}"
    )
    label = {
        ledger.APPLIED: "反映済み",
        ledger.DUPLICATE: "重複受信",
        ledger.REJECTED: "受付不可(ファイル全体を反映していません)",
        ledger.HELD: "保留(ファイル全体を反映していません)",
    }.get(status, status)
    detail = file.message or ""
    return f"{label}: {counts}" + (f" — {detail}" if detail and status != ledger.APPLIED else "")


def _idtb(ctx: Context, conn: Connection, actor: Actor, muni: Any, out_dir: Path) -> outbox.Staged:
    """Every ID binding not yet sent, in the order it happened."""
    a = id_assignment.c
    code = muni.municipality_code
    outbox.hold(conn, code, outbox.IDTB.kind)  # before what is pending is read
    pending = read_frame(
        conn,
        select(
            a.assignment_id,
            a.municipality_code,
            a.atena_no,
            a.pref_person_id,
            a.setai_no,
            a.pref_household_id,
            a.assign_kind,
            a.prev_municipality_code,
            a.assigned_on,
        )
        .where(a.municipality_code == code, a.exported_file_id.is_(None))
        .order_by(a.assignment_id),
        IDTB_READ,
    )
    rows = pending.select(
        "municipality_code",
        "atena_no",
        "pref_person_id",
        pl.col("setai_no").fill_null(""),
        pl.col("pref_household_id").fill_null(""),
        "assign_kind",
        pl.col("prev_municipality_code").fill_null(""),
        pl.col("assigned_on").dt.strftime("%Y%m%d"),
    ).rows()
    staged = _release(ctx, conn, actor, muni, outbox.IDTB, rows, out_dir)
    # Exactly the rows in the file: an ingest that numbered a row before the last one read
    # and committed after the read has its row in the next IDTB, not marked sent unsent.
    update_rows(conn, a.assignment_id, pending["assignment_id"].to_list(), exported_file_id=_outbound_id(staged))
    return staged


def _outbound_id(staged: outbox.Staged) -> int:
    if staged.outbound_id is None:
        raise AssertionError(f"{staged.target.name}: released without its outbound_file row")
    return staged.outbound_id


def _kzkh(ctx: Context, conn: Connection, actor: Actor, muni: Any, out_dir: Path) -> outbox.Staged:
    """Continuity candidates for this destination that are new or changed status since the
    last KZKH. A candidate withdrawn before it was ever sent is not sent; one withdrawn
    after is sent as rejected, with the reason. Candidates decided for households that
    moved *out of* this municipality come too (both ends of a move know where the count
    went), without the destination's 世帯番号."""
    c = continuity_candidate.c
    code = muni.municipality_code
    outbox.hold(conn, code, outbox.KZKH.kind)  # before what is pending is read
    pending = conn.execute(
        select(continuity_candidate)
        .where(
            c.to_municipality_code == code,
            (c.reported_status.is_(None) & (c.status != CandidateStatus.WITHDRAWN))
            | (c.reported_status.is_not(None) & (c.reported_status != c.status)),
        )
        .order_by(c.candidate_id)
    ).all()
    decided = (CandidateStatus.CONFIRMED, CandidateStatus.REJECTED)
    departed = conn.execute(
        select(continuity_candidate)
        .where(
            c.from_municipality_code == code,
            c.to_municipality_code != code,
            (c.origin_reported_status.is_(None) & c.status.in_(decided))
            | (c.origin_reported_status.is_not(None) & (c.origin_reported_status != c.status)),
        )
        .order_by(c.candidate_id)
    ).all()
    rows = [_kzkh_row(p, p.to_setai_no) for p in pending] + [_kzkh_row(p, "") for p in departed]
    staged = _release(ctx, conn, actor, muni, outbox.KZKH, rows, out_dir)
    _mark_reported(conn, pending, "reported_status")
    _mark_reported(conn, departed, "origin_reported_status")
    return staged


def _mark_reported(conn: Connection, candidates: Sequence[Any], column: str) -> None:
    """Each candidate's status as sent, in one statement per status (not one a candidate)."""
    by_status: dict[str, list[int]] = {}
    for p in candidates:
        by_status.setdefault(p.status, []).append(p.candidate_id)
    for status, ids in by_status.items():
        update_rows(conn, continuity_candidate.c.candidate_id, ids, **{column: status})


def _kzkh_row(p: Any, setai_no: str) -> list[str]:
    state = CandidateStatus.REJECTED if p.status == CandidateStatus.WITHDRAWN else p.status
    reason = p.reason + (
        f" — {'取下げ' if p.status == 'withdrawn' else '却下'}: {p.decision_note}"
        if p.status in (CandidateStatus.REJECTED, CandidateStatus.WITHDRAWN)
        else ""
    )
    return [
        str(p.candidate_id),
        p.to_municipality_code,
        setai_no,
        p.to_household,
        p.from_municipality_code,
        p.from_household,
        p.change_date.strftime("%Y%m%d"),
        p.rule,
        "1" if p.continuous else "0",
        state,
        reason,
    ]


def _tskg(ctx: Context, conn: Connection, actor: Actor, muni: Any, out_dir: Path) -> outbox.Staged:
    """Counts computed or recomputed since the last TSKG (the current row of each household-month)."""
    t = tasuukai_count.c
    code = muni.municipality_code
    outbox.hold(conn, code, outbox.TSKG.kind)  # before what is pending is read
    pending = conn.execute(
        select(tasuukai_count)
        .where(t.municipality_code == code, t.exported_file_id.is_(None), t.superseded_at.is_(None))
        .order_by(t.month, t.setai_no)
    ).all()
    rows = [
        [
            code,
            p.setai_no,
            p.pref_household_id,
            p.month,
            str(p.hit_count),
            "1" if p.hit_count >= TASUUKAI_FROM else "0",
            p.months,
            p.predecessors,
            "1" if p.provisional else "0",
        ]
        for p in pending
    ]
    staged = _release(ctx, conn, actor, muni, outbox.TSKG, rows, out_dir)
    # Exactly the rows in the file: a count stored since they were read goes in the next one.
    if pending:
        update_rows(conn, t.row_id, [p.row_id for p in pending], exported_file_id=_outbound_id(staged))
    return staged


def _whole(
    build: Callable[[Context, Connection, Actor, Any, Path], outbox.Staged],
) -> Callable[[Context, Any], Iterator[Build]]:
    """A kind that is one file per export."""

    def builds(ctx: Context, muni: Any) -> Iterator[Build]:
        yield lambda conn, *, actor, out_dir: build(ctx, conn, actor, muni, out_dir)

    return builds


BUILDERS: dict[str, Callable[[Context, Any], Iterator[Build]]] = {
    "KKKK": _kkkk,
    "IDTB": _whole(_idtb),
    "KZKH": _whole(_kzkh),
    "TSKG": _whole(_tskg),
}
