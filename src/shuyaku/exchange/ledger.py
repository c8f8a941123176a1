"""The inbox ledger (受信ファイル台帳): what became of every file offered."""

from __future__ import annotations

import json
import re
from enum import StrEnum
from typing import Any

import polars as pl
from sqlalchemy import Connection, func, insert, select

from shuyaku import ids
from shuyaku.db.engine import bulk_insert
from shuyaku.db.locks import write_lock
from shuyaku.db.query import SQLITE_CHUNK
from shuyaku.db.schema import inbound_file, ingest_result, municipality
from shuyaku.exchange.containment import Containment, masked_record_columns
from shuyaku.exchange.layouts import Layout
from shuyaku.problems import ERROR


class FileStatus(StrEnum):
    """What became of an inbound file (受信ファイル台帳)."""

    APPLIED = "applied"
    DUPLICATE = "duplicate"  # a re-send of an applied or held file: nothing changed
    REJECTED = "rejected"  # E001–E003 or a failure: the municipality sends it again
    HELD = "held"  # E004, E005 or too many failing records
    RELEASED = "released"  # a held file that was judged again (its new row says how)


APPLIED, DUPLICATE, REJECTED, HELD, RELEASED = (
    FileStatus.APPLIED,
    FileStatus.DUPLICATE,
    FileStatus.REJECTED,
    FileStatus.HELD,
    FileStatus.RELEASED,
)


def municipality_row(conn: Connection, code: str) -> Any:
    return conn.execute(select(municipality).where(municipality.c.municipality_code == code)).first()


def lock_sender(conn: Connection, code: str) -> None:
    """Serialise ingests of one sender: the first statement of the file's transaction, so
    the re-send check and the 連番 check read what any other process has committed."""
    write_lock(conn, f"ingest:{code}")


def last_applied_seq(conn: Connection, code: str, kind: str) -> int:
    f = inbound_file.c
    stmt = select(func.max(f.seq)).where(f.municipality_code == code, f.kind == kind, f.status == APPLIED)
    return int(conn.execute(stmt).scalar() or 0)


def earlier_copy(conn: Connection, sha256: str, *, besides: int | None = None) -> Any:
    """A file with the same content that was applied, or is held waiting (a re-send);
    ``besides``: the held file being released, which is not a copy of itself."""
    f = inbound_file.c
    stmt = select(inbound_file).where(f.sha256 == sha256, f.status.in_([APPLIED, HELD])).order_by(f.file_id)
    if besides is not None:
        stmt = stmt.where(f.file_id != besides)
    return conn.execute(stmt).first()


def ready_to_release(
    conn: Connection, code: str | None = None, kind: str | None = None, after: int | None = None
) -> Any:
    """A file held for a 連番 gap (E005) whose predecessor is now applied (the newest such
    copy of that 連番), or None. ``after``: the 連番 of ``code``'s ``kind`` just applied, so
    only its successor can be ready — one look-up by the ledger's key, whatever the ledger's
    length."""
    f = inbound_file.c
    held = (f.status == HELD, f.error_code == "E005", f.archive_name.is_not(None))
    if after is not None and code is not None and kind is not None:
        stmt = select(inbound_file).where(f.municipality_code == code, f.kind == kind, f.seq == after + 1, *held)
        return conn.execute(stmt.order_by(f.file_id.desc()).limit(1)).first()
    # The held files first (their partial index: usually none), then each one's predecessor:
    # not the last applied 連番 of every sender and kind, a pass over every file of every year.
    stmt = select(inbound_file).where(*held).order_by(f.file_id.desc())
    if code is not None:
        stmt = stmt.where(f.municipality_code == code)
    if kind is not None:
        stmt = stmt.where(f.kind == kind)
    for waiting in conn.execute(stmt).all():
        if waiting.seq == last_applied_seq(conn, waiting.municipality_code, waiting.kind) + 1:
            return waiting
    return None


