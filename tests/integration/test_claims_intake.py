"""RECE (claim units) and SKBN (income classes) come in through the same inbox."""

from __future__ import annotations

from shuyaku.db.schema import claim_unit, income_class
from tests.builders import amount_trailer, exchange_file, rece, skbn
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
