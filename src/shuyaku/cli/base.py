"""What every command module shares: the app, the consoles that print nothing as markup or
control, the one mapping of errors, the session and the acting user."""

from __future__ import annotations

import csv
import functools
import getpass
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from datetime import date, datetime, time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table as RichTable
from rich.text import Text

from shuyaku import ids
from shuyaku.access.actor import Actor
from shuyaku.cli.japanese import Command, japanese_typer
from shuyaku.config import load_settings
from shuyaku.context import Context, NotInitialised, open_context
from shuyaku.errors import ShuyakuError
from shuyaku.text import without_controls
from shuyaku.vault.keys import KeyError_


class ShuyakuTyper(typer.Typer):
    """Typer whose commands map ``ShuyakuError`` in one place: the message on stderr (no
    markup, no control characters) and the error's exit code. Anything else is a bug and
    reaches the last-resort handler of ``japanese.Group.main``. Help pages and usage errors
    are Japanese (``japanese.py``)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**japanese_typer(**kwargs))

    def command(self, *args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:  # type: ignore[override]
        register = super().command(*args, cls=Command, **kwargs)

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


app = ShuyakuTyper(help="shuyaku — 国保情報集約システム", no_args_is_help=True)


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
    """A table whose text cells are printed as written, without control characters, and
    wrap rather than end in "…" when the terminal is narrow (an ID is never cut)."""

    def __init__(self, *headers: Any, **kwargs: Any) -> None:
        super().__init__(*headers, **kwargs)
        for column in self.columns:
            column.overflow = "fold"

    def add_row(self, *renderables: Any, **kwargs: Any) -> None:
        super().add_row(*(without_controls(r) if isinstance(r, str) else r for r in renderables), **kwargs)


def _styled(label: str, style: str, rest: str = "") -> Text:
    """A labelled message (errors, warnings, findings): what follows the label is masked and
    stripped of control characters, whatever the message repeats of what was typed."""
    return Text.assemble((label, style), without_controls(ids.redact(rest), keep_newlines=True))


# Piped into a file or another program, tables keep their full width rather than "…".
console = SafeConsole() if sys.stdout.isatty() else SafeConsole(width=200)
err = SafeConsole(stderr=True) if sys.stderr.isatty() else SafeConsole(stderr=True, width=200)

STATUS_LABEL = {"applied": "反映", "duplicate": "重複", "rejected": "受付不可", "held": "保留", "released": "保留解除"}


def _coded(option: str, value: str | None, labels: dict[str, str]) -> str | None:
    """An option that takes a code or its Japanese label (``applied`` or ``反映``), as the code."""
    if value is None:
        return None
    codes = {**{code: code for code in labels}, **{label: code for code, label in labels.items()}}
    if value not in codes:
        choices = " / ".join(f"{label}({code})" for code, label in labels.items())
        raise _fail(f"{option} は {choices} のいずれかで指定してください(指定: {value})")
    return codes[value]


def _result_label(status: str, errors: int) -> str:
    """A file's result as staff read it: an applied file with quarantined records is 一部反映."""
    if status == "applied" and errors:
        return "一部反映"
    return STATUS_LABEL.get(status, status)


_opened: list[Context] = []


def _context() -> Context:
    try:
        ctx = open_context(load_settings())
        ctx.require_current_schema()
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
    from shuyaku import accounts

    path = _session_file(ctx)
    token = os.environ.get("SHUYAKU_SESSION") or (path.read_text(encoding="ascii").strip() if path.exists() else "")
    if token:
        try:
            return accounts.session_actor(ctx, token)
        except accounts.LoginFailed:
            _log_refused(ctx, "セッションが終了または期限切れ")
            raise
    if not accounts.has_accounts(ctx):
        return Actor(f"setup:{os.environ.get('SHUYAKU_ACTOR') or getpass.getuser()}", "system")
    _log_refused(ctx, "未ログイン")
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


def _print_version(asked: bool) -> None:
    if asked:
        from shuyaku import __version__

        console.print(f"shuyaku {__version__}")
        raise typer.Exit(0)


@app.callback()
def _remember_command(
    typer_ctx: typer.Context,
    version: Annotated[
        bool, typer.Option("--version", help="版を表示して終わる", is_eager=True, callback=_print_version)
    ] = False,
) -> None:
    """shuyaku — 国保情報集約システム"""
    _invoked["command"] = typer_ctx.invoked_subcommand or "command"
    typer_ctx.call_on_close(_seal_opened)


def _session() -> tuple[Context, Actor]:
    ctx = _context()
    return ctx, _actor(ctx)


