"""The command's own words, in Japanese: help pages, usage mistakes, exit codes, and the
last-resort answer to a bug.

Typer renders help and usage errors with English text of its own ("Usage:", "Show this
message and exit.", "No such option") and a vendored Click that has no translation
catalogue. The documented way round is its ``cls`` hook: every group and command of
``shuyaku`` is one of the classes below, which render the help page themselves and turn a
usage error — by its class and fields, not its English text — into one Japanese line that
names the option and the expected form. A bug never prints a traceback: one Japanese line,
an incident number, and where the details were logged (the log masks individual numbers).
"""

from __future__ import annotations

import io
import logging
import secrets
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from difflib import get_close_matches
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from typer import _click
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from shuyaku import ids
from shuyaku.text import without_controls

HELP_OPTION_HELP = "この説明を表示して終わる"

# What the exit codes mean, for every command; ``EXIT_ONE`` names the commands that can end
# with 1 and what it means there. Help pages and the README's table both come from here.
EXIT_CODES: dict[int, str] = {
    0: "成功",
    2: "指定・入力の誤り、権限がない、または実行できる状態にない(何も変えていない)",
    3: "予期しないエラー(障害番号を表示し、詳細をログに記録)",
    130: "中断(Ctrl-C)",
}
EXIT_ONE: dict[str, str] = {
    "ingest": "受付不可・保留のファイル、または隔離した記録がある(一部反映)",
    "audit verify": "検証で所見がある(改ざん・削除・署名の不一致、外部保管のチェックポイントとの不整合)",
    "export": "出力ガードが止めたファイルがある(ほかのファイルは出力済み)",
    "kogaku run": "出力ガードが止めた一覧がある(計算と記録は済み)",
    "kogaku rerun": "出力ガードが止めた一覧がある(計算と記録は済み)",
}

_KIND_LABEL = {
    "int": "整数",
    "float": "数値",
    "str": "文字",
    "Path": "パス",
    "bool": "",
    "date": "YYYY-MM-DD",
}


def exit_codes(command_path: str) -> dict[int, str]:
    """The exit codes of one command (its path without ``shuyaku``)."""
    codes = dict(EXIT_CODES)
    if command_path in EXIT_ONE:
        codes[1] = EXIT_ONE[command_path]
    return dict(sorted(codes.items()))


def _value_form(param: Any) -> str:
    """What a person types after the option: nothing for a flag, else a short Japanese hint."""
    if isinstance(param, TyperArgument):
        return ""
    if getattr(param, "is_flag", False) or getattr(param, "count", False):
        return ""
    if param.metavar:
        return str(param.metavar)
    return _KIND_LABEL.get(param.bare_type(), "値")


def _param_name(param: Any) -> str:
    if isinstance(param, TyperArgument):
        return _argument_name(param)
    names = list(param.opts)
    if param.secondary_opts:
        names += [f"/ {o}" for o in param.secondary_opts]
    return " ".join(names)


def _param_help(param: Any) -> str:
    text = " ".join((param.help or "").split())
    extra = []
    if param.required:
        extra.append("必須")
    default = param.default
    simple = isinstance(default, int | float | str) and not isinstance(default, bool)
    if not param.required and simple and default != "":
        extra.append(f"既定: {default}")
    return text + (f"({'、'.join(extra)})" if extra else "")


def _argument_name(param: Any) -> str:
    return str(param.display_name_raw).strip("{}").upper() + ("..." if param.nargs != 1 else "")


def _usage(command: _click.Command, ctx: _click.Context) -> str:
    pieces = [ctx.command_path, "[オプション]"]
    pieces += [_argument_name(p) for p in command.get_params(ctx) if isinstance(p, TyperArgument)]
    if isinstance(command, TyperGroup):
        pieces.append("コマンド [引数]...")
    return " ".join(pieces)


def render_help(command: _click.Command, ctx: _click.Context) -> str:
    """The whole help page as plain text, wrapped to the terminal (or 100 columns)."""
    width = _click.utils.get_terminal_size()[0] if sys.stdout.isatty() else 100  # type: ignore[attr-defined]
    out = io.StringIO()
    page = Console(file=out, width=max(60, min(width, 120)), no_color=True, markup=False, highlight=False)
    page.print(f"使い方: {_usage(command, ctx)}")
    page.print()
    if command.help:
        page.print(Text(without_controls(command.help, keep_newlines=True).strip()))
        page.print()
    params = [p for p in command.get_params(ctx) if not getattr(p, "hidden", False)]
    arguments = [p for p in params if isinstance(p, TyperArgument)]
    options = [p for p in params if isinstance(p, TyperOption) or not isinstance(p, TyperArgument)]
    for title, group in (("引数", arguments), ("オプション", options)):
        if not group:
            continue
        page.print(title)
        grid = Table.grid(padding=(0, 2))
        grid.add_column(no_wrap=True)
        grid.add_column(no_wrap=True)
        grid.add_column(overflow="fold")
        for p in group:
            grid.add_row("  " + _param_name(p), _value_form(p), _param_help(p))
        page.print(grid)
        page.print()
    if isinstance(command, TyperGroup):
        page.print("コマンド")
        grid = Table.grid(padding=(0, 2))
        grid.add_column(no_wrap=True)
        grid.add_column(overflow="fold")
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is None or sub.hidden:
                continue
            grid.add_row("  " + name, (sub.get_short_help_str(limit=200) or "").strip())
        page.print(grid)
        page.print()
        page.print(f"各コマンドの説明: {ctx.command_path} コマンド --help")
    else:
        path = ctx.command_path.split(" ", 1)[1] if " " in ctx.command_path else ""
        page.print("終了コード")
        grid = Table.grid(padding=(0, 2))
        grid.add_column(no_wrap=True, justify="right")
        grid.add_column(overflow="fold")
        for code, meaning in exit_codes(path).items():
            grid.add_row(f"  {code}", meaning)
        page.print(grid)
    return "\n".join(line.rstrip() for line in out.getvalue().rstrip().splitlines()) + "\n"


