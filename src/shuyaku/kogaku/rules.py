"""One household-month of 高額療養費, by the rules of ``shared/reference/kogaku.md`` (pure).

No database, no clock: the month, the members' birth dates, the claims, the income
classes and the prior hit months come in; the payment, its steps, the hit kind, the
多数回 decision and a trace that a clerk can follow by hand come out.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from fractions import Fraction

from shuyaku.errors import InvalidRequest
from shuyaku.kogaku.tables import CapTable, HouseholdCap
from shuyaku.month import Month

UNDER70, OVER70 = "under70", "over70"
SETTINGS = ("inpatient", "outpatient", "dental")
FIRST_COUNTED_MONTH = "2018-04"  # K9: the prefecture became the insurer
WINDOW = 11  # m−11 … m−1
TASUUKAI_FROM = 3  # prior hits that make month m the 4th


class CaseError(InvalidRequest, ValueError):
    """The case breaks a rule of the input; ``field`` names where (JSON path)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class Member:
    id: str
    birth_date: date


@dataclass(frozen=True)
class Claim:
    member: str
    institution: str
    setting: str  # inpatient | outpatient | dental
    total_cost: int  # 医療費 (10割)
    copay: int  # 一部負担金 as charged (already capped for 特定疾病)
    specified_disease: int = 0


@dataclass(frozen=True)
class HouseholdMonth:
    month: str  # YYYY-MM
    under70_class: str | None
    over70_class: str | None
    prior_hit_months: tuple[str, ...]
    in_prefecture_move: bool
    members: tuple[Member, ...]
    claims: tuple[Claim, ...]


@dataclass
class Result:
    month: str
    cap_table: str
    prior_hits_in_window: list[str]
    tasuukai: bool
    hit: str  # household | outpatient_only | none
    steps: dict[str, int]
    members: list[dict[str, object]]
    trace: list[str] = field(default_factory=list)

    @property
    def payment(self) -> int:
        return sum(self.steps.values())


# --- ages and the window -------------------------------------------------------------


def first_of(month: str) -> date:
    return Month.parse(month).first_day


def add_months(month: str, delta: int) -> str:
    return (Month.parse(month) + delta).dashed


def _birthday(birth: date, years: int) -> date:
    try:
        return birth.replace(year=birth.year + years)
    except ValueError:  # 29 February in a common year
        return date(birth.year + years, 3, 1)


def age_band(birth: date, month: str) -> tuple[str, bool]:
    """(band, 75th-birthday month) for treatment month ``month``.

    70–74 from the 1st of the month after the member reaches 70 (the day before the 70th
    birthday; born on the 1st: from the birthday month). 後期高齢者医療 from the 75th
    birthday: that month is a half month here unless the birthday is the 1st.
    """
    first = first_of(month)
    turns_75 = _birthday(birth, 75)
    if turns_75 <= first:
        raise ValueError("75")
    reaches_70 = _birthday(birth, 70) - timedelta(days=1)
    from_70 = first_of(add_months(f"{reaches_70.year:04d}-{reaches_70.month:02d}", 1))
    if first < from_70:
        return UNDER70, False
    return OVER70, turns_75 < first_of(add_months(month, 1))


def hits_in_window(month: str, prior: tuple[str, ...]) -> list[str]:
    """Distinct household hit months in m−11 … m−1, never before 2018-04."""
    earliest = max(add_months(month, -WINDOW), FIRST_COUNTED_MONTH)
    return sorted({m for m in prior if earliest <= m < month})


# --- amounts ---------------------------------------------------------------------------


def one_percent(amount: int) -> int:
    """1% to the yen, 50 sen and over rounded up."""
    return (amount + 50) // 100


def _yen(value: Fraction) -> int:
    if value.denominator != 1:
        raise ArithmeticError(f"a halved amount is not whole yen: {value}")
    return int(value)


def household_cap(cap: HouseholdCap, medical: int, tasuukai: bool, factor: Fraction) -> tuple[int, str]:
    """The cap and how it was made (for the trace)."""
    if tasuukai and cap.tasuukai is not None:
        amount = _yen(cap.tasuukai * factor)
        return amount, f"多数回 {amount:,}"
    base = _yen(cap.base * factor)
    if cap.threshold is None:
        return base, f"{base:,}"
    threshold = _yen(cap.threshold * factor)
    extra = one_percent(medical - threshold) if medical > threshold else 0
    return base + extra, f"{base:,} + ({medical:,} − {threshold:,}) × 1% = {base + extra:,}"


# --- the calculation -------------------------------------------------------------------


