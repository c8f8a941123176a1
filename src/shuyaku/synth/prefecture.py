"""The synthetic prefecture's people, and the SKSE / SKKS files that describe them."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path

from shuyaku import ids
from shuyaku.month import Month
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
    def __init__(
        self,
        *,
        prefecture: str = "11",
        municipalities: int = 3,
        persons: int = 1000,
        seed: int = 1,
        start: date = date(2026, 10, 1),
        cp932_every: int = 0,
    ) -> None:
        self.rng = random.Random(seed)
        self.prefecture = prefecture
        self.today = start
        self.used_numbers: set[str] = set()
        self.former: dict[tuple[str, str], tuple[str, int]] = {}
        # (市町村コード, 世帯番号) → household-level hit months
        self.hits: dict[tuple[str, str], list[str]] = {}
        # households that moved out of the prefecture (some come back)
        self.left: list[Household] = []
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
        return Municipality(
            ids.with_municipality_check_digit(body),
            name,
            ids.with_insurer_check_digit(f"{self.prefecture}{index + 1:03d}"),
            encoding,
        )

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

    def _person(
        self,
        muni: Municipality,
        setai_no: str,
        surname: tuple[str, str],
        *,
        head: bool,
        relation: str,
        birth: date,
        sex: str,
        since: date,
        reason: str,
    ) -> Person:
        given = self.rng.choice(MALE_NAMES if sex == "1" else FEMALE_NAMES)
        since = max(since, birth)
        return Person(
            self._number(),
            muni,
            muni.atena(),
            setai_no,
            head,
            relation,
            surname,
            given,
            birth,
            sex,
            since,
            reason,
            since,
            f"{self.rng.randint(1, 99_999_999):08d}",
            change_date=since,
            change_reason=reason,
        )

    def _new_household(self, muni: Municipality, since: date, reason: str = "02") -> Household:
        size = self.rng.choices([s for s, _ in HOUSEHOLD_SIZES], [w for _, w in HOUSEHOLD_SIZES])[0]
        low, high, _ = self.rng.choices(HEAD_AGES, [w for *_, w in HEAD_AGES])[0]
        surname = self.rng.choice(SURNAMES)
        setai_no = muni.setai()
        head_sex = self.rng.choice("1112")
        head = self._person(
            muni,
            setai_no,
            surname,
            head=True,
            relation="世帯主",
            birth=self._birth(low, high),
            sex=head_sex,
            since=since,
            reason=reason,
        )
        members = [head]
        if size >= 2:
            spouse_birth = head.birth_date + timedelta(days=self.rng.randint(-2000, 2000))
            members.append(
                self._person(
                    muni,
                    setai_no,
                    surname,
                    head=False,
                    relation="妻" if head_sex == "1" else "夫",
                    birth=min(spouse_birth, self.today - timedelta(days=18 * 365)),
                    sex="2" if head_sex == "1" else "1",
                    since=since,
                    reason=reason,
                )
            )
        for _ in range(size - len(members)):
            child_age = self.rng.randint(0, 24)
            sex = self.rng.choice("12")
            members.append(
                self._person(
                    muni,
                    setai_no,
                    surname,
                    head=False,
                    relation="子",
                    birth=self._birth(child_age, child_age),
                    sex=sex,
                    since=since,
                    reason=reason,
                )
            )
        chome, ban, go = self.rng.randint(1, 9), self.rng.randint(1, 30), self.rng.randint(1, 20)
        address = f"{muni.name}{self.rng.choice(PLACE_PARTS)}町{chome}丁目{ban}番{go}号"
        household = Household(
            muni, setai_no, head, members, address, f"{self.rng.randint(3300000, 3699999)}", since, change_date=since
        )
        self.households.append(household)
        return household

    # --- records ---------------------------------------------------------------------

    def person_record(self, p: Person, op: str = "1") -> list[str]:
        return [
            "2",
            p.municipality.code,
            p.atena_no,
            str(p.history_no),
            op,
            _d(p.change_date),
            p.change_reason,
            p.individual_number if p.history_no == 1 else "",
            p.setai_no,
            "1" if p.is_head else "0",
            p.relation,
            "",
            p.card_number,
            "01",
            f"{p.surname[0]}　{p.given[0]}",
            f"{p.surname[1]}　{p.given[1]}",
            _d(p.birth_date),
            p.sex,
            _d(p.qualified_from),
            p.qualified_reason,
            _d(p.qualified_until),
            p.until_reason,
            _d(p.applied_from),
            _d(p.applied_to),
            self._elderly_ratio(p),
            self._stamp(),
        ]

    def household_record(self, h: Household, op: str = "1") -> list[str]:
        return [
            "2",
            h.municipality.code,
            h.setai_no,
            str(h.history_no),
            op,
            _d(h.change_date),
            h.change_reason,
            h.head.atena_no,
            "0",
            h.postal_code,
            h.address,
            _d(h.applied_from),
            _d(h.applied_to),
            self._stamp(),
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
        kinds = (
            self._birth_event,
            self._death_event,
            self._employee_insurance_join,
            self._employee_insurance_leave,
            self._move_out_of_prefecture,
            self._move_into_prefecture,
            self._move_within_prefecture,
            self._name_correction,
            self._head_change,
            self._split,
            self._merge,
        )
        weights = (10, 8, 20, 20, 6, 6, 12, 4, 3, 3, 2)
        for _ in range(events):
            self.rng.choices(kinds, weights)[0]()
        return self._flush(out, data_kind="2")

    def _settled(self, h: Household) -> bool:
        """Active, and not changed today (one change per household and day keeps every
        record's periods valid: nothing ends on the day it began)."""
        return (
            h.applied_to is None
            and h.head.active
            and h.change_date != self.today
            and all(p.change_date != self.today for p in h.members)
        )

    def _active_household(self) -> Household:
        while True:
            h = self.rng.choice(self.households)
            if self._settled(h):
                return h

    def _next_history(self, p: Person, reason: str) -> None:
        p.history_no += 1
        p.change_date = self.today
        p.change_reason = reason

    def _birth_event(self) -> None:
        h = self._active_household()
        child = self._person(
            h.municipality,
            h.setai_no,
            h.head.surname,
            head=False,
            relation="子",
            birth=self.today - timedelta(days=self.rng.randint(0, 10)),
            sex=self.rng.choice("12"),
            since=self.today,
            reason="04",
        )
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
        h = self._active_household()
        for p in [p for p in h.members if p.active]:
            self._lose(p, "01")  # 転出(県外へ)
        self._end_household(h, "27")
        self.left.append(h)

    def _move_into_prefecture(self) -> None:
        """転入(県外から): a new household, or one that left the prefecture coming back (K8)."""
        if not self.left or self.rng.random() < 0.7:
            self._household_arrives("01")
            return
        h = self.left.pop(self.rng.randrange(len(self.left)))
        target = self.rng.choice(self.municipalities)
        setai_no = target.setai()
        back = []
        for p in [p for p in h.members if p.qualified_until is not None and p.until_reason == "01"]:
            person = self._arrive(p, target, setai_no, head=p is h.head)
            person.qualified_from, person.qualified_reason, person.change_reason = self.today, "01", "01"
            back.append(person)
        if back and any(p.is_head for p in back):
            self._settle(target, back, "21")

    def _move_within_prefecture(self) -> None:
        """A household moves to another municipality of the prefecture (県内転居), in one of
        the shapes of continuity.md: all of it (K1), with a new head (K2), the head alone
        (K5), or into a household already there (K7). Half the time a household with hit
        months moves, so that counts carried across municipalities show up in a small run."""
        if len(self.municipalities) < 2:
            return
        h = self._household_with_hits() if self.hits and self.rng.random() < 0.5 else self._active_household()
        target = self.rng.choice([m for m in self.municipalities if m is not h.municipality])
        shape = self.rng.choices(("K1", "K2", "K5", "K7"), (6, 2, 2, 1))[0]
        movers = [p for p in h.members if p.active]
        if shape == "K5" and len(movers) > 1:
            head = h.head
            self._lose(head, "12", municipal_only=True)
            self._new_head(h, next(p for p in movers if not p.is_head), "22")
            moved = [self._arrive(head, target, target.setai(), head=True)]
            self._settle(target, moved, "26")
            return
        for p in movers:
            self._lose(p, "12", municipal_only=True)
        self._end_household(h, "27")
        joined = self._active_household_in(target) if shape == "K7" else None
        setai_no = joined.setai_no if joined else target.setai()
        new_head = movers[1] if shape == "K2" and len(movers) > 1 else h.head
        moved = [self._arrive(p, target, setai_no, head=(p is new_head and joined is None)) for p in movers]
        if shape == "K1" and joined is None and self.rng.random() < 0.15:  # a birth on the day of the move (K3)
            baby = self._person(
                target,
                setai_no,
                h.head.surname,
                head=False,
                relation="子",
                birth=self.today,
                sex=self.rng.choice("12"),
                since=self.today,
                reason="04",
            )
            moved.append(baby)
        if joined is not None:
            joined.members.extend(moved)
            for p in moved:
                p.relation, p.change_reason = "同居人", "11"
                self._emit(target, "SKKS", self.person_record(p))
            return
        self._settle(target, moved, "26")

    def _arrive(self, p: Person, target: Municipality, setai_no: str, *, head: bool) -> Person:
        """The person's record in the municipality they move to (a returning resident keeps
        the 宛名番号 that municipality gave them and continues its history)."""
        self.former[(p.individual_number, p.municipality.code)] = (p.atena_no, p.history_no)
        atena_no, history_no = self.former.get((p.individual_number, target.code), (target.atena(), 0))
        return Person(
            p.individual_number,
            target,
            atena_no,
            setai_no,
            head,
            "世帯主" if head else p.relation,
            p.surname,
            p.given,
            p.birth_date,
            p.sex,
            p.qualified_from,
            p.qualified_reason,
            self.today,
            p.card_number,
            history_no=history_no + 1,
            change_date=self.today,
            change_reason="11",
        )

    def _settle(self, target: Municipality, moved: list[Person], reason: str) -> Household:
        head = next(m for m in moved if m.is_head)
        address = (
            f"{target.name}{self.rng.choice(PLACE_PARTS)}町{self.rng.randint(1, 9)}丁目{self.rng.randint(1, 30)}番"
        )
        household = Household(
            target,
            moved[0].setai_no,
            head,
            moved,
            address,
            f"{self.rng.randint(3300000, 3699999)}",
            self.today,
            change_date=self.today,
            change_reason=reason,
        )
        self.households.append(household)
        self._emit_new_household(household)
        return household

    def _new_head(self, h: Household, head: Person, reason: str) -> None:
        for p in h.members:
            if p.active and (p is head or p.is_head):
                p.is_head = p is head
                p.relation = "世帯主" if p is head else p.relation
                self._next_history(p, reason)
                self._emit(p.municipality, "SKKS", self.person_record(p))
        h.head = head
        h.history_no += 1
        h.change_date, h.change_reason = self.today, reason
        self._emit(h.municipality, "SKSE", self.household_record(h))

    def _active_household_in(self, muni: Municipality) -> Household | None:
        found = [h for h in self.households if h.municipality is muni and self._settled(h)]
        return self.rng.choice(found) if found else None

    def _household_with_hits(self) -> Household:
        keyed = {(h.municipality.code, h.setai_no): h for h in self.households if self._settled(h)}
        found = [keyed[k] for k in self.hits if k in keyed]
        return self.rng.choice(found) if found else self._active_household()

    def _head_change(self) -> None:
        """世帯主変更 inside a household (K2)."""
        h = self._active_household()
        others = [p for p in h.members if p.active and not p.is_head]
        if others:
            self._new_head(h, others[0], "22")

    def _split(self) -> None:
        """世帯分離 in the same municipality: a member forms a household of their own (K5)."""
        h = self._active_household()
        others = [p for p in h.members if p.active and not p.is_head]
        if not others:
            return
        p = others[-1]
        h.members.remove(p)
        self._next_history(p, "23")
        p.setai_no, p.is_head, p.relation = h.municipality.setai(), True, "世帯主"
        self._settle(h.municipality, [p], "23")

    def _merge(self) -> None:
        """世帯合併 in the same municipality: a one-person household joins another (K6)."""
        h = self._active_household()
        alone = [p for p in h.members if p.active]
        other = self._active_household_in(h.municipality)
        if len(alone) != 1 or other is None or other is h:
            return
        p = alone[0]
        self._next_history(p, "24")
        p.setai_no, p.is_head, p.relation = other.setai_no, False, "同居人"
        other.members.append(p)
        self._emit(p.municipality, "SKKS", self.person_record(p))
        self._end_household(h, "24")

    # --- 高額該当 (KGGT) ----------------------------------------------------------------

    def write_hits(self, out: Path, month: str) -> list[Path]:
        """One KGGT per municipality for treatment month ``YYYYMM``: about 1% of households
        hit a month, a long tail of repeat hitters (1 in 100 households hits 7 months in 10).
        The municipality's own 多数回 flag counts only its own reports, as a municipal system
        that does not know the household's months elsewhere would."""
        rows: dict[str, list[list[str]]] = {m.code: [] for m in self.municipalities}
        first = (Month.parse(month) - 11).compact
        for h in self.households:
            if h.applied_to is not None or not h.head.active:
                continue
            chronic = int(h.setai_no) % 100 == 3
            if self.rng.random() >= (0.7 if chronic else 0.006):
                continue
            key = (h.municipality.code, h.setai_no)
            earlier = [m for m in self.hits.get(key, []) if first <= m < month]
            kind = "2" if not chronic and self.rng.random() < 0.1 else "1"
            payment = self.rng.randint(5_000, 250_000)
            rows[h.municipality.code].append(
                [
                    "2",
                    h.municipality.code,
                    h.setai_no,
                    month,
                    "1",
                    kind,
                    "03",
                    "1" if len(earlier) >= 3 else "0",
                    "0",
                    str(payment),
                    self._stamp(),
                ]
            )
            if kind == "1":
                self.hits.setdefault(key, []).append(month)
        written = []
        for muni in self.municipalities:
            muni.seq["KGGT"] = muni.seq.get("KGGT", 0) + 1
            written.append(
                write_file(out, muni, "KGGT", "2", self.today, muni.seq["KGGT"], rows[muni.code], amount_index=9)
            )
        return written

    def _name_correction(self) -> None:
        h = self._active_household()
        p = self.rng.choice([p for p in h.members if p.active])
        p.given = self.rng.choice(MALE_NAMES if p.sex == "1" else FEMALE_NAMES)
        self._emit(p.municipality, "SKKS", self.person_record(p, op="2"))


def write_file(
    out: Path,
    muni: Municipality,
    kind: str,
    data_kind: str,
    as_of: date,
    seq: int,
    rows: list[list[str]],
    *,
    op_index: int = 4,
    amount_index: int | None = None,
) -> Path:
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
