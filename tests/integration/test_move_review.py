"""Review items of in-prefecture moves: E103 (a different 資格取得日), and E101/E102 judged
again when the missing period arrives — A → C → B with B's file before C's: B hears of a
gap (E102), then C's file closes it, the item is withdrawn and B's next KKKK says so."""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

import pytest
from sqlalchemy import event

from shuyaku import ids
from shuyaku.db.schema import ingest_result
from shuyaku.ingest.returns import export, unreported_withdrawals
from shuyaku.qualification.moves import open_review_items
from shuyaku.setup import add_municipality
from tests.builders import MUNI_B, exchange_file, number, skks
from tests.conftest import OPERATOR
from tests.integration.helpers import ingest, results, rows

MUNI_C = ids.with_municipality_check_digit("11201")
INSURER_C = ids.with_insurer_check_digit("11201")


def _arrive(
    muni: str,
    atena: str,
    starts: str,
    *,
    qualified_from: str = "20260401",
    ends: str = "",
    seq: int = 1,
    history: int = 1,
) -> bytes:
    record = skks(
        atena,
        muni=muni,
        history=history,
        individual_number=number(1),
        setai="4" + atena[1:],
        change_date=starts,
        reason="11",
        qualified_from=qualified_from,
        applied_from=starts,
        applied_to=ends,
    )
    return exchange_file("SKKS", [record], muni=muni, seq=seq, insurer=INSURER_C if muni == MUNI_C else None)


def _a_then_leaves(ctx, ends: str) -> None:  # type: ignore[no-untyped-def]
    ingest(
        ctx,
        exchange_file(
            "SKKS",
            [skks("1000000001", individual_number=number(1), qualified_from="20260401", applied_from="20260401")],
        ),
    )
    leave = skks(
        "1000000001",
        history=2,
        change_date=ends,
        reason="12",
        qualified_from="20260401",
        applied_from="20260401",
        applied_to=ends,
    )
    ingest(ctx, exchange_file("SKKS", [leave], seq=2))


def test_a_different_acquisition_date_after_a_move_is_E103_applied_for_review(ctx) -> None:  # type: ignore[no-untyped-def]
    _a_then_leaves(ctx, "20261031")
    arrived = ingest(ctx, _arrive(MUNI_B, "3000000007", "20261101", qualified_from="20261101"))
    assert arrived.status == "applied" and arrived.applied == 1
    assert results(ctx, arrived.file_id) == [(2, "E103", "1")]
    [item] = rows(ctx, ingest_result, ingest_result.c.file_id == arrived.file_id)
    assert "20260401" in item.message and "20261101" in item.message and item.field == "資格取得年月日"


