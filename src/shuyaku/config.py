"""Where shuyaku keeps its files, and which database it talks to.

``SHUYAKU_HOME`` (default ``./var``) holds the SQLite database, the key files, the encrypted
archive of inbound files, the outbox and the log. ``SHUYAKU_DATABASE_URL`` overrides the
database (PostgreSQL in production: ``postgresql+psycopg://user@host/db``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str

    @property
    def keys_dir(self) -> Path:
        return self.home / "keys"

    @property
    def archive_dir(self) -> Path:
        return self.home / "archive"

    @property
    def outbox_dir(self) -> Path:
        return self.home / "outbox"

    @property
    def log_file(self) -> Path:
        return self.home / "log" / "shuyaku.log"


def load_settings(home: str | Path | None = None, database_url: str | None = None) -> Settings:
    root = Path(home or os.environ.get("SHUYAKU_HOME") or "var").resolve()
    url = database_url or os.environ.get("SHUYAKU_DATABASE_URL") or f"sqlite:///{root / 'shuyaku.db'}"
    return Settings(home=root, database_url=url)
