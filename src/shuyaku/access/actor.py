"""The acting user or system account that every service function receives."""

from __future__ import annotations

from dataclasses import dataclass

from shuyaku.errors import Forbidden


class AccessDenied(Forbidden, PermissionError):
    """The actor may not do this (the message names what and why, never personal data)."""


@dataclass(frozen=True)
class Actor:
    login_id: str
    role: str
    municipalities: frozenset[str] | None = None  # None: every municipality of the prefecture
    unit: str | None = None  # department_staff: the organisation unit whose registrations they read

    def sees(self, municipality_code: str) -> bool:
        """Whether the municipality is in this actor's scope."""
        return self.municipalities is None or municipality_code in self.municipalities

    def require_municipality(self, municipality_code: str) -> None:
        if not self.sees(municipality_code):
            raise AccessDenied(f"{self.login_id} は市町村 {municipality_code} を扱う権限がありません")


SYSTEM = Actor(login_id="system", role="system")
