"""Set-at-a-time look-ups: fetch the rows whose key is in a (possibly huge) list of values."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date
from typing import Any

import polars as pl
from sqlalchemy import (
    ARRAY,
    BigInteger,
    ColumnElement,
    Connection,
    Date,
    Engine,
    LargeBinary,
    Select,
    String,
    Table,
    Text,
    any_,
    bindparam,
    cast,
    func,
    literal,
    select,
    true,
    type_coerce,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from shuyaku import ids
from shuyaku.db.engine import is_postgres
from shuyaku.db.schema import PREF_ID_DIGITS, PrefId, as_number

SQLITE_CHUNK = 900  # under SQLite's bound-parameter limit on every build
POSTGRES_CHUNK = 200_000


def rows_to_frame(rows: Sequence[Any], columns: list[str], schema: dict[str, Any] | None = None) -> pl.DataFrame:
    data = {name: [row[i] for row in rows] for i, name in enumerate(columns)}
    return pl.DataFrame(data, schema=schema or {name: pl.String for name in columns})


def read_frame(conn: Connection, stmt: Select[Any], schema: dict[str, Any]) -> pl.DataFrame:
    """Every row of ``stmt`` as a frame of ``schema`` (one name per selected column, in order).
    A prefecture ID comes as its 13-digit text, or as its number where ``schema`` says
    ``pl.Int64`` (a batch that joins and groups millions of them).

    PostgreSQL streams the result with ``COPY (…) TO STDOUT`` and Polars parses it: a
    batch's read of millions of rows costs what the server takes to send them, not a
    Python object per value (the CSV quotes an empty text, so it stays apart from NULL).
    SQLite is in this process already; its rows go straight into the frame.
    """
    names = list(schema)
    if not is_postgres(conn):  # the column type has written each ID as its text already
        numbered = [name for name in _pref_ids(stmt, names) if schema[name] == pl.Int64]
        as_text = {name: (pl.String if name in numbered else dtype) for name, dtype in schema.items()}
        frame = rows_to_frame(conn.execute(stmt).all(), names, as_text)
        return frame.with_columns(pl.col(name).cast(pl.Int64) for name in numbered) if numbered else frame
    compiled = _with_values(stmt, conn.dialect)
    buffer = io.BytesIO()
    raw: Any = conn.connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(f"COPY ({compiled}) TO STDOUT WITH (FORMAT csv)") as copy:
        for chunk in copy:
            buffer.write(chunk)
    if buffer.tell() == 0:
        return pl.DataFrame(schema=schema)
    # Booleans arrive as t/f; everything else parses as the schema says.
    as_read = {name: (pl.String if dtype == pl.Boolean else dtype) for name, dtype in schema.items()}
    buffer.seek(0)
    frame = pl.read_csv(buffer, has_header=False, new_columns=names, schema=as_read)
    fixes = [pl.col(name) == "t" for name, dtype in schema.items() if dtype == pl.Boolean]
    fixes += [ids_as_text(name) for name in _pref_ids(stmt, names) if schema[name] == pl.String]
    return frame.with_columns(fixes) if fixes else frame


def _with_values(stmt: Select[Any], dialect: Any) -> str:
    """The statement's text with its values written in by the column types themselves (a
    prefecture ID as its number): COPY takes no parameters of its own, nor does the ADBC
    read of a COPY."""
    return str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def _pref_ids(stmt: Select[Any], names: list[str]) -> list[str]:
    """The names of the selected columns that hold prefecture IDs."""
    return [name for name, column in zip(names, stmt.selected_columns, strict=True) if isinstance(column.type, PrefId)]


def ids_as_text(name: str) -> pl.Expr:
    """A column of prefecture IDs as their numbers, written as the 13-digit text."""
    return pl.col(name).cast(pl.String).str.zfill(PREF_ID_DIGITS)


def read_alongside(conn: Connection, stmt: Select[Any], schema: dict[str, Any]) -> Callable[[], pl.DataFrame]:
    """``read_bulk`` started now on another thread, while ``conn`` goes on with its own
    reads; call the result for the frame (a batch reads two large tables in the time of the
    larger). SQLite reads at once."""
    if not is_postgres(conn):
        frame = read_frame(conn, stmt, schema)
        return lambda: frame
    snapshot, engine = _export_snapshot(conn), conn.engine
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="read-alongside")
    future = pool.submit(_read_arrow, engine, snapshot, stmt, schema)
    pool.shutdown(wait=False)
    return future.result


def read_bulk(conn: Connection, stmt: Select[Any], schema: dict[str, Any]) -> pl.DataFrame:
    """``read_frame`` for a batch's largest reads (millions of rows). On PostgreSQL the rows
    come over a connection of their own through ADBC: the server sends them as binary COPY
    and the driver builds Arrow columns that Polars takes as they are — no Python object,
    not even a CSV line, per row, and the interpreter is free meanwhile (two such reads on
    two threads overlap). That connection imports ``conn``'s snapshot, so it sees exactly
    what ``conn``'s transaction sees at this moment — what others committed since is not
    seen, and neither is what ``conn`` itself has written and not committed: call it before
    the transaction writes. Opening the connection costs some milliseconds: not for the
    small look-ups of each file. SQLite: ``read_frame``."""
    if not is_postgres(conn):
        return read_frame(conn, stmt, schema)
    return _read_arrow(conn.engine, _export_snapshot(conn), stmt, schema)


def _export_snapshot(conn: Connection) -> str:
    snapshot = str(conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one())
    if not _SNAPSHOT_ID.fullmatch(snapshot):
        raise ValueError(f"unexpected snapshot id {snapshot!r}")
    return snapshot


def _read_arrow(engine: Engine, snapshot: str, stmt: Select[Any], schema: dict[str, Any]) -> pl.DataFrame:
    """``stmt`` over ADBC in a READ ONLY transaction that imports ``snapshot``; the columns
    named and typed as ``schema`` says (a prefecture ID as ``read_frame`` gives it)."""
    import adbc_driver_postgresql  # only the batches use it: not imported by every command
    from adbc_driver_manager import AdbcConnection, AdbcStatement

    sql = _with_values(stmt, engine.dialect)
    uri = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with adbc_driver_postgresql.connect(uri) as database, AdbcConnection(database) as adbc:
        adbc.set_autocommit(False)
        for command in (
            "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY",
            f"SET TRANSACTION SNAPSHOT '{snapshot}'",
        ):
            with AdbcStatement(adbc) as setting:
                setting.set_sql_query(command)
                setting.execute_update()
        with AdbcStatement(adbc) as statement:
            statement.set_sql_query(sql)
            stream, _ = statement.execute_query()
            frame = pl.DataFrame(stream)
        adbc.rollback()
    names = list(schema)
    frame.columns = names
    texts = [name for name in _pref_ids(stmt, names) if schema[name] == pl.String]
    return frame.with_columns(ids_as_text(name) if name in texts else pl.col(name).cast(schema[name]) for name in names)


_SNAPSHOT_ID = re.compile(r"[0-9A-F-]+")


@contextmanager
def one_snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection whose statements all see one state of the store, for a batch's reads
    (nothing is written in it): on PostgreSQL a REPEATABLE READ, READ ONLY transaction (a
    ``read_alongside`` from it shares its snapshot); on SQLite an explicit BEGIN, since the
    driver would begin a transaction only before a write and each read would see the store
    as it is at that moment. A batch then writes in a transaction of its own, which sees
    what others committed meanwhile (and waits for their locks) as it always did."""
    postgres = engine.dialect.name == "postgresql"
    conn = engine.connect()
    if postgres:
        conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
    with conn, conn.begin():
        if not postgres:
            conn.exec_driver_sql("BEGIN")
        yield conn


