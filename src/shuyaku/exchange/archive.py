"""Encrypted copies of inbound files (for re-processing and disputes), kept for a retention period.

The plain file never stays on disk: the copy under ``archive/`` is AES-256-GCM under the
``archive`` key, with the file's SHA-256 as associated data.
"""

from __future__ import annotations

from pathlib import Path

from shuyaku.files import replace_private
from shuyaku.vault import rules
from shuyaku.vault.keys import KeyRing


def store(archive_dir: Path, keyring: KeyRing, raw: bytes, sha256: str) -> tuple[str, int]:
    """Write the encrypted copy (idempotent per content) and return (name, key version)."""
    archive_dir.mkdir(parents=True, exist_ok=True)
    version = keyring.current["archive"]
    name = f"{sha256}.v{version}.enc"
    target = archive_dir / name
    if not target.exists():  # fsynced before the ledger row that names it can commit
        replace_private(target, rules.seal(keyring.key("archive", version), raw, sha256.encode("ascii")))
    return name, version


def load(archive_dir: Path, keyring: KeyRing, name: str, version: int, sha256: str) -> bytes:
    return rules.unseal(keyring.key("archive", version), (archive_dir / name).read_bytes(), sha256.encode("ascii"))


def purge(archive_dir: Path, name: str) -> None:
    (archive_dir / name).unlink(missing_ok=True)
