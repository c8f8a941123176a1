"""The access log, 帳票, the database role, backup and restore."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shuyaku.cli.base import (
    ShuyakuTyper,
    _date,
    _fail,
    _out_file,
    _session,
    _styled,
    app,
    console,
    err,
)
from shuyaku.cli.options import CsvOut, FromDate, PdfOut, ToDate

audit_app = ShuyakuTyper(help="アクセス記録(改ざん検知)", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
report_app = ShuyakuTyper(help="帳票", no_args_is_help=True)
app.add_typer(report_app, name="report")
db_app = ShuyakuTyper(help="データベースの管理", no_args_is_help=True)
app.add_typer(db_app, name="db")


@audit_app.command("verify")
def audit_verify(
    against: Annotated[
        Path | None, typer.Option(help="外部に保管した署名付きチェックポイント(audit checkpoint --export の出力)")
    ] = None,
) -> None:
    """アクセス記録を検証する: 連鎖ハッシュ、チェックポイントの Merkle ルートと署名、チェックポイント間の整合、未署名の末尾。"""
    from shuyaku.audit.verify import verify

    ctx, actor = _session()
    try:
        note = against.read_text(encoding="utf-8") if against else None
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(f"{against}: 読めません({exc})") from None
    report = verify(ctx, actor, note)
    console.print(
        f"記録 {report.events:,} 件、チェックポイント {report.checkpoints} 件(署名で確認済みの範囲: {report.verified_size:,} 件)"
    )
    if report.unsigned_events:
        console.print(
            f"未署名の末尾: {report.unsigned_events:,} 件({report.unsigned_since} 以降)。"
            "`shuyaku audit checkpoint` で署名します"
        )
    if report.against is not None and report.ok:
        console.print(f"外部保管のチェックポイント(件数 {report.against:,})と整合しています")
    if report.ok:
        console.print("✓ 改ざん・削除・挿入・並べ替えは見つかりませんでした", style="green")
        return
    for problem in report.problems:
        err.print(_styled("✗ ", "red", problem))
    raise typer.Exit(1)


@audit_app.command("checkpoint")
def audit_checkpoint(
    export: Annotated[
        Path | None, typer.Option("--export", help="署名付きチェックポイント(C2SP tlog-checkpoint)を書き出すファイル")
    ] = None,
) -> None:
    """これまでの全記録の Merkle ルートに署名して残す(--export で外部保管用の署名付きノートも書く)。"""
    from shuyaku.audit.verify import checkpoint, export_head

    _out_file("--export", export)
    ctx, actor = _session()
    try:
        cp = export_head(ctx, actor, export) if export else checkpoint(ctx, actor)
    except OSError as exc:
        raise _fail(f"{export}: 書き込めません({exc.strerror})") from None
    console.print(f"✓ チェックポイント {cp.checkpoint_id}: 記録 {cp.tree_size:,} 件、ルート {cp.root_hash}")
    if export:
        console.print(f"  署名付きチェックポイントを {export} に書きました(システムの外に保管してください)")


@report_app.command("permissions")
def report_permissions(
    from_: FromDate,
    to: ToDate,
    pdf: PdfOut = None,
    csv_: CsvOut = None,
) -> None:
    """利用者権限変更一覧(A4横、和暦の作成日、変更者・承認者つき)。"""
    _report("permissions", from_, to, pdf, csv_)


@report_app.command("access-review")
def report_access_review(
    from_: FromDate,
    to: ToDate,
    pdf: PdfOut = None,
    csv_: CsvOut = None,
) -> None:
    """アクセス記録点検表: 時間外、大量照会、担当外へのアクセス(拒否)、ファイル出力、ログイン失敗。"""
    _report("access_review", from_, to, pdf, csv_)


@report_app.command("erasures")
def report_erasures(
    from_: FromDate,
    to: ToDate,
    pdf: PdfOut = None,
    csv_: CsvOut = None,
) -> None:
    """個人番号の消去記録(保存期間を過ぎて消去した番号の県被保険者ID・最後の資格喪失日・実施者。番号そのものは載りません)。"""
    _report("erasures", from_, to, pdf, csv_)


def _report(kind: str, start: str, end: str, pdf: Path | None, csv_: Path | None) -> None:
    from shuyaku.reports import service

    if pdf is None and csv_ is None:
        raise _fail("--pdf か --csv(または両方)を指定してください")
    first, last = _date("--from", start), _date("--to", end)  # the input first, then the session
    if last < first:
        raise _fail(f"--to({last})が --from({first})より前です")
    _out_file("--pdf", pdf)
    _out_file("--csv", csv_)
    ctx, actor = _session()
    try:
        build = {
            "permissions": service.permissions,
            "access_review": service.access_review,
            "erasures": service.erasures,
        }[kind]
        done = build(ctx, actor, first, last, pdf_path=pdf, csv_path=csv_)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    console.print(f"✓ {done.rows:,} 件: " + "、".join(str(p) for p in done.files))


@db_app.command("app-role")
def db_app_role(
    role: Annotated[str, typer.Argument(help="アプリケーションが接続に使う PostgreSQL のロール名")],
) -> None:
    """(PostgreSQL)アプリケーション用ロールを作り権限を与える: アクセス記録は参照と追加のみ(更新・削除不可)。"""
    from shuyaku.db.roles import grant_app_role

    ctx, actor = _session()
    if actor.role not in ("admin", "system"):
        raise _fail("システム管理者のみ実行できます")
    try:
        for line in grant_app_role(ctx.engine, role):
            console.print(f"✓ {line}")
    except ValueError as exc:
        raise _fail(str(exc)) from None


@app.command("backup")
def backup_command(folder: Annotated[Path, typer.Argument(help="写しを置く新しいフォルダ(外部媒体など)")]) -> None:
    """データベース・鍵・受信ファイルの暗号化した写しをまとめてバックアップする(PostgreSQL は pg_dump)。"""
    from shuyaku.backup import backup

    ctx, actor = _session()
    try:
        done = backup(ctx, actor, folder)
    except OSError as exc:
        raise _fail(str(exc)) from None
    console.print(
        f"✓ {done.folder} に {done.files} ファイルを書きました(アクセス記録 {done.counts.get('audit_event', 0):,} 件、"
        f"県被保険者ID {done.counts.get('person', 0):,} 件)。鍵を含むため厳重に保管してください"
    )


@app.command("restore")
def restore_command(
    folder: Annotated[Path, typer.Argument(help="shuyaku backup で作ったフォルダ")],
    yes: Annotated[bool, typer.Option("--yes", help="現在のデータベースを写しで置き換えることを確認する")] = False,
) -> None:
    """バックアップから復元する(現在のデータベースは置き換わる)。復元後 audit verify で確認する。"""
    from shuyaku.backup import restore

    if not yes:
        raise _fail("現在のデータベースを置き換えます。よければ --yes を付けて実行してください")
    ctx, actor = _session()
    try:
        done = restore(ctx, actor, folder)
    except OSError as exc:
        raise _fail(str(exc)) from None
    console.print(
        f"✓ {done.folder} から復元しました(件数は写しと一致)。`shuyaku audit verify` で記録を確かめてください"
    )