class Lookup:
    """``SELECT columns WHERE key IN values AND where…`` as a frame, chunked for the backend,
    its statement built once per backend: make it once (a module constant) and call it per
    file — building and keying a fresh statement cost a third of running it. ``where``
    holds constants or named ``bindparam``s whose values come as keywords to the call
    (``keys`` is the look-up's own). Without ``schema`` every column is text, and raw bytes
    (a blind index) stay bytes."""

    def __init__(
        self,
        columns: Sequence[ColumnElement[Any]],
        key: ColumnElement[Any],
        *where: ColumnElement[bool],
        schema: dict[str, Any] | None = None,
    ) -> None:
        self.columns, self.key, self.where = list(columns), key, where
        self.names = [str(c.key) for c in columns]
        self.schema = schema or {
            str(c.key): pl.Binary if isinstance(c.type, LargeBinary) else pl.String for c in columns
        }
        self._statements: dict[str, Select[Any]] = {}

    @classmethod
    def of(cls, table: Table, schema: dict[str, Any], key: str, *where: ColumnElement[bool]) -> Lookup:
        """The columns of ``table`` that ``schema`` names, as typed there, by ``key``."""
        return cls([table.c[name] for name in schema], table.c[key], *where, schema=schema)

    def __call__(self, conn: Connection, values: Sequence[Any], **params: Any) -> pl.DataFrame:
        stmt = self._statements.get(conn.dialect.name)
        if stmt is None:
            stmt = self._statements[conn.dialect.name] = self._statement(conn)
        key = self.key
        unique = list(dict.fromkeys(values))
        rows: list[Any] = []
        if is_postgres(conn):
            binary = isinstance(key.type, LargeBinary)
            if isinstance(key.type, PrefId):  # what is no ID matches nothing
                unique = [v for v in unique if as_number(v) >= 0]
            for start in range(0, len(unique), POSTGRES_CHUNK):
                chunk = unique[start : start + POSTGRES_CHUNK]
                joined = _bytea_text(chunk) if binary else ",".join(chunk)
                rows.extend(conn.execute(stmt, {**params, "keys": joined}).all())
        elif isinstance(key.type, LargeBinary):  # bytes do not travel in JSON: bound in chunks
            for start in range(0, len(unique), SQLITE_CHUNK):
                rows.extend(conn.execute(stmt, {**params, "keys": unique[start : start + SQLITE_CHUNK]}).all())
        else:
            listed = [as_number(v) for v in unique] if isinstance(key.type, PrefId) else unique
            rows.extend(conn.execute(stmt, {**params, "keys": json.dumps(listed)}).all())
        return rows_to_frame(rows, self.names, self.schema)

    def _statement(self, conn: Connection) -> Select[Any]:
        key = self.key
        columns = [_id_text(conn, c) if isinstance(c.type, PrefId) else c for c in self.columns]
        matches: ColumnElement[bool]
        if is_postgres(conn):
            if isinstance(key.type, LargeBinary):  # raw bytes (blind indexes)
                matches = key == any_(_bytea_array("keys"))
            elif isinstance(key.type, PrefId):  # numbers in the store
                matches = key == any_(_bigint_array("keys"))
            else:
                # One text parameter split on the server: no per-value adaptation in Python.
                # Text keys here are digits, never containing the separator.
                matches = key == any_(func.string_to_array(bindparam("keys", type_=String), ","))
        elif isinstance(key.type, LargeBinary):
            matches = key.in_(bindparam("keys", expanding=True))
        else:
            # One JSON parameter unpacked by SQLite (json_each): one statement, compiled once,
            # instead of a statement of 900 bound values per chunk.
            keys = func.json_each(bindparam("keys", type_=String)).table_valued("value")
            matches = key.in_(select(keys.c.value))
        return select(*columns).where(matches, *self.where)


