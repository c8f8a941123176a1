"""Synthetic claims (RECE) and income classes (SKBN) for the synthetic prefecture.

Most person-months have a few small outpatient units; a long tail has inpatient stays;
about one household in 200 is a repeat high-cost household (an inpatient stay every
month); about one person in 300 is a 特定疾病 patient (dialysis: capped copays every
month). Copays are 30% under 70 and 20% at 70–74.
"""

from __future__ import annotations

import random
from datetime import date
from pathlib import Path

from shuyaku.synth.prefecture import Household, Person, SyntheticPrefecture, write_file

UNDER70 = (("01", 5), ("02", 10), ("03", 40), ("04", 30), ("05", 15))  # ア イ ウ エ オ
OVER70 = (("11", 2), ("12", 3), ("13", 5), ("14", 70), ("15", 15), ("16", 5))
OUTPATIENT_UNITS = ((0, 20), (1, 22), (2, 22), (3, 15), (4, 11), (6, 10))  # about 2.1 claim units a person-month


def _age(p: Person, on: date) -> int:
    return on.year - p.birth_date.year - ((on.month, on.day) < (p.birth_date.month, p.birth_date.day))


def _repeat_high_cost(h: Household) -> bool:
    return int(h.setai_no) % 200 == 7


def _specified_disease(p: Person) -> bool:
    return int(p.atena_no) % 300 == 11


def claim_rows(world: SyntheticPrefecture, month: str, seed: int) -> dict[str, list[list[str]]]:
    """RECE data records of treatment month ``YYYYMM``, by municipality code."""
    rng = random.Random(f"claims-{seed}-{month}")
    first = date(int(month[:4]), int(month[4:]), 1)
    out: dict[str, list[list[str]]] = {}
    for h in world.households:
        if h.applied_to is not None:
            continue
        heavy = _repeat_high_cost(h)
        for p in h.members:
            if not p.active or _age(p, first) >= 75:
                continue
            rate = 0.2 if _age(p, first) >= 70 else 0.3
            clinics = [f"11{p.municipality.code[2:5]}{rng.randint(0, 49):05d}" for _ in range(3)]
            units: list[tuple[str, str, int, int, str]] = []
            for _ in range(rng.choices([n for n, _ in OUTPATIENT_UNITS], [w for _, w in OUTPATIENT_UNITS])[0]):
                total = int(rng.lognormvariate(9.3, 0.9))  # around 11,000 yen, a long tail
                units.append((rng.choice(clinics), rng.choice("2222223"), total, round(total * rate), "0"))
            if heavy or rng.random() < 0.012:
                total = int(rng.lognormvariate(13.2, 0.7))  # around 540,000 yen
                units.append(
                    (f"11{p.municipality.code[2:5]}9{rng.randint(0, 99):04d}", "1", total, round(total * rate), "0")
                )
            if _specified_disease(p):
                units.append((f"11{p.municipality.code[2:5]}8{rng.randint(0, 9):04d}", "2", 400_000, 10_000, "1"))
            _emit(out.setdefault(p.municipality.code, []), p, month, units)
    return out


def _emit(rows: list[list[str]], p: Person, month: str, units: list[tuple[str, str, int, int, str]]) -> None:
    """RECE records; 明細番号 numbers the claims of one institution and setting."""
    details: dict[tuple[str, str], int] = {}
    for institution, setting, total, copay, disease in units:
        details[(institution, setting)] = details.get((institution, setting), 0) + 1
        rows.append(
            [
                "2",
                p.municipality.code,
                p.atena_no,
                month,
                institution,
                setting,
                str(details[(institution, setting)]),
                "1",
                str(total),
                str(min(copay, total)),
                disease,
            ]
        )


def income_class_rows(world: SyntheticPrefecture, start_month: str, seed: int) -> dict[str, list[list[str]]]:
    """SKBN data records: one span per current household from ``start_month``."""
    rng = random.Random(f"classes-{seed}")
    out: dict[str, list[list[str]]] = {}
    year = start_month[:4]
    for h in world.households:
        if h.applied_to is not None:
            continue
        under = rng.choices([c for c, _ in UNDER70], [w for _, w in UNDER70])[0]
        over = rng.choices([c for c, _ in OVER70], [w for _, w in OVER70])[0]
        out.setdefault(h.municipality.code, []).append(
            ["2", h.municipality.code, h.setai_no, "1", start_month, "", under, over, year, f"{year}0801090000"]
        )
    return out


def write_claims(world: SyntheticPrefecture, out: Path, month: str, seed: int = 1) -> list[Path]:
    """RECE files for ``month``, one per municipality (data kind 2)."""
    return _write(world, out, "RECE", "2", claim_rows(world, month, seed), op_index=7, amount_index=8)


def write_income_classes(world: SyntheticPrefecture, out: Path, start_month: str, seed: int = 1) -> list[Path]:
    """SKBN files (data kind 1), one per municipality."""
    return _write(world, out, "SKBN", "1", income_class_rows(world, start_month, seed), op_index=3)


def _write(
    world: SyntheticPrefecture,
    out: Path,
    kind: str,
    data_kind: str,
    by_muni: dict[str, list[list[str]]],
    *,
    op_index: int,
    amount_index: int | None = None,
) -> list[Path]:
    written = []
    for muni in world.municipalities:
        muni.seq[kind] += 1
        written.append(
            write_file(
                out,
                muni,
                kind,
                data_kind,
                world.today,
                muni.seq[kind],
                by_muni.get(muni.code, []),
                op_index=op_index,
                amount_index=amount_index,
            )
        )
    return written
