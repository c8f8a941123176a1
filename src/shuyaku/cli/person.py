"""Looking up an insured person."""

from __future__ import annotations

from typing import Annotated

import typer

from shuyaku.cli.base import (
    Format,
    ShuyakuTyper,
    _actor,
    _context,
    _emit,
    _moment,
    app,
    console,
)
from shuyaku.timeutil import shown

person_app = ShuyakuTyper(help="被保険者の照会", no_args_is_help=True)
app.add_typer(person_app, name="person")


@person_app.command("show")
def person_show(
    municipality: Annotated[str, typer.Option(help="市町村コード")],
    atena: Annotated[str, typer.Option(help="宛名番号")],
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-known-at",
            help="この時点で把握していた内容(YYYY-MM-DD はその日の終わり、YYYY-MM-DDTHH:MM は日本時間)",
        ),
    ] = None,
    fmt: Format = "table",
) -> None:
    """被保険者の資格履歴(時点指定で過去に把握していた内容も)。"""
    from shuyaku.qualification.service import lookup_person

    moment = _moment("--as-known-at", as_of) if as_of else None
    ctx = _context()
    view = lookup_person(ctx, _actor(ctx), municipality, atena, moment)
    columns = (
        ("pref_person_id", "県被保険者ID"),
        ("history_no", "履歴"),
        ("change_date", "異動日"),
        ("reason_code", "事由"),
        ("setai_no", "世帯番号"),
        ("pref_household_id", "県世帯ID"),
        ("name", "氏名"),
        ("qualified_from", "資格取得"),
        ("qualified_until", "資格喪失"),
        ("applied_from", "適用開始"),
        ("applied_to", "適用終了"),
        ("recorded_at", "記録(日本時間)"),
    )
    rows = [
        [
            view.pref_person_id,
            r["history_no"],
            str(r["change_date"]),
            r["reason_code"],
            r["setai_no"],
            r["pref_household_id"],
            r["name"],
            str(r["qualified_from"]),
            str(r["qualified_until"] or ""),
            str(r["applied_from"]),
            str(r["applied_to"] or ""),
            shown(r["recorded_at"]),
        ]
        for r in view.records
    ]
    if fmt != "table":
        _emit(fmt, columns, rows)
        return
    console.print(f"県被保険者ID {view.pref_person_id}  市町村 {view.municipality_code}  宛名番号 {view.atena_no}")
    when = f"{shown(moment)} の時点" if moment else "現在"
    _emit(fmt, columns[1:], [row[1:] for row in rows], empty=f"{when}で把握していた資格の記録はありません")
