"""The `shuyaku` command, one module per feature. Commands are thin: they parse, call one
service, and print; errors are mapped once (``base.ShuyakuTyper``)."""

from __future__ import annotations

import importlib

from shuyaku.cli.base import app
from shuyaku.files import private_umask

__all__ = ["app", "main"]

# Each feature's module registers its commands; imported in the order `--help` lists them.
FEATURES = ("setup", "intake", "person", "continuity", "kogaku", "accounts", "audit", "register", "serve")
for _feature in FEATURES:
    importlib.import_module(f"shuyaku.cli.{_feature}")


def main() -> None:
    """Entry point. Usage mistakes, bugs (an incident number, no traceback) and Ctrl-C are
    answered inside the command classes (``japanese.Group.main``)."""
    private_umask()  # everything written under SHUYAKU_HOME is the owner's alone
    app()
