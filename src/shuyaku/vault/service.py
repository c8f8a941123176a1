"""Vault operations inside the caller's transaction: look up, enrol, re-key.

The plain individual number exists only in the arguments of these functions and in the
local variables that compute its blind index or sealed copy.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import polars as pl
from sqlalchemy import Connection, LargeBinary, cast, func, select, update

from shuyaku.db.engine import bulk_insert
from shuyaku.db.query import Lookup, update_pairs
from shuyaku.db.schema import setting, vault_entry
from shuyaku.vault import rules
from shuyaku.vault.keys import KeyRing

_BY_BLIND_INDEX = Lookup([vault_entry.c.blind_index, vault_entry.c.pref_person_id], vault_entry.c.blind_index)


# Held shared by every file that looks persons up by number, from before the look-up to its
# commit (``identity.resolve``), and exclusively by what would change the answer under it:
# the erasure of numbers (``erasure.purge_numbers``) and a rotation of the index key.
IDENTITY_LOCK = "identity"
# The setting row naming the index key every blind index in the vault is under, written by
# the transaction of a rotation (absent until the first one: the key ring's current key).
INDEX_VERSION = "index_key_version"


class Vault:
    """The key ring, bound to the operations the rest of the system may ask for."""

    def __init__(self, keyring: KeyRing) -> None:
        self.keyring = keyring
        self._index_version = keyring.current["index"]
        self._index_key = keyring.key("index", self._index_version)
        self._seal_key = keyring.key("seal")

    @property
    def index_version(self) -> int:
        return self._index_version

    def follow(self, conn: Connection) -> None:
        """Compute blind indexes under the key the store's are under, as ``conn`` sees it.
        A rotation in another process re-keys every entry; a process still on the old key
        (a running server, a long ingest) would find nobody by number and number everyone
        anew. The new key's file is written before the rotation commits. One small read."""
        stored = conn.execute(select(setting.c.value).where(setting.c.key == INDEX_VERSION)).scalar()
        if stored is not None and int(stored) != self._index_version:
            self._index_version = int(stored)
            self._index_key = self.keyring.key("index", self._index_version)

    def blind_indexes(self, conn: Connection, individual_numbers: Sequence[str]) -> list[bytes]:
        """The numbers' blind indexes under the key the store's are under (``follow``)."""
        self.follow(conn)
        return rules.blind_indexes(self._index_key, individual_numbers)

    def persons_by_blind_index(self, conn: Connection, indexes: Sequence[bytes]) -> pl.DataFrame:
        """blind_index → pref_person_id for every index already enrolled."""
        return _BY_BLIND_INDEX(conn, indexes)

    def enrol(self, conn: Connection, persons: pl.DataFrame, numbers: Sequence[str], now: datetime) -> int:
        """Store a vault entry for each new person (``persons``: pref_person_id, blind_index)."""
        seal_key, version = self._seal_key, self.keyring.current["seal"]
        sealed = rules.seal_many(
            seal_key,
            (
                (number.encode("ascii"), pid.encode("ascii"))
                for pid, number in zip(persons["pref_person_id"], numbers, strict=True)
            ),
        )
        frame = persons.select("pref_person_id", "blind_index").with_columns(
            pl.lit(self.index_version).alias("index_key_version"),
            pl.Series("sealed", sealed, dtype=pl.Binary),
            pl.lit(version).alias("seal_key_version"),
            pl.lit(now).alias("updated_at"),
        )
        return bulk_insert(conn, vault_entry, frame)


def rekey_blind_indexes(conn: Connection, keyring: KeyRing, new_version: int, now: datetime) -> int:
    """Re-compute every blind index under index key ``new_version`` from the sealed copies.

    Runs inside the caller's transaction. Person IDs are untouched.
    """
    new_key = keyring.key("index", new_version)
    seal_keys: dict[int, bytes] = {}
    rows = conn.execute(
        select(vault_entry.c.pref_person_id, vault_entry.c.sealed, vault_entry.c.seal_key_version)
    ).all()
    # Blind indexes are unique: move every row to a temporary value first, so that the new
    # set never collides with the old one half-way through.
    # (A person ID's bytes — 8 of its number, or its digits — never equal a 32-byte index.)
    person = vault_entry.c.pref_person_id
    placeholder = func.int8send(person) if conn.dialect.name == "postgresql" else cast(person, LargeBinary)
    conn.execute(update(vault_entry).values(blind_index=placeholder))
    updates = []
    for pid, sealed, seal_version in rows:
        key = seal_keys.get(seal_version)
        if key is None:  # each key version's file read once, not once an entry
            key = seal_keys[seal_version] = keyring.key("seal", seal_version)
        number = rules.unseal(key, bytes(sealed), pid.encode("ascii")).decode("ascii")
        updates.append((pid, rules.blind_index(new_key, number)))
    update_pairs(conn, person, vault_entry.c.blind_index, updates, index_key_version=new_version, updated_at=now)
    return len(updates)