def _os_reason(exc: OSError) -> str:
    """Why a file could not be read or written, in Japanese (the OS says it in English)."""
    if isinstance(exc, FileNotFoundError):
        return "ファイルまたはフォルダがありません"
    if isinstance(exc, PermissionError):
        return "権限がありません"
    if isinstance(exc, IsADirectoryError):
        return "フォルダです(ファイルを指定してください)"
    if isinstance(exc, NotADirectoryError):
        return "途中にフォルダでないものがあります"
    return f"読み書きできません(errno {exc.errno})"


def _date(option: str, value: str) -> date:
    """A YYYY-MM-DD option, or an error that names the option and the form."""
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise _fail(f"{option} は YYYY-MM-DD(例: 2026-11-01)で指定してください(指定: {value})") from None


def _month(option: str, value: str) -> str:
    """A month option, ``YYYYMM`` or ``YYYY-MM``, as ``YYYYMM`` — or an error naming the option."""
    from shuyaku.month import Month, MonthError

    try:
        return Month.parse(value).compact
    except MonthError:
        raise _fail(f"{option} は YYYYMM か YYYY-MM(例: 202609 / 2026-09)で指定してください(指定: {value})") from None


def _moment(option: str, value: str) -> datetime:
    """A point in time typed by a person: a date (its end, JST) or a date and time; without an
    offset the time is Japan time. Stored times are UTC; this returns an aware datetime."""
    from shuyaku.timeutil import JST

    text = value.strip()
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time.max, JST)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _fail(
            f"{option} は YYYY-MM-DD か YYYY-MM-DDTHH:MM(日本時間。例: 2026-11-01T09:30)で指定してください(指定: {value})"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=JST)


def _out_file(option: str, path: Path | None) -> Path | None:
    """A file to write: its folder must already exist and be writable (none is made silently)."""
    if path is None:
        return None
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise _fail(f"{option} {path}: フォルダです(ファイル名を指定してください)")
    if not folder.is_dir():
        raise _fail(f"{option} {path}: フォルダ {folder} がありません(先に作ってください)")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise _fail(f"{option} {path}: 書き込む権限がありません")
    return path


def _out_folder(option: str, path: Path) -> Path:
    """An output folder: made if missing (its help says so), and checked before any work."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _fail(f"{option} {path}: フォルダを作れません({_os_reason(exc)})") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise _fail(f"{option} {path}: 書き込む権限がありません")
    return path


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(_styled("エラー: ", "red", message))
    return typer.Exit(code)


MUNICIPALITY_COLUMNS = (
    ("code", "市町村コード"),
    ("name", "市町村名"),
    ("encoding", "文字コード"),
    ("persons", "被保険者"),
    ("households", "世帯"),
    ("SKSE", "SKSE連番"),
    ("SKKS", "SKKS連番"),
    ("held", "保留"),
)


def _print_municipalities(rows: list[dict[str, object]], fmt: str = "table") -> None:
    if fmt != "table" or not rows:
        listed = [[m[key] for key, _ in MUNICIPALITY_COLUMNS] for m in rows]
        _emit(
            fmt,
            MUNICIPALITY_COLUMNS,
            listed,
            empty="登録済みの市町村はありません(shuyaku municipality add で登録します)",
        )
        return
    table = Table(*(label for _, label in MUNICIPALITY_COLUMNS))
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


FORMATS = ("table", "csv", "json")


def _check_format(value: str) -> str:
    if value not in FORMATS:
        raise typer.BadParameter(value)
    return value


Format = Annotated[
    str,
    typer.Option(
        "--format",
        metavar="table|csv|json",
        help="出力形式: table(表)、csv(見出しは表と同じ)、json(英字のキー)",
        callback=_check_format,
    ),
]


def _emit(fmt: str, columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[object]], *, empty: str = "") -> None:
    """A listing as a table, CSV or JSON: ``columns`` are (JSON key, 見出し) pairs. An empty
    table says why (``empty``); CSV and JSON stay parseable (a header, ``[]``)."""
    if fmt == "json":
        keys = [key for key, _ in columns]
        listing = [dict(zip(keys, row, strict=True)) for row in rows]
        sys.stdout.write(json.dumps(listing, ensure_ascii=False, indent=1, default=str) + "\n")
        return
    if fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow([label for _, label in columns])
        writer.writerows([["" if v is None else without_controls(str(v)) for v in row] for row in rows])
        return
    if not rows and empty:
        console.print(empty)
        return
    table = Table(*(label for _, label in columns))
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
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
