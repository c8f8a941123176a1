from __future__ import annotations

import pytest
from cryptography.exceptions import InvalidTag

from shuyaku.vault import rules
from shuyaku.vault.keys import KeyRing
from tests.builders import number


def test_blind_index_is_deterministic_per_key_and_differs_across_keys() -> None:
    n = number(1)
    k1, k2 = b"\x01" * 32, b"\x02" * 32
    assert rules.blind_index(k1, n) == rules.blind_index(k1, n)
    assert rules.blind_index(k1, n) != rules.blind_index(k2, n)
    assert rules.blind_indexes(k1, [n, number(2)]) == [rules.blind_index(k1, n), rules.blind_index(k1, number(2))]
    assert len(rules.blind_index(k1, n)) == rules.BLIND_INDEX_BYTES and n.encode() not in rules.blind_index(k1, n)


def test_sealed_number_opens_only_with_its_key_and_person() -> None:
    key = b"\x03" * 32
    sealed = rules.seal(key, number(5).encode(), b"1110000000001")
    assert number(5).encode() not in sealed
    assert rules.unseal(key, sealed, b"1110000000001") == number(5).encode()
    with pytest.raises(InvalidTag):
        rules.unseal(key, sealed, b"1110000000002")  # moved to another person's row
    with pytest.raises(InvalidTag):
        rules.unseal(b"\x04" * 32, sealed, b"1110000000001")


def test_keyring_files_are_private_and_versioned(tmp_path) -> None:  # type: ignore[no-untyped-def]
    ring = KeyRing.create(tmp_path / "keys")
    assert ring.current == {"index": 1, "seal": 1, "archive": 1, "secret": 1}
    assert all((p.stat().st_mode & 0o077) == 0 for p in (tmp_path / "keys").glob("*.key"))
    v2 = ring.rotate("index")
    assert v2 == 2 and ring.current["index"] == 1 and ring.key("index", 2) != ring.key("index", 1)
    ring.make_current("index", 2)
    assert KeyRing.load(tmp_path / "keys").current["index"] == 2


def test_an_older_key_ring_gains_the_purposes_added_since(tmp_path) -> None:  # type: ignore[no-untyped-def]
    ring = KeyRing.create(tmp_path / "keys")
    (tmp_path / "keys" / "secret-v1.key").unlink()
    del ring.current["secret"]
    ring._save()
    older = KeyRing.load(tmp_path / "keys")
    assert older.ensure_purposes() == ["secret"] and KeyRing.load(tmp_path / "keys").current["secret"] == 1
    assert older.ensure_purposes() == []
