"""The monthly calculation for every household at once (columnar, Polars).

The same rules as ``rules.calculate``, step by step as frame expressions: no Python loop
over households or members. ``tests/kogaku/test_one_truth.py`` runs both on thousands of
generated households and requires identical answers.

Inputs (one treatment month, one cap table); the IDs (household_id, member_id) may be text
or numbers, and the result's household_id is of the input's type:
- ``households``: household_id, under70_class, over70_class (None where absent: a band
  with claims and no class makes the household 区分未登録, paid nothing),
  in_prefecture_move (bool), prior_hits (int: distinct hit months in m−11 … m−1 ≥ 2018-04)
- ``members``: household_id, member_id, birth_date
- ``claims``: household_id, member_id, institution, setting, total_cost, copay
"""

from __future__ import annotations

import polars as pl

from shuyaku.kogaku import rules
from shuyaku.kogaku.tables import CapTable

# The result: household_id (of the input's type), then these.
RESULT_SCHEMA = {
    "tasuukai": pl.Boolean,
    "outpatient_special": pl.Int64,
    "over70_household": pl.Int64,
    "household": pl.Int64,
    "payment": pl.Int64,
    "hit": pl.String,
    "unregistered": pl.Boolean,  # 区分未登録: no class for a band that had claims; nothing paid or counted
}


def _class_frame(table: CapTable, prefix: str) -> pl.DataFrame:
    caps = table.under70 if prefix == "u70" else {k: v.household for k, v in table.over70.items()}
    frame = pl.DataFrame(
        {
            f"{prefix}_class": list(caps),
            f"{prefix}_base": [c.base for c in caps.values()],
            f"{prefix}_threshold": [c.threshold for c in caps.values()],
            f"{prefix}_tasuukai": [c.tasuukai for c in caps.values()],
        },
        schema={
            f"{prefix}_class": pl.String,
            f"{prefix}_base": pl.Int64,
            f"{prefix}_threshold": pl.Int64,
            f"{prefix}_tasuukai": pl.Int64,
        },
    )
    if prefix == "o70":
        frame = frame.with_columns(
            pl.Series("o70_outpatient", [v.outpatient for v in table.over70.values()], dtype=pl.Int64)
        )
    return frame


