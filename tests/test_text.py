from __future__ import annotations

from datetime import date

import pytest

from shuyaku.text import wareki


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2019, 4, 30), "平成31年4月30日"),
        (date(2019, 5, 1), "令和元年5月1日"),
        (date(2019, 12, 31), "令和元年12月31日"),
        (date(2020, 1, 1), "令和2年1月1日"),
        (date(2026, 11, 27), "令和8年11月27日"),
        (date(1989, 1, 7), "昭和64年1月7日"),
        (date(1989, 1, 8), "平成元年1月8日"),
        (date(1926, 12, 25), "昭和元年12月25日"),
        (date(1926, 12, 24), "大正15年12月24日"),
        (date(1912, 7, 30), "大正元年7月30日"),
        (date(1912, 7, 29), "明治45年7月29日"),  # 明治 counts from 1868, not from 1873
        (date(1873, 1, 1), "明治6年1月1日"),
    ],
)
def test_wareki_with_gannen(day: date, expected: str) -> None:
    assert wareki(day) == expected


def test_before_meiji_6_is_refused() -> None:
    with pytest.raises(ValueError, match="和暦"):
        wareki(date(1872, 12, 31))


def test_a_cli_error_never_repeats_a_number_that_was_typed() -> None:
    from shuyaku.cli.base import _styled
    from tests.builders import number

    shown = _styled("エラー: ", "red", f"年月は YYYYMM で指定してください(指定: {number(7)})").plain
    assert number(7) not in shown and "指定してください" in shown
