"""The `shuyaku` command. Commands are thin: they parse, call one service, and print."""

from __future__ import annotations

import functools
import getpass
import logging
import os
import shutil
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table as RichTable
from rich.text import Text

from shuyaku import ids
from shuyaku.access.actor import Actor
from shuyaku.config import load_settings
from shuyaku.context import Context, NotInitialised, open_context
from shuyaku.errors import ShuyakuError
from shuyaku.exchange import export as export_service
from shuyaku.exchange.outbox import OutboxBlocked
from shuyaku.exchange.service import IngestOutcome, expand, ingest_paths
from shuyaku.files import private_umask
from shuyaku.setup import add_municipality
from shuyaku.setup import init as init_service
from shuyaku.text import without_controls
from shuyaku.timeutil import utc_now
from shuyaku.vault.keys import KeyError_


class ShuyakuTyper(typer.Typer):
    """Typer whose commands map ``ShuyakuError`` in one place: the message on stderr (no
    markup, no control characters) and the error's exit code. Anything else is a bug and
    reaches ``main``'s last-resort handler."""

    def command(self, *args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:  # type: ignore[override]
        register = super().command(*args, **kwargs)

        def decorator(function: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(function)
            def mapped(*call_args: Any, **call_kwargs: Any) -> Any:
                try:
                    return function(*call_args, **call_kwargs)
                except ShuyakuError as exc:
                    err.print(_styled("エラー: ", "red", str(exc)))
                    raise typer.Exit(exc.exit_code) from None

            register(mapped)
            return function

        return decorator


app = ShuyakuTyper(help="shuyaku — 国保情報集約システム", no_args_is_help=True, pretty_exceptions_enable=False)
municipality_app = ShuyakuTyper(help="市町村の登録", no_args_is_help=True)
vault_app = ShuyakuTyper(help="個人番号保管庫(鍵の更新)", no_args_is_help=True)
person_app = ShuyakuTyper(help="被保険者の照会", no_args_is_help=True)
kogaku_app = ShuyakuTyper(help="高額療養費", no_args_is_help=True)
app.add_typer(kogaku_app, name="kogaku")
archive_app = ShuyakuTyper(help="受信ファイルの暗号化した写し", no_args_is_help=True)
inbox_app = ShuyakuTyper(help="受信ファイル台帳", no_args_is_help=True)
app.add_typer(inbox_app, name="inbox")
app.add_typer(archive_app, name="archive")
app.add_typer(municipality_app, name="municipality")
app.add_typer(vault_app, name="vault")
app.add_typer(person_app, name="person")
continuity_app = ShuyakuTyper(help="世帯の継続性(県内転居・分離・合併の候補)", no_args_is_help=True)
app.add_typer(continuity_app, name="continuity")
tasuukai_app = ShuyakuTyper(help="多数回該当(直近12か月の該当月数)", no_args_is_help=True)
app.add_typer(tasuukai_app, name="tasuukai")
setting_app = ShuyakuTyper(help="県の設定", no_args_is_help=True)
app.add_typer(setting_app, name="setting")
user_app = ShuyakuTyper(help="利用者(職員ごとのID・役割・担当市町村)", no_args_is_help=True)
app.add_typer(user_app, name="user")
audit_app = ShuyakuTyper(help="アクセス記録(改ざん検知)", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
report_app = ShuyakuTyper(help="帳票", no_args_is_help=True)
app.add_typer(report_app, name="report")
db_app = ShuyakuTyper(help="データベースの管理", no_args_is_help=True)
app.add_typer(db_app, name="db")


class SafeConsole(Console):
    """A console that never interprets what it prints: no Rich markup (a name such as
    ``[/red]斎藤`` is printed as written) and no control character (an ESC in a file name
    never reaches the terminal). Styling is given explicitly (``style=``, ``Text``)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(markup=False, highlight=False, **kwargs)

    def print(self, *objects: Any, **kwargs: Any) -> None:
        super().print(
            *(without_controls(o, keep_newlines=True) if isinstance(o, str) else o for o in objects), **kwargs
        )


class Table(RichTable):
    """A table whose text cells are printed as written, without control characters."""

    def add_row(self, *renderables: Any, **kwargs: Any) -> None:
        super().add_row(*(without_controls(r) if isinstance(r, str) else r for r in renderables), **kwargs)


def _styled(label: str, style: str, rest: str = "") -> Text:
    return Text.assemble((label, style), without_controls(rest, keep_newlines=True))


# Piped into a file or another program, tables keep their full width rather than "…".
console = SafeConsole() if sys.stdout.isatty() else SafeConsole(width=200)
err = SafeConsole(stderr=True) if sys.stderr.isatty() else SafeConsole(stderr=True, width=200)

STATUS_LABEL = {"applied": "反映", "duplicate": "重複", "rejected": "受付不可", "held": "保留", "released": "保留解除"}


_opened: list[Context] = []


def _context() -> Context:
    try:
        ctx = open_context(load_settings())
    except (KeyError_, NotInitialised) as exc:
        err.print(_styled("エラー: ", "red", str(exc)))
        raise typer.Exit(2) from None
    _opened.append(ctx)
    return ctx


def _seal_opened() -> None:
    """Every command that appended to the access log ends by signing its tail."""
    from shuyaku.audit.verify import seal_tail

    while _opened:
        ctx = _opened.pop()
        try:
            seal_tail(ctx)
        except Exception:  # noqa: BLE001 — the command's own outcome stands; verify reports the unsigned tail
            logging.getLogger("shuyaku").exception("could not sign the access log's tail")


def _session_file(ctx: Context) -> Path:
    return ctx.settings.home / "sessions" / f"{getpass.getuser()}.token"


def _actor(ctx: Context) -> Actor:
    """Who runs this command: the logged-in staff member (``shuyaku login``; the token in
    ``SHUYAKU_SESSION`` or the session file). Before the first account exists the CLI runs
    in set-up mode as ``setup:<OS login>`` with every right, logged like everybody else."""
    from shuyaku.access import accounts

    path = _session_file(ctx)
    token = os.environ.get("SHUYAKU_SESSION") or (path.read_text(encoding="ascii").strip() if path.exists() else "")
    if token:
        try:
            return accounts.session_actor(ctx, token)
        except accounts.LoginFailed:
            _log_refused(ctx, "session ended or expired")
            raise
    if not accounts.has_accounts(ctx):
        return Actor(f"setup:{os.environ.get('SHUYAKU_ACTOR') or getpass.getuser()}", "system")
    _log_refused(ctx, "not logged in")
    raise _fail("ログインしてください: shuyaku login --user ログインID")


def _log_refused(ctx: Context, why: str) -> None:
    """A command refused before anybody logged in is an access attempt too: logged."""
    from shuyaku.audit import trail

    trail.record(
        ctx,
        Actor(f"未ログイン:{getpass.getuser()}"[:32], "-"),
        trail.Event(_invoked.get("command", "command"), outcome="denied", detail=why),
    )


_invoked: dict[str, str] = {}


@app.callback()
def _remember_command(typer_ctx: typer.Context) -> None:
    """shuyaku — 国保情報集約システム"""
    _invoked["command"] = typer_ctx.invoked_subcommand or "command"
    typer_ctx.call_on_close(_seal_opened)


def _session() -> tuple[Context, Actor]:
    ctx = _context()
    return ctx, _actor(ctx)


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(_styled("エラー: ", "red", message))
    return typer.Exit(code)


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


def _print_municipalities(rows: list[dict[str, object]]) -> None:
    table = Table("市町村コード", "市町村名", "文字コード", "被保険者", "世帯", "SKSE連番", "SKKS連番", "保留")
    for m in rows:
        table.add_row(
            str(m["code"]),
            str(m["name"]),
            str(m["encoding"]),
            f"{m['persons']:,}",
            f"{m['households']:,}",
            str(m["SKSE"]),
            str(m["SKKS"]),
            str(m["held"]),
        )
    console.print(table)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
        disable=not err.is_terminal,
    )


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="ファイルまたはフォルダ(中の *.csv)")],
    remove_source: Annotated[
        bool, typer.Option("--remove-source", help="反映後に元ファイルを削除する(暗号化した写しだけを保管)")
    ] = False,
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
    actor = _actor(ctx)
    codes = (
        [municipality]
        if municipality
        else [c for c in export_service.registered(ctx) if actor.municipalities is None or c in actor.municipalities]
    )
    written: list[Path] = []
    blocked: list[str] = []
    for code in codes:  # one municipality's refused file stops no other's
        try:
            written += export_service.export(ctx, actor, code, kind.upper(), out)
        except OutboxBlocked as exc:
            written += exc.written
            blocked.append(str(exc))
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


@vault_app.command("rotate-index-key")
def rotate_index_key() -> None:
    """検索用の鍵を新しい版に替え、全件のブラインドインデックスを封印値から作り直す(県IDは不変)。"""
    from shuyaku.vault.rotation import rotate_index_key as rotate

    version, count = rotate(*_session())
    console.print(f"✓ 検索鍵を v{version} に更新し、{count:,} 件を作り直しました")


@inbox_app.command("list")
def inbox_list(
    status: Annotated[str | None, typer.Option(help="applied / duplicate / rejected / held / released")] = None,
    municipality: Annotated[str | None, typer.Option(help="市町村コード")] = None,
    limit: Annotated[int, typer.Option(help="表示件数(新しい順)")] = 50,
) -> None:
    """受信ファイル台帳: 何が反映され、何が保留・受付不可になったか(理由つき)。"""
    from shuyaku.exchange.ledger import list_files

    ctx = _context()
    from shuyaku.audit import trail

    actor = _actor(ctx)
    trail.require(ctx, actor, "inbox.read", municipality)
    if municipality is None and actor.municipalities is not None:
        raise _fail("--municipality で担当の市町村を指定してください")
    with ctx.engine.connect() as conn:
        files = list_files(conn, status=status, municipality_code=municipality, limit=limit)
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


@kogaku_app.command("calc")
def kogaku_calc(case: Annotated[str, typer.Argument(help="事例の JSON ファイル(- で標準入力)")]) -> None:
    """1世帯1か月の高額療養費を計算し、JSON で出力する(データベース不要)。"""
    import json

    from shuyaku.kogaku.calc import calculate_json
    from shuyaku.kogaku.rules import CaseError

    try:
        text = sys.stdin.read() if case == "-" else Path(case).read_text(encoding="utf-8")
    except OSError as exc:
        raise _fail(f"{case}: {exc.strerror}") from None
    try:
        result = calculate_json(text)
    except CaseError as exc:
        err.print(str(exc), markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    sys.stdout.write(json.dumps(result, ensure_ascii=False, indent=2) + "\n")


@kogaku_app.command("run")
def kogaku_run(
    month: Annotated[str, typer.Option(help="診療年月 YYYYMM")],
    out: Annotated[Path | None, typer.Option(help="支給一覧の出力フォルダ(既定: SHUYAKU_HOME/outbox/kogaku)")] = None,
) -> None:
    """県内全世帯のその月の高額療養費を計算し、該当月を記録し、市町村別の支給一覧を書く。"""
    from shuyaku.kogaku.service import run_month

    ctx = _context()
    summary = run_month(ctx, _actor(ctx), month, out or ctx.settings.outbox_dir / "kogaku")
    console.print(
        f"✓ {summary.month}(限度額表 {summary.cap_table}): 世帯 {summary.households:,}、支給 {summary.paid_households:,} 世帯 "
        f"計 {summary.payment_total:,} 円、世帯該当 {summary.household_hits:,}"
    )
    if summary.unmatched_claims or summary.undeclared_classes:
        console.print(
            "注意: 被保険者の記録がないレセプト {summary.unmatched_claims:,} 件、"
            f"所得区分の届出がない世帯 {summary.undeclared_classes:,}(70歳未満はア、70歳以上は現役並みⅢとして計算)"
        )
    for path in summary.files:
        console.print(f"  {path}")


@continuity_app.command("list")
def continuity_list(
    municipality: Annotated[str | None, typer.Option(help="転入先(判定する側)の市町村コード")] = None,
    status: Annotated[str | None, typer.Option(help="proposed / confirmed / rejected / withdrawn")] = None,
) -> None:
    """世帯の継続性候補の一覧(規則・理由・見た世帯員つき)。"""
    from shuyaku.household import service

    found = service.list_candidates(*_session(), municipality_code=municipality, status=status)
    table = Table(
        "候補番号",
        "異動日",
        "規則",
        "判定",
        "状態",
        "転入先 市町村・世帯番号・県世帯ID",
        "転出元 市町村・県世帯ID",
        "理由",
        "世帯員",
        "決定",
    )
    for c in found:
        members = " ".join(f"{p}:{part}" for p, part in c.persons.items())
        decided = f"{c.decided_by} {c.decided_at:%Y-%m-%d %H:%M}" if c.decided_at else ""
        table.add_row(
            str(c.candidate_id),
            c.change_date.isoformat(),
            c.rule,
            "継続" if c.continuous else "非継続",
            service.STATUS_LABEL[c.status],
            f"{c.to_municipality_code} {c.to_setai_no} {c.to_household}",
            f"{c.from_municipality_code} {c.from_household}",
            c.reason + (f"({c.decision_note})" if c.decision_note else ""),
            members,
            decided,
        )
    console.print(table)
    console.print(f"{len(found):,} 件")


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
    from shuyaku.household import service

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
    from shuyaku.household import service

    ctx, actor = _session()
    service.reject(ctx, actor, candidate, reason)
    console.print(f"✓ 候補 {candidate} を却下しました(却下者 {actor.login_id})")


@tasuukai_app.command("run")
def tasuukai_run(month: Annotated[str, typer.Option(help="診療年月 YYYYMM")]) -> None:
    """その月の全世帯の多数回該当回数を求めて記録する(変わった世帯が次の TSKG に載る)。"""
    from shuyaku.kogaku import tasuukai

    summary = tasuukai.run_month(*_session(), month)
    console.print(
        f"✓ {summary.month}: 該当月のある世帯 {summary.households:,}、多数回該当 {summary.tasuukai:,}、"
        f"前回から変わった世帯 {summary.changed:,}"
    )


@tasuukai_app.command("explain")
def tasuukai_explain(
    household: Annotated[str, typer.Option(help="県世帯ID")],
    month: Annotated[str, typer.Option(help="診療年月 YYYYMM")],
) -> None:
    """その世帯・その月の多数回の回数の内訳: 数えた月、出所、引継ぎの候補、数えなかった月と理由。"""
    from shuyaku.kogaku import tasuukai

    ex = tasuukai.explain(*_session(), household, month)
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
            cands.add_row(str(cid), src, dst, day, rule, "継続" if cont else "非継続", status)
        console.print(cands)


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


@app.command()
def login(user: Annotated[str, typer.Option("--user", help="ログインID")]) -> None:
    """ログインする(パスワードと認証アプリの確認コード)。以後のコマンドはこの利用者として記録される。"""
    from shuyaku.access import accounts

    ctx = _context()
    password = typer.prompt("パスワード", hide_input=True)
    code = typer.prompt("確認コード(6桁)")
    session = accounts.login(ctx, user, password, code)
    if session.must_change_password:
        console.print("初回ログインまたは初期化後のため、パスワードを変更してください")
        new = typer.prompt("新しいパスワード", hide_input=True, confirmation_prompt="確認のためもう一度")
        accounts.change_password(ctx, user, password, new)
    path = _session_file(ctx)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(session.token)
    console.print(f"✓ {user}({session.actor.role})としてログインしました(8時間有効)")


@app.command()
def logout() -> None:
    """ログアウトする(セッションを終了し、端末に残さない)。"""
    from shuyaku.access import accounts

    ctx = _context()
    path = _session_file(ctx)
    if path.exists():
        accounts.logout(ctx, path.read_text(encoding="ascii").strip())
        path.unlink()
    console.print("✓ ログアウトしました")


@user_app.command("add")
def user_add(
    login_id: Annotated[str, typer.Argument(help="ログインID(職員ごと。共用しない)")],
    name: Annotated[str, typer.Option(help="氏名")],
    organisation: Annotated[str, typer.Option(help="所属")],
    role: Annotated[
        str, typer.Option(help="municipal_clerk / municipal_supervisor / federation_operator / auditor / admin")
    ],
    municipality: Annotated[list[str] | None, typer.Option(help="担当の市町村コード(市町村の役割のみ。複数可)")] = None,
    valid_until: Annotated[str | None, typer.Option(help="有効期限 YYYY-MM-DD(任期・異動予定)")] = None,
    approved_by: Annotated[str | None, typer.Option(help="承認者のログインID")] = None,
) -> None:
    """利用者を登録する。初期パスワードと二要素認証の登録用URIを一度だけ表示する。"""
    from datetime import date as date_

    from shuyaku.access import accounts

    ctx, actor = _session()
    try:
        until = date_.fromisoformat(valid_until) if valid_until else None
        creds = accounts.add_user(
            ctx,
            actor,
            login_id,
            name,
            organisation,
            role,
            municipality or [],
            valid_until=until,
            approved_by=approved_by,
        )
    except ValueError as exc:
        raise _fail(str(exc)) from None
    console.print(f"✓ {login_id} を登録しました。本人に安全な方法で渡してください(再表示はできません):")
    console.print(f"  初期パスワード: {creds.password}(初回ログイン時に変更)", markup=False)
    console.print(f"  認証アプリ登録: {creds.totp_uri}", markup=False)


@user_app.command("list")
def user_list() -> None:
    """利用者の一覧(役割・担当・状態)。"""
    from shuyaku.access import accounts, policy

    found = accounts.list_users(*_session())
    status_label = {"active": "利用中", "suspended": "停止", "expired": "期限切れ"}
    table = Table("ログインID", "氏名", "所属", "役割", "担当市町村", "状態", "有効期限", "最終ログイン")
    for a in found:
        table.add_row(
            a.login_id,
            a.name,
            a.organisation,
            policy.ROLES.get(a.role, a.role),
            ",".join(a.municipalities) or "県全体",
            status_label.get(a.status, a.status) + ("(ロック中)" if a.locked else ""),
            a.valid_until.isoformat() if a.valid_until else "",
            f"{a.last_login_at:%Y-%m-%d %H:%M}" if a.last_login_at else "",
        )
    console.print(table)


@user_app.command("suspend")
def user_suspend(
    login_id: Annotated[str, typer.Argument(help="ログインID")],
    reason: Annotated[str, typer.Option(help="理由(異動・退職など)")],
    approved_by: Annotated[str | None, typer.Option(help="承認者のログインID")] = None,
) -> None:
    """利用を停止する(異動・退職)。ログインできなくなり、セッションも終わる。"""
    from shuyaku.access import accounts

    ctx, actor = _session()
    accounts.suspend(ctx, actor, login_id, reason=reason, approved_by=approved_by)
    console.print(f"✓ {login_id} の利用を停止しました")


@user_app.command("reset-password")
def user_reset_password(
    login_id: Annotated[str, typer.Argument(help="ログインID")],
    new_totp: Annotated[bool, typer.Option("--new-totp", help="認証アプリも登録し直す(端末の紛失など)")] = False,
    approved_by: Annotated[str | None, typer.Option(help="承認者のログインID")] = None,
) -> None:
    """パスワードを初期化する(ロックも解除)。"""
    from shuyaku.access import accounts

    ctx, actor = _session()
    creds = accounts.reset_password(ctx, actor, login_id, new_totp=new_totp, approved_by=approved_by)
    console.print(f"✓ 初期パスワード: {creds.password}(初回ログイン時に変更)", markup=False)
    if creds.totp_uri:
        console.print(f"  認証アプリ登録: {creds.totp_uri}", markup=False)


@user_app.command("set-role")
def user_set_role(
    login_id: Annotated[str, typer.Argument(help="ログインID")],
    role: Annotated[str, typer.Option(help="新しい役割")],
    municipality: Annotated[list[str] | None, typer.Option(help="担当の市町村コード(複数可)")] = None,
    approved_by: Annotated[str | None, typer.Option(help="承認者のログインID")] = None,
    reason: Annotated[str | None, typer.Option(help="理由")] = None,
) -> None:
    """役割・担当市町村を変える(権限追加・権限削除・役割変更として記録)。"""
    from shuyaku.access import accounts

    ctx, actor = _session()
    kind = accounts.set_role(ctx, actor, login_id, role, municipality or [], approved_by=approved_by, reason=reason)
    console.print(f"✓ {login_id}: {kind}")


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
    from_: Annotated[str, typer.Option("--from", help="期間の始め YYYY-MM-DD")],
    to: Annotated[str, typer.Option("--to", help="期間の終わり YYYY-MM-DD")],
    pdf: Annotated[Path | None, typer.Option(help="PDF の出力先")] = None,
    csv_: Annotated[Path | None, typer.Option("--csv", help="CSV の出力先")] = None,
) -> None:
    """利用者権限変更一覧(A4横、和暦の作成日、変更者・承認者つき)。"""
    _report("permissions", from_, to, pdf, csv_)


@report_app.command("access-review")
def report_access_review(
    from_: Annotated[str, typer.Option("--from", help="期間の始め YYYY-MM-DD")],
    to: Annotated[str, typer.Option("--to", help="期間の終わり YYYY-MM-DD")],
    pdf: Annotated[Path | None, typer.Option(help="PDF の出力先")] = None,
    csv_: Annotated[Path | None, typer.Option("--csv", help="CSV の出力先")] = None,
) -> None:
    """アクセス記録点検表: 時間外、大量照会、担当外へのアクセス(拒否)、ファイル出力、ログイン失敗。"""
    _report("access_review", from_, to, pdf, csv_)


def _report(kind: str, start: str, end: str, pdf: Path | None, csv_: Path | None) -> None:
    from datetime import date as date_

    from shuyaku.reports import service

    if pdf is None and csv_ is None:
        raise _fail("--pdf か --csv(または両方)を指定してください")
    ctx, actor = _session()
    try:
        build = service.permissions if kind == "permissions" else service.access_review
        done = build(ctx, actor, date_.fromisoformat(start), date_.fromisoformat(end), pdf_path=pdf, csv_path=csv_)
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


def main() -> None:
    """Entry point: an unexpected failure is logged and shown in one line, numbers masked."""
    private_umask()  # everything written under SHUYAKU_HOME is the owner's alone
    try:
        app()  # usage errors, typer.Exit and Ctrl-C are handled inside (exit 2, the code, 1)
    except Exception as exc:  # noqa: BLE001 — the boundary: nothing raw reaches the terminal
        logging.getLogger("shuyaku").exception("unexpected failure")
        err.print(
            _styled(
                "予期しないエラー: ",
                "red",
                f"{type(exc).__name__}: {ids.redact(str(exc))}(詳細はログ SHUYAKU_HOME/log/shuyaku.log)",
            )
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
