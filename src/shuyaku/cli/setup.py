"""Setting up: init, municipalities, settings, the index key, the demo."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Annotated

import typer

from shuyaku.cli.base import (
    ShuyakuTyper,
    _actor,
    _context,
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
vault_app = ShuyakuTyper(help="個人番号保管庫(鍵の更新)", no_args_is_help=True)
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
def municipality_list() -> None:
    """登録済みの市町村。"""
    from shuyaku.status import status as status_service

    _print_municipalities(status_service(*_session()).municipalities)


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
