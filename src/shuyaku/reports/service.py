"""The review reports (帳票): 利用者権限変更一覧 and アクセス記録点検表, as PDF and CSV.

Both read only the permission-change table and the access log: user IDs and names, never
a person's data. Creating a report is itself logged.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from shuyaku.access import policy
from shuyaku.access.actor import Actor
from shuyaku.audit import trail
from shuyaku.audit.guard import guarded
from shuyaku.context import Context
from shuyaku.db.schema import audit_event, number_erasure, permission_change
from shuyaku.errors import InvalidRequest
from shuyaku.files import replace_private
from shuyaku.reports import pdf
from shuyaku.text import csv_cell, wareki, without_controls
from shuyaku.timeutil import JST, jst_date

PERMISSION_COLUMNS = (
    "No",
    "変更日時",
    "区分",
    "利用者ID",
    "氏名",
    "所属",
    "変更前の役割",
    "変更後の役割",
    "担当範囲(変更前→変更後)",
    "変更者",
    "承認者",
    "理由",
)
PERMISSION_WIDTHS = (9, 25, 20, 22, 24, 32, 26, 26, 30, 18, 18, 23)
ERASURE_COLUMNS = ("番号", "消去日時", "県被保険者ID", "資格喪失日(最後)", "加入していた市町村", "実施者")
ERASURE_WIDTHS = (12, 34, 40, 60, 70, 30)
REVIEW_COLUMNS = ("日時(日本時間)", "利用者ID", "役割", "範囲", "操作", "対象", "件数", "結果", "内容")
REVIEW_WIDTHS = (26, 22, 26, 22, 30, 62, 12, 12, 51)
# Reads and writes of personal data (what the review looks at for hours and volume): every
# event whose purpose is an operation the policy marks as touching personal data.
PERSONAL_PURPOSES = frozenset(op.label for op in policy.OPERATIONS.values() if op.personal_data)


class ReportError(InvalidRequest, ValueError):
    pass


@dataclass
class ReportFiles:
    rows: int
    files: list[Path] = field(default_factory=list)


def _span(start: date, end: date) -> tuple[datetime, datetime]:
    if end < start:
        raise ReportError(f"期間の終わり({end.isoformat()})が始まり({start.isoformat()})より前です")
    return datetime.combine(start, time(), JST), datetime.combine(end + timedelta(days=1), time(), JST)


def _role(code: str | None) -> str:
    return policy.ROLES.get(code or "", code or "")


def _jst(moment: datetime) -> str:
    return moment.astimezone(JST).strftime("%Y-%m-%d %H:%M")


def _write_csv(path: Path, columns: tuple[str, ...], rows: list[list[str]]) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    # Names, log-in IDs and targets come from people (or from whoever typed a log-in ID):
    # no cell may start a formula in the spreadsheet an auditor opens it with.
    writer.writerows([[csv_cell(without_controls(str(v))) for v in row] for row in rows])
    replace_private(path, b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8"))  # BOM: spreadsheets read it as UTF-8
    return path


def permissions(
    ctx: Context, actor: Actor, start: date, end: date, *, pdf_path: Path | None = None, csv_path: Path | None = None
) -> ReportFiles:
    """利用者権限変更一覧: every account change in [start, end] (JST dates)."""
    access = guarded(ctx, actor, "report.permissions")
    lo, hi = _span(start, end)
    p = permission_change.c
    with ctx.engine.connect() as conn:
        changes = conn.execute(select(permission_change).where(p.at >= lo, p.at < hi).order_by(p.at, p.change_id)).all()
    rows = [
        [
            str(i),
            _jst(c.at),
            c.kind,
            c.login_id,
            c.name,
            c.organisation,
            _role(c.role_before),
            _role(c.role_after),
            f"{c.scope_before or ('県全体' if c.role_before else '')}→{c.scope_after or '県全体'}",
            c.changed_by,
            c.approved_by or "",
            c.reason or "",
        ]
        for i, c in enumerate(changes, 1)
    ]
    out = ReportFiles(len(rows))
    if csv_path:
        out.files.append(_write_csv(csv_path, PERMISSION_COLUMNS, rows))
    if pdf_path:
        out.files.append(
            pdf.write(
                pdf.Document(
                    "利用者権限変更一覧",
                    jst_date(ctx.clock()),
                    (start, end),
                    actor.login_id,
                    PERMISSION_COLUMNS,
                    PERMISSION_WIDTHS,
                    rows,
                ),
                pdf_path,
            )
        )
    access.record(
        target=f"{start.isoformat()}〜{end.isoformat()}", rows=len(rows), detail=" ".join(p.name for p in out.files)
    )
    return out


def erasures(
    ctx: Context, actor: Actor, start: date, end: date, *, pdf_path: Path | None = None, csv_path: Path | None = None
) -> ReportFiles:
    """消去記録: every individual number erased from the vault in [start, end] (JST dates),
    with the person's 県被保険者ID and the last day of NHI in the prefecture (和暦)."""
    access = guarded(ctx, actor, "report.erasures")
    lo, hi = _span(start, end)
    e = number_erasure.c
    with ctx.engine.connect() as conn:
        found = conn.execute(
            select(number_erasure).where(e.erased_at >= lo, e.erased_at < hi).order_by(e.erasure_id)
        ).all()
    rows = [
        [
            str(i),
            _jst(x.erased_at),
            x.pref_person_id,
            f"{wareki(x.qualified_until)}({x.qualified_until.isoformat()})",
            x.municipalities.replace(";", "、"),
            x.actor,
        ]
        for i, x in enumerate(found, 1)
    ]
    out = ReportFiles(len(rows))
    if csv_path:
        out.files.append(_write_csv(csv_path, ERASURE_COLUMNS, rows))
    if pdf_path:
        document = pdf.Document(
            "個人番号の消去記録",
            jst_date(ctx.clock()),
            (start, end),
            actor.login_id,
            ERASURE_COLUMNS,
            ERASURE_WIDTHS,
            rows,
        )
        out.files.append(pdf.write(document, pdf_path))
    access.record(
        target=f"{start.isoformat()}〜{end.isoformat()}", rows=len(rows), detail=" ".join(p.name for p in out.files)
    )
    return out