def test_a_gap_closed_by_the_middle_municipality_is_withdrawn_and_reported(ctx, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    add_municipality(ctx, OPERATOR, MUNI_C, "試験村", INSURER_C)
    _a_then_leaves(ctx, "20261031")  # A: 1 April – 31 October
    at_b = ingest(ctx, _arrive(MUNI_B, "3000000007", "20261116"))  # B from 16 November: arrives first
    assert results(ctx, at_b.file_id) == [(2, "E102", "1")]  # a gap 1–15 November, for now
    at_c = ingest(ctx, _arrive(MUNI_C, "5000000001", "20261101", ends="20261115"))  # C: 1–15 November
    assert results(ctx, at_c.file_id) == []  # A → C → B touch everywhere
    [item] = rows(ctx, ingest_result, ingest_result.c.file_id == at_b.file_id)
    assert item.withdrawn_at is not None
    # B's next KKKK tells it, once.
    files = export(ctx, OPERATOR, MUNI_B, "KKKK", tmp_path)
    lines = [r for f in files for r in csv.reader(f.read_text(encoding="utf-8").splitlines()) if r[0] == "2"]
    # Items: レコード区分, 市町村コード, ファイル名, 連番, 行番号, 宛名番号, 履歴番号, 結果区分, コード, メッセージ, 処理日時
    withdrawn = [r for r in lines if r[8] == "E102" and r[7] == "0"]
    assert len(withdrawn) == 1 and withdrawn[0][5] == "3000000007" and withdrawn[0][9].startswith("取下げ")
    ingest(ctx, _arrive(MUNI_B, "3000000007", "20261116", seq=2, history=2))
    again = export(ctx, OPERATOR, MUNI_B, "KKKK", tmp_path / "next")
    later = [r for f in again for r in csv.reader(f.read_text(encoding="utf-8").splitlines()) if r[0] == "2"]
    assert not [r for r in later if r[7] == "0" and r[8] == "E102"]


def test_a_gap_that_remains_is_not_withdrawn(ctx) -> None:  # type: ignore[no-untyped-def]
    add_municipality(ctx, OPERATOR, MUNI_C, "試験村", INSURER_C)
    _a_then_leaves(ctx, "20261031")
    at_b = ingest(ctx, _arrive(MUNI_B, "3000000007", "20261120"))
    ingest(ctx, _arrive(MUNI_C, "5000000001", "20261101", ends="20261115"))  # C ends 15th, B starts 20th
    [item] = rows(ctx, ingest_result, ingest_result.c.file_id == at_b.file_id)
    assert (item.code, item.withdrawn_at) == ("E102", None)


@pytest.mark.parametrize("order", list(itertools.permutations(["leave A", "C", "B"])))
def test_a_to_c_to_b_in_any_order_leaves_no_open_review_item(ctx, order: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    add_municipality(ctx, OPERATOR, MUNI_C, "試験村", INSURER_C)
    start = skks("1000000001", individual_number=number(1), qualified_from="20260401", applied_from="20260401")
    ingest(ctx, exchange_file("SKKS", [start]))
    leave = skks(
        "1000000001",
        history=2,
        change_date="20261031",
        reason="12",
        qualified_from="20260401",
        applied_from="20260401",
        applied_to="20261031",
    )
    files = {
        "leave A": exchange_file("SKKS", [leave], seq=2),
        "C": _arrive(MUNI_C, "5000000001", "20261101", ends="20261115"),
        "B": _arrive(MUNI_B, "3000000007", "20261116"),
    }
    for name in order:
        assert ingest(ctx, files[name]).status == "applied"
    items = rows(ctx, ingest_result, ingest_result.c.code.in_(["E101", "E102", "E103"]))
    assert [i for i in items if i.withdrawn_at is None] == []


@pytest.mark.parametrize(
    ("read", "index"),
    [
        (lambda: open_review_items(), "ix_ingest_result_open_review"),
        (lambda: unreported_withdrawals(MUNI_B), "ix_ingest_result_unreported_withdrawal"),
    ],
    ids=["open items (each SKKS file with a mover)", "withdrawals to report (each KKKK)"],
)
def test_the_review_reads_can_go_through_their_partial_index(ctx, read, index: str) -> None:  # type: ignore[no-untyped-def]
    """Both reads run per file and want a handful of rows among every problem ever reported:
    a scan of those (two million after some years) made a daily delta 3.4 → 20 s. The
    statement is run as the program runs it, and its plan asked for with the same text and
    parameters: SQLite takes a partial index only where the query says the index's condition
    in its own words (literals, not bound parameters); PostgreSQL is barred from scanning."""
    sent: list[tuple[str, object]] = []

    def grab(_conn, _cursor, statement, parameters, _context, _many) -> None:  # type: ignore[no-untyped-def]
        sent.append((statement, parameters))

    with ctx.engine.connect() as conn:
        event.listen(conn, "before_cursor_execute", grab)
        conn.execute(read()).all()
        event.remove(conn, "before_cursor_execute", grab)
        [(statement, parameters)] = sent
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET enable_seqscan = off")
            plan = "\n".join(row[0] for row in conn.exec_driver_sql("EXPLAIN " + statement, parameters))
        else:
            plan = "\n".join(row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters))
    assert index in plan, plan
