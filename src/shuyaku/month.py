"""A calendar month, the unit of 診療年月, 多数回 windows and income-class periods.

Files and the command line write a month ``YYYYMM`` (``compact``); the ``kogaku calc`` JSON
and the reference texts write ``YYYY-MM`` (``dashed``). ``Month.parse`` reads either, and
every month arithmetic of the system is ``+``/``-`` on this type.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from shuyaku.errors import InvalidRequest

_FORMS = re.compile(r"^([0-9]{4})-?([0-9]{2})$")


class MonthError(InvalidRequest, ValueError):
    pass


@dataclass(frozen=True, order=True)
class Month:
    index: int  # year × 12 + (month − 1)

    @classmethod
    def of(cls, year: int, month: int) -> Month:
        return cls(year * 12 + month - 1)

    @classmethod
    def of_date(cls, day: date) -> Month:
        return cls.of(day.year, day.month)

    @classmethod
    def parse(cls, text: str) -> Month:
        """``YYYYMM`` or ``YYYY-MM``; anything else is a ``MonthError`` naming what was given."""
        found = _FORMS.match(text.strip())
        if found is None or not 1 <= int(found.group(2)) <= 12:
            raise MonthError(f"年月は YYYYMM で指定してください(指定: {text})")
        return cls.of(int(found.group(1)), int(found.group(2)))

    @property
    def year(self) -> int:
        return self.index // 12

    @property
    def number(self) -> int:
        return self.index % 12 + 1

    @property
    def compact(self) -> str:
        return f"{self.year:04d}{self.number:02d}"

    @property
    def dashed(self) -> str:
        return f"{self.year:04d}-{self.number:02d}"

    @property
    def first_day(self) -> date:
        return date(self.year, self.number, 1)

    @property
    def end(self) -> date:
        """The first day of the next month (the month is [first_day, end))."""
        return (self + 1).first_day

    def __add__(self, months: int) -> Month:
        return Month(self.index + months)

    def __sub__(self, months: int) -> Month:
        return Month(self.index - months)

    def __str__(self) -> str:
        return self.compact
