"""Japanese text helpers (pure): 和暦 for 帳票."""

from __future__ import annotations

from datetime import date

# First day of each era (the era of a date is the last one that has begun).
ERAS = (
    (date(2019, 5, 1), "令和"),
    (date(1989, 1, 8), "平成"),
    (date(1926, 12, 25), "昭和"),
    (date(1912, 7, 30), "大正"),
    (date(1873, 1, 1), "明治"),  # the Gregorian calendar from 明治6年
)


def wareki_year(day: date) -> str:
    """``令和元年`` for the first year of an era, ``令和8年`` after."""
    for start, name in ERAS:
        if day >= start:
            year = day.year - start.year + 1
            return f"{name}{'元' if year == 1 else year}年"
    raise ValueError(f"{day.isoformat()} は和暦(明治6年以降)に変換できません")


def wareki(day: date) -> str:
    """``令和8年11月27日``."""
    return f"{wareki_year(day)}{day.month}月{day.day}日"
