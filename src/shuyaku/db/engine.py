"""Engine creation and the bulk-write helper shared by every batch path."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import polars as pl
from sqlalchemy import Connection, Engine, Table, create_engine, event

from shuyaku.db.schema import PrefId

POOL_SIZE = 20  # PostgreSQL connections kept per process (as many again may open at a peak)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 60})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA analysis_limit=1000")  # ANALYZE samples, as PostgreSQL's does
            cursor.execute("PRAGMA cache_size=-262144")
            cursor.close()

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    # Session settings travel with the connection request (no round trips after it):
    # bulk COPY writes naive UTC timestamps, so the session must read them as UTC; and key
    # lists arrive as one parameter (see db.query.Lookup), which only a plan made for the
    # actual list gets right — a generic plan guessed a sequential scan for ten keys at a
    # million rows.
    # The pool keeps as many connections as a server process has request threads, so a busy
    # minute reuses them instead of opening and closing one per request past the fifth.
    engine = create_engine(
        url,
        connect_args={"options": "-c timezone=UTC -c plan_cache_mode=force_custom_plan"},
        pool_size=POOL_SIZE,
        max_overflow=POOL_SIZE,
    )
    return engine


RUN_WAL_PAGES = 100_000  # about 400 MB of 4 KiB pages: how far the WAL grows in a run before a checkpoint


@contextmanager
def write_run(engine: Engine) -> Iterator[None]:
    """A run of many write transactions in this process (``ingest``): on SQLite, the WAL is
    copied into the database file once it holds ``RUN_WAL_PAGES`` pages and at the end of
    the run, instead of at every commit past SQLite's 1,000 — so a page the run writes again
    and again (an index's) is copied once, not once per file. Every commit of the run is
    made durable by itself (``synchronous=FULL``: the WAL is flushed to disk at each commit),
    as it was before by the checkpoint that each large file's commit set off. At the end the
    run's connections are closed, so that no pooled connection keeps these settings (the
    last connection to close copies the WAL into the database and removes it), and the WAL
    is checkpointed without waiting for anyone, for when another process still has the
    database open. PostgreSQL: nothing to do."""
    if engine.dialect.name != "sqlite":
        yield
        return

    def for_the_run(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA wal_autocheckpoint={RUN_WAL_PAGES}")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    event.listen(engine, "checkout", for_the_run)
    try:
        yield
    finally:
        event.remove(engine, "checkout", for_the_run)
        engine.dispose()
        with engine.connect() as conn:  # what a reader elsewhere still needs waits for the next checkpoint
            conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")


FIRST_ANALYZE_AT = 20_000  # rows written by this process; then at twice as many, and so on


def refresh_statistics(engine: Engine, tables: list[str], *, sample_target: int | None = None) -> None:
    """ANALYZE after bulk writes. Autovacuum gets there too, but a minute late: until then
    the planner believes the tables are as small as before the load and reads a million
    rows to find ten. ``sample_target`` (PostgreSQL's statistics target for this ANALYZE
    only) samples fewer rows: enough for a load under way, whose look-ups need the tables'
    size, not the distribution of every column (SQLite samples as ``analysis_limit`` says)."""
    for name in tables:
        with engine.begin() as conn:  # one table a transaction: its lock is held until the commit
            if sample_target is not None and is_postgres(conn):
                conn.exec_driver_sql(f"SET LOCAL default_statistics_target = {int(sample_target)}")
            conn.exec_driver_sql(f'ANALYZE "{name}"')


def is_postgres(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def bulk_insert(conn: Connection, table: Table, frame: pl.DataFrame) -> int:
    """Insert every row of ``frame`` (columns named as in ``table``) inside ``conn``'s transaction.

    PostgreSQL gets one COPY; SQLite an executemany. Either way no per-row round trip of
    the ORM, and the rows are part of the caller's transaction.
    """
    if frame.height == 0:
        return 0
    columns = frame.columns
    if is_postgres(conn):
        # COPY reads a prefecture ID's 13 digits into its bigint column (schema.PrefId) as
        # they are; times go as UTC without a zone, raw bytes as bytea's hex.
        fixes = [
            pl.col(name).dt.replace_time_zone(None)
            for name, dtype in frame.schema.items()
            if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None
        ] + [
            pl.col(name).bin.encode("hex").map_batches(lambda s: "\\x" + s, return_dtype=pl.String)
            for name, dtype in frame.schema.items()
            if dtype == pl.Binary
        ]
        prepared = frame.with_columns(fixes) if fixes else frame
        payload = prepared.write_csv(include_header=False, datetime_format="%Y-%m-%d %H:%M:%S%.f")
        raw: Any = conn.connection.driver_connection
        column_list = ", ".join(f'"{c}"' for c in columns)
        with (
            raw.cursor() as cursor,
            cursor.copy(f'COPY "{table.name}" ({column_list}) FROM STDIN WITH (FORMAT csv)') as copy,
        ):
            copy.write(payload.encode("utf-8"))
        return frame.height
    # SQLite: the values as SQLAlchemy itself stores them (ISO text for dates and times,
    # 0/1 for booleans, prefecture IDs as numbers), handed to executemany in one call.
    fixes = (
        [_sqlite_text(name, dtype) for name, dtype in frame.schema.items() if isinstance(dtype, (pl.Datetime, pl.Date))]
        + [pl.col(name).cast(pl.Int8) for name, dtype in frame.schema.items() if dtype == pl.Boolean]
        + [
            pl.col(name).cast(pl.Int64)
            for name in columns
            if isinstance(table.c[name].type, PrefId) and frame.schema[name] == pl.String
        ]
    )
    prepared = frame.with_columns(fixes) if fixes else frame
    placeholders = ", ".join("?" for _ in columns)
    column_list = ", ".join(f'"{c}"' for c in columns)
    conn.exec_driver_sql(f'INSERT INTO "{table.name}" ({column_list}) VALUES ({placeholders})', prepared.rows())
    return frame.height


def _sqlite_text(name: str, dtype: pl.DataType) -> pl.Expr:
    col = pl.col(name)
    if isinstance(dtype, pl.Date):
        return col.dt.strftime("%Y-%m-%d")
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
        col = col.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    return col.dt.strftime("%Y-%m-%d %H:%M:%S.%6f")


def _conflict_errors() -> tuple[type[BaseException], ...]:
    """What a transaction raises when another one conflicted with it (a unique key taken
    meanwhile, a deadlock, a lock wait given up): through SQLAlchemy, or raw from the
    driver's COPY in ``bulk_insert``."""
    from sqlalchemy.exc import IntegrityError, OperationalError

    found: list[type[BaseException]] = [IntegrityError, OperationalError]
    try:
        import psycopg

        found += [psycopg.IntegrityError, psycopg.OperationalError]
    except ImportError:  # SQLite only
        pass
    return tuple(found)


CONFLICT_ERRORS = _conflict_errors()
