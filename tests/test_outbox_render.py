"""A return file's lines: the items of most lines need only commas between them; an item
with a comma, a quote or a line break is quoted, and one a spreadsheet would run as a
formula gets its apostrophe — whichever way ``render`` takes to the line."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from shuyaku.exchange import outbox
from shuyaku.text import csv_cell


def _one_by_one(items: list[str]) -> str:
    """The line as the exchange spec writes it, item by item."""
    cells = [csv_cell(v) for v in items]
    return ",".join('"' + c.replace('"', '""') + '"' if any(ch in c for ch in ',"\r\n') else c for c in cells)


ITEM = st.text(alphabet=st.sampled_from(list("0123456789aあ=+-@\t\r\n,\"\x00 '")), max_size=6)


@given(st.lists(ITEM, min_size=1, max_size=9))
def test_every_line_is_written_as_item_by_item(items: list[str]) -> None:
    assert outbox._line(items) == _one_by_one(items)


def test_a_file_of_plain_and_special_items() -> None:
    rows = [
        ["111015", "1101070525", "1116871852607", "", "1"],
        ["111015", "=HYPERLINK(1)", "a,b", 'say "x"', "-1"],
        ["111015", "line\r\nbreak", "@sum", "\tlead", "mid\ttab"],
    ]
    text = outbox.render(
        outbox.IDTB,
        municipality_code="111015",
        insurer_number="110015",
        as_of=datetime(2026, 11, 30, tzinfo=UTC),
        seq=3,
        rows=rows,
    )
    lines = text.split("\r\n")
    assert lines[1] == "2,111015,1101070525,1116871852607,,1"
    assert lines[2] == '2,111015,\'=HYPERLINK(1),"a,b","say ""x""",\'-1'
    assert lines[3] == '2,111015,"line'
    assert lines[4] == "break\",'@sum,'\tlead,mid\ttab"
    assert lines[5] == "3,3,3,0,0,"
    assert text.endswith("\r\n")
