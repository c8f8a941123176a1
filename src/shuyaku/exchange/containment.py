"""Containment of individual numbers at the edge of one inbound file.

The 個人番号 item goes to the vault and nowhere else. Everything else of a file that is
stored or shown — the file name, messages, the key and the copy of a quarantined record —
passes ``Containment`` first, which masks:

- in every item, each 12-digit run (ASCII or full-width) that is a number *known* for this
  file: a value of its 個人番号 column, a number the vault or the register of unenrolled
  numbers (``seen_number``) holds, and — in a record whose items are shifted, so that no
  position can be trusted — every run that passes the check digit;
- in free text (names, addresses, messages, file names) also every run that passes the
  check digit, written in groups of four or not.

Coded items (宛名番号, 世帯番号, 被保険者証番号 …) are not masked on the check digit alone:
a municipality's 12-digit key passes it one time in ten and must survive.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import polars as pl
from sqlalchemy import Connection, insert, select

from shuyaku import ids
from shuyaku.db.query import Lookup
from shuyaku.db.schema import seen_number, vault_entry
from shuyaku.exchange.layouts import Layout
from shuyaku.text import without_controls
from shuyaku.vault import rules
from shuyaku.vault.service import Vault

NUMBER_COLUMN = "individual_number"
FREE_TEXT_KINDS = ("text", "kana")


@dataclass
class Containment:
    known: set[str] = field(default_factory=set)

    def free_text(self, value: str) -> str:
        return without_controls(ids.redact(value, self.known))

    def coded(self, value: str) -> str:
        return without_controls(ids.redact(value, self.known, check_digit=False))

    def learn(self, numbers: Iterable[str]) -> None:
        self.known.update(n for n in numbers if len(n) == 12)


def safe_filename(name: str) -> str:
    """A file name as it may be stored and shown: undecodable bytes replaced, no control
    characters, no individual number, at most 255 characters."""
    text = name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return without_controls(ids.redact(text))[:255] or "(名前なし)"


_WIDE = [chr(0xFF10 + d) for d in range(10)]


def ascii_digits_expr(column: str) -> pl.Expr:
    """The column with full-width digits as ASCII (the digits municipal systems type)."""
    return pl.col(column).str.replace_many(_WIDE, [str(d) for d in range(10)])


def file_numbers(layout: Layout, records: pl.DataFrame, width: pl.Series) -> list[str]:
    """Every value that stands where this file's individual numbers are: the 個人番号
    column of well-formed records (as ASCII digits), and every run passing the check digit
    anywhere in a record whose item count is wrong."""
    found: list[str] = []
    if NUMBER_COLUMN in records.columns:
        found += (
            records.select(ascii_digits_expr(NUMBER_COLUMN).alias("n"))
            .filter(pl.col("n").str.contains(r"^[0-9]{12}$"))["n"]
            .to_list()
        )
    shifted = records.filter(width != layout.width) if records.height else records
    for row in shifted.drop("line_no").rows():
        for value in row:
            if value:
                found += ids.find_embedded_numbers(str(value))
    return [n for n in found if len(n) == 12 and n.isdigit()]


def known_to_vault(conn: Connection, vault: Vault, values: Iterable[str]) -> set[str]:
    """Which 12-digit values are somebody's individual number: enrolled in the vault, or
    seen in a record that was never enrolled (under any index-key version)."""
    normal = (ids.ascii_digits(v) for v in values if v)
    candidates = sorted({v for v in normal if len(v) == 12 and v.isdigit()})
    if not candidates:
        return set()
    hits: set[str] = set()
    vault.follow(conn)
    versions = {vault.index_version} | set(conn.execute(select(seen_number.c.index_key_version).distinct()).scalars())
    for version in versions:
        key = vault.keyring.key("index", version)
        by_index = dict(zip(rules.blind_indexes(key, candidates), candidates, strict=True))
        hits.update(by_index[b] for b in _held(conn, list(by_index)))
    return hits


def _held(conn: Connection, indexes: list[bytes]) -> set[bytes]:
    """The blind indexes among ``indexes`` that the vault or ``seen_number`` holds."""
    found: set[bytes] = set()
    for held in _HELD:
        found.update(held(conn, indexes)["blind_index"].to_list())
    return found


_HELD = [Lookup([table.c.blind_index], table.c.blind_index) for table in (vault_entry, seen_number)]


def remember_unenrolled(conn: Connection, vault: Vault, numbers: Iterable[str], file_id: int, now: datetime) -> int:
    """Keep the blind index of numbers that arrived but were not enrolled (quarantined,
    held, refused), so the outbox guard knows them too. Never the number itself."""
    unique = sorted({n for n in numbers if len(n) == 12 and n.isdigit()})
    if not unique:
        return 0
    indexes = vault.blind_indexes(conn, unique)
    present = _held(conn, indexes)
    rows = [
        {"blind_index": b, "index_key_version": vault.index_version, "file_id": file_id, "seen_at": now}
        for b in dict.fromkeys(indexes)
        if b not in present
    ]
    if rows:
        conn.execute(insert(seen_number), rows)
    return len(rows)


def masked_record_columns(layout: Layout) -> tuple[list[str], list[str]]:
    """(free-text columns, coded columns) of a layout, without the 個人番号 item."""
    shown = [f for f in layout.fields if f.check != "individual"]
    return (
        [f.column for f in shown if f.kind in FREE_TEXT_KINDS],
        [f.column for f in shown if f.kind not in FREE_TEXT_KINDS],
    )
