"""The envelope: header, trailer, encoding and CSV syntax (pure; no database)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shuyaku.exchange import envelope
from shuyaku.exchange.envelope import EnvelopeError
from tests.builders import MUNI_A, exchange_file, skks


def _error(raw: bytes, encoding: str = "utf-8") -> EnvelopeError:
    with pytest.raises(EnvelopeError) as info:
        envelope.parse(raw, encoding)
    return info.value


def test_a_good_file_splits_into_header_records_and_trailer_with_line_numbers() -> None:
    parsed = envelope.parse(exchange_file("SKKS", [skks("1000000001"), skks("1000000002")]), "utf-8")
    assert parsed.header.municipality_code == MUNI_A and parsed.header.seq == 1
    assert parsed.records["line_no"].to_list() == [2, 3]
    assert parsed.trailer.records == 2 and parsed.trailer.adds == 2


def test_bom_and_lf_line_ends_are_tolerated() -> None:
    raw = b"\xef\xbb\xbf" + exchange_file("SKKS", [skks("1000000001")]).replace(b"\r\n", b"\n")
    assert envelope.parse(raw, "utf-8").records["line_no"].to_list() == [2]


@pytest.mark.parametrize(
    ("header", "field"),
    [
        (["1", "XXXX", MUNI_A, "112037", "2", "20261001", "20261001180000", "1", "1.0"], "種別"),
        (["1", "SKKS", "112039", "112037", "2", "20261001", "20261001180000", "1", "1.0"], "送信元市町村コード"),
        (["1", "SKKS", MUNI_A, "112030", "2", "20261001", "20261001180000", "1", "1.0"], "保険者番号"),
        (["1", "SKKS", MUNI_A, "112037", "3", "20261001", "20261001180000", "1", "1.0"], "データ区分"),
        (["1", "SKKS", MUNI_A, "112037", "2", "20261301", "20261001180000", "1", "1.0"], "対象年月日"),
        (["1", "SKKS", MUNI_A, "112037", "2", "20261001", "2026100118", "1", "1.0"], "作成日時"),
        (["1", "SKKS", MUNI_A, "112037", "2", "20261001", "20261001180000", "0", "1.0"], "ファイル連番"),
        (["1", "SKKS", MUNI_A, "112037", "2", "20261001", "20261001180000", "1", "2.0"], "仕様版数"),
        (["2", "SKKS", MUNI_A, "112037", "2", "20261001", "20261001180000", "1", "1.0"], "レコード区分"),
    ],
)
def test_a_bad_header_is_E003_naming_the_item(header: list[str], field: str) -> None:
    error = _error(exchange_file("SKKS", [skks("1000000001")], header=header))
    assert (error.code, error.line, error.field) == ("E003", 1, field)


def test_trailer_counts_that_disagree_are_E001() -> None:
    raw = exchange_file("SKKS", [skks("1000000001")], trailer=["3", "2", "2", "0", "0", ""])
    parsed = envelope.parse(raw, "utf-8")
    with pytest.raises(EnvelopeError) as info:
        envelope.check_trailer(parsed.trailer, 3, 1, {"1": 1}, None)
    assert (info.value.code, info.value.field) == ("E001", "データ件数")


def test_missing_trailer_is_E001() -> None:
    raw = exchange_file("SKKS", [skks("1000000001")]).rsplit(b"3,", 1)[0]
    assert _error(raw).code == "E001"


def test_bytes_that_are_not_the_senders_encoding_are_E002_with_the_line() -> None:
    raw = exchange_file("SKKS", [skks("1000000001"), skks("1000000002", name="試験　花子")], encoding="cp932")
    error = _error(raw, "utf-8")
    assert (error.code, error.line) == ("E002", 2)


def test_cp932_files_decode_when_the_municipality_sends_cp932() -> None:
    raw = exchange_file("SKKS", [skks("1000000001", name="髙橋　花子")], encoding="cp932")
    assert envelope.parse(raw, "cp932").records["f14"].to_list() == ["髙橋　花子"]


def test_quoted_items_and_blank_lines_keep_their_physical_line_numbers() -> None:
    rows = [skks("1000000001", name="試験, 太郎"), skks("1000000002")]
    raw = exchange_file("SKKS", rows).replace(b"\r\n2,", b"\r\n\r\n2,", 1)
    parsed = envelope.parse(raw, "utf-8")
    assert parsed.records["line_no"].to_list() == [3, 4] and parsed.records["f14"][0] == "試験, 太郎"
    assert parsed.records["width"].to_list() == [26, 26]


def test_a_record_kind_other_than_2_among_the_data_is_E002() -> None:
    raw = exchange_file("SKKS", [skks("1000000001"), ["3", "1", "1", "0", "0", ""], skks("1000000002")])
    error = _error(raw)
    assert (error.code, error.line) == ("E002", 3)


def test_broken_quoting_is_E002() -> None:
    good = exchange_file("SKKS", [skks("1000000001")]).decode()
    raw = good.replace("試験　太郎", 'a"b"c', 1).replace(',a"b', ',"a"b', 1).encode()
    assert _error(raw).code == "E002"


def _split_line_by_line(text: str) -> tuple[object, list[tuple[int, list[str | None]]], object]:
    """A file without quotes as it is read: lines numbered from 1, CR before LF dropped,
    blank lines skipped; the first is the header, the last the trailer, those between the
    records (the reading ``_split`` does with Polars, written plainly)."""
    numbered = [(n, line.removesuffix("\r")) for n, line in enumerate(text.split("\n"), start=1)]
    lines = [(n, line.split(",")) for n, line in numbered if line]
    if not lines:
        return None, [], None
    return lines[0], lines[1:-1], (lines[-1] if len(lines) > 1 else None)


@given(st.text(alphabet=st.sampled_from(list("12a,あ \r\n\t")), max_size=80))
def test_a_file_without_quotes_is_split_as_read_line_by_line(text: str) -> None:
    header, table, trailer = envelope._split(text)
    expected_header, expected_body, expected_trailer = _split_line_by_line(text)
    assert header == expected_header
    assert trailer == expected_trailer
    body = [
        (line_no, [item for item in items if item is not None])
        for line_no, *items in table.select("line_no", *[c for c in table.columns if c.startswith("f")]).rows()
    ]
    assert body == expected_body
    assert table["width"].to_list() == [len(items) for _, items in expected_body]