def record_file(conn: Connection, guard: Containment, **values: Any) -> int:
    """One ledger row; its message passes the file's containment (no number, no control)."""
    if values.get("message"):
        values["message"] = guard.free_text(str(values["message"]))
    return int(conn.execute(insert(inbound_file).values(**values).returning(inbound_file.c.file_id)).scalar_one())


_KEY = re.compile(r"[0-9]{1,15}")
_HISTORY = re.compile(r"[0-9]{1,4}")


def record_results(
    conn: Connection,
    file_id: int,
    layout: Layout | None,
    problems: pl.DataFrame,
    records: pl.DataFrame | None,
    guard: Containment,
    width: pl.Series | None = None,
) -> None:
    """Store one 取込結果 row per record with a problem; errors keep a copy of the record.

    The copy never has the 個人番号 item, and every other item passes the file's
    containment: a number that stands in the wrong column (a shifted record, a number typed
    into a name) is masked wherever it stands. A key or 履歴番号 that is not one (too long,
    not digits) is kept only inside the copy, so one bad value never fails the ledger."""
    if problems.height == 0:
        return
    frame = problems.with_columns(pl.col("message").map_elements(guard.free_text, return_dtype=pl.String))
    keys: dict[int, tuple[str | None, str | None, str | None]] = {}
    if records is not None and layout is not None:
        free, _ = masked_record_columns(layout)
        labels = {f.column: f.label for f in layout.fields if f.check != "individual"}
        bad_lines = set(problems.filter(pl.col("result") == "9")["line_no"].to_list())
        table = records.with_columns(
            (width if width is not None else pl.repeat(layout.width, records.height)).alias("_width")
        )
        for row in table.filter(pl.col("line_no").is_in(list(set(problems["line_no"].to_list())))).iter_rows(
            named=True
        ):
            shifted = row["_width"] != layout.width
            guard_row = (
                guard
                if not shifted
                else Containment(
                    guard.known | {n for v in row.values() if isinstance(v, str) for n in ids.find_embedded_numbers(v)}
                )
            )

            def shown(column: str, value: object, g: Containment = guard_row, shifted: bool = shifted) -> str:
                text = "" if value is None else str(value)
                return g.free_text(text) if shifted or column in free else g.coded(text)

            key = shown(layout.record_key, row.get(layout.record_key))
            history = shown("history_no", row.get("history_no")) if "history_no" in row else ""
            copy = (
                json.dumps(
                    {label: shown(column, row.get(column)) for column, label in labels.items()}, ensure_ascii=False
                )
                if row["line_no"] in bad_lines
                else None
            )
            keys[row["line_no"]] = (
                key if _KEY.fullmatch(key) else None,
                history if _HISTORY.fullmatch(history) else None,
                copy,
            )
    looked_up = [keys.get(n, (None, None, None)) for n in frame["line_no"].to_list()]
    frame = frame.with_columns(
        pl.Series("record_key", [k[0] for k in looked_up], dtype=pl.String),
        pl.Series("history_no", [k[1] for k in looked_up], dtype=pl.String),
        pl.Series("record", [k[2] for k in looked_up], dtype=pl.String),
    )
    bulk_insert(
        conn,
        ingest_result,
        frame.select(
            pl.lit(file_id).alias("file_id"),
            "line_no",
            "record_key",
            "history_no",
            "result",
            "code",
            "field",
            "message",
            "record",
        ),
    )


def file_row(conn: Connection, file_id: int) -> Any:
    return conn.execute(select(inbound_file).where(inbound_file.c.file_id == file_id)).first()


def results_of(conn: Connection, file_id: int) -> list[Any]:
    """The file's KKKK rows: line, 宛名番号/世帯番号, 履歴番号, result, code, field, message."""
    r = ingest_result.c
    return list(
        conn.execute(
            select(r.line_no, r.record_key, r.history_no, r.result, r.code, r.field, r.message)
            .where(r.file_id == file_id)
            .order_by(r.line_no, r.result_id)
        ).all()
    )


