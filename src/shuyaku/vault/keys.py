"""Key files under ``SHUYAKU_HOME/keys`` (created by ``shuyaku init``, never committed).

Four independent 256-bit keys, each versioned: ``index`` (HMAC for the blind index),
``seal`` (AES-256-GCM for the sealed individual number), ``archive`` (AES-256-GCM for the
encrypted copies of inbound files) and ``secret`` (AES-256-GCM for staff TOTP secrets).
``keyring.json`` names the current version of each. The access log's Ed25519 signing key
lives beside them (``shuyaku.audit.verify``).
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from shuyaku.errors import Unavailable
from shuyaku.files import replace_private

PURPOSES = ("index", "seal", "archive", "secret")


class KeyError_(Unavailable, RuntimeError):
    """Key files are missing or unreadable (run `shuyaku init`)."""


@dataclass
class KeyRing:
    directory: Path
    current: dict[str, int]

    @classmethod
    def create(cls, directory: Path) -> KeyRing:
        directory.mkdir(parents=True, exist_ok=True)
        os.chmod(directory, 0o700)
        ring = cls(directory, {})
        for purpose in PURPOSES:
            ring._write_new(purpose, 1)
        ring._save()
        return ring

    @classmethod
    def load(cls, directory: Path) -> KeyRing:
        manifest = directory / "keyring.json"
        if not manifest.exists():
            raise KeyError_(f"{manifest} がありません。先に `shuyaku init` を実行してください。")
        current = json.loads(manifest.read_text(encoding="utf-8"))["current"]
        return cls(directory, {k: int(v) for k, v in current.items()})

    def ensure_purposes(self) -> list[str]:
        """Create the keys of purposes added since this ring was made (an older installation)."""
        added = [p for p in PURPOSES if p not in self.current]
        for purpose in added:
            self._write_new(purpose, max(self.versions(purpose), default=0) + 1)
        if added:
            self._save()
        return added

    def key(self, purpose: str, version: int | None = None) -> bytes:
        version = self.current[purpose] if version is None else version
        path = self.directory / f"{purpose}-v{version}.key"
        try:
            return bytes.fromhex(path.read_text(encoding="ascii").strip())
        except OSError as exc:
            raise KeyError_(f"key file {path} cannot be read: {exc.strerror}") from None

    def rotate(self, purpose: str) -> int:
        """Create the next version of ``purpose``'s key (not yet current) and return it."""
        version = max(self.versions(purpose)) + 1
        self._write_new(purpose, version)
        return version

    def make_current(self, purpose: str, version: int) -> None:
        self.current[purpose] = version
        self._save()

    def versions(self, purpose: str) -> list[int]:
        return sorted(int(p.stem.split("-v")[1]) for p in self.directory.glob(f"{purpose}-v*.key"))

    def _write_new(self, purpose: str, version: int) -> None:
        path = self.directory / f"{purpose}-v{version}.key"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(32) + "\n")
        self.current.setdefault(purpose, version)

    def _save(self) -> None:
        manifest = self.directory / "keyring.json"
        replace_private(manifest, json.dumps({"current": self.current}, indent=2).encode("utf-8"))
