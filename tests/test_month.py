"""The month type every month calculation goes through."""

from __future__ import annotations

from datetime import date

import pytest

from shuyaku.month import Month, MonthError


@pytest.mark.parametrize("text", ["202609", "2026-09", " 2026-09 "])
def test_both_spellings_are_one_month(text: str) -> None:
    month = Month.parse(text)
    assert (month.compact, month.dashed, month.year, month.number) == ("202609", "2026-09", 2026, 9)


@pytest.mark.parametrize("text", ["202613", "202600", "2026/09", "26-09", "２０２６０９", "", "2026-9"])
def test_anything_else_is_refused_naming_what_was_given(text: str) -> None:
    with pytest.raises(MonthError) as info:
        Month.parse(text)
    assert "YYYYMM" in str(info.value) and text in str(info.value)


def test_arithmetic_crosses_years_both_ways() -> None:
    assert (Month.parse("202612") + 1).compact == "202701"
    assert (Month.parse("202601") - 11).compact == "202502"
    assert (Month.parse("201804") - 24).dashed == "2016-04"
    assert Month.parse("202612") > Month.parse("202611")


def test_a_month_is_the_days_from_its_first_to_the_next_first() -> None:
    month = Month.parse("2024-02")
    assert (month.first_day, month.end) == (date(2024, 2, 1), date(2024, 3, 1))
    assert Month.of_date(date(2024, 2, 29)) == month
