"""The acting user or system account that every service function receives."""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass


class AccessDenied(PermissionError):
    """The actor may not do this (the message names what and why, never personal data)."""


@dataclass(frozen=True)
class Actor:
    login_id: str
    role: str
    municipalities: frozenset[str] | None = None  # None: every municipality of the prefecture

    def require_municipality(self, municipality_code: str) -> None:
        if self.municipalities is not None and municipality_code not in self.municipalities:
            raise AccessDenied(f"{self.login_id} は市町村 {municipality_code} を扱う権限がありません")


def cli_actor() -> Actor:
    """The operator running the CLI: ``SHUYAKU_ACTOR`` or the OS login, as a federation operator."""
    login = os.environ.get("SHUYAKU_ACTOR") or getpass.getuser()
    return Actor(login_id=login, role="federation_operator")


SYSTEM = Actor(login_id="system", role="system")
