"""The `shuyaku` command, one module per feature. Commands are thin: they parse, call one
service, and print; errors are mapped once (``base.ShuyakuTyper``)."""

from __future__ import annotations

import importlib
import logging
import sys

from shuyaku import ids
from shuyaku.cli.base import _styled, app, err
from shuyaku.files import private_umask

__all__ = ["app", "main"]

# Each feature's module registers its commands; imported in the order `--help` lists them.
FEATURES = ("setup", "intake", "person", "continuity", "kogaku", "accounts", "audit", "serve")
for _feature in FEATURES:
    importlib.import_module(f"shuyaku.cli.{_feature}")


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
