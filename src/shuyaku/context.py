"""Everything a service function needs besides the actor: settings, engine, keys, clock."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from sqlalchemy import Connection, Engine, select, text
from sqlalchemy.exc import DBAPIError

from shuyaku import ids
from shuyaku.config import Settings
from shuyaku.db.engine import FIRST_ANALYZE_AT, make_engine, refresh_statistics
from shuyaku.db.schema import REVISION, setting
from shuyaku.errors import Unavailable
from shuyaku.files import private_umask
from shuyaku.timeutil import utc_now
from shuyaku.vault.keys import KeyRing
from shuyaku.vault.service import Vault

DEFAULTS = {
    "quarantine_share": "0.05",  # more failing records than this share holds the whole file
    "raw_retention_days": "400",  # encrypted copies of inbound files
    "continuity_auto_confirm_k1": "0",  # 1: a simple move (K1) is confirmed without waiting for the municipality
    "audit_warn_bytes": str(10 * 2**30),  # `shuyaku status` warns when the access log passes this size
    "max_file_bytes": str(512 * 2**20),  # a larger inbound file is refused before it is read
    # Items of a record kept in memory (every layout has fewer); the rest is counted, not kept.
    "max_columns": "64",
    # The access log's name in its signed notes ("" = shuyaku.pref<NN>.kokuho/access-log).
    "audit_origin": "",
    # A screen session unused this long has ended (the API's staff sessions expire after 8 hours).
    "web_idle_minutes": "15",
    # A municipality whose last SKKS arrived before the start (JST) of the business day this
    # many business days back is shown as overdue on the federation's dashboard.
    "daily_file_overdue_days": "1",
    # A person whose NHI in the prefecture ended this many years ago, with no later period,
    # has the individual number erased from the vault (番号法: kept only while needed).
    "number_retention_years": "5",
    # A return file is deleted from the federation's outbox this many days after delivery
    # (its first fetch over the API; a file never fetched, after its release).
    "outbox_retention_days": "30",
}


class NotInitialised(Unavailable, RuntimeError):
    pass


@dataclass
class Context:
    settings: Settings
    engine: Engine
    keyring: KeyRing
    clock: Callable[[], datetime] = field(default=utc_now)
    _settings_cache: dict[str, str] = field(default_factory=dict, repr=False)
    _written: int = field(default=0, repr=False)
    _analyze_at: int = field(default=FIRST_ANALYZE_AT, repr=False)

    @cached_property
    def vault(self) -> Vault:
        return Vault(self.keyring)

    def setting(self, key: str) -> str:
        """A setting of this installation (read once per context: they change only at set-up)."""
        if key in self._settings_cache:
            return self._settings_cache[key]
        with self.engine.connect() as conn:
            value = conn.execute(select(setting.c.value).where(setting.c.key == key)).scalar()
        if value is not None:
            self._settings_cache[key] = value
        if value is None and key in DEFAULTS:
            value = self._settings_cache[key] = DEFAULTS[key]
        if value is None:
            raise NotInitialised(f"設定 {key} がありません。先に `shuyaku init` を実行してください。")
        return str(value)

    def reading(self) -> Connection:
        """A connection for reads whose statements need no common snapshot (a look-up, a
        list): each statement commits on its own, so no BEGIN and no ROLLBACK travel to the
        database — two round trips fewer for every request the API answers."""
        return self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")

    def forget_setting(self, key: str) -> None:
        self._settings_cache.pop(key, None)

    def note_bulk_write(self, rows: int, tables: list[str]) -> None:
        """Count rows written; refresh the planner's statistics at 20k, 40k, 80k … rows, so
        a load that grows the tables many times over is planned for their real size."""
        self._written += rows
        if self._written >= self._analyze_at:
            refresh_statistics(self.engine, tables, sample_target=10)
            self._analyze_at = self._written * 2

    @cached_property
    def prefecture(self) -> str:
        return self.setting("prefecture")

    def require_current_schema(self) -> None:
        """Refuse a database whose schema is not the one this program was written for (a
        new version installed, ``shuyaku init`` not run yet): otherwise every file that
        needs a table the old schema lacks would be refused as an unexpected error."""
        with self.engine.connect() as conn:
            try:
                found = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            except DBAPIError:
                found = None
        if found != REVISION:
            raise NotInitialised(
                f"データベースの版({found or 'なし'})がこのプログラムの版({REVISION})と違います。"
                "プログラムを更新したときは `shuyaku init` を実行して移行してください(鍵とデータはそのまま残ります)"
            )


def open_context(settings: Settings, clock: Callable[[], datetime] = utc_now) -> Context:
    private_umask()  # the database, log, archive and outbox are created owner-only
    keyring = KeyRing.load(settings.keys_dir)
    setup_logging(settings)
    return Context(settings, make_engine(settings.database_url), keyring, clock)


class RedactingFormatter(logging.Formatter):
    """Masks anything shaped like an individual number, tracebacks included."""

    def format(self, record: logging.LogRecord) -> str:
        return ids.redact(super().format(record))


def setup_logging(settings: Settings) -> None:
    """One log file under SHUYAKU_HOME. Log lines carry IDs and counts, never personal data."""
    logger = logging.getLogger("shuyaku")
    target = str(settings.log_file)
    if any(getattr(h, "baseFilename", None) == target for h in logger.handlers):
        return
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    settings.log_file.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(target, encoding="utf-8")
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
