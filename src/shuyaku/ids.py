"""Check digits and ID formats (pure).

The rules are in ``shared/reference/identifiers.md``: 個人番号 (individual number),
保険者番号 (insurer number), 全国地方公共団体コード (municipality code) and this project's
13-digit 県被保険者ID / 県世帯ID.
"""

from __future__ import annotations

import os
import random
import re
import secrets
import struct
import unicodedata
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager

PERSON_KIND = "1"
HOUSEHOLD_KIND = "2"

_DIGITS = re.compile(r"[0-9]+")


def _is_digits(value: str, length: int | tuple[int, ...]) -> bool:
    lengths = (length,) if isinstance(length, int) else length
    return len(value) in lengths and _DIGITS.fullmatch(value) is not None


# --- 個人番号 -------------------------------------------------------------------

_INDIVIDUAL_WEIGHTS = (6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2)  # left to right over the 11 body digits


def individual_number_check_digit(body: str) -> int:
    """Check digit of an 11-digit individual-number body."""
    if not _is_digits(body, 11):
        raise ValueError("individual-number body must be 11 digits")
    remainder = sum(int(d) * w for d, w in zip(body, _INDIVIDUAL_WEIGHTS, strict=True)) % 11
    return 0 if remainder <= 1 else 11 - remainder


def is_valid_individual_number(value: str) -> bool:
    return _is_digits(value, 12) and individual_number_check_digit(value[:11]) == int(value[11])


def new_individual_number_from(rng: random.Random) -> str:
    """A synthetic individual number from a seeded generator (reproducible synthetic data)."""
    body = f"{rng.randrange(10**11):011d}"
    return body + str(individual_number_check_digit(body))


# --- 保険者番号 and the prefecture IDs (Luhn-like 2-1 rule) --------------------------


def insurer_check_digit(body: str) -> int:
    """Check digit by the 保険者番号 rule: from the right, weights 2, 1, 2, 1 …; digit sums."""
    if not body or _DIGITS.fullmatch(body) is None:
        raise ValueError("insurer-number body must be digits")
    total = 0
    for position, digit in enumerate(reversed(body)):
        product = int(digit) * (2 if position % 2 == 0 else 1)
        total += product // 10 + product % 10
    return (10 - total % 10) % 10


def is_valid_insurer_number(value: str) -> bool:
    return _is_digits(value, (6, 8)) and insurer_check_digit(value[:-1]) == int(value[-1])


def with_insurer_check_digit(body: str) -> str:
    return body + str(insurer_check_digit(body))


# --- 全国地方公共団体コード --------------------------------------------------------------

_MUNICIPALITY_WEIGHTS = (6, 5, 4, 3, 2)


def municipality_check_digit(body: str) -> int:
    if not _is_digits(body, 5):
        raise ValueError("municipality-code body must be 5 digits")
    remainder = sum(int(d) * w for d, w in zip(body, _MUNICIPALITY_WEIGHTS, strict=True)) % 11
    return (11 - remainder) % 10


def is_valid_municipality_code(value: str) -> bool:
    return _is_digits(value, 6) and municipality_check_digit(value[:5]) == int(value[5])


def with_municipality_check_digit(body: str) -> str:
    return body + str(municipality_check_digit(body))


# --- 県被保険者ID / 県世帯ID ---------------------------------------------------------


def new_pref_id(prefecture: str, kind: str) -> str:
    """A random 13-digit prefecture ID: 都道府県 (2) + kind (1) + 9 random + check."""
    if not _is_digits(prefecture, 2) or kind not in (PERSON_KIND, HOUSEHOLD_KIND):
        raise ValueError("prefecture must be 2 digits and kind '1' or '2'")
    return with_insurer_check_digit(f"{prefecture}{kind}{secrets.randbelow(10**9):09d}")


# Parallel ingest workers draw from disjoint residues of the random part, so that two
# transactions in flight never number two people alike (see ``exchange.parallel``).
_PARTITION = (0, 1)


def set_id_partition(slot: int, slots: int) -> None:
    global _PARTITION
    if not 0 <= slot < slots:
        raise ValueError("slot must be in 0 … slots-1")
    _PARTITION = (slot, slots)


@contextmanager
def id_partition(slot: int, slots: int) -> Iterator[None]:
    """``set_id_partition`` for a block; the earlier partition afterwards."""
    earlier = _PARTITION
    set_id_partition(slot, slots)
    try:
        yield
    finally:
        set_id_partition(*earlier)


