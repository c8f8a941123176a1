"""RECE (claim units) and SKBN (income classes) come in through the same inbox."""

from __future__ import annotations

from shuyaku.db.schema import claim_unit, income_class
from tests.builders import MUNI_A, amount_trailer, exchange_file, rece, skbn
from tests.integration.helpers import ingest, results, rows


def _skbn_trailer(rows_: list[list[str]]) -> list[str]:
    ops = [r[3] for r in rows_]
    return ["3", str(len(rows_)), str(ops.count("1")), str(ops.count("2")), str(ops.count("3")), ""]


def test_claim_units_are_stored_with_their_amounts(ctx) -> None:  # type: ignore[no-untyped-def]
    claims = [rece("1000000001"), rece("1000000001", setting="2", detail="2", total=50_000, copay=15_000)]
    outcome = ingest(ctx, exchange_file("RECE", claims, trailer=amount_trailer(claims, 8)))
    assert (outcome.status, outcome.applied) == ("applied", 2)
    stored = sorted((r.setting_code, r.total_cost, r.copay) for r in rows(ctx, claim_unit))
    assert stored == [("1", 1_000_000, 300_000), ("2", 50_000, 15_000)]


def test_the_rece_trailer_total_is_the_sum_of_医療費総額(ctx) -> None:  # type: ignore[no-untyped-def]
    claims = [rece("1000000001")]
    wrong = ["3", "1", "1", "0", "0", "300000"]  # the copay, not the cost
    outcome = ingest(ctx, exchange_file("RECE", claims, trailer=wrong))
    assert (outcome.status, outcome.code) == ("rejected", "E001")


def test_a_claim_correction_supersedes_and_a_copay_over_its_cap_is_quarantined(ctx) -> None:  # type: ignore[no-untyped-def]
    first = [rece("1000000001")]
    ingest(ctx, exchange_file("RECE", first, trailer=amount_trailer(first, 8)))
    fixed = [rece("1000000001", op="2", copay=250_000)] + [rece(f"10000001{i:02d}") for i in range(30)]
    bad = rece("1000000999", copay=12_000, total=400_000, disease="1")
    batch = fixed + [bad]
    outcome = ingest(ctx, exchange_file("RECE", batch, seq=2, trailer=amount_trailer(batch, 8)))
    assert outcome.status == "applied" and results(ctx, outcome.file_id) == [(33, "E011", "9")]
    current = [
        r.copay
        for r in rows(ctx, claim_unit, claim_unit.c.atena_no == "1000000001", claim_unit.c.superseded_at.is_(None))
    ]
    assert current == [250_000]


def test_income_classes_by_household_and_months(ctx) -> None:  # type: ignore[no-untyped-def]
    others = [skbn(f"20000001{i:02d}") for i in range(30)]
    spans = [
        skbn("2000000001", start="202608", under70="03", over70="14"),
        skbn("2000000002", start="202608", end="202607"),
        *others,
    ]
    outcome = ingest(ctx, exchange_file("SKBN", spans, trailer=_skbn_trailer(spans)))
    assert outcome.status == "applied"
    assert results(ctx, outcome.file_id) == [(3, "E020", "9")]  # ends before it starts
    [stored] = rows(ctx, income_class, income_class.c.setai_no == "2000000001")
    assert (stored.class_under70, stored.class_over70, stored.applied_to_month) == ("03", "14", None)
    assert len(rows(ctx, income_class)) == 31


def test_an_unknown_income_class_code_is_E012(ctx) -> None:  # type: ignore[no-untyped-def]
    spans = [skbn("2000000001", under70="14")] + [skbn(f"20000001{i:02d}") for i in range(30)]
    outcome = ingest(ctx, exchange_file("SKBN", spans, trailer=_skbn_trailer(spans)))
    assert results(ctx, outcome.file_id) == [(2, "E012", "9")]


def test_a_file_of_several_months_finds_the_claims_of_each_of_its_months(ctx) -> None:  # type: ignore[no-untyped-def]
    """The look-up of a RECE file's keys reads only the months the file names; a file may
    name several (a correction of last month beside this month's claims)."""
    earlier = [rece("1000000001", month="202607"), rece("1000000002", month="202607")]
    ingest(ctx, exchange_file("RECE", earlier, trailer=amount_trailer(earlier, 8)))
    later = [rece("1000000001", month="202608")]
    ingest(ctx, exchange_file("RECE", later, seq=2, trailer=amount_trailer(later, 8)))
    mixed = [
        rece("1000000001", month="202607", op="2", copay=200_000),  # corrects July, not August
        rece("1000000001", month="202608"),  # August's claim again: E011
        rece("1000000001", month="202608", detail="2", copay=10_000),  # a second August claim
        rece("1000000001", month="202606", op="3"),  # June was never received: E030
        rece("1000000002", month="202607", op="3"),  # deletes July's claim
        *[rece(f"10000001{i:02d}", month="202608") for i in range(40)],
    ]
    outcome = ingest(ctx, exchange_file("RECE", mixed, seq=3, trailer=amount_trailer(mixed, 8)))
    assert outcome.status == "applied"
    assert sorted(results(ctx, outcome.file_id)) == [(3, "E011", "9"), (5, "E030", "9")]
    current = sorted(
        (r.atena_no, r.month, r.detail_no, r.copay)
        for r in rows(ctx, claim_unit, claim_unit.c.atena_no < "1000000100", claim_unit.c.superseded_at.is_(None))
    )
    assert current == [
        ("1000000001", "202607", "1", 200_000),
        ("1000000001", "202608", "1", 300_000),
        ("1000000001", "202608", "2", 10_000),
    ]


