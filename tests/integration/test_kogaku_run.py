"""`kogaku run`: from RECE, SKBN and the qualification store to payments and hit months."""

from __future__ import annotations

import csv

from shuyaku.db.schema import hit_month
from shuyaku.kogaku.service import run_month
from tests.builders import MUNI_A, amount_trailer, exchange_file, number, rece, skbn, skks
from tests.conftest import OPERATOR
from tests.integration.helpers import AtOnce, ingest, rows

SINCE = {"change_date": "20260401", "qualified_from": "20260401", "applied_from": "20260401"}


def _setup(ctx) -> None:  # type: ignore[no-untyped-def]
    persons = [
        skks("1000000001", individual_number=number(1), setai="2000000001", birth="19790510", **SINCE),  # under 70
        skks(
            "1000000002", individual_number=number(2), setai="2000000001", head=False, birth="19550301", **SINCE
        ),  # 71
        skks("1000000003", individual_number=number(3), setai="2000000003", birth="19850101", **SINCE),
        # Insured only from October: July's claims of this person match nobody.
        skks("1000000004", individual_number=number(4), setai="2000000004", birth="19850101"),
    ]
    ingest(ctx, exchange_file("SKKS", persons))
    classes = [
        skbn("2000000001", start="202604", under70="03", over70="14"),
        skbn("2000000003", start="202604", under70="04"),
    ]
    ingest(ctx, exchange_file("SKBN", classes, trailer=["3", "2", "2", "0", "0", ""]))
    claims = [
        rece("1000000002", setting="2", total=150_000, copay=30_000),  # E of example 6
        rece("1000000001", setting="1", total=300_000, copay=90_000),  # F of example 6
        rece("1000000003", setting="2", total=40_000, copay=12_000),  # under 21,000: nothing
        rece("1000000004", setting="1", total=100_000, copay=30_000),  # not insured in July
        rece("1999999999", setting="1", total=100_000, copay=30_000),  # nobody we know
    ]
    ingest(ctx, exchange_file("RECE", claims, trailer=amount_trailer(claims, 8)))


