"""Files in and out: ingest, export, the ledger, the archive, status, synthetic data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from shuyaku.cli.base import (
    STATUS_LABEL,
    ShuyakuTyper,
    Table,
    _actor,
    _context,
    _fail,
    _print_municipalities,
    _progress,
    _session,
    _styled,
    app,
    console,
    err,
)
from shuyaku.cli.options import Municipality
from shuyaku.ingest import returns
from shuyaku.ingest.inbound import IngestOutcome
from shuyaku.ingest.order import expand
from shuyaku.ingest.service import inbox, ingest_paths
from shuyaku.setup import add_municipality
from shuyaku.timeutil import utc_now

inbox_app = ShuyakuTyper(help="受信ファイル台帳", no_args_is_help=True)
app.add_typer(inbox_app, name="inbox")
archive_app = ShuyakuTyper(help="受信ファイルの暗号化した写し", no_args_is_help=True)
app.add_typer(archive_app, name="archive")


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="ファイルまたはフォルダ(中の *.csv)")],
    remove_source: Annotated[
        bool,
        typer.Option(
            "--remove-source/--keep-source",
            help="反映(または重複)したファイルの平文の元ファイルを、暗号化した写しを保管したあとで削除する(既定)。"
            "--keep-source で残す(個人番号が平文のまま残るので、受信フォルダの管理に注意)",
        ),
    ] = True,
    jobs: Annotated[int, typer.Option(help="並列に処理するプロセス数(PostgreSQL のみ。市町村単位で分担)")] = 1,
) -> None:
    """市町村ファイル(SKSE/SKKS)を取り込む。全件反映または重複なら終了コード 0、受付不可・保留があれば 1。"""
    for path in paths:
        if not path.exists():
            raise _fail(f"{path} がありません")
    ctx = _context()
    outcomes: list[IngestOutcome] = []
    files = expand(paths)
    with _progress() as progress:
        task = progress.add_task("取込", total=len(files))

        def step(path: Path, outcome: IngestOutcome) -> None:
            progress.advance(task)
            progress.update(task, description=f"取込 {path.name}")

        outcomes = ingest_paths(ctx, _actor(ctx), files, remove_source=remove_source, progress=step, jobs=jobs)
    table = Table("受付番号", "ファイル", "結果", "件数", "反映", "警告", "エラー", "コード", "内容")
    for o in outcomes:
        colour = "green" if o.ok else "red"
        table.add_row(
            str(o.file_id),
            o.filename,
            Text(STATUS_LABEL.get(o.status, o.status), style=colour),
            str(o.records),
            str(o.applied),
            str(o.warnings),
            str(o.errors),
            o.code or "",
            o.message,
        )
    console.print(table)
    if not outcomes:
        raise _fail("取り込むファイルがありません(*.csv)")
    if not all(o.ok for o in outcomes):
        raise typer.Exit(1)


@app.command()
def export(
    kind: Annotated[
        str, typer.Option(help="KKKK(取込結果) / IDTB(県ID対応表) / KZKH(世帯継続性候補) / TSKG(多数回該当回数)")
    ],
    out: Annotated[Path, typer.Option(help="出力フォルダ")],
    municipality: Annotated[str | None, typer.Option(help="市町村コード(省略時は登録済みの全市町村)")] = None,
) -> None:
    """市町村への返却ファイルを出力する(個人番号は出力前に検査して止める)。"""
    ctx = _context()
    done = returns.export_all(ctx, _actor(ctx), kind, out, municipality)
    written, blocked = done.written, done.blocked
    for path in written:
        console.print(f"✓ {path}", markup=False)
    if not written and not blocked:
        console.print("未送付の返却データはありません")
    for message in blocked:
        err.print(f"エラー: {message}", markup=False, highlight=False)
    if blocked:
        raise typer.Exit(1)


@app.command()
def status() -> None:
    """登録・受信・保管の状況。"""
    from shuyaku.status import status as status_service

    s = status_service(*_session())
    console.print(f"都道府県 {s.prefecture}  データベース {s.database}")
    console.print(f"鍵の版: {', '.join(f'{k} v{v}' for k, v in s.key_versions.items())}")
    files = "、".join(f"{STATUS_LABEL.get(k, k)} {v:,}" for k, v in sorted(s.files_by_status.items())) or "なし"
    console.print(
        f"県被保険者ID {s.persons:,} 件  受信ファイル: {files}  隔離レコード {s.quarantined:,} 件  送出停止 {s.outbound_blocked} 件"
    )
    console.print(
        f"アクセス記録 {s.audit_events:,} 件(約 {s.audit_bytes / 2**20:,.1f} MiB、警告値 {s.audit_warn_bytes / 2**30:,.1f} GiB)"
    )
    for warning in s.warnings:
        console.print(_styled("注意: ", "yellow", warning))
    _print_municipalities(s.municipalities)


@app.command()
def synth(
    out: Annotated[Path, typer.Option(help="出力フォルダ")],
    municipalities: Annotated[int, typer.Option(help="市町村数")] = 3,
    persons: Annotated[int, typer.Option(help="被保険者数(概数)")] = 2000,
    days: Annotated[int, typer.Option(help="日次差分の日数")] = 2,
    events: Annotated[int, typer.Option(help="1日あたりの異動件数(世帯単位)")] = 40,
    seed: Annotated[int, typer.Option(help="乱数の種")] = 1,
    register: Annotated[bool, typer.Option("--register", help="市町村をデータベースに登録する")] = False,
    claims_month: Annotated[
        str | None, typer.Option(help="この診療年月(YYYYMM)のレセプト集計(RECE)と世帯所得区分(SKBN)も書く")
    ] = None,
    hit_months: Annotated[
        int, typer.Option(help="基準日前のこの月数分の高額該当情報(KGGT)も書く(日次差分の異動の前)")
    ] = 0,
) -> None:
    """架空の県のファイル(SKSE/SKKS 全件+日次差分、必要なら KGGT・RECE・SKBN)を生成する。"""
    from shuyaku.kogaku.tasuukai import shift
    from shuyaku.synth.prefecture import SyntheticPrefecture

    ctx = _context() if register else None
    prefecture = ctx.prefecture if ctx else "11"
    world = SyntheticPrefecture(
        prefecture=prefecture, municipalities=municipalities, persons=persons, seed=seed, cp932_every=3
    )
    files = world.write_full(out)
    start = world.today.strftime("%Y%m")
    for back in range(hit_months, 0, -1):
        files += world.write_hits(out, shift(start, -back))
    for _ in range(days):
        files += world.write_day(out, events)
    if claims_month:
        from shuyaku.synth.claims import write_claims, write_income_classes

        files += write_income_classes(world, out, claims_month)
        files += write_claims(world, out, claims_month)
    if ctx:
        for m in world.municipalities:
            add_municipality(ctx, _actor(ctx), m.code, m.name, m.insurer_number, m.encoding)
    console.print(f"✓ {len(files)} ファイルを {out} に書きました(市町村 {municipalities}、被保険者 約 {persons:,})")


@inbox_app.command("list")
def inbox_list(
    status: Annotated[str | None, typer.Option(help="applied / duplicate / rejected / held / released")] = None,
    municipality: Municipality = None,
    limit: Annotated[int, typer.Option(help="表示件数(新しい順)")] = 50,
) -> None:
    """受信ファイル台帳: 何が反映され、何が保留・受付不可になったか(理由つき)。"""
    ctx = _context()
    files = inbox(ctx, _actor(ctx), status=status, municipality_code=municipality, limit=limit)
    table = Table(
        "受付番号", "受信日時(UTC)", "市町村", "種別", "連番", "ファイル", "結果", "件数", "エラー", "コード", "内容"
    )
    for f in files:
        table.add_row(
            str(f.file_id),
            str(f.received_at)[:19],
            f.municipality_code or "",
            f.kind or "",
            str(f.seq or ""),
            f.filename,
            STATUS_LABEL.get(f.status, f.status),
            str(f.record_count),
            str(f.error_count),
            f.error_code or "",
            f.message or "",
        )
    console.print(table)


@app.command("outbox-purge")
def outbox_purge(
    today: Annotated[str | None, typer.Option(help="基準日 YYYY-MM-DD(既定: 今日、日本時間)")] = None,
) -> None:
    """受け渡し(API での最初の取得、取得がなければ作成)から outbox_retention_days 日(既定30日)を過ぎた返却ファイルを送信フォルダから削除する。"""
    from datetime import date

    from shuyaku.ingest.returns import purge_delivered
    from shuyaku.timeutil import jst_date

    ctx, actor = _session()
    try:
        day = date.fromisoformat(today) if today else jst_date(utc_now())
    except ValueError:
        raise _fail(f"--today は YYYY-MM-DD で指定してください(指定: {today})") from None
    console.print(f"✓ 保存期間を過ぎた返却ファイル {purge_delivered(ctx, actor, day):,} 件を削除しました")


@archive_app.command("purge")
def archive_purge(
    today: Annotated[str | None, typer.Option(help="基準日 YYYY-MM-DD(既定: 今日、日本時間)")] = None,
) -> None:
    """保存期間(raw_retention_days)を過ぎた受信ファイルの暗号化した写しを削除する。"""
    from datetime import date

    from shuyaku.exchange.retention import purge_expired
    from shuyaku.timeutil import jst_date

    ctx = _context()
    day = date.fromisoformat(today) if today else jst_date(utc_now())
    console.print(f"✓ 保存期間を過ぎた写し {purge_expired(ctx, _actor(ctx), day)} 件を削除しました")
