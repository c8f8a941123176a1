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

from sqlalchemy import Connection, text


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
