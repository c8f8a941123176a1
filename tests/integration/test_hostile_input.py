"""Hostile and careless input: every case of the hardening issue, on SQLite and PostgreSQL.

Each test offers what a hostile sender or a careless user would, then looks where the
individual number could have gone (outcome, ledger, results, log, outbound files) and what
became of the file. The numbers are synthetic (``tests.builders.number``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import select, text

from shuyaku import ids
from shuyaku.db.schema import (
    audit_event,
    inbound_file,
    ingest_result,
    outbound_file,
    person_key,
    seen_number,
)
from shuyaku.exchange import outbox
from shuyaku.ingest.returns import export
from shuyaku.ingest.service import ingest_paths
from shuyaku.setup import add_municipality
from tests.builders import MUNI_A, csv_line, exchange_file, number, skks
from tests.conftest import OPERATOR
from tests.integration.helpers import ingest, rows

FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def _everything(ctx, out: Path | None = None) -> str:  # type: ignore[no-untyped-def]
    """Every text the system stored or wrote about files: ledger, results, access log, outbox."""
    parts = []
    with ctx.engine.connect() as conn:
        for table in (inbound_file, ingest_result, audit_event, outbound_file, person_key):
            parts += [" ".join(str(v) for v in row) for row in conn.execute(select(table)).all()]
    if out is not None and out.exists():
        parts += [p.read_bytes().decode("utf-8", "replace") for p in out.iterdir()]
    parts.append(ctx.settings.log_file.read_text(encoding="utf-8") if ctx.settings.log_file.exists() else "")
    return ids.ascii_digits("\n".join(parts))


def _file_with(line: str, *, seq: int = 1) -> bytes:  # noqa: D401
    """A one-record SKKS file whose data line is ``line`` exactly (trailer counts one add)."""
    header = [
        "1",
        "SKKS",
        MUNI_A,
        ids.with_insurer_check_digit("11203"),
        "2",
        "20261001",
        "20261001180000",
        str(seq),
        "1.0",
    ]
    return ("\r\n".join([csv_line(header), line, "3,1,1,0,0,"]) + "\r\n").encode("utf-8")


def test_a_line_break_inside_a_record_rejects_the_file_and_the_number_appears_nowhere(ctx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    record = skks("1000000001", individual_number=number(1))
    broken = ",".join(record[:7]) + ",\r\n" + ",".join(record[7:])  # C1: the number starts a line of its own
    outcome = ingest(ctx, _file_with(broken))
    assert (outcome.status, outcome.code) == ("rejected", "E002")
    assert number(1) not in outcome.message and "改行" in outcome.message
    out = tmp_path / "out"
    [kkkk] = export(ctx, OPERATOR, MUNI_A, "KKKK", out)  # the report goes out, and the next one too
    assert "E002" in kkkk.read_text(encoding="utf-8")
    assert number(1) not in _everything(ctx, out)


@pytest.mark.parametrize("lands_in", ["世帯番号", "宛名番号"])
def test_a_record_whose_items_shift_is_quarantined_with_the_number_masked_wherever_it_lands(ctx, lands_in) -> None:  # type: ignore[no-untyped-def]
    good = skks("1000000002", individual_number=number(2), setai="2000000002")
    record = skks("1000000001", individual_number=number(1))
    # C2: an item inserted before the number moves it one to the right (into the 世帯番号),
    # or the number is copied in front of the 宛名番号.
    inserted = record[:6] + ["99"] + record[6:]
    copied = record[:2] + record[7:8] + record[2:]
    shifted = inserted if lands_in == "世帯番号" else copied
    outcome = ingest(ctx, exchange_file("SKKS", [good, shifted]))
    assert outcome.status == "held"  # one of two records failing is over the 5% share
    with ctx.engine.connect() as conn:
        [result] = conn.execute(select(ingest_result).where(ingest_result.c.code == "E011")).all()
    assert result.record is not None and "*" * 12 in result.record and result.record_key != number(1)
    assert number(1) not in _everything(ctx)


def test_a_number_put_into_a_coded_item_is_refused_at_the_door(ctx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    ingest(ctx, exchange_file("SKKS", [skks("1000000001", individual_number=number(1))]))
    hostile = [
        skks(number(1), individual_number=number(1)),  # the person's own number as the 宛名番号
        skks("1000000003", individual_number=number(3), setai=number(1)),  # a known number as the 世帯番号
        skks("1000000004", individual_number=number(4), i12=number(1).translate(FULL_WIDTH)),  # full-width, 証番号
    ]
    fine = [skks(f"10000001{i:02d}", individual_number=number(100 + i), setai=f"20000001{i:02d}") for i in range(60)]
    outcome = ingest(ctx, exchange_file("SKKS", hostile + fine, seq=2))
    assert (outcome.status, outcome.errors) == ("applied", 3)
    codes = {r.code for r in rows(ctx, ingest_result)}
    assert codes == {"E011"}
    export(ctx, OPERATOR, MUNI_A, "KKKK", tmp_path / "out")
    export(ctx, OPERATOR, MUNI_A, "IDTB", tmp_path / "out")
    assert number(1) not in _everything(ctx, tmp_path / "out")
    assert len(rows(ctx, seen_number)) >= 1  # the refused records' numbers are known to the guard


def test_a_twelve_digit_key_that_passes_the_check_digit_leaves_in_idtb(ctx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    key = "123456789018"
    assert ids.is_valid_individual_number(key)  # H5: a legitimate 宛名番号 that looks like a number
    outcome = ingest(ctx, exchange_file("SKKS", [skks(key, individual_number=number(1), setai=key)]))
    assert outcome.status == "applied" and outcome.errors == 0
    [idtb] = export(ctx, OPERATOR, MUNI_A, "IDTB", tmp_path)
    assert f",{key}," in idtb.read_text(encoding="utf-8")
    with ctx.engine.connect() as conn:
        layout = outbox.IDTB
        row = [MUNI_A, key, "1110000000010", key, "1120000000018", "1", "", "20261001"]
        assert outbox.guard(conn, ctx.vault, layout, MUNI_A, [row], ",".join(row)) is None
        moved = [MUNI_A, "1000000009", "1110000000010", key, "1120000000018", "1", "", key]  # the same run elsewhere
        assert outbox.guard(conn, ctx.vault, layout, MUNI_A, [moved], ",".join(moved)) is not None
        enrolled = [MUNI_A, number(1), "1110000000010", "", "", "1", "", "20261001"]  # (a): the vault knows it
        assert "受信したことのある" in (
            outbox.guard(conn, ctx.vault, layout, MUNI_A, [enrolled], ",".join(enrolled)) or ""
        )
        wide = number(1).translate(FULL_WIDTH)  # L4: full-width digits are digits
        assert outbox.guard(conn, ctx.vault, outbox.KKKK, MUNI_A, [], f"x,{wide},y") is not None


def test_one_refused_kkkk_stops_no_other_and_every_file_has_its_ledger_row(ctx, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from shuyaku.ingest import returns as export_module

    for seq in (1, 2, 3):
        ingest(
            ctx,
            exchange_file(
                "SKKS", [skks(f"100000000{seq}", individual_number=number(seq), setai=f"200000000{seq}")], seq=seq
            ),
        )
    real = export_module._summary_message
    monkeypatch.setattr(
        export_module, "_summary_message", lambda file: f"番号 {number(9)}" if file.seq == 2 else real(file)
    )
    out = tmp_path / "out"
    with pytest.raises(outbox.OutboxBlocked) as refused:
        export(ctx, OPERATOR, MUNI_A, "KKKK", out)
    assert len(refused.value.written) == 2 and number(9) not in str(refused.value)
    released = {r.filename for r in rows(ctx, outbound_file) if r.status == "released"}
    assert released == {p.name for p in out.iterdir()}  # a file on disk ⇔ its ledger row
    assert [r.status for r in rows(ctx, outbound_file)].count("blocked") == 1


@pytest.mark.parametrize("item, value", [(2, "1" * 20), (3, "123456"), (14, "試験\x00太郎")])
def test_one_bad_value_is_that_records_error_and_the_rest_applies(ctx, item, value) -> None:  # type: ignore[no-untyped-def]
    bad = skks("1000000001", individual_number=number(1))
    bad[item] = value
    fine = [skks(f"10000001{i:02d}", individual_number=number(100 + i), setai=f"20000001{i:02d}") for i in range(30)]
    outcome = ingest(ctx, exchange_file("SKKS", [bad, *fine]))
    assert (outcome.status, outcome.applied, outcome.errors) == ("applied", 30, 1)
    [result] = rows(ctx, ingest_result)
    assert result.code == "E011" and result.record is not None and "\x00" not in result.record
    assert number(1) not in _everything(ctx)


def test_a_file_name_that_is_not_utf8_and_holds_a_number_is_stored_readably(ctx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    name = os.fsdecode(b"\xff\xfe" + f"{number(5)}\x1b[31m.csv".encode())
    path = tmp_path / name
    path.write_bytes(exchange_file("SKKS", [skks("1000000001", individual_number=number(1))]))
    [outcome] = ingest_paths(ctx, OPERATOR, [tmp_path])
    assert outcome.status == "applied"
    [row] = rows(ctx, inbound_file)
    assert "\ufffd" in row.filename and "\x1b" not in row.filename and number(5) not in row.filename


def test_symlinks_and_oversized_files_in_the_inbox_are_refused_with_a_reason(ctx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    outside = tmp_path / "elsewhere.csv"
    outside.write_bytes(exchange_file("SKKS", [skks("1000000001", individual_number=number(1))]))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "link.csv").symlink_to(outside)
    big = inbox / "big.csv"
    big.write_bytes(b"1" * 2048)
    with ctx.engine.begin() as conn:
        conn.execute(text("INSERT INTO setting (key, value) VALUES ('max_file_bytes', '1024')"))
    ctx.forget_setting("max_file_bytes")
    outcomes = {o.filename: o for o in ingest_paths(ctx, OPERATOR, [inbox])}
    assert outcomes["link.csv"].status == "rejected" and "シンボリックリンク" in outcomes["link.csv"].message
    assert outcomes["big.csv"].status == "rejected" and "大きすぎます" in outcomes["big.csv"].message
    assert rows(ctx, person_key) == []  # the file behind the link was not applied


def test_a_cp932_senders_file_in_utf8_is_refused_not_applied_as_mojibake(ctx) -> None:  # type: ignore[no-untyped-def]
    code = ids.with_municipality_check_digit("11301")
    add_municipality(ctx, OPERATOR, code, "文字町", ids.with_insurer_check_digit("11301"), "cp932")
    raw = exchange_file(
        "SKKS",
        [skks("1000000001", muni=code, individual_number=number(1), name="木村　花子")],
        muni=code,
        insurer=ids.with_insurer_check_digit("11301"),
    )
    outcome = ingest(ctx, raw)
    assert (outcome.status, outcome.code) == ("rejected", "E002") and "UTF-8" in outcome.message
    same_in_cp932 = raw.decode("utf-8").encode("cp932")
    assert ingest(ctx, same_in_cp932).status == "applied"


def test_a_record_with_a_hundred_thousand_items_is_one_record_error(ctx) -> None:  # type: ignore[no-untyped-def]
    wide = skks("1000000001", individual_number=number(1)) + ["x"] * 100_000
    fine = [skks(f"10000001{i:02d}", individual_number=number(100 + i), setai=f"20000001{i:02d}") for i in range(30)]
    outcome = ingest(ctx, exchange_file("SKKS", [wide, *fine]))
    assert (outcome.status, outcome.errors) == ("applied", 1)
    [result] = rows(ctx, ingest_result)
    assert result.code == "E011" and "100026" in result.message


def test_a_number_with_digits_stuck_to_it_is_still_found(ctx) -> None:  # type: ignore[no-untyped-def]
    stuck = skks("1000000001", individual_number=number(1), setai=number(1) + "99")  # a 14-digit 世帯番号
    fine = [skks(f"10000001{i:02d}", individual_number=number(100 + i), setai=f"20000001{i:02d}") for i in range(30)]
    outcome = ingest(ctx, exchange_file("SKKS", [stuck, *fine]))
    assert (outcome.status, outcome.errors) == ("applied", 1)
    assert number(1) not in _everything(ctx)
    assert ids.redact(f"x{number(1)}99", {number(1)}, check_digit=False) == "x" + "*" * 12 + "99"
