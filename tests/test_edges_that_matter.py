"""Edges a mutation run showed no test guarding (the last issue's list of survivors): each
assertion here fails when the matching comparison, constant or argument check is changed."""

from __future__ import annotations

import hashlib
from datetime import date

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shuyaku import ids
from shuyaku.audit import merkle
from shuyaku.kogaku import rules, tasuukai
from shuyaku.vault import rules as vault_rules


def test_the_window_starts_exactly_at_m_minus_11_and_crosses_the_year() -> None:
    assert tasuukai.window("202611") == ("202512", "202610")
    assert tasuukai.window("202701") == ("202602", "202612")  # October–December are months too
    assert tasuukai.window("201805") == ("201804", "201804")  # never before 2018-04 (K9)
    assert tasuukai.shift("202612", 1) == "202701" and tasuukai.shift("202601", -1) == "202512"
    for bad in ("202600", "202613"):
        with pytest.raises(tasuukai.CountError):
            tasuukai.check_month(bad)


def test_hits_exactly_at_the_window_edges() -> None:
    first, last = tasuukai.window("202611")
    counted = rules.hits_in_window("2026-11", ["2025-11", "2025-12", "2026-10", "2026-11"])
    assert counted == ["2025-12", "2026-10"]  # m−12 and m itself are out, m−11 and m−1 in
    assert (first, last) == ("202512", "202610")


def test_born_29_february_reaches_70_on_28_february_in_a_common_year() -> None:
    born = date(1956, 2, 29)  # 70th birthday 1 March 2026 (common year); reaches 70 on 28 February
    assert rules.age_band(born, "2026-02") == (rules.UNDER70, False)
    assert rules.age_band(born, "2026-03") == (rules.OVER70, False)


def test_the_month_before_the_75th_birthday_month_is_a_whole_month() -> None:
    born = date(1951, 12, 15)  # 75 on 15 December 2026
    assert rules.age_band(born, "2026-11") == (rules.OVER70, False)
    assert rules.age_band(born, "2026-12") == (rules.OVER70, True)
    with pytest.raises(ValueError):
        rules.age_band(born, "2027-01")  # 後期高齢者医療 all month


def test_id_partitions_are_disjoint_and_bounded() -> None:
    for slot, slots in ((2, 2), (-1, 2), (0, 0)):
        with pytest.raises(ValueError):
            ids.set_id_partition(slot, slots)
    with pytest.raises(ValueError):
        ids.new_pref_id("1", ids.PERSON_KIND)
    with pytest.raises(ValueError):
        ids.new_pref_id("11", "3")
    with pytest.raises(ValueError):
        ids.insurer_check_digit("12a4")


def test_merkle_refuses_sizes_and_indexes_out_of_range() -> None:
    tree = merkle.Levels(b"".join(hashlib.sha256(bytes([i])).digest() for i in range(5)))
    assert tree.root(0) == merkle.EMPTY_ROOT
    with pytest.raises(ValueError):
        tree.root(6)
    with pytest.raises(ValueError):
        tree.inclusion_proof(5, 5)
    with pytest.raises(ValueError):
        tree.inclusion_proof(0, 6)
    with pytest.raises(ValueError):
        merkle.Levels(b"short")


def test_the_sealed_format_is_nonce_then_ciphertext_and_tag() -> None:
    """Stored rows must stay readable: a blob made by hand in the documented layout
    (12-byte nonce ‖ AES-256-GCM ciphertext ‖ 16-byte tag, the context as associated data)
    opens, and a new seal has that length."""
    key, nonce, context, plain = bytes(range(32)), bytes(range(12)), b"vault:v1", b"123456789018"
    blob = nonce + AESGCM(key).encrypt(nonce, plain, context)
    assert vault_rules.unseal(key, blob, context) == plain
    assert len(vault_rules.seal(key, plain, context)) == 12 + len(plain) + 16
