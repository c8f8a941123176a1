"""Build KKKK (取込結果) and IDTB (県ID対応表) for a municipality and release them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select, update

from shuyaku.access.actor import Actor
from shuyaku.context import Context
from shuyaku.db.schema import id_assignment, inbound_file, ingest_result, outbound_file
from shuyaku.exchange import ledger, outbox
from shuyaku.timeutil import jst_stamp

KINDS = ("KKKK", "IDTB")


class ExportError(ValueError):
    pass


def export(ctx: Context, actor: Actor, municipality_code: str, kind: str, out_dir: Path) -> list[Path]:
    actor.require_municipality(municipality_code)
    if kind not in KINDS:
        raise ExportError(f"--kind は {' / '.join(KINDS)} のいずれかです(指定: {kind})")
    try:
        with ctx.engine.begin() as conn:
            muni = ledger.municipality_row(conn, municipality_code)
            if muni is None:
                raise ExportError(f"市町村コード {municipality_code} は登録されていません")
            build = _kkkk if kind == "KKKK" else _idtb
            return build(ctx, conn, actor, muni, out_dir)
    except outbox.OutboxBlocked as blocked:
        # Nothing of the refused export stays (no file, no "sent" marks); the refusal does.
        with ctx.engine.begin() as conn:
            outbox.record_blocked(conn, blocked)
        raise


def _kkkk(ctx: Context, conn: Connection, actor: Actor, muni: Any, out_dir: Path) -> list[Path]:
    """One KKKK per inbound file not yet reported: a row per record with a problem, then the summary."""
    f, r = inbound_file.c, ingest_result.c
    reported = select(outbound_file.c.inbound_file_id).where(
        outbound_file.c.kind == "KKKK", outbound_file.c.status == "released", outbound_file.c.inbound_file_id.is_not(None))
    files = conn.execute(
        select(inbound_file).where(f.municipality_code == muni.municipality_code, f.file_id.not_in(reported))
        .order_by(f.file_id)
    ).all()
    written = []
    for file in files:
        when = jst_stamp(file.decided_at or file.received_at)
        seq = "" if file.seq is None else str(file.seq)
        problems = conn.execute(select(r.line_no, r.record_key, r.history_no, r.result, r.code, r.message)
                                .where(r.file_id == file.file_id).order_by(r.line_no)).all()
        rows = [[file.municipality_code, file.filename, seq, str(p.line_no), p.record_key or "", p.history_no or "",
                 p.result, p.code, p.message, when] for p in problems]
        rows.append([file.municipality_code, file.filename, seq, "", "", "", _summary_result(file), file.error_code or "",
                     _summary_message(file), when])
        written.append(outbox.release(
            conn, layout=outbox.KKKK, municipality_code=muni.municipality_code, insurer_number=muni.insurer_number,
            encoding=muni.encoding, rows=rows, out_dir=out_dir, now=ctx.clock(), actor=actor.login_id, inbound_file_id=file.file_id))
    return written


def _summary_result(file: Any) -> str:
    status = file.status
    if status in (ledger.APPLIED, ledger.DUPLICATE):
        return "1" if file.warning_count or file.error_count else "0"
    return "9"


def _summary_message(file: Any) -> str:
    status = file.status
    counts = f"件数 {file.record_count}、反映 {file.applied_count}、警告 {file.warning_count}、エラー {file.error_count}"
    label = {ledger.APPLIED: "反映済み", ledger.DUPLICATE: "重複受信", ledger.REJECTED: "受付不可(ファイル全体を反映していません)",
             ledger.HELD: "保留(ファイル全体を反映していません)"}.get(status, status)
    detail = file.message or ""
    return f"{label}: {counts}" + (f" — {detail}" if detail and status != ledger.APPLIED else "")


def _idtb(ctx: Context, conn: Connection, actor: Actor, muni: Any, out_dir: Path) -> list[Path]:
    """Every ID binding not yet sent, in the order it happened."""
    a = id_assignment.c
    code = muni.municipality_code
    pending = conn.execute(select(id_assignment).where(a.municipality_code == code, a.exported_file_id.is_(None))
                           .order_by(a.assignment_id)).all()
    rows = [[p.municipality_code, p.atena_no, p.pref_person_id, p.setai_no or "", p.pref_household_id or "", p.assign_kind,
             p.prev_municipality_code or "", p.assigned_on.strftime("%Y%m%d")] for p in pending]
    path = outbox.release(conn, layout=outbox.IDTB, municipality_code=code, insurer_number=muni.insurer_number,
                          encoding=muni.encoding, rows=rows, out_dir=out_dir, now=ctx.clock(), actor=actor.login_id)
    seq = conn.execute(select(outbound_file.c.outbound_id).where(outbound_file.c.filename == path.name)).scalar()
    if pending:
        conn.execute(update(id_assignment).where(
            a.municipality_code == code, a.exported_file_id.is_(None), a.assignment_id <= pending[-1].assignment_id,
        ).values(exported_file_id=seq))
    return [path]
