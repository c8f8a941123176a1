"""Named write locks held to the end of the caller's transaction, on both databases.

PostgreSQL: a transaction-level advisory lock on the name's key. SQLite has one writer for
the whole file, and Python's driver starts a transaction only at the first write, so
reading first and writing later lets two processes read the same state (the same last
連番, the same head of the access log) and both act on it. A write to the ``app_lock`` row
as the *first* statement takes the database's write lock before anything is read; a second
process waits there (the busy timeout) and then reads what the first one committed.
"""

from __future__ import annotations

import zlib
from typing import Any

from sqlalchemy import Connection, Select, text


def _key(name: str | int) -> int:
    return name if isinstance(name, int) else zlib.crc32(name.encode("utf-8"))


def write_lock(conn: Connection, name: str | int) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _key(name)})
        return
    # SQLite locks the whole file, so one row serves every name (and no name — a log-in ID
    # somebody typed — is ever stored).
    updated = conn.execute(text("UPDATE app_lock SET taken = taken + 1 WHERE name = 'write'")).rowcount
    if not updated:
        conn.execute(text("INSERT INTO app_lock (name, taken) VALUES ('write', 1)"))


def shared_lock(conn: Connection, name: str | int) -> None:
    """The lock ``name`` shared with every other holder of it in shared mode, to the end of
    the transaction: it only keeps out ``write_lock(name)``, which waits for every shared
    holder and is waited for by them. SQLite has one writer anyway: there it is the write lock."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock_shared(:k)"), {"k": _key(name)})
        return
    write_lock(conn, name)


def locked_first(conn: Connection, name: str | int, stmt: Select[Any]) -> tuple[Any, ...] | None:
    """Take the write lock, then read the first row of ``stmt``. On PostgreSQL the BEGIN,
    the lock and the query travel together (a psycopg pipeline: one round trip, not three);
    the query still runs only once the lock is granted, on a snapshot taken then, so it
    sees what the previous holder committed."""
    if conn.dialect.name != "postgresql":
        write_lock(conn, name)
        row = conn.execute(stmt).first()
        return None if row is None else tuple(row)
    compiled = stmt.compile(dialect=conn.dialect)
    raw = conn.connection.driver_connection
    with raw.pipeline():  # type: ignore[union-attr]
        raw.execute("SELECT pg_advisory_xact_lock(%s)", (_key(name),))  # type: ignore[union-attr]
        cursor = raw.execute(str(compiled), compiled.params)  # type: ignore[union-attr]
    found = cursor.fetchone()
    return None if found is None else tuple(found)