def list_files(
    conn: Connection,
    *,
    status: str | None = None,
    scope: frozenset[str] | None = None,
    limit: int = 200,
    before: int | None = None,
) -> list[Any]:
    """The newest ledger rows first (受信ファイル一覧), of the municipalities in ``scope``
    (None: every one, and the files whose sender could not be read); ``before``: only
    files with a lower 受付番号 (the next page)."""
    f = inbound_file.c
    stmt = select(inbound_file).order_by(f.file_id.desc()).limit(limit)
    if before is not None:
        stmt = stmt.where(f.file_id < before)
    if status:
        stmt = stmt.where(f.status == status)
    if scope is not None:
        stmt = stmt.where(f.municipality_code.in_(sorted(scope)))
    return list(conn.execute(stmt).all())


def filenames(conn: Connection, file_ids: list[int]) -> dict[int, str]:
    """受付番号 → the file's (safe) name, for the files given."""
    f = inbound_file.c
    found: dict[int, str] = {}
    for start in range(0, len(file_ids), SQLITE_CHUNK):
        chunk = file_ids[start : start + SQLITE_CHUNK]
        found.update(
            (int(i), str(n)) for i, n in conn.execute(select(f.file_id, f.filename).where(f.file_id.in_(chunk)))
        )
    return found


# --- quarantine review ---------------------------------------------------------------------

# What a municipality did about a quarantined record.
REVIEW_OUTCOMES = {"resent": "訂正して再送した", "no_action": "対応不要(理由を記入)"}


def quarantined(
    conn: Connection,
    scope: frozenset[str] | None,
    *,
    open_only: bool = True,
    limit: int = 50,
    before: int | None = None,
) -> list[Any]:
    """Quarantined records (errors in a file that was applied: the rest of it went in), the
    newest first, with their file; ``open_only``: those not yet reviewed; ``before``: only
    rows with a lower result number (the next page)."""
    return list(conn.execute(quarantine_query(scope, open_only=open_only, limit=limit, before=before)).all())


def quarantine_query(scope: frozenset[str] | None, *, open_only: bool, limit: int, before: int | None) -> Any:
    """``quarantined``'s statement. Those not yet reviewed come through their partial index:
    after a few years nearly every error is reviewed, and a scan for the few that are not
    read every problem ever reported (2 M: 0.3–0.5 s a page)."""
    r, f = ingest_result.c, inbound_file.c
    stmt = (
        select(
            r.result_id,
            r.file_id,
            f.municipality_code,
            f.filename,
            f.kind,
            f.received_at,
            r.line_no,
            r.record_key,
            r.history_no,
            r.code,
            r.field,
            r.message,
            r.record,
            r.reviewed_at,
            r.reviewed_by,
            r.review_outcome,
            r.review_note,
        )
        .join(inbound_file, f.file_id == r.file_id)
        .where(r.result == ERROR, f.status == APPLIED)
        .order_by(r.result_id.desc())
        .limit(limit)
    )
    if scope is not None:
        stmt = stmt.where(f.municipality_code.in_(sorted(scope)))
    if open_only:
        stmt = stmt.where(r.reviewed_at.is_(None))
    if before is not None:
        stmt = stmt.where(r.result_id < before)
    return stmt


def quarantined_one(conn: Connection, result_id: int) -> Any:
    """One quarantined record with its file (None: no such record, or not quarantined)."""
    r, f = ingest_result.c, inbound_file.c
    return conn.execute(
        select(r.result_id, r.file_id, f.municipality_code, r.reviewed_at)
        .join(inbound_file, f.file_id == r.file_id)
        .where(r.result_id == result_id, r.result == ERROR, f.status == APPLIED)
    ).first()


def mark_reviewed(conn: Connection, result_id: int, *, at: Any, by: str, outcome: str, note: str) -> bool:
    """Record the review once: False when somebody else reviewed the record first."""
    r = ingest_result.c
    done = conn.execute(
        ingest_result.update()
        .where(r.result_id == result_id, r.reviewed_at.is_(None))
        .values(reviewed_at=at, reviewed_by=by, review_outcome=outcome, review_note=note or None)
    )
    return done.rowcount == 1