def new_pref_id_batch(prefecture: str, kind: str, count: int, taken: Iterable[str] = ()) -> list[str]:
    """``count`` distinct new prefecture IDs, none in ``taken``."""
    slot, slots = _PARTITION

    if not _is_digits(prefecture, 2) or kind not in (PERSON_KIND, HOUSEHOLD_KIND):
        raise ValueError("prefecture must be 2 digits and kind '1' or '2'")
    seen = set(taken)
    out: list[str] = []
    while len(out) < count:
        need = count - len(out)
        drawn = struct.unpack(f"<{need}Q", os.urandom(8 * need))
        fresh = _with_check_digits(prefecture + kind, [r % (10**9 // slots) * slots + slot for r in drawn])
        for candidate in dict.fromkeys(fresh):
            if candidate not in seen and len(out) < count:
                seen.add(candidate)
                out.append(candidate)
    return out


# Below this many IDs the check digits are computed one by one: Polars' plan for a column
# costs ~2.5 ms whatever its length, Python ~9 µs an ID (a delta file numbers a few).
_ONE_BY_ONE = 256


def _with_check_digits(head: str, random: list[int]) -> list[str]:
    """The 13-digit IDs of a 3-digit head and 9-digit random parts."""
    if len(random) < _ONE_BY_ONE:
        return [with_insurer_check_digit(f"{head}{r:09d}") for r in random]
    import polars as pl

    # The 12-digit body as a number; its check digit by the 保険者番号 rule in integer
    # arithmetic (from the right, weights 2, 1, 2, 1 …, digit sums of the products).
    body = pl.lit(int(head) * 10**9, pl.UInt64) + pl.col("r")
    products = [(body // 10**p % 10) * (2 if p % 2 == 0 else 1) for p in range(12)]
    total = pl.sum_horizontal([d // 10 + d % 10 for d in products])
    whole = body * 10 + (10 - total % 10) % 10
    frame = pl.DataFrame({"r": random}, schema={"r": pl.UInt64})
    return frame.select(whole.cast(pl.String).str.zfill(13).alias("id"))["id"].to_list()


def is_valid_pref_id(value: str, kind: str | None = None) -> bool:
    if not _is_digits(value, 13) or insurer_check_digit(value[:12]) != int(value[12]):
        return False
    return value[2] in (PERSON_KIND, HOUSEHOLD_KIND) and (kind is None or value[2] == kind)


# --- finding and masking individual numbers in text -----------------------------------
#
# Every Unicode decimal digit counts (full-width ０-９ included): a number typed in a name or
# a reason is still a number. The mapping is one character to one character, so positions
# found in the normalised text are positions in the original.


# ``\d`` of a str pattern is exactly Unicode category Nd; the ASCII ones need no change.
_OTHER_DIGIT = re.compile(r"(?![0-9])\d")


def _as_ascii(match: re.Match[str]) -> str:
    return str(unicodedata.decimal(match.group()))


_TWELVE_DIGIT_RUN = re.compile(r"(?<![0-9])[0-9]{12}(?![0-9])")
# In free text a number is also written in groups (6311 8121 5607, 6311-8121-5607).
_GROUPED_RUN = re.compile(r"(?<![0-9])[0-9]{4}[ \-\u3000][0-9]{4}[ \-\u3000][0-9]{4}(?![0-9])")
_LONG_DIGIT_RUN = re.compile(r"[0-9]{13,}")
MASK = "*" * 12


def ascii_digits(text: str) -> str:
    """``text`` with every decimal digit (full-width, other scripts) as its ASCII digit."""
    return text if text.isascii() else _OTHER_DIGIT.sub(_as_ascii, text)


def twelve_digit_runs(text: str) -> list[str]:
    """Every run of exactly 12 digits (any script, as ASCII), not part of a longer run."""
    return _TWELVE_DIGIT_RUN.findall(ascii_digits(text))


def find_individual_numbers(text: str) -> list[str]:
    """Every 12-digit run (not part of a longer run) that passes the individual-number check."""
    return [m for m in twelve_digit_runs(text) if is_valid_individual_number(m)]


def find_embedded_numbers(text: str) -> list[str]:
    """Every 12-digit window of a run of 12 or more digits that passes the check digit:
    what might be a number in text whose items can no longer be told apart (a record whose
    items shifted, where a number may have digits stuck to it)."""
    found = []
    for m in re.finditer(r"[0-9]{12,}", ascii_digits(text)):
        run = m.group()
        found += [run[i : i + 12] for i in range(len(run) - 11) if is_valid_individual_number(run[i : i + 12])]
    return found


def redact(text: str, known: Collection[str] = frozenset(), *, check_digit: bool = True) -> str:
    """``text`` with individual numbers masked: every 12-digit run (ASCII or full-width) in
    ``known``, and — where ``check_digit`` (free text: names, messages, reasons, log-in IDs,
    file names) — every run that passes the check digit, also when written in groups of four.

    Coded items (宛名番号, 世帯番号 …) pass ``check_digit=False``: a legitimate 12-digit key
    passes the check digit one time in ten and must survive; only a number the system knows
    as somebody's individual number is masked there.
    """
    if not text:
        return text
    normal = ascii_digits(text)
    spans: list[tuple[int, int]] = []
    for m in _TWELVE_DIGIT_RUN.finditer(normal):
        if m.group() in known or (check_digit and is_valid_individual_number(m.group())):
            spans.append(m.span())
    if known:  # a known number is masked also inside a longer run of digits (a number with "99" stuck to it)
        for m in _LONG_DIGIT_RUN.finditer(normal):
            run, start = m.group(), m.start()
            spans += [(start + i, start + i + 12) for i in range(len(run) - 11) if run[i : i + 12] in known]
    if check_digit:
        for m in _GROUPED_RUN.finditer(normal):
            digits = re.sub(r"[^0-9]", "", m.group())
            if digits in known or is_valid_individual_number(digits):
                spans.append(m.span())
    if not spans:
        return text
    out, last = [], 0
    for start, end in sorted(spans):
        if end <= last:
            continue
        start = max(start, last)  # overlapping windows of one long run: mask their union
        out += [text[last:start], "*" * (end - start)]
        last = end
    out.append(text[last:])
    return "".join(out)
