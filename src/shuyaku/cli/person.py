"""Looking up an insured person."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from shuyaku.cli.base import (
    ShuyakuTyper,
    Table,
    _actor,
    _context,
    app,
    console,
)

person_app = ShuyakuTyper(help="被保険者の照会", no_args_is_help=True)
app.add_typer(person_app, name="person")


@person_app.command("show")
def person_show(
    municipality: Annotated[str, typer.Option(help="市町村コード")],
    atena: Annotated[str, typer.Option(help="宛名番号")],
    as_of: Annotated[
        str | None, typer.Option("--as-known-at", help="この時点で把握していた内容(ISO 日時、UTC)")
    ] = None,
) -> None:
    """被保険者の資格履歴(時点指定で過去に把握していた内容も)。"""
    from shuyaku.qualification.service import lookup_person

    ctx = _context()
    moment = datetime.fromisoformat(as_of) if as_of else None
    view = lookup_person(ctx, _actor(ctx), municipality, atena, moment)
    console.print(f"県被保険者ID {view.pref_person_id}  市町村 {view.municipality_code}  宛名番号 {view.atena_no}")
    table = Table(
        "履歴", "異動日", "事由", "世帯番号", "県世帯ID", "氏名", "資格取得", "資格喪失", "適用開始", "適用終了", "記録"
    )
    for r in view.records:
        table.add_row(
            str(r["history_no"]),
            str(r["change_date"]),
            r["reason_code"],
            r["setai_no"],
            r["pref_household_id"],
            r["name"],
            str(r["qualified_from"]),
            str(r["qualified_until"] or ""),
            str(r["applied_from"]),
            str(r["applied_to"] or ""),
            str(r["recorded_at"])[:19],
        )
    console.print(table)
