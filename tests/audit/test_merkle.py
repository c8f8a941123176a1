"""RFC 6962 Merkle trees: the Certificate Transparency / transparency-dev reference vectors,
every proof of every small tree, and forged proofs rejected."""

from __future__ import annotations

import hashlib

import pytest

from shuyaku.audit.merkle import (
    EMPTY_ROOT,
    Levels,
    leaf_hash,
    root_of,
    verify_consistency,
    verify_inclusion,
)

# The reference leaves and the root of each size 0…8 (RFC 6962 test data, as published by
# transparency-dev/merkle and certificate-transparency).
DATA = [
    bytes.fromhex(h)
    for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f")
]
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
INCLUSION = {
    (0, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (5, 8): [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
}
CONSISTENCY = {
    (2, 8): [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (6, 8): [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
    (2, 5): [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
}
LEAVES = [leaf_hash(d) for d in DATA]
TREE = Levels(b"".join(LEAVES))


def test_roots_of_the_reference_tree_for_every_size() -> None:
    assert EMPTY_ROOT.hex() == ROOTS[0]
    assert [TREE.root(n).hex() for n in range(9)] == ROOTS
    assert root_of(LEAVES[:5]).hex() == ROOTS[5]


@pytest.mark.parametrize(("index", "size"), sorted(INCLUSION))
def test_reference_inclusion_proofs(index: int, size: int) -> None:
    proof = TREE.inclusion_proof(index, size)
    assert [p.hex() for p in proof] == INCLUSION[(index, size)]
    assert verify_inclusion(LEAVES[index], index, size, proof, bytes.fromhex(ROOTS[size]))


@pytest.mark.parametrize(("old", "new"), sorted(CONSISTENCY))
def test_reference_consistency_proofs(old: int, new: int) -> None:
    proof = TREE.consistency_proof(old, new)
    assert [p.hex() for p in proof] == CONSISTENCY[(old, new)]
    assert verify_consistency(old, new, bytes.fromhex(ROOTS[old]), bytes.fromhex(ROOTS[new]), proof)


BIG = [leaf_hash(hashlib.sha256(str(i).encode()).digest()) for i in range(70)]
BIG_TREE = Levels(b"".join(BIG))


def _naive_root(leaves: list[bytes]) -> bytes:
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + _naive_root(leaves[:k]) + _naive_root(leaves[k:])).digest()


def test_every_size_every_proof_of_a_70_leaf_tree_verifies_and_matches_the_recursive_definition() -> None:
    for n in range(71):
        root = BIG_TREE.root(n)
        assert root == _naive_root(BIG[:n])
        for i in range(n):
            assert verify_inclusion(BIG[i], i, n, BIG_TREE.inclusion_proof(i, n), root)
        for m in range(n + 1):
            assert verify_consistency(m, n, BIG_TREE.root(m), root, BIG_TREE.consistency_proof(m, n))


def _forgeries(proof: list[bytes]) -> list[list[bytes]]:
    flipped = [bytearray(p) for p in proof]
    flipped[-1][7] ^= 1
    out = [[bytes(p) for p in flipped], proof[:-1], proof + [b"\xab" * 32], [b"\x00" * 31] + proof[1:]]
    if len(proof) >= 2 and proof[0] != proof[1]:
        out.append([proof[1], proof[0], *proof[2:]])
    return out


def test_a_dishonest_prover_is_caught_forged_inclusion_and_consistency_proofs_are_rejected() -> None:
    for n in range(2, 40):
        root = BIG_TREE.root(n)
        for i in range(n):
            proof = BIG_TREE.inclusion_proof(i, n)
            for forged in _forgeries(proof):
                assert not verify_inclusion(BIG[i], i, n, forged, root)
            assert not verify_inclusion(BIG[i], (i + 1) % n, n, proof, root)  # the proof of another leaf
            assert not verify_inclusion(BIG[i], i, n + 1, proof, BIG_TREE.root(n + 1))  # claimed for a bigger tree
        for m in range(1, n):
            proof = BIG_TREE.consistency_proof(m, n)
            for forged in _forgeries(proof):
                assert not verify_consistency(m, n, BIG_TREE.root(m), root, forged)
            assert not verify_consistency(m, n, BIG_TREE.root(m - 1), root, proof)  # a root the log never had
    assert not verify_consistency(6, 8, bytes.fromhex(ROOTS[6]), bytes.fromhex(ROOTS[8]), [])
    assert not verify_consistency(8, 6, bytes.fromhex(ROOTS[8]), bytes.fromhex(ROOTS[6]), [])
    assert verify_consistency(0, 8, EMPTY_ROOT, bytes.fromhex(ROOTS[8]), [])
    assert not verify_consistency(0, 8, bytes.fromhex(ROOTS[1]), bytes.fromhex(ROOTS[8]), [])
