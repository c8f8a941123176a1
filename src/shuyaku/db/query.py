"""Set-at-a-time look-ups: fetch the rows whose key is in a (possibly huge) list of values."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl
from sqlalchemy import ColumnElement, Connection, Select, String, any_, bindparam, func, select

from shuyaku import ids
from shuyaku.db.engine import is_postgres

SQLITE_CHUNK = 900  # under SQLite's bound-parameter limit on every build
POSTGRES_CHUNK = 200_000


def rows_to_frame(rows: Sequence[Any], columns: list[str], schema: dict[str, Any] | None = None) -> pl.DataFrame:
    data = {name: [row[i] for row in rows] for i, name in enumerate(columns)}
    return pl.DataFrame(data, schema=schema or {name: pl.String for name in columns})


def fetch_in(
    conn: Connection,
    columns: Sequence[ColumnElement[Any]],
    key: ColumnElement[Any],
    values: Sequence[str],
    *where: ColumnElement[bool],
    schema: dict[str, Any] | None = None,
) -> pl.DataFrame:
    """``SELECT columns WHERE key IN values AND where…`` as a frame, chunked for the backend."""
    names = [str(c.key) for c in columns]
    unique = list(dict.fromkeys(values))
    rows: list[Any] = []
    if is_postgres(conn):
        # One text parameter split on the server: no per-value adaptation in Python. Keys
        # here are digits or hex, never containing the separator.
        param = func.string_to_array(bindparam("keys", type_=String), ",")
        stmt: Select[Any] = select(*columns).where(key == any_(param), *where)
        for start in range(0, len(unique), POSTGRES_CHUNK):
            rows.extend(conn.execute(stmt, {"keys": ",".join(unique[start : start + POSTGRES_CHUNK])}).all())
    else:
        for start in range(0, len(unique), SQLITE_CHUNK):
            chunk = unique[start : start + SQLITE_CHUNK]
            rows.extend(conn.execute(select(*columns).where(key.in_(chunk), *where)).all())
    return rows_to_frame(rows, names, schema)


def unused_pref_ids(conn: Connection, column: Any, prefecture: str, kind: str, count: int) -> list[str]:
    """``count`` new random 13-digit prefecture IDs that no row of ``column`` holds yet."""
    issued: list[str] = []
    while len(issued) < count:
        batch = ids.new_pref_id_batch(prefecture, kind, count - len(issued), taken=issued)
        clash = set(fetch_in(conn, [column], column, batch)[column.key].to_list())
        issued.extend(i for i in batch if i not in clash)
    return issued
