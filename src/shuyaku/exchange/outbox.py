"""Return files to municipalities, through the outbox guard (never an individual number).

The guard refuses a file whose layout has an individual-number item or whose text holds
any 12-digit run that passes the individual-number check digit. A refused file is not
written; the refusal is recorded (``outbound_file.status = 'blocked'``) and logged.
Files are written under a temporary name and renamed, so a reader never sees half a file.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, func, insert, select

from shuyaku import ids
from shuyaku.db.schema import outbound_file
from shuyaku.timeutil import jst_date, jst_stamp

log = logging.getLogger("shuyaku.outbox")

FORBIDDEN_ITEMS = ("個人番号", "individual_number")


class OutboxBlocked(RuntimeError):
    """The guard refused a file; the message names the file and the reason, not the value."""

    def __init__(self, message: str, record: dict[str, object]) -> None:
        super().__init__(message)
        self.record = record


def record_blocked(conn: Connection, blocked: OutboxBlocked) -> None:
    """Keep the refusal on record (called after the refused export's transaction rolled back)."""
    conn.execute(insert(outbound_file).values(**blocked.record))


@dataclass(frozen=True)
class OutboundLayout:
    kind: str
    items: tuple[str, ...]


KKKK = OutboundLayout("KKKK", ("市町村コード", "対象ファイル名", "ファイル連番", "行番号", "宛名番号又は世帯番号", "履歴番号",
                               "結果区分", "エラーコード", "メッセージ", "処理日時"))
IDTB = OutboundLayout("IDTB", ("市町村コード", "宛名番号", "県被保険者ID", "世帯番号", "県世帯ID", "付番区分", "前市町村コード", "付番年月日"))
KZKH = OutboundLayout("KZKH", ("候補番号", "転入先市町村コード", "世帯番号", "県世帯ID", "転出元市町村コード", "転出元県世帯ID", "異動年月日",
                               "判定規則コード", "判定", "状態", "理由"))
TSKG = OutboundLayout("TSKG", ("市町村コード", "世帯番号", "県世帯ID", "診療年月", "直近12か月該当月数", "多数回該当", "該当月一覧",
                               "引継元県世帯ID一覧"))


def guard(layout: OutboundLayout, text: str) -> str | None:
    """The reason a file may not leave, or None."""
    if any(item in FORBIDDEN_ITEMS for item in layout.items):
        return f"{layout.kind} のレイアウトに個人番号の項目があります"
    found = ids.find_individual_numbers(text)
    if found:
        return f"個人番号の検査数字を満たす12桁の数字列が {len(found)} 箇所あります"
    return None


def render(layout: OutboundLayout, *, municipality_code: str, insurer_number: str, as_of: datetime, seq: int,
           rows: list[list[str]]) -> str:
    header = ["1", layout.kind, municipality_code, insurer_number, "2", jst_date(as_of).strftime("%Y%m%d"), jst_stamp(as_of), str(seq), "1.0"]
    trailer = ["3", str(len(rows)), str(len(rows)), "0", "0", ""]
    lines = [header] + [["2", *row] for row in rows] + [trailer]
    return "".join(",".join(_field(v) for v in line) + "\r\n" for line in lines)


def _field(value: str) -> str:
    return '"' + value.replace('"', '""') + '"' if any(c in value for c in ',"\r\n') else value


def next_seq(conn: Connection, municipality_code: str, kind: str) -> int:
    o = outbound_file.c
    # Only released files count: a municipality sees 連番 without gaps, whatever was refused.
    latest = select(func.max(o.seq)).where(o.municipality_code == municipality_code, o.kind == kind, o.status == "released")
    return int(conn.execute(latest).scalar() or 0) + 1


def release(
    conn: Connection, *, layout: OutboundLayout, municipality_code: str, insurer_number: str, encoding: str,
    rows: list[list[str]], out_dir: Path, now: datetime, actor: str, inbound_file_id: int | None = None,
) -> Path:
    """Guard, then write atomically and record the release. Raises OutboxBlocked (nothing written)."""
    seq = next_seq(conn, municipality_code, layout.kind)
    text = render(layout, municipality_code=municipality_code, insurer_number=insurer_number, as_of=now, seq=seq, rows=rows)
    filename = f"{municipality_code}_{layout.kind}_D_{jst_date(now).strftime('%Y%m%d')}_{seq:02d}.csv"
    reason = guard(layout, text)
    payload = text.encode(encoding, errors="replace")
    values = dict(municipality_code=municipality_code, kind=layout.kind, seq=seq, filename=filename, row_count=len(rows),
                  created_at=now, actor=actor, inbound_file_id=inbound_file_id)
    if reason is not None:
        log.warning("outbox blocked kind=%s municipality=%s seq=%s reason=%s", layout.kind, municipality_code, seq, reason)
        raise OutboxBlocked(f"{filename}: 送出を止めました — {reason}", {"status": "blocked", "reason": reason, **values})
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / filename
    tmp = out_dir / f".{filename}.tmp"
    tmp.write_bytes(payload)
    os.replace(tmp, target)
    conn.execute(insert(outbound_file).values(status="released", sha256=hashlib.sha256(payload).hexdigest(), **values))
    log.info("outbox released kind=%s municipality=%s seq=%s rows=%s", layout.kind, municipality_code, seq, len(rows))
    return target
