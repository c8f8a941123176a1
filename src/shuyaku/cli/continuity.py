"""世帯の継続性: candidates listed, confirmed, rejected."""

from __future__ import annotations

from typing import Annotated

import typer

from shuyaku.cli.base import (
    Format,
    ShuyakuTyper,
    Table,
    _coded,
    _emit,
    _session,
    app,
    console,
)
from shuyaku.household.candidates import STATUS_LABEL, Candidate
from shuyaku.timeutil import shown

continuity_app = ShuyakuTyper(help="世帯の継続性(県内転居・分離・合併の候補)", no_args_is_help=True)
app.add_typer(continuity_app, name="continuity")


_COLUMNS = (
    ("candidate_id", "候補番号"),
    ("change_date", "異動日"),
    ("rule", "規則"),
    ("judgement", "判定"),
    ("status", "状態"),
    ("to", "転入先 市町村・世帯番号・県世帯ID"),
    ("from", "転出元 市町村・世帯番号・県世帯ID"),
    ("reason", "理由"),
    ("persons", "世帯員(県被保険者ID:区分)"),
    ("decided", "決定(者・日時)"),
)


def _row(c: Candidate) -> list[object]:
    decided = f"{c.decided_by} {shown(c.decided_at)}" if c.decided_at else ""
    return [
        c.candidate_id,
        c.change_date.isoformat(),
        c.rule,
        "継続" if c.continuous else "非継続",
        STATUS_LABEL[c.status],
        f"{c.to_municipality_code} {c.to_setai_no} {c.to_household}",
        f"{c.from_municipality_code} {c.from_setai_no} {c.from_household}",
        c.reason + (f"({c.decision_note})" if c.decision_note else ""),
        " ".join(f"{p}:{part}" for p, part in c.persons.items()),
        decided,
    ]


@continuity_app.command("list")
def continuity_list(
    municipality: Annotated[str | None, typer.Option(help="転入先(判定する側)の市町村コード")] = None,
    status: Annotated[
        str | None, typer.Option(help="提案(proposed)/ 確定(confirmed)/ 却下(rejected)/ 取下げ(withdrawn)")
    ] = None,
    fmt: Format = "table",
) -> None:
    """世帯の継続性候補の一覧(規則・理由・見た世帯員つき)。"""
    from shuyaku.review import continuity as service

    code = _coded("--status", status, STATUS_LABEL)
    found = service.list_candidates(*_session(), municipality_code=municipality, status=code)
    scope = f"{municipality or '担当のすべての市町村'}・{STATUS_LABEL[code] if code else 'すべての状態'}"
    _emit(fmt, _COLUMNS, [_row(c) for c in found], empty=f"候補はありません({scope})")
    if fmt == "table" and found:
        console.print(f"{len(found):,} 件")


@continuity_app.command("show")
def continuity_show(
    candidate: Annotated[int, typer.Argument(help="候補番号")],
    fmt: Format = "table",
) -> None:
    """1件の候補: 規則・理由、転入先と転出元の世帯、判定で見た世帯員、決定の記録。"""
    from shuyaku.review import continuity as service

    c = service.get_candidate(*_session(), candidate)
    if fmt != "table":
        _emit(fmt, _COLUMNS, [_row(c)])
        return
    values = _row(c)
    table = Table("項目", "内容", show_header=False)
    for (_, label), value in zip(_COLUMNS, values, strict=True):
        if label.startswith("世帯員"):
            continue
        table.add_row(label, str(value))
    console.print(table)
    members = Table("県被保険者ID", "区分")
    for person, part in c.persons.items():
        members.add_row(person, part)
    console.print("判定で見た世帯員")
    console.print(members)


@continuity_app.command("confirm")
def continuity_confirm(
    candidate: Annotated[int | None, typer.Argument(help="候補番号")] = None,
    all_proposed: Annotated[
        bool, typer.Option("--all-proposed", help="提案中の候補をすべて確定する(--municipality と共に)")
    ] = False,
    municipality: Annotated[str | None, typer.Option(help="--all-proposed の対象市町村コード")] = None,
    note: Annotated[str | None, typer.Option(help="確定の備考")] = None,
) -> None:
    """候補を確定する(継続と判定した候補は系譜になり、多数回の回数を引き継ぐ)。"""
    from shuyaku.review import continuity as service

    ctx, actor = _session()
    if all_proposed:
        if municipality is None or candidate is not None:
            raise service.DecisionError("--all-proposed には --municipality を指定し、候補番号は指定しません")
        done = service.confirm_all_proposed(ctx, actor, municipality, note)
    elif candidate is None:
        raise service.DecisionError("候補番号か --all-proposed --municipality CODE を指定してください")
    else:
        done = service.confirm(ctx, actor, candidate, note)
    console.print(
        f"✓ 確定 {len(done):,} 件(確定者 {actor.login_id})" + (f": {', '.join(map(str, done[:20]))}" if done else "")
    )


@continuity_app.command("reject")
def continuity_reject(
    candidate: Annotated[int, typer.Argument(help="候補番号")],
    reason: Annotated[str, typer.Option(help="却下の理由(必須)")],
) -> None:
    """候補を却下する(確定済みの候補も却下でき、影響する多数回の回数を計算し直す)。"""
    from shuyaku.review import continuity as service

    ctx, actor = _session()
    service.reject(ctx, actor, candidate, reason)
    console.print(f"✓ 候補 {candidate} を却下しました(却下者 {actor.login_id})")
