"""The inbox ledger (受信ファイル台帳): what became of every file offered."""

from __future__ import annotations

from typing import Any

import polars as pl
from sqlalchemy import Connection, func, insert, select

from shuyaku.db.engine import bulk_insert
from shuyaku.db.schema import inbound_file, ingest_result, municipality
from shuyaku.exchange.layouts import Layout

APPLIED, DUPLICATE, REJECTED, HELD = "applied", "duplicate", "rejected", "held"


def municipality_row(conn: Connection, code: str) -> Any:
    return conn.execute(select(municipality).where(municipality.c.municipality_code == code)).first()


def lock_sender(conn: Connection, code: str) -> None:
    """Serialise ingests of one sender (PostgreSQL row lock; SQLite has one writer anyway)."""
    if conn.dialect.name == "postgresql":
        conn.execute(select(municipality.c.municipality_code).where(municipality.c.municipality_code == code).with_for_update())


def last_applied_seq(conn: Connection, code: str, kind: str) -> int:
    f = inbound_file.c
    stmt = select(func.max(f.seq)).where(f.municipality_code == code, f.kind == kind, f.status == APPLIED)
    return int(conn.execute(stmt).scalar() or 0)


def earlier_copy(conn: Connection, sha256: str) -> Any:
    """A file with the same content that was applied, or is held waiting (a re-send)."""
    f = inbound_file.c
    stmt = select(inbound_file).where(f.sha256 == sha256, f.status.in_([APPLIED, HELD])).order_by(f.file_id)
    return conn.execute(stmt).first()


def held_waiting(conn: Connection, code: str, kind: str, seq: int) -> Any:
    """The newest held file for exactly this sequence number that waits for its predecessor."""
    f = inbound_file.c
    stmt = (
        select(inbound_file)
        .where(f.municipality_code == code, f.kind == kind, f.seq == seq, f.status == HELD, f.error_code == "E005")
        .order_by(f.file_id.desc())
    )
    return conn.execute(stmt).first()


def record_file(conn: Connection, **values: Any) -> int:
    return int(conn.execute(insert(inbound_file).values(**values).returning(inbound_file.c.file_id)).scalar_one())


def record_results(conn: Connection, file_id: int, layout: Layout | None, problems: pl.DataFrame, records: pl.DataFrame | None) -> None:
    """Store one 取込結果 row per record with a problem; errors keep the record (no 個人番号)."""
    if problems.height == 0:
        return
    frame = problems
    if records is not None and layout is not None:
        shown = [f for f in layout.fields if f.check != "individual"]
        as_json = pl.struct([pl.col(f.column).alias(f.label) for f in shown]).struct.json_encode()
        keyed = records.select(
            "line_no",
            pl.col(layout.record_key).alias("record_key"),
            pl.col("history_no").cast(pl.String).alias("history_no") if "history_no" in records.columns else pl.lit(None, pl.String).alias("history_no"),
            as_json.alias("_json"),
        )
        frame = frame.join(keyed, on="line_no", how="left").with_columns(
            pl.when(pl.col("result") == "9").then(pl.col("_json")).alias("record")
        ).drop("_json")
    else:
        frame = frame.with_columns(pl.lit(None, pl.String).alias(c) for c in ("record_key", "history_no", "record"))
    bulk_insert(conn, ingest_result, frame.select(
        pl.lit(file_id).alias("file_id"), "line_no", "record_key", "history_no", "result", "code", "field", "message", "record"))


def list_files(conn: Connection, *, status: str | None = None, municipality_code: str | None = None,
               limit: int = 200) -> list[Any]:
    """The newest ledger rows first (受信ファイル一覧)."""
    f = inbound_file.c
    stmt = select(inbound_file).order_by(f.file_id.desc()).limit(limit)
    if status:
        stmt = stmt.where(f.status == status)
    if municipality_code:
        stmt = stmt.where(f.municipality_code == municipality_code)
    return list(conn.execute(stmt).all())
