"""Cap tables as effective-dated data (``cap_tables.json`` shipped with the package)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from shuyaku.errors import NotFoundError

UNDER70_CLASSES = ("ア", "イ", "ウ", "エ", "オ")
OVER70_CLASSES = ("現役並みⅢ", "現役並みⅡ", "現役並みⅠ", "一般", "低所得Ⅱ", "低所得Ⅰ")


class NoTableInForce(NotFoundError, LookupError):
    pass


@dataclass(frozen=True)
class HouseholdCap:
    """base + (医療費 − threshold) × 1% when there is a threshold; ``tasuukai`` from the 4th hit."""

    base: int
    threshold: int | None
    tasuukai: int | None


@dataclass(frozen=True)
class Over70Cap:
    outpatient: int | None  # 外来特例 per person; None for 現役並み
    household: HouseholdCap


@dataclass(frozen=True)
class CapTable:
    id: str
    start: str  # YYYY-MM
    end: str
    unit_threshold: int
    specified_disease_caps: dict[str, int]
    under70: dict[str, HouseholdCap]
    over70: dict[str, Over70Cap]
    annual_caps: dict[str, Any] | None


def _household(raw: dict[str, Any]) -> HouseholdCap:
    return HouseholdCap(raw["base"], raw.get("threshold"), raw.get("tasuukai"))


@cache
def all_tables() -> tuple[CapTable, ...]:
    data = json.loads(resources.files("shuyaku.kogaku").joinpath("cap_tables.json").read_text(encoding="utf-8"))
    return tuple(
        CapTable(
            id=t["id"],
            start=t["from"],
            end=t["until"],
            unit_threshold=t["unit_threshold"],
            specified_disease_caps=dict(t["specified_disease_caps"]),
            under70={k: _household(v) for k, v in t["under70"].items()},
            over70={k: Over70Cap(v.get("outpatient"), _household(v)) for k, v in t["over70"].items()},
            annual_caps=t.get("annual_caps"),
        )
        for t in data["tables"]
    )


def table_for(month: str) -> CapTable:
    """The table in force for treatment month ``YYYY-MM``."""
    for table in all_tables():
        if table.start <= month <= table.end:
            return table
    spans = ", ".join(f"{t.start}〜{t.end}" for t in all_tables())
    raise NoTableInForce(f"month: {month} に適用される自己負担限度額の表がありません(収録: {spans})")