def test_the_look_up_of_a_rece_files_keys_reads_only_its_months(ctx) -> None:  # type: ignore[no-untyped-def]
    """Claims are kept for years; a month's RECE must cost what its own claims cost. The key
    look-up is run as the ingest runs it, on a table of 300 persons × 36 months, and its plan
    must answer the month in the index: indexed by 宛名番号 alone, every month of every person
    named was read and dropped."""
    from datetime import UTC, datetime

    import polars as pl
    from sqlalchemy import event, insert

    from shuyaku.kogaku.intake import CLAIMS

    then = datetime(2024, 1, 1, tzinfo=UTC)
    months = [f"{2023 + m // 12}{m % 12 + 1:02d}" for m in range(36)]
    stored = [
        {
            "municipality_code": MUNI_A,
            "atena_no": f"{p:010d}",
            "month": month,
            "institution": "1310000001",
            "setting_code": "2",
            "detail_no": "1",
            "total_cost": 10_000,
            "copay": 3_000,
            "specified_disease": "0",
            "file_id": 1,
            "line_no": 1,
            "recorded_at": then,
        }
        for p in range(300)
        for month in months
    ]
    with ctx.engine.begin() as conn:
        conn.execute(insert(claim_unit), stored)
    with ctx.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        sent: list[tuple[str, object]] = []

        def grab(_conn, _cursor, statement, parameters, _context, _many) -> None:  # type: ignore[no-untyped-def]
            sent.append((statement, parameters))

        records = pl.DataFrame({"atena_no": ["0000000007", "0000000011"], "month": ["202512", "202512"]})
        event.listen(conn, "before_cursor_execute", grab)
        found = CLAIMS.current_keys(conn, MUNI_A, records)
        event.remove(conn, "before_cursor_execute", grab)
        [(statement, parameters)] = sent
        explain = "EXPLAIN " if conn.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN "
        plan = "\n".join(str(row[-1]) for row in conn.exec_driver_sql(explain + statement, parameters))
    assert sorted(zip(found["atena_no"], found["month"], strict=True)) == [
        ("0000000007", "202512"),
        ("0000000011", "202512"),
    ]
    assert "ix_claim_unit_municipality_code_atena_no_month" in plan, plan
    if "Index Cond" in plan:  # PostgreSQL: the month is a condition of the index, not a filter of its rows
        assert "month" in plan.split("Index Cond", 1)[1].split("\n", 1)[0], plan
    else:  # SQLite
        assert "month=?" in plan, plan


def test_a_file_naming_very_many_months_is_applied_as_any_other(ctx) -> None:  # type: ignore[no-untyped-def]
    """Any YYYYMM is a valid 診療年月, so a file may name more months than one statement
    should bind: past ``MONTHS_NARROWED`` its keys are looked up over every month, and the
    corrections and duplicates among them are found all the same."""
    from shuyaku.db.history import MONTHS_NARROWED

    months = [f"{2000 + n // 12}{n % 12 + 1:02d}" for n in range(MONTHS_NARROWED + 20)]
    first = [rece("1000000001", month=months[5]), rece("1000000001", month=months[-1])]
    ingest(ctx, exchange_file("RECE", first, trailer=amount_trailer(first, 8)))
    many = [rece("1000000002", month=m) for m in months]
    many += [rece("1000000001", month=months[5], op="2", copay=1_000), rece("1000000001", month=months[-1])]
    outcome = ingest(ctx, exchange_file("RECE", many, seq=2, trailer=amount_trailer(many, 8)))
    assert outcome.status == "applied"
    assert results(ctx, outcome.file_id) == [(len(many) + 1, "E011", "9")]  # the add of a month received
    current = {
        (r.month, r.copay)
        for r in rows(ctx, claim_unit, claim_unit.c.atena_no == "1000000001", claim_unit.c.superseded_at.is_(None))
    }
    assert current == {(months[5], 1_000), (months[-1], 300_000)}
