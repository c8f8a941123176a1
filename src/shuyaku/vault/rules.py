"""Blind index and sealing (pure: keys come in as arguments)."""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterable

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12


BLIND_INDEX_BYTES = 32


def blind_index(index_key: bytes, individual_number: str) -> bytes:
    """HMAC-SHA256 of the number under the index key, 32 raw bytes: equal numbers, equal
    index. (Raw bytes index at half the size of their hex, and compare as bytes.)"""
    return hmac.new(index_key, individual_number.encode("ascii"), hashlib.sha256).digest()


def blind_indexes(index_key: bytes, individual_numbers: Iterable[str]) -> list[bytes]:
    digest = hmac.digest  # OpenSSL's one-shot HMAC: a million numbers in about a second
    return [digest(index_key, number.encode("ascii"), "sha256") for number in individual_numbers]


def seal_many(seal_key: bytes, items: Iterable[tuple[bytes, bytes]]) -> list[bytes]:
    """``seal`` for (plaintext, context) pairs, with one cipher object."""
    cipher = AESGCM(seal_key)
    out = []
    for plaintext, context in items:
        nonce = os.urandom(NONCE_BYTES)
        out.append(nonce + cipher.encrypt(nonce, plaintext, context))
    return out


def seal(seal_key: bytes, plaintext: bytes, context: bytes) -> bytes:
    """AES-256-GCM; ``context`` (e.g. the person ID) is bound as associated data."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(seal_key).encrypt(nonce, plaintext, context)


def unseal(seal_key: bytes, sealed: bytes, context: bytes) -> bytes:
    return AESGCM(seal_key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], context)
