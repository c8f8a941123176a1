"""Japanese text helpers (pure): 和暦 for 帳票."""

from __future__ import annotations

import re
from datetime import date

from shuyaku import ids

# First day of each era (the era of a date is the last one that has begun) and the 西暦
# year of its 元年. 明治 began in 1868, but dates are Gregorian only from 明治6年 (1873).
ERAS = (
    (date(2019, 5, 1), "令和", 2019),
    (date(1989, 1, 8), "平成", 1989),
    (date(1926, 12, 25), "昭和", 1926),
    (date(1912, 7, 30), "大正", 1912),
    (date(1873, 1, 1), "明治", 1868),
)


def wareki_year(day: date) -> str:
    """``令和元年`` for the first year of an era, ``令和8年`` after."""
    for start, name, first_year in ERAS:
        if day >= start:
            year = day.year - first_year + 1
            return f"{name}{'元' if year == 1 else year}年"
    raise ValueError(f"{day.isoformat()} は和暦(明治6年以降)に変換できません")


def wareki(day: date) -> str:
    """``令和8年11月27日``."""
    return f"{wareki_year(day)}{day.month}月{day.day}日"


# --- text that leaves the system --------------------------------------------------------

# C0 and C1 controls (ESC starts terminal sequences), DEL, and the bidirectional overrides
# and isolates that make a line read differently from how it is stored.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_FORMULA_LEAD = ("=", "+", "-", "@", "\t", "\r")


def without_controls(value: str, *, keep_newlines: bool = False) -> str:
    """``value`` with control characters replaced by U+FFFD (tab and newline too, unless kept)."""
    cleaned = _CONTROL.sub("\ufffd", value)
    return cleaned if keep_newlines else cleaned.replace("\t", "\ufffd").replace("\n", "\ufffd")


def csv_cell(value: str) -> str:
    """A CSV cell that a spreadsheet will not run as a formula (OWASP CSV injection): a cell
    starting with = + - @ tab or CR gets a leading apostrophe."""
    return "'" + value if value.startswith(_FORMULA_LEAD) else value


def typed_text(value: str) -> str:
    """What a person typed (a reason, a note, a name), as it may be stored and shown: no
    individual number (ASCII, full-width or grouped) and no control character."""

    return without_controls(ids.redact(value)).strip()
