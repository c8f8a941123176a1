"""Files in and out: ingest, export, the ledger, the archive, status, synthetic data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from shuyaku.cli.base import (
    STATUS_LABEL,
    Format,
    ShuyakuTyper,
    Table,
    _actor,
    _coded,
    _context,
    _date,
    _emit,
    _fail,
    _month,
    _out_folder,
    _print_municipalities,
    _progress,
    _result_label,
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
from shuyaku.timeutil import shown, utc_now

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
    initial: Annotated[
        bool,
        typer.Option(
            "--initial",
            help="初期移行モード: 被保険者のいない県への最初の全件取込。県個人ID・県世帯IDの索引4件を外して取り込み、"
            "最後に一度で作り直す。中断したときは同じ指定で再実行すると続きから取り込む",
        ),
    ] = False,
) -> None:
    """市町村ファイル(SKSE/SKKS/KGGT/RECE/SKBN)を取り込む。全件反映または重複なら終了コード 0、受付不可・保留・一部反映があれば 1。"""
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

        outcomes = ingest_paths(
            ctx, _actor(ctx), files, remove_source=remove_source, progress=step, jobs=jobs, initial=initial
        )
    table = Table("受付番号", "ファイル", "結果", "件数", "反映", "警告", "エラー", "コード", "内容")
    for o in outcomes:
        colour = "green" if o.ok and not o.partial else ("yellow" if o.partial else "red")
        table.add_row(
            str(o.file_id),
            o.filename,
            Text(_result_label(o.status, o.errors), style=colour),
            str(o.records),
            str(o.applied),
            str(o.warnings),
            str(o.errors),
            o.code or ",".join(o.record_codes),
            o.message,
        )
    console.print(table)
    if not outcomes:
        raise _fail("取り込むファイルがありません(*.csv)")
    if any(o.partial for o in outcomes):
        console.print(
            "一部反映のファイルは、エラーの記録だけを隔離して残りを反映しました。"
            "記録ごとの内容は取込結果(export --kind KKKK)と隔離一覧(画面の「隔離レコード」)にあります"
        )
    if not all(o.ok and not o.partial for o in outcomes):
        raise typer.Exit(1)


@app.command()
def export(
    kind: Annotated[
        str, typer.Option(help="KKKK(取込結果) / IDTB(県ID対応表) / KZKH(世帯継続性候補) / TSKG(多数回該当回数)")
    ],
    out: Annotated[Path, typer.Option(help="出力フォルダ(なければ作る)")],
    municipality: Annotated[str | None, typer.Option(help="市町村コード(省略時は登録済みの全市町村)")] = None,
) -> None:
    """市町村への返却ファイルを出力する(個人番号は出力前に検査して止める)。"""
    _out_folder("--out", out)
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
    keys = {"index": "検索用", "seal": "封印", "archive": "受信ファイル保管", "secret": "利用者の二要素認証"}
    console.print(f"鍵の版: {'、'.join(f'{keys.get(k, k)} v{v}' for k, v in s.key_versions.items())}")
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
    out: Annotated[Path, typer.Option(help="出力フォルダ(なければ作る)")],
    municipalities: Annotated[int, typer.Option(help="市町村数")] = 3,
    persons: Annotated[int, typer.Option(help="被保険者数(概数)")] = 2000,
    days: Annotated[int, typer.Option(help="日次差分の日数")] = 2,
    events: Annotated[int, typer.Option(help="1日あたりの異動件数(世帯単位)")] = 40,
    seed: Annotated[int, typer.Option(help="乱数の種")] = 1,
    register: Annotated[bool, typer.Option("--register", help="市町村をデータベースに登録する")] = False,
    claims_month: Annotated[
        str | None,
        typer.Option(help="この診療年月(YYYYMM か YYYY-MM)のレセプト集計(RECE)と世帯所得区分(SKBN)も書く"),
    ] = None,
    hit_months: Annotated[
        int, typer.Option(help="基準日前のこの月数分の高額該当情報(KGGT)も書く(日次差分の異動の前)")
    ] = 0,
) -> None:
    """架空の県のファイル(SKSE/SKKS 全件+日次差分、必要なら KGGT・RECE・SKBN)を生成する。"""
    from shuyaku.kogaku.tasuukai import shift
    from shuyaku.synth.prefecture import SyntheticPrefecture

    for option, value in (("--municipalities", municipalities), ("--persons", persons)):
        if value < 1:
            raise _fail(f"{option} は1以上で指定してください(指定: {value})")
    for option, value in (("--days", days), ("--events", events), ("--hit-months", hit_months)):
        if value < 0:
            raise _fail(f"{option} は0以上で指定してください(指定: {value})")
    claims_month = _month("--claims-month", claims_month) if claims_month else None
    _out_folder("--out", out)
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
    status: Annotated[
        str | None,
        typer.Option(help="反映(applied)/ 重複(duplicate)/ 受付不可(rejected)/ 保留(held)/ 保留解除(released)"),
    ] = None,
    municipality: Municipality = None,
    limit: Annotated[int, typer.Option(help="表示件数(新しい順)")] = 50,
    fmt: Format = "table",
) -> None:
    """受信ファイル台帳: 何が反映され、何が保留・受付不可になったか(理由つき)。"""
    code = _coded("--status", status, STATUS_LABEL)
    ctx = _context()
    files = inbox(ctx, _actor(ctx), status=code, municipality_code=municipality, limit=limit)
    columns = (
        ("file_id", "受付番号"),
        ("received_at", "受信日時(日本時間)"),
        ("municipality_code", "市町村"),
        ("kind", "種別"),
        ("seq", "連番"),
        ("filename", "ファイル"),
        ("status", "結果"),
        ("records", "件数"),
        ("errors", "エラー"),
        ("code", "コード"),
        ("message", "内容"),
    )
    rows = [
        [
            f.file_id,
            shown(f.received_at),
            f.municipality_code or "",
            f.kind or "",
            f.seq or "",
            f.filename,
            _result_label(f.status, f.error_count),
            f.record_count,
            f.error_count,
            f.error_code or "",
            f.message or "",
        ]
        for f in files
    ]
    _emit(fmt, columns, rows, empty="受信ファイルはありません(条件に合うものがない、または担当の市町村から未受信)")


@app.command("outbox-purge")
def outbox_purge(
    today: Annotated[str | None, typer.Option(help="基準日 YYYY-MM-DD(既定: 今日、日本時間)")] = None,
) -> None:
    """受け渡し(API での最初の取得、取得がなければ作成)から outbox_retention_days 日(既定30日)を過ぎた返却ファイルを送信フォルダから削除する。"""
    from shuyaku.ingest.returns import purge_delivered
    from shuyaku.timeutil import jst_date

    day = _date("--today", today) if today else jst_date(utc_now())
    ctx, actor = _session()
    console.print(f"✓ 保存期間を過ぎた返却ファイル {purge_delivered(ctx, actor, day):,} 件を削除しました")


@archive_app.command("purge")
def archive_purge(
    today: Annotated[str | None, typer.Option(help="基準日 YYYY-MM-DD(既定: 今日、日本時間)")] = None,
) -> None:
    """保存期間(raw_retention_days)を過ぎた受信ファイルの暗号化した写しを削除する。"""
    from shuyaku.exchange.retention import purge_expired
    from shuyaku.timeutil import jst_date

    day = _date("--today", today) if today else jst_date(utc_now())
    ctx = _context()
    console.print(f"✓ 保存期間を過ぎた写し {purge_expired(ctx, _actor(ctx), day)} 件を削除しました")
