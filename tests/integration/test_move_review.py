"""Review items of in-prefecture moves: E103 (a different 資格取得日), and E101/E102 judged
again when the missing period arrives — A → C → B with B's file before C's: B hears of a
gap (E102), then C's file closes it, the item is withdrawn and B's next KKKK says so."""

from __future__ import annotations

import csv
import itertools
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import event, insert

from shuyaku import ids
from shuyaku.db.schema import inbound_file, ingest_result, outbound_file, person_key
from shuyaku.exchange.ledger import quarantine_query
from shuyaku.exchange.outbox import reported_key
from shuyaku.ingest.returns import export, unreported_files, unreported_withdrawals
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
    ("read", "indexes"),
    [
        (lambda: open_review_items(), ["ix_ingest_result_open_review"]),
        (lambda: unreported_withdrawals(MUNI_C), ["ix_ingest_result_unreported_withdrawal"]),
        # by the file, or among the municipality's KKKK only
        (lambda: unreported_files(MUNI_B), ["ix_outbound_file_inbound_file_id", "ix_outbound_file_municipality_code"]),
        (lambda: quarantine_query(None, open_only=True, limit=50, before=None), ["ix_ingest_result_unreviewed"]),
        (
            lambda: quarantine_query(frozenset({MUNI_C}), open_only=True, limit=50, before=None),
            ["ix_ingest_result_unreviewed"],
        ),
        (lambda: reported_key(MUNI_C, "0000001234").limit(1), ["ix_ingest_result_record_key"]),
    ],
    ids=[
        "open items (each SKKS file with a mover)",
        "withdrawals to report (each KKKK)",
        "files to report (KKKK)",
        "quarantine screen",
        "quarantine screen of one municipality",
        "a KKKK key the outbox guard must explain",
    ],
)
def test_what_is_read_of_the_tables_of_every_year_goes_through_an_index(ctx, read, indexes: list[str]) -> None:  # type: ignore[no-untyped-def]
    """Each read runs per file and wants a handful of rows among all those of every year: a
    scan of every problem ever reported (two million) made a daily delta 3.4 → 20 s, and a
    list of every KKKK ever released (200,000) the day's return files 8.5 → 28.7 s. The
    statement is run as the program runs it, on tables with some history, and its plan asked
    for with the same text and parameters: SQLite takes a partial index only where the query
    says the index's condition in its own words (literals, not bound parameters)."""
    _history(ctx)  # so that the planner weighs the tables as they will be
    sent: list[tuple[str, object]] = []

    def grab(_conn, _cursor, statement, parameters, _context, _many) -> None:  # type: ignore[no-untyped-def]
        sent.append((statement, parameters))

    with ctx.engine.connect() as conn:
        event.listen(conn, "before_cursor_execute", grab)
        conn.execute(read()).all()
        event.remove(conn, "before_cursor_execute", grab)
        [(statement, parameters)] = sent
        explain = "EXPLAIN " if conn.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN "
        plan = "\n".join(row[-1] for row in conn.exec_driver_sql(explain + statement, parameters))
    assert any(index in plan for index in indexes), plan


def _history(ctx) -> None:  # type: ignore[no-untyped-def]
    """A few years of another municipality: 6,000 persons, 600 files reported, 6,000 problems,
    a few of them review items withdrawn and reported long ago, every error reviewed."""
    then = datetime(2024, 1, 1, tzinfo=UTC)
    files = [
        {
            "file_id": 1000 + n,
            "municipality_code": MUNI_C,
            "kind": "RECE",
            "seq": n,
            "filename": f"RECE_{n}.csv",
            "sha256": f"{n:064x}",
            "size_bytes": 1,
            "status": "applied",
            "record_count": 10,
            "applied_count": 10,
            "warning_count": 10,
            "error_count": 0,
            "received_at": then,
            "actor": "history",
        }
        for n in range(1, 601)
    ]
    problems = [
        {
            "file_id": 1000 + n // 10 + 1,
            "line_no": n % 10 + 1,
            "record_key": f"{n:010d}",
            "result": "9" if n % 20 == 7 else "1",
            "code": "E102" if n % 20 == 0 else "E031" if n % 20 == 7 else "W201",
            "message": "履歴",
            "withdrawn_at": then if n % 20 == 0 else None,
            "withdrawal_reported": 1 if n % 20 == 0 else None,
            "reviewed_at": then if n % 20 == 7 else None,
        }
        for n in range(6000)
    ]
    released = [
        {
            "municipality_code": MUNI_C,
            "kind": "KKKK",
            "seq": n,
            "filename": f"KKKK_{n}.csv",
            "row_count": 10,
            "status": "released",
            "created_at": then,
            "actor": "history",
            "inbound_file_id": 1000 + n,
        }
        for n in range(1, 601)
    ]
    keys = [
        {
            "municipality_code": MUNI_C,
            "atena_no": f"{n:010d}",
            "pref_person_id": str(1_100_000_000_000 + n),
            "bind_kind": "1",
            "bound_at": then,
        }
        for n in range(6000)
    ]
    with ctx.engine.begin() as conn:
        conn.execute(insert(person_key), keys)
        conn.execute(insert(inbound_file), files)
        conn.execute(insert(ingest_result), problems)
        conn.execute(insert(outbound_file), released)
        conn.exec_driver_sql("ANALYZE")
