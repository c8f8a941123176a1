"""The register of personal-information work: organisation units, dated and attributed
versions of each registration, the yearly report to the council, the comparison across
departments, the records due for destruction and the 個人情報ファイル簿.

Every change is a new ``registration_version`` (nothing is updated), in one transaction
with its access event. The secretariat (``register_clerk``) edits; auditors read all; a
department's staff (``department_staff``) read their own unit's entries — another unit's
entry does not exist for them (the attempt is logged).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from shuyaku.access import policy
from shuyaku.access.actor import Actor
from shuyaku.audit.guard import guarded, require
from shuyaku.context import Context
from shuyaku.db.schema import org_unit, registration_version
from shuyaku.errors import Conflict, NotFoundError
from shuyaku.register.model import LABELS, RegisterError, Registration, changes, shown
from shuyaku.text import typed_text, wareki, without_controls

REG_NO_FORM = "英数字と - の1〜16文字"


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    established_on: date
    abolished_on: date | None
    successor: str | None


@dataclass(frozen=True)
class Version:
    reg_no: str
    version_no: int
    kind: str
    unit_code: str
    effective_on: date
    reason: str
    registration: Registration
    recorded_by: str


@dataclass(frozen=True)
class Entry:
    """A registration as registered on a day, with the unit that holds it (and the unit
    that registered it, when a reorganisation moved it)."""

    version: Version
    unit: str  # 担当課 now: "保険年金課(旧 国保課)"
    history: list[Version]

    @property
    def reg_no(self) -> str:
        return self.version.reg_no

    @property
    def registration(self) -> Registration:
        return self.version.registration

    @property
    def abolished(self) -> bool:
        return self.version.kind == "廃止"


# --- organisation units ----------------------------------------------------------------


def add_unit(ctx: Context, actor: Actor, code: str, name: str, established_on: date) -> Unit:
    _check_code("課コード", code)
    with guarded(ctx, actor, "register.edit", target=f"課 {code}") as access, ctx.engine.begin() as conn:
        if _unit_row(conn, code) is not None:
            raise Conflict(f"課コード {code} は登録済みです")
        conn.execute(
            insert(org_unit).values(
                unit_code=code,
                name=typed_text(name),
                established_on=established_on,
                recorded_at=ctx.clock(),
                recorded_by=actor.login_id,
            )
        )
        access.log(conn, action="register.unit", rows=1, detail=f"設置 {name}")
    return Unit(code, typed_text(name), established_on, None, None)


def reorganise(ctx: Context, actor: Actor, code: str, successor: str, on: date, reason: str) -> list[str]:
    """The unit is abolished (or merged) on ``on``; ``successor`` takes over every registration
    it holds then — each gets a 移管 version, so the history keeps who held it before.
    Returns the 登録番号 moved."""
    if code == successor:
        raise RegisterError("後継の課は別の課を指定してください")
    with guarded(ctx, actor, "register.edit", target=f"課 {code}") as access, ctx.engine.begin() as conn:
        unit, after = _unit_row(conn, code), _unit_row(conn, successor)
        if unit is None or after is None:
            raise NotFoundError(f"課コード {code if unit is None else successor} はありません")
        if unit.abolished_on is not None:
            raise Conflict(f"課 {code} は {unit.abolished_on} に廃止済みです(後継 {unit.successor})")
        conn.execute(update(org_unit).where(org_unit.c.unit_code == code).values(abolished_on=on, successor=successor))
        moved = []
        for current in _latest(conn, on, unit_code=code):
            if current.kind == "廃止":
                continue
            _append(conn, ctx, actor, current.reg_no, "移管", successor, on, reason, current.registration)
            moved.append(current.reg_no)
        access.log(
            conn, action="register.reorganise", rows=len(moved), detail=f"{code}→{successor} {on.isoformat()} {reason}"
        )
    return moved


def units(ctx: Context, actor: Actor) -> list[Unit]:
    with guarded(ctx, actor, "register.read") as access, ctx.reading() as conn:
        found = [_unit(r) for r in conn.execute(select(org_unit).order_by(org_unit.c.unit_code))]
        access.done(rows=len(found), action="register.units")
    return found


# --- registrations ---------------------------------------------------------------------


def add(
    ctx: Context, actor: Actor, reg_no: str, unit_code: str, registration: Registration, effective_on: date, reason: str
) -> Version:
    """追加: a new registration, version 1."""
    _check_code("登録番号", reg_no)
    with guarded(ctx, actor, "register.edit", target=f"登録 {reg_no}") as access, ctx.engine.begin() as conn:
        unit = _unit_row(conn, unit_code)
        if unit is None:
            raise NotFoundError(f"課コード {unit_code} はありません(shuyaku register unit add)")
        if unit.abolished_on is not None and unit.abolished_on <= effective_on:
            raise RegisterError(f"課 {unit_code} は {unit.abolished_on} に廃止されています(後継 {unit.successor})")
        if _versions(conn, reg_no):
            raise Conflict(f"登録番号 {reg_no} は登録済みです(変更は register change)")
        version = _append(conn, ctx, actor, reg_no, "追加", unit_code, effective_on, reason, registration)
        access.log(conn, action="register.add", rows=1, detail=f"{registration.name} {reason}")
    return version


def change(
    ctx: Context, actor: Actor, reg_no: str, registration: Registration, effective_on: date, reason: str
) -> tuple[Version, list[tuple[str, str, str]]]:
    """修正: the registration as it reads from ``effective_on``; returns what changed, item by item."""
    with guarded(ctx, actor, "register.edit", target=f"登録 {reg_no}") as access, ctx.engine.begin() as conn:
        current = _current(conn, reg_no)
        if current.kind == "廃止":
            raise Conflict(f"登録番号 {reg_no} は {current.effective_on} に廃止されています")
        if effective_on < current.effective_on:
            raise RegisterError(f"修正の日付は最後の版({current.effective_on})より前にできません")
        changed = changes(current.registration, registration)
        if not changed:
            raise RegisterError("変更された項目がありません")
        version = _append(conn, ctx, actor, reg_no, "修正", current.unit_code, effective_on, reason, registration)
        access.log(conn, action="register.change", rows=1, detail=f"{'、'.join(c[0] for c in changed)} {reason}")
    return version, changed


def abolish(ctx: Context, actor: Actor, reg_no: str, on: date, reason: str) -> Version:
    """廃止: the business ends on ``on``; its records are kept until the 保存年限, then destroyed."""
    with guarded(ctx, actor, "register.edit", target=f"登録 {reg_no}") as access, ctx.engine.begin() as conn:
        current = _current(conn, reg_no)
        if current.kind == "廃止":
            raise Conflict(f"登録番号 {reg_no} は {current.effective_on} に廃止済みです")
        if on < current.effective_on:
            raise RegisterError(f"廃止日は最後の版({current.effective_on})より前にできません")
        ended = replace(current.registration, abolished_on=on.isoformat())
        version = _append(conn, ctx, actor, reg_no, "廃止", current.unit_code, on, reason, ended)
        access.log(conn, action="register.abolish", rows=1, detail=reason)
    return version


def show(ctx: Context, actor: Actor, reg_no: str, as_of: date | None = None) -> Entry:
    """One registration as registered on ``as_of`` (default: its latest version)."""
    missing = f"登録番号 {reg_no} はありません"
    with ctx.reading() as conn:
        history = _versions(conn, reg_no)
        if not history:
            _deny_or_log(ctx, actor, reg_no)
            raise NotFoundError(missing)
        names = _unit_names(conn)
    known = [v for v in history if as_of is None or v.effective_on <= as_of]
    latest = history[-1]
    with guarded(ctx, actor, "register.read", target=f"登録 {reg_no}") as access:
        if not _may_read(actor, latest):  # another unit's entry: answered as missing, logged as refused
            access.record(outcome="denied", rows=0, detail="担当外の課の登録")
            raise NotFoundError(missing)
        if not known:
            raise NotFoundError(
                f"登録番号 {reg_no} は {as_of} にはまだ登録されていません(追加 {history[0].effective_on})"
            )
        access.done(rows=1)
    version = known[-1]
    return Entry(version, _unit_label(version, history, names), known)


def entries(ctx: Context, actor: Actor, as_of: date | None = None, *, include_abolished: bool = False) -> list[Entry]:
    """Every registration as registered on ``as_of`` (default: today's latest versions)."""
    with guarded(ctx, actor, "register.read") as access, ctx.reading() as conn:
        latest = _latest(conn, as_of)
        names = _unit_names(conn)
        every = {v.reg_no: _versions(conn, v.reg_no) for v in latest}
        found = [
            Entry(
                v, _unit_label(v, every[v.reg_no], names), [h for h in every[v.reg_no] if h.version_no <= v.version_no]
            )
            for v in latest
            if _may_read(actor, v) and (include_abolished or v.kind != "廃止")
        ]
        access.done(rows=len(found), action="register.list", detail=f"as_of={as_of.isoformat() if as_of else 'now'}")
    return found


@dataclass(frozen=True)
class Comparison:
    left: Entry
    right: Entry
    similarity: float
    common: list[str]
    only_left: list[str]
    only_right: list[str]


def compare(ctx: Context, actor: Actor, threshold: float = 0.6, as_of: date | None = None) -> list[Comparison]:
    """Registrations of *different* units whose 業務の名称 or 目的 are the same or similar
    (difflib ratio ≥ ``threshold``), with their item sets set side by side — the council's
    question why two departments doing the same work register different items."""
    found = entries(ctx, actor, as_of)
    pairs = []
    for i, left in enumerate(found):
        for right in found[i + 1 :]:
            if left.version.unit_code == right.version.unit_code:
                continue
            a, b = left.registration, right.registration
            ratio = max(
                difflib.SequenceMatcher(None, a.name, b.name).ratio(),
                difflib.SequenceMatcher(None, a.purpose, b.purpose).ratio(),
            )
            if ratio < threshold:
                continue
            pairs.append(
                Comparison(
                    left,
                    right,
                    round(ratio, 2),
                    [x for x in a.items if x in b.items],
                    [x for x in a.items if x not in b.items],
                    [x for x in b.items if x not in a.items],
                )
            )
    return sorted(pairs, key=lambda c: -c.similarity)


@dataclass(frozen=True)
class Destruction:
    entry: Entry
    abolished_on: date
    due_on: date  # the day the collected records reach their 保存年限

    def due_within(self, today: date) -> bool:
        return self.due_on <= _years_after(today, 1)


def destruction(ctx: Context, actor: Actor, today: date) -> list[Destruction]:
    """Every abolished registration with the day its records reach their 保存年限
    (abolition + 保存年限 years); ``due_within(today)``: due in the coming year (or overdue)."""
    out = []
    for entry in entries(ctx, actor, include_abolished=True):
        if not entry.abolished:
            continue
        ended = date.fromisoformat(entry.registration.abolished_on or entry.version.effective_on.isoformat())
        out.append(Destruction(entry, ended, _years_after(ended, entry.registration.retention_years)))
    return sorted(out, key=lambda d: d.due_on)


def sync_own(
    ctx: Context, actor: Actor, unit_code: str, effective_on: date, contractor: str | None = None
) -> tuple[str, list[tuple[str, str, str]]]:
    """shuyaku's own registration made from its data inventory (``register/own.py``) and the
    registered municipalities: added when missing, changed when it differs ("追加", "修正"
    or "一致", with what changed)."""
    from shuyaku.db.schema import municipality
    from shuyaku.register import own

    require(ctx, actor, "register.edit", target=f"登録 {own.REG_NO}")
    with ctx.reading() as conn:
        codes = [
            str(c)
            for c in conn.execute(select(municipality.c.municipality_code).order_by("municipality_code")).scalars()
        ]
        history = _versions(conn, own.REG_NO)
    if not history:
        made = own.registration(codes, effective_on.isoformat(), contractor)
        add(ctx, actor, own.REG_NO, unit_code, made, effective_on, "データ目録から登録")
        return "追加", []
    current = history[-1].registration
    wanted = replace(own.registration(codes, current.started_on, contractor), outside_uses=current.outside_uses)
    if wanted == current:
        return "一致", []
    _, changed = change(ctx, actor, own.REG_NO, wanted, effective_on, "データ目録の変更に合わせる")
    return "修正", changed


# --- the yearly report and the file register --------------------------------------------


@dataclass
class YearReport:
    fiscal_year: int
    additions: list[Entry]
    modifications: list[tuple[Entry, list[tuple[str, str, str]]]]
    abolitions: list[Entry]
    transfers: list[Entry]
    approvals: list[tuple[str, str, str, str, Any]]  # 登録番号, 業務の名称, 担当課, 目的外利用 / 外部提供, Approval


def fiscal_year(year: int) -> tuple[date, date]:
    """年度: 1 April to 31 March."""
    return date(year, 4, 1), date(year + 1, 3, 31)


def year_report(ctx: Context, actor: Actor, year: int) -> YearReport:
    """The 年度's 追加 / 修正 (item by item) / 廃止 / 移管, and the 目的外利用 and 外部提供
    approved in it."""
    first, last = fiscal_year(year)
    report = YearReport(year, [], [], [], [], [])
    with guarded(ctx, actor, "register.read") as access, ctx.reading() as conn:
        names = _unit_names(conn)
        rows = conn.execute(
            select(registration_version.c.reg_no)
            .where(registration_version.c.effective_on.between(first, last))
            .distinct()
            .order_by(registration_version.c.reg_no)
        ).scalars()
        for reg_no in list(rows):
            history = _versions(conn, reg_no)
            if not _may_read(actor, history[-1]):
                continue
            for i, v in enumerate(history):
                if not first <= v.effective_on <= last:
                    continue
                entry = Entry(v, _unit_label(v, history, names), history[: i + 1])
                if v.kind == "追加":
                    report.additions.append(entry)
                elif v.kind == "修正":
                    report.modifications.append((entry, changes(history[i - 1].registration, v.registration)))
                elif v.kind == "廃止":
                    report.abolitions.append(entry)
                else:
                    report.transfers.append(entry)
            seen = set()
            for v in history:
                for label, approvals in (
                    ("目的外利用", v.registration.outside_uses),
                    ("外部提供", v.registration.provisions),
                ):
                    for a in approvals:
                        if first <= date.fromisoformat(a.approved_on) <= last and (label, a) not in seen:
                            seen.add((label, a))
                            unit = _unit_label(v, history, names)
                            report.approvals.append((reg_no, v.registration.name, unit, label, a))
        access.done(
            rows=len(report.additions) + len(report.modifications) + len(report.abolitions), action="register.report"
        )
    return report


FILE_REGISTER_COLUMNS = (
    "個人情報ファイルの名称",
    "行政機関等の名称及び個人情報ファイルが利用に供される事務をつかさどる組織の名称",
    "個人情報ファイルの利用目的",
    "記録項目",
    "記録範囲",
    "記録情報の収集方法",
    "要配慮個人情報が含まれるときは、その旨",
    "記録情報の経常的提供先",
    "保存年限",
    "登録番号",
)


def file_register(ctx: Context, actor: Actor, body: str, as_of: date | None = None) -> list[list[str]]:
    """The 個人情報ファイル簿 as published: one row per registration in force, no personal
    data of anyone (the items are categories, the parties are bodies)."""
    return [
        [
            e.registration.name,
            f"{body} {e.unit}",
            e.registration.purpose,
            "、".join(e.registration.items),
            e.registration.subjects,
            "、".join(e.registration.sources),
            "含む" if e.registration.sensitive else "含まない",
            "、".join(p.party for p in e.registration.provisions) or "なし",
            f"{e.registration.retention_years}年",
            e.reg_no,
        ]
        for e in entries(ctx, actor, as_of)
    ]


def year_report_rows(report: YearReport) -> list[tuple[str, list[list[str]]]]:
    """The sections of the report as rows: 区分, 登録番号, 業務の名称, 担当課, 日付(和暦), 内容."""

    def day(v: Version) -> str:
        return wareki(v.effective_on)

    sections: list[tuple[str, list[list[str]]]] = [
        (
            "追加",
            [
                [e.reg_no, e.registration.name, e.unit, day(e.version), f"目的: {e.registration.purpose}"]
                for e in report.additions
            ],
        ),
        (
            "修正",
            [
                [e.reg_no, e.registration.name, e.unit, day(e.version), f"{item}: {old} → {new}"]
                for e, changed in report.modifications
                for item, old, new in changed
            ],
        ),
        (
            "廃止",
            [
                [
                    e.reg_no,
                    e.registration.name,
                    e.unit,
                    day(e.version),
                    f"{e.version.reason}(記録は保存年限 {e.registration.retention_years}年まで保存し、その後廃棄)",
                ]
                for e in report.abolitions
            ],
        ),
        (
            "移管(組織改正)",
            [[e.reg_no, e.registration.name, e.unit, day(e.version), e.version.reason] for e in report.transfers],
        ),
        (
            "目的外利用・外部提供の承認",
            [
                [
                    reg_no,
                    name,
                    unit,
                    wareki(date.fromisoformat(a.approved_on)),
                    f"{label} {a.party}: {a.content}(根拠 {a.basis})",
                ]
                for reg_no, name, unit, label, a in report.approvals
            ],
        ),
    ]
    return sections


def write_year_report(
    ctx: Context, actor: Actor, year: int, *, pdf_path: Path | None = None, csv_path: Path | None = None
) -> tuple[YearReport, list[Path]]:
    from shuyaku.reports import pdf
    from shuyaku.reports.service import _write_csv
    from shuyaku.timeutil import jst_date

    report = year_report(ctx, actor, year)
    sections = year_report_rows(report)
    columns = ("登録番号", "業務の名称", "担当課", "日付", "内容")
    written = []
    if csv_path:
        flat = [[title, *row] for title, rows in sections for row in rows]
        written.append(_write_csv(csv_path, ("区分", *columns), flat))
    if pdf_path:
        first, last = fiscal_year(year)
        written.append(
            pdf.write(
                pdf.Document(
                    f"{_nendo(year)}度 個人情報取扱業務登録の報告(追加・修正・廃止)",
                    jst_date(ctx.clock()),
                    (first, last),
                    actor.login_id,
                    columns,
                    (22, 55, 40, 32, 118),
                    [],
                    sections,
                ),
                pdf_path,
            )
        )
    return report, written


def _nendo(year: int) -> str:
    from shuyaku.text import wareki_year

    return wareki_year(date(year, 4, 1))


# --- storage ---------------------------------------------------------------------------


def _append(
    conn: Connection,
    ctx: Context,
    actor: Actor,
    reg_no: str,
    kind: str,
    unit_code: str,
    effective_on: date,
    reason: str,
    registration: Registration,
) -> Version:
    if not reason.strip():
        raise RegisterError("理由は必須です(報告に載ります)")
    number = int(
        conn.execute(
            select(func.coalesce(func.max(registration_version.c.version_no), 0)).where(
                registration_version.c.reg_no == reg_no
            )
        ).scalar_one()
    )
    conn.execute(
        insert(registration_version).values(
            reg_no=reg_no,
            version_no=number + 1,
            kind=kind,
            unit_code=unit_code,
            effective_on=effective_on,
            reason=typed_text(reason),
            content=registration.to_json(),
            recorded_at=ctx.clock(),
            recorded_by=actor.login_id,
        )
    )
    return Version(reg_no, number + 1, kind, unit_code, effective_on, typed_text(reason), registration, actor.login_id)


def _version(row: Any) -> Version:
    return Version(
        row.reg_no,
        row.version_no,
        row.kind,
        row.unit_code,
        row.effective_on,
        row.reason,
        Registration.from_json(row.content),
        row.recorded_by,
    )


def _versions(conn: Connection, reg_no: str) -> list[Version]:
    rv = registration_version.c
    return [
        _version(r)
        for r in conn.execute(select(registration_version).where(rv.reg_no == reg_no).order_by(rv.version_no))
    ]


def _current(conn: Connection, reg_no: str) -> Version:
    history = _versions(conn, reg_no)
    if not history:
        raise NotFoundError(f"登録番号 {reg_no} はありません")
    return history[-1]


def _latest(conn: Connection, as_of: date | None, *, unit_code: str | None = None) -> list[Version]:
    """The last version of every registration effective on ``as_of`` (all, when None)."""
    rv = registration_version.c
    query = select(registration_version)
    if as_of is not None:
        query = query.where(rv.effective_on <= as_of)
    last: dict[str, Version] = {}
    for row in conn.execute(query.order_by(rv.reg_no, rv.version_no)):
        last[row.reg_no] = _version(row)
    found = list(last.values())
    return [v for v in found if unit_code is None or v.unit_code == unit_code]


def _unit(row: Any) -> Unit:
    return Unit(row.unit_code, row.name, row.established_on, row.abolished_on, row.successor)


def _unit_row(conn: Connection, code: str) -> Any:
    return conn.execute(select(org_unit).where(org_unit.c.unit_code == code)).first()


def _unit_names(conn: Connection) -> dict[str, str]:
    return {r.unit_code: r.name for r in conn.execute(select(org_unit.c.unit_code, org_unit.c.name))}


def _unit_label(version: Version, history: list[Version], names: dict[str, str]) -> str:
    """The unit holding it, and the one that registered it when a reorganisation moved it."""
    now = names.get(version.unit_code, version.unit_code)
    first = history[0].unit_code
    return now if first == version.unit_code else f"{now}(旧 {names.get(first, first)})"


def _may_read(actor: Actor, version: Version) -> bool:
    return actor.role != policy.DEPARTMENT or version.unit_code == actor.unit


def _deny_or_log(ctx: Context, actor: Actor, reg_no: str) -> None:
    with guarded(ctx, actor, "register.read", target=f"登録 {reg_no}") as access:
        access.done(rows=0)


def _check_code(label: str, code: str) -> None:
    if not code or len(code) > 16 or not all(c.isascii() and (c.isalnum() or c == "-") for c in code):
        raise RegisterError(f"{label}は{REG_NO_FORM}で指定してください(指定: {without_controls(code)[:20]})")


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


__all__ = [
    "LABELS",
    "Entry",
    "Registration",
    "Unit",
    "Version",
    "abolish",
    "add",
    "add_unit",
    "change",
    "compare",
    "destruction",
    "entries",
    "file_register",
    "reorganise",
    "show",
    "shown",
    "units",
    "write_year_report",
    "year_report",
]