@dataclass(frozen=True)
class ReviewRules:
    day_starts: int = 8  # 時間外: before 8:00, from 19:00, and weekends
    day_ends: int = 19
    bulk_per_day: int = 100  # 大量照会: more look-ups than this by one user in a day …
    bulk_rows: int = 1000  # … or one access returning more rows than this


_DETAIL_KEYS = {
    "status": "結果",
    "code": "コード",
    "records": "件数",
    "errors": "エラー",
    "warnings": "警告",
    "as_known_at": "時点",
}
_DETAIL_VALUES = {
    "applied": "反映",
    "duplicate": "重複",
    "rejected": "受付不可",
    "held": "保留",
    "released": "保留解除",
    "proposed": "提案",
    "confirmed": "確定",
    "withdrawn": "取下げ",
    "all": "すべて",
    "now": "現在",
}


def detail_label(detail: str) -> str:
    """An access-log detail (``status=applied code= records=104``) in the words of the 帳票."""
    words = []
    for word in detail.split(" "):
        key, sep, value = word.partition("=")
        if sep and key in _DETAIL_KEYS:
            words.append(f"{_DETAIL_KEYS[key]}={_DETAIL_VALUES.get(value, value)}")
        else:
            words.append(_DETAIL_VALUES.get(word, word))
    return " ".join(words)


def access_review(
    ctx: Context,
    actor: Actor,
    start: date,
    end: date,
    *,
    pdf_path: Path | None = None,
    csv_path: Path | None = None,
    rules: ReviewRules = ReviewRules(),
) -> ReportFiles:
    """アクセス記録点検表: off-hours access, bulk look-ups, attempts outside a user's scope
    (refused), exports and failed logins in [start, end]."""
    access = guarded(ctx, actor, "report.access_review")
    lo, hi = _span(start, end)
    e = audit_event.c
    with ctx.engine.connect() as conn:
        events = conn.execute(
            select(audit_event).where(e.at_utc >= trail.utc_text(lo), e.at_utc < trail.utc_text(hi)).order_by(e.seq)
        ).all()

    def local(ev: Any) -> datetime:
        return datetime.strptime(ev.at_utc, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).astimezone(JST)

    def row(ev: Any, at: datetime) -> list[str]:
        return [
            at.strftime("%Y-%m-%d %H:%M:%S"),
            ev.actor,
            _role(ev.role),
            ev.scope,
            policy.action_label(ev.action),
            ev.target,
            str(ev.row_count),
            policy.OUTCOMES.get(ev.outcome, ev.outcome),
            detail_label(ev.detail),
        ]

    timed = [(ev, local(ev)) for ev in events]
    personal = [(ev, at) for ev, at in timed if ev.purpose in PERSONAL_PURPOSES and ev.outcome == "ok"]
    off_hours = [
        (ev, at) for ev, at in personal if at.weekday() >= 5 or not rules.day_starts <= at.hour < rules.day_ends
    ]
    per_day = Counter((ev.actor, at.date()) for ev, at in personal if ev.action == "person.read")
    bulk = [
        (ev, at)
        for ev, at in personal
        if per_day[(ev.actor, at.date())] > rules.bulk_per_day
        and ev.action == "person.read"
        or ev.row_count > rules.bulk_rows
    ]
    denied = [(ev, at) for ev, at in timed if ev.outcome == "denied"]
    exports = [(ev, at) for ev, at in timed if ev.action == "export" and ev.outcome == "ok"]
    failed_logins = [(ev, at) for ev, at in timed if ev.action == "login" and ev.outcome == "failed"]
    sections = [
        (
            f"時間外のアクセス({rules.day_starts}時前・{rules.day_ends}時以降・土日)",
            [row(ev, at) for ev, at in off_hours],
        ),
        (
            f"大量の照会(1日 {rules.bulk_per_day} 件超、または1回 {rules.bulk_rows:,} 件超)",
            [row(ev, at) for ev, at in bulk],
        ),
        ("担当外・権限外のアクセス(拒否したもの)", [row(ev, at) for ev, at in denied]),
        ("ファイルの出力", [row(ev, at) for ev, at in exports]),
        ("ログインの失敗", [row(ev, at) for ev, at in failed_logins]),
    ]
    total = sum(len(r) for _, r in sections)
    out = ReportFiles(total)
    if csv_path:
        flat = [[heading, *r] for heading, rows in sections for r in rows]
        out.files.append(_write_csv(csv_path, ("区分", *REVIEW_COLUMNS), flat))
    if pdf_path:
        out.files.append(
            pdf.write(
                pdf.Document(
                    "アクセス記録点検表",
                    jst_date(ctx.clock()),
                    (start, end),
                    actor.login_id,
                    REVIEW_COLUMNS,
                    REVIEW_WIDTHS,
                    [],
                    sections,
                ),
                pdf_path,
            )
        )
    access.record(
        target=f"{start.isoformat()}〜{end.isoformat()}", rows=total, detail=" ".join(p.name for p in out.files)
    )
    return out
