"""Blind index and sealing (pure: keys come in as arguments)."""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterable

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12


def blind_index(index_key: bytes, individual_number: str) -> str:
    """HMAC-SHA256 of the number under the index key, hex: equal numbers, equal index."""
    return hmac.new(index_key, individual_number.encode("ascii"), hashlib.sha256).hexdigest()


def blind_indexes(index_key: bytes, individual_numbers: Iterable[str]) -> list[str]:
    template = hmac.new(index_key, digestmod=hashlib.sha256)
    out = []
    for number in individual_numbers:
        mac = template.copy()
        mac.update(number.encode("ascii"))
        out.append(mac.hexdigest())
    return out


def seal(seal_key: bytes, plaintext: bytes, context: bytes) -> bytes:
    """AES-256-GCM; ``context`` (e.g. the person ID) is bound as associated data."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(seal_key).encrypt(nonce, plaintext, context)


def unseal(seal_key: bytes, sealed: bytes, context: bytes) -> bytes:
    return AESGCM(seal_key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], context)
