"""Setting up: init, municipalities, settings, the index key, the demo."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Annotated

import typer

from shuyaku.cli.base import (
    Format,
    ShuyakuTyper,
    _actor,
    _context,
    _date,
    _print_municipalities,
    _session,
    app,
    console,
)
from shuyaku.config import load_settings
from shuyaku.setup import add_municipality
from shuyaku.setup import init as init_service
from shuyaku.timeutil import utc_now

municipality_app = ShuyakuTyper(help="市町村の登録", no_args_is_help=True)
app.add_typer(municipality_app, name="municipality")
setting_app = ShuyakuTyper(help="県の設定", no_args_is_help=True)
app.add_typer(setting_app, name="setting")
vault_app = ShuyakuTyper(help="個人番号保管庫(鍵の更新、保存期間を過ぎた番号の消去)", no_args_is_help=True)
app.add_typer(vault_app, name="vault")


@app.command()
def init(prefecture: Annotated[str, typer.Option(help="都道府県番号(2桁)")] = "11") -> None:
    """SHUYAKU_HOME を作り、鍵を生成し、データベースを初期化する。"""
    settings = load_settings()
    for line in init_service(settings, prefecture, utc_now()):
        console.print(f"✓ {line}")
    console.print(f"SHUYAKU_HOME = {settings.home}")


@municipality_app.command("add")
def municipality_add(
    code: Annotated[str, typer.Argument(help="市町村コード(6桁、検査数字付き)")],
    name: Annotated[str, typer.Argument(help="市町村名")],
    insurer: Annotated[str, typer.Option("--insurer", help="保険者番号(6桁)")],
    encoding: Annotated[str, typer.Option(help="受信ファイルの文字コード utf-8 / cp932")] = "utf-8",
) -> None:
    """市町村を登録する(登録のない送信元のファイルは受け付けない)。"""
    ctx = _context()
    add_municipality(ctx, _actor(ctx), code, name, insurer, encoding)
    console.print(f"✓ {code} {name} を登録しました(保険者番号 {insurer}、{encoding})")


@municipality_app.command("list")
def municipality_list(fmt: Format = "table") -> None:
    """登録済みの市町村。"""
    from shuyaku.status import status as status_service

    _print_municipalities(status_service(*_session()).municipalities, fmt)


@setting_app.command("set")
def setting_set(
    key: Annotated[
        str, typer.Argument(help="設定名(continuity_auto_confirm_k1, quarantine_share, raw_retention_days)")
    ],
    value: Annotated[str, typer.Argument(help="値")],
) -> None:
    """県の設定を変える(例: continuity_auto_confirm_k1 1 で単純な県内転居 K1 を自動確定)。"""
    from shuyaku.setup import change_setting

    before = change_setting(*_session(), key, value)
    console.print(f"✓ {key}: {before} → {value}")


# --- accounts ------------------------------------------------------------------------


@vault_app.command("rotate-index-key")
def rotate_index_key() -> None:
    """検索用の鍵を新しい版に替え、全件のブラインドインデックスを封印値から作り直す(県IDは不変)。"""
    from shuyaku.setup import rotate_index_key as rotate

    version, count = rotate(*_session())
    console.print(f"✓ 検索鍵を v{version} に更新し、{count:,} 件を作り直しました")


@vault_app.command("purge")
def vault_purge(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="消去せず、対象の件数と県被保険者IDだけを表示する")
    ] = False,
    today: Annotated[str | None, typer.Option(help="基準日 YYYY-MM-DD(既定: 今日、日本時間)")] = None,
) -> None:
    """県内の資格を失ってから number_retention_years 年(既定5年)を過ぎ、その後の資格がない人の個人番号を保管庫から消去する。
    県被保険者ID と履歴は残る。消去は1件ずつアクセス記録に残り、`report erasures` で消去記録を出力できる。"""

    from shuyaku.qualification.erasure import purge_numbers
    from shuyaku.timeutil import jst_date

    day = _date("--today", today) if today else jst_date(utc_now())
    ctx, actor = _session()
    found = purge_numbers(ctx, actor, day, dry_run=dry_run)
    for d in found[:20]:
        console.print(f"  {d.pref_person_id}  資格喪失 {d.qualified_until.isoformat()}  {d.municipalities}")
    if len(found) > 20:
        console.print(f"  …ほか {len(found) - 20:,} 人")
    verb = "消去の対象" if dry_run else "消去しました"
    console.print(f"✓ 個人番号 {len(found):,} 人分 {verb}")


@app.command()
def demo(
    home: Annotated[Path, typer.Option(help="デモ用の SHUYAKU_HOME(毎回作り直す)")] = Path("var/demo"),
    persons: Annotated[int, typer.Option(help="被保険者数(概数)")] = 5000,
) -> None:
    """架空の県を作り、取り込み、返却ファイルを書き、要約を表示する(SQLite)。"""
    from shuyaku.demo import run_demo

    if home.exists():
        shutil.rmtree(home)
    sys.exit(run_demo(home, persons, console))