def test_a_month_is_computed_for_every_household_with_claims(ctx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _setup(ctx)
    summary = run_month(ctx, OPERATOR, "202607", tmp_path)
    assert (summary.households, summary.paid_households, summary.payment_total) == (2, 1, 38_070)  # example 6
    assert (summary.household_hits, summary.unmatched_claims, summary.cap_table) == (1, 2, "2018-08")
    [listing] = summary.files
    text = listing.read_bytes().decode("utf-8-sig")
    rows_ = list(csv.DictReader(text.splitlines()))
    assert [(r["世帯番号"], r["該当区分"], r["外来特例"], r["世帯合算"], r["支給額"]) for r in rows_] == [
        ("2000000001", "1", "12000", "26070", "38070")
    ]
    assert all(n not in text for n in (number(1), number(2), number(3)))
    [hit] = rows(ctx, hit_month)
    assert (hit.month, hit.kind, hit.source, hit.payment) == ("202607", "1", "federation", 38_070)
    from shuyaku.db.schema import outbound_file

    [released] = rows(ctx, outbound_file)  # the list is an outbound file like any other: its ledger row
    assert (released.kind, released.status, released.filename, released.row_count) == (
        "KGSK",
        "released",
        listing.name,
        1,
    )


def test_a_rerun_replaces_the_federations_hit_months_and_counts_feed_the_next_months(ctx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _setup(ctx)
    run_month(ctx, OPERATOR, "202607", tmp_path)
    run_month(ctx, OPERATOR, "202607", tmp_path)
    current = rows(ctx, hit_month, hit_month.c.superseded_at.is_(None))
    assert len(current) == 1 and len(rows(ctx, hit_month)) == 2
    # Three earlier household hits make August the 4th: 多数回 for the same claims next month.
    with ctx.engine.begin() as conn:
        for month in ("202605", "202606"):
            conn.execute(
                hit_month.insert().values(
                    pref_household_id=current[0].pref_household_id,
                    month=month,
                    kind="1",
                    source="federation",
                    recorded_at=ctx.clock(),
                )
            )
    more = [
        rece("1000000002", month="202608", setting="2", total=150_000, copay=30_000),
        rece("1000000001", month="202608", setting="1", total=300_000, copay=90_000),
    ]
    ingest(ctx, exchange_file("RECE", more, seq=2, trailer=amount_trailer(more, 8)))
    august = run_month(ctx, OPERATOR, "202608", tmp_path)
    # 2026-08 table, 一般 + ウ, 多数回: E's outpatient cap 22,000 → 8,000; step 2: 22,000 ≤ 44,400;
    # step 3: 22,000 + 90,000 = 112,000 − 44,400 = 67,600. Total 75,600.
    assert (august.cap_table, august.payment_total) == ("2026-08", 75_600)


def test_a_month_without_a_cap_table_is_refused(ctx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from shuyaku.kogaku.service import RunError

    with pytest.raises(RunError) as info:
        run_month(ctx, OPERATOR, "201805", tmp_path)
    assert "2018-05" in str(info.value)


def test_each_run_is_recorded_and_a_municipality_reads_only_its_own_figures(ctx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from shuyaku.access.actor import AccessDenied, Actor
    from shuyaku.errors import NotFoundError
    from shuyaku.kogaku.service import run_of, runs
    from tests.builders import MUNI_A, MUNI_B

    _setup(ctx)
    run_month(ctx, OPERATOR, "202607", tmp_path)
    run_month(ctx, OPERATOR, "202607", tmp_path)
    recorded = runs(ctx, OPERATOR)
    assert [r.month for r in recorded] == ["202607", "202607"] and recorded[0].run_id > recorded[1].run_id
    july = run_of(ctx, OPERATOR, "2026-07")
    assert july.run_id == recorded[0].run_id
    assert (july.households, july.paid_households, july.payment_total, july.unmatched_claims) == (2, 1, 38_070, 2)
    assert july.by_municipality == {
        MUNI_A: {
            "households": 2,
            "paid_households": 1,
            "payment_total": 38_070,
            "household_hits": 1,
            "unregistered": 0,  # 2000000003 sent no 70–74 class, but has nobody of 70–74
        }
    }
    own = run_of(ctx, Actor("c-a", "municipal_clerk", frozenset({MUNI_A})), "202607")
    assert (own.payment_total, own.unmatched_claims, list(own.by_municipality)) == (38_070, None, [MUNI_A])
    other = run_of(ctx, Actor("c-b", "municipal_clerk", frozenset({MUNI_B})), "202607")
    assert (other.households, other.payment_total, other.by_municipality) == (0, 0, {})
    with pytest.raises(AccessDenied):
        runs(ctx, Actor("aud", "auditor"))
    with pytest.raises(NotFoundError, match="2026-08"):
        run_of(ctx, OPERATOR, "202608")


# ── income classes: 未申告 (09 / 19) and 区分未登録 (no SKBN record) ─────────────────


def _family_of_three(ctx) -> None:  # type: ignore[no-untyped-def]
    """Three households in July 2026 (2018-08 table), each with one claim that pays."""
    people = [
        skks("1000000011", individual_number=number(11), setai="2000000011", birth="19800101", **SINCE),  # 46
        skks("1000000012", individual_number=number(12), setai="2000000012", birth="19550301", **SINCE),  # 71
        skks("1000000013", individual_number=number(13), setai="2000000013", birth="19850101", **SINCE),  # 41
    ]
    ingest(ctx, exchange_file("SKKS", people))
    classes = [
        skbn("2000000011", start="202604", under70="09"),
        skbn("2000000012", start="202604", under70="", over70="19"),
    ]
    ingest(ctx, exchange_file("SKBN", classes, trailer=["3", "2", "2", "0", "0", ""]))
    claims = [
        rece("1000000011", setting="1", total=1_000_000, copay=300_000),
        rece("1000000012", setting="2", total=150_000, copay=30_000),
        rece("1000000013", setting="1", total=300_000, copay=90_000),  # household 2000000013: no SKBN record
    ]
    ingest(ctx, exchange_file("RECE", claims, trailer=amount_trailer(claims, 8)))


def _csv(path) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    return list(csv.DictReader(path.read_bytes().decode("utf-8-sig").splitlines()))


def test_undeclared_income_is_calculated_as_a_and_ippan_and_no_class_at_all_is_not_guessed(ctx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from shuyaku.db.schema import household_key

    _family_of_three(ctx)
    summary = run_month(ctx, OPERATOR, "202607", tmp_path)
    # 09 → ア: 300,000 − (252,600 + (1,000,000 − 842,000) × 1%) = 300,000 − 254,180 = 45,820.
    # 19 → 一般: outpatient 30,000 − 18,000 = 12,000 (外来特例 only), marked 区分推定.
    # 2000000013 sent no SKBN record: 区分未登録 — no payment, no hit month, listed.
    assert (summary.households, summary.paid_households, summary.payment_total) == (3, 2, 57_820)
    assert (summary.household_hits, summary.unregistered) == (1, 1)
    paid = {p.name.split("_")[1]: p for p in summary.files}
    assert set(paid) == {"KGSK", "KBMT"}
    listing = {r["世帯番号"]: r for r in _csv(paid["KGSK"])}
    assert {k: (r["支給額"], r["該当区分"], r["区分推定"]) for k, r in listing.items()} == {
        "2000000011": ("45820", "1", "0"),
        "2000000012": ("12000", "2", "1"),
    }
    [unknown] = _csv(paid["KBMT"])
    assert (unknown["世帯番号"], unknown["診療年月"], unknown["理由"]) == (
        "2000000013",
        "202607",
        "所得区分(SKBN)の記録がありません",
    )
    [key] = rows(ctx, household_key, household_key.c.setai_no == "2000000013")
    assert [h.pref_household_id for h in rows(ctx, hit_month)].count(key.pref_household_id) == 0


def test_a_later_skbn_lets_the_unregistered_household_be_computed(ctx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _family_of_three(ctx)
    run_month(ctx, OPERATOR, "202607", tmp_path)
    later = ingest(
        ctx,
        exchange_file(
            "SKBN", [skbn("2000000013", start="202604", under70="03")], seq=2, trailer=["3", "1", "1", "0", "0", ""]
        ),
    )
    assert later.status == "applied"
    from shuyaku.kogaku.service import stale_months

    with ctx.engine.connect() as conn:
        assert stale_months(conn) == ["202607"]  # the SKBN reaches July, run before it came
    summary = run_month(ctx, OPERATOR, "202607", tmp_path / "again")
    with ctx.engine.connect() as conn:
        assert stale_months(conn) == []
    # ウ: 90,000 − (80,100 + (300,000 − 267,000) × 1%) = 90,000 − 80,430 = 9,570.
    assert (summary.paid_households, summary.payment_total, summary.unregistered) == (3, 57_820 + 9_570, 0)
    [listing] = [p for p in summary.files if "_KGSK_" in p.name]
    assert {r["世帯番号"]: r["支給額"] for r in _csv(listing)}["2000000013"] == "9570"
    assert not [p for p in summary.files if "_KBMT_" in p.name]


def test_a_blank_class_for_a_band_with_claims_is_unregistered_too(ctx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    people = [skks("1000000021", individual_number=number(21), setai="2000000021", birth="19550301", **SINCE)]
    ingest(ctx, exchange_file("SKKS", people))
    ingest(
        ctx,
        exchange_file(
            "SKBN", [skbn("2000000021", start="202604", under70="03", over70="")], trailer=["3", "1", "1", "0", "0", ""]
        ),
    )
    claims = [rece("1000000021", setting="2", total=150_000, copay=30_000)]
    ingest(ctx, exchange_file("RECE", claims, trailer=amount_trailer(claims, 8)))
    summary = run_month(ctx, OPERATOR, "202607", tmp_path)
    assert (summary.payment_total, summary.unregistered) == (0, 1)
    [unknown] = [p for p in summary.files if "_KBMT_" in p.name]
    assert _csv(unknown)[0]["理由"] == "所得区分の項目が空欄です(請求のある年齢区分)"


# ── W302 / W303: the federation's calculation against the municipality's KGGT ────────


def test_a_kggt_after_the_run_is_told_where_the_two_disagree(ctx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from shuyaku.db.schema import ingest_result
    from tests.builders import kggt, kggt_file

    _setup(ctx)  # July: 2000000001 has a household-level hit (38,070); 2000000003 nothing
    run_month(ctx, OPERATOR, "202607", tmp_path)
    outcome = ingest(ctx, kggt_file([kggt("2000000003", "202607")]))  # the municipality paid 2000000003 only
    found = rows(ctx, ingest_result, ingest_result.c.file_id == outcome.file_id)
    assert sorted((r.line_no, r.code, r.result) for r in found) == [(0, "W302", "1"), (2, "W303", "1")]
    from shuyaku.db.schema import household_key
    from shuyaku.kogaku import tasuukai

    [one] = rows(ctx, household_key, household_key.c.setai_no == "2000000001")
    w302 = next(r for r in found if r.code == "W302")
    assert f"県世帯ID {one.pref_household_id} の 202607" in w302.message
    # What counts is the KGGT's month: 2000000001's calculated July no longer counts.
    with ctx.engine.connect() as conn:
        assert tasuukai.counts(conn, "202608", [one.pref_household_id]).height == 0


def test_a_run_after_the_kggt_sends_the_crosscheck_both_ways(ctx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.builders import kggt, kggt_file

    _setup(ctx)
    before = ingest(ctx, kggt_file([kggt("2000000003", "202607")]))
    assert before.warnings == 0  # July not calculated yet: nothing to compare with
    summary = run_month(ctx, OPERATOR, "202607", tmp_path)
    assert summary.disagreements == 2
    [checked] = [p for p in summary.files if "_KGCK_" in p.name]
    assert [(r["世帯番号"], r["コード"]) for r in _csv(checked)] == [("2000000001", "W302"), ("2000000003", "W303")]


def test_an_skbn_for_later_months_does_not_make_an_earlier_run_stale(ctx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from shuyaku.kogaku.service import stale_months

    _setup(ctx)
    run_month(ctx, OPERATOR, "202607", tmp_path)
    later = exchange_file(
        "SKBN", [skbn("2000000001", start="202608", under70="01")], seq=2, trailer=["3", "1", "1", "0", "0", ""]
    )
    assert ingest(ctx, later).status == "applied"
    with ctx.engine.connect() as conn:
        assert stale_months(conn) == []  # August on: July's run stands


def test_a_w302_names_a_household_with_a_12_digit_key_readably(ctx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A 12-digit 世帯番号 that happens to pass the individual-number check digit is masked in
    any free text (it could be a number): the W302 message names the household by its
    県世帯ID instead, and the KKKK carrying it leaves."""
    from shuyaku.db.schema import outbound_file
    from shuyaku.ingest.returns import export
    from tests.builders import kggt, kggt_file

    setai = number(77)  # synthetic, valid check digit, used here as a municipality's 世帯番号
    ingest(ctx, exchange_file("SKKS", [skks("1000000001", individual_number=number(1), setai=setai, **SINCE)]))
    ingest(
        ctx, exchange_file("SKBN", [skbn(setai, start="202604", under70="03")], trailer=["3", "1", "1", "0", "0", ""])
    )
    claims = [rece("1000000001", setting="1", total=300_000, copay=90_000)]
    ingest(ctx, exchange_file("RECE", claims, trailer=amount_trailer(claims, 8)))
    run_month(ctx, OPERATOR, "202607", tmp_path)
    outcome = ingest(ctx, kggt_file([kggt("2000000009", "202607")]))  # our hit for `setai` is missing: W302
    from shuyaku.db.schema import household_key, ingest_result

    [home] = rows(ctx, household_key, household_key.c.setai_no == setai)
    [w302] = rows(ctx, ingest_result, ingest_result.c.file_id == outcome.file_id, ingest_result.c.code == "W302")
    assert f"県世帯ID {home.pref_household_id} の 202607" in w302.message  # readable, not masked
    export(ctx, OPERATOR, MUNI_A, "KKKK", tmp_path / "kkkk")
    kkkk = rows(ctx, outbound_file, outbound_file.c.kind == "KKKK", outbound_file.c.inbound_file_id == outcome.file_id)
    assert [k.status for k in kkkk] == ["released"]


def test_a_second_run_of_the_month_during_the_first_leaves_one_runs_hit_months(ctx, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The first run is held after it has written its hit months, before its commit; a
    second run of the month meanwhile waits for it and then supersedes them — one hit month
    in force, as after two runs one after the other. (Without the lock the second run did not
    see the first's uncommitted rows, superseded nothing of them, and both stayed.)"""
    import threading
    import time

    from shuyaku.kogaku import service, tasuukai

    _setup(ctx)
    written, go_on = threading.Event(), threading.Event()
    real_recount = tasuukai.recount

    def held_recount(conn, since, now):  # type: ignore[no-untyped-def]
        if threading.current_thread().name == "first":
            written.set()
            go_on.wait(10)
        return real_recount(conn, since, now)

    monkeypatch.setattr(service.tasuukai, "recount", held_recount)
    together = AtOnce()
    together.start(lambda: run_month(ctx, OPERATOR, "202607", tmp_path / "first"), name="first")
    assert written.wait(10)
    together.start(lambda: run_month(ctx, OPERATOR, "202607", tmp_path / "second"))
    time.sleep(0.5)  # the second run is at the lock by now, or past it were there none
    go_on.set()
    together.join()
    assert together.failures == []
    current = rows(ctx, hit_month, hit_month.c.superseded_at.is_(None))
    assert len(current) == 1 and len(rows(ctx, hit_month)) == 2


def test_the_month_is_read_as_of_one_moment(ctx, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A file committed while the month is read shows in none of what the run reads: here
    the records of 1000000001 are superseded after the claims are read and before the
    records in force are; the run still finds him insured, as at the moment it began."""
    from sqlalchemy import update

    from shuyaku.db.schema import qualification_period
    from shuyaku.qualification import periods

    _setup(ctx)
    real = periods.in_force

    def after_another_commit(*args, **kwargs):  # type: ignore[no-untyped-def]
        q = qualification_period.c
        with ctx.engine.begin() as other:
            changed = other.execute(
                update(qualification_period).where(q.atena_no == "1000000001").values(superseded_at=ctx.clock())
            ).rowcount
        assert changed == 1
        return real(*args, **kwargs)

    monkeypatch.setattr(periods, "in_force", after_another_commit)
    summary = run_month(ctx, OPERATOR, "202607", tmp_path)
    assert (summary.unmatched_claims, summary.households, summary.payment_total) == (2, 2, 38_070)


def test_a_prefecture_whose_ids_begin_with_zero_gets_them_whole_in_lists_and_hit_months(
    tmp_path, database_url, clock
) -> None:  # type: ignore[no-untyped-def]
    """The month is calculated on the IDs' numbers; what it writes carries the 13 digits, the
    leading zero of 北海道 (01) included."""
    from datetime import UTC, datetime

    from shuyaku import ids
    from shuyaku.config import Settings
    from shuyaku.context import open_context
    from shuyaku.db.schema import household_key
    from shuyaku.setup import add_municipality, init

    settings = Settings(home=tmp_path / "home", database_url=database_url)
    init(settings, "01", datetime.now(UTC))
    ctx = open_context(settings, clock=clock)
    sapporo = ids.with_municipality_check_digit("01100")
    insurer = ids.with_insurer_check_digit("01100")
    try:
        add_municipality(ctx, OPERATOR, sapporo, "架空市", insurer)
        person = skks("1000000001", muni=sapporo, individual_number=number(1), setai="2000000001", **SINCE)
        ingest(ctx, exchange_file("SKKS", [person], muni=sapporo, insurer=insurer))
        classes = [skbn("2000000001", muni=sapporo, start="202604", under70="03")]
        ingest(
            ctx, exchange_file("SKBN", classes, muni=sapporo, insurer=insurer, trailer=["3", "1", "1", "0", "0", ""])
        )
        claims = [rece("1000000001", muni=sapporo, setting="1", total=1_000_000, copay=300_000)]
        ingest(ctx, exchange_file("RECE", claims, muni=sapporo, insurer=insurer, trailer=amount_trailer(claims, 8)))
        [key] = rows(ctx, household_key, household_key.c.municipality_code == sapporo)
        household = key.pref_household_id
        assert household.startswith("01") and len(household) == 13
        summary = run_month(ctx, OPERATOR, "202607", tmp_path / "lists")
        [hit] = rows(ctx, hit_month)
        assert (hit.pref_household_id, hit.payment) == (household, 212_570)  # example 1
        [listing] = summary.files
        listed = list(csv.DictReader(listing.read_bytes().decode("utf-8-sig").splitlines()))
        assert [r["県世帯ID"] for r in listed] == [household]
    finally:
        ctx.engine.dispose()


def test_a_class_cut_short_or_deleted_after_a_run_makes_the_months_it_left_stale(ctx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """What a correction or deletion takes away counts as a change of the months the old
    record reached: July was run with 2000000003's class of April on; the correction ends
    it in June, so July's run used a class that no longer exists."""
    from shuyaku.kogaku.service import stale_months

    _setup(ctx)
    run_month(ctx, OPERATOR, "202607", tmp_path)
    run_month(ctx, OPERATOR, "202605", tmp_path / "may")
    cut = exchange_file(
        "SKBN",
        [skbn("2000000003", op="2", start="202604", end="202606", under70="04")],
        seq=2,
        trailer=["3", "1", "0", "1", "0", ""],
    )
    assert ingest(ctx, cut).status == "applied"
    with ctx.engine.connect() as conn:
        assert stale_months(conn) == ["202605", "202607"]  # May: the after-image; July: what it took away
    run_month(ctx, OPERATOR, "202605", tmp_path / "may-again")
    run_month(ctx, OPERATOR, "202607", tmp_path / "again")
    with ctx.engine.connect() as conn:
        assert stale_months(conn) == []
    gone = exchange_file(
        "SKBN", [skbn("2000000001", op="3", start="202604")], seq=3, trailer=["3", "1", "0", "0", "1", ""]
    )
    assert ingest(ctx, gone).status == "applied"
    with ctx.engine.connect() as conn:
        assert stale_months(conn) == ["202605", "202607"]