def _cap(prefix: str, medical: str, den: str) -> pl.Expr:
    """household_cap() as an expression: amounts divided by ``den`` (1, 2 or 4; exact)."""
    base = pl.col(f"{prefix}_base") // pl.col(den)
    threshold = pl.col(f"{prefix}_threshold") // pl.col(den)
    over = pl.col(medical) - threshold
    percent = pl.when(threshold.is_not_null() & (over > 0)).then((over + 50) // 100).otherwise(0)
    return (
        pl.when(pl.col("tasuukai") & pl.col(f"{prefix}_tasuukai").is_not_null())
        .then(pl.col(f"{prefix}_tasuukai") // pl.col(den))
        .otherwise(base + percent)
    )


def _birthday(birth: pl.Expr, years: int) -> pl.Expr:
    """As rules._birthday: 29 February becomes 1 March in a common year."""
    year = birth.dt.year() + years
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    feb29 = (birth.dt.month() == 2) & (birth.dt.day() == 29) & ~leap
    return pl.when(feb29).then(pl.date(year, 3, 1)).otherwise(pl.date(year, birth.dt.month(), birth.dt.day()))


def member_bands(members: pl.LazyFrame, month: str) -> pl.LazyFrame:
    first = rules.first_of(month)
    next_first = rules.first_of(rules.add_months(month, 1))
    reaches_70 = _birthday(pl.col("birth_date"), 70) - pl.duration(days=1)
    from_70 = reaches_70.dt.month_start().dt.offset_by("1mo")
    turns_75 = _birthday(pl.col("birth_date"), 75)
    return members.with_columns(
        (turns_75 <= pl.lit(first)).alias("late_elder"),  # 後期高齢者医療 all month: not an NHI member
        pl.when(pl.lit(first) >= from_70).then(pl.lit(rules.OVER70)).otherwise(pl.lit(rules.UNDER70)).alias("band"),
        ((pl.lit(first) >= from_70) & (turns_75 < pl.lit(next_first))).alias("turns_75"),
    )


def calculate_month(
    month: str, table: CapTable, households: pl.DataFrame, members: pl.DataFrame, claims: pl.DataFrame
) -> pl.DataFrame:
    """One row per household: steps, payment, hit kind, 多数回. One lazy plan, collected
    once: Polars shares the households' part between the steps and runs them in parallel."""
    hh = (
        households.lazy()
        .with_columns(
            (pl.col("prior_hits") >= rules.TASUUKAI_FROM).alias("tasuukai"),
            pl.when(pl.col("in_prefecture_move")).then(2).otherwise(1).cast(pl.Int64).alias("den"),
        )
        .join(_class_frame(table, "u70").lazy(), left_on="under70_class", right_on="u70_class", how="left")
        .join(_class_frame(table, "o70").lazy(), left_on="over70_class", right_on="o70_class", how="left")
    )

    banded = member_bands(members.lazy(), month).filter(~pl.col("late_elder"))
    claimed = claims.lazy().join(
        banded.select("household_id", "member_id", "band", "turns_75"), on=["household_id", "member_id"]
    )

    # Step 1 (and the 75th-birthday member's own half caps), per 70–74 member.
    older = (
        claimed.filter(pl.col("band") == rules.OVER70)
        .group_by("household_id", "member_id", "turns_75")
        .agg(
            pl.col("copay").filter(pl.col("setting") != "inpatient").sum().alias("outpatient"),
            pl.col("copay").filter(pl.col("setting") == "inpatient").sum().alias("inpatient"),
            pl.col("total_cost").sum().alias("medical"),
        )
        .join(hh, on="household_id")
        .with_columns(pl.when(pl.col("turns_75")).then(pl.col("den") * 2).otherwise(pl.col("den")).alias("own_den"))
        .with_columns(
            pl.when(pl.col("o70_outpatient").is_not_null() & (pl.col("outpatient") > 0))
            .then((pl.col("outpatient") - pl.col("o70_outpatient") // pl.col("own_den")).clip(lower_bound=0))
            .otherwise(0)
            .alias("paid1")
        )
        .with_columns((pl.col("outpatient") - pl.col("paid1") + pl.col("inpatient")).alias("after1"))
        .with_columns(
            pl.when(pl.col("turns_75"))
            .then((pl.col("after1") - _cap("o70", "medical", "own_den")).clip(lower_bound=0))
            .otherwise(0)
            .alias("own_paid")
        )
        .group_by("household_id")
        .agg(
            pl.col("paid1").sum(),
            pl.col("own_paid").sum(),
            (pl.col("after1") - pl.col("own_paid")).sum().alias("s2"),
            pl.col("medical").sum().alias("m2"),
        )
    )

    # Step 3's under-70 units: person × institution × setting, at or over the threshold.
    units = (
        claimed.filter(pl.col("band") == rules.UNDER70)
        .group_by("household_id", "member_id", "institution", "setting")
        .agg(pl.col("copay").sum(), pl.col("total_cost").sum())
        .join(hh.select("household_id", "den"), on="household_id")
        .filter(pl.col("copay") >= table.unit_threshold // pl.col("den"))
        .group_by("household_id")
        .agg(pl.col("copay").sum().alias("c3"), pl.col("total_cost").sum().alias("m3u"))
    )

    steps = (
        hh.join(older, on="household_id", how="left")
        .join(units, on="household_id", how="left")
        .with_columns(pl.col("paid1", "own_paid", "s2", "m2", "c3", "m3u").fill_null(0))
        .with_columns(
            pl.when(pl.col("s2") > 0)
            .then((pl.col("s2") - _cap("o70", "m2", "den")).clip(lower_bound=0))
            .otherwise(0)
            .alias("paid2")
        )
        .with_columns(
            (pl.col("s2") - pl.col("paid2") + pl.col("c3")).alias("s3"),
            (pl.col("m2") + pl.col("m3u")).alias("m3"),
        )
        .with_columns(
            pl.when((pl.col("c3") > 0) & pl.col("u70_base").is_not_null())
            .then((pl.col("s3") - _cap("u70", "m3", "den")).clip(lower_bound=0))
            .otherwise(0)
            .alias("household")
        )
        .with_columns(
            # 区分未登録: a band with claims to sum has no class (no SKBN record in force, or
            # its item left blank). Its payment is unknown, not zero: none is recorded.
            (
                (((pl.col("m2") > 0) | (pl.col("s2") > 0)) & pl.col("o70_base").is_null())
                | ((pl.col("c3") > 0) & pl.col("u70_base").is_null())
            ).alias("unregistered")
        )
        .with_columns(
            pl.when(pl.col("unregistered")).then(0).otherwise(pl.col("paid1")).alias("outpatient_special"),
            pl.when(pl.col("unregistered"))
            .then(0)
            .otherwise(pl.col("own_paid") + pl.col("paid2"))
            .alias("over70_household"),
            pl.when(pl.col("unregistered")).then(0).otherwise(pl.col("household")).alias("household"),
        )
        .with_columns(
            (pl.col("outpatient_special") + pl.col("over70_household") + pl.col("household")).alias("payment")
        )
        .with_columns(
            pl.when(pl.col("over70_household") + pl.col("household") > 0)
            .then(pl.lit("household"))
            .when(pl.col("outpatient_special") > 0)
            .then(pl.lit("outpatient_only"))
            .otherwise(pl.lit("none"))
            .alias("hit")
        )
    )
    # household_id stays as it came: text (an ID, a test's name) or a prefecture ID's number.
    return steps.select("household_id", *RESULT_SCHEMA).cast(RESULT_SCHEMA).collect()  # type: ignore[arg-type]
