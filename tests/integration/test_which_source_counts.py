"""Whose hit months count (kogaku.md, "Which source counts"): the municipality's KGGT is
authoritative; a month only `kogaku run` found counts provisionally (暫定 in TSKG) until a
KGGT covering that municipality and month arrives, and then only the KGGT's rows count."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import insert

from shuyaku.db.schema import hit_month, household_key
from shuyaku.ingest.returns import export
from shuyaku.kogaku import tasuukai
from tests.builders import MUNI_A, exchange_file, kggt, kggt_file, number, skks
from tests.conftest import OPERATOR
from tests.integration.helpers import ingest, recount_changes, rows

HOME, OTHER = "2000000001", "2000000002"


def _calculated(ctx, household: str, *months: str) -> None:  # type: ignore[no-untyped-def]
    """Household-level hits as `kogaku run` records them (source "federation")."""
    with ctx.engine.begin() as conn:
        for month in months:
            conn.execute(
                insert(hit_month).values(
                    pref_household_id=household,
                    month=month,
                    kind="1",
                    source="federation",
                    payment=10_000,
                    recorded_at=ctx.clock(),
                )
            )


def _count(ctx, household: str) -> tuple[int, str, bool]:  # type: ignore[no-untyped-def]
    with ctx.engine.connect() as conn:
        found = tasuukai.counts(conn, "202605", [household])
    if found.height == 0:
        return 0, "", False
    row = found.row(0, named=True)
    return row["hit_count"], row["months"], row["provisional"]


def test_a_calculated_month_counts_as_provisional_until_the_kggt_of_its_month_arrives(ctx, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    people = [
        skks("1000000001", individual_number=number(1), setai=HOME),
        skks("1000000002", individual_number=number(2), setai=OTHER),
    ]
    ingest(ctx, exchange_file("SKKS", people))
    [home] = rows(ctx, household_key, household_key.c.setai_no == HOME)
    household = home.pref_household_id
    ingest(ctx, kggt_file([kggt(HOME, "202601")], seq=1))  # January: the municipality paid
    _calculated(ctx, household, "202601", "202602", "202603")  # our calculation: January to March

    # January from both sources counts once, from the KGGT; February and March rest on
    # our calculation alone (no KGGT of MUNI_A for them yet): counted, and 暫定.
    assert _count(ctx, household) == (3, "202601;202602;202603", True)
    tasuukai.run_month(ctx, OPERATOR, "202605")
    [tskg] = export(ctx, OPERATOR, MUNI_A, "TSKG", tmp_path)
    [row] = [r for r in csv.reader(tskg.read_text(encoding="utf-8").splitlines()) if r[0] == "2"]
    assert (row[5], row[6], row[7], row[-1]) == ("3", "1", "202601;202602;202603", "1")

    # February's KGGT confirms the month: March alone is still provisional.
    ingest(ctx, kggt_file([kggt(HOME, "202602")], seq=2))
    assert _count(ctx, household) == (3, "202601;202602;202603", True)
    assert recount_changes(ctx) == 0  # the KGGT's own recount left nothing to do

    # March's KGGT lists another household only: it covers March, and our hit there no
    # longer counts (the municipality did not pay it). Nothing rests on us any more.
    ingest(ctx, kggt_file([kggt(OTHER, "202603")], seq=3))
    assert _count(ctx, household) == (2, "202601;202602", False)
    assert recount_changes(ctx) == 0  # the KGGT's own recount left nothing to do

    # A KGGT deletion removes February even though our calculation found it too.
    ingest(ctx, kggt_file([kggt(HOME, "202602", op="3")], seq=4))
    assert _count(ctx, household) == (1, "202601", False)
    assert recount_changes(ctx) == 0  # the KGGT's own recount left nothing to do

    # The stored count followed every step (recounted in the KGGT's transaction), and the
    # next TSKG carries the household again with 暫定 0.
    [again] = export(ctx, OPERATOR, MUNI_A, "TSKG", tmp_path / "next")
    [row] = [r for r in csv.reader(again.read_text(encoding="utf-8").splitlines()) if r[0] == "2" and r[3] == household]
    assert (row[5], row[6], row[7], row[-1]) == ("1", "0", "202601", "0")


def test_explain_says_which_source_a_month_rests_on_and_why_a_calculated_one_does_not_count(ctx) -> None:  # type: ignore[no-untyped-def]
    ingest(ctx, exchange_file("SKKS", [skks("1000000001", individual_number=number(1), setai=HOME)]))
    [home] = rows(ctx, household_key, household_key.c.setai_no == HOME)
    household = home.pref_household_id
    ingest(ctx, kggt_file([kggt(OTHER, "202602")], seq=1))  # February covered, without this household
    _calculated(ctx, household, "202602", "202603")
    found = tasuukai.explain(ctx, OPERATOR, household, "202605")
    notes = {(line.month, line.source): (line.counted, line.note) for line in found.lines}
    assert notes[("202602", "federation")][0] is False and "KGGT が優先" in notes[("202602", "federation")][1]
    assert notes[("202603", "federation")] == (True, "数える(暫定: この月の市町村の KGGT がまだ届いていません)")
    assert found.hit_count == 1
