"""`kogaku calc`: every worked example of kogaku.md and the edges, values worked out by hand here."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shuyaku.kogaku.calc import CaseError, calculate_json

UNDER70_BIRTH = "1979-05-10"  # 47 in 2026
OVER70_BIRTH = "1953-01-15"  # 73 in 2026


def case(
    month: str = "2026-07",
    *,
    under70: str | None = None,
    over70: str | None = None,
    prior: list[str] | None = None,
    move: bool = False,
    members: list[tuple[str, str]],
    claims: list[tuple[Any, ...]],
) -> dict[str, Any]:
    return {
        "month": month,
        "income_class": {k: v for k, v in (("under70", under70), ("over70", over70)) if v is not None},
        "prior_hit_months": prior or [],
        "in_prefecture_move": move,
        "members": [{"id": i, "birth_date": b} for i, b in members],
        "claims": [
            {
                "member": m,
                "institution": inst,
                "setting": s,
                "total_cost": t,
                "copay": c,
                "specified_disease": (rest[0] if rest else 0),
            }
            for m, inst, s, t, c, *rest in claims
        ],
    }


def calc(data: dict[str, Any]) -> dict[str, Any]:
    return calculate_json(json.dumps(data, ensure_ascii=False))


A = [("A", UNDER70_BIRTH)]
INPATIENT_1M = [("A", "1310000001", "inpatient", 1_000_000, 300_000)]

EXAMPLES = [
    # (name, case, payment, steps (outpatient_special, over70_household, household), hit, tasuukai)
    (
        "1 ウ inpatient: 80,100 + 7,330 = 87,430",
        case(under70="ウ", members=A, claims=INPATIENT_1M),
        212_570,
        (0, 0, 212_570),
        "household",
        False,
    ),
    (
        "2 the same with 3 hits: 多数回 44,400",
        case(under70="ウ", prior=["2025-09", "2026-01", "2026-03"], members=A, claims=INPATIENT_1M),
        255_600,
        (0, 0, 255_600),
        "household",
        True,
    ),
    (
        "3 エ: 60,000 + 25,000 (15,000 left out) − 57,600",
        case(
            under70="エ",
            members=[("A", UNDER70_BIRTH), ("B", "1985-03-03")],
            claims=[
                ("A", "X", "inpatient", 200_000, 60_000),
                ("B", "Y", "outpatient", 83_400, 25_000),
                ("B", "Z", "outpatient", 50_000, 15_000),
            ],
        ),
        27_400,
        (0, 0, 27_400),
        "household",
        False,
    ),
    (
        "4 70–74 一般: step 1 4,000 + step 2 40,400",
        case(
            over70="一般",
            members=[("C", OVER70_BIRTH), ("D", "1954-02-02")],
            claims=[
                ("C", "P", "outpatient", 40_000, 12_000),
                ("C", "Q", "outpatient", 33_400, 10_000),
                ("D", "R", "inpatient", 400_000, 80_000),
            ],
        ),
        44_400,
        (4_000, 40_400, 0),
        "household",
        False,
    ),
    (
        "5 only C of example 4: outpatient only",
        case(
            over70="一般",
            members=[("C", OVER70_BIRTH)],
            claims=[("C", "P", "outpatient", 40_000, 12_000), ("C", "Q", "outpatient", 33_400, 10_000)],
        ),
        4_000,
        (4_000, 0, 0),
        "outpatient_only",
        False,
    ),
    (
        "6 mixed 一般 + ウ: 12,000 + 26,070",
        case(
            under70="ウ",
            over70="一般",
            members=[("E", "1955-03-01"), ("F", "1981-01-01")],
            claims=[("E", "P", "outpatient", 150_000, 30_000), ("F", "H", "inpatient", 300_000, 90_000)],
        ),
        38_070,
        (12_000, 0, 26_070),
        "household",
        False,
    ),
    (
        "7 rounding: 1% of 967,567 = 9,675.67 → 9,676; cap 89,776",
        case(under70="ウ", members=A, claims=[("A", "H", "inpatient", 1_234_567, 370_370)]),
        280_594,
        (0, 0, 280_594),
        "household",
        False,
    ),
    (
        "8 2026-08 table ウ: 85,800 + 7,140 = 92,940",
        case("2026-08", under70="ウ", members=A, claims=INPATIENT_1M),
        207_060,
        (0, 0, 207_060),
        "household",
        False,
    ),
    (
        "8b 2026-08 with 3 hits in 2026-05…07: 44,400",
        case("2026-08", under70="ウ", prior=["2026-05", "2026-06", "2026-07"], members=A, claims=INPATIENT_1M),
        255_600,
        (0, 0, 255_600),
        "household",
        True,
    ),
    (
        "move month ウ: 40,050 + (1,000,000 − 133,500) × 1% = 48,715",
        case(under70="ウ", move=True, members=A, claims=INPATIENT_1M),
        251_285,
        (0, 0, 251_285),
        "household",
        False,
    ),
    (
        "move month: units of 10,500 or more count; エ half cap 28,800",
        case(
            under70="エ",
            move=True,
            members=A,
            claims=[("A", "X", "outpatient", 50_000, 15_000), ("A", "Y", "outpatient", 70_000, 20_000)],
        ),
        6_200,
        (0, 0, 6_200),
        "household",
        False,
    ),
    (
        "the same units outside a move month are under 21,000",
        case(
            under70="エ",
            members=A,
            claims=[("A", "X", "outpatient", 50_000, 15_000), ("A", "Y", "outpatient", 70_000, 20_000)],
        ),
        0,
        (0, 0, 0),
        "none",
        False,
    ),
    (
        "75th-birthday month: own caps halved (9,000; 28,800), the rest joins step 2",
        case(
            over70="一般",
            members=[("G", "1951-07-20")],
            claims=[("G", "P", "outpatient", 40_000, 12_000), ("G", "H", "inpatient", 100_000, 30_000)],
        ),
        13_200,
        (3_000, 10_200, 0),
        "household",
        False,
    ),
    (
        "75th-birthday month in a move month: a quarter (4,500; 14,400), household half (28,800)",
        case(
            over70="一般",
            move=True,
            members=[("G", "1951-07-20")],
            claims=[("G", "P", "outpatient", 40_000, 12_000), ("G", "H", "inpatient", 100_000, 30_000)],
        ),
        27_600,
        (7_500, 20_100, 0),
        "household",
        False,
    ),
    (
        "a pharmacy claim joins the prescribing institution's unit (15,000 + 8,000 ≥ 21,000)",
        case(
            under70="エ",
            members=A,
            claims=[
                ("A", "CLINIC", "outpatient", 50_000, 15_000),
                ("A", "CLINIC", "outpatient", 26_700, 8_000),
                ("A", "X", "inpatient", 200_000, 60_000),
            ],
        ),
        25_400,
        (0, 0, 25_400),
        "household",
        False,
    ),
    (
        "dental is its own unit: 15,000 outpatient and 10,000 dental at one institution both stay out",
        case(
            under70="エ",
            members=A,
            claims=[
                ("A", "X", "outpatient", 50_000, 15_000),
                ("A", "X", "dental", 33_400, 10_000),
                ("A", "Y", "inpatient", 200_000, 60_000),
            ],
        ),
        2_400,
        (0, 0, 2_400),
        "household",
        False,
    ),
    (
        "70–74 dental counts as outpatient for 外来特例",
        case(over70="一般", members=[("C", OVER70_BIRTH)], claims=[("C", "X", "dental", 100_000, 20_000)]),
        2_000,
        (2_000, 0, 0),
        "outpatient_only",
        False,
    ),
    (
        "現役並みⅢ 70–74: 252,600 + (1,000,000 − 842,000) × 1% = 254,180",
        case(over70="現役並みⅢ", members=[("C", OVER70_BIRTH)], claims=[("C", "H", "inpatient", 1_000_000, 300_000)]),
        45_820,
        (0, 45_820, 0),
        "household",
        False,
    ),
    (
        "低所得Ⅱ in 2026-07 has no 多数回 amount: 24,600 even after 3 hits",
        case(
            over70="低所得Ⅱ",
            prior=["2026-04", "2026-05", "2026-06"],
            members=[("C", OVER70_BIRTH)],
            claims=[("C", "H", "inpatient", 200_000, 60_000)],
        ),
        35_400,
        (0, 35_400, 0),
        "household",
        True,
    ),
    (
        "低所得Ⅱ from 2026-08: 25,700, or 24,600 from the 4th hit",
        case(
            "2026-08",
            over70="低所得Ⅱ",
            members=[("C", OVER70_BIRTH)],
            claims=[("C", "H", "inpatient", 200_000, 60_000)],
        ),
        34_300,
        (0, 34_300, 0),
        "household",
        False,
    ),
    (
        "低所得Ⅱ from 2026-08 with 3 hits",
        case(
            "2026-08",
            over70="低所得Ⅱ",
            prior=["2026-05", "2026-06", "2026-07"],
            members=[("C", OVER70_BIRTH)],
            claims=[("C", "H", "inpatient", 200_000, 60_000)],
        ),
        35_400,
        (0, 35_400, 0),
        "household",
        True,
    ),
    (
        "ASCII aliases: u and ippan",
        case(
            under70="u",
            over70="ippan",
            members=[("E", "1955-03-01"), ("F", "1981-01-01")],
            claims=[("E", "P", "outpatient", 150_000, 30_000), ("F", "H", "inpatient", 300_000, 90_000)],
        ),
        38_070,
        (12_000, 0, 26_070),
        "household",
        False,
    ),
    (
        "特定疾病: a capped 10,000 claim enters like any other (under 21,000: out)",
        case(under70="ウ", members=A, claims=[("A", "D", "outpatient", 400_000, 10_000, 1)]),
        0,
        (0, 0, 0),
        "none",
        False,
    ),
]


@pytest.mark.parametrize(
    ("name", "data", "payment", "steps", "hit", "tasuukai"), EXAMPLES, ids=[e[0] for e in EXAMPLES]
)
def test_worked_examples(
    name: str, data: dict[str, Any], payment: int, steps: tuple[int, int, int], hit: str, tasuukai: bool
) -> None:
    result = calc(data)
    assert result["payment"] == payment
    assert (
        result["steps"]["outpatient_special"],
        result["steps"]["over70_household"],
        result["steps"]["household"],
    ) == steps
    assert (result["hit"], result["tasuukai"]) == (hit, tasuukai)
    assert result["payment"] == sum(result["steps"].values())


@pytest.mark.parametrize(
    ("prior", "count"),
    [
        (["2025-08"], 1),  # m−11: in
        (["2025-07"], 0),  # m−12: out
        (["2026-07"], 0),  # m itself is not yet "already paid"
        (["2026-06", "2026-06", "2025-08"], 2),  # one month counts once
    ],
)
def test_the_window_is_m_minus_11_to_m_minus_1(prior: list[str], count: int) -> None:
    assert calc(case(under70="ウ", prior=prior, members=A, claims=INPATIENT_1M))["prior_hits_in_window"] == count


def test_months_before_2018_04_never_count() -> None:
    result = calc(
        case(
            "2019-02", under70="ウ", prior=["2018-03", "2018-04", "2018-05", "2018-06"], members=A, claims=INPATIENT_1M
        )
    )
    assert (result["prior_hits_in_window"], result["tasuukai"]) == (3, True)
    result = calc(
        case(
            "2019-02", under70="ウ", prior=["2018-02", "2018-03", "2018-04", "2018-05"], members=A, claims=INPATIENT_1M
        )
    )
    assert (result["prior_hits_in_window"], result["tasuukai"]) == (2, False)


@pytest.mark.parametrize(
    ("birth", "month", "band"),
    [
        ("1956-07-15", "2026-07", "under70"),  # reaches 70 on 07-14: 70–74 from August
        ("1956-07-15", "2026-08", "over70"),
        ("1956-07-01", "2026-06", "under70"),  # born on the 1st: reaches 70 on 06-30 …
        ("1956-07-01", "2026-07", "over70"),  # … so 70–74 from the birthday month itself
        ("1951-07-31", "2026-07", "over70"),  # the 75th-birthday month is still 70–74 (half caps)
    ],
)
def test_age_bands(birth: str, month: str, band: str) -> None:
    result = calc(case(month, under70="ウ", over70="一般", members=[("X", birth)], claims=[]))
    assert result["members"][0]["band"] == band


def test_the_table_named_is_the_one_in_force() -> None:
    assert calc(case("2026-07", under70="ウ", members=A, claims=[]))["cap_table"] == "2018-08"
    assert calc(case("2026-08", under70="ウ", members=A, claims=[]))["cap_table"] == "2026-08"


ERRORS = [
    ("no table before 2018-08", case("2018-05", under70="ウ", members=A, claims=[]), "month"),
    ("no table from 2027-08 yet", case("2027-08", under70="ウ", members=A, claims=[]), "month"),
    ("unknown class", case(under70="カ", members=A, claims=[]), "income_class.under70"),
    ("under-70 class missing", case(members=A, claims=[]), "income_class.under70"),
    ("70–74 class missing", case(under70="ウ", members=[("C", OVER70_BIRTH)], claims=[]), "income_class.over70"),
    (
        "75 for the whole month (birthday on the 1st)",
        case(over70="一般", members=[("G", "1951-07-01")], claims=[]),
        "members[0].birth_date",
    ),
    (
        "75 since an earlier month",
        case(over70="一般", members=[("G", "1951-03-10")], claims=[]),
        "members[0].birth_date",
    ),
    (
        "copay above its 特定疾病 cap",
        case(under70="ウ", members=A, claims=[("A", "D", "outpatient", 400_000, 10_001, 1)]),
        "claims[0].copay",
    ),
    (
        "copay above the cost",
        case(under70="ウ", members=A, claims=[("A", "D", "outpatient", 1_000, 2_000)]),
        "claims[0].copay",
    ),
    (
        "unknown member",
        case(under70="ウ", members=A, claims=[("Z", "D", "outpatient", 1_000, 300)]),
        "claims[0].member",
    ),
    (
        "unknown setting",
        case(under70="ウ", members=A, claims=[("A", "D", "pharmacy", 1_000, 300)]),
        "claims[0].setting",
    ),
    ("bad month", case("2026-13", under70="ウ", members=A, claims=[]), "month"),
    ("bad prior month", case(under70="ウ", prior=["2026/01"], members=A, claims=[]), "prior_hit_months[0]"),
    (
        "negative amount",
        case(under70="ウ", members=A, claims=[("A", "D", "outpatient", -1, 0)]),
        "claims[0].total_cost",
    ),
    (
        "bad specified_disease",
        case(under70="ウ", members=A, claims=[("A", "D", "outpatient", 1_000, 300, 3)]),
        "claims[0].specified_disease",
    ),
    ("born after the month", case(under70="ウ", members=[("A", "2026-08-01")], claims=[]), "members[0].birth_date"),
]


@pytest.mark.parametrize(("name", "data", "field"), ERRORS, ids=[e[0] for e in ERRORS])
def test_invalid_input_names_the_field(name: str, data: dict[str, Any], field: str) -> None:
    with pytest.raises(CaseError) as info:
        calc(data)
    assert info.value.field == field and str(info.value).startswith(field + ":")


def test_malformed_json_is_an_error_not_a_result() -> None:
    with pytest.raises(CaseError) as info:
        calculate_json("{not json")
    assert info.value.field == "(json)"


def test_the_trace_lets_a_clerk_follow_the_sum() -> None:
    trace = calc(EXAMPLES[0][1])["trace"]
    assert any("80,100 + (1,000,000 − 267,000) × 1% = 87,430" in line for line in trace)
