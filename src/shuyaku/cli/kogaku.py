"""高額療養費 and 多数回: one case, the monthly run, counts and their explanation."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from shuyaku.cli.base import (
    Format,
    ShuyakuTyper,
    Table,
    _actor,
    _context,
    _emit,
    _fail,
    _month,
    _os_reason,
    _out_folder,
    _session,
    app,
    console,
    err,
)
from shuyaku.cli.options import Month
from shuyaku.household.candidates import STATUS_LABEL

kogaku_app = ShuyakuTyper(help="高額療養費", no_args_is_help=True)
app.add_typer(kogaku_app, name="kogaku")
tasuukai_app = ShuyakuTyper(help="多数回該当(直近12か月の該当月数)", no_args_is_help=True)
app.add_typer(tasuukai_app, name="tasuukai")


@kogaku_app.command("calc")
def kogaku_calc(case: Annotated[str, typer.Argument(help="事例の JSON ファイル(- で標準入力)")]) -> None:
    """1世帯1か月の高額療養費を計算し、JSON で出力する(データベース不要)。

    入力の JSON(仕様: docs/shared/spec/kogaku-calc.md):
      month              診療年月 "2026-07"(202607 も可)
      income_class       {"under70": "ア"〜"オ", "over70": "現役並みⅢ"〜"低所得Ⅰ"}(その年齢の人がいれば必須)
      prior_hit_months   世帯(と確定した前世帯)の該当月 ["2025-09", …](直近12か月は計算側で選ぶ)
      in_prefecture_move 県内転居の月なら true(限度額が半分)
      members            [{"id": "A", "birth_date": "1979-05-10"}, …]
      claims             [{"member", "institution"(10桁), "setting": inpatient / outpatient / dental,
                           "total_cost", "copay", "specified_disease": 0 / 1 / 2}, …]

    例:
      echo '{"month":"2026-07","income_class":{"under70":"ウ"},
             "prior_hit_months":["2025-09","2026-01","2026-03"],
             "members":[{"id":"A","birth_date":"1979-05-10"}],
             "claims":[{"member":"A","institution":"1310000001","setting":"inpatient",
                        "total_cost":1000000,"copay":300000}]}' | shuyaku kogaku calc -

    出力: payment(支給額、円)、hit(household / outpatient_only / none)、tasuukai、
    steps(段階ごとの支給額)、members、trace(手で確かめられる計算の説明)。
    入力が規則に反するときは、項目名を挙げた1行を出して終了コード 2(結果は出さない)。"""
    import json

    from shuyaku.kogaku.calc import calculate_json
    from shuyaku.kogaku.rules import CaseError

    try:
        text = sys.stdin.read() if case == "-" else Path(case).read_text(encoding="utf-8")
    except OSError as exc:
        raise _fail(f"{case}: {_os_reason(exc)}") from None
    try:
        result = calculate_json(text)
    except CaseError as exc:
        err.print(str(exc), markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    sys.stdout.write(json.dumps(result, ensure_ascii=False, indent=2) + "\n")


@kogaku_app.command("run")
def kogaku_run(
    month: Month,
    out: Annotated[Path | None, typer.Option(help="支給一覧の出力フォルダ(既定: SHUYAKU_HOME/outbox/kogaku)")] = None,
) -> None:
    """県内全世帯のその月の高額療養費を計算し、該当月を記録し、市町村別の支給一覧を書く。"""
    from shuyaku.kogaku.service import run_month

    month = _month("--month", month)
    if out is not None:
        _out_folder("--out", out)
    ctx = _context()
    summary = run_month(ctx, _actor(ctx), month, out or ctx.settings.outbox_dir / "kogaku")
    console.print(
        f"✓ {summary.month}(限度額表 {summary.cap_table}): 世帯 {summary.households:,}、支給 {summary.paid_households:,} 世帯 "
        f"計 {summary.payment_total:,} 円、世帯該当 {summary.household_hits:,}"
    )
    if summary.unmatched_claims:
        console.print(f"注意: 被保険者の記録がないレセプト {summary.unmatched_claims:,} 件(どの世帯にも数えていません)")
    if summary.unregistered:
        console.print(
            f"注意: 区分未登録 {summary.unregistered:,} 世帯 — 所得区分(SKBN)がなく支給額を決められないため、支給も該当月も"
            "記録していません。市町村別の区分未登録一覧(KBMT)を送ります。SKBN が届いたら計算し直してください"
        )
    if summary.disagreements:
        console.print(
            f"注意: 市町村の高額該当(KGGT)と連合会の計算が食い違う世帯・月 {summary.disagreements:,} 件(W302/W303)。"
            "市町村別の突合結果(KGCK)を送ります。数えるのは KGGT の該当月です"
        )
    for path in summary.files:
        console.print(f"  {path}")


@kogaku_app.command("rerun")
def kogaku_rerun(
    out: Annotated[Path | None, typer.Option(help="支給一覧の出力フォルダ(既定: SHUYAKU_HOME/outbox/kogaku)")] = None,
) -> None:
    """計算のあとに所得区分(SKBN)が届いた・訂正された月を、すべて計算し直す(区分未登録だった世帯もここで計算される)。"""
    from shuyaku.kogaku.service import run_month, stale

    if out is not None:
        _out_folder("--out", out)
    ctx = _context()
    actor = _actor(ctx)
    months = stale(ctx, actor)
    if not months:
        console.print("✓ 計算し直す月はありません")
        return
    for month in months:
        summary = run_month(ctx, actor, month, out or ctx.settings.outbox_dir / "kogaku")
        console.print(
            f"✓ {summary.month}: 支給 {summary.paid_households:,} 世帯 計 {summary.payment_total:,} 円、"
            f"区分未登録 {summary.unregistered:,} 世帯"
        )


@tasuukai_app.command("run")
def tasuukai_run(month: Month) -> None:
    """その月の全世帯の多数回該当回数を求めて記録する(変わった世帯が次の TSKG に載る)。"""
    from shuyaku.kogaku import tasuukai

    month = _month("--month", month)
    summary = tasuukai.run_month(*_session(), month)
    console.print(
        f"✓ {summary.month}: 該当月のある世帯 {summary.households:,}、多数回該当 {summary.tasuukai:,}、"
        f"前回から変わった世帯 {summary.changed:,}"
    )


@tasuukai_app.command("list")
def tasuukai_list(
    month: Month,
    municipality: Annotated[str | None, typer.Option(help="市町村コード(省略時は担当のすべて)")] = None,
    only_tasuukai: Annotated[bool, typer.Option("--tasuukai", help="多数回該当(該当月3か月以上)の世帯だけ")] = False,
    fmt: Format = "table",
) -> None:
    """その月に記録した多数回の回数の一覧(tasuukai run の結果。該当月の多い順)。"""
    from shuyaku.kogaku import tasuukai

    month = _month("--month", month)
    found = tasuukai.stored_counts(*_session(), month, municipality_code=municipality, tasuukai_only=only_tasuukai)
    columns = (
        ("household", "県世帯ID"),
        ("municipality_code", "市町村"),
        ("setai_no", "世帯番号"),
        ("month", "診療年月"),
        ("hit_count", "直近12か月該当月数"),
        ("tasuukai", "多数回該当"),
        ("provisional", "暫定"),
        ("months", "該当月"),
        ("predecessors", "引継元県世帯ID"),
    )
    rows = [
        [
            c.household,
            c.municipality_code,
            c.setai_no,
            c.month,
            c.hit_count,
            ("1" if c.tasuukai else "0") if fmt == "csv" else ("該当" if c.tasuukai else ""),
            ("1" if c.provisional else "0") if fmt == "csv" else ("暫定" if c.provisional else ""),
            c.months.replace(";", " "),
            c.predecessors.replace(";", " "),
        ]
        for c in found
    ]
    if fmt == "json":
        rows = [[*row[:5], found[i].tasuukai, found[i].provisional, *row[7:]] for i, row in enumerate(rows)]
    _emit(
        fmt,
        columns,
        rows,
        empty=f"{month} の回数の記録はありません(該当月のある世帯がない、または shuyaku tasuukai run --month {month} をまだ実行していない)",
    )


@tasuukai_app.command("explain")
def tasuukai_explain(
    household: Annotated[str, typer.Option(help="県世帯ID")],
    month: Month,
    fmt: Format = "table",
) -> None:
    """その世帯・その月の多数回の回数の内訳: 数えた月、出所、引継ぎの候補、数えなかった月と理由。"""
    import dataclasses
    import json

    from shuyaku.kogaku import tasuukai

    month = _month("--month", month)
    ex = tasuukai.explain(*_session(), household, month)
    if fmt == "json":
        whole = {**dataclasses.asdict(ex), "tasuukai": ex.tasuukai}
        whole["candidates"] = [
            dict(zip(("candidate_id", "from", "to", "change_date", "rule", "continuous", "status"), c, strict=True))
            for c in ex.candidates
        ]
        sys.stdout.write(json.dumps(whole, ensure_ascii=False, indent=1, default=str) + "\n")
        return
    if fmt == "csv":
        labels = {
            "month": "診療年月",
            "household": "県世帯ID",
            "municipality_code": "市町村",
            "setai_no": "世帯番号",
            "source": "報告元",
            "filename": "ファイル",
            "line_no": "行",
            "kind": "該当区分",
            "counted": "数える",
            "via": "引継ぎの候補",
            "note": "理由",
        }
        columns = [(f.name, labels.get(f.name, f.name)) for f in dataclasses.fields(tasuukai.ExplainLine)]
        _emit(fmt, columns, [dataclasses.astuple(line) for line in ex.lines])
        return
    console.print(f"県世帯ID {ex.household}(市町村 {ex.municipality_code} 世帯番号 {ex.setai_no})診療年月 {ex.month}")
    console.print(
        f"対象期間 {ex.first}〜{ex.last}: 該当 {ex.hit_count} か月 → 多数回該当 {'あり' if ex.tasuukai else 'なし'}"
        f"(3か月以上で4回目から多数回)"
    )
    table = Table(
        "診療年月", "数える", "県世帯ID", "市町村", "世帯番号", "報告元", "ファイル", "行", "該当区分", "理由"
    )
    for ln in ex.lines:
        table.add_row(
            ln.month,
            "○" if ln.counted else "×",
            ln.household,
            ln.municipality_code,
            ln.setai_no,
            "連合会" if ln.source == "federation" else ln.source,
            ln.filename,
            "" if ln.line_no is None else str(ln.line_no),
            ln.kind,
            ln.note,
        )
    console.print(table)
    if ex.candidates:
        cands = Table("候補番号", "転出元 県世帯ID", "転入先 県世帯ID", "異動日", "規則", "判定", "状態")
        for cid, src, dst, day, rule, cont, status in ex.candidates:
            cands.add_row(str(cid), src, dst, day, rule, "継続" if cont else "非継続", STATUS_LABEL.get(status, status))
        console.print(cands)
