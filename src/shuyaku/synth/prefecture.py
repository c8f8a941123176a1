"""The synthetic prefecture's people, and the SKSE / SKKS files that describe them."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path

from shuyaku import ids
from shuyaku.synth.names import FEMALE_NAMES, MALE_NAMES, MUNICIPALITY_SUFFIX, PLACE_PARTS, SURNAMES

HOUSEHOLD_SIZES = ((1, 0.55), (2, 0.28), (3, 0.09), (4, 0.05), (5, 0.03))
HEAD_AGES = ((20, 39, 0.2), (40, 64, 0.3), (65, 74, 0.5))
QUALIFY_FROM_MIN = date(2018, 4, 1)


@lru_cache(maxsize=100_000)
def _d(value: date | None) -> str:
    return value.strftime("%Y%m%d") if value else ""


@dataclass
class Municipality:
    code: str
    name: str
    insurer_number: str
    encoding: str = "utf-8"
    next_atena: int = 1
    next_setai: int = 1
    seq: dict[str, int] = field(default_factory=lambda: {"SKSE": 0, "SKKS": 0, "RECE": 0, "SKBN": 0})

    def atena(self) -> str:
        self.next_atena += 1
        return f"1{self.code[2:5]}{self.next_atena:06d}"  # 10 digits

    def setai(self) -> str:
        self.next_setai += 1
        return f"2{self.code[2:5]}{self.next_setai:06d}"  # 10 digits


@dataclass(slots=True)
class Person:
    individual_number: str
    municipality: Municipality
    atena_no: str
    setai_no: str
    is_head: bool
    relation: str
    surname: tuple[str, str]
    given: tuple[str, str]
    birth_date: date
    sex: str
    qualified_from: date
    qualified_reason: str
    applied_from: date
    card_number: str
    history_no: int = 1
    qualified_until: date | None = None
    until_reason: str = ""
    applied_to: date | None = None
    change_date: date | None = None
    change_reason: str = ""

    @property
    def active(self) -> bool:
        return self.qualified_until is None and self.applied_to is None


@dataclass(slots=True)
class Household:
    municipality: Municipality
    setai_no: str
    head: Person
    members: list[Person]
    address: str
    postal_code: str
    applied_from: date
    history_no: int = 1
    applied_to: date | None = None
    change_date: date | None = None
    change_reason: str = "21"


class SyntheticPrefecture:
    def __init__(self, *, prefecture: str = "11", municipalities: int = 3, persons: int = 1000, seed: int = 1,
                 start: date = date(2026, 10, 1), cp932_every: int = 0) -> None:
        self.rng = random.Random(seed)
        self.prefecture = prefecture
        self.today = start
        self.used_numbers: set[str] = set()
        self.former: dict[tuple[str, str], tuple[str, int]] = {}
        self.municipalities = [self._municipality(i, cp932_every) for i in range(municipalities)]
        self.households: list[Household] = []
        self.records: dict[str, dict[str, list[list[str]]]] = {}
        weights = self._municipality_weights()
        target = persons
        while target > 0:
            muni = self.rng.choices(self.municipalities, weights)[0]
            household = self._new_household(muni, self.today - timedelta(days=self.rng.randint(30, 3000)))
            target -= len(household.members)

    # --- population ------------------------------------------------------------------

    def _municipality(self, index: int, cp932_every: int) -> Municipality:
        body = f"{self.prefecture}{(index * 7 + 101) % 1000:03d}"
        name = self.rng.choice(PLACE_PARTS) + self.rng.choice(PLACE_PARTS) + self.rng.choice(MUNICIPALITY_SUFFIX)
        encoding = "cp932" if cp932_every and index % cp932_every == cp932_every - 1 else "utf-8"
        return Municipality(ids.with_municipality_check_digit(body), name,
                            ids.with_insurer_check_digit(f"{self.prefecture}{index + 1:03d}"), encoding)

    def _municipality_weights(self) -> list[float]:
        # A few large cities and a long tail of towns, as in a real prefecture.
        return [1.0 / (1 + i) ** 0.9 for i in range(len(self.municipalities))]

    def _number(self) -> str:
        while True:
            number = ids.new_individual_number_from(self.rng)
            if number not in self.used_numbers:
                self.used_numbers.add(number)
                return number

    def _birth(self, low: int, high: int) -> date:
        age_days = self.rng.randint(low * 365 + 1, high * 365 + 300)
        return self.today - timedelta(days=age_days)

    def _person(self, muni: Municipality, setai_no: str, surname: tuple[str, str], *, head: bool, relation: str,
                birth: date, sex: str, since: date, reason: str) -> Person:
        given = self.rng.choice(MALE_NAMES if sex == "1" else FEMALE_NAMES)
        since = max(since, birth)
        return Person(self._number(), muni, muni.atena(), setai_no, head, relation, surname, given, birth, sex,
                      since, reason, since, f"{self.rng.randint(1, 99_999_999):08d}", change_date=since, change_reason=reason)

    def _new_household(self, muni: Municipality, since: date, reason: str = "02") -> Household:
        size = self.rng.choices([s for s, _ in HOUSEHOLD_SIZES], [w for _, w in HOUSEHOLD_SIZES])[0]
        low, high, _ = self.rng.choices(HEAD_AGES, [w for *_, w in HEAD_AGES])[0]
        surname = self.rng.choice(SURNAMES)
        setai_no = muni.setai()
        head_sex = self.rng.choice("1112")
        head = self._person(muni, setai_no, surname, head=True, relation="世帯主", birth=self._birth(low, high),
                            sex=head_sex, since=since, reason=reason)
        members = [head]
        if size >= 2:
            spouse_birth = head.birth_date + timedelta(days=self.rng.randint(-2000, 2000))
            members.append(self._person(muni, setai_no, surname, head=False, relation="妻" if head_sex == "1" else "夫",
                                        birth=min(spouse_birth, self.today - timedelta(days=18 * 365)),
                                        sex="2" if head_sex == "1" else "1", since=since, reason=reason))
        for _ in range(size - len(members)):
            child_age = self.rng.randint(0, 24)
            sex = self.rng.choice("12")
            members.append(self._person(muni, setai_no, surname, head=False, relation="子", birth=self._birth(child_age, child_age),
                                        sex=sex, since=since, reason=reason))
        chome, ban, go = self.rng.randint(1, 9), self.rng.randint(1, 30), self.rng.randint(1, 20)
        address = f"{muni.name}{self.rng.choice(PLACE_PARTS)}町{chome}丁目{ban}番{go}号"
        household = Household(muni, setai_no, head, members, address, f"{self.rng.randint(3300000, 3699999)}", since, change_date=since)
        self.households.append(household)
        return household

    # --- records ---------------------------------------------------------------------

    def person_record(self, p: Person, op: str = "1") -> list[str]:
        return [
            "2", p.municipality.code, p.atena_no, str(p.history_no), op, _d(p.change_date), p.change_reason,
            p.individual_number if p.history_no == 1 else "", p.setai_no, "1" if p.is_head else "0", p.relation,
            "", p.card_number, "01", f"{p.surname[0]}　{p.given[0]}", f"{p.surname[1]}　{p.given[1]}",
            _d(p.birth_date), p.sex, _d(p.qualified_from), p.qualified_reason, _d(p.qualified_until), p.until_reason,
            _d(p.applied_from), _d(p.applied_to), self._elderly_ratio(p), self._stamp(),
        ]

    def household_record(self, h: Household, op: str = "1") -> list[str]:
        return [
            "2", h.municipality.code, h.setai_no, str(h.history_no), op, _d(h.change_date), h.change_reason,
            h.head.atena_no, "0", h.postal_code, h.address, _d(h.applied_from), _d(h.applied_to), self._stamp(),
        ]

    def _elderly_ratio(self, p: Person) -> str:
        return "20" if 70 * 365 <= (self.today - p.birth_date).days < 75 * 365 else ""

    def _stamp(self) -> str:
        return _d(self.today) + "090000"

    def _emit(self, muni: Municipality, kind: str, row: list[str]) -> None:
        self.records.setdefault(muni.code, {"SKSE": [], "SKKS": []})[kind].append(row)

    # --- files -----------------------------------------------------------------------

    def write_full(self, out: Path) -> list[Path]:
        """初期セットアップ: every current household and person, one SKSE and one SKKS per municipality."""
        self.records = {}
        for h in self.households:
            if h.applied_to is None:
                self._emit(h.municipality, "SKSE", self.household_record(h))
                for p in h.members:
                    if p.active:
                        self._emit(p.municipality, "SKKS", self.person_record(p))
        return self._flush(out, data_kind="1")

    def _flush(self, out: Path, data_kind: str) -> list[Path]:
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for muni in self.municipalities:
            for kind in ("SKSE", "SKKS"):
                rows = self.records.get(muni.code, {}).get(kind, [])
                muni.seq[kind] += 1
                written.append(write_file(out, muni, kind, data_kind, self.today, muni.seq[kind], rows))
        self.records = {}
        return written

    # --- daily changes ---------------------------------------------------------------

    def write_day(self, out: Path, events: int) -> list[Path]:
        """One business day later: births, deaths, 社保 joins and leaves, moves; one delta per kind."""
        self.today += timedelta(days=1)
        kinds = (self._birth_event, self._death_event, self._employee_insurance_join, self._employee_insurance_leave,
                 self._move_out_of_prefecture, self._move_into_prefecture, self._move_within_prefecture, self._name_correction)
        weights = (10, 8, 20, 20, 6, 6, 12, 4)
        for _ in range(events):
            self.rng.choices(kinds, weights)[0]()
        return self._flush(out, data_kind="2")

    def _active_household(self) -> Household:
        while True:
            h = self.rng.choice(self.households)
            if h.applied_to is None and h.head.active:
                return h

    def _next_history(self, p: Person, reason: str) -> None:
        p.history_no += 1
        p.change_date = self.today
        p.change_reason = reason

    def _birth_event(self) -> None:
        h = self._active_household()
        child = self._person(h.municipality, h.setai_no, h.head.surname, head=False, relation="子", birth=self.today - timedelta(days=self.rng.randint(0, 10)),
                             sex=self.rng.choice("12"), since=self.today, reason="04")
        child.qualified_from = child.applied_from = child.change_date = child.birth_date
        h.members.append(child)
        self._emit(h.municipality, "SKKS", self.person_record(child))

    def _lose(self, p: Person, reason: str, municipal_only: bool = False) -> None:
        self._next_history(p, reason)
        if municipal_only:
            p.applied_to = self.today - timedelta(days=1)
        else:
            p.qualified_until, p.until_reason = self.today, reason
            p.applied_to = self.today - timedelta(days=1)
        self._emit(p.municipality, "SKKS", self.person_record(p))

    def _end_household(self, h: Household, reason: str) -> None:
        h.history_no += 1
        h.change_date, h.change_reason = self.today, reason
        h.applied_to = self.today - timedelta(days=1)
        self._emit(h.municipality, "SKSE", self.household_record(h))

    def _death_event(self) -> None:
        h = self._active_household()
        members = [p for p in h.members if p.active]
        if len(members) == 1:
            self._lose(members[0], "04")
            self._end_household(h, "28")
        else:
            self._lose(self.rng.choice([p for p in members if not p.is_head]), "04")

    def _household_leaves(self, loss_reason: str, household_reason: str) -> None:
        h = self._active_household()
        for p in [p for p in h.members if p.active]:
            self._lose(p, loss_reason)
        self._end_household(h, household_reason)

    def _household_arrives(self, reason: str) -> None:
        muni = self.rng.choices(self.municipalities, self._municipality_weights())[0]
        self._emit_new_household(self._new_household(muni, self.today, reason=reason))

    def _employee_insurance_join(self) -> None:
        self._household_leaves("02", "28")  # 社保加入, 世帯消滅

    def _employee_insurance_leave(self) -> None:
        self._household_arrives("02")  # 社保離脱

    def _emit_new_household(self, h: Household) -> None:
        self._emit(h.municipality, "SKSE", self.household_record(h))
        for p in h.members:
            self._emit(p.municipality, "SKKS", self.person_record(p))

    def _move_out_of_prefecture(self) -> None:
        self._household_leaves("01", "27")  # 転出(県外へ)

    def _move_into_prefecture(self) -> None:
        self._household_arrives("01")  # 転入(県外から)

    def _move_within_prefecture(self) -> None:
        """A whole household moves to another municipality of the prefecture (県内転居)."""
        if len(self.municipalities) < 2:
            return
        h = self._active_household()
        target = self.rng.choice([m for m in self.municipalities if m is not h.municipality])
        movers = [p for p in h.members if p.active]
        for p in movers:
            self._lose(p, "12", municipal_only=True)
        self._end_household(h, "27")
        setai_no = target.setai()
        moved = []
        for p in movers:
            # A municipality keeps a returning resident's 宛名番号 and continues the history.
            self.former[(p.individual_number, p.municipality.code)] = (p.atena_no, p.history_no)
            atena_no, history_no = self.former.get((p.individual_number, target.code), (target.atena(), 0))
            person = Person(p.individual_number, target, atena_no, setai_no, p.is_head, p.relation, p.surname, p.given,
                            p.birth_date, p.sex, p.qualified_from, p.qualified_reason, self.today, p.card_number,
                            history_no=history_no + 1, change_date=self.today, change_reason="11")
            moved.append(person)
        head = next((m for m in moved if m.is_head), moved[0])
        head.is_head = True
        address = f"{target.name}{self.rng.choice(PLACE_PARTS)}町{self.rng.randint(1, 9)}丁目{self.rng.randint(1, 30)}番"
        household = Household(target, setai_no, head, moved, address, f"{self.rng.randint(3300000, 3699999)}",
                              self.today, change_date=self.today, change_reason="26")
        self.households.append(household)
        self._emit_new_household(household)

    def _name_correction(self) -> None:
        h = self._active_household()
        p = self.rng.choice([p for p in h.members if p.active])
        p.given = self.rng.choice(MALE_NAMES if p.sex == "1" else FEMALE_NAMES)
        self._emit(p.municipality, "SKKS", self.person_record(p, op="2"))


def write_file(out: Path, muni: Municipality, kind: str, data_kind: str, as_of: date, seq: int, rows: list[list[str]],
               *, op_index: int = 4, amount_index: int | None = None) -> Path:
    """Header, data and trailer, CRLF, in the municipality's encoding."""
    out.mkdir(parents=True, exist_ok=True)
    created = datetime.combine(as_of, datetime.min.time()).strftime("%Y%m%d") + "180000"
    header = ["1", kind, muni.code, muni.insurer_number, data_kind, as_of.strftime("%Y%m%d"), created, str(seq), "1.0"]
    ops = [r[op_index] for r in rows]
    amount = str(sum(int(r[amount_index]) for r in rows)) if amount_index is not None else ""
    trailer = ["3", str(len(rows)), str(ops.count("1")), str(ops.count("2")), str(ops.count("3")), amount]
    lines = [",".join(header)] + [",".join(_csv_field(v) for v in r) for r in rows] + [",".join(trailer)]
    path = out / f"{muni.code}_{kind}_{'F' if data_kind == '1' else 'D'}_{as_of.strftime('%Y%m%d')}_{seq:02d}.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(muni.encoding))
    return path


def _csv_field(value: str) -> str:
    if any(c in value for c in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value