def update_rows(conn: Connection, key: ColumnElement[int], ids: Sequence[int], **values: Any) -> None:
    """``UPDATE … SET values WHERE key IN ids`` for integer row keys, as one statement (a
    PostgreSQL chunk: one ``bigint[]`` split from one text parameter; SQLite: one JSON
    parameter unpacked by ``json_each``) — not one statement per row."""
    if not ids:
        return
    table = key.table
    if is_postgres(conn):
        stmt = update(table).where(key == any_(_bigint_array("ids"))).values(**values)
        for start in range(0, len(ids), POSTGRES_CHUNK):
            conn.execute(stmt, {"ids": ",".join(str(int(i)) for i in ids[start : start + POSTGRES_CHUNK])})
        return
    listed = func.json_each(bindparam("ids", type_=String)).table_valued("value")
    stmt = update(table).where(key.in_(select(listed.c.value))).values(**values)
    conn.execute(stmt, {"ids": json.dumps([int(i) for i in ids])})


def update_pairs(
    conn: Connection,
    key: ColumnElement[Any],
    column: ColumnElement[Any],
    pairs: Sequence[tuple[Any, Any]],
    **values: Any,
) -> None:
    """For each (key, value) of ``pairs`` — a key as the column takes it (a prefecture ID as
    its 13 digits), a value raw bytes or, for a date column, a date or None:
    ``UPDATE … SET column = value, values… WHERE key = key``. PostgreSQL gets one statement,
    the pairs as two arrays unnested on the server (each sent as one text parameter); SQLite
    an executemany."""
    if not pairs:
        return
    table = key.table
    if is_postgres(conn):
        array, as_text = (_date_array, _date_text) if isinstance(column.type, Date) else (_bytea_array, _bytea_text)
        given = func.unnest(_bigint_array("keys"), array("values")).table_valued("k", "v").render_derived()
        stmt = update(table).where(key == given.c.k).values({column.key: given.c.v, **values})
        for start in range(0, len(pairs), POSTGRES_CHUNK):
            chunk = pairs[start : start + POSTGRES_CHUNK]
            numbers = (as_number(k) if isinstance(key.type, PrefId) else int(k) for k, _ in chunk)
            conn.execute(stmt, {"keys": ",".join(map(str, numbers)), "values": as_text(v for _, v in chunk)})
        return
    stmt = update(table).where(key == bindparam("_k")).values({column.key: bindparam("_v"), **values})
    conn.execute(stmt, [{"_k": k, "_v": v} for k, v in pairs])


