"""Merkle trees of RFC 6962 (§2.1; RFC 9162 §2.1 for the verification algorithms), pure.

Leaf hash = SHA-256(0x00 ‖ data), node hash = SHA-256(0x01 ‖ left ‖ right), the empty
tree's hash = SHA-256(""). A tree of n leaves splits at the largest power of two below n.

``Levels`` keeps every level of the tree over all leaves seen (about 2 × 32 bytes a leaf),
so the root of any earlier size and the proofs between sizes cost O(log² n) look-ups: an
earlier tree is a prefix, and each of its subtrees is a run of aligned perfect subtrees.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()
HASH = 32


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n ≥ 2)."""
    return 1 << ((n - 1).bit_length() - 1)


class Levels:
    """Every level of the tree over ``leaf_hashes`` (level 0 = the leaf hashes)."""

    def __init__(self, leaf_hashes: bytes | bytearray) -> None:
        if len(leaf_hashes) % HASH:
            raise ValueError("leaf hashes must be 32 bytes each")
        self.size = len(leaf_hashes) // HASH
        self.levels: list[bytes] = [bytes(leaf_hashes)]
        level = self.levels[0]
        sha = hashlib.sha256
        while len(level) >= 2 * HASH:
            pairs = len(level) // (2 * HASH)
            out = bytearray(pairs * HASH)
            for i in range(pairs):
                at = 2 * HASH * i
                out[i * HASH : (i + 1) * HASH] = sha(b"\x01" + level[at : at + 2 * HASH]).digest()
            level = bytes(out)
            self.levels.append(level)

    def perfect(self, start: int, height: int) -> bytes:
        """The hash of the perfect subtree of 2**height leaves starting at ``start`` (aligned)."""
        index = start >> height
        return self.levels[height][index * HASH : (index + 1) * HASH]

    def subtree(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]) where ``start`` is aligned to the subtree (as in every RFC 6962 proof)."""
        if end <= start:
            return EMPTY_ROOT
        parts = []
        at = start
        while at < end:
            height = (end - at).bit_length() - 1
            while at % (1 << height):
                height -= 1
            parts.append(self.perfect(at, height))
            at += 1 << height
        acc = parts[-1]
        for part in reversed(parts[:-1]):
            acc = node_hash(part, acc)
        return acc

    def root(self, size: int) -> bytes:
        if not 0 <= size <= self.size:
            raise ValueError(f"tree size {size} is beyond the {self.size} leaves")
        return self.subtree(0, size)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        if not 0 <= index < size <= self.size:
            raise ValueError("leaf index out of range")
        return self._path(index, 0, size)

    def _path(self, m: int, start: int, end: int) -> list[bytes]:
        n = end - start
        if n == 1:
            return []
        k = _split(n)
        if m < k:
            return self._path(m, start, start + k) + [self.subtree(start + k, end)]
        return self._path(m - k, start + k, end) + [self.subtree(start, start + k)]

    def consistency_proof(self, old: int, new: int) -> list[bytes]:
        if not 0 <= old <= new <= self.size:
            raise ValueError("sizes out of range")
        if old == 0 or old == new:
            return []
        return self._subproof(old, 0, new, True)

    def _subproof(self, m: int, start: int, end: int, complete: bool) -> list[bytes]:
        n = end - start
        if m == n:
            return [] if complete else [self.subtree(start, end)]
        k = _split(n)
        if m <= k:
            return self._subproof(m, start, start + k, complete) + [self.subtree(start + k, end)]
        return self._subproof(m - k, start + k, end, False) + [self.subtree(start, start + k)]


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    return Levels(b"".join(leaf_hashes)).root(len(leaf_hashes))


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2."""
    if not 0 <= index < size or len(leaf) != HASH or len(root) != HASH or any(len(p) != HASH for p in proof):
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> bool:
    """RFC 9162 §2.1.4.2 (with the trivial cases: an empty old tree, equal sizes)."""
    if not 0 <= old <= new or len(old_root) != HASH or len(new_root) != HASH or any(len(p) != HASH for p in proof):
        return False
    if old == new:
        return not proof and old_root == new_root
    if old == 0:
        return not proof and old_root == EMPTY_ROOT
    if not proof:
        return False
    path = list(proof)
    if old & (old - 1) == 0:  # a power of two: the old root is the first node
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


# --- the right frontier: roots in O(log n) as the log grows ---------------------------
#
# A tree of n leaves is a run of perfect subtrees, one for each set bit of n, largest
# first. Their roots (the "frontier") are all that is needed to append the next leaf and
# to compute the root: appending merges the last two roots once for every trailing one bit.


def extend_frontier(frontier: Sequence[bytes], size: int, leaves: Iterable[bytes]) -> tuple[list[bytes], int]:
    """The frontier after appending ``leaves`` (leaf hashes) to a tree of ``size`` leaves."""
    stack = list(frontier)
    if len(stack) != bin(size).count("1"):
        raise ValueError("a frontier has one root for every set bit of the tree size")
    for leaf in leaves:
        stack.append(leaf)
        size += 1
        carry = size
        while carry & 1 == 0:
            right = stack.pop()
            stack.append(node_hash(stack.pop(), right))
            carry >>= 1
    return stack, size


def frontier_root(frontier: Sequence[bytes]) -> bytes:
    """The RFC 6962 root of the tree whose frontier this is."""
    if not frontier:
        return EMPTY_ROOT
    root = frontier[-1]
    for left in reversed(frontier[:-1]):
        root = node_hash(left, root)
    return root
