"""Build KKKK (取込結果), IDTB (県ID対応表), KZKH (世帯継続性候補) and TSKG (多数回該当回数) for a
municipality and release them through the outbox guard."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select, update

from shuyaku.access.actor import Actor
from shuyaku.audit import trail
from shuyaku.context import Context
from shuyaku.db.schema import (
    continuity_candidate,
    id_assignment,
    inbound_file,
    ingest_result,
    municipality,
    outbound_file,
    tasuukai_count,
)
from shuyaku.exchange import ledger, outbox
from shuyaku.timeutil import jst_stamp

KINDS = ("KKKK", "IDTB", "KZKH", "TSKG")


class ExportError(ValueError):
    pass


def registered(ctx: Context) -> list[str]:
    """Every registered municipality, for an export to all of them."""
    with ctx.engine.connect() as conn:
        return list(conn.execute(select(municipality.c.municipality_code).order_by(municipality.c.municipality_code)).scalars())


def export(ctx: Context, actor: Actor, municipality_code: str, kind: str, out_dir: Path) -> list[Path]:
    trail.require(ctx, actor, "export", municipality_code, target=kind)
    written = _export(ctx, actor, municipality_code, kind, out_dir)
    trail.record(ctx, actor, trail.Event("export", target=f"{municipality_code} {kind} " + " ".join(p.name for p in written),
                                         purpose=trail.purpose_of("export"), row_count=len(written)))
    return written


def _export(ctx: Context, actor: Actor, municipality_code: str, kind: str, out_dir: Path) -> list[Path]:
    if kind not in KINDS:
        raise ExportError(f"--kind は {' / '.join(KINDS)} のいずれかです(指定: {kind})")
    try:
        with ctx.engine.begin() as conn:
            muni = ledger.municipality_row(conn, municipality_code)
            if muni is None:
                raise ExportError(f"市町村コード {municipality_code} は登録されていません")
            build = {"KKKK": _kkkk, "IDTB": _idtb, "KZKH": _kzkh, "TSKG": _tskg}[kind]
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
    seq = _outbound_id(conn, path)
    if pending:
        conn.execute(update(id_assignment).where(
            a.municipality_code == code, a.exported_file_id.is_(None), a.assignment_id <= pending[-1].assignment_id,
        ).values(exported_file_id=seq))
    return [path]


def _outbound_id(conn: Connection, path: Path) -> int:
    return int(conn.execute(select(outbound_file.c.outbound_id).where(outbound_file.c.filename == path.name)).scalar_one())


def _kzkh(ctx: Context, conn: Connection, actor: Actor, muni: Any, out_dir: Path) -> list[Path]:
    """Continuity candidates for this destination that are new or changed status since the
    last KZKH. A candidate withdrawn before it was ever sent is not sent; one withdrawn
    after is sent as rejected, with the reason."""
    c = continuity_candidate.c
    pending = conn.execute(select(continuity_candidate).where(
        c.to_municipality_code == muni.municipality_code,
        (c.reported_status.is_(None) & (c.status != "withdrawn")) | (c.reported_status.is_not(None) & (c.reported_status != c.status)),
    ).order_by(c.candidate_id)).all()
    rows = []
    for p in pending:
        state = "rejected" if p.status == "withdrawn" else p.status
        reason = p.reason + (f" — {'取下げ' if p.status == 'withdrawn' else '却下'}: {p.decision_note}" if p.status in ("rejected", "withdrawn") else "")
        rows.append([str(p.candidate_id), p.to_municipality_code, p.to_setai_no, p.to_household, p.from_municipality_code,
                     p.from_household, p.change_date.strftime("%Y%m%d"), p.rule, "1" if p.continuous else "0", state, reason])
    path = outbox.release(conn, layout=outbox.KZKH, municipality_code=muni.municipality_code, insurer_number=muni.insurer_number,
                          encoding=muni.encoding, rows=rows, out_dir=out_dir, now=ctx.clock(), actor=actor.login_id)
    for p in pending:
        conn.execute(update(continuity_candidate).where(c.candidate_id == p.candidate_id).values(reported_status=p.status))
    return [path]


def _tskg(ctx: Context, conn: Connection, actor: Actor, muni: Any, out_dir: Path) -> list[Path]:
    """Counts computed or recomputed since the last TSKG (the current row of each household-month)."""
    t = tasuukai_count.c
    code = muni.municipality_code
    pending = conn.execute(select(tasuukai_count).where(t.municipality_code == code, t.exported_file_id.is_(None),
                                                        t.superseded_at.is_(None)).order_by(t.month, t.setai_no)).all()
    rows = [[code, p.setai_no, p.pref_household_id, p.month, str(p.hit_count), "1" if p.hit_count >= 3 else "0", p.months,
             p.predecessors] for p in pending]
    path = outbox.release(conn, layout=outbox.TSKG, municipality_code=code, insurer_number=muni.insurer_number,
                          encoding=muni.encoding, rows=rows, out_dir=out_dir, now=ctx.clock(), actor=actor.login_id)
    conn.execute(update(tasuukai_count).where(t.municipality_code == code, t.exported_file_id.is_(None)).values(
        exported_file_id=_outbound_id(conn, path)))
    return [path]