def _bigint_array(name: str) -> ColumnElement[Any]:
    """PostgreSQL: the numbers of one comma-separated text parameter as a ``bigint[]`` (one
    parameter, split on the server: no per-value adaptation in Python)."""
    return cast(func.string_to_array(bindparam(name, type_=String), ","), ARRAY(BigInteger))


def _bytea_array(name: str) -> ColumnElement[Any]:
    """PostgreSQL: raw bytes sent as one text parameter of comma-separated ``\\x``-hex
    values, a ``bytea[]`` on the server. A ``bytea[]`` parameter cost two Python calls per
    value (SQLAlchemy's and psycopg's adapters): 10,000 blind indexes took longer to bind
    than to look up."""
    return cast(func.string_to_array(bindparam(name, type_=String), ","), ARRAY(LargeBinary))


def _bytea_text(values: Iterable[bytes]) -> str:
    """The value of a ``_bytea_array`` parameter."""
    return ",".join("\\x" + value.hex() for value in values)


def _date_array(name: str) -> ColumnElement[Any]:
    """PostgreSQL: dates sent as one text parameter of comma-separated ISO dates, an empty
    one NULL: a ``date[]`` on the server."""
    return cast(func.string_to_array(bindparam(name, type_=String), ",", ""), ARRAY(Date))


def _date_text(values: Iterable[date | None]) -> str:
    """The value of a ``_date_array`` parameter."""
    return ",".join("" if value is None else value.isoformat() for value in values)


def _id_text(conn: Connection, column: ColumnElement[Any]) -> ColumnElement[str]:
    """A prefecture ID as its 13 digits, written by the database (schema.PrefId stores the
    number): a result of many thousand IDs costs no Python call per value."""
    if is_postgres(conn):
        text = func.lpad(cast(column, Text), PREF_ID_DIGITS, "0")
    else:  # the last 13 characters of zeros and the number; NULL stays NULL (printf made it 0)
        text = func.substr(literal("0" * (PREF_ID_DIGITS - 1), String) + cast(column, Text), -PREF_ID_DIGITS)
    return type_coerce(text, String).label(str(column.key))


def insert_new_ids(conn: Connection, table: Table, prefecture: str, kind: str, count: int, **values: Any) -> list[str]:
    """Insert ``count`` rows into ``table`` under new random 13-digit prefecture IDs (its
    primary key), every other column from ``values``; return the IDs.

    One statement a round: a drawn ID that a row holds already is left out by the insert
    itself (``ON CONFLICT DO NOTHING``), and only those are drawn again — the primary key's
    own check, instead of a look-up of every new ID before the insert."""
    key = table.primary_key.columns[0]
    postgres = is_postgres(conn)
    if postgres:
        drawn: Any = func.unnest(_bigint_array("drawn")).table_valued("value").render_derived()
    else:  # SQLite takes the drawn numbers as one JSON array
        drawn = func.json_each(bindparam("drawn", type_=String)).table_valued("value")
    rows = select(drawn.c.value, *(literal(v, type_=table.c[n].type) for n, v in values.items()))
    # "WHERE true": SQLite would read ON CONFLICT as part of the SELECT's join without it.
    stmt = (
        (pg_insert if postgres else sqlite_insert)(table)
        .from_select([key.name, *values], rows.where(true()))
        .on_conflict_do_nothing(index_elements=[key])
        .returning(_id_text(conn, key))
    )
    issued: list[str] = []
    while len(issued) < count:
        batch = ids.new_pref_id_batch(prefecture, kind, count - len(issued), taken=issued)
        listed = ",".join(batch) if postgres else json.dumps([int(i) for i in batch])
        issued.extend(conn.execute(stmt, {"drawn": listed}).scalars())
    return issued