def _hint(param: Any) -> str:
    if param is None:
        return "指定"
    if isinstance(param, TyperArgument):
        return _argument_name(param)
    return "/".join(param.opts) or str(param.name)


def usage_message(exc: _click.exceptions.UsageError) -> str:
    """One Japanese line for a usage mistake, from the error's class and fields."""
    errors = _click.exceptions
    if isinstance(exc, errors.NoSuchOption):
        found = f"{exc.option_name} というオプションはありません"
        if exc.possibilities:
            found += f"(もしかして: {', '.join(sorted(exc.possibilities))})"
        return found
    if isinstance(exc, errors.MissingParameter):
        param = exc.param
        kind = "引数" if isinstance(param, TyperArgument) else "オプション"
        described = getattr(param, "help", None)
        return f"{kind} {_hint(param)} を指定してください" + (f"({described})" if described else "")
    if isinstance(exc, errors.BadParameter):
        param = exc.param
        form = _value_form(param) if param is not None else ""
        expected = f"{form}で指定してください" if form else "正しい値を指定してください"
        return f"{_hint(param)} の値が正しくありません: {expected}"
    if isinstance(exc, errors.BadOptionUsage):
        if "requires" in exc.message:
            return f"{exc.option_name} には値が必要です"
        return f"{exc.option_name} は値をとりません"
    if "unexpected extra argument" in exc.message:
        extra = exc.message.partition("argument(s) (")[2].rstrip(")")
        return f"余分な引数があります: {extra}"
    if exc.message.startswith("Missing command"):
        return "コマンドを指定してください"
    if isinstance(exc, _Said):
        return exc.message
    return f"指定が正しくありません: {exc.message}"


class _Said(_click.exceptions.UsageError):
    """A usage error whose message is already Japanese."""


def _print_error(message: str, hint: str = "") -> None:
    text = without_controls(ids.redact(message), keep_newlines=True)
    sys.stderr.write(f"エラー: {text}\n" + (f"{hint}\n" if hint else ""))
    sys.stderr.flush()


def _log_target(logger: logging.Logger) -> str | None:
    """Where the log goes; a bug before any command opened the store still gets the log file."""
    where = next((h.baseFilename for h in logger.handlers if hasattr(h, "baseFilename")), None)
    if where is None:
        try:
            from shuyaku.config import load_settings
            from shuyaku.context import setup_logging

            setup_logging(load_settings())
        except Exception:  # noqa: BLE001 — no log file can be had; the message says so
            return None
        where = next((h.baseFilename for h in logger.handlers if hasattr(h, "baseFilename")), None)
    return where


def _incident(exc: BaseException) -> int:
    """A bug: logged with its traceback under an incident number; one line to the user."""
    incident = f"{datetime.now(UTC):%Y%m%d%H%M%S}-{secrets.token_hex(3)}"
    logger = logging.getLogger("shuyaku")
    where = _log_target(logger)
    if where is not None:
        logger.error("incident %s: unexpected failure", incident, exc_info=exc)
        place = f"ログ {Path(where)} に記録しました"
    else:
        place = "ログを書けませんでした(SHUYAKU_HOME を確認してください)"
    _print_error(f"予期しないエラーが起きました(障害番号 {incident})。詳細は{place}。管理者に障害番号を伝えてください")
    return 3


class _Japanese:
    """Help page, help option and usage errors in Japanese; shared by groups and commands."""

    def get_help_option(self, ctx: _click.Context) -> Any:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.help = HELP_OPTION_HELP
        return option

    def format_help(self, ctx: _click.Context, formatter: Any) -> None:
        formatter.write(render_help(self, ctx))  # type: ignore[arg-type]

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            result = super().main(  # type: ignore[misc]
                args, prog_name, complete_var, standalone_mode=False, windows_expand_args=windows_expand_args, **extra
            )
            code = result if isinstance(result, int) and not isinstance(result, bool) else 0
        except _click.exceptions.NoArgsIsHelpError as exc:
            sys.stdout.write(exc.format_message().rstrip("\n") + "\n")
            code = 0
        except _click.exceptions.UsageError as exc:
            hint = f"使い方: {exc.ctx.command_path} --help" if exc.ctx is not None else ""
            _print_error(usage_message(exc), hint)
            code = 2
        except typer.Abort:
            _print_error("中断しました")
            code = 130
        except _click.exceptions.ClickException as exc:
            _print_error(exc.format_message())
            code = exc.exit_code
        except Exception as exc:  # noqa: BLE001 — the boundary: nothing raw reaches the terminal
            code = _incident(exc)
        if standalone_mode:
            sys.exit(code)
        return code


class Group(_Japanese, TyperGroup):
    def resolve_command(self, ctx: _click.Context, args: list[str]) -> Any:
        name = args[0] if args else ""
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            close = get_close_matches(name, self.list_commands(ctx), n=3)
            found = f"{name} というコマンドはありません" + (f"(もしかして: {', '.join(close)})" if close else "")
            raise _Said(found, ctx)
        return super().resolve_command(ctx, args)


class Command(_Japanese, TyperCommand):
    pass


def japanese_typer(**kwargs: Any) -> dict[str, Any]:
    """The keyword arguments every ``Typer`` of shuyaku is made with."""
    return {"cls": Group, "add_completion": False, "pretty_exceptions_enable": False, **kwargs}


__all__ = ["Command", "Group", "EXIT_CODES", "EXIT_ONE", "exit_codes", "japanese_typer", "render_help", "typer"]
