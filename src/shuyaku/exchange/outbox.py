"""Return files to municipalities, through the outbox guard (never an individual number).

The guard (``shared/spec/files.md``, "Federation → municipality"): after full-width digits
are normalised, a file may hold no individual-number item and no run of exactly 12 digits
that (a) the system has received as an individual number — its blind index is in the
vault, or in ``seen_number`` (quarantined, held or refused records) — or (b) passes the
check digit, unless it stands in a key item (宛名番号, 世帯番号) and equals a key the same
municipality itself sent. A refused file is not written, its refusal is recorded
(``outbound_file.status = 'blocked'``) and logged, and it stops no other file.

A file on disk always has its ledger row and a ledger row its file: the file is written
under a temporary name and fsynced inside the transaction that records it, and renamed to
its name only after that transaction commits (``Staged.publish``). A crash in between
leaves a temporary file that the next export into the same folder renames (its row
committed) or removes (its row never was): ``recover``.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from sqlalchemy import Connection, Engine, Select, func, insert, select

from shuyaku import ids
from shuyaku.crash import crash_point
from shuyaku.db.locks import write_lock
from shuyaku.db.schema import household_key, inbound_file, ingest_result, outbound_file, person_key
from shuyaku.errors import Refused
from shuyaku.exchange.containment import known_to_vault
from shuyaku.files import private_dir, write_private
from shuyaku.text import csv_cell
from shuyaku.timeutil import jst_date, jst_stamp
from shuyaku.vault.service import Vault

log = logging.getLogger("shuyaku.outbox")

FORBIDDEN_ITEMS = ("個人番号", "individual_number")
Rows = Sequence[Sequence[str]]  # a file's data items, in its layout's order


class OutboundStatus(StrEnum):
    RELEASED = "released"
    BLOCKED = "blocked"  # the guard refused it: not written, kept on record


class OutboxBlocked(Refused, RuntimeError):
    """The guard refused a file; the message names the file and the reason, not the value.
    ``written``: the files of the same export that did go out."""

    def __init__(self, message: str, record: dict[str, object], written: list[Path] | None = None) -> None:
        super().__init__(message)
        self.record = record
        self.written = written or []


def record_blocked(conn: Connection, blocked: OutboxBlocked) -> None:
    """Keep the refusal on record (called after the refused export's transaction rolled back)."""
    conn.execute(insert(outbound_file).values(**blocked.record))


@dataclass(frozen=True)
class OutboundLayout:
    kind: str
    items: tuple[str, ...]


KKKK = OutboundLayout(
    "KKKK",
    (
        "市町村コード",
        "対象ファイル名",
        "ファイル連番",
        "行番号",
        "宛名番号又は世帯番号",
        "履歴番号",
        "結果区分",
        "エラーコード",
        "メッセージ",
        "処理日時",
    ),
)
IDTB = OutboundLayout(
    "IDTB",
    ("市町村コード", "宛名番号", "県被保険者ID", "世帯番号", "県世帯ID", "付番区分", "前市町村コード", "付番年月日"),
)
KZKH = OutboundLayout(
    "KZKH",
    (
        "候補番号",
        "転入先市町村コード",
        "世帯番号",
        "県世帯ID",
        "転出元市町村コード",
        "転出元県世帯ID",
        "異動年月日",
        "判定規則コード",
        "判定",
        "状態",
        "理由",
    ),
)
TSKG = OutboundLayout(
    "TSKG",
    (
        "市町村コード",
        "世帯番号",
        "県世帯ID",
        "診療年月",
        "直近12か月該当月数",
        "多数回該当",
        "該当月一覧",
        "引継元県世帯ID一覧",
        "暫定",  # 1: a counted month rests on the federation's calculation (no KGGT for it yet)
    ),
)


KEY_ITEMS = {"宛名番号": ("atena",), "世帯番号": ("setai",), "宛名番号又は世帯番号": ("atena", "setai")}


def guard(
    conn: Connection, vault: Vault, layout: OutboundLayout, municipality_code: str, rows: Rows, text: str
) -> str | None:
    """The reason a file may not leave, or None. ``text`` is the whole rendered file
    (header and trailer included); ``rows`` its data items, in ``layout.items`` order."""
    if any(item in FORBIDDEN_ITEMS for item in layout.items):
        return f"{layout.kind} のレイアウトに個人番号の項目があります"
    runs = ids.twelve_digit_runs(text)
    if not runs:
        return None
    received = known_to_vault(conn, vault, runs)
    if received:
        return f"受信したことのある個人番号と同じ12桁の数字列が {sum(r in received for r in runs)} 箇所あります"
    passing = {r for r in runs if ids.is_valid_individual_number(r)}
    if not passing:
        return None
    # Every passing run is unexplained (the header and trailer never hold a key) until it is
    # the whole value of a key item that the municipality itself sent.
    unexplained = sum(1 for r in runs if r in passing)
    own: dict[tuple[str, str], bool] = {}
    for row in rows:
        for item, value in zip(layout.items, row, strict=True):
            key = ids.ascii_digits(value)
            if item in KEY_ITEMS and key in passing:
                if (item, key) not in own:
                    own[item, key] = _own_key(conn, municipality_code, KEY_ITEMS[item], key)
                unexplained -= own[item, key]
    if unexplained:
        return f"個人番号の検査数字を満たす12桁の数字列が、市町村自身の宛名番号・世帯番号でない位置に {unexplained} 箇所あります"
    return None


def _own_key(conn: Connection, municipality_code: str, kinds: tuple[str, ...], value: str) -> bool:
    """Whether the municipality itself sent ``value`` as a 宛名番号 / 世帯番号 (as a key
    of a record, or as the key of a line reported back in a KKKK)."""
    checks = []
    if "atena" in kinds:
        checks.append(
            select(person_key.c.atena_no).where(
                person_key.c.municipality_code == municipality_code, person_key.c.atena_no == value
            )
        )
    if "setai" in kinds:
        checks.append(
            select(household_key.c.setai_no).where(
                household_key.c.municipality_code == municipality_code, household_key.c.setai_no == value
            )
        )
    if len(kinds) > 1:  # KKKK: the key of a line of one of this municipality's own files
        checks.append(reported_key(municipality_code, value))
    return any(conn.execute(check.limit(1)).first() is not None for check in checks)


def reported_key(municipality_code: str, value: str) -> Select[tuple[str | None]]:
    """The problem rows of the municipality's own files whose key is ``value`` (by the
    index of keys: a handful among every problem ever reported)."""
    r = ingest_result.c
    return (
        select(r.record_key)
        .join(inbound_file, inbound_file.c.file_id == r.file_id)
        .where(r.record_key == value, inbound_file.c.municipality_code == municipality_code)
    )


def render(
    layout: OutboundLayout,
    *,
    municipality_code: str,
    insurer_number: str,
    as_of: datetime,
    seq: int,
    rows: Rows,
) -> str:
    header = [
        "1",
        layout.kind,
        municipality_code,
        insurer_number,
        "2",
        jst_date(as_of).strftime("%Y%m%d"),
        jst_stamp(as_of),
        str(seq),
        "1.0",
    ]
    trailer = ["3", str(len(rows)), str(len(rows)), "0", "0", ""]
    lines = [header] + [["2", *row] for row in rows] + [trailer]
    return "".join(_line(line) + "\r\n" for line in lines)


# An item that must be quoted (a comma, a quote, a line break in it) or guarded against
# being run as a formula (``text.csv_cell``); items are looked at joined by NUL, which no
# item of an exchange file holds (a NUL in one only sends its line the slow way).
_SPECIAL = re.compile(r'[,"\r\n]|(?:^|\x00)[=+\-@\t]')


def _line(items: Sequence[str]) -> str:
    """One CSV line: most lines of a return file need nothing but commas between their items,
    found with one search of the line instead of a look at each item."""
    if _SPECIAL.search("\x00".join(items)) is None:
        return ",".join(items)
    return ",".join(_field(v) for v in items)


def _field(value: str) -> str:
    value = csv_cell(value)
    return '"' + value.replace('"', '""') + '"' if any(c in value for c in ',"\r\n') else value


def next_seq(conn: Connection, municipality_code: str, kind: str) -> int:
    o = outbound_file.c
    # Only released files count: a municipality sees 連番 without gaps, whatever was refused.
    latest = select(func.max(o.seq)).where(
        o.municipality_code == municipality_code, o.kind == kind, o.status == OutboundStatus.RELEASED
    )
    return int(conn.execute(latest).scalar() or 0) + 1


@dataclass(frozen=True)
class Staged:
    """A released file written under its temporary name; ``publish`` after the commit."""

    tmp: Path
    target: Path
    outbound_id: int | None = None  # its row in outbound_file (None: a leftover ``recover`` found)

    def publish(self) -> Path:
        os.replace(self.tmp, self.target)
        crash_point("outbox.after_publish")
        return self.target


def hold(conn: Connection, municipality_code: str, kind: str) -> None:
    """The lock of the municipality's files of ``kind``, to the end of the transaction. A
    build takes it before it reads what is pending, so that two exports at once (from the
    CLI into one folder, for the API into another) send each pending row once: the second
    waits, then finds it sent. ``release`` takes it again (it is re-entrant)."""
    write_lock(conn, f"outbox:{municipality_code}:{kind}")


def release(
    conn: Connection,
    vault: Vault,
    *,
    layout: OutboundLayout,
    municipality_code: str,
    insurer_number: str,
    encoding: str,
    rows: Rows,
    out_dir: Path,
    now: datetime,
    actor: str,
    inbound_file_id: int | None = None,
) -> Staged:
    """Guard, then write the temporary file and record the release in the caller's
    transaction. Raises OutboxBlocked (nothing written). The caller publishes after commit."""
    hold(conn, municipality_code, layout.kind)  # one 連番 per file, however many export at once
    seq = next_seq(conn, municipality_code, layout.kind)
    text = render(
        layout, municipality_code=municipality_code, insurer_number=insurer_number, as_of=now, seq=seq, rows=rows
    )
    filename = f"{municipality_code}_{layout.kind}_D_{jst_date(now).strftime('%Y%m%d')}_{seq:02d}.csv"
    return _stage(
        conn,
        vault,
        layout,
        municipality_code,
        seq,
        filename,
        rows,
        text,
        text.encode(encoding, errors="replace"),
        out_dir,
        now,
        actor,
        inbound_file_id,
    )


def release_document(
    conn: Connection,
    vault: Vault,
    *,
    layout: OutboundLayout,
    municipality_code: str,
    filename: str,
    rows: Rows,
    text: str,
    payload: bytes,
    out_dir: Path,
    now: datetime,
    actor: str,
) -> Staged:
    """A file of the federation's own format (the 支給一覧), through the same guard, ledger
    row and atomic publication as the exchange files; numbered per municipality and kind."""
    hold(conn, municipality_code, layout.kind)
    seq = next_seq(conn, municipality_code, layout.kind)
    return _stage(conn, vault, layout, municipality_code, seq, filename, rows, text, payload, out_dir, now, actor, None)


def _stage(
    conn: Connection,
    vault: Vault,
    layout: OutboundLayout,
    municipality_code: str,
    seq: int,
    filename: str,
    rows: Rows,
    text: str,
    payload: bytes,
    out_dir: Path,
    now: datetime,
    actor: str,
    inbound_file_id: int | None,
) -> Staged:
    reason = guard(conn, vault, layout, municipality_code, rows, text)
    values = dict(
        municipality_code=municipality_code,
        kind=layout.kind,
        seq=seq,
        filename=filename,
        row_count=len(rows),
        created_at=now,
        actor=actor,
        inbound_file_id=inbound_file_id,
    )
    if reason is not None:
        log.warning(
            "outbox blocked kind=%s municipality=%s seq=%s reason=%s", layout.kind, municipality_code, seq, reason
        )
        raise OutboxBlocked(
            f"{filename}: 送出を止めました — {reason}", {"status": OutboundStatus.BLOCKED, "reason": reason, **values}
        )
    target = out_dir / filename
    tmp = out_dir / f".{filename}.tmp"
    write_private(tmp, payload)
    outbound_id = conn.execute(
        insert(outbound_file)
        .values(status=OutboundStatus.RELEASED, sha256=hashlib.sha256(payload).hexdigest(), **values)
        .returning(outbound_file.c.outbound_id)
    ).scalar_one()
    crash_point("outbox.before_commit")
    log.info("outbox released kind=%s municipality=%s seq=%s rows=%s", layout.kind, municipality_code, seq, len(rows))
    return Staged(tmp, target, int(outbound_id))


@dataclass
class Released:
    written: list[Path]
    blocked: list[OutboxBlocked]

    def raise_if_blocked(self) -> list[Path]:
        """The files written; OutboxBlocked (naming every refusal, with ``written``) if any was refused."""
        if self.blocked:
            raise OutboxBlocked("／".join(str(b) for b in self.blocked), self.blocked[0].record, written=self.written)
        return self.written


def release_each(engine: Engine, out_dir: Path, builds: Iterable[Callable[[Connection], Staged | None]]) -> Released:
    """Finish what a crash left in ``out_dir``, then run each build in a transaction of its
    own and publish its file after the commit. A file the guard refuses is recorded as
    blocked and the next one still goes."""
    with publishing(out_dir), engine.connect() as conn:
        done = Released(recover(conn, out_dir), [])
    for build in builds:
        with publishing(out_dir):
            try:
                with engine.begin() as conn:
                    staged = build(conn)
            except OutboxBlocked as refusal:
                with engine.begin() as conn:
                    record_blocked(conn, refusal)
                done.blocked.append(refusal)
                continue
            if staged is not None:
                done.written.append(staged.publish())
    return done


@contextmanager
def publishing(out_dir: Path) -> Iterator[None]:
    """One process at a time stages a file in ``out_dir`` and publishes it, or looks at the
    temporary files there: an exclusive ``flock`` on the folder itself, which the system
    drops when its process dies. A temporary file is therefore either being published by
    the holder or a crash's leftover — never, as it was, another export's file that
    ``recover`` took for a leftover and removed before that export could rename it."""
    fd = os.open(private_dir(out_dir), os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError as exc:
            if exc.errno not in _NO_LOCKS:
                raise
            # A network share without locks (some CIFS mounts): go on as before the lock,
            # which is safe as long as one export at a time writes into this folder.
            log.warning("outbox folder cannot be locked (%s): exports into it must not overlap", exc.strerror)
        yield
    finally:
        os.close(fd)  # and with it the lock


_NO_LOCKS = {errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EINVAL}


def recover(conn: Connection, out_dir: Path) -> list[Path]:
    """Finish what a crash interrupted in ``out_dir``: a temporary file whose release was
    committed becomes its file; one whose release never committed is removed."""
    published: list[Path] = []
    for tmp in sorted(out_dir.glob(".*.csv.tmp")):
        filename = tmp.name[1:].removesuffix(".tmp")
        o = outbound_file.c
        row = conn.execute(select(o.sha256).where(o.filename == filename, o.status == OutboundStatus.RELEASED)).first()
        if (
            row is not None
            and not (out_dir / filename).exists()
            and hashlib.sha256(tmp.read_bytes()).hexdigest() == row.sha256
        ):
            published.append(Staged(tmp, out_dir / filename).publish())
        else:
            tmp.unlink()
    return published