def calculate(case: HouseholdMonth, table: CapTable) -> Result:
    trace: list[str] = [f"診療年月 {case.month}、限度額表 {table.id}"]
    bands: dict[str, tuple[str, bool]] = {}
    for index, member in enumerate(case.members):
        try:
            bands[member.id] = age_band(member.birth_date, case.month)
        except ValueError:
            raise CaseError(
                f"members[{index}].birth_date", f"{member.id} は {case.month} の全期間 75歳(後期高齢者医療)です"
            ) from None
    if any(b == UNDER70 for b, _ in bands.values()) and case.under70_class is None:
        raise CaseError("income_class.under70", f"{case.month} に70歳未満の被保険者がいるため必須です")
    if any(b == OVER70 for b, _ in bands.values()) and case.over70_class is None:
        raise CaseError("income_class.over70", f"{case.month} に70〜74歳の被保険者がいるため必須です")
    for index, claim in enumerate(case.claims):
        limit = table.specified_disease_caps.get(str(claim.specified_disease))
        if limit is not None and claim.copay > limit:
            raise CaseError(
                f"claims[{index}].copay",
                f"特定疾病区分 {claim.specified_disease} の一部負担金は {limit:,} 円以下です({claim.copay:,})",
            )

    window = hits_in_window(case.month, case.prior_hit_months)
    tasuukai = len(window) >= TASUUKAI_FROM
    trace.append(
        f"直近12か月の該当 {len(window)} 回({', '.join(window) or 'なし'})" + (": 多数回該当" if tasuukai else "")
    )
    factor = Fraction(1, 2) if case.in_prefecture_move else Fraction(1)
    if case.in_prefecture_move:
        trace.append("県内転居月: 限度額・1%の基準額・多数回額・21,000円基準を2分の1")

    by_member: dict[str, list[Claim]] = defaultdict(list)
    for claim in case.claims:
        by_member[claim.member].append(claim)
    steps = {"outpatient_special": 0, "over70_household": 0, "household": 0}

    # Steps 1 (and the 75th-birthday member's own half caps): each 70–74 member.
    over70_remaining = 0
    over70_medical = 0
    older = [m for m in case.members if bands[m.id][0] == OVER70]
    cap70 = table.over70[case.over70_class] if case.over70_class else None
    for member in older:
        assert cap70 is not None
        birthday_month = bands[member.id][1]
        own = factor / 2 if birthday_month else factor
        claims = by_member.get(member.id, [])
        outpatient = sum(c.copay for c in claims if c.setting != "inpatient")
        inpatient = sum(c.copay for c in claims if c.setting == "inpatient")
        medical = sum(c.total_cost for c in claims)
        paid = 0
        if cap70.outpatient is not None and outpatient:
            limit = _yen(cap70.outpatient * own)
            paid = max(0, outpatient - limit)
            trace.append(f"{member.id} 外来 {outpatient:,}、外来特例の限度 {limit:,} → 支給 {paid:,}")
        steps["outpatient_special"] += paid
        remaining = outpatient - paid + inpatient
        if birthday_month:
            limit, how = household_cap(cap70.household, medical, tasuukai, own)
            own_paid = max(0, remaining - limit)
            trace.append(f"{member.id} 75歳到達月: 本人の限度 {how} に対し {remaining:,} → 支給 {own_paid:,}")
            steps["over70_household"] += own_paid
            remaining -= own_paid
        over70_remaining += remaining
        over70_medical += medical

    # Step 2: the 70–74 members together.
    if older and cap70 is not None:
        limit, how = household_cap(cap70.household, over70_medical, tasuukai, factor)
        paid2 = max(0, over70_remaining - limit)
        trace.append(f"70〜74歳の世帯合算 {over70_remaining:,}、限度 {how} → 支給 {paid2:,}")
        steps["over70_household"] += paid2
        over70_remaining -= paid2

    # Step 3: the whole household, when an under-70 unit reaches the threshold.
    threshold = _yen(table.unit_threshold * factor)
    units: dict[tuple[str, str, str], list[Claim]] = defaultdict(list)
    for claim in case.claims:
        if bands[claim.member][0] == UNDER70:
            units[(claim.member, claim.institution, claim.setting)].append(claim)
    counted_copay = counted_medical = 0
    for (who, institution, setting), claims in sorted(units.items()):
        copay = sum(c.copay for c in claims)
        if copay >= threshold:
            counted_copay += copay
            counted_medical += sum(c.total_cost for c in claims)
            trace.append(f"{who} {setting} {institution}: {copay:,} ≥ {threshold:,}、合算")
        else:
            trace.append(f"{who} {setting} {institution}: {copay:,} < {threshold:,}、合算しない")
    if counted_copay and case.under70_class is not None:
        total = over70_remaining + counted_copay
        medical = over70_medical + counted_medical
        limit, how = household_cap(table.under70[case.under70_class], medical, tasuukai, factor)
        paid3 = max(0, total - limit)
        trace.append(f"世帯合算({case.under70_class}) {total:,}、限度 {how} → 支給 {paid3:,}")
        steps["household"] = paid3

    household_paid = steps["over70_household"] + steps["household"]
    hit = "household" if household_paid else ("outpatient_only" if steps["outpatient_special"] else "none")
    trace.append(f"支給額 {sum(steps.values()):,}(該当: {hit})")
    members = [
        {"id": m.id, "band": bands[m.id][0], "copay": sum(c.copay for c in by_member.get(m.id, []))}
        | ({"turns_75_this_month": True} if bands[m.id][1] else {})
        for m in case.members
    ]
    return Result(case.month, table.id, window, tasuukai, hit, steps, members, trace)
