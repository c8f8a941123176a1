"""個人情報取扱業務登録: units, registrations and their versions, the yearly report."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from shuyaku.cli.base import (
    Format,
    ShuyakuTyper,
    Table,
    _date,
    _emit,
    _fail,
    _os_reason,
    _out_file,
    _session,
    app,
    console,
)
from shuyaku.timeutil import jst_date, utc_now

register_app = ShuyakuTyper(help="個人情報取扱業務登録(個人情報ファイル簿)", no_args_is_help=True)
app.add_typer(register_app, name="register")
unit_app = ShuyakuTyper(help="組織(課・室)と組織改正", no_args_is_help=True)
register_app.add_typer(unit_app, name="unit")

Reason = Annotated[str, typer.Option(help="理由(報告に載る)")]
Effective = Annotated[str | None, typer.Option("--effective", help="適用日 YYYY-MM-DD(既定: 今日)")]
AsOf = Annotated[str | None, typer.Option("--as-of", help="この日に登録されていた内容 YYYY-MM-DD(既定: 最新)")]


def _today() -> date:
    return jst_date(utc_now())


def _read_registration(path: Path | None, base: dict[str, Any] | None = None, sets: list[str] | None = None) -> Any:
    """The registration from a JSON file (its keys: docs/register.md), or the current one with
    ``--set KEY=VALUE`` items changed."""
    from shuyaku.register.model import RegisterError, Registration

    data: dict[str, Any] = dict(base or {})
    if path is not None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise _fail(f"--file {path}: {_os_reason(exc)}") from None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise _fail(f"--file {path}: JSON として読めません({type(exc).__name__})") from None
        if not isinstance(data, dict):
            raise _fail(f"--file {path}: JSON のオブジェクト({{…}})にしてください")
    for item in sets or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise _fail(f"--set は 項目=値 で指定してください(指定: {item})")
        if key in ("items", "sources"):
            data[key] = [v.strip() for v in value.split(",") if v.strip()]
        elif key == "retention_years":
            data[key] = value
        elif key in ("sensitive", "computer", "online"):
            data[key] = value.lower() in ("1", "true", "有", "yes")
        else:
            data[key] = value
    try:
        return Registration.from_mapping(data)
    except RegisterError as exc:
        raise _fail(str(exc)) from None
    except ValueError:
        raise _fail("retention_years(保存年限)は整数で指定してください") from None


@unit_app.command("add")
def unit_add(
    code: Annotated[str, typer.Argument(help="課コード(英数字と -)")],
    name: Annotated[str, typer.Argument(help="課の名称")],
    established: Annotated[str | None, typer.Option(help="設置日 YYYY-MM-DD(既定: 今日)")] = None,
) -> None:
    """課・室を登録する。"""
    from shuyaku.register import service

    day = _date("--established", established) if established else _today()
    unit = service.add_unit(*_session(), code, name, day)
    console.print(f"✓ 課 {unit.code} {unit.name} を登録しました({unit.established_on} 設置)")


@unit_app.command("reorganise")
def unit_reorganise(
    code: Annotated[str, typer.Argument(help="廃止・統合される課のコード")],
    successor: Annotated[str, typer.Option(help="業務を引き継ぐ課のコード")],
    on: Annotated[str, typer.Option("--date", help="組織改正の日 YYYY-MM-DD")],
    reason: Reason,
) -> None:
    """組織改正: 課を廃止し、その課の登録を後継の課へ移す(履歴は残り、新旧の名称を表示)。"""
    from shuyaku.register import service

    day = _date("--date", on)
    moved = service.reorganise(*_session(), code, successor, day, reason)
    console.print(f"✓ 課 {code} を {day} に廃止し、登録 {len(moved)} 件を {successor} へ移しました: {', '.join(moved)}")


@unit_app.command("list")
def unit_list(fmt: Format = "table") -> None:
    """課・室の一覧(廃止された課と後継の課も)。"""
    from shuyaku.register import service

    found = service.units(*_session())
    columns = (
        ("code", "課コード"),
        ("name", "名称"),
        ("established_on", "設置日"),
        ("abolished_on", "廃止日"),
        ("successor", "後継"),
    )
    rows = [[u.code, u.name, u.established_on.isoformat(), u.abolished_on or "", u.successor or ""] for u in found]
    _emit(fmt, columns, rows, empty="課は登録されていません(shuyaku register unit add)")


@register_app.command("add")
def register_add(
    reg_no: Annotated[str, typer.Argument(help="登録番号")],
    unit: Annotated[str, typer.Option(help="担当課のコード")],
    file: Annotated[Path, typer.Option(help="登録内容の JSON(項目は docs/register.md)")],
    reason: Reason = "新規登録",
    effective: Effective = None,
) -> None:
    """業務を追加登録する(版 1)。"""
    from shuyaku.register import service

    registration = _read_registration(file)
    day = _date("--effective", effective) if effective else _today()
    version = service.add(*_session(), reg_no, unit, registration, day, reason)
    console.print(f"✓ 登録 {reg_no}「{registration.name}」を追加しました(版 {version.version_no}、{day} から)")


@register_app.command("change")
def register_change(
    reg_no: Annotated[str, typer.Argument(help="登録番号")],
    reason: Reason,
    file: Annotated[Path | None, typer.Option(help="修正後の登録内容の JSON(全体)")] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="項目=値 で一部だけ変える(items はカンマ区切り)")
    ] = None,
    effective: Effective = None,
) -> None:
    """登録を修正する(新しい版として残し、変わった項目を表示する)。"""
    from shuyaku.register import service

    if file is None and not set_:
        raise _fail("--file か --set を指定してください")
    ctx, actor = _session()
    current = service.show(ctx, actor, reg_no)
    registration = _read_registration(file, asdict(current.registration), set_)
    day = _date("--effective", effective) if effective else _today()
    version, changed = service.change(ctx, actor, reg_no, registration, day, reason)
    console.print(f"✓ 登録 {reg_no} を修正しました(版 {version.version_no}、{day} から)")
    table = Table("項目", "変更前", "変更後")
    for item, old, new in changed:
        table.add_row(item, old, new)
    console.print(table)


@register_app.command("abolish")
def register_abolish(
    reg_no: Annotated[str, typer.Argument(help="登録番号")],
    on: Annotated[str, typer.Option("--date", help="廃止日 YYYY-MM-DD")],
    reason: Reason,
) -> None:
    """業務の廃止を登録する(集めた記録は保存年限まで保存し、その後廃棄)。"""
    from shuyaku.register import service

    day = _date("--date", on)
    version = service.abolish(*_session(), reg_no, day, reason)
    years = version.registration.retention_years
    console.print(
        f"✓ 登録 {reg_no} を {day} に廃止しました。記録の保存は {years} 年後まで(register destruction で確認)"
    )


@register_app.command("show")
def register_show(
    reg_no: Annotated[str, typer.Argument(help="登録番号")],
    as_of: AsOf = None,
    fmt: Format = "table",
) -> None:
    """1件の登録(その日に登録されていた内容と、そこまでの版の履歴)。"""
    from shuyaku.register import service
    from shuyaku.register.model import LABELS, shown

    day = _date("--as-of", as_of) if as_of else None
    entry = service.show(*_session(), reg_no, day)
    content = asdict(entry.registration)
    if fmt == "json":
        whole = {"reg_no": reg_no, "unit": entry.unit, "version": entry.version.version_no, **content}
        whole["history"] = [
            {
                "version": v.version_no,
                "kind": v.kind,
                "effective_on": v.effective_on.isoformat(),
                "reason": v.reason,
                "by": v.recorded_by,
            }
            for v in entry.history
        ]
        console.print_json(json.dumps(whole, ensure_ascii=False, default=str))
        return
    rows = [["登録番号", reg_no], ["担当課", entry.unit], ["版", str(entry.version.version_no)]]
    rows += [[LABELS[k], shown(k, getattr(entry.registration, k))] for k in content]
    if fmt == "csv":
        _emit(fmt, (("item", "項目"), ("value", "内容")), rows)
        return
    table = Table("項目", "内容", show_header=False)
    for row in rows:
        table.add_row(*row)
    console.print(table)
    history = Table("版", "区分", "適用日", "理由", "登録者")
    for v in entry.history:
        history.add_row(str(v.version_no), v.kind, v.effective_on.isoformat(), v.reason, v.recorded_by)
    console.print(history)


@register_app.command("list")
def register_list(
    as_of: AsOf = None,
    abolished: Annotated[bool, typer.Option("--abolished", help="廃止された登録も含める")] = False,
    fmt: Format = "table",
) -> None:
    """登録の一覧(その日に登録されていた内容)。課の職員には自課の登録だけ。"""
    from shuyaku.register import service

    day = _date("--as-of", as_of) if as_of else None
    found = service.entries(*_session(), day, include_abolished=abolished)
    columns = (
        ("reg_no", "登録番号"),
        ("name", "業務の名称"),
        ("unit", "担当課"),
        ("items", "項目数"),
        ("sensitive", "要配慮"),
        ("version", "版"),
        ("status", "状態"),
    )
    rows = [
        [
            e.reg_no,
            e.registration.name,
            e.unit,
            len(e.registration.items),
            "有" if e.registration.sensitive else "無",
            e.version.version_no,
            "廃止" if e.abolished else "有効",
        ]
        for e in found
    ]
    _emit(fmt, columns, rows, empty="登録はありません(その日より前の登録がない、または閲覧できる登録がない)")


@register_app.command("compare")
def register_compare(
    threshold: Annotated[float, typer.Option(help="名称・目的の似ている度合い(0〜1)")] = 0.6,
    as_of: AsOf = None,
) -> None:
    """課をまたいで名称・目的が同じか似ている登録を並べ、項目の違いを示す。"""
    from shuyaku.register import service

    if not 0 < threshold <= 1:
        raise _fail(f"--threshold は 0 より大きく 1 以下で指定してください(指定: {threshold})")
    day = _date("--as-of", as_of) if as_of else None
    pairs = service.compare(*_session(), threshold, day)
    if not pairs:
        console.print(f"似ている登録はありません(似ている度合い {threshold} 以上)")
        return
    for c in pairs:
        table = Table("", f"{c.left.reg_no} {c.left.unit}", f"{c.right.reg_no} {c.right.unit}")
        table.add_row("業務の名称", c.left.registration.name, c.right.registration.name)
        table.add_row("項目数", str(len(c.left.registration.items)), str(len(c.right.registration.items)))
        table.add_row("共通の項目", "、".join(c.common), "、".join(c.common))
        table.add_row("片方だけの項目", "、".join(c.only_left) or "なし", "、".join(c.only_right) or "なし")
        console.print(f"似ている度合い {c.similarity}")
        console.print(table)


@register_app.command("destruction")
def register_destruction(
    today: Annotated[str | None, typer.Option(help="基準日 YYYY-MM-DD(既定: 今日)")] = None,
    fmt: Format = "table",
) -> None:
    """廃止された登録の記録が保存年限に達する日と、今後1年以内に廃棄するもの。"""
    from shuyaku.register import service

    day = _date("--today", today) if today else _today()
    found = service.destruction(*_session(), day)
    columns = (
        ("reg_no", "登録番号"),
        ("name", "業務の名称"),
        ("unit", "担当課"),
        ("abolished_on", "廃止日"),
        ("due_on", "保存年限に達する日"),
        ("due", "1年以内に廃棄"),
    )
    rows = [
        [
            d.entry.reg_no,
            d.entry.registration.name,
            d.entry.unit,
            d.abolished_on.isoformat(),
            d.due_on.isoformat(),
            "○" if d.due_within(day) else "",
        ]
        for d in found
    ]
    _emit(fmt, columns, rows, empty="廃止された登録はありません")


@register_app.command("report")
def register_report(
    fiscal_year: Annotated[int, typer.Option(help="年度(西暦。2026 は 2026年4月〜2027年3月)")],
    pdf: Annotated[Path | None, typer.Option(help="PDF の出力先")] = None,
    csv_: Annotated[Path | None, typer.Option("--csv", help="CSV の出力先")] = None,
) -> None:
    """年度の報告(審議会へ): 追加・修正(項目ごと)・廃止・移管と、承認した目的外利用・外部提供。A4、和暦。"""
    from shuyaku.register import service

    if pdf is None and csv_ is None:
        raise _fail("--pdf か --csv(または両方)を指定してください")
    if not 1989 <= fiscal_year <= 2100:
        raise _fail(f"--fiscal-year は西暦の年で指定してください(指定: {fiscal_year})")
    _out_file("--pdf", pdf)
    _out_file("--csv", csv_)
    report, written = service.write_year_report(*_session(), fiscal_year, pdf_path=pdf, csv_path=csv_)
    console.print(
        f"✓ {fiscal_year}年度: 追加 {len(report.additions)}、修正 {len(report.modifications)}、廃止 {len(report.abolitions)}、"
        f"移管 {len(report.transfers)}、承認 {len(report.approvals)}: " + "、".join(str(p) for p in written)
    )


@register_app.command("publish")
def register_publish(
    csv_: Annotated[Path, typer.Option("--csv", help="個人情報ファイル簿の CSV の出力先")],
    body: Annotated[str, typer.Option(help="行政機関等の名称")] = "国民健康保険団体連合会",
    as_of: AsOf = None,
) -> None:
    """個人情報ファイル簿(公表用)を CSV で書く。誰の個人情報も載らない(項目の種類と提供先だけ)。"""
    from shuyaku.register import service
    from shuyaku.reports.service import _write_csv

    _out_file("--csv", csv_)
    day = _date("--as-of", as_of) if as_of else None
    rows = service.file_register(*_session(), body, day)
    _write_csv(csv_, service.FILE_REGISTER_COLUMNS, rows)
    console.print(f"✓ 個人情報ファイル簿 {len(rows)} 件: {csv_}")


@register_app.command("own")
def register_own(
    unit: Annotated[str, typer.Option(help="shuyaku を運用する課のコード")],
    contractor: Annotated[str | None, typer.Option(help="委託先(運用を委託している場合)")] = None,
    effective: Effective = None,
) -> None:
    """shuyaku 自身の業務登録をデータ目録(docs/data-inventory.md)から作る・合わせる。"""
    from shuyaku.register import own, service

    day = _date("--effective", effective) if effective else _today()
    done, changed = service.sync_own(*_session(), unit, day, contractor)
    if done == "追加":
        console.print(f"✓ 登録 {own.REG_NO} をデータ目録から追加しました")
    elif done == "一致":
        console.print(f"✓ 登録 {own.REG_NO} はデータ目録と一致しています")
    else:
        console.print(f"✓ 登録 {own.REG_NO} をデータ目録に合わせました: {'、'.join(c[0] for c in changed)}")
