"""Record validation: each record-level code, by field, with messages that never echo digits."""

from __future__ import annotations

import polars as pl
import pytest

from shuyaku.exchange.layouts import SKKS, SKSE
from shuyaku.exchange.validate import validate
from shuyaku.problems import summarise
from tests.builders import number, skks, skse


def _frame(layout, rows: list[list[str]]) -> pl.DataFrame:  # type: ignore[no-untyped-def]
    data = {f.column: [r[i] for r in rows] for i, f in enumerate(layout.fields)}
    return pl.DataFrame(data, schema={f.column: pl.String for f in layout.fields}).with_columns(
        pl.Series("line_no", list(range(2, len(rows) + 2)), dtype=pl.Int64)
    )


def _problems(layout, *rows: list[str]) -> list[tuple[int, str, str, str]]:  # type: ignore[no-untyped-def]
    found = summarise(validate(layout, _frame(layout, list(rows))))
    return [(r["line_no"], r["code"], r["result"], r["field"]) for r in found.iter_rows(named=True)]


def test_a_clean_record_has_no_problem() -> None:
    assert _problems(SKKS, skks("1000000001", individual_number=number(1))) == []
    assert _problems(SKSE, skse("2000000001")) == []


BAD_NUMBER = number(1)[:11] + str((int(number(1)[11]) + 1) % 10)


@pytest.mark.parametrize(
    ("row", "code", "field"),
    [
        (skks("1000000001", individual_number=BAD_NUMBER), "E010", "個人番号"),
        (skks("1000000001", individual_number="12345"), "E011", "個人番号"),
        (skks("", individual_number=number(1)), "E011", "宛名番号"),
        (skks("10000000010000000", individual_number=number(1)), "E011", "宛名番号"),
        (skks("1000000001", individual_number=number(1), i13="1"), "E011", "枝番"),
        (skks("1000000001", individual_number=number(1), name="あ" * 51), "E011", "氏名"),
        (skks("1000000001", individual_number=number(1), reason="77"), "E012", "異動事由コード"),
        (skks("1000000001", individual_number=number(1), i17="3"), "E012", "性別コード"),
        (skks("1000000001", individual_number=number(1), birth="19700231"), "E020", "生年月日"),
        (
            skks("1000000001", individual_number=number(1), qualified_until="20261001", until_reason="02"),
            "E020",
            "資格喪失年月日",
        ),
        (skks("1000000001", individual_number=number(1), applied_to="20260930"), "E020", "適用終了年月日"),
        (skks("1000000001", individual_number=number(1), qualified_until="20261101"), "E011", "資格喪失事由コード"),
        (skks("1000000001", individual_number=number(1), i25="2026100109"), "E020", "更新日時"),
    ],
)
def test_record_errors_name_code_and_field(row: list[str], code: str, field: str) -> None:
    assert _problems(SKKS, row) == [(2, code, "9", field)]


def test_private_use_characters_and_non_katakana_kana_are_warnings() -> None:
    problems = _problems(
        SKKS,
        skks("1000000001", individual_number=number(1), name="試験\ue000太郎"),
        skks("1000000002", individual_number=number(2), kana="しけん　たろう"),
    )
    assert problems == [(2, "W201", "1", "氏名"), (3, "W202", "1", "カナ氏名")]


def test_an_error_outranks_a_warning_on_the_same_record_and_messages_are_joined() -> None:
    frame = _frame(SKKS, [skks("1000000001", individual_number=number(1), kana="しけん", birth="2026")])
    [row] = summarise(validate(SKKS, frame)).iter_rows(named=True)
    assert (row["code"], row["result"]) == ("E020", "9")
    assert "生年月日" in row["message"] and "カナ氏名" in row["message"]


def test_messages_never_repeat_a_digits_value() -> None:
    wrong = skks("1000000001", individual_number=BAD_NUMBER, i13="123", reason="1234567890123")
    found = summarise(validate(SKKS, _frame(SKKS, [wrong])))
    text = " ".join(found["message"].to_list())
    assert BAD_NUMBER not in text and "1234567890123" not in text and "(13文字)" in text


def test_a_record_with_the_wrong_number_of_items_is_E011() -> None:
    row = skks("1000000001", individual_number=number(1))
    frame = _frame(SKKS, [row])
    found = summarise(validate(SKKS, frame, pl.Series([25])))
    assert found.select("code", "field").row(0) == ("E011", "レコード")
