"""One truth: the columnar batch and the pure function agree on thousands of households."""

from __future__ import annotations

import random
from datetime import date, timedelta

import polars as pl
import pytest

from shuyaku.kogaku import batch, rules, tables

UNDER70 = tables.UNDER70_CLASSES
OVER70 = tables.OVER70_CLASSES


def _prior_hits(hit_months: pl.DataFrame, month: str) -> pl.DataFrame:
    """household_id → distinct household-level hit months in m−11 … m−1, ≥ 2018-04 (the
    months of each generated case, as the store's count would give them)."""
    earliest = max(rules.add_months(month, -rules.WINDOW), rules.FIRST_COUNTED_MONTH)
    return (
        hit_months.filter((pl.col("month") >= earliest) & (pl.col("month") < month))
        .group_by("household_id")
        .agg(pl.col("month").n_unique().alias("prior_hits"))
    )


def _birth(rng: random.Random, month: str) -> date:
    first = rules.first_of(month)
    kind = rng.random()
    if kind < 0.15:  # around the 70th birthday (incl. born on the 1st)
        target = first.replace(year=first.year - 70)
        return target + timedelta(days=rng.randint(-40, 40))
    if kind < 0.30:  # 75th birthday inside the month (not on the 1st)
        return first.replace(year=first.year - 75) + timedelta(days=rng.randint(1, 27))
    if kind < 0.35:
        return date(1952 if rng.random() < 0.5 else 1956, 2, 29)
    return first - timedelta(days=rng.randint(1, 74 * 365))


def _claims(rng: random.Random, member: str) -> list[rules.Claim]:
    out = []
    for _ in range(rng.choice([0, 1, 1, 2, 3, 5])):
        setting = rng.choice(["inpatient", "outpatient", "outpatient", "dental"])
        institution = rng.choice(["H1", "H2", "H3"])
        scale = rng.choice([3_000, 10_000, 20_000, 21_000, 40_000, 150_000])
        copay = rng.randint(0, scale) if rng.random() > 0.15 else rng.choice([10_499, 10_500, 20_999, 21_000])
        disease = rng.choice([0] * 8 + [1, 2])
        if disease:
            copay = min(copay, 10_000 if disease == 1 else 20_000)
        total = copay * rng.choice([3, 4, 5, 10]) + rng.randint(0, 3_000_000 if setting == "inpatient" else 100_000)
        out.append(rules.Claim(member, institution, setting, total, copay, disease))
    return out


def _household(rng: random.Random, month: str) -> rules.HouseholdMonth:
    members = []
    while len(members) < rng.randint(1, 4):
        birth = _birth(rng, month)
        try:
            rules.age_band(birth, month)
        except ValueError:
            continue  # 後期高齢者医療 for the whole month: not a member
        members.append(rules.Member(f"m{len(members)}", birth))
    prior = tuple(rules.add_months(month, -rng.randint(1, 14)) for _ in range(rng.choice([0, 0, 1, 2, 3, 4, 5])))
    return rules.HouseholdMonth(
        month,
        rng.choice(UNDER70),
        rng.choice(OVER70),
        prior,
        rng.random() < 0.15,
        tuple(members),
        tuple(c for m in members for c in _claims(rng, m.id)),
    )


@pytest.mark.parametrize("month", ["2026-07", "2026-08"])
def test_batch_and_pure_function_agree(month: str) -> None:
    rng = random.Random(f"one-truth-{month}")
    cases = {f"H{i:05d}": _household(rng, month) for i in range(3000)}
    table = tables.table_for(month)
    expected = {hid: rules.calculate(c, table) for hid, c in cases.items()}

    households = pl.DataFrame(
        {
            "household_id": list(cases),
            "under70_class": [c.under70_class for c in cases.values()],
            "over70_class": [c.over70_class for c in cases.values()],
            "in_prefecture_move": [c.in_prefecture_move for c in cases.values()],
        }
    )
    hit_months = pl.DataFrame(
        [(hid, m) for hid, c in cases.items() for m in c.prior_hit_months],
        schema=["household_id", "month"],
        orient="row",
    )
    households = households.join(_prior_hits(hit_months, month), on="household_id", how="left").with_columns(
        pl.col("prior_hits").fill_null(0)
    )
    members = pl.DataFrame(
        [(hid, m.id, m.birth_date) for hid, c in cases.items() for m in c.members],
        schema=["household_id", "member_id", "birth_date"],
        orient="row",
    )
    claims = pl.DataFrame(
        [
            (hid, k.member, k.institution, k.setting, k.total_cost, k.copay)
            for hid, c in cases.items()
            for k in c.claims
        ],
        schema=["household_id", "member_id", "institution", "setting", "total_cost", "copay"],
        orient="row",
    )
    result = batch.calculate_month(month, table, households, members, claims)

    assert result.height == len(cases)
    assert result["unregistered"].sum() == 0  # every band with claims has its class here
    mismatches = []
    for row in result.iter_rows(named=True):
        want = expected[row["household_id"]]
        got = (
            row["payment"],
            row["outpatient_special"],
            row["over70_household"],
            row["household"],
            row["hit"],
            row["tasuukai"],
        )
        wanted = (
            want.payment,
            want.steps["outpatient_special"],
            want.steps["over70_household"],
            want.steps["household"],
            want.hit,
            want.tasuukai,
        )
        if got != wanted:
            mismatches.append((row["household_id"], got, wanted))
    assert mismatches == []
    # The generated data really covers the cases that matter.
    kinds = {e.hit for e in expected.values()}
    assert kinds == {"household", "outpatient_only", "none"}
    assert any(c.in_prefecture_move for c in cases.values()) and any(e.tasuukai for e in expected.values())
    assert any(m.get("turns_75_this_month") for e in expected.values() for m in e.members)
